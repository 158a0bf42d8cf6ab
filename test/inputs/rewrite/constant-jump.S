# A tail call through a register that one path sets to a constant, as GCC
# compiles `fn = i >= 0 ? table[i] : NULL; return fn(x)` (Mesa's dispatch):
# xor %r9d,%r9d on one path, a load on the other, then jmp *%r9. A constant
# is no address of position-independent code, so `dispatch` may move.
	.text
	.globl dispatch
	.type dispatch, @function
dispatch:
	.cfi_startproc
	push %rbx
	.cfi_def_cfa_offset 16
	.cfi_offset %rbx, -16
	xor %r9d, %r9d
	test %edi, %edi
	js 1f
	movslq %edi, %rax
	mov handlers@GOTPCREL(%rip), %rdx
	mov (%rdx,%rax,8), %r9
1:	mov %esi, %edi
	pop %rbx
	.cfi_def_cfa_offset 8
	jmp *%r9
	.cfi_endproc
	.size dispatch, .-dispatch
	.section .note.GNU-stack,"",@progbits
