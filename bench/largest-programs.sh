#!/usr/bin/env bash
# largest-programs.sh [OUTDIR]: the corpus of the largest real programs at
# hand, each rewritten by elfopt from copies in OUTDIR (nothing installed is
# changed), verified, and run against the original:
#   - Firefox ESR: libxul.so with a recorded start (headless screenshot, 3
#     runs); the screenshot must be byte-identical;
#   - LibreOffice: libmergedlo.so with a recorded start (headless
#     --convert-to pdf); the PDF must be identical once its dates are cut;
#   - clang-19: libLLVM and libclang-cpp with a recorded compile; the object
#     file must be byte-identical;
#   - llvm-large (bench/make-large-subject.sh: 180 MB, --emit-relocs, the -q
#     path) with a recorded run; the output must be identical;
#   - reltables: a large program built here by clang -fPIC -O2 with
#     --emit-relocs whose switches return strings (clang's relative lookup
#     tables), random order; the output must be identical;
#   - libnode (Debian's node 18, downloaded into OUTDIR): V8 and its
#     embedded builtins, with a recorded run of bench/inputs/node-workload.js;
#     its output must be identical;
#   - every other x86-64 ET_DYN file of 10 MB or more under /usr, random
#     order; verify, and `--version` for programs; mold links programs and
#     libx265 encodes a stream byte-identically, the Vulkan validation
#     layer loads and lists the same (bench/inputs/).
# A subject whose program is not installed is listed as skipped (install
# firefox-esr and libreoffice-writer for all of them). Needs root (the
# LibreOffice check bind-mounts in a private mount namespace).
# Prints one table: file, size, share of .text movable, the same share of
# the code whose bounds are known (a symbol, an FDE, a found function),
# share of the ordered bytes that follow the order, forwarding stubs, time,
# peak memory, behaviour.
set -uo pipefail
ELFOPT=${ELFOPT:-$(cd "$(dirname "$0")/.." && pwd)/build/tools/elfopt/elfopt}
bench=$(cd "$(dirname "$0")" && pwd)
out=${1:-/tmp/elfopt-largest}
mkdir -p "$out" && cd "$out" || exit 1
export HOME=$out/home # Firefox and LibreOffice keep their profiles here
mkdir -p "$HOME"
rows=()

# rewrite NAME INPUT OUTPUT ARGS...: rewrites with --json, timed; sets
# $rewritten (0 or 1) and adds nothing yet.
rewrite() {
  local name=$1 input=$2 output=$3
  shift 3
  /usr/bin/time -f "%e %M" -o "$name.time" "$ELFOPT" rewrite "$input" "$@" --json -o "$output" \
    >"$name.json" 2>"$name.err"
}
# row NAME FILE BEHAVIOUR: the table row from NAME.json and NAME.time.
row() {
  local name=$1 file=$2 behaviour=$3
  if [[ ! -s $name.json ]]; then
    rows+=("$(printf '%-28s %7s  refused: %s' "$name" "$(du -m "$file" | cut -f1)" "$(head -c 120 "$name.err")")")
    return
  fi
  rows+=("$(python3 - "$name" "$file" "$behaviour" <<'PY'
import json, os, sys
name, path, behaviour = sys.argv[1:]
d = json.load(open(name + ".json"))
b = d["blocks"]
text = max(1, d["text"]["bytes"])
ordered = b["orderedBytes"] + b["orderedPinnedBytes"]
followed = "%5.1f%%" % (100.0 * b["orderedBytes"] / ordered) if ordered else "    -"
secs, kb = open(name + ".time").read().split()[-2:]
# Code no symbol, FDE or found function bounds ("code without a function
# symbol"): nothing says where it may be entered, so it stays. The share
# movable of the rest is the figure a proof can move.
unbounded = sum(k["size"] for k in d.get("kept", []) if k["reason"] == "code without a function symbol")
bounded = "%5.1f%%" % (100.0 * (1 - (b["pinnedBytes"] - unbounded) / (text - unbounded))) if text > unbounded else "    -"
print("%-28s %5d MB %6.1f%% %7s %7s %8d %6.1f s %6d MB  %s" % (
    name, os.path.getsize(path) >> 20, 100.0 * (1 - b["pinnedBytes"] / text), bounded, followed,
    b.get("forwardingStubs", 0), float(secs), int(kb) >> 10, behaviour))
PY
)")
}
same() { # FILE FILE: "same", or what is wrong
  if [[ ! -s $1 || ! -s $2 ]]; then echo "MISSING ($1 or $2)"; elif cmp -s "$1" "$2"; then echo same; else echo DIFFERENT; fi
}

# Firefox ESR.
if [[ -x /usr/lib/firefox-esr/firefox-esr ]]; then
  echo "== firefox-esr" >&2
  rm -rf firefox && cp -a /usr/lib/firefox-esr firefox && cp -a /usr/lib/firefox-esr firefox.orig
  cat >page.html <<'EOF'
<html><body><h1>elfopt</h1><p>Text, a table and a gradient.</p>
<table border=1><tr><td>1</td><td>2</td></tr><tr><td>3</td><td>4</td></tr></table>
<div style="width:200px;height:50px;background:linear-gradient(90deg,red,blue)"></div></body></html>
EOF
  # Firefox writes a relative screenshot path elsewhere: absolute.
  shot() { timeout 300 "$1/firefox-esr" --headless --no-remote --screenshot "$out/$2" "file://$out/page.html" >/dev/null 2>&1; }
  "$ELFOPT" record --object libxul.so --follow-forks --runs 3 --no-pages -o firefox.profile -- \
    firefox.orig/firefox-esr --headless --no-remote --screenshot "$out/rec.png" "file://$out/page.html" >/dev/null 2>&1
  rewrite libxul.so firefox.orig/libxul.so firefox/libxul.so --profile firefox.profile --object libxul.so
  shot firefox.orig orig.png; shot firefox new.png
  row libxul.so firefox.orig/libxul.so "screenshot $(same orig.png new.png)"
else
  rows+=("libxul.so                    skipped: firefox-esr is not installed")
fi

# LibreOffice. A copy elsewhere does not start (its program directory finds
# its files through symlinks and its own path), so the rewritten library is
# bind-mounted over the installed one in a private mount namespace: the
# installed file is never changed. soffice.bin runs directly (the soffice
# script execs oosplash, which starts it as a child); a first run creates
# the user profile.
if [[ -x /usr/lib/libreoffice/program/soffice.bin ]]; then
  echo "== libreoffice" >&2
  lo=/usr/lib/libreoffice/program
  printf 'elfopt\n\nA document with a list:\n- one\n- two\n' >doc.txt
  bash "$bench/lo-user-profile.sh" # no graphics self-test at every start
  "$lo/soffice.bin" --headless --convert-to pdf --outdir warmup doc.txt >/dev/null 2>&1
  "$ELFOPT" record --object libmergedlo.so --runs 3 --no-pages -o lo.profile -- \
    "$lo/soffice.bin" --headless --convert-to pdf --outdir rec doc.txt >/dev/null 2>&1
  cp "$lo/libmergedlo.so" libmergedlo.orig.so
  rewrite libmergedlo.so libmergedlo.orig.so libmergedlo.new.so --profile lo.profile --object libmergedlo.so
  nodates() { python3 "$bench/pdf-nodates.py" "$1"; } # the PDF without its dates and IDs
  "$lo/soffice.bin" --headless --convert-to pdf --outdir pdf.orig doc.txt >/dev/null 2>&1
  unshare -m sh -c "mount --bind '$out/libmergedlo.new.so' '$lo/libmergedlo.so' &&
    '$lo/soffice.bin' --headless --convert-to pdf --outdir pdf.new doc.txt" >/dev/null 2>&1
  nodates pdf.orig/doc.pdf >orig.pdf; nodates pdf.new/doc.pdf >new.pdf
  row libmergedlo.so libmergedlo.orig.so "pdf $(same orig.pdf new.pdf)"
else
  rows+=("libmergedlo.so               skipped: libreoffice is not installed")
fi

# clang-19 with libLLVM and libclang-cpp.
echo "== clang-19" >&2
clang=$(readlink -f /usr/bin/clang-19)
resource=$(clang-19 -print-resource-dir)
rm -rf clang && mkdir -p clang/{orig,new}/lib && cp "$clang" clang/orig/clang && cp "$clang" clang/new/clang
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  cp "$(ldd "$clang" | awk -v l="$lib" '$1 == l {print $3}')" clang/orig/lib/
done
compile() { LD_LIBRARY_PATH=clang/$1/lib "clang/$1/clang" -resource-dir "$resource" -O2 -c unit.c -o "$2"; }
printf '#include <stdio.h>\nint main(void) { puts("x"); return 0; }\n' >unit.c
# The copies through LD_LIBRARY_PATH (elfopt, linked with libLLVM too, then
# loads the same bytes): `env` would exec, which ends a recorded run.
LD_LIBRARY_PATH=clang/orig/lib "$ELFOPT" record --runs 3 --object libLLVM --object libclang-cpp --no-pages \
  -o clang.profile -- clang/orig/clang -resource-dir "$resource" -O2 -c unit.c -o /dev/null >/dev/null 2>&1
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do
  rewrite "$lib" "clang/orig/lib/$lib" "clang/new/lib/$lib" --profile clang.profile --object "${lib%%.so*}"
done
compile orig orig.o; compile new new.o
for lib in libLLVM.so.19.1 libclang-cpp.so.19.1; do row "$lib" "clang/orig/lib/$lib" "object $(same orig.o new.o)"; done

# llvm-large: the -q path.
echo "== llvm-large" >&2
if bash "$bench/make-large-subject.sh" large >/dev/null 2>&1; then
  "$ELFOPT" record --runs 3 --no-pages -o large.profile -- large/llvm-large >/dev/null 2>&1
  rewrite llvm-large large/llvm-large large/llvm-large.new --profile large.profile
  large/llvm-large >large.orig.txt 2>&1; large/llvm-large.new >large.new.txt 2>&1
  row llvm-large large/llvm-large "output $(same large.orig.txt large.new.txt)"
else
  rows+=("llvm-large                   skipped: bench/make-large-subject.sh failed")
fi

# reltables: clang's relative lookup tables, through the -q path.
echo "== reltables" >&2
python3 - <<'PY' >reltables.c
units = 3000
print('#include <stdio.h>')
for u in range(units):
    cases = " ".join('case %d: return "s%d_%d";' % (c, u, c) for c in range(12))
    print('__attribute__((noinline)) const char *name%d(int x) { switch (x) { %s default: return "?"; } }' % (u, cases))
print('int main(void) { unsigned long h = 5381; for (int i = 0; i < 13; ++i) {')
for u in range(units):
    print('  for (const char *p = name%d((i + %d) %% 13); *p; ++p) h = h * 33 + *p;' % (u, u))
print('} printf("%lx\\n", h); return 0; }')
PY
clang-19 -O2 -fPIC -pie -Wl,--emit-relocs reltables.c -o reltables
rewrite reltables reltables reltables.new --random-order 1
./reltables >rt.orig.txt; ./reltables.new >rt.new.txt
row reltables reltables "output $(same rt.orig.txt rt.new.txt)"

# libnode: V8, whose embedded builtins (1.4 MB of code without symbols or
# FDEs) are entered at the blob's start plus offsets that V8 keeps in data.
# Debian's node 18 and the JavaScript packages it loads, unpacked here (the
# machine may have another node installed); their /usr/share/nodejs is
# bind-mounted in a private mount namespace.
echo "== libnode" >&2
rm -rf node && mkdir -p node/deb node/new
if (cd node/deb && apt-get download libnode108 >/dev/null 2>&1 &&
  apt-get download "nodejs=$(dpkg-deb -f libnode108_*.deb Version)" node-acorn node-cjs-module-lexer node-undici \
    >/dev/null 2>&1); then
  for deb in node/deb/*.deb; do dpkg-deb -x "$deb" node/root; done
  nodelib=node/root/usr/lib/x86_64-linux-gnu
  # in_node_ns COMMAND...: runs COMMAND where Debian's node finds its files.
  in_node_ns() {
    unshare -m sh -c 'mkdir -p /usr/share/nodejs && mount --bind "$0/node/root/usr/share/nodejs" /usr/share/nodejs && exec "$@"' \
      "$out" "$@"
  }
  js() { in_node_ns env LD_LIBRARY_PATH="$1" node/root/usr/bin/node "$bench/inputs/node-workload.js"; }
  in_node_ns env LD_LIBRARY_PATH=$nodelib "$ELFOPT" record --object libnode --runs 3 --no-pages -o node.profile -- \
    node/root/usr/bin/node "$bench/inputs/node-workload.js" >/dev/null 2>&1
  rewrite libnode.so.108 "$nodelib/libnode.so.108" node/new/libnode.so.108 --profile node.profile --object libnode
  js "$nodelib" >node.orig.txt 2>&1; js node/new >node.new.txt 2>&1
  # The workload's last line comes from a resolved promise: a run that
  # failed early does not count as the same.
  if grep -qx 'promise 2,4,6' node.orig.txt; then
    row libnode.so.108 "$nodelib/libnode.so.108" "JavaScript $(same node.orig.txt node.new.txt)"
  else
    row libnode.so.108 "$nodelib/libnode.so.108" "JavaScript FAILED in the original (node.orig.txt)"
  fi
else
  rows+=("libnode.so.108               skipped: apt-get download libnode108 failed")
fi

# Behaviour checks for sweep files that a few lines can drive: each prints
# what it compared and whether it was the same.
# mold_links ORIG NEW: C and C++ programs (exceptions, static too) and a
# shared library linked by each; the outputs must be byte-identical.
mold_links() {
  local d
  d=$(mktemp -d) || return
  mkdir "$d/a" "$d/b"
  cp "$1" "$d/a/mold" && cp "$2" "$d/b/mold" && ln -s mold "$d/a/ld.mold" && ln -s mold "$d/b/ld.mold"
  printf '#include <stdio.h>\nint main(void){puts("hi");return 0;}\n' >"$d/h.c"
  printf '#include <iostream>\n#include <map>\n#include <stdexcept>\nint main(){std::map<int,std::string> m{{1,"a"}};try{throw std::runtime_error("x");}catch(std::exception&e){std::cout<<e.what()<<m[1]<<"\\n";}}\n' >"$d/p.cpp"
  gcc -O2 -c "$d/h.c" -o "$d/h.o" && g++ -O2 -c "$d/p.cpp" -o "$d/p.o" || { echo "links: no compiler"; return; }
  local k same=0 total=0
  for k in a b; do
    gcc -B"$d/$k" -fuse-ld=mold "$d/h.o" -o "$d/h-$k" 2>/dev/null
    g++ -B"$d/$k" -fuse-ld=mold "$d/p.o" -o "$d/p-$k" 2>/dev/null
    g++ -B"$d/$k" -fuse-ld=mold -static "$d/p.o" -o "$d/ps-$k" 2>/dev/null
    gcc -B"$d/$k" -fuse-ld=mold -shared "$d/h.o" -o "$d/s-$k.so" 2>/dev/null
  done
  for k in h p ps s; do
    local x=$d/$k-a y=$d/$k-b
    [[ $k == s ]] && x=$d/s-a.so y=$d/s-b.so
    ((total++))
    [[ -s $x ]] && cmp -s "$x" "$y" && ((same++))
  done
  [[ $same == "$total" && $("$d/ps-b") == xa ]] && echo "links same ($same of $total)" || echo "links DIFFERENT ($same of $total)"
  rm -rf "$d"
}
# x265_encodes ORIGDIR NEWDIR: bench/inputs/x265-encode.c against each
# library, three presets; the streams must be byte-identical.
x265_encodes() {
  local prog=$out/x265-encode preset same=0
  gcc -O1 "$bench/inputs/x265-encode.c" -o "$prog" "$1"/libx265.so.* 2>/dev/null || { echo "encode: no compiler"; return; }
  for preset in ultrafast medium veryslow; do
    cmp -s <(LD_LIBRARY_PATH=$1 "$prog" $preset) <(LD_LIBRARY_PATH=$2 "$prog" $preset) && ((same++))
  done
  [[ $same == 3 ]] && echo "encodes same (3 presets)" || echo "encodes DIFFERENT ($same of 3 presets)"
}
# layer_loads ORIG NEW: bench/inputs/vulkan-layer.c loads each layer (its
# constructors), lists its properties and looks entry points up.
layer_loads() {
  local prog=$out/vulkan-layer
  gcc -O1 "$bench/inputs/vulkan-layer.c" -o "$prog" -ldl 2>/dev/null || { echo "loads: no compiler"; return; }
  local a b
  a=$("$prog" "$1" 2>&1) && b=$("$prog" "$2" 2>&1) && [[ $a == "$b" ]] && echo "loads, lists the same" ||
    echo "loads DIFFERENT"
}

# Every other ET_DYN file of 10 MB or more.
echo "== sweep" >&2
mapfile -t big < <(find /usr/bin /usr/lib -type f -size +10M 2>/dev/null | sort)
declare -A seen
for f in "${big[@]}"; do
  header=$(od -An -tx1 -N20 "$f" 2>/dev/null | tr -d ' \n')
  [[ $header == 7f454c46* && ${header:32:4} == 0300 && ${header:36:4} == 3e00 ]] || continue
  case $(basename "$f") in libxul.so | libmergedlo.so | libLLVM*.so* | libclang-cpp.so*) continue ;; esac
  name=sweep-$(basename "$f")
  # Two files of one name (Chromium's own Vulkan layer and Debian's; two
  # JDKs' libjvm.so): the second is named by its directory too.
  [[ -n ${seen[$name]:-} ]] && name=$name@$(basename "$(dirname "$f")")
  seen[$name]=1
  # Both from copies under the same name: some programs (ctest) find their
  # files relative to their own path.
  mkdir -p "sweep/$name/orig" "sweep/$name/new"
  cp "$f" "sweep/$name/orig/"
  rewrite "$name" "$f" "sweep/$name/new/$(basename "$f")" --random-order 1 --strip-debug
  behaviour=verified
  if [[ -s $name.json ]]; then
    case $(basename "$f") in
    mold) behaviour=$(mold_links "sweep/$name/orig/mold" "sweep/$name/new/mold") ;;
    libx265.so.*) behaviour=$(x265_encodes "sweep/$name/orig" "sweep/$name/new") ;;
    libVkLayer_*.so) behaviour=$(layer_loads "sweep/$name/orig/$(basename "$f")" "sweep/$name/new/$(basename "$f")") ;;
    *)
      if [[ $f == */bin/* ]]; then
        a=$(timeout 20 "sweep/$name/orig/$(basename "$f")" --version 2>&1) sa=$?
        b=$(timeout 20 "sweep/$name/new/$(basename "$f")" --version 2>&1) sb=$?
        [[ $a == "$b" && $sa == "$sb" ]] && behaviour="--version same" || behaviour="--version DIFFERENT"
      fi
      ;;
    esac
  fi
  row "$name" "$f" "$behaviour"
done

printf '%-28s %8s %7s %7s %7s %8s %8s %9s  %s\n' file size movable bounded ordered stubs time memory behaviour
printf '%s\n' "${rows[@]}"
echo "(movable: .text bytes not kept in place; bounded: movable share of the code that a symbol, an FDE or"
echo " a found function bounds; ordered: share of the ordered bytes placed in order;"
# The disk under OUTDIR: a partition's parent, or the device itself.
source_dev=$(df --output=source "$out" | tail -1)
disk=$(lsblk -no pkname "$source_dev" 2>/dev/null | head -1)
disk=${disk:-$(basename "$source_dev")}
echo " machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), read_ahead_kb of ${disk:-?}:" \
  "$(cat "/sys/block/${disk:-none}/queue/read_ahead_kb" 2>/dev/null || echo '?'))"
