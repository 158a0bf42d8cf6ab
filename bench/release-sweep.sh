#!/usr/bin/env bash
# release-sweep.sh [OUTDIR]: every x86-64 ET_DYN file under /usr/bin, /usr/sbin
# and /usr/lib/x86_64-linux-gnu (PIE programs and shared libraries, as
# Debian ships them: no static relocations, most without .symtab), rewritten
# with a random order. Programs run `--version` next to the original (same
# output and exit status). Prints the counts: rewritten, refused by reason,
# same behaviour, and the median share of .text bytes movable and moved.
# Libraries are checked in real programs by release-libraries.sh.
set -uo pipefail
ELFOPT=${ELFOPT:-$(dirname "$0")/../build/tools/elfopt/elfopt}
# A copy: a rebuild during the sweep must not change the binary under test.
cp "$ELFOPT" "${TMPDIR:-/tmp}/elfopt-sweep.$$" && ELFOPT=${TMPDIR:-/tmp}/elfopt-sweep.$$
trap 'rm -f "$ELFOPT"' EXIT
out=${1:-/tmp/elfopt-sweep}
mkdir -p "$out"
: >"$out/results.tsv"
mapfile -t files < <(find /usr/bin /usr/sbin /usr/lib/x86_64-linux-gnu -maxdepth 2 -type f -size +1k 2>/dev/null | sort)
for f in "${files[@]}"; do
  # ELF, x86-64, ET_DYN (e_type 3 at offset 16, e_machine 62 at 18).
  header=$(od -An -tx1 -N20 "$f" 2>/dev/null | tr -d ' \n')
  [[ $header == 7f454c46* && ${header:32:4} == 0300 && ${header:36:4} == 3e00 ]] || continue
  name=$(echo "$f" | tr / _)
  # Under its own name: programs print it.
  mkdir -p "$out/new/$name"
  new=$out/new/$name/$(basename "$f")
  if "$ELFOPT" rewrite "$f" --random-order 1 --json -o "$new" >"$out/$name.json" 2>"$out/$name.err"; then
    # Movable: not kept in place for any reason. Moved: its address changed
    # under this random order (a function the shuffle leaves where it was
    # counts as not moved).
    share=$(python3 -c 'import json,sys
d = json.load(open(sys.argv[1]))
size = max(1, d["text"]["bytes"])
print("%.4f\t%.4f" % (1 - d["blocks"]["pinnedBytes"] / size, d["blocks"]["movedBytes"] / size))' "$out/$name.json")
    status=rewritten behaviour=-
    # Programs that might act on an argument they do not know are not run.
    if [[ ($f == */bin/* || $f == */sbin/*) &&
          ! $(basename "$f") =~ ^(reboot|halt|poweroff|shutdown|init|telinit|runlevel|kill.*|pkill|sulogin|.*getty|login|mkfs.*|fsck.*|swap.*|.*mount|pivot_root|switch_root|chroot|ldconfig|.*dpkg.*|apt.*|wipefs|.*fdisk|blkdiscard|hwclock|ctrlaltdel|nologin|start-stop-daemon)$ ]]; then
      # The original runs from a copy beside it: some programs (cmake) find
      # their files relative to their own path.
      mkdir -p "$out/orig/$name"
      orig=$out/orig/$name/$(basename "$f")
      cp "$f" "$orig"
      a=$(cd "$out" && timeout 5 "$orig" --version </dev/null 2>&1; echo "exit $?")
      b=$(cd "$out" && timeout 5 "$new" --version </dev/null 2>&1; echo "exit $?")
      b=${b//$new/$orig} # a program that prints its own path
      rm -rf "$out/orig/$name"
      if [[ $a == "$b" ]]; then
        behaviour=same
      elif [[ $(sed 's/[0-9]\+/N/g' <<<"$a") == "$(sed 's/[0-9]\+/N/g' <<<"$b")" ]]; then
        behaviour=same-but-numbers # process ids, times in warnings
      else
        behaviour=different
      fi
    fi
    rm -rf "$out/new/$name"
  else
    share=$'-\t-' behaviour=-
    status="refused: $(grep -m1 'error' "$out/$name.err" | sed "s|$f: ||; s|elfopt: error: ||" | cut -c1-80)"
  fi
  printf '%s\t%s\t%s\t%s\n' "$f" "$status" "$behaviour" "$share" >>"$out/results.tsv"
done
python3 - "$out/results.tsv" <<'PY'
import collections, statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1])]
status = collections.Counter(r[1] if r[1] == "rewritten" else r[1] for r in rows)
print(f"{len(rows)} ET_DYN files")
for s, n in status.most_common():
    print(f"  {n:5d}  {s}")
behaviour = collections.Counter(r[2] for r in rows if r[2] != "-")
print("programs run with --version:", dict(behaviour))
shares = [(float(r[3]), float(r[4])) for r in rows if r[3] != "-"]
if shares:
    movable = [s[0] for s in shares]
    moved = [s[1] for s in shares]
    print(f"share of .text bytes movable (not kept in place): median {statistics.median(movable):.3f}, "
          f"files with at least 90%: {sum(s >= 0.9 for s in movable)} of {len(movable)}")
    print(f"share of .text bytes moved by the random order: median {statistics.median(moved):.3f}")
PY
