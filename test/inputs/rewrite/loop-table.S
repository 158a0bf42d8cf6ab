# An interpreter loop: interp(ops) runs byte codes until 0 through a jump
# table whose base %rcx is set once, before the loop. Followed back from
# the jump, %rcx comes from the `lea` and, through the loop head, from the
# end of each case, which only the jump's own table leads to: there %rcx
# is what it was at the jump. %rcx is also cleared where the loop ends, so
# "every write in the function sets the table" does not hold. Before,
# the case labels stopped the walk and interp stayed ("indirect jump not
# understood"); now its table is found again and it moves.
	.text
	.globl interp
	.type interp, @function
interp:
	.cfi_startproc
	xor %eax, %eax
	lea T(%rip), %rcx
.Lhead:	movzbl (%rdi), %edx
	inc %rdi
	movslq (%rcx,%rdx,4), %rdx
	add %rcx, %rdx
	jmp *%rdx
.Lop0:	xor %ecx, %ecx
	ret
.Lop1:	add $1, %eax
	jmp .Lhead
.Lop2:	add %eax, %eax
	jmp .Lhead
.Lop3:	imul $3, %eax, %eax
	jmp .Lhead
	.cfi_endproc
	.size interp, .-interp

	# The same loop with the dispatch copied into each case (threaded code):
	# three jumps through one table, each case entered through all three.
	# A first pass finds only the first jump's table (following %rcx back
	# from a case's copy meets the `ret` before it), the next ones the
	# others through the first, then through each other.
	.globl threaded
	.type threaded, @function
threaded:
	.cfi_startproc
	xor %eax, %eax
	lea U(%rip), %rcx
	movzbl (%rdi), %edx
	inc %rdi
	movslq (%rcx,%rdx,4), %rdx
	add %rcx, %rdx
	jmp *%rdx
.Lt0:	xor %ecx, %ecx
	ret
.Lt1:	add $1, %eax
	movzbl (%rdi), %edx
	inc %rdi
	movslq (%rcx,%rdx,4), %rdx
	add %rcx, %rdx
	jmp *%rdx
.Lt2:	add %eax, %eax
	movzbl (%rdi), %edx
	inc %rdi
	movslq (%rcx,%rdx,4), %rdx
	add %rcx, %rdx
	jmp *%rdx
	.cfi_endproc
	.size threaded, .-threaded

	.section .rodata
	.balign 4
T:	.long .Lop0 - T, .Lop1 - T, .Lop2 - T, .Lop3 - T
U:	.long .Lt0 - U, .Lt1 - U, .Lt2 - U
	.section .note.GNU-stack,"",@progbits
