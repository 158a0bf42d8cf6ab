#!/usr/bin/env bash
# elfopt installed: `cmake --install` into a prefix that is then moved (the
# package must not depend on where it was installed), the installed files,
# test/integration/cmake-project built against it through find_package(elfopt)
# and optimized by the installed binary, the man page rendered. With CI=true or
# ELFOPT_TEST_DEB=1 also the Debian package: cpack -G DEB, its Depends,
# Maintainer, copyright file and compressed man page, dpkg -i,
# elfopt and its man page from /usr, find_package from /usr, dpkg -r. The build
# directory comes from ELFOPT_BUILD_DIR (set by test/CMakeLists.txt).
source "$(dirname "$0")/lib.sh"
require cmake ninja gcc readelf man
BUILD=${ELFOPT_BUILD_DIR:-$(cd "$(dirname "$ELFOPT")/../.." && pwd)}
cd "$WORK"

check "cmake --install into a prefix" bash -c "cmake --install '$BUILD' --prefix '$WORK/stage' >install.log 2>&1"
mv stage prefix
prefix=$WORK/prefix
for f in bin/elfopt lib/cmake/elfopt/elfoptConfig.cmake lib/cmake/elfopt/elfoptConfigVersion.cmake \
  lib/cmake/elfopt/ElfoptOptimize.cmake share/doc/elfopt/profile-format.md share/doc/elfopt/copyright \
  share/man/man1/elfopt.1.gz; do
  check "installed $f" test -f "$prefix/$f"
done
check "the installed elfopt runs: $("$prefix/bin/elfopt" --version 2>&1)" \
  bash -c "[[ \$('$prefix/bin/elfopt' --version) == \$('$ELFOPT' --version) ]]"
check "the CMake package names neither the build nor the staging directory" \
  bash -c "! grep -rqe '$BUILD' -e '$WORK/stage' '$prefix/lib/cmake/elfopt'"

# find_package's version check (SameMinorVersion), in script mode.
version=$("$ELFOPT" --version | cut -d' ' -f2)
cat >find.cmake <<'EOF'
find_package(elfopt ${VERSION} QUIET)
message("found=${elfopt_FOUND} exe=${ELFOPT_EXECUTABLE}")
EOF
find_version() { cmake -DCMAKE_PREFIX_PATH="$prefix" -DVERSION="$1" -P find.cmake 2>&1; }
check "find_package(elfopt $version) finds it, ELFOPT_EXECUTABLE the installed binary" \
  test "$(find_version "$version")" == "found=1 exe=$prefix/bin/elfopt"
check "find_package(elfopt 99) does not" test "$(find_version 99 | head -1)" == "found=0 exe="

# The CMake integration against the installed package: no ELFOPT_SOURCE_DIR,
# no ELFOPT_EXECUTABLE; find_package provides the module and the binary.
configure() { cmake -S "$SRC/test/integration/cmake-project" -B cm -G Ninja -DCMAKE_PREFIX_PATH="$prefix" "$@" \
                >configure.log 2>&1; }
check "cmake: configure with find_package(elfopt)" configure
check "cmake: ELFOPT_EXECUTABLE is the installed elfopt" \
  grep -qx "ELFOPT_EXECUTABLE:FILEPATH=$prefix/bin/elfopt" cm/CMakeCache.txt
check "cmake: build" bash -c "cmake --build cm >build.log 2>&1"
check "cmake: the library got dynsort and hashvals" bash -c "readelf -d cm/libwork.so | grep -q 6ffffe00"
cp cm/program plain
"$prefix/bin/elfopt" record -o profile.json -- ./plain >/dev/null 2>&1
check "cmake: a profile was recorded" test -s profile.json
check "cmake: configure with the profile" configure -DPROFILE="$WORK/profile.json"
rm -f cm/program
check "cmake: the build rewrites the program with the installed elfopt" \
  bash -c "cmake --build cm -v >build.log 2>&1 && grep -q '$prefix/bin/elfopt rewrite .*program --in-place' build.log"
check "cmake: the optimized program runs as the plain one" cmp <(./plain; echo $?) <(./cm/program; echo $?)
check "cmake: verify maps it back to the plain build" \
  bash -c "'$ELFOPT' verify plain cm/program | grep -qE 'ok: [0-9]+ functions \\([1-9][0-9]* moved\\)'"

# The man page renders without warnings and holds each command's usage.
MANWIDTH=80 man --warnings -l "$prefix/share/man/man1/elfopt.1.gz" >man.txt 2>man.err
check "man renders elfopt.1.gz without warnings" bash -c "[[ -s man.txt && ! -s man.err ]] || cat man.err >&2"
check "elfopt.1 has the synopsis and every command's usage" bash -c \
  "grep -q 'elfopt <command> \\[options\\]' man.txt && grep -q 'usage: elfopt rewrite IN' man.txt &&
   grep -q 'usage: elfopt verify ORIGINAL REWRITTEN' man.txt"

# The Debian package. It replaces /usr/bin/elfopt for a moment, so only where
# asked to (CI, or ELFOPT_TEST_DEB=1), as root, and never over an elfopt
# package installed by someone else.
if [[ ${CI:-} != true && ${ELFOPT_TEST_DEB:-0} != 1 ]]; then
  echo "install: the .deb checks are skipped (set ELFOPT_TEST_DEB=1; CI=true runs them)"
  finish
fi
require cpack dpkg dpkg-deb dpkg-shlibdeps
if [[ $(id -u) != 0 ]]; then
  fail "the .deb checks need root (dpkg -i)"
  finish
fi
if dpkg-query -W -f='${Status}' elfopt 2>/dev/null | grep -q 'ok installed'; then
  fail "an elfopt package is installed already; not replacing it"
  finish
fi
check "cpack -G DEB" bash -c "cpack -G DEB --config '$BUILD/CPackConfig.cmake' -B '$WORK/deb' >cpack.log 2>&1 || cat cpack.log >&2"
deb=$(ls deb/elfopt_*.deb 2>/dev/null)
check "one .deb: ${deb:-none}" test -f "$deb"
depends=$(dpkg-deb -f "$deb" Depends 2>/dev/null)
check "Depends (from dpkg-shlibdeps) name libc6, libllvm19 and Boost.Program_options: $depends" \
  bash -c "grep -q 'libc6 (>=' <<<'$depends' && grep -q libllvm19 <<<'$depends' && grep -q libboost-program-options <<<'$depends'"
check "Depends name no -dev package" bash -c "! grep -q -- '-dev' <<<'$depends'"
check "the package version is the project's" test "$(dpkg-deb -f "$deb" Version)" == "$version-1"
check "Maintainer is a name and an address: $(dpkg-deb -f "$deb" Maintainer)" \
  bash -c "dpkg-deb -f '$deb' Maintainer | grep -qE '^[^<]+ <[^@>]+@[^>]+>$'"
dpkg-deb -c "$deb" >contents.txt
check "the .deb has /usr/share/doc/elfopt/copyright" grep -q ' ./usr/share/doc/elfopt/copyright$' contents.txt
check "the .deb has the man page gzip-compressed" grep -q ' ./usr/share/man/man1/elfopt.1.gz$' contents.txt
trap 'dpkg -r elfopt >/dev/null 2>&1; rm -rf "$WORK"' EXIT
check "dpkg -i" bash -c "dpkg -i '$deb' >dpkg.log 2>&1 || cat dpkg.log >&2"
check "/usr/bin/elfopt --version" test "$(/usr/bin/elfopt --version)" == "elfopt $version"
check "man -w elfopt finds the installed page" bash -c "man -w elfopt | grep -q '^/usr/share/man/man1/elfopt\\.1'"
check "find_package(elfopt $version) from /usr names /usr/bin/elfopt" \
  test "$(cmake -DVERSION="$version" -P find.cmake 2>&1)" == "found=1 exe=/usr/bin/elfopt"
check "dpkg -r" bash -c "dpkg -r elfopt >dpkg.log 2>&1 && ! test -e /usr/bin/elfopt || cat dpkg.log >&2"
finish
