# Bytes in .text that LLVM cannot decode (06 is no instruction in 64-bit
# mode): data, or code nobody can read. A 4-byte word in them reads as an
# offset to `far_target` from its end (data's offset or a call's
# displacement: nothing tells), the word after `e8` reaches
# `called_target`. The program calls both through those words
# (`far_offset`, `called_offset`): moved, each needs a forwarding stub in
# its old place. `filler` keeps them more than 128 bytes away from the
# undecodable bytes; `near_target`, right after them, stays.
# `text_table` is data in .text that decodes (lea 0x11223344(%rip),%rax;
# ret); `read_text_table` reads the word in the middle of that "lea": the
# bytes no function describes stay, so the reader may move and still reach
# them.
	.text
	.globl far_target
	.type far_target, @function
far_target:
	.cfi_startproc
	lea 1(%rdi), %rax
	ret
	.cfi_endproc
	.size far_target, .-far_target

	.globl read_text_table
	.type read_text_table, @function
read_text_table:
	.cfi_startproc
	mov text_table+3(%rip), %eax
	ret
	.cfi_endproc
	.size read_text_table, .-read_text_table

	.p2align 4
text_table:
	.byte 0x48, 0x8d, 0x05, 0x44, 0x33, 0x22, 0x11, 0xc3

	.p2align 4
	.globl called_target
	.type called_target, @function
called_target:
	.cfi_startproc
	lea 2(%rdi), %rax
	ret
	.cfi_endproc
	.size called_target, .-called_target

	.p2align 4
	.globl filler
	.type filler, @function
filler:
	.cfi_startproc
	.rept 300
	nop
	.endr
	ret
	.cfi_endproc
	.size filler, .-filler

	.p2align 4
undecoded:
	.byte 0x06, 0x06
	.globl far_offset
far_offset:
	.long far_target - (. + 4)
	.byte 0x06, 0xe8
	.globl called_offset
called_offset:
	.long called_target - (. + 4)
	.byte 0x06, 0x06
	.globl near_offset
near_offset:
	.long near_target - (. + 4)
	.byte 0x06, 0x06

	.p2align 4
	.globl near_target
	.type near_target, @function
near_target:
	.cfi_startproc
	lea 3(%rdi), %rax
	ret
	.cfi_endproc
	.size near_target, .-near_target
	.section .note.GNU-stack,"",@progbits
