#!/usr/bin/env bash
# rewrite --pack-relative-relocs: R_X86_64_RELATIVE entries become DT_RELR
# after the link, as ld -z pack-relative-relocs would have made them.
#   1. A C++ program and library (vtables, function tables, strings,
#      constructors, exceptions) from every linker: packed, each still runs
#      with the original's output, .rela.dyn shrinks, the loader sees
#      GLIBC_ABI_DT_RELR, and a pointer at an odd address stays RELA.
#   2. With a .text rewrite (--emit-relocs) in the same run.
#   3. The same input gives the same bytes.
#   4. Refusals, one line each, nothing written: already packed, static,
#      no room in .dynamic (lld).
source "$(dirname "$0")/lib.sh"
require g++ ld.bfd ld.gold ld.lld mold readelf python3
cd "$WORK"
inputs=$SRC/test/inputs/pack

relative_entries() { readelf -rW "$1" | awk '/^Relocation section/ {s = $3} s == "'"'"'.rela.dyn'"'"'" && $3 == "R_X86_64_RELATIVE"' | wc -l; }
json_field() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["packRelativeRelocs"][sys.argv[2]])' "$@"; }

# 1. Every linker but lld (which leaves no spare .dynamic slots; see 4).
for linker in bfd gold mold; do
  mkdir $linker
  g++ -O2 -fPIC -shared -fuse-ld=$linker "$inputs/lib.cpp" -o $linker/liblib.so
  g++ -O2 -fPIE -pie -fuse-ld=$linker "$inputs/main.cpp" -L$linker -llib -o $linker/main
  want=$(LD_LIBRARY_PATH=$linker ./$linker/main)
  mkdir $linker/packed
  for file in liblib.so main; do
    if "$ELFOPT" rewrite $linker/$file --pack-relative-relocs --json -o $linker/packed/$file >$linker/$file.json 2>log; then
      pass
    else
      fail "$linker $file: refused: $(cat log)"
      continue
    fi
    check "$linker $file: verified" test "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["verifyPackedRelocs"]["ok"])' $linker/$file.json)" == True
    check "$linker $file: has DT_RELR" bash -c "readelf -d $linker/packed/$file | grep -q '(RELR)'"
    check "$linker $file: needs GLIBC_ABI_DT_RELR" bash -c "readelf -V $linker/packed/$file | grep -q 'Name: GLIBC_ABI_DT_RELR'"
    before=$(relative_entries $linker/$file) after=$(relative_entries $linker/packed/$file)
    check "$linker $file: RELATIVE entries in .rela.dyn $before -> $after" test "$after" -lt "$before"
    check "$linker $file: the JSON counts them" test "$(json_field $linker/$file.json packed)" == $((before - after))
  done
  # The odd pointer of the library stays a RELA entry.
  check "$linker: the pointer at an odd address stays RELA" test "$(json_field $linker/liblib.so.json keptUnaligned)" == 1
  check "$linker: packed program, original library: same output" \
    test "$(LD_LIBRARY_PATH=$linker ./$linker/packed/main)" == "$want"
  check "$linker: packed library, original program: same output" \
    test "$(LD_LIBRARY_PATH=$linker/packed ./$linker/main)" == "$want"
  check "$linker: both packed: same output" \
    test "$(LD_LIBRARY_PATH=$linker/packed ./$linker/packed/main)" == "$want"
  # The loader applies fewer RELA entries. It counts relative ones only
  # where DT_RELACOUNT names them (mold writes none), and RELR not at all.
  relative_count() {
    LD_DEBUG=statistics LD_LIBRARY_PATH=$1 "$2" 2>&1 >/dev/null |
      awk '/  number of relocations:|number of relative relocations/ {n += $NF} END {print n}'
  }
  [[ $linker == mold ]] || check "$linker: the loader applies fewer RELA entries" \
    test "$(relative_count $linker/packed ./$linker/packed/main)" -lt "$(relative_count $linker ./$linker/main)"
done

# 2. With a .text rewrite in the same run.
g++ -O2 -fPIE -pie -fuse-ld=bfd -Wl,--emit-relocs "$inputs/main.cpp" -Lbfd -llib -o main.q
want=$(LD_LIBRARY_PATH=bfd ./main.q)
if "$ELFOPT" rewrite main.q --random-order 3 --pack-relative-relocs -o main.q.packed >log 2>&1; then
  pass
  check "rewritten and packed: same output" test "$(LD_LIBRARY_PATH=bfd ./main.q.packed)" == "$want"
  check "rewritten and packed: the report has both" grep -q "verify (packed relocations): ok" log
else
  fail "rewrite --random-order --pack-relative-relocs refused: $(cat log)"
fi

# 3. Deterministic.
"$ELFOPT" rewrite bfd/liblib.so --pack-relative-relocs -o again.so >/dev/null
check "the same input gives the same bytes" cmp -s again.so bfd/packed/liblib.so

# 4. Refusals.
expect_error 2 "elfopt: error: bfd/packed/liblib.so: cannot pack relative relocations: its relative relocations are packed already (DT_RELR)" \
  "$ELFOPT" rewrite bfd/packed/liblib.so --pack-relative-relocs -o twice.so
check "nothing written on refusal" test ! -e twice.so
g++ -O2 -fPIC -shared -fuse-ld=bfd -Wl,-z,pack-relative-relocs "$inputs/lib.cpp" -o linked-packed.so
expect_error 2 "elfopt: error: linked-packed.so: cannot pack relative relocations: its relative relocations are packed already (DT_RELR)" \
  "$ELFOPT" rewrite linked-packed.so --pack-relative-relocs -o out.so
g++ -O2 -static-pie "$inputs/main.cpp" "$inputs/lib.cpp" -o static-pie
expect_error 2 "elfopt: error: static-pie: cannot pack relative relocations: it does not load libc.so.6, which carries the version GLIBC_ABI_DT_RELR that glibc's loader wants an object with DT_RELR to need" \
  "$ELFOPT" rewrite static-pie --pack-relative-relocs -o out
g++ -O2 -fPIC -shared -fuse-ld=lld "$inputs/lib.cpp" -o lld.so
expect_error 2 "elfopt: error: lld.so: cannot pack relative relocations: DT_RELR, DT_RELRSZ and DT_RELRENT need 3 free .dynamic slots; it has 1 (spare DT_NULL slots and DT_RELACOUNT's; lld leaves no spare slots)" \
  "$ELFOPT" rewrite lld.so --pack-relative-relocs -o out.so
check "nothing written on refusal" test ! -e out.so
finish
