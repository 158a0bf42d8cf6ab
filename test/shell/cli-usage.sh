#!/usr/bin/env bash
# The command line: help, version, unknown commands and options, exit codes.
source "$(dirname "$0")/lib.sh"

check "--version prints the version" bash -c '"$ELFOPT" --version | grep -qx "elfopt [0-9.]*"'
check "help lists inspect" bash -c '"$ELFOPT" help | grep -q "^  inspect "'
check "help inspect shows usage" bash -c '"$ELFOPT" help inspect | grep -q "^usage: elfopt inspect FILE"'
check "help edit shows usage" bash -c '"$ELFOPT" help edit | grep -q "^usage: elfopt edit IN"'
check "rewrite --help shows usage" bash -c '"$ELFOPT" rewrite --help | grep -q "^usage: elfopt rewrite INPUT"'
check "app -h shows usage" bash -c '"$ELFOPT" app -h | grep -q "^usage: elfopt app PROGRAM"'
expect_error 1 "elfopt: error: unknown command 'frobnicate' (see 'elfopt help')" "$ELFOPT" frobnicate
expect_error 1 "elfopt: error: unknown command 'frobnicate'" "$ELFOPT" help frobnicate
expect_error 1 "elfopt: error: missing FILE (see 'elfopt help inspect')" "$ELFOPT" inspect
expect_error 1 "elfopt: error: unrecognised option '--bogus' (see 'elfopt help inspect')" \
  "$ELFOPT" inspect --bogus /bin/true
expect_error 1 "elfopt: error: give exactly one of -o OUT and --in-place (see 'elfopt help edit')" \
  "$ELFOPT" edit /bin/true
cp /bin/true "$WORK/t"
expect_error 1 "elfopt: error: output '$WORK/t' is the input file; use --in-place to replace it (see 'elfopt help edit')" \
  "$ELFOPT" edit "$WORK/t" -o "$WORK/t"
expect_error 1 "elfopt: error: --add-section takes NAME=FILE, got '.x' (see 'elfopt help edit')" \
  "$ELFOPT" edit "$WORK/t" -o "$WORK/u" --add-section .x
check "no output after a usage error" test ! -e "$WORK/u"
"$ELFOPT" >/dev/null 2>&1
check "no arguments exits 1" test $? = 1
finish
