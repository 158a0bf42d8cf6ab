# Forwarding stubs that keep an 8-bit branch, and one at a function's end
# label (lib/Rewrite/Stubs.h). call_at(i, x) calls entry i of `entries`
# with x, through 4-byte offsets from the table that no pattern proves.
#
# short_branch is entered at +0, +2 and +4: no jump fits at +0 or +2, so
# the stub keeps `test` and the 8-bit `jz` as they were, then jumps at +4.
# The kept jz cannot reach .Lzero's new place: it still goes to the old
# one, where a stub of its own forwards it.
#
# The last word leads to end_label's end label, just past its `ret`, where
# int3 padding follows: the stub keeps that int3 (nothing calls it).
	.text
	.globl call_at
	.type call_at, @function
call_at:
	.cfi_startproc
	sub $8, %rsp
	.cfi_def_cfa_offset 16
	lea entries(%rip), %rcx
	movslq (%rcx,%rdi,4), %r11
	add %rcx, %r11
	mov %rsi, %rdi
	call *%r11
	add $8, %rsp
	.cfi_def_cfa_offset 8
	ret
	.cfi_endproc
	.size call_at, .-call_at

	.globl short_branch
	.type short_branch, @function
short_branch:
	.cfi_startproc
.Ls0:	test %edi, %edi
.Ls1:	jz .Lzero
.Ls2:	mov $0x100, %eax
	add %edi, %eax
	ret
.Lzero:	mov $0x55, %eax
	ret
	.cfi_endproc
	.size short_branch, .-short_branch
	# Room for the stubs: int3 padding, as a linker leaves between functions.
	.fill 48, 1, 0xcc

	.globl end_label
	.type end_label, @function
end_label:
	.cfi_startproc
	lea 7(%rdi), %eax
	ret
.Lend:
	.cfi_endproc
	.size end_label, .-end_label
	.fill 16, 1, 0xcc

	.section .rodata
	.balign 4
entries: .long .Ls0 - entries, .Ls1 - entries, .Ls2 - entries, .Lend - entries
	.section .note.GNU-stack,"",@progbits
