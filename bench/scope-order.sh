#!/usr/bin/env bash
# What `elfopt rewrite --scope-order` (DT_NEEDED reordered so the global scope
# puts the libraries that answer the most lookups first) saves the dynamic
# linker at the start of real Debian programs with ~60-90 libraries each:
#   a  original
#   b  scope order only
#   c  scope order + --dynsort --hashvals of the program and of every library
#      it loads (private copies, used through LD_LIBRARY_PATH)
#   l  (CONTROL=1) the original program with unchanged copies of its
#      libraries through LD_LIBRARY_PATH: what the search path alone does
# Measured in one run, variants interleaved a,b,c,a,b,c...: ld.so's and
# do_lookup_x's instructions (callgrind, deterministic, so one run each) with
# LD_BIND_NOW=1 and lazy; do_lookup_x's simulated L1 data misses (cachegrind
# --cache-sim=yes, bind-now); warm wall time (median of RUNS starts).
# Every variant's stdout must equal the original's. Also the bound: ld.so's
# instructions (bind-now) with every library preloaded in the order of
# lookups answered, which no DT_NEEDED order can beat.
# Env: ELFOPT, ELFOPT_BENCH_DIR, RUNS (21), SUBJECTS (names, default all),
# STANDIN=1 (variants are plain copies: tests the bench without elfopt),
# CONTROL=1 (adds variant l).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
ELFOPT=${ELFOPT:-$here/../build/tools/elfopt/elfopt}
work=${ELFOPT_BENCH_DIR:-/tmp/elfopt-bench}/scope-order
RUNS=${RUNS:-21}
mkdir -p "$work"
work=$(cd "$work" && pwd)
start=$SECONDS

# name|Debian package|environment|command. gnome-calculator --version prints
# to stderr, so --solve gives the output check something; Qt needs a platform
# plugin without a display (offscreen, dlopened after the start we measure).
all_subjects=(
  "gnome-calculator|gnome-calculator||/usr/bin/gnome-calculator --solve 2^10+1"
  "kcalc|kcalc|QT_QPA_PLATFORM=offscreen|/usr/bin/kcalc --version"
  "gdb|gdb||/usr/bin/gdb --version"
)
subjects=()
for s in "${all_subjects[@]}"; do
  if [ -z "${SUBJECTS:-}" ] || [[ " $SUBJECTS " == *" ${s%%|*} "* ]]; then subjects+=("$s"); fi
done
[ ${#subjects[@]} -gt 0 ] || { echo "SUBJECTS=$SUBJECTS names none of: ${all_subjects[*]%%|*}" >&2; exit 1; }

# Tools and subjects come from Debian packages; install what is missing.
need=()
command -v valgrind >/dev/null || need+=(valgrind)
for s in "${subjects[@]}"; do
  IFS='|' read -r _ pkg _ cmd <<<"$s"
  [ -x "${cmd%% *}" ] || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >"$work/apt.log" 2>&1 ||
      { echo "apt-get install ${need[*]} failed, see $work/apt.log" >&2; exit 1; }
  else
    echo "missing packages: ${need[*]} (run as root, or: sudo apt-get install --no-install-recommends ${need[*]})" >&2
    exit 1
  fi
fi
if [ -z "${STANDIN:-}" ] && [ ! -x "$ELFOPT" ]; then
  echo "no elfopt at $ELFOPT (build it, set ELFOPT, or STANDIN=1 to test the bench with unchanged copies)" >&2
  exit 1
fi

# How the variants are made; STANDIN=1 copies instead (no change). A failure
# returns non-zero with elfopt's words in the log.
rewrite_program() { # PROG OUT LOG EXTRA-OPTIONS...
  if [ -n "${STANDIN:-}" ]; then cp "$1" "$2"; echo "stand-in: copy" >"$3"; return; fi
  "$ELFOPT" rewrite "$1" --scope-order "${@:4}" -o "$2" >"$3" 2>&1
}
rewrite_library() { # LIB OUT LOG
  if [ -n "${STANDIN:-}" ]; then cp "$1" "$2"; return; fi
  "$ELFOPT" rewrite "$1" -o "$2" --dynsort --hashvals >"$3" 2>&1
}

# Parses valgrind's raw output files rather than callgrind_annotate's, whose
# lines for code inlined from another source file (dl-new-hash.h in
# _dl_lookup_symbol_x, dl-machine.h in _dl_relocate_object, ...) carry no
# object name: summing annotate's ld.so lines misses ~17% of ld.so's work.
# Fails unless the cost lines add up to the file's own totals, so that every
# executed instruction is counted somewhere; "???" (no object: PLT stubs) is
# printed so it can be seen to stay small.
cat >"$work/parse.py" <<'EOF'
import re, sys
def callgrind(path):
    names, ob, fn, skip, totals = {}, None, None, False, None
    ldso = dlx = unknown = total = 0
    def name(kind, v):
        m = re.match(r'\((\d+)\)(?:\s+(.*))?$', v)
        if not m: return v
        if m.group(2) is not None: names[kind, m.group(1)] = m.group(2)
        return names[kind, m.group(1)]
    for line in open(path):
        c = line[:1]
        if c.isdigit() or c in '+-*':
            if skip: skip = False; continue  # a call's inclusive cost
            f = line.split()
            ir = int(f[1]) if len(f) > 1 else 0
            total += ir
            if ob.endswith('/ld-linux-x86-64.so.2'):
                ldso += ir
                if fn == 'do_lookup_x': dlx += ir
            elif ob == '???': unknown += ir
            continue
        k, _, v = line.rstrip('\n').partition('=')
        if k in ('ob', 'cob'): o = name('ob', v); ob = o if k == 'ob' else ob
        elif k in ('fn', 'cfn'): f = name('fn', v); fn = f if k == 'fn' else fn
        elif k in ('fl', 'fi', 'fe', 'cfi', 'cfl'): name('fl', v)
        elif k == 'calls': skip = True
        elif line.startswith('totals:'): totals = int(line.split()[1])
    if totals != total:
        sys.exit(f'{path}: cost lines add up to {total}, totals: says {totals}')
    print(ldso, dlx, unknown)
def cachegrind(path):
    events, fn, ir, d1, sums, summary = None, None, 0, 0, None, None
    for line in open(path):
        if line.startswith('events:'):
            events = line.split()[1:]; sums = [0] * len(events)
            iir, imr, imw = events.index('Ir'), events.index('D1mr'), events.index('D1mw')
        elif line.startswith('fn='): fn = line[3:].strip()
        elif line.startswith('summary:'): summary = [int(x) for x in line.split()[1:]]
        elif line[:1].isdigit():
            v = [int(x) for x in line.split()[1:]]; v += [0] * (len(events) - len(v))
            sums = [a + b for a, b in zip(sums, v)]
            if fn == 'do_lookup_x': ir += v[iir]; d1 += v[imr] + v[imw]
    if sums != summary:
        sys.exit(f'{path}: cost lines add up to {sums}, summary: says {summary}')
    print(ir, d1)
globals()[sys.argv[1]](sys.argv[2])
EOF

# Warm wall time: one warm-up start per variant, then RUNS rounds a,b,c,...;
# perf_counter around subprocess.run, output to /dev/null; median in ms.
cat >"$work/wall.py" <<'EOF'
import os, statistics, subprocess, sys, time
runs, envs, nargs = int(sys.argv[1]), sys.argv[2].split(), int(sys.argv[3])
args, rest = sys.argv[4:4 + nargs], sys.argv[4 + nargs:]
variants = [rest[i:i + 3] for i in range(0, len(rest), 3)]  # name libdir prog
def environ(libdir):
    e = {k: v for k, v in os.environ.items() if k not in ('LD_LIBRARY_PATH', 'LD_BIND_NOW')}
    e.update(kv.split('=', 1) for kv in envs)
    if libdir: e['LD_LIBRARY_PATH'] = libdir
    return e
def start(libdir, prog):
    t = time.perf_counter()
    subprocess.run([prog] + args, env=environ(libdir), stdin=subprocess.DEVNULL,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t
times = {v[0]: [] for v in variants}
for name, libdir, prog in variants: start(libdir, prog)
for _ in range(runs):
    for name, libdir, prog in variants: times[name].append(start(libdir, prog))
for name, _, _ in variants: print(name, round(statistics.median(times[name]) * 1000, 3))
EOF

cat >"$work/table.py" <<'EOF'
import sys
rows = [l.split() for l in open(sys.argv[1])]  # v ir dlx unk ir_lazy dlx_lazy unk_lazy dlx_c d1 wall
base = {k: float(x) for k, x in zip(('ir', 'irl', 'wall'), (rows[0][1], rows[0][4], rows[0][9]))}
r = lambda a, b: f'{float(a) / max(b, 1e-9):.4f}'
print(f"{'variant':<8} {'ld.so Ir now':>13} {'ratio':>7} {'lookup_x Ir':>12} {'lookup_x D1':>12} "
      f"{'ld.so Ir lazy':>13} {'ratio':>7} {'wall ms':>9} {'ratio':>7}")
for v, ir, dlx, _, irl, _, _, _, d1, wall in rows:
    print(f"{v:<8} {int(ir):>13,} {r(ir, base['ir']):>7} {int(dlx):>12,} {int(d1):>12,} "
          f"{int(irl):>13,} {r(irl, base['irl']):>7} {float(wall):>9.2f} {r(wall, base['wall']):>7}")
EOF

echo "load at start: $(cat /proc/loadavg)"
[ -n "${STANDIN:-}" ] && echo "STANDIN=1: variants b and c are unchanged copies"
ldso=$(readlink -f /lib64/ld-linux-x86-64.so.2)
failed=0
for s in "${subjects[@]}"; do
  IFS='|' read -r name pkg senv cmd <<<"$s"
  read -r -a argv <<<"$cmd"
  prog=${argv[0]}; args=("${argv[@]:1}")
  base=$(basename "$prog")
  dir=$work/$name
  rm -rf "$dir"; mkdir -p "$dir/scope" "$dir/all" "$dir/all/lib"
  echo
  echo "== $name ($pkg $(dpkg-query -W -f='${Version}' "$pkg")): ${senv:+$senv }$cmd"
  echo "libraries: $(ldd "$prog" | wc -l) in ldd, $(readelf -d "$prog" | grep -c NEEDED) DT_NEEDED"

  # Variants: name, program, LD_LIBRARY_PATH.
  vs=(a)
  declare -A P=([a]=$prog) L=([a]=)
  if rewrite_program "$prog" "$dir/scope/$base" "$dir/scope.log"; then
    vs+=(b); P[b]=$dir/scope/$base; L[b]=
    grep -hE '^  scope order|^    DT_NEEDED' "$dir/scope.log" | sed 's/^/b: /' || true
  else
    echo "b: elfopt rewrite --scope-order failed, variant skipped:"; sed 's/^/  /' "$dir/scope.log"
  fi
  if rewrite_program "$prog" "$dir/all/$base" "$dir/all.log" --dynsort --hashvals; then
    grep -hE '^  scope order' "$dir/all.log" | sed 's/^/c: /' || true
    copied=()
    mkdir -p "$dir/all/logs"
    # ldd's first column is the name the loader looks for in LD_LIBRARY_PATH;
    # ld.so itself (no "=>") stays the system's.
    while read -r soname path; do
      rewrite_library "$path" "$dir/all/lib/$soname" "$dir/all/logs/$soname.log" ||
        { cp "$path" "$dir/all/lib/$soname"; copied+=("$soname");
          echo "c: $soname copied unchanged, rewrite failed: $(tail -n1 "$dir/all/logs/$soname.log")"; }
    done < <(ldd "$prog" | awk '/=>/ && $3 ~ /^\// {print $1, $3}')
    [ ${#copied[@]} -eq 0 ] || echo "c: ${#copied[@]} libraries copied unchanged: ${copied[*]}"
    vs+=(c); P[c]=$dir/all/$base; L[c]=$dir/all/lib
    # A library's DT_RPATH would win over LD_LIBRARY_PATH: check c really
    # loads the private copies.
    n=$(ldd "$prog" | awk '/=>/ && $3 ~ /^\//' | wc -l)
    m=$(env LD_LIBRARY_PATH="${L[c]}" ldd "${P[c]}" | awk -v d="${L[c]}/" '/=>/ && index($3, d) == 1' | wc -l)
    echo "c: $m of $n libraries load from ${L[c]}"
    [ "$m" = "$n" ] || echo "WARNING: c loads $((n - m)) libraries from elsewhere (DT_RPATH?): see LD_LIBRARY_PATH=${L[c]} ldd ${P[c]}"
  else
    echo "c: elfopt rewrite --scope-order --dynsort --hashvals failed, variant skipped:"; sed 's/^/  /' "$dir/all.log"
  fi
  # Control (CONTROL=1): the original program with unchanged copies of its
  # libraries through LD_LIBRARY_PATH, since the search path alone moves
  # ld.so's work and, through the heap layout, do_lookup_x's misses.
  if [ -n "${CONTROL:-}" ]; then
    mkdir -p "$dir/copy/lib"
    ldd "$prog" | awk '/=>/ && $3 ~ /^\// {print $1, $3}' | while read -r soname path; do cp "$path" "$dir/copy/lib/$soname"; done
    vs+=(l); P[l]=$prog; L[l]=$dir/copy/lib
  fi
  for v in "${vs[@]:1}"; do
    [ "$v" != l ] || continue
    if diff -q <(readelf -d "$prog" | grep NEEDED) <(readelf -d "${P[$v]}" | grep NEEDED) >/dev/null; then
      echo "$v: DT_NEEDED order unchanged"
    else
      echo "$v: DT_NEEDED order changed"
    fi
  done

  # run V [PREFIX...]: the subject's command as variant V, after PREFIX
  # (more VAR=VALUE, valgrind ...); same cwd and environment for all.
  run() {
    local v=$1; shift
    (cd "$dir" && env -u LD_LIBRARY_PATH -u LD_BIND_NOW $senv ${L[$v]:+LD_LIBRARY_PATH=${L[$v]}} "$@" "${P[$v]}" "${args[@]}")
  }
  # Output check: the original twice (it must be deterministic), then each.
  run a >"$dir/out.a" 2>/dev/null
  run a >"$dir/out.a2" 2>/dev/null
  cmp -s "$dir/out.a" "$dir/out.a2" || { echo "MISMATCH: $name's own stdout differs between two runs"; failed=1; }
  for v in "${vs[@]:1}"; do
    run "$v" >"$dir/out.$v" 2>/dev/null || { echo "MISMATCH: $name variant $v exited $?"; failed=1; }
    cmp -s "$dir/out.a" "$dir/out.$v" || { echo "MISMATCH: $name variant $v stdout differs from the original's"; failed=1; }
  done
  echo "stdout: $(wc -c <"$dir/out.a") bytes, $(md5sum <"$dir/out.a" | cut -c1-12)"

  # A start that fails under valgrind is reported, not hidden (its counts
  # would be of a shorter run).
  status() { echo "WARNING: $name variant $1 exited $? under valgrind ($2), see $dir/valgrind.$1.$2.log"; failed=1; }
  # One valgrind at a time; each mode across a,b,c before the next mode.
  declare -A now lazy cache
  for v in "${vs[@]}"; do
    run "$v" LD_BIND_NOW=1 valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.$v.now" >/dev/null 2>"$dir/valgrind.$v.now.log" || status "$v" now
    now[$v]=$(python3 "$work/parse.py" callgrind "$dir/callgrind.$v.now")
  done
  for v in "${vs[@]}"; do
    run "$v" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.$v.lazy" >/dev/null 2>"$dir/valgrind.$v.lazy.log" || status "$v" lazy
    lazy[$v]=$(python3 "$work/parse.py" callgrind "$dir/callgrind.$v.lazy")
  done
  for v in "${vs[@]}"; do
    run "$v" LD_BIND_NOW=1 valgrind --tool=cachegrind --cache-sim=yes --cachegrind-out-file="$dir/cachegrind.$v" >/dev/null 2>"$dir/valgrind.$v.cache.log" || status "$v" cache
    cache[$v]=$(python3 "$work/parse.py" cachegrind "$dir/cachegrind.$v")
  done
  wall_args=()
  for v in "${vs[@]}"; do wall_args+=("$v" "${L[$v]}" "${P[$v]}"); done
  declare -A wall
  while read -r v ms; do wall[$v]=$ms; done < <(cd "$dir" && python3 "$work/wall.py" "$RUNS" "$senv" "${#args[@]}" "${args[@]}" "${wall_args[@]}")

  # The bound: what ld.so would execute if the scope were sorted by lookups
  # answered with no constraint at all (inspect --scope's bound), made by
  # preloading every library in that order. Not a safe order, so its output
  # is not checked; LD_PRELOAD's own cost shows with the scope's own order.
  if [ -z "${STANDIN:-}" ]; then
    "$ELFOPT" inspect "$prog" --scope --json >"$dir/scope.json"
    read -r same sorted < <(python3 - "$dir/scope.json" <<'PY'
import json, sys
objs = json.load(open(sys.argv[1]))["objects"][1:]
objs = [o for o in objs if "/ld-linux" not in o["path"]]
same = ":".join(o["path"] for o in objs)
ranked = sorted(range(len(objs)), key=lambda i: (-objs[i]["answered"], i))
print(same, ":".join(objs[i]["path"] for i in ranked))
PY
)
    for order in same sorted; do
      list=$same; [ $order = sorted ] && list=$sorted
      run a LD_BIND_NOW=1 LD_PRELOAD="$list" valgrind --tool=callgrind --callgrind-out-file="$dir/callgrind.bound-$order" >/dev/null 2>&1 || true
      set -- $(python3 "$work/parse.py" callgrind "$dir/callgrind.bound-$order")
      set -- ${now[a]} "$1"
      what="the scope's own order (LD_PRELOAD's cost)"; [ $order = sorted ] && what="order of lookups answered (the bound)"
      echo "bind-now, every library preloaded in $what: ld.so Ir $4, $(python3 -c "print(f'{$4 / $1:.4f}')")x the original's"
    done
  fi

  : >"$dir/results"
  for v in "${vs[@]}"; do echo "$v ${now[$v]} ${lazy[$v]} ${cache[$v]} ${wall[$v]}" >>"$dir/results"; done
  echo "ld.so $ldso; wall: median of $RUNS warm starts; $(grep -m1 'D1 cache' "$dir/cachegrind.a" | sed 's/desc: //')"
  python3 "$work/table.py" "$dir/results"
  echo "check: callgrind cost lines = totals in every run; Ir outside any object (???, PLT stubs) bind-now: $(for v in "${vs[@]}"; do set -- ${now[$v]}; printf '%s %s  ' "$v" "$3"; done)"
  echo "check: do_lookup_x Ir bind-now, callgrind vs cachegrind: $(for v in "${vs[@]}"; do set -- ${now[$v]}; c=$2; set -- ${cache[$v]}; printf '%s %s/%s  ' "$v" "$c" "$1"; done)"
  unset now lazy cache wall P L
done
echo
echo "load at end: $(cat /proc/loadavg)"
echo "took $((SECONDS - start)) s"
exit $failed
