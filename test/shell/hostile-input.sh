#!/usr/bin/env bash
# The hostile-input corpus: every case generated from text (make-hostile.py,
# over the minimal ELF of make-elf.py and over a program compiled here, cut at
# each of its header boundaries) must give its expected exit code and one
# error line naming the file, within 2 s and 256 MB, under inspect and edit;
# no output file may appear. Then broken relocations, .eh_frame, symbols and
# compressed debug info under rewrite, malformed .gnu.hash tables in a real
# shared library, and hostile profiles.
source "$(dirname "$0")/lib.sh"
require gcc python3 llvm-readelf-19
cd "$WORK"

gcc -O1 -o real "$SRC/test/inputs/grow-main.c" -DGROW_ONE_FILE -I"$SRC/test/inputs"
python3 "$SRC/test/inputs/make-hostile.py" corpus real
cases=0
while IFS=$'\t' read -r name code message; do
  cases=$((cases + 1))
  for cmd in "inspect --json" "edit -o out-$name --add-section .x=/dev/null"; do
    err=$(with_memory_limit 256 timeout 2 "$ELFOPT" $cmd "corpus/$name" 2>&1 >/dev/null)
    status=$?
    lines=$(printf '%s\n' "$err" | grep -c .)
    if [[ $status != "$code" ]]; then
      fail "$name ($cmd): exit $status, expected $code: $err"
    elif [[ $message != "*" && $err != "elfopt: error: corpus/$name: $message" ]]; then
      fail "$name ($cmd): $err"$'\n'"      expected: elfopt: error: corpus/$name: $message"
    elif [[ $err != "elfopt: error: corpus/$name: "* || $lines != 1 ]]; then
      fail "$name ($cmd): not one error line naming the file: $err"
    else
      pass
    fi
  done
  check "$name: no output file" test ! -e "out-$name"
done <corpus/expected.txt
echo "hostile-input: $cases corpus files"

# Tables rewrite reads, broken in a real program linked with --emit-relocs
# (make-hostile-rewrite.py): static relocations, .eh_frame, symbols and
# compressed debug info. Each gives its one expected line and exit code.
gcc -O2 -Wl,-q -o rprog "$SRC/test/inputs/rewrite/subject.c"
gcc -O2 -g -Wl,-q -o rprog-g "$SRC/test/inputs/rewrite/subject.c"
python3 "$SRC/test/inputs/make-hostile-rewrite.py" rcorpus rprog rprog-g
chmod +x rcorpus/*
while IFS=$'\t' read -r name code line; do
  err=$(with_memory_limit 512 timeout 5 "$ELFOPT" rewrite "rcorpus/$name" -o "rout-$name" --random-order 1 2>&1 >/dev/null)
  status=$?
  expected="elfopt: ${line//\{file\}/rcorpus/$name}"
  if [[ $status != "$code" ]]; then
    fail "rewrite $name: exit $status, expected $code: $err"
  elif [[ $err != "$expected" ]]; then
    fail "rewrite $name: $err"$'\n'"      expected: $expected"
  else
    pass
  fi
  if [[ $code == 0 ]]; then
    check "rewrite $name: the output runs as the original does" \
      test "$(./rout-$name 3 2>&1; echo $?)" = "$(./rprog 3 2>&1; echo $?)"
  else
    check "rewrite $name: no output file" test ! -e "rout-$name"
  fi
done <rcorpus/expected.txt
"$ELFOPT" rewrite rcorpus/debug-info-claims-a-terabyte -o rout-stripped --random-order 1 --strip-debug >/dev/null 2>&1
check "... with --strip-debug the debug info is dropped and the program runs" \
  test "$(./rout-stripped 3 2>&1; echo $?)" = "$(./rprog 3 2>&1; echo $?)"

# .gnu.hash of a real library, broken three ways.
gcc -shared -fPIC -o lib.so "$SRC/test/inputs/grow-lib.c"
read -r off size < <(llvm-readelf-19 -SW lib.so | awk '$2==".gnu.hash" {print strtonum("0x" $5), strtonum("0x" $6)}' 2>/dev/null ||
  python3 -c "
import re, subprocess
for l in subprocess.run(['llvm-readelf-19', '-SW', 'lib.so'], capture_output=True, text=True).stdout.splitlines():
    m = re.match(r'\s*\[\s*\d+\]\s+\.gnu\.hash\s+\S+\s+\S+\s+(\S+)\s+(\S+)', l)
    if m: print(int(m.group(1), 16), int(m.group(2), 16))")
gnuhash() { # NAME PYTHON-EXPRESSION-ON-bytearray-t (the table)
  python3 -c "
import sys; d = bytearray(open('lib.so', 'rb').read()); t = memoryview(d)[$off:$off + $size]
import struct
$2
open('$1', 'wb').write(d)"
}
gnuhash bloom3.so "struct.pack_into('<I', t, 8, 3)"
expect_error 2 "elfopt: error: bloom3.so:(.gnu.hash): GNU hash bloom filter size 3 is not a power of two (glibc rejects it)" \
  "$ELFOPT" inspect bloom3.so
gnuhash bucket.so "nb, so, bw, sh = struct.unpack_from('<IIII', t, 0); struct.pack_into('<I', t, 16 + 8 * bw, 100000)"
check "bucket out of range: exit 2 and the bucket named" bash -c \
  "'$ELFOPT' inspect bucket.so 2>&1 >/dev/null | grep -qE '^elfopt: error: bucket.so:\(.gnu.hash\): GNU hash bucket 0 points to symbol 100000, outside'"
gnuhash chain.so "nb, so, bw, sh = struct.unpack_from('<IIII', t, 0); [struct.pack_into('<I', t, k, struct.unpack_from('<I', t, k)[0] & ~1) for k in range(16 + 8 * bw + 4 * nb, len(t), 4)]"
expect_error 2 "elfopt: error: chain.so:(.gnu.hash): GNU hash chain of bucket $(python3 -c "
import struct; d = open('lib.so', 'rb').read()[$off:$off + $size]; nb, so, bw, sh = struct.unpack_from('<IIII', d, 0)
print(min(i for i in range(nb) if struct.unpack_from('<I', d, 16 + 8 * bw + 4 * i)[0]))") runs past the last dynamic symbol" \
  "$ELFOPT" inspect chain.so

# Hostile profiles.
p() { printf '%s' "$2" >"$1"; }
p neg.json '{"format":"elfopt-profile","version":1,"command":[],"objects":[{"name":"main","path":"x","buildId":"","size":1,"contentHash":"","functionSource":"symtab","functions":1}],"runs":[{"stopReason":"exit","partial":false,"exitCode":0,"signal":null,"durationNs":1,"threads":1,"objects":[{"object":0,"loaded":true,"loadBase":0,"touches":[{"symbol":"f","address":-5,"size":1,"timeNs":0,"thread":1}]}]}]}'
expect_error 2 "elfopt: error: neg.json: runs[0].objects[0].touches[0].address: expected an unsigned integer" "$ELFOPT" order neg.json
p nonobj.json '{"format":"elfopt-profile","version":1,"command":[],"objects":[{"name":"main","path":"x","buildId":"","size":1,"contentHash":"","functionSource":"symtab","functions":1}],"runs":[{"stopReason":"exit","partial":false,"exitCode":0,"signal":null,"durationNs":1,"threads":1,"objects":[{"object":0,"loaded":true,"loadBase":0,"touches":[{"symbol":"f","address":5,"size":1,"timeNs":0,"thread":1},7]}]}]}'
expect_error 2 "elfopt: error: nonobj.json: runs[0].objects[0].touches[1]: expected an object" "$ELFOPT" order nonobj.json
p nosym.json '{"format":"elfopt-profile","version":1,"command":[],"objects":[{"name":"main","path":"x","buildId":"","size":1,"contentHash":"","functionSource":"symtab","functions":1}],"runs":[{"stopReason":"exit","partial":false,"exitCode":0,"signal":null,"durationNs":1,"threads":1,"objects":[{"object":0,"loaded":true,"loadBase":0,"touches":[{"address":5,"size":1,"timeNs":0,"thread":1}]}]}]}'
expect_error 2 "elfopt: error: nosym.json: runs[0].objects[0].touches[0]: missing field 'symbol'" "$ELFOPT" order nosym.json
# Speed and memory mean nothing under ASan (debug build, shadow memory).
if [[ ${ELFOPT_SANITIZED:-0} != 1 ]]; then
  python3 -c "
import json
def profile(path, n, reverse):
    t = [{'symbol': 'f%d' % i, 'address': 4096 + 16 * (n - i if reverse else i), 'size': 16, 'timeNs': i, 'thread': 1} for i in range(n)]
    json.dump({'format': 'elfopt-profile', 'version': 1, 'command': [], 'objects': [{'name': 'main', 'path': 'x', 'buildId': '', 'size': 1, 'contentHash': '', 'functionSource': 'symtab', 'functions': 1}],
      'runs': [{'stopReason': 'exit', 'partial': False, 'exitCode': 0, 'signal': None, 'durationNs': 1, 'threads': 1, 'objects': [{'object': 0, 'loaded': True, 'loadBase': 0, 'touches': t}]}]}, open(path, 'w'))
profile('large.json', 1000000, False)
profile('reversed.json', 200000, True)"
  # Memory is the bound checked; the timeouts only stop a quadratic blow-up
  # (minutes) without failing a loaded machine (speed is measured in bench/).
  check "a 1,000,000-touch profile (86 MB) reads within 400 MB of RSS" bash -c "
    out=\$(/usr/bin/time -f 'rss %M' timeout 120 '$ELFOPT' profile show large.json 2>&1)
    [[ \$out == *'1000000 first touches'* ]] && (( \$(grep -o 'rss [0-9]*' <<<\"\$out\" | cut -d' ' -f2) < 409600 ))"
  # Chains joined in reverse address order were quadratic (24 GB, killed).
  check "a 200,000-touch profile in reverse address order is ordered within 1 GB" bash -c "
    out=\$(/usr/bin/time -f 'rss %M' timeout 120 '$ELFOPT' order reversed.json -o reversed.order 2>&1)
    [[ -s reversed.order ]] && (( \$(grep -o 'rss [0-9]*' <<<\"\$out\" | cut -d' ' -f2) < 1048576 ))"
fi
p badobj.json '{"format":"elfopt-profile","version":1,"command":[],"objects":[],"runs":[{"stopReason":"exit","partial":false,"exitCode":0,"signal":null,"durationNs":1,"threads":1,"objects":[{"object":7,"loaded":true,"loadBase":0,"touches":[]}]}]}'
expect_error 2 "elfopt: error: badobj.json: runs[0].objects[0].object: refers to object 7, but there are 0" "$ELFOPT" order badobj.json
printf '{"format":"elfopt-profile","version":1,"command":[],"objects":[],"runs":[],"x":1e999999}' >overflow.json
expect_error 2 "elfopt: error: overflow.json: malformed JSON: [json.exception.out_of_range.406] number overflow parsing '1e999999'" \
  "$ELFOPT" profile show overflow.json
printf '{"format":"elfopt-profile","version":1,"command":["\xff\xfe"]}' >utf8.json
check "invalid UTF-8: exit 2, line and column" bash -c "'$ELFOPT' profile show utf8.json 2>&1 | grep -qE '^elfopt: error: utf8.json:1:[0-9]+: malformed JSON: .*UTF-8'"
p dup.json '{"format":"elfopt-profile","version":1,"command":[],"objects":[{"name":"main","path":"x","buildId":"","size":1,"contentHash":"","functionSource":"symtab","functions":1}],"runs":[{"stopReason":"exit","partial":false,"exitCode":0,"signal":null,"durationNs":1,"threads":1,"objects":[{"object":0,"loaded":true,"loadBase":0,"touches":[{"symbol":"f","address":4096,"size":1,"timeNs":0,"thread":1},{"symbol":"f","address":4096,"size":1,"timeNs":1,"thread":1},{"symbol":"f","address":18446744073709551615,"size":18446744073709551615,"timeNs":2,"thread":1}]}]}]}'
check "duplicates and absurd addresses are accepted and ordered" bash -c "[[ \$('$ELFOPT' order dup.json --format lld) == \$'f\nf' ]]"
finish
