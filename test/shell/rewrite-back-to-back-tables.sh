#!/usr/bin/env bash
# Jump tables back to back without a bound (test/inputs/rewrite/back-to-
# back-tables.S): read on past its end, the first table's scan would find a
# word leading into the middle of the second table's jump sequence, and the
# function of that jump would stay ("indirect jump not understood"). The
# rewrite ends an unbounded table where another address code refers to
# starts, when it rewrites its entries and when it looks for labels.
# Checks, for gcc and clang-19 with bfd and lld, unstripped and stripped:
# both functions move, each table's entries are rewritten (3 + 2), the
# program prints the same.
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
    $cc -O2 -fPIE -pie -fuse-ld=$ld "$inputs/back-to-back-tables-main.c" "$inputs/back-to-back-tables.S" -o "$name" ||
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
        check "$out: 5 jump table entries rewritten" \
          test "$(json_field "$out.json" '["updated"]["jump table entry"]')" == 5
        if [[ $variant == "$name" ]]; then
          for f in first second; do
            check "$out: $f moved" test "$(address "$out" $f)" != "$(address "$name" $f)"
          done
        fi
      done
    done
  done
done
finish
