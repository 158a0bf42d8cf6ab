#!/usr/bin/env bash
# elfopt rewrite and verify beyond the matrix: bad input gives one clear
# error and writes nothing; debug info is refused, dropped on request, or
# carried along correctly; the output is deterministic; verify catches a
# corrupted rewrite; gdb's backtrace inside moved functions is right.
source "$(dirname "$0")/lib.sh"
require gcc g++ clang-19 gdb addr2line llvm-dwarfdump-19 python3 eu-elflint /usr/lib/llvm-19/bin/ld.lld
cd "$WORK"
IN=$SRC/test/inputs/rewrite
gcc -O2 -Wl,-q "$IN/subject.c" -o subject
gcc -O2 -fno-pie -no-pie "$IN/subject.c" -o norelocs
gcc -O2 -g "$IN/subject.c" -o release-debug
g++ -O2 -Wl,-q "$IN/subject.cpp" -o other

# Bad input.
expect_error 2 "elfopt: error: norelocs: a non-PIE executable without static relocations for .text: its code and data hold absolute code addresses that nothing marks; relink with -Wl,--emit-relocs (-Wl,-q), or as PIE" \
  "$ELFOPT" rewrite norelocs --random-order 1 -o out
expect_error 2 "elfopt: error: release-debug: without static relocations nothing says where the debug info holds code addresses, so it cannot follow the new layout; pass --strip-debug to drop it, or relink with -Wl,--emit-relocs (-Wl,-q)" \
  "$ELFOPT" rewrite release-debug --random-order 1 -o out
check "a release PIE with debug info is rewritten with --strip-debug" \
  bash -c "'$ELFOPT' rewrite release-debug --random-order 1 --strip-debug -o release-debug.new >/dev/null &&
           cmp <(./release-debug 2>&1; echo \$?) <(./release-debug.new 2>&1; echo \$?)"
"$ELFOPT" record -o other.profile -- ./other >/dev/null 2>&1
check "a profile of another program is refused" \
  bash -c "! '$ELFOPT' rewrite subject --profile other.profile -o out 2>err.txt && grep -q 'other.profile' err.txt"
expect_error 1 "elfopt: error: the output is the input; use --in-place to rewrite it (see 'elfopt help rewrite')" "$ELFOPT" rewrite subject --random-order 1 -o ./subject
python3 - subject corrupt <<'PY'
# A relocation in .rela.text that names a symbol past the end of .symtab.
import struct, sys
data = bytearray(open(sys.argv[1], "rb").read())
shoff, = struct.unpack_from("<Q", data, 0x28)
shnum, shstrndx = struct.unpack_from("<HH", data, 0x3c)
def sh(i): return struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i)
names = sh(shstrndx)
def name(i):
    off = names[4] + sh(i)[0]
    return data[off:data.index(0, off)].decode()
for i in range(shnum):
    if name(i) == ".rela.text":
        off = sh(i)[4]
        struct.pack_into("<Q", data, off + 8, (0x7fffff << 32) | 2)
open(sys.argv[2], "wb").write(data)
PY
chmod +x corrupt
expect_error 2 "elfopt: error: corrupt:(.rela.text+0x0): relocation names symbol 8388607 of $(readelf -sW subject | awk '/Symbol table .\.symtab/ {print $5}')" \
  "$ELFOPT" rewrite corrupt --random-order 1 -o out
check "nothing is written on error" test ! -e out

# Deterministic, and --in-place.
before=$(sha256sum <subject)
"$ELFOPT" rewrite subject --random-order 5 -o a >/dev/null
"$ELFOPT" rewrite subject --random-order 5 -o b >/dev/null
check "same input, same output bytes" cmp -s a b
check "the input is untouched" test "$(sha256sum <subject)" == "$before"
cp subject inplace
"$ELFOPT" rewrite inplace --in-place --random-order 5 >/dev/null
check "--in-place writes what -o writes" cmp -s inplace a
check "--in-place keeps the file executable" test -x inplace

# verify catches a corrupted rewrite: one call displacement off by one.
python3 - a broken <<'PY'
import subprocess, sys
out = subprocess.run(["objdump", "-d", "--no-show-raw-insn", sys.argv[1]], capture_output=True, text=True).stdout
addr = None
for line in out.splitlines():
    parts = line.split("\t")
    if len(parts) >= 2 and parts[1].startswith("call ") and "<fib>" in parts[1]:
        addr = int(parts[0].strip().rstrip(":"), 16)
        break
hdr = subprocess.run(["readelf", "-SW", sys.argv[1]], capture_output=True, text=True).stdout
for line in hdr.splitlines():
    f = line.split()
    if " .text " in line:
        i = f.index(".text")
        vaddr, off = int(f[i + 2], 16), int(f[i + 3], 16)
data = bytearray(open(sys.argv[1], "rb").read())
data[addr - vaddr + off + 1] = (data[addr - vaddr + off + 1] + 1) & 0xff
open(sys.argv[2], "wb").write(data)
PY
check "verify passes the sound rewrite" "$ELFOPT" verify subject a
check "verify fails the corrupted one, naming the operand" \
  bash -c "'$ELFOPT' verify subject broken >v.txt; [[ \$? == 2 ]] && grep -q '^ *subject:(\\.text+0x[0-9a-f]*) in [A-Za-z_0-9.]*: operand refers to .*; moved to broken:(\\.text+0x' v.txt"

# Debug info: one sequence per object without -ffunction-sections.
gcc -O2 -g -Wl,-q "$IN/subject.c" -o debug-whole
check "debug info that cannot follow is refused" \
  bash -c "! '$ELFOPT' rewrite debug-whole --random-order 1 -o dw 2>err.txt && grep -q 'pass --strip-debug' err.txt && test ! -e dw"
check "--strip-debug drops it" "$ELFOPT" rewrite debug-whole --random-order 1 --strip-debug -o dw
check "and the result has no line table left" \
  bash -c "[[ \$(llvm-dwarfdump-19 --debug-line dw | grep -c 'is_stmt') == 0 ]]"
check "and runs the same" cmp <(./debug-whole; echo $?) <(./dw; echo $?)
# With -ffunction-sections the line table follows each function.
gcc -O2 -g -ffunction-sections -Wl,-q "$IN/subject.c" -o debug-split
"$ELFOPT" rewrite debug-split --random-order 3 -o ds >/dev/null
lines() { # BINARY: file:line of each function's first instruction
  for f in classify fib checked jump_back main; do
    addr=$(nm "$1" | awk -v f="$f" '$3 == f {print $1}')
    addr2line -e "$1" "0x$addr" | sed 's/ (discriminator.*//'
  done
}
check "addr2line gives each moved function its source line" cmp -s <(lines debug-split) <(lines ds)
check "the functions did move" bash -c "[[ \$(nm debug-split | grep ' fib$') != \$(nm ds | grep ' fib$') ]]"

# gdb: a backtrace taken inside moved functions.
g++ -O2 -g -ffunction-sections -Wl,-q "$IN/subject.cpp" -o cxx
"$ELFOPT" rewrite cxx --random-order 7 -o cxx.r >/dev/null
backtrace() {
  gdb -q -batch -ex 'break depth3' -ex run -ex bt "./$1" 2>/dev/null |
    grep -oE '^#[0-9]+ .* in [a-z_0-9]+|^#0 +[a-z_0-9]+' | grep -oE '[a-z_0-9]+$'
}
backtrace cxx >bt.orig
backtrace cxx.r >bt.new
check "gdb sees depth3 <- depth2 <- depth1 <- main" grep -qz 'depth3.*depth2.*depth1.*main' bt.orig
check "the same backtrace in the rewritten binary" cmp -s bt.orig bt.new

# With the dynamic symbol passes, in one command, on a shared library.
gcc -O2 -fPIC -shared -Dmain=subject_main -Wl,-q "$IN/subject.c" -o libsubject.so
mkdir -p orig new
cp libsubject.so orig/
gcc -O2 "$IN/driver.c" -L orig -lsubject -o driver
check "rewrite --dynsort --gnu-hash=optimize --hashvals" \
  "$ELFOPT" rewrite libsubject.so --random-order 4 --dynsort --gnu-hash=optimize --hashvals -o new/libsubject.so
check "the library still serves the program the same" \
  cmp <(LD_LIBRARY_PATH=orig ./driver; echo $?) <(LD_LIBRARY_PATH=new ./driver; echo $?)
check "eu-elflint: nothing but the documented hashvals tag" \
  bash -c "eu-elflint --gnu-ld new/libsubject.so | grep -v 'unknown tag' | grep -q . && exit 1 || exit 0"
# What --hashvals costs is said: its bytes (a u32 per .dynsym entry) and
# whether it took a new segment, which the output's program headers show.
"$ELFOPT" rewrite libsubject.so --hashvals --json -o hv.so >hv.json
hv_syms=$(readelf -W --dyn-syms libsubject.so | grep -cE '^ +[0-9]+:')
hv_loads=$(($(readelf -lW hv.so | grep -c ' LOAD ') - $(readelf -lW libsubject.so | grep -c ' LOAD ')))
check "--hashvals reports its bytes ($((4 * hv_syms))) and its new segment ($hv_loads more PT_LOAD)" \
  python3 -c "import json,sys; d=json.load(open('hv.json')); sys.exit(not (d['hashvalsBytes'] == 4 * $hv_syms and d['hashvalsNewSegment'] == ($hv_loads > 0)))"
check "--dynsort alone needs no order" "$ELFOPT" rewrite libsubject.so --dynsort -o dynsorted.so
expect_error 1 "elfopt: error: --gnu-hash rebuilds the table --dynsort sorts; give --dynsort (see 'elfopt help rewrite')" \
  "$ELFOPT" rewrite libsubject.so --gnu-hash=keep -o x.so
# Packed relative relocations (SHT_RELR, lld -z pack-relative-relocs): the
# words they relocate follow their code.
clang-19 --ld-path=/usr/lib/llvm-19/bin/ld.lld -O2 -fPIE -pie -Wl,-z,pack-relative-relocs -Wl,-q \
  "$IN/subject.c" -o relr
check "RELR: the input has .relr.dyn" bash -c "readelf -SW relr | grep -q '\.relr\.dyn'"
"$ELFOPT" rewrite relr --random-order 5 -o relr.out >/dev/null 2>&1
check "RELR: rewritten, verified and run with the same output" \
  test "$(./relr.out 3 2>&1; echo $?)" = "$(./relr 3 2>&1; echo $?)"
finish
