#!/usr/bin/env bash
# The post-build integrations, for real: test/integration/cmake-project uses
# cmake/ElfoptOptimize.cmake, test/integration/make-project the make snippet.
# Each is built without a profile (nothing to reorder yet), recorded, built
# again with the profile (a stale one: another build, matched by name), and
# the optimized program must run as the plain one did.
source "$(dirname "$0")/lib.sh"
require cmake ninja make gcc readelf
cd "$WORK"

# CMake.
configure() { cmake -S "$SRC/test/integration/cmake-project" -B cm -G Ninja -DELFOPT_SOURCE_DIR="$SRC" \
                -DELFOPT_EXECUTABLE="$ELFOPT" "$@" >configure.log 2>&1; }
check "cmake: configure without a profile" configure
check "cmake: build" cmake --build cm
check "cmake: the program is linked with --emit-relocs" bash -c "readelf -SW cm/program | grep -q '.rela.text'"
check "cmake: the library got dynsort and hashvals" bash -c "readelf -d cm/libwork.so | grep -q 6ffffe00"
cp cm/program plain
"$ELFOPT" record -o profile.json -- ./plain >/dev/null 2>&1
check "cmake: a profile was recorded" test -s profile.json
check "cmake: configure with the profile" configure -DPROFILE="$WORK/profile.json"
rm -f cm/program
check "cmake: build runs the post-build rewrite" bash -c "cmake --build cm -v >build.log 2>&1 && grep -q 'rewrite .*program --in-place' build.log"
check "cmake: the optimized program runs as the plain one" cmp <(./plain; echo $?) <(./cm/program; echo $?)
check "cmake: verify maps it back to the plain build" \
  bash -c "'$ELFOPT' verify plain cm/program | grep -qE 'ok: [0-9]+ functions \\([1-9][0-9]* moved\\)'"

# make.
cp -r "$SRC/test/integration/make-project" mk
check "make: build without a profile" make -C mk ELFOPT="$ELFOPT" SRC="$SRC/test/inputs/rewrite/subject.c"
cp mk/program mk-plain
"$ELFOPT" record -o mk.profile.json -- ./mk-plain >/dev/null 2>&1
make -C mk clean >/dev/null
check "make: build with the profile" make -C mk ELFOPT="$ELFOPT" SRC="$SRC/test/inputs/rewrite/subject.c" \
  PROFILE="$WORK/mk.profile.json"
check "make: the optimized program runs as the plain one" cmp <(./mk-plain; echo $?) <(./mk/program; echo $?)
check "make: it was rewritten" bash -c "'$ELFOPT' verify mk-plain mk/program | grep -qE '\\([1-9][0-9]* moved\\)'"
finish
