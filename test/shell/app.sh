#!/usr/bin/env bash
# elfopt app: a whole application rewritten for one start into a directory
# of its own, from profiles of record --all-objects.
#   1. record --all-objects finds the program's libraries and a plugin it
#      opens with dlopen, not ld.so.
#   2. app rewrites the program, its library and the plugin into the output
#      (files of their own; the rest of the application directory is hard
#      links to the installed files), leaves libc alone, and the result runs with the
#      original's output while the installed files are unchanged.
#   3. --system-libraries: libc and the others too, through a launcher.
#   4. An existing output directory is refused; nothing is written.
source "$(dirname "$0")/lib.sh"
require gcc python3 readelf
cd "$WORK"
inputs=$SRC/test/inputs/app

mkdir -p installed/bin installed/lib installed/share
gcc -O2 -fPIC -shared "$inputs/core.c" -o installed/lib/libcore.so
gcc -O2 -fPIC -shared "$inputs/plugin.c" -o installed/lib/plugin.so
gcc -O2 -fPIE -pie "$inputs/main.c" -Linstalled/lib -lcore -Wl,-rpath,'$ORIGIN/../lib' -o installed/bin/app
echo data >installed/share/data.txt
want=$(./installed/bin/app)
sums=$(find installed -type f -exec md5sum {} + | sort)

# 1.
"$ELFOPT" record --all-objects --runs 2 -o app.profile.json -- ./installed/bin/app >/dev/null 2>record.err
objects=$(python3 -c 'import json,sys; print(" ".join(o["name"] for o in json.load(open(sys.argv[1]))["objects"]))' app.profile.json)
check "record --all-objects: the library" grep -q "lib/libcore.so" <<<"$objects"
check "record --all-objects: the plugin opened by dlopen" grep -q "lib/plugin.so" <<<"$objects"
check "record --all-objects: libc" grep -q "libc.so.6" <<<"$objects"
check "record --all-objects: not ld.so" bash -c "! grep -q ld-linux <<<'$objects'"

# 2.
if "$ELFOPT" app installed/bin/app --profile app.profile.json --json -o out >app.json 2>app.err; then pass; else
  fail "app refused: $(cat app.err)"
fi
action() { python3 -c 'import json,sys; print([o["action"] for o in json.load(open(sys.argv[1]))["objects"] if o["path"].endswith(sys.argv[2])][0])' app.json "$1"; }
for object in bin/app lib/libcore.so lib/plugin.so; do
  check "app: $object rewritten ($(action $object))" test "$(action $object)" == rewritten
  check "app: $object is a file of its own" test -f out/$object -a ! -L out/$object
  check "app: $object has DT_RELR" bash -c "readelf -d out/$object | grep -q '(RELR)'"
done
check "app: other files are hard links to the installed ones" test out/share/data.txt -ef installed/share/data.txt
check "app: libc is left as installed" python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not any("libc.so.6" in p for p in d["systemObjectsLeft"]))' app.json
check "app: the rewritten application gives the same output" test "$(./out/bin/app)" == "$want"
check "app: it loads its own copies" bash -c "LD_DEBUG=libs ./out/bin/app 2>&1 | grep -q 'calling init: $PWD/out/bin/../lib/libcore.so'"
check "app: the installed files are unchanged" test "$(find installed -type f -exec md5sum {} + | sort)" == "$sums"

# 3.
if "$ELFOPT" app installed/bin/app --profile app.profile.json --system-libraries -o out-system >system.log 2>&1; then
  pass
  check "--system-libraries: libc rewritten" test -f out-system/elfopt-system-libraries/libc.so.6
  check "--system-libraries: the launcher gives the same output" test "$(./out-system/elfopt-run)" == "$want"
  check "--system-libraries: the launcher loads the rewritten libc" \
    bash -c "LD_DEBUG=files ./out-system/elfopt-run 2>&1 | grep -q 'out-system/elfopt-system-libraries/libc.so.6'"
else
  fail "app --system-libraries refused: $(cat system.log)"
fi

# 6. --bind-self: the application's library bound to itself, the plugin
#    (opened with dlopen) and libc (a system library: its copy is reached
#    through LD_LIBRARY_PATH, which children inherit) left symbolic, said.
if "$ELFOPT" app installed/bin/app --profile app.profile.json --system-libraries --bind-self --json -o out-bound \
  >bound.json 2>bound.err; then
  pass
  bound() { python3 -c 'import json,sys; o=[o for o in json.load(open("bound.json"))["objects"] if o["path"].endswith(sys.argv[1])][0]; print(o["bindSelf"][sys.argv[2]])' "$@"; }
  check "--bind-self: libcore's call of core_twice bound ($(bound lib/libcore.so relocations) relocations)" \
    test "$(bound lib/libcore.so relocations)" -ge 1
  check "--bind-self: the plugin is not loaded at the start: not bound, said" \
    grep -q "not loaded at the start" <<<"$(bound lib/plugin.so notBound)"
  check "--bind-self: libc, a system library, not bound, said" \
    grep -q "LD_LIBRARY_PATH" <<<"$(bound libc.so.6 notBound)"
  check "--bind-self: the same output" test "$(./out-bound/elfopt-run)" == "$want"
  check "--bind-self: libcore's copy of core_twice is hidden" \
    bash -c "readelf -W --dyn-syms out-bound/lib/libcore.so | grep ' HIDDEN ' | grep -q core_twice"
else
  fail "app --bind-self refused: $(cat bound.err)"
fi

# 5. A library the application loads from its own lib/ through a link to a
#    file outside it (clang's lib/libLLVM.so.19.1 -> /usr/lib/x86_64-linux-gnu):
#    rewritten where the loader found it; a relative link that leads out of
#    the application still leads to the same file in the mirror.
mkdir -p shared linked/bin linked/lib
gcc -O2 -fPIC -shared "$inputs/core.c" -o shared/libcore.so.1
ln -s ../../shared/libcore.so.1 linked/lib/libcore.so
ln -s ../../shared/libcore.so.1 linked/lib/libcore-alias.so
cp installed/lib/plugin.so linked/lib/
gcc -O2 -fPIE -pie "$inputs/main.c" -Llinked/lib -lcore -Wl,-rpath,'$ORIGIN/../lib' -o linked/bin/app
shared_sum=$(md5sum <shared/libcore.so.1)
"$ELFOPT" record --all-objects -o linked.profile.json -- ./linked/bin/app >/dev/null 2>&1
if "$ELFOPT" app linked/bin/app --profile linked.profile.json -o out-linked >linked.log 2>&1; then
  pass
  check "linked library: rewritten in the application's lib/" test -f out-linked/lib/libcore.so -a ! -L out-linked/lib/libcore.so
  check "linked library: the other link still leads to the installed file" \
    test "$(readlink out-linked/lib/libcore-alias.so)" == "$PWD/shared/libcore.so.1"
  check "linked library: same output" test "$(./out-linked/bin/app)" == "$want"
  check "linked library: the shared file is unchanged" test "$(md5sum <shared/libcore.so.1)" == "$shared_sum"
else
  fail "app of a linked library refused: $(cat linked.log)"
fi

# 4.
expect_error 1 "elfopt: error: $PWD/out: exists already; give a directory that does not" \
  "$ELFOPT" app installed/bin/app --profile app.profile.json -o out
check "nothing partial left" test ! -e out.partial
expect_error 1 "elfopt: error: --prefetch-device goes with --prefetch (see 'elfopt help app')" \
  "$ELFOPT" app installed/bin/app --profile app.profile.json --prefetch-device hdd -o out-p
expect_error 1 "elfopt: error: --prefetch-device is hdd, emmc, ssd or nvme, not 'floppy' (see 'elfopt help app')" \
  "$ELFOPT" app installed/bin/app --profile app.profile.json --prefetch --prefetch-device floppy -o out-p
# A named device class plans each object's prefetch for it alone.
if "$ELFOPT" app installed/bin/app --profile app.profile.json --prefetch --prefetch-device hdd -o out-hdd \
  >hdd.log 2>&1; then
  check "--prefetch-device hdd: same output" test "$(./out-hdd/bin/app)" == "$want"
else
  fail "app --prefetch --prefetch-device hdd refused: $(cat hdd.log)"
fi
finish
