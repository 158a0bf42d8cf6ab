# Two jump tables back to back in .rodata, neither bounded by a check (the
# index is a byte the caller keeps small). Read past its end against its
# own base, `first`'s table T1 would go on into T2: T2's first word, read
# against T1, leads to the `movslq` of `second`'s own jump. Such a target
# is a label the jump's value must not be followed across, and `second`,
# whose %rcx is also cleared elsewhere, would stay ("indirect jump not
# understood"). The rewrite ends T1 where T2, an address code refers to,
# starts (as it does when it rewrites T1's entries), so `second` moves.
	.text
	.globl first
	.type first, @function
first:
	.cfi_startproc
	lea T1(%rip), %rcx
	movzbl %dil, %eax
	movslq (%rcx,%rax,4), %rax
	add %rcx, %rax
	jmp *%rax
.Lf0:	mov $10, %eax
	ret
.Lf1:	mov $11, %eax
	ret
.Lf2:	mov $12, %eax
	ret
	.cfi_endproc
	.size first, .-first

	.globl second
	.type second, @function
second:
	.cfi_startproc
	lea T2(%rip), %rcx
	movzbl %dil, %eax
.Lload:	movslq (%rcx,%rax,4), %rax	# 4 bytes
	add %rcx, %rax			# 3 bytes
	jmp *%rax			# 2 bytes
	nop
	nop
	nop
.Ls0:	mov $20, %eax			# .Lload + 12: T1 + 4 * 3 + (.Ls0 - T2) is .Lload
	ret
.Ls1:	xor %ecx, %ecx
	lea 21(%rcx), %eax
	ret
	.cfi_endproc
	.size second, .-second

	.section .rodata
	.balign 4
T1:	.long .Lf0 - T1, .Lf1 - T1, .Lf2 - T1
T2:	.long .Ls0 - T2, .Ls1 - T2
	.section .note.GNU-stack,"",@progbits
