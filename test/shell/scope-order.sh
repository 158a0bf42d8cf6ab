#!/usr/bin/env bash
# rewrite --scope-order: the program's DT_NEEDED list reordered (and
# extended) so that the loader's global scope asks the busiest libraries
# first, only where bindings, constructor/destructor order, dlsym importers'
# order and unique symbols are proved unchanged. Each rewritten program must
# print what the original prints, and the loader's own logs must agree:
# LD_DEBUG=bindings (every binding, sorted) and LD_DEBUG=files (the order of
# "calling init" and "calling fini"). Generated cases where a naive reorder
# would change a binding, the constructor order, or dlsym(RTLD_NEXT) must be
# kept as they are, with the reason; the naive reorder is built too, to show
# the check would see the change.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 python3 ld.gold mold readelf /usr/lib/llvm-19/bin/ld.lld
cd "$WORK"

# lib NAME SOURCE [LINK ARGS...]: lib$NAME.so in $WORK, found via $ORIGIN.
# Built without the toolchain's start files, it has no DT_INIT or
# DT_INIT_ARRAY: no constructor ties its place (libctor builds one with them).
lib() {
  local name=$1 src=$2
  shift 2
  printf '%s\n' "$src" >"lib$name.c"
  gcc -O1 -fPIC -shared -nostartfiles -o "lib$name.so" "lib$name.c" -Wl,-rpath,'$ORIGIN' -L. "$@"
}
libctor() {
  local name=$1 src=$2
  shift 2
  printf '%s\n' "$src" >"lib$name.c"
  gcc -O1 -fPIC -shared -o "lib$name.so" "lib$name.c" -Wl,-rpath,'$ORIGIN' -L. "$@"
}
# many PREFIX N: N functions PREFIX0..PREFIX{N-1} returning their number.
many() { for ((i = 0; i < $2; i++)); do printf 'int %s%d(void){return %d;}\n' "$1" "$i" "$i"; done; }
# calls PREFIX N: a main summing them, so each is one lookup of the program.
calls() {
  for ((i = 0; i < $2; i++)); do printf 'int %s%d(void);\n' "$1" "$i"; done
  printf 'long %s_sum(void){long s=0;\n' "$1"
  for ((i = 0; i < $2; i++)); do printf 's+=%s%d();\n' "$1" "$i"; done
  printf 'return s;}\n'
}

# loader_logs PROGRAM TAG [ARGS...]: LD_DEBUG=bindings,files of one start,
# as TAG.bindings (sorted, program named PROGRAM), TAG.initfini (in order)
# and TAG.calls: the "calling init/fini" lines of objects that have
# constructors (DT_INIT, DT_INIT_ARRAY) or destructors (DT_FINI,
# DT_FINI_ARRAY). glibc logs "calling init" for every object, but runs
# nothing for one that has none: only these orders are behaviour. When
# INERT_FROM names a rewrite's --json, the objects whose constructors (or
# destructors) it proved to do nothing another object sees are left out too.
INERT_FROM=
loader_logs() {
  local prog=$1 tag=$2
  shift 2
  rm -f "$WORK"/ld.*
  LD_BIND_NOW=1 LD_DEBUG=bindings,files LD_DEBUG_OUTPUT="$WORK/ld" "$prog" "$@" </dev/null >"$tag.out" 2>&1
  cat "$WORK"/ld.* | sed -E 's/^ *[0-9]+:\s*//' >"$tag.log"
  grep -o 'binding file .*' "$tag.log" | sed -E "s/\[[0-9]+\]//g; s#$prog#PROGRAM#g" | sort >"$tag.bindings"
  grep -E 'calling (init|fini)' "$tag.log" | sed -E "s#$prog#PROGRAM#g; s/ *\[[0-9]+\]\$//; s/: *\$/: PROGRAM/" >"$tag.initfini"
  : >"$tag.inert"
  [[ -n $INERT_FROM ]] && python3 - "$INERT_FROM" >"$tag.inert" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1]))["scopeOrder"]["constructorEffects"]:
    for kind, field in (("init:", "constructors"), ("fini:", "destructors")):
        if e.get(field) == "inert":
            print(kind, e["library"])
PY
  local kind path
  while read -r _ kind path; do
    [[ $path == PROGRAM ]] && { echo "$kind $path"; continue; }
    grep -Fxq "$kind ${path##*/}" "$tag.inert" && continue
    if [[ $kind == init: ]]; then
      readelf -d "$path" | grep -qE '\((INIT|INIT_ARRAY)\)' && echo "$kind $path"
    else
      readelf -d "$path" | grep -qE '\((FINI|FINI_ARRAY)\)' && echo "$kind $path"
    fi
  done <"$tag.initfini" >"$tag.calls"
}

# same_start ORIGINAL REWRITTEN WHAT: output and both loader logs identical.
same_start() {
  loader_logs "$1" a
  loader_logs "$2" b
  check "$3: output as the original's" cmp -s a.out b.out
  check "$3: LD_DEBUG=bindings identical" cmp -s a.bindings b.bindings
  check "$3: constructors and destructors called in the same order (LD_DEBUG=files)" cmp -s a.calls b.calls
  check "$3: the loader logged bindings and constructors" test -s a.bindings -a -s a.calls
}

scope_json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1]))['scopeOrder']; print(eval(sys.argv[2]))" "$@"; }

# --- A gain, proved: libheavy answers the lookups of libuser but is found
# after it; the program names it now (an added entry), and libright, which
# the program calls most, moves before libleft. Constructors in libuser and
# libleft/libright keep their order.
many heavy 300 >heavy.c
lib heavy "$(cat heavy.c)"
libctor user "$(calls heavy 300)
#include <stdio.h>
__attribute__((constructor)) static void hello(void) { printf(\"user init %ld\\n\", heavy_sum()); }" -lheavy
lib left "int left_value(void){return 1;}"
lib right "$(many right 150)"
cat >gain.c <<EOF
#include <stdio.h>
$(calls right 150)
int left_value(void);
int main(void){ printf("%ld %d\n", right_sum(), left_value()); return 0; }
EOF
gcc -O1 -o gain gain.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lleft -luser -lright
"$ELFOPT" rewrite "$WORK/gain" --scope-order -o "$WORK/gain.new" --json >gain.json
check "gain: the scope changed" test "$(scope_json gain.json "d['changed']")" = True
check "gain: an entry was added for libheavy" test "$(scope_json gain.json "int(d['addedEntries'] >= 1 and 'libheavy.so' in d['neededAfter'] and 'libheavy.so' not in d['neededBefore'])")" = 1
check "gain: the walk is shorter" test "$(scope_json gain.json "int(d['probesAfter'] < d['probesBefore'])")" = 1
check "gain: libright before libleft" test "$(scope_json gain.json "int(d['scopeAfter'].index('libright.so') < d['scopeAfter'].index('libleft.so'))")" = 1
INERT_FROM=gain.json same_start "$WORK/gain" "$WORK/gain.new" gain
# The modelled _dl_sort_maps order is the loader's, before and after (the
# proof rests on it).
check_init_model() { # JSON WHAT
  check "$2: init order modelled as the loader visits it" python3 - "$1" a.initfini b.initfini <<'PY'
import json, os, sys
d = json.load(open(sys.argv[1]))["scopeOrder"]
for key, log in (("initOrderBefore", sys.argv[2]), ("initOrderAfter", sys.argv[3])):
    called = [l.split("calling init: ")[1].strip() for l in open(log) if "calling init:" in l]
    # the model names objects by soname, the loader by path (a symlink)
    called = [os.path.basename(c) for c in called if c != "PROGRAM"]
    # the start's first; later ones are dlopen's (gdb's gconv modules)
    assert called[:len(d[key])] == d[key], (key, called, d[key])
PY
}
check_init_model gain.json gain
check "gain: the loader's scope is the planned one" python3 - gain.json b.log <<'PY'
import json, re, sys
plan = [n for n in json.load(open(sys.argv[1]))["scopeOrder"]["scopeAfter"][1:] if not n.startswith("ld-linux")]
log = open(sys.argv[2]).read()
# The order the loader mapped the libraries in is the scope's (ld.so itself
# is mapped already).
loaded = [m.group(1).split("/")[-1] for m in re.finditer(r"file=(\S+) \[0\];  generating link map", log)]
assert loaded == plan, (loaded, plan)
PY
check "gain: elfopt verify agrees" "$ELFOPT" verify "$WORK/gain" "$WORK/gain.new"
# Deterministic: the same input gives the same bytes.
"$ELFOPT" rewrite "$WORK/gain" --scope-order -o "$WORK/gain.again" >/dev/null
check "gain: byte-identical on a second run" cmp -s gain.new gain.again

# --- --hashvals and --scope-order want the same spare .dynamic slots: the
# scope order's new entries get them first (no shipping loader reads the
# hashes). libselfy's program: the scope order names ld.so (libc's lookups),
# one entry. selfy1 is selfy with all its spare slots but one taken by a tag
# glibc ignores.
lib selfy "int sa(void){return 1;} int sb(void){return sa()+1;}"
cat >selfy.c <<EOF
int sb(void);
int main(void){ return sb() != 2; }
EOF
gcc -O1 -o selfy selfy.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lselfy
cp selfy selfy1
while "$ELFOPT" edit "$WORK/selfy1" -o "$WORK/selfy1.more" --add-dynamic 0x6ffffe01=0 >/dev/null 2>&1 &&
  "$ELFOPT" edit "$WORK/selfy1.more" -o "$WORK/selfy1.probe" --add-dynamic 0x6ffffe01=0 >/dev/null 2>&1; do
  mv selfy1.more selfy1
done
"$ELFOPT" rewrite "$WORK/selfy" --scope-order --hashvals -o "$WORK/selfy.a" --json >selfy-a.json
"$ELFOPT" rewrite "$WORK/selfy1" --scope-order --hashvals -o "$WORK/selfy1.a" --json >selfy1-a.json
check "selfy: slots to spare, so both the new entry and --hashvals" python3 -c "import json,sys; d=json.load(open('selfy-a.json'))
sys.exit(not (d['hashvals'] is True and d['scopeOrder']['addedEntries'] == 1))"
check "selfy1: its one slot went to the new entry" test "$(scope_json selfy1-a.json "d['addedEntries']")" = 1
check "selfy1: --hashvals left out, and why" python3 -c "import json,sys; d=json.load(open('selfy1-a.json'))
sys.exit(not (d['hashvals'] is False and 'spare .dynamic slots (1) go to --scope-order' in d['hashvalsLeftOut']))"
check "selfy1: runs as the original" "$WORK/selfy1.a"

# --- With --bind-self, the walk the order is planned for leaves out the
# lookups an object answers itself (libselfy's call of its own sa, and
# libc's own).
"$ELFOPT" rewrite "$WORK/selfy" --scope-order --bind-self "$WORK/selfy" -o "$WORK/selfy.b" --json >selfy-b.json
check "selfy: without --bind-self, every lookup counts" test "$(scope_json selfy-a.json "d['lookupsBoundBySelf']")" = 0
check "selfy: with it, the objects' own are left out of the walk" python3 -c "import json,sys
a=json.load(open('selfy-a.json'))['scopeOrder']; b=json.load(open('selfy-b.json'))['scopeOrder']
sys.exit(not (b['lookupsBoundBySelf'] >= 1 and b['lookups'] + b['lookupsBoundBySelf'] == a['lookups']))"

# The same program from gold, mold and lld. lld leaves no spare .dynamic
# slot: the permutation stays, the added entry is refused with its reason.
for linker in gold mold lld; do
  cc=(gcc -fuse-ld=$linker)
  [[ $linker == lld ]] && cc=(clang-19 --ld-path=/usr/lib/llvm-19/bin/ld.lld)
  "${cc[@]}" -O1 -o gain-$linker gain.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lleft -luser -lright ||
    { fail "$linker: cannot link"; continue; }
  "$ELFOPT" rewrite "$WORK/gain-$linker" --scope-order -o "$WORK/gain-$linker.new" --json >$linker.json
  check "$linker: libright moved" test "$(scope_json $linker.json "d['changed']")" = True
  if [[ $linker == lld ]]; then
    check "lld: no entry added" test "$(scope_json lld.json "d['addedEntries']")" = 0
    check "lld: libheavy refused for want of a slot" test "$(scope_json lld.json "[r['reason'] for r in d['refused'] if r['library']=='libheavy.so'][0]")" = "no spare .dynamic slot for a new DT_NEEDED entry"
  else
    check "$linker: libheavy added" test "$(scope_json $linker.json "int('libheavy.so' in d['neededAfter'])")" = 1
  fi
  INERT_FROM=$linker.json same_start "$WORK/gain-$linker" "$WORK/gain-$linker.new" $linker
  check "$linker: elfopt verify agrees" "$ELFOPT" verify "$WORK/gain-$linker" "$WORK/gain-$linker.new"
done

# refused NAME LIBRARY OTHER REASON-PREFIX: the case's library kept back
# behind OTHER, for that reason, and the output runs as the original.
refused() {
  local name=$1 library=$2 other=$3 prefix=$4
  "$ELFOPT" rewrite "$WORK/$name" --scope-order -o "$WORK/$name.new" --json >"$name.json"
  check "$name: $library still after $other" test "$(scope_json "$name.json" "int(d['scopeAfter'].index('$other') < d['scopeAfter'].index('$library'))")" = 1
  local why
  why=$(scope_json "$name.json" "[r['reason'] for r in d['refused'] if r['library']=='$library'][0]")
  check "$name: $library kept back for its $prefix (said: $why)" test "${why#"$prefix"}" != "$why"
  "$ELFOPT" rewrite "$WORK/$name" --scope-order -o "$WORK/$name.new" | grep -q "$library: $prefix"
  check "$name: the text report says why" test $? = 0
  INERT_FROM=$name.json same_start "$WORK/$name" "$WORK/$name.new" "$name"
}

# --- A binding a reorder would change: dup_value is defined by libfirst and
# libsecond; the program calls 150 functions of libsecond.
lib first "int dup_value(void){return 1;}"
lib second "int dup_value(void){return 2;}
$(many second 150)"
cat >binding.c <<EOF
#include <stdio.h>
$(calls second 150)
int dup_value(void);
int main(void){ printf("%ld %d\n", second_sum(), dup_value()); return 0; }
EOF
gcc -O1 -o binding binding.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lfirst -lsecond
gcc -O1 -o binding-naive binding.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lsecond -lfirst
refused binding libsecond.so libfirst.so "binding: dup_value"
loader_logs "$WORK/binding" a
loader_logs "$WORK/binding-naive" b
check "binding: the naive reorder does change the binding (the check can see it)" \
  bash -c '! cmp -s a.bindings b.bindings && ! cmp -s a.out b.out'

# --- Constructor order a reorder would change: libc1 and libc2 are
# independent and both have constructors.
libctor c1 "#include <stdio.h>
__attribute__((constructor)) static void init(void){ puts(\"c1 init\"); }
__attribute__((destructor)) static void fini(void){ puts(\"c1 fini\"); }"
libctor c2 "#include <stdio.h>
__attribute__((constructor)) static void init(void){ puts(\"c2 init\"); }
__attribute__((destructor)) static void fini(void){ puts(\"c2 fini\"); }
$(many ctwo 150)"
cat >ctor.c <<EOF
#include <stdio.h>
$(calls ctwo 150)
int main(void){ printf("%ld\n", ctwo_sum()); return 0; }
EOF
gcc -O1 -o ctor ctor.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lc1 -lc2
gcc -O1 -o ctor-naive ctor.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lc2 -lc1
refused ctor libc2.so libc1.so "constructor order"
loader_logs "$WORK/ctor" a
loader_logs "$WORK/ctor-naive" b
check "ctor: the naive reorder does change the constructor order" bash -c '! cmp -s a.initfini b.initfini'
# The same swap made in the file (the first two DT_NEEDED values exchanged):
# elfopt verify must refuse it, naming the constructor order.
python3 - ctor ctor.swapped <<'PY'
import struct, sys
b = bytearray(open(sys.argv[1], "rb").read())
phoff, = struct.unpack_from("<Q", b, 0x20)
phentsize, phnum = struct.unpack_from("<HH", b, 0x36)
for i in range(phnum):
    p_type, _, p_offset = struct.unpack_from("<IIQ", b, phoff + i * phentsize)
    if p_type == 2:  # PT_DYNAMIC
        needed = []
        off = p_offset
        while True:
            tag, val = struct.unpack_from("<qQ", b, off)
            if tag == 0:
                break
            if tag == 1:
                needed.append(off)
            off += 16
        a, c = needed[0], needed[1]
        va, vc = b[a + 8:a + 16], b[c + 8:c + 16]
        b[a + 8:a + 16], b[c + 8:c + 16] = vc, va
open(sys.argv[2], "wb").write(b)
PY
chmod +x ctor.swapped
"$ELFOPT" verify "$WORK/ctor" "$WORK/ctor.swapped" >verify.out
check "ctor: verify refuses a swap that changes the constructor order (exit 2)" test $? = 2
check "ctor: verify says why" grep -q "constructor order: libc1.so before libc2.so (was libc2.so first)" verify.out

# --- dlsym(RTLD_NEXT): libwrap1 and libwrap2 both look the next definition
# up; their order decides which wraps which.
lib base "int wrapped(void){return 1;}"
lib wrap1 "#define _GNU_SOURCE
#include <dlfcn.h>
int wrapped(void){ int (*next)(void) = (int (*)(void))dlsym(RTLD_NEXT, \"wrapped\"); return 10 + next(); }" -ldl
lib wrap2 "#define _GNU_SOURCE
#include <dlfcn.h>
int wrap2_only(void){ int (*next)(void) = (int (*)(void))dlsym(RTLD_NEXT, \"wrapped\"); return next ? 1 : 0; }
$(many wtwo 150)" -ldl
cat >next.c <<EOF
#include <stdio.h>
$(calls wtwo 150)
int wrapped(void);
int wrap2_only(void);
int main(void){ printf("%ld %d %d\n", wtwo_sum(), wrapped(), wrap2_only()); return 0; }
EOF
gcc -O1 -o next next.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lwrap1 -lwrap2 -lbase
refused next libwrap2.so libwrap1.so "dlsym(RTLD_NEXT) order"

# --- With a code order and the prefetch stub in the same rewrite: the three
# passes compose, and verify checks them together. --prefetch-gap 0 keeps
# every range: the default plan rightly leaves a start this small out.
"$ELFOPT" rewrite "$WORK/gain" --random-order 1 --scope-order --prefetch --prefetch-gap 0 -o "$WORK/gain.all" --json >gain-all.json
check "order+prefetch: the scope changed" test "$(scope_json gain-all.json "d['changed']")" = True
INERT_FROM=gain-all.json same_start "$WORK/gain" "$WORK/gain.all" "order+prefetch"
check "order+prefetch: elfopt verify agrees" "$ELFOPT" verify "$WORK/gain" "$WORK/gain.all"
check "order+prefetch: the stub runs first (e_entry moved)" test "$(readelf -h gain.all | grep Entry)" != "$(readelf -h gain | grep Entry)"
# An added name is in the table tools read as .dynstr, and strip keeps it.
check "readelf names the added DT_NEEDED entry" grep -q 'Shared library: \[libheavy.so\]' <(readelf -d gain.new)
strip -o gain.stripped gain.new
check "strip keeps the rewritten program running" cmp -s <(./gain.stripped) <(./gain)

# --- A plugin (--also): the program dlopens libplug.so, which calls
# dup2_value; libpa and libpb both define it, libpa first. Only the
# plugin's lookup shows that moving libpb (which the program calls most)
# forward would change a binding, so only with --also is libpb kept back.
lib pa "int dup2_value(void){return 1;}"
lib pb "int dup2_value(void){return 2;}
$(many pb 150)"
lib plug "int dup2_value(void); int plug_value(void){return dup2_value();}"
cat >plugin.c <<EOF
#include <dlfcn.h>
#include <stdio.h>
$(calls pb 150)
int main(void){
  void *h = dlopen("libplug.so", RTLD_NOW);
  int (*f)(void) = h ? (int (*)(void))dlsym(h, "plug_value") : 0;
  printf("%ld %d\n", pb_sum(), f ? f() : -1);
  return 0;
}
EOF
gcc -O1 -o plugin plugin.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lpa -lpb -ldl
check "plugin: the original runs the plugin" test "$(./plugin | cut -d' ' -f2)" = 1
"$ELFOPT" rewrite "$WORK/plugin" --scope-order -o "$WORK/plugin.blind" >plugin-blind.txt
check "plugin: without --also, the report says dlopen is outside the proof" grep -q "outside the proof: libraries the program opens with dlopen" plugin-blind.txt
"$ELFOPT" rewrite "$WORK/plugin" --scope-order --also "$WORK/libplug.so" -o "$WORK/plugin.new" --json >plugin.json
check "plugin: --also puts the plugin in the proof" test "$(scope_json plugin.json "d['dlopenedInProof'] == ['$WORK/libplug.so']")" = True
check "plugin: libpb kept behind libpa for the plugin's binding" test "$(scope_json plugin.json "[r['reason'] for r in d['refused'] if r['library']=='libpb.so'][0].split(' (')[0]")" = "binding: dup2_value"
check "plugin: output as the original's" cmp -s <(./plugin) <(./plugin.new)

# --- Start files only: libsfleft and libsfright are built with the
# toolchain's start files (crti's _init, frame_dummy, __do_global_dtors_aux)
# and nothing of their own. Those run but do nothing another object sees,
# so elfopt proves them inert and libsfright, which the program calls most,
# may move before libsfleft: the loader's init order changes, the output
# and every binding do not.
libctor sfleft "int sf_left(void){return 1;}"
# libsfright keeps its static relocations (--emit-relocs): only the
# loader's, the allocated ones, say what its words hold at run time.
libctor sfright "$(many sfright 150)" -Wl,--emit-relocs
cat >startfiles.c <<EOF
#include <stdio.h>
$(calls sfright 150)
int sf_left(void);
int main(void){ printf("%ld %d\n", sfright_sum(), sf_left()); return 0; }
EOF
gcc -O1 -o startfiles startfiles.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -lsfleft -lsfright
"$ELFOPT" rewrite "$WORK/startfiles" --scope-order -o "$WORK/startfiles.new" --json >startfiles.json
check "startfiles: both libraries' start files proved inert" test "$(scope_json startfiles.json \
  "sum(e.get('constructors') == 'inert' and e.get('destructors') == 'inert' for e in d['constructorEffects'] if e['library'] in ('libsfleft.so', 'libsfright.so'))")" = 2
check "startfiles: libsfright moved before libsfleft" test "$(scope_json startfiles.json "int(d['scopeAfter'].index('libsfright.so') < d['scopeAfter'].index('libsfleft.so'))")" = 1
INERT_FROM=startfiles.json same_start "$WORK/startfiles" "$WORK/startfiles.new" startfiles
check "startfiles: the loader does call their start files in another order" bash -c '! cmp -s a.initfini b.initfini'
check "startfiles: elfopt verify agrees" "$ELFOPT" verify "$WORK/startfiles" "$WORK/startfiles.new"

# --- Start files whose destructor reads a word other code names: libdsleft
# takes the address of __dso_handle, which __do_global_dtors_aux reads to
# call __cxa_finalize. Its destructors are not proved; its constructors
# (frame_dummy, which relies on no such word) still are.
libctor dsleft "extern void *__dso_handle; void *ds_left(void){ return &__dso_handle; }"
cat >dsohandle.c <<EOF
void *ds_left(void);
int main(void){ return ds_left() == 0; }
EOF
gcc -O1 -o dsohandle dsohandle.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -ldsleft
"$ELFOPT" rewrite "$WORK/dsohandle" --scope-order -o "$WORK/dsohandle.new" --json >dsohandle.json
check "dsohandle: libdsleft's constructors proved inert" test "$(scope_json dsohandle.json \
  "[e['constructors'] for e in d['constructorEffects'] if e['library'] == 'libdsleft.so'][0]")" = inert
dtors=$(scope_json dsohandle.json "[e['destructors'] for e in d['constructorEffects'] if e['library'] == 'libdsleft.so'][0]")
check "dsohandle: its destructors are not, for the other code that names the word" \
  grep -q "is also used by other code of the object" <<<"$dtors"

# --- The same, but both libraries register an exit handler (atexit, which
# calls __cxa_atexit): their __do_global_dtors_aux calls __cxa_finalize,
# which then runs it. Not inert: libaeright stays behind libaeleft.
libctor aeleft "#include <stdio.h>
#include <stdlib.h>
static void bye(void){ puts(\"aeleft bye\"); }
int ae_left(void){ atexit(bye); return 1; }"
libctor aeright "#include <stdio.h>
#include <stdlib.h>
static void bye(void){ puts(\"aeright bye\"); }
int ae_right(void){ atexit(bye); return 2; }
$(many aeright 150)"
cat >atexit.c <<EOF
#include <stdio.h>
$(calls aeright 150)
int ae_left(void);
int ae_right(void);
int main(void){ printf("%ld %d %d\n", aeright_sum(), ae_left(), ae_right()); return 0; }
EOF
gcc -O1 -o atexit atexit.c -Wl,-rpath,'$ORIGIN' -L. -Wl,--no-as-needed -laeleft -laeright
refused atexit libaeright.so libaeleft.so "destructor order"
check "atexit: libaeright's destructors are not inert, for its exit handler" test "$(scope_json atexit.json \
  "[e['destructors'] for e in d['constructorEffects'] if e['library'] == 'libaeright.so'][0].split(' at ')[0]")" = \
  "a call to __cxa_finalize by an object that registers exit or fork handlers"

# --- A real program: Debian's gdb loads 59 libraries.
if [[ -x /usr/bin/gdb ]]; then
  "$ELFOPT" rewrite /usr/bin/gdb --scope-order -o "$WORK/gdb" --json >gdb.json
  check "gdb: elfopt verify agrees" "$ELFOPT" verify /usr/bin/gdb "$WORK/gdb"
  check "gdb: the walk is not longer" test "$(scope_json gdb.json "int(d['probesAfter'] <= d['probesBefore'])")" = 1
  INERT_FROM=gdb.json loader_logs /usr/bin/gdb a --version
  INERT_FROM=gdb.json loader_logs "$WORK/gdb" b --version
  check "gdb: output as the original's" cmp -s a.out b.out
  check "gdb: LD_DEBUG=bindings identical" cmp -s a.bindings b.bindings
  check "gdb: constructors and destructors called in the same order (LD_DEBUG=files)" cmp -s a.calls b.calls
  check_init_model gdb.json gdb
fi

# --- Bad input: one line naming the file and the problem, nothing written.
printf 'int main(void){return 0;}\n' | gcc -static -x c -o static -
expect_error 2 "elfopt: error: static: statically linked: no DT_NEEDED list, no scope to order (--scope-order)" \
  "$ELFOPT" rewrite static --scope-order -o static.new
check "static: nothing written" test ! -e static.new
expect_error 2 "elfopt: error: libheavy.so: not a program (no PT_INTERP): the global scope is the program's; give --scope-order the program that loads this library" \
  "$ELFOPT" rewrite libheavy.so --scope-order -o lib.new
mkdir -p moved
cp gain moved/
expect_error 2 "elfopt: error: moved/gain: cannot find libleft.so (needed at startup) on the loader's search path; the scope cannot be proved" \
  "$ELFOPT" rewrite moved/gain --scope-order -o moved/gain.new
check "missing library: nothing written" test ! -e moved/gain.new

finish
