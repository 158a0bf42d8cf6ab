# pick(i): the string of entry i of a relative table (`.Ls - table`, as
# clang's switch.reltable) that no instruction refers to: the code reaches
# it from `anchor`, the closest address below it that code does refer to.
# Its words are PC32 relocations against .rodata: data pointing at data.
# With PAD chosen after a first link (test/shell/rewrite-data-words.sh),
# the first entry read against `anchor` instead of `table` lands on a
# function in .text: a guessed base would expect it to follow that code.
	.text
	.globl pick
	.type pick, @function
pick:
	lea anchor(%rip), %rax
	add $(table - anchor), %rax
	movslq (%rax,%rdi,4), %rdx
	add %rdx, %rax
	ret
	.size pick, .-pick

	.section .rodata.str,"a"
.Ls0:	.asciz "zero"
.Ls1:	.asciz "one"
.Ls2:	.asciz "two"
	.section .rodata
	.balign 8
anchor:	.quad 0
	.if PAD
	.skip PAD
	.endif
table:	.long .Ls0 - table
	.long .Ls1 - table
	.long .Ls2 - table
	.section .note.GNU-stack,"",@progbits
