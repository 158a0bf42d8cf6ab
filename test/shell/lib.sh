# Shared helpers of the integration tests. Source it first; it sets
#   ELFOPT   the elfopt binary under test (from CTest's environment)
#   WORK     a fresh directory, removed at exit
# and counts checks; end each script with `finish`.
set -uo pipefail
: "${ELFOPT:?run through ctest, or set ELFOPT to the elfopt binary}"
SRC=${ELFOPT_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/elfopt-test.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
}
check() { # check DESCRIPTION COMMAND...: passes when the command succeeds
  local what=$1
  shift
  if "$@"; then pass; else fail "$what"; fi
}

# expect_error CODE MESSAGE COMMAND...: the command must exit with CODE and
# print exactly MESSAGE as its only stderr line.
expect_error() {
  local code=$1 message=$2
  shift 2
  local err status
  err=$("$@" 2>&1 >/dev/null)
  status=$?
  if [[ $status != "$code" ]]; then
    fail "'$*' exited $status, expected $code (stderr: $err)"
  elif [[ $err != "$message" ]]; then
    fail "'$*' printed: $err"$'\n'"      expected: $message"
  else
    pass
  fi
}

# Programs and linkers present on this machine (scripts/install-deps.sh
# installs them all; a missing one is a failure, not a skip, in CI).
have() { command -v "$1" >/dev/null 2>&1; }
require() {
  for tool in "$@"; do
    if ! have "$tool"; then
      fail "required tool '$tool' is not installed (scripts/install-deps.sh installs it)"
      finish
    fi
  done
}

# compiler_for LANG CC: the driver that compiles LANG (c, cpp) with CC (gcc,
# clang), as the rewrite matrices name them.
compiler_for() {
  case $1/$2 in
  c/gcc) echo gcc ;; cpp/gcc) echo g++ ;;
  c/clang) echo clang-19 ;; cpp/clang) echo clang++-19 ;;
  esac
}

# with_memory_limit MB COMMAND...: run COMMAND with at most MB of memory.
# ASan reserves terabytes of address space, so under it the limit is ASan's
# own RSS limit rather than ulimit -v.
with_memory_limit() {
  local mb=$1
  shift
  if [[ ${ELFOPT_SANITIZED:-0} == 1 ]]; then
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}hard_rss_limit_mb=$mb "$@"
  else
    (ulimit -v $((mb * 1024)) && exec "$@")
  fi
}

# rodata_word FILE ADDRESS: the signed 32-bit word at loaded ADDRESS (0x...
# or decimal) in FILE's .rodata.
rodata_word() {
  python3 - "$1" "$2" <<'PY'
import re, struct, subprocess, sys
path, address = sys.argv[1], int(sys.argv[2], 0)
for line in subprocess.run(["llvm-readelf-19", "-SW", path], capture_output=True, text=True).stdout.splitlines():
    m = re.search(r"\]\s+\.rodata\s+\S+\s+([0-9a-f]+)\s+([0-9a-f]+)", line)
    if m:
        offset = address - int(m.group(1), 16) + int(m.group(2), 16)
print(struct.unpack("<i", open(path, "rb").read()[offset:offset + 4])[0])
PY
}

# elflint_messages FILE: what eu-elflint says about FILE, with its name
# replaced by FILE and sorted, so that two files' messages compare.
elflint_messages() { eu-elflint --gnu-ld "$1" 2>&1 | sed "s|$1|FILE|g" | sort; }

# check_elflint_same WHAT ORIGINAL EDITED: eu-elflint reports nothing about
# EDITED that it does not report about ORIGINAL.
check_elflint_same() {
  local what=$1 orig=$2 edited=$3
  if diff <(elflint_messages "$orig") <(elflint_messages "$edited") >"$WORK/elflint.diff"; then pass; else
    fail "$what: eu-elflint reports new problems: $(cat "$WORK/elflint.diff")"
  fi
}

strip_or_objcopy() { # TOOL IN OUT
  case $1 in
  *strip*) "$1" -o "$3" "$2" ;;
  *) "$1" "$2" "$3" ;;
  esac
}

# check_after_strip_and_objcopy WHAT ORIGINAL EDITED CHECK ARGS...: EDITED
# goes through strip, objcopy, llvm-strip-19 and llvm-objcopy-19 in turn
# (they corrupt binaries grown by other tools); each tool's output takes
# EDITED's place while `CHECK "WHAT after TOOL" ARGS...` runs, then EDITED
# is put back. A tool that fails on ORIGINAL too is noted, not checked.
check_after_strip_and_objcopy() {
  local what=$1 orig=$2 edited=$3
  shift 3
  local check=$1
  shift
  local tool
  for tool in strip objcopy llvm-strip-19 llvm-objcopy-19; do
    if ! strip_or_objcopy "$tool" "$orig" "$WORK/processed" 2>/dev/null; then
      # e.g. llvm-strip rejects clang+ld.bfd static binaries (.rela.plt
      # linked to .symtab) before elfopt ever touches them.
      echo "note: $what: $tool fails on the input too; not checked"
      continue
    fi
    cp "$edited" "$WORK/saved"
    if strip_or_objcopy "$tool" "$WORK/saved" "$edited" 2>"$WORK/tool.err"; then
      "$check" "$what after $tool" "$@"
    else
      fail "$what: $tool failed: $(cat "$WORK/tool.err")"
    fi
    cp "$WORK/saved" "$edited"
  done
}

# skip REASON: this machine cannot run the test at all (not root, no cgroup
# controller); CTest reports it skipped (SKIP_RETURN_CODE 77), not passed.
skip() {
  echo "$(basename "$0" .sh): skipped: $*"
  exit 77
}

# run_and_capture BINARY OUT [LIBDIR]: stdout and stderr of ./BINARY to OUT,
# then its exit status, with LIBDIR as LD_LIBRARY_PATH.
run_and_capture() {
  LD_LIBRARY_PATH=${3:-} timeout 20 "./$1" >"$2" 2>&1
  echo "exit $?" >>"$2"
}
# same_behaviour A B [LIBDIR-A LIBDIR-B]: ./A and ./B print the same and
# exit the same (A and B may be one program run against two library
# directories: each run has its own capture).
same_behaviour() {
  run_and_capture "$1" "$1.a.out" "${3:-}"
  run_and_capture "$2" "$2.b.out" "${4:-}"
  cmp -s "$1.a.out" "$2.b.out"
}
# json_field FILE EXPR: the value at d EXPR (e.g. '["blocks"]["moved"]')
# of the JSON in FILE.
json_field() { python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); print(eval("d" + sys.argv[2]))' "$@"; }

finish() {
  echo "$(basename "$0" .sh): $passed passed, $failed failed"
  [[ $failed == 0 ]]
  exit $?
}
