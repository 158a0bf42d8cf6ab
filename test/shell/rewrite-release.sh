#!/usr/bin/env bash
# Release binaries: the rewrite without static relocations. The matrix's
# programs (test/inputs/rewrite/subject.{c,cpp}) and the switch-heavy
# program of gen-switches.sh, built WITHOUT --emit-relocs by {gcc, clang} x
# {-O0, -O2, -O3} x {ld.bfd, gold, lld, mold}, as PIE and as shared library
# plus program, each rewritten unstripped and after `strip --strip-all`,
# with a random order (and at -O2 a recorded one): same output and exit
# status, `verify` passes, eu-elflint has nothing new to say. Where the
# compiler made jump tables (switches, -O2 and -O3) they must have been found
# from the code, and most of the code must have moved: a rewrite that keeps
# everything in place would pass the rest. Under the sanitizers only -O2.
source "$(dirname "$0")/lib.sh"
require gcc g++ clang-19 clang++-19 ld.bfd ld.gold ld.lld mold eu-elflint strip python3
cd "$WORK"
IN=$SRC/test/inputs/rewrite
bash "$IN/gen-switches.sh" switches 6 5
opts=(-O0 -O2 -O3)
[[ ${ELFOPT_SANITIZED:-0} == 1 ]] && opts=(-O2)
ran=0 skipped=0

lint() { eu-elflint --gnu-ld "$1" 2>&1 | sed "s|$1|FILE|g"; }
# json_field FILE KEY...: a number from the rewrite's --json report.
json_field() {
  python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d = d.get(k, 0) if isinstance(d, dict) else 0
print(d or 0)' "$@"
}

# rewrite_and_check NAME TARGET PROGRAM KIND SEED: rewrites TARGET (the
# program, or its library in orig-NAME/) and runs PROGRAM on the result.
rewrite_and_check() {
  local name=$1 target=$2 program=$3 kind=$4 seed=$5 out
  out=$target.r
  [[ $kind == shared ]] && out=new-$name/$(basename "$target")
  if ! "$ELFOPT" rewrite "$target" --random-order "$seed" --json -o "$out" >"$name.json" 2>"$name.err"; then
    fail "$name: rewrite failed: $(tail -3 "$name.err")"
    return 1
  fi
  check "$name: verify" "$ELFOPT" verify "$target" "$out" >/dev/null
  if [[ $kind == shared ]]; then
    check "$name: same output and exit status" same_behaviour "$program" "$program" "orig-$name" "new-$name"
  else
    check "$name: same output and exit status" same_behaviour "$program" "$out"
  fi
  check "$name: eu-elflint reports nothing new" cmp -s <(lint "$target") <(lint "$out")
}

build() { # NAME KIND COMPILER FLAGS... -- SOURCES...: builds NAME (and orig-NAME/lib*.so)
  local name=$1 kind=$2 compiler=$3
  shift 3
  local flags=() sources=()
  while [[ $1 != -- ]]; do flags+=("$1"); shift; done
  shift
  sources=("$@")
  if [[ $kind == pie ]]; then
    "$compiler" "${flags[@]}" -fPIE -pie "${sources[@]}" -o "$name"
  else
    mkdir -p "orig-$name" "new-$name"
    if [[ ${sources[0]} != switches/* ]]; then
      "$compiler" "${flags[@]}" -fPIC -shared -Dmain=subject_main "${sources[@]}" -o "orig-$name/libsubject.so" &&
        gcc -O2 "$IN/driver.c" -L "orig-$name" -lsubject -o "$name"
    else
      "$compiler" "${flags[@]}" -fPIC -shared switches/unit*.c -o "orig-$name/libunits.so" &&
        gcc -O2 switches/main.c -L "orig-$name" -lunits -o "$name"
    fi
  fi
}

for program in c cpp switches; do
  for cc in gcc clang; do
    case $program/$cc in
    c/gcc | switches/gcc) compiler=gcc ;; cpp/gcc) compiler=g++ ;;
    c/clang | switches/clang) compiler=clang-19 ;; cpp/clang) compiler=clang++-19 ;;
    esac
    sources=("$IN/subject.$program")
    [[ $program == switches ]] && sources=(switches/*.c)
    for opt in "${opts[@]}"; do
      for kind in pie shared; do
        for ld in bfd gold lld mold; do
          name=$program-$cc$opt-$kind-$ld
          if ! build "$name" "$kind" "$compiler" "$opt" -fuse-ld=$ld -- "${sources[@]}" >build.log 2>&1; then
            skipped=$((skipped + 1))
            continue
          fi
          target=$name lib=
          if [[ $kind == shared ]]; then
            lib=orig-$name
            target=$(echo "$lib"/lib*.so)
          fi
          run_and_capture "$name" "$name.check" "$lib"
          if ! grep -q "exit 0\|exit 3[0-9]" "$name.check"; then
            skipped=$((skipped + 1))
            continue
          fi
          ran=$((ran + 1))
          check "$name: built without static relocations for .text" bash -c "! readelf -SW '$target' | grep -q ' .rela.text '"
          rewrite_and_check "$name" "$target" "$name" "$kind" "$ran" || continue
          if [[ $program == switches && $opt != -O0 ]]; then
            check "$name: jump table entries found from the code" \
              test "$(json_field "$name.json" updated "jump table entry")" -gt 0
            moved=$(json_field "$name.json" blocks movedBytes) size=$(json_field "$name.json" text bytes)
            check "$name: most of .text moved ($moved of $size bytes)" test $((moved * 100)) -ge $((size * 60))
          fi
          # Stripped: functions from FDEs and .dynsym only.
          stripped=$name-stripped
          if [[ $kind == shared ]]; then
            mkdir -p "orig-$stripped" "new-$stripped"
            strip --strip-all -o "orig-$stripped/$(basename "$target")" "$target"
            cp "$name" "$stripped"
            rewrite_and_check "$stripped" "orig-$stripped/$(basename "$target")" "$stripped" shared "$ran"
          else
            strip --strip-all -o "$stripped" "$target"
            rewrite_and_check "$stripped" "$stripped" "$stripped" pie "$ran"
          fi
          # A recorded order, as a user would get it, from the stripped program.
          if [[ $opt == -O2 && $kind == pie ]]; then
            "$ELFOPT" record -o "$stripped.profile" -- "./$stripped" >/dev/null 2>&1
            if [[ -s $stripped.profile ]]; then
              check "$stripped: rewrite with the recorded order" \
                "$ELFOPT" rewrite "$stripped" --profile "$stripped.profile" -o "$stripped.rec" >/dev/null
              check "$stripped: same output (recorded order)" same_behaviour "$stripped" "$stripped.rec"
            else
              fail "$stripped: record failed"
            fi
          fi
        done
      done
    done
  done
done
# Bad input. A jump table entry that leads into data: its function keeps
# its place (and the entry its value), so the rewrite behaves as the
# original does, crash included.
gcc -O2 switches/*.c -o poked && strip poked
python3 - poked <<'PY'
import re, struct, subprocess, sys
path = sys.argv[1]
dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", path], capture_output=True, text=True).stdout.splitlines()
table = None
for i, line in enumerate(dis):
    m = re.search(r"lea\s+0x[0-9a-f]+\(%rip\),(%r\w+)\s+# ([0-9a-f]+)", line)
    if m and any(f"movslq (%s," % m.group(1) in l for l in dis[i + 1:i + 4]):
        table = int(m.group(2), 16)
        break
out = subprocess.run(["readelf", "-SW", path], capture_output=True, text=True).stdout
for line in out.splitlines():
    m = re.search(r"\]\s+\.rodata\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m and table is not None:
        addr, off, size = (int(g, 16) for g in m.groups())
        if addr <= table < addr + size:
            data = bytearray(open(path, "rb").read())
            struct.pack_into("<i", data, off + table - addr, 4)  # entry 0 -> table + 4: data
            open(path, "wb").write(data)
            sys.exit(0)
sys.exit(1)
PY
check "a jump table was found and poked" test $? = 0
"$ELFOPT" rewrite poked --random-order 1 --json -o poked.new >poked.json 2>poked.err
check "poked: rewritten" test $? = 0
check "poked: the function of the bad table is kept in place, and says why" \
  grep -q '"reason": "jump table entry leads outside code"\|"reason": "jump table with no entry found"' poked.json
check "poked: same behaviour as the poked original" same_behaviour poked poked.new
# verify reads every word of a release binary's data: one table entry of a
# correct rewrite, off by one, is caught and named.
gcc -O2 switches/*.c -o swv && strip swv && "$ELFOPT" rewrite swv --random-order 5 -o swv.new >/dev/null
place=$(python3 - swv swv.new swv.bad <<'PY'
import re, subprocess, sys
orig, new, bad = sys.argv[1:4]
dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", orig], capture_output=True, text=True).stdout.splitlines()
for i, line in enumerate(dis):
    m = re.search(r"lea\s+0x[0-9a-f]+\(%rip\),(%r\w+)\s+# ([0-9a-f]+)", line)
    if m and any(f"movslq (%s," % m.group(1) in l for l in dis[i + 1:i + 4]):
        table = int(m.group(2), 16)
        break
out = subprocess.run(["readelf", "-SW", new], capture_output=True, text=True).stdout
m = re.search(r"\]\s+\.rodata\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", out)
addr, off = int(m.group(1), 16), int(m.group(2), 16)
data = bytearray(open(new, "rb").read())
data[off + table - addr + 4] ^= 1  # the second entry
open(bad, "wb").write(data)
print(f"{bad}:(.rodata+{hex(table + 4 - addr)})")
PY
)
check "verify passes the correct rewrite" "$ELFOPT" verify swv swv.new >/dev/null
check "verify fails a table entry off by one, and names it" \
  bash -c "! '$ELFOPT' verify swv swv.bad >out.txt && grep -qF '$place: relative entry is' out.txt"
# A stripped PIE whose .eh_frame is corrupt: one error naming it, no output.
gcc -O2 "$IN/subject.c" -o badeh && strip badeh
python3 - badeh <<'PY'
import re, struct, subprocess, sys
out = subprocess.run(["readelf", "-SW", sys.argv[1]], capture_output=True, text=True).stdout
off = int(re.search(r"\]\s+\.eh_frame\s+\S+\s+[0-9a-f]+\s+([0-9a-f]+)", out).group(1), 16)
data = bytearray(open(sys.argv[1], "rb").read())
struct.pack_into("<I", data, off, 0x7ffffff0)  # the first record runs past the section
open(sys.argv[1], "wb").write(data)
PY
"$ELFOPT" rewrite badeh --random-order 1 -o badeh.new >/dev/null 2>badeh.err
check "corrupt .eh_frame: exit 2" test $? = 2
check "corrupt .eh_frame: one line, naming the file and .eh_frame" \
  bash -c "[[ \$(wc -l <badeh.err) == 1 ]] && grep -q '^elfopt: error: badeh:(.eh_frame): ' badeh.err"
check "corrupt .eh_frame: no output" test ! -e badeh.new
# Without .eh_frame and .symtab nothing describes where functions are: they
# are found by following control flow (Rewrite/Discover.h), and move.
gcc -O2 "$IN/subject.c" -o noeh && strip noeh && objcopy --remove-section .eh_frame --remove-section .eh_frame_hdr noeh
"$ELFOPT" rewrite noeh --random-order 1 -o noeh.new >noeh.out 2>noeh.err
check "no .eh_frame: functions found by following control flow" grep -q 'functions found by following control flow' noeh.out
check "no .eh_frame: some moved" bash -c "! grep -q 'moved: 0 blocks' noeh.out"
check "no .eh_frame: same behaviour" same_behaviour noeh noeh.new

echo "rewrite-release: $ran builds ran (each unstripped and stripped), $skipped not buildable or runnable here"
check "at least 120 builds ran (or 36 under the sanitizers)" \
  test "$ran" -ge "$([[ ${ELFOPT_SANITIZED:-0} == 1 ]] && echo 36 || echo 120)"
finish
