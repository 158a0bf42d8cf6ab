#!/usr/bin/env bash
# Jump tables whose base is set before an interpreter loop
# (test/inputs/rewrite/loop-table.S): followed back from the jump, the base
# comes through the loop's cases, which the function's own tables lead to
# (lib/Rewrite/JumpTables.h, OwnTables); in `threaded` the dispatch is
# copied into each case. Checks, for gcc and clang-19 with bfd and lld,
# unstripped and stripped: both interpreters move, the tables' 4 + 3
# entries are rewritten, the program prints the same.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.lld llvm-nm-19 python3 strip
cd "$WORK"
inputs=$SRC/test/inputs/rewrite

address() { llvm-nm-19 "$1" | awk -v s="$2" '$3 == s {print "0x" $1}'; }
pins() {
  python3 -c 'import json, sys; print(" ".join(k["reason"] for k in json.load(open(sys.argv[1]))["kept"] if k["reason"] == "indirect jump not understood"))' "$1"
}

for cc in gcc clang-19; do
  for ld in bfd lld; do
    name=$cc-$ld
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/loop-table-main.c" "$inputs/loop-table.S" -o "$name" ||
      { fail "$name: build"; continue; }
    want=$(./"$name")
    strip -o "$name.stripped" "$name"
    for variant in "$name" "$name.stripped"; do
      for seed in 1 2; do
        out=$variant.r$seed
        if ! "$ELFOPT" rewrite "$variant" --random-order $seed --json -o "$out" >"$out.json" 2>"$out.err"; then
          fail "$out: rewrite: $(cat "$out.err")"
          continue
        fi
        check "$out: same output" test "$(./"$out")" == "$want"
        check "$out: no indirect jump kept its function" test "$(pins "$out.json")" == ""
        check "$out: 7 jump table entries rewritten" \
          test "$(json_field "$out.json" '["updated"]["jump table entry"]')" == 7
        if [[ $variant == "$name" ]]; then
          for f in interp threaded; do
            check "$out: $f moved" test "$(address "$out" $f)" != "$(address "$name" $f)"
          done
        fi
      done
    done
  done
done
finish
