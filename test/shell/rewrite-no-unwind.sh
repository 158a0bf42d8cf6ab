#!/usr/bin/env bash
# Stripped programs built without unwind tables (as Debian's mold and
# Chromium are): no symbol and no FDE bounds most of their code. The rewrite
# finds the functions by following control flow from what calls them or
# stores their address (lib/Rewrite/Discover.h) and moves them; verify
# learns where each went from the references to it. test/inputs/rewrite/
# subject.{c,cpp} (jump tables, function pointers, setjmp, TLS, ifuncs)
# built by {gcc, clang} as a PIE, and (C) as a shared library with a driver,
# linked by {bfd, lld}, then `strip --strip-all`. Checks, per build and two
# random orders: the same output and exit status, functions found, 95% of
# .text movable or more, found code moved and verify learned it; and once, an order
# recorded from such a program names found functions ("code@0x...") and is
# followed.
source "$(dirname "$0")/lib.sh"
require gcc g++ clang-19 clang++-19 ld.lld strip python3
cd "$WORK"
IN=$SRC/test/inputs/rewrite
flags=(-O2 -fno-asynchronous-unwind-tables -fno-unwind-tables)

# movable FILE.json: the share of .text not kept in place, in percent.
movable() {
  python3 -c 'import json, sys; d = json.load(open(sys.argv[1]))
print(int(100 * (1 - d["blocks"]["pinnedBytes"] / d["text"]["bytes"])))' "$1"
}

for lang in c cpp; do
  for cc in gcc clang; do
    compiler=$(compiler_for $lang $cc)
    for kind in pie shared; do
      # The driver calls the library's main as C: C++ would mangle it.
      [[ $lang/$kind == cpp/shared ]] && continue
      for ld in bfd lld; do
        name=$lang-$cc-$kind-$ld
        libdir=
        if [[ $kind == pie ]]; then
          "$compiler" "${flags[@]}" -fPIE -pie -fuse-ld=$ld "$IN/subject.$lang" -o "$name.full" ||
            { fail "$name: build"; continue; }
          strip --strip-all -o "$name" "$name.full"
          target=$name
        else
          mkdir -p "orig-$name" "new-$name"
          "$compiler" "${flags[@]}" -fPIC -shared -Dmain=subject_main -fuse-ld=$ld "$IN/subject.$lang" \
            -o "$name.so" || { fail "$name: build"; continue; }
          strip --strip-all -o "orig-$name/libsubject.so" "$name.so"
          gcc -O2 "$IN/driver.c" -L "orig-$name" -lsubject -o "$name" || { fail "$name: build driver"; continue; }
          target=orig-$name/libsubject.so
          libdir=orig-$name
        fi
        run_and_capture "$name" "$name.want" "$libdir"
        for seed in 1 2; do
          out=$name.r$seed
          if ! "$ELFOPT" rewrite "$target" --random-order $seed --json -o "$out" >"$out.json" 2>"$out.err"; then
            fail "$out: rewrite: $(head -3 "$out.err")"
            continue
          fi
          if [[ $kind == pie ]]; then
            run_and_capture "$out" "$out.got"
          else
            cp "$out" "new-$name/libsubject.so"
            run_and_capture "$name" "$out.got" "new-$name"
          fi
          check "$out: same output and exit status" cmp -s "$name.want" "$out.got"
          check "$out: functions found in code nothing describes" \
            test "$(json_field "$out.json" '["blocks"]["discoveredFunctions"]')" -gt 0
          # Found functions with jump tables move too: verify reads their
          # tables against the bases their code, learned where it moved,
          # refers to (observed 98-100%; 80-83% when they stayed).
          check "$out: at least 95% of .text movable (is $(movable "$out.json")%)" test "$(movable "$out.json")" -ge 95
          check "$out: verify learned where found code went" \
            test "$(json_field "$out.json" '["verify"]["movedUndescribedRanges"]')" -gt 0
        done
      done
    done
  done
done

# An order recorded from a stripped program without unwind tables names the
# functions found in it, and the rewrite follows it.
name=c-gcc-pie-bfd
if [[ -x $name ]]; then
  "$ELFOPT" record -o "$name.profile.json" -- ./"$name" >/dev/null 2>"$name.record.err" # exits as the program
  if [[ -s $name.profile.json ]]; then
    check "$name: the profile names found functions" grep -q '"code@0x' "$name.profile.json"
    if "$ELFOPT" rewrite "$name" --profile "$name.profile.json" --json -o "$name.p" >"$name.p.json" 2>"$name.p.err"; then
      run_and_capture "$name.p" "$name.p.got"
      check "$name with its profile: same output" cmp -s "$name.want" "$name.p.got"
      check "$name with its profile: found functions ordered first" \
        test "$(json_field "$name.p.json" '["blocks"]["orderedPlaced"]')" -gt 1
      check "$name with its profile: most ordered functions moved" \
        test "$(json_field "$name.p.json" '["blocks"]["orderedPlaced"]')" -gt \
        "$(json_field "$name.p.json" '["blocks"]["orderedPinned"]')"
    else
      fail "$name with its profile: rewrite: $(head -3 "$name.p.err")"
    fi
  else
    fail "$name: record: $(head -3 "$name.record.err")"
  fi
fi
finish
