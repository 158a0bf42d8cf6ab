# Offsets to code that no pattern proves: call_through(i) calls entry i of
# `rungs`, 4-byte offsets from the table (as a jump table holds them, but
# the code calls through them). The rewriter cannot tell such words from
# data, so `ladder` moves only with forwarding stubs at its rungs, which
# lie 1, 1, 2, 4 and 5 bytes apart: the stubs keep the first instructions
# until a jump fits.
	.text
	.globl call_through
	.type call_through, @function
call_through:
	.cfi_startproc
	sub $8, %rsp
	.cfi_def_cfa_offset 16
	lea rungs(%rip), %rcx
	movslq (%rcx,%rdi,4), %r11
	add %rcx, %r11
	mov $1, %eax
	mov $2, %ecx
	call *%r11
	add $8, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size call_through, .-call_through

	.globl ladder
	.type ladder, @function
ladder:
	.cfi_startproc
.Lr0:	xchg %eax, %ecx
.Lr1:	xchg %eax, %ecx
.Lr2:	inc %eax
.Lr3:	add $3, %rax
.Lr4:	add $0x100, %eax
.Lr5:	add $0x10000, %eax
	ret
	.cfi_endproc
	.size ladder, .-ladder
	# Room for the stubs: int3 padding, as a linker leaves between functions.
	.fill 48, 1, 0xcc

	# A rung at a return with the next function right after it: no jump
	# fits there, so its stub keeps the return.
	.globl tail
	.type tail, @function
tail:
	.cfi_startproc
	mov $0x1000000, %eax
.Lr6:	ret
	.cfi_endproc
	.size tail, .-tail
	.globl after_tail
	.type after_tail, @function
after_tail:
	.cfi_startproc
	xor %eax, %eax
	ret
	.cfi_endproc
	.size after_tail, .-after_tail

	.section .rodata
	.balign 4
rungs:	.long .Lr0 - rungs, .Lr1 - rungs, .Lr2 - rungs, .Lr3 - rungs, .Lr4 - rungs, .Lr5 - rungs, .Lr6 - rungs
	.section .note.GNU-stack,"",@progbits
