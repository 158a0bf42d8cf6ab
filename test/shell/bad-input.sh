#!/usr/bin/env bash
# Malformed and unsupported files: one clear error naming the file, exit 2,
# and no output file (a file already at the output path stays unchanged).
source "$(dirname "$0")/lib.sh"
require python3

python3 "$SRC/test/inputs/make-elf.py" "$WORK/in"
cd "$WORK/in"

check "the base file is a valid program" ./valid
check "inspect accepts the base file" bash -c '"$ELFOPT" inspect valid >/dev/null'

declare -A expected=(
  [empty]="file is empty"
  [text]="not an ELF file (no ELF magic bytes)"
  [truncated-ident]="truncated ELF file: 10 bytes, the ELF identification alone takes 16"
  [truncated-header]="truncated ELF header: file has 40 bytes, the ELF64 header takes 64"
  [truncated-phdrs]="program header table (offset 0x40, 56 bytes) runs past the end of the file (100 bytes)"
  [class32]="32-bit ELF (ELFCLASS32) is not supported: elfopt handles x86-64 ELF64 only"
  [big-endian]="big-endian ELF is not supported: elfopt handles x86-64 only"
  [aarch64]="unsupported EM_AARCH64 (AArch64): elfopt handles x86-64 (EM_X86_64) only"
  [shoff-past-end]="section header table (offset 0x10000) starts past the end of the file (360 bytes)"
  [section-past-end]="section header 1 (offset 0x5000, size 0x9) points past the end of the file (360 bytes)"
  [shstrndx-out-of-range]="section name table index (e_shstrndx) 7 is out of range: the file has 3 sections"
)
for name in $(printf '%s\n' "${!expected[@]}" | sort); do
  expect_error 2 "elfopt: error: $name: ${expected[$name]}" "$ELFOPT" inspect "$name"
  expect_error 2 "elfopt: error: $name: ${expected[$name]}" "$ELFOPT" inspect --json "$name"
  expect_error 2 "elfopt: error: $name: ${expected[$name]}" "$ELFOPT" edit "$name" -o "$WORK/out-$name"
  check "$name: no output written" test ! -e "$WORK/out-$name"
  echo previous >"$WORK/kept-$name"
  expect_error 2 "elfopt: error: $name: ${expected[$name]}" \
    "$ELFOPT" edit "$name" -o "$WORK/kept-$name" --add-section .x=/dev/null
  check "$name: existing output unchanged" grep -qx previous "$WORK/kept-$name"
done

expect_error 2 "elfopt: error: $WORK/in/missing: cannot open: No such file or directory" \
  "$ELFOPT" inspect "$WORK/in/missing"
expect_error 2 "elfopt: error: $WORK/no-such-dir/out: cannot create output file: No such file or directory" \
  "$ELFOPT" edit valid -o "$WORK/no-such-dir/out"
check "no temporary files left behind" bash -c "! ls '$WORK' | grep -q elfopt-tmp"
check "inputs never modified" bash -c "python3 '$SRC/test/inputs/make-elf.py' '$WORK/again' && diff -r '$WORK/in' '$WORK/again'"
finish
