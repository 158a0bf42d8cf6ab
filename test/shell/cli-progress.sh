#!/usr/bin/env bash
# The progress line of record and order: on a terminal (script(1) gives one)
# it says which run and how many objects are armed, which profile is read,
# a warning starts on a line of its own, and the line is erased at the end;
# with stderr piped, or with --verbose, there is none.
source "$(dirname "$0")/lib.sh"
require gcc python3 script
R=$SRC/test/inputs/record
cd "$WORK"
gcc -O1 -o order "$R/order.c"
gcc -O1 -shared -fPIC -o libplugin.so "$R/plugin.c"
gcc -O1 -o loader "$R/loader.c" -ldl

# ontty FILE COMMAND: run COMMAND with a terminal as stdin, stdout and stderr;
# FILE gets all the terminal saw.
ontty() { script -qec "$2" /dev/null </dev/null >"$1"; }
# has FILE REGEX: what FILE holds matches the Python REGEX (\r a carriage return).
has() { python3 -c "import re, sys; sys.exit(0 if re.search(sys.argv[2], open(sys.argv[1], newline='').read()) else 1)" "$@"; }
# erased FILE: spaces overwrite a line after the last progress line (on the
# next row if the program printed a line in between).
erased() { has "$1" '\r +\r(?![\s\S]*\relfopt: )'; }

# --- record ----------------------------------------------------------------
ontty rec.tty "'$ELFOPT' record --runs 2 -o rec.json -- ./order x"
check "record: the program's output passes through" has rec.tty 'result 21932'
check "record: the first run, before anything is armed" has rec.tty '\relfopt: recording run 1/2, 0 objects armed'
check "record: the second run, the program armed" has rec.tty '\relfopt: recording run 2/2, 1 object armed'
check "record: then the page trace of each run" has rec.tty '\relfopt: tracing the pages of run 2/2'
check "record: the line is erased at the end" erased rec.tty
check "record: the profile has both runs" \
  test "$(python3 -c "import json; print(len(json.load(open('rec.json'))['runs']))")" = 2

ontty plugin.tty "'$ELFOPT' record --object libplugin.so -o plugin.json -- ./loader"
check "record: a dlopen'ed object counts when armed" has plugin.tty '\relfopt: recording run 1/1, 2 objects armed'

ontty warn.tty "'$ELFOPT' record --object libnothere.so -o none.json -- ./order"
check "record: a warning starts on an erased line" \
  has warn.tty "\r +\relfopt: warning: object 'libnothere.so' was never loaded"

ontty verbose.tty "'$ELFOPT' record --verbose -o v.json -- ./order"
check "record --verbose: its own lines, no progress line" \
  bash -c "grep -q 'elfopt: armed' verbose.tty && ! grep -q 'recording run' verbose.tty"

err=$("$ELFOPT" record --runs 2 -o piped.json -- ./order x 2>&1 >/dev/null)
check "record, stderr piped: nothing on stderr (got: $err)" test -z "$err"

# --- order -----------------------------------------------------------------
ontty order.tty "'$ELFOPT' order rec.json piped.json -o tty.order.json"
check "order: the first profile read" has order.tty '\relfopt: reading profile 1/2'
check "order: the second profile read" has order.tty '\relfopt: reading profile 2/2'
check "order: then the functions ordered" has order.tty '\relfopt: ordering [0-9]+ functions'
check "order: the line is erased at the end" erased order.tty
err=$("$ELFOPT" order rec.json piped.json -o piped.order.json 2>&1)
check "order, stderr piped: nothing on stderr (got: $err)" test -z "$err"
check "order: the same order with or without the line" cmp tty.order.json piped.order.json
ontty stdout.tty "'$ELFOPT' order rec.json piped.json --format lld"
check "order to the terminal: the line is erased before the order is printed" has stdout.tty '\r +\r[A-Za-z_]'

finish
