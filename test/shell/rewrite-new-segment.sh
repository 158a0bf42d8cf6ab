#!/usr/bin/env bash
# rewrite --new-segment: the ordered code goes to a new executable segment
# (.elfopt.text), in order, and the rest of .text stays. On programs and
# libraries without static relocations, by GCC and Clang, four linkers,
# PIE, static PIE, shared libraries, C and C++ with exceptions (a non-PIE
# program needs static relocations, and then every function moves within
# .text):
# the output runs with the original's output and exit status; the ordered
# functions' symbols are in the new section, inside an executable PT_LOAD;
# `elfopt verify ORIGINAL OUTPUT` passes and catches a changed byte there;
# the output is the same twice; eu-elflint has nothing new to say; strip
# leaves a program that runs; a second --new-segment is refused, nothing
# written. With static relocations (-q), it says it adds nothing and adds
# nothing. With forwarding stubs (offset-calls.S): the ladder moves to the
# new segment and every word is checked through its stub. By default: no
# new segment where the plan in .text keeps the order dense (no stubs, or
# the ladder's few), one where the ordered code finds no slot among stubs
# (gen-offset-table.py), and a second rewrite of that output works.
source "$(dirname "$0")/lib.sh"
require gcc g++ clang-19 clang++-19 ld.bfd ld.gold ld.lld mold eu-elflint strip llvm-readelf-19 python3
cd "$WORK"
IN=$SRC/test/inputs/rewrite

# in_room FILE SYMBOL: the symbol's section is .elfopt.text, and an
# executable PT_LOAD holds it.
in_room() {
  python3 - "$1" "$2" <<'PY'
import subprocess, sys
path, name = sys.argv[1], sys.argv[2]
run = lambda *a: subprocess.run(["llvm-readelf-19", *a, path], capture_output=True, text=True).stdout
sections = {}
for line in run("-SW").splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 6 and f[0].startswith("[") and f[0][1:-1].isdigit():
        sections[int(f[0][1:-1])] = (f[1], int(f[3], 16), int(f[5], 16))
room = [i for i, s in sections.items() if s[0] == ".elfopt.text"]
if len(room) != 1:
    sys.exit("no .elfopt.text")
_, start, size = sections[room[0]]
loads = [l.split() for l in run("-lW").splitlines() if l.split()[:1] == ["LOAD"]]
if not any("E" in l[6:-1] and int(l[2], 16) <= start and start + size <= int(l[2], 16) + int(l[4], 16) for l in loads):
    sys.exit(".elfopt.text is in no executable PT_LOAD")
for line in run("-sW").splitlines():
    f = line.split()
    if len(f) >= 8 and f[7] == name:
        if f[6] == str(room[0]) and start <= int(f[1], 16) < start + size:
            sys.exit(0)
        sys.exit(f"{name} is in section {f[6]} at {f[1]}")
sys.exit(f"no symbol {name}")
PY
}
lint() { eu-elflint --gnu-ld "$1" 2>&1 | sed "s|$1|FILE|g" | grep -v '^No errors' | sort; }
# flip_room_byte FILE OUT: OUT is FILE with one byte of .elfopt.text's first
# function changed (its 5th byte: inside an instruction's operand or opcode).
flip_room_byte() {
  python3 - "$1" "$2" <<'PY'
import subprocess, sys
src, dst = sys.argv[1], sys.argv[2]
for line in subprocess.run(["llvm-readelf-19", "-SW", src], capture_output=True, text=True).stdout.splitlines():
    f = line.replace("[ ", "[").split()
    if len(f) > 6 and f[1] == ".elfopt.text":
        offset = int(f[4], 16)
data = bytearray(open(src, "rb").read())
data[offset + 4] ^= 0x40
open(dst, "wb").write(data)
PY
}

built=0 compilers=(gcc clang-19) linkers=(bfd gold lld mold)
[[ ${ELFOPT_SANITIZED:-0} == 1 ]] && compilers=(gcc) linkers=(bfd lld)
for cc in "${compilers[@]}"; do
  cxx=${cc/gcc/g++}
  cxx=${cxx/clang-19/clang++-19}
  for ld in "${linkers[@]}"; do
    for kind in pie static-pie shared cxx; do
      name=$cc-$ld-$kind
      lib=
      case $kind in
      pie) "$cc" -O2 -fuse-ld=$ld -fPIE -pie "$IN/subject.c" -o "$name" ;;
      static-pie) "$cc" -O2 -fuse-ld=$ld -static-pie -fPIE "$IN/subject.c" -o "$name" ;;
      cxx) "$cxx" -O2 -fuse-ld=$ld "$IN/subject.cpp" -o "$name" ;;
      shared)
        mkdir -p "lib-$name" "new-lib-$name"
        "$cc" -O2 -fuse-ld=$ld -fPIC -shared -Dmain=subject_main "$IN/subject.c" -o "lib-$name/libsubject.so" &&
          gcc -O2 "$IN/driver.c" -L "lib-$name" -lsubject -o "$name"
        lib=lib-$name/libsubject.so
        ;;
      esac >build.log 2>&1 || { echo "note: $name does not build here ($(tail -1 build.log))"; continue; }
      built=$((built + 1))
      target=${lib:-$name}
      out=${lib:+new-lib-$name/libsubject.so}
      out=${out:-$name.ns}
      if ! "$ELFOPT" rewrite "$target" --random-order 5 --new-segment --json -o "$out" >"$name.json" 2>"$name.err"; then
        fail "$name: rewrite --new-segment: $(cat "$name.err")"
        continue
      fi
      if [[ -n $lib ]]; then
        check "$name: same behaviour" same_behaviour "$name" "$name" "lib-$name" "new-lib-$name"
        check "$name: subject_main in .elfopt.text" in_room "$out" subject_main
      else
        check "$name: same behaviour" same_behaviour "$name" "$out"
        check "$name: main in .elfopt.text" in_room "$out" main
        strip -o "$out.stripped" "$out"
        check "$name: stripped, same behaviour" same_behaviour "$name" "$out.stripped"
      fi
      check "$name: the new segment's size reported" test "$(json_field "$name.json" '["newSegment"]["bytes"]')" -gt 0
      check "$name: the room held every ordered function" \
        test "$(json_field "$name.json" '["blocks"]["pinnedWhy"].get("the room made for the ordered code is full", 0)')" == 0
      # Static: libc's functions are ordered too, and some stay for reasons of their own.
      [[ $kind != static-pie ]] &&
        check "$name: every ordered function in order" test "$(json_field "$name.json" '["blocks"]["orderedPinned"]')" == 0
      check "$name: verify passes" "$ELFOPT" verify "$target" "$out"
      check "$name: eu-elflint says nothing new" test "$(lint "$target")" == "$(lint "$out")"
      "$ELFOPT" rewrite "$target" --random-order 5 --new-segment -o "$out.again" >/dev/null 2>&1
      check "$name: the same output twice" cmp -s "$out" "$out.again"
      flip_room_byte "$out" "$out.flipped"
      check "$name: verify catches a changed byte in .elfopt.text" \
        bash -c "! '$ELFOPT' verify '$target' '$out.flipped' >'$name.flipped.log' 2>&1 && grep -q 'verify: FAILED' '$name.flipped.log'"
      expect_error 2 "elfopt: error: $out: already has .elfopt.text (elfopt rewrote it into a new segment); rewrite its original instead" \
        "$ELFOPT" rewrite "$out" --random-order 6 --new-segment -o "$out.second"
      check "$name: nothing written when refused" test ! -e "$out.second"
    done
  done
done
# gold cannot link a static PIE: all but those.
check "programs built: $built" test "$built" -ge $((${#compilers[@]} * ${#linkers[@]} * 3))

# With static relocations every function moves within .text.
gcc -O2 -Wl,-q "$IN/subject.c" -o q
"$ELFOPT" rewrite q --random-order 2 --new-segment -o q.ns >q.log 2>q.err
check "-q: says --new-segment adds nothing" grep -q "static relocations describe .text: every function moves within it; --new-segment adds nothing" q.err
check "-q: no .elfopt.text" bash -c "! llvm-readelf-19 -SW q.ns | grep -q elfopt.text"
check "-q: same behaviour" same_behaviour q q.ns

# Forwarding stubs: the ladder (entered through words of data) moves to the
# new segment; its old entries jump there.
for cc in gcc clang-19; do
  name=$cc-ladder
  $cc -O2 -fPIE -pie "$IN/offset-calls-main.c" "$IN/offset-calls.S" -o "$name" || { fail "$name: build"; continue; }
  if "$ELFOPT" rewrite "$name" --random-order 1 --new-segment --json -o "$name.ns" >"$name.json" 2>"$name.err"; then
    check "$name: same output" test "$(./"$name.ns")" == "$(./"$name")"
    check "$name: the ladder in .elfopt.text" in_room "$name.ns" ladder
    # Three for the rungs; every other moved function's old start has one too.
    check "$name: stubs for the rungs and the old starts" \
      test "$(json_field "$name.json" '["blocks"]["forwardingStubs"]')" -ge 3
    check "$name: verify checked the seven words through the stubs" \
      test "$(json_field "$name.json" '["verify"]["forwardedWords"]')" == 7
  else
    fail "$name: rewrite --new-segment: $(cat "$name.err")"
  fi
done

# The default: a new segment only where the plan in .text would spread the
# ordered code (some of it finding no slot, or spanning much more).
gcc -O2 -fPIE -pie "$IN/subject.c" -o plain
"$ELFOPT" rewrite plain --random-order 5 --json -o plain.r >plain.json
check "default, no stubs needed: no new segment" test "$(json_field plain.json '.get("newSegment")')" == None
check "default, no stubs needed: no .elfopt.text" bash -c "! llvm-readelf-19 -SW plain.r | grep -q elfopt.text"
check "default, no stubs needed: same behaviour" same_behaviour plain plain.r
gcc -O2 -fPIE -pie "$IN/offset-calls-main.c" "$IN/offset-calls.S" -o ladder
"$ELFOPT" rewrite ladder --random-order 1 --json -o ladder.r >ladder.json
check "default, stubs but the order dense in .text: no new segment" test "$(json_field ladder.json '.get("newSegment")')" == None
check "default, stubs but the order dense in .text: same output" test "$(./ladder.r)" == "$(./ladder)"
python3 "$IN/gen-offset-table.py" 3000
gcc -O0 -fPIE -pie many.c offs.S -o many
"$ELFOPT" rewrite many --symbol-list order.txt --json -o many.r >many.json
check "default, the order spread in .text: the new segment, and why" \
  grep -q '"why": "in .text, 750 ordered functions would find no slot"' many.json
check "default, the order spread in .text: f0 in .elfopt.text" in_room many.r f0
check "default, the order spread in .text: every ordered function moved" \
  test "$(json_field many.json '["blocks"]["orderedPinned"]')" == 0
check "default, the order spread in .text: same output" test "$(./many.r)" == "$(./many)"
"$ELFOPT" rewrite many --symbol-list order.txt --no-new-segment --json -o many.ip >many.ip.json
check "--no-new-segment: the ordered functions stay, with the reason" \
  test "$(json_field many.ip.json '["blocks"]["orderedPinned"]')" == 750
check "--no-new-segment: same output" test "$(./many.ip)" == "$(./many)"
# Rewritten again: the moved code is outside .text now and stays; the rest
# may move, in .text.
if "$ELFOPT" rewrite many.r --random-order 7 -o many.rr >many.rr.log 2>&1; then
  check "a second rewrite of the output: same output" test "$(./many.rr)" == "$(./many)"
  check "a second rewrite of the output: no second new segment" test "$(llvm-readelf-19 -SW many.rr | grep -c elfopt.text)" == 1
else
  fail "a second rewrite of the output: $(cat many.rr.log)"
fi
# With --prefetch: the room's program header moves the sections after the
# table (.interp first), and the exec reads .interp, with readahead around
# it, at its new place. The trace saw it at its old one: the plan must count
# it read where it is now, and prefetch nothing within half a readahead
# window (64 KiB) of it.
if "$ELFOPT" record -o many.profile.json -- ./many >/dev/null 2>&1 &&
  "$ELFOPT" rewrite many --profile many.profile.json --new-segment --prefetch --json -o many.p >many.p.json 2>many.p.err; then
  check "--prefetch with the new segment: same output" test "$(./many.p)" == "$(./many)"
  check "--prefetch with the new segment: verify" "$ELFOPT" verify many many.p
  interp=$(llvm-readelf-19 -SW many.p | awk '{for (i = 1; i < NF; i++) if ($i == ".interp") print "0x" $(i + 2)}')
  check "--prefetch with the new segment: .interp moved" test "$((interp))" -gt 4096
  check "--prefetch with the new segment: nothing prefetched around .interp's new place" \
    python3 -c 'import json, sys
i = int(sys.argv[2], 16) & ~4095
sys.exit(any(r["address"] < i + 65536 and r["address"] + r["size"] > i - 65536
             for r in json.load(open(sys.argv[1]))["prefetch"]["ranges"]))' many.p.json "$interp"
else
  fail "--prefetch with the new segment: $(cat many.p.err)"
fi
"$ELFOPT" rewrite ladder --random-order 1 --no-new-segment --json -o ladder.ip >ladder.ip.json
check "--no-new-segment: no .elfopt.text" bash -c "! llvm-readelf-19 -SW ladder.ip | grep -q elfopt.text"
check "--no-new-segment: stubs for the rungs" test "$(json_field ladder.ip.json '["blocks"]["forwardingStubs"]')" -ge 3
check "--no-new-segment: no stubs at the old starts of functions nothing may lead into" \
  test "$(json_field ladder.ip.json '["blocks"]["forwardedWhy"].keys()')" == "dict_keys(['its address may be stored in data as an offset'])"
check "--no-new-segment: same output" test "$(./ladder.ip)" == "$(./ladder)"
expect_error 1 "elfopt: error: --new-segment and --no-new-segment exclude each other (see 'elfopt help rewrite')" \
  "$ELFOPT" rewrite ladder --random-order 1 --new-segment --no-new-segment -o both

finish
