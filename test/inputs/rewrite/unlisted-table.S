# A jump table that only code without an FDE or a function symbol refers
# to (hand-written code, as in large clang+lld programs), placed 16 bytes
# after an address that a described function, `anchor_user`, refers to.
# verify knows only described functions, so it reads the table's entries
# against `anchor`: `anchor + entry` is then the end of `before_table`, a
# function that moves, while the entry really leads into `dispatch`.
	.text
	.globl anchor_user
	.type anchor_user, @function
anchor_user:
	.cfi_startproc
	lea anchor(%rip), %rax
	mov (%rax), %eax
	ret
	.cfi_endproc
	.size anchor_user, .-anchor_user

	.globl before_table
	.type before_table, @function
before_table:
	.cfi_startproc
	lea 1(%rdi), %eax
	ret
	.cfi_endproc
	.size before_table, .-before_table
	.globl before_table_end
before_table_end:

# dispatch(i): no FDE, no function type; stripped, nothing names it. Its
# default case is 16 bytes in, where `anchor + entry` ends before_table.
	.globl dispatch
dispatch:
	jmp .Lstart
	.fill 14, 1, 0x90
.Ldefault:
	mov $-1, %eax
	ret
.Lcase0:
	mov $10, %eax
	ret
.Lcase1:
	mov $11, %eax
	ret
.Lcase3:
	mov $13, %eax
	ret
.Lstart:
	cmp $3, %edi
	ja .Ldefault
	mov %edi, %edi
	lea table(%rip), %rcx
	movslq (%rcx,%rdi,4), %rax
	add %rcx, %rax
	jmp *%rax

	.section .rodata
	.balign 16
	.globl anchor
anchor:	.long 42
	.long 0
	.quad 0
table:	.long .Lcase0 - table
	.long .Lcase1 - table
	.long .Ldefault - table
	.long .Lcase3 - table
	.section .note.GNU-stack,"",@progbits
