#!/usr/bin/env bash
# What `elfopt rewrite --bind-self PROGRAM` saves the dynamic linker at the
# start of real Debian programs: every object of the program's startup scope
# (ldd's list, ld.so itself excepted) and the program rewritten into a
# private directory, the program started through ld.so --library-path DIR,
# so that the copies (proved for this program's scope only) reach this
# process and never a child or valgrind's own launcher script:
#   a   the original, started the same way through ld.so
#   s   --bind-self PROGRAM on every object
#   cs  --bind-self with --dynsort --pack-relative-relocs on every object
#       (without packing where a file cannot be packed), --scope-order on
#       the program: all of elfopt's loader work that glibc reads at once
#       (not --hashvals: no shipping loader reads the hashes, and each file
#       pays a PT_LOAD more for them; 3% of gnome-calculator's warm start)
# ld.so's and do_lookup_x's instructions with LD_BIND_NOW=1 (callgrind,
# deterministic: one run each; bench/scope-order.sh's parser, which checks
# that every cost line is counted), and warm wall time (median of RUNS
# interleaved starts). Every variant's stdout must equal the original's, and
# every symbol slot of every object must hold the same object+offset once
# relocated (slot-dump/slot-dump.c, preloaded, LD_BIND_NOW=1).
# Env: ELFOPT, ELFOPT_BENCH_DIR, RUNS (21), SUBJECTS (default all).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=${ELFOPT:-$here/../build/tools/elfopt/elfopt}
work=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/bind-self
RUNS=${RUNS:-21}
ldso=/lib64/ld-linux-x86-64.so.2
mkdir -p "$work"
# name|package|environment|command|libraries the start dlopens, for
# --scope-order's proof (--also): Qt's platform plugin looks up symbols that
# several Qt libraries define, and a scope order proved without it moves one.
all_subjects=(
  "gnome-calculator|gnome-calculator||/usr/bin/gnome-calculator --solve 2^10+1|"
  "kcalc|kcalc|QT_QPA_PLATFORM=offscreen|/usr/bin/kcalc --version|/usr/lib/x86_64-linux-gnu/qt5/plugins/platforms/libqoffscreen.so"
  "gdb|gdb||/usr/bin/gdb --version|"
)
need=()
command -v valgrind >/dev/null || need+=(valgrind)
for s in "${all_subjects[@]}"; do
  IFS='|' read -r name pkg _ cmd _ <<<"$s"
  if [ -z "${SUBJECTS:-}" ] || [[ " $SUBJECTS " == *" $name "* ]]; then [ -x "${cmd%% *}" ] || need+=("$pkg"); fi
done
if [ ${#need[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "missing packages: ${need[*]} (run as root)" >&2; exit 1; }
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >"$work/apt.log" 2>&1
fi
sed -n '/^cat >"$work\/parse.py" <<.EOF.$/,/^EOF$/p' "$here/scope-order.sh" | sed '1d;$d' >"$work/parse.py"

echo "load at start: $(cat /proc/loadavg)"
failed=0
for s in "${all_subjects[@]}"; do
  IFS='|' read -r name pkg senv cmd dlopened <<<"$s"
  if [ -n "${SUBJECTS:-}" ] && [[ " $SUBJECTS " != *" $name "* ]]; then continue; fi
  read -r -a argv <<<"$cmd"
  prog=${argv[0]}; args=("${argv[@]:1}")
  dir=$work/$name; rm -rf "$dir"; mkdir -p "$dir"
  echo; echo "== $name ($pkg $(dpkg-query -W -f='${Version}' "$pkg")): ${senv:+$senv }$cmd"
  for v in s cs; do
    mkdir -p "$dir/$v/lib" "$dir/$v/logs"
    extra=(); progextra=()
    if [ $v = cs ]; then
      extra=(--dynsort --pack-relative-relocs); progextra=(--scope-order)
      for lib in $dlopened; do progextra+=(--also "$lib"); done
    fi
    # rewrite_one IN OUT LOG ARGS...: where a file's relocations cannot be
    # packed (no spare .dynamic slots, packed already), without packing.
    rewrite_one() {
      local in=$1 out=$2 log=$3; shift 3
      "$ELFOPT" rewrite "$in" -o "$out" "$@" >"$log" 2>&1 && return
      if grep -q "cannot pack relative relocations" "$log"; then
        local a=() x; for x in "$@"; do [ "$x" = --pack-relative-relocs ] || a+=("$x"); done
        echo "$v: $(basename "$in"): not packed: $(tail -n1 "$log" | sed 's/.*cannot pack relative relocations: //')"
        "$ELFOPT" rewrite "$in" -o "$out" "${a[@]}" >"$log" 2>&1 && return
      fi
      return 1
    }
    rewrite_one "$prog" "$dir/$v/$(basename "$prog")" "$dir/$v/logs/program.log" --bind-self "$prog" "${extra[@]}" "${progextra[@]}" ||
      { echo "$v: the program's rewrite failed: $(tail -n1 "$dir/$v/logs/program.log")"; cp "$prog" "$dir/$v/"; failed=1; }
    while read -r soname path; do
      rewrite_one "$path" "$dir/$v/lib/$soname" "$dir/$v/logs/$soname.log" --bind-self "$prog" "${extra[@]}" ||
        { echo "$v: $soname failed: $(tail -n1 "$dir/$v/logs/$soname.log")"; cp "$path" "$dir/$v/lib/$soname"; failed=1; }
    done < <(ldd "$prog" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
    python3 - "$dir/$v/logs" "$v" <<'PY'
import re, sys, glob
defs = rel = objs = weak = weakrel = relative = 0
for f in glob.glob(sys.argv[1] + "/*.log"):
    text = open(f).read()
    m = re.search(r"(\d+) definitions bound to hidden copies, (\d+) relocations", text)
    if m: objs += 1; defs += int(m.group(1)); rel += int(m.group(2))
    m = re.search(r"(\d+) weak references that no object of the scope defines bound to 0 without a lookup \((\d+) relocations", text)
    if m: weak += int(m.group(1)); weakrel += int(m.group(2))
    m = re.search(r"(\d+) of those relocations made R_X86_64_RELATIVE", text)
    if m: relative += int(m.group(1))
print(f"{sys.argv[2]}: {objs} objects with bound definitions: {defs} definitions, {rel} relocations bound without a lookup"
      f" ({relative} of them made R_X86_64_RELATIVE); {weak} weak references defined nowhere bound to 0 ({weakrel} relocations)")
PY
  done
  run() { # V [PREFIX...]: the command as variant V after PREFIX, through ld.so
    local v=$1; shift
    local preload=()
    [[ " $* " == *" SLOT_DUMP_OUT="* ]] && preload=(--preload "$work/slot-dump.so")
    if [ "$v" = a ]; then
      (cd "$dir" && env -u LD_LIBRARY_PATH -u LD_BIND_NOW $senv "$@" $ldso "${preload[@]}" "$prog" "${args[@]}")
    else
      (cd "$dir" && env -u LD_LIBRARY_PATH -u LD_BIND_NOW $senv "$@" $ldso "${preload[@]}" --library-path "$dir/$v/lib" \
        "$dir/$v/$(basename "$prog")" "${args[@]}")
    fi
  }
  run a >"$dir/out.a" 2>/dev/null
  for v in s cs; do
    run $v >"$dir/out.$v" 2>/dev/null || { echo "MISMATCH: $v exited $?"; failed=1; }
    cmp -s "$dir/out.a" "$dir/out.$v" || { echo "MISMATCH: $v stdout differs"; failed=1; }
  done
  echo "stdout: $(wc -c <"$dir/out.a") bytes, the same in every variant"
  # Every symbol slot of every object, read in the process once relocated
  # (LD_BIND_NOW=1): the same object and offset in every variant.
  gcc -O2 -fPIC -shared -o "$work/slot-dump.so" "$here/slot-dump/slot-dump.c"
  for v in a s cs; do
    slots=(); [ $v = a ] || slots=(SLOT_DUMP_SLOTS="$dir/slots.a") # the original's slots, wherever filled
    run $v LD_BIND_NOW=1 SLOT_DUMP_OUT="$dir/slots.$v" "${slots[@]}" >/dev/null 2>&1 || true
    sort -o "$dir/slots.$v" "$dir/slots.$v"
  done
  for v in s cs; do
    if cmp -s "$dir/slots.a" "$dir/slots.$v"; then
      echo "$v: all $(wc -l <"$dir/slots.a") symbol slots of $(cut -d' ' -f1 "$dir/slots.a" | sort -u | wc -l) objects hold the original's address once relocated"
    else
      echo "MISMATCH: $v: $(diff "$dir/slots.a" "$dir/slots.$v" | grep -c '^>') symbol slots differ (diff $dir/slots.a $dir/slots.$v)"; failed=1
    fi
  done
  # LD_DEBUG=bindings: every binding the variant still makes is one the
  # original makes, and every one it no longer makes is an object binding to
  # itself (paths cut to file names, since the copies live elsewhere).
  for v in a s cs; do
    rm -f "$dir"/ld.*
    run $v LD_BIND_NOW=1 LD_DEBUG=bindings LD_DEBUG_OUTPUT="$dir/ld" >/dev/null 2>&1 || true
    cat "$dir"/ld.* | grep -o 'binding file .*' | sed -E 's/\[[0-9]+\]//g; s#[^ ]*/##g' | sort >"$dir/bindings.$v"
  done
  for v in s cs; do
    extra=$(comm -13 "$dir/bindings.a" "$dir/bindings.$v" | wc -l)
    gone=$(comm -23 "$dir/bindings.a" "$dir/bindings.$v")
    notself=$(grep -cvE '^binding file (\S+)  to \1 :' <<<"$gone" || true)
    [ -n "$gone" ] || notself=0
    if [ "$extra" = 0 ] && [ "$notself" = 0 ]; then
      echo "$v: LD_DEBUG=bindings: $(wc -l <"$dir/bindings.$v") bindings, each the original's; $(grep -c . <<<"$gone") self-bindings gone"
    else
      echo "MISMATCH: $v: LD_DEBUG=bindings: $extra bindings the original does not make, $notself others gone"; failed=1
    fi
  done
  declare -A ir=()
  for v in a s cs; do
    run $v LD_BIND_NOW=1 valgrind.bin --tool=callgrind --callgrind-out-file="$dir/callgrind.$v" >/dev/null 2>"$dir/valgrind.$v.log" ||
      { echo "WARNING: $v exited $? under valgrind"; failed=1; }
    ir[$v]=$(python3 "$work/parse.py" callgrind "$dir/callgrind.$v")
  done
  declare -A wall=()
  for v in a s cs; do wall[$v]=""; done
  for ((r = 0; r < RUNS; r++)); do
    for v in a s cs; do
      t0=$(date +%s%N); run $v >/dev/null 2>&1; t1=$(date +%s%N)
      wall[$v]+="$(( (t1 - t0) / 1000 )) "
    done
  done
  python3 - "${ir[a]}" "${ir[s]}" "${ir[cs]}" "${wall[a]}" "${wall[s]}" "${wall[cs]}" <<'PY'
import statistics, sys
irs = [list(map(int, x.split())) for x in sys.argv[1:4]]
walls = [statistics.median(map(int, x.split())) / 1000 for x in sys.argv[4:7]]
print(f"{'variant':<8} {'ld.so Ir (now)':>15} {'ratio':>7} {'do_lookup_x Ir':>15} {'ratio':>7} {'warm wall ms':>13} {'ratio':>7}")
for name, (ld, dlx, _), w in zip(("a", "s", "cs"), irs, walls):
    print(f"{name:<8} {ld:>15,} {ld / irs[0][0]:>7.4f} {dlx:>15,} {dlx / irs[0][1]:>7.4f} {w:>13.2f} {w / walls[0]:>7.4f}")
PY
done
echo; echo "load at end: $(cat /proc/loadavg)"
exit $failed
