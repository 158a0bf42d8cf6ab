#!/usr/bin/env bash
# elfopt record on small programs whose first-touch order is known: one
# thread, several threads, fork (followed or not), dlopen with --object, a
# crash, --duration, --until, signals and stdin passing through, a stripped
# binary; then symbol-list export/import and bad input.
source "$(dirname "$0")/lib.sh"
require gcc python3 strip
R=$SRC/test/inputs/record
cd "$WORK"

# pj PROFILE EXPR: evaluate a Python expression over the profile `p`.
pj() { python3 -c "import json,sys; p=json.load(open(sys.argv[1])); print($2)" "$1"; }
touches() { # PROFILE [RUN] [OBJECT]: the recorded names, one a line
  pj "$1" "'\n'.join(t['symbol'] for t in p['runs'][${2:-0}]['objects'][${3:-0}]['touches'])"
}

gcc -O1 -o order "$R/order.c"
gcc -O1 -pthread -o threads "$R/threads.c"
gcc -O1 -o forker "$R/forker.c"
gcc -O1 -o reexec "$R/reexec.c"
gcc -O1 -shared -fPIC -o libplugin.so "$R/plugin.c"
gcc -O1 -o loader "$R/loader.c" -ldl
gcc -O1 -o slow "$R/slow.c"

# --- one thread, known order; output and exit status pass through ---------
out=$("$ELFOPT" record -o order.json -- ./order x)
status=$?
check "program output passes through" test "$out" = "result 21932"
check "elfopt exits with the program's status" test "$status" = 7
got=$(touches order.json | grep -E '^(main|step_.*|startup_done|after_startup)$' | tr '\n' ' ')
check "single-thread order is the call order (got: $got)" \
  test "$got" = "main step_c step_a step_e step_b step_d startup_done after_startup "
check "each function recorded once" test "$(touches order.json | sort | uniq -d | wc -l)" = 0
check "step_unused is not recorded" test "$(touches order.json | grep -c step_unused)" = 0
check "times never go backwards" test "$(pj order.json "all(a['timeNs'] <= b['timeNs'] for a, b in zip(p['runs'][0]['objects'][0]['touches'], p['runs'][0]['objects'][0]['touches'][1:]))")" = True
check "identity: build-id, size, content hash" test "$(pj order.json "(p['objects'][0]['buildId'] != '', p['objects'][0]['size'], p['objects'][0]['contentHash'][:7], len(p['objects'][0]['contentHash']))")" = "(True, $(stat -c %s order), 'blake3:', 71)"
check "addresses are link-time addresses" test "$(pj order.json "[t['address'] for t in p['runs'][0]['objects'][0]['touches'] if t['symbol']=='main'][0]")" = "$((16#$(nm order | awk '$3=="main"{print $1}')))"
check "a normal exit is not partial" test "$(pj order.json "(p['runs'][0]['stopReason'], p['runs'][0]['partial'], p['runs'][0]['exitCode'])")" = "('exit', False, 7)"

# --- several runs ------------------------------------------------------------
"$ELFOPT" record --runs 3 -o runs.json -- ./order >/dev/null
check "--runs 3 keeps three runs" test "$(pj runs.json "len(p['runs'])")" = 3

# --- threads -----------------------------------------------------------------
for i in 1 2 3; do # thread start-up races differ from run to run
  out=$("$ELFOPT" record -o threads.json -- ./threads)
  check "threads: output intact (run $i)" test "$out" = "10 20 30 40"
  check "threads: every worker recorded, each on its own thread" test \
    "$(pj threads.json "sorted((t['symbol'], t['thread'] > 1) for t in p['runs'][0]['objects'][0]['touches'] if t['symbol'].startswith('worker'))")" \
    = "[('worker1', True), ('worker2', True), ('worker3', True), ('worker4', True)]"
  check "threads: distinct threads" test "$(pj threads.json "len({t['thread'] for t in p['runs'][0]['objects'][0]['touches'] if t['symbol'].startswith('worker')})")" = 4
done

# --- fork ----------------------------------------------------------------------
out=$("$ELFOPT" record -o fork.json -- ./forker)
check "fork: child runs untraced and intact (got: $out)" test "$out" = $'child 5\nparent 2, child exit 0'
check "fork: child-only functions not recorded by default" test "$(touches fork.json | grep -c '^child_')" = 0
out=$("$ELFOPT" record --follow-forks -o fork2.json -- ./forker)
check "follow-forks: output intact" test "$out" = $'child 5\nparent 2, child exit 0'
check "follow-forks: child functions recorded" test "$(touches fork2.json | grep '^child_' | tr '\n' ' ')" = "child_work child_only_late "

# --- a child that execs the program again (fork + exec, posix_spawn) -----------
for how in fork spawn; do
  out=$("$ELFOPT" record -o reexec-$how.json -- ./reexec $how)
  check "reexec $how: output intact (got: $out)" test "$out" = $'child 15\nparent 2, child exit 0'
  check "reexec $how: the exec'd child is not recorded by default" \
    test "$(touches reexec-$how.json | grep -c '^reexec_child_work$')" = 0
  out=$("$ELFOPT" record --follow-forks -o reexec-$how-f.json -- ./reexec $how)
  check "reexec $how --follow-forks: output intact" test "$out" = $'child 15\nparent 2, child exit 0'
  check "reexec $how --follow-forks: the exec'd child's function recorded" \
    test "$(touches reexec-$how-f.json | grep -c '^reexec_child_work$')" = 1
  check "reexec $how --follow-forks: a normal exit" \
    test "$(pj reexec-$how-f.json "(p['runs'][0]['stopReason'], p['runs'][0]['partial'])")" = "('exit', False)"
done

# --- dlopen and --object -------------------------------------------------------
out=$("$ELFOPT" record --object libplugin.so -o plugin.json -- ./loader)
check "dlopen: output intact" test "$out" = "plugin says 41"
check "dlopen: the library is recorded" test "$(pj plugin.json "p['runs'][0]['objects'][1]['loaded']")" = True
check "dlopen: constructor first, then the calls in order" test \
  "$(touches plugin.json 0 1 | grep ^plugin_ | tr '\n' ' ')" = "plugin_init plugin_first plugin_second "
"$ELFOPT" record --object libplugin -o plugin2.json -- ./loader >/dev/null
check "--object matches a name prefix" test "$(touches plugin2.json 0 1 | grep -c ^plugin_)" = 3
err=$("$ELFOPT" record --object libnothere.so -o none.json -- ./order 2>&1 >/dev/null)
check "an object never loaded is a warning" test "$err" = "elfopt: warning: object 'libnothere.so' was never loaded; the profile records it as not loaded"
check "... and the profile says so" test "$(pj none.json "p['runs'][0]['objects'][1]['loaded']")" = False

# --- crash ---------------------------------------------------------------------
"$ELFOPT" record -o crash.json -- ./order c >/dev/null 2>&1
check "a crash gives the program's status (128 + SIGSEGV)" test $? = 139
check "a crash keeps a partial profile" test "$(pj crash.json "(p['runs'][0]['stopReason'], p['runs'][0]['partial'], p['runs'][0]['signal'])")" = "('signal', True, 11)"
check "... with what ran before it" test "$(touches crash.json | grep -c '^step_')" = 5

# --- --duration, --until, signals, stdin -------------------------------------
out=$(echo hello | "$ELFOPT" record --duration 0.5 -o slow.json -- ./slow)
status=$?
check "duration: program finishes after detach (got: $out)" test "$out" = "v=3 usr1=10 stdin=hello"
check "duration: status passes through" test $status = 5
check "duration: stop reason, and late() not recorded" test "$(pj slow.json "(p['runs'][0]['stopReason'], [t['symbol'] for t in p['runs'][0]['objects'][0]['touches'] if t['symbol'] in ('early','late')])")" = "('duration', ['early'])"
echo | "$ELFOPT" record --duration 0.3 --kill -o slowkill.json -- ./slow >/dev/null
check "--kill: the program is killed at the stop" test $? = 137
out=$("$ELFOPT" record --until startup_done -o until.json -- ./order)
check "until: program output intact" test "$out" = "result 15371"
check "until: recording ends at the symbol" test "$(touches until.json | tail -1)" = startup_done
check "until: stop reason" test "$(pj until.json "p['runs'][0]['stopReason']")" = until
err=$("$ELFOPT" record --until no_such_function -o until2.json -- ./order 2>&1 >/dev/null)
check "until: a symbol that never runs is a warning" test "$err" = "elfopt: warning: --until no_such_function: the function never ran (or does not exist); recorded until the program ended"

# --- page touches: a program whose page accesses are known ------------------------
# pages.c reads four 64 KiB windows of .rodata in the order 40 3 20 10 and
# writes three .data pages in the order 7 2 5. The trace must show only
# those pages of the two arrays, in that order, with their sections: every
# write (a copy-on-write fault is per page) and the first read. A later read
# may find its page already mapped: fault-around maps up to 64 KiB beside a
# fault, and from Linux 6.18 a whole large page-cache folio.
page_check() { # PROFILE BINARY: "want | got" for pages.c's arrays
  python3 - "$1" "$2" <<'PY'
import json, subprocess, sys
profile, exe = sys.argv[1], sys.argv[2]
loads = []
for line in subprocess.run(["readelf", "-lW", exe], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if f and f[0] == "LOAD":
        loads.append((int(f[1], 16), int(f[2], 16), int(f[4], 16)))  # offset, vaddr, filesz
def offset(va):
    for off, vaddr, size in loads:
        if vaddr <= va < vaddr + size:
            return off + va - vaddr
    sys.exit("no segment holds %#x" % va)
syms = {}
for line in subprocess.run(["nm", exe], capture_output=True, text=True).stdout.splitlines():
    f = line.split()
    if len(f) == 3:
        syms[f[2]] = int(f[0], 16)
table, data = offset(syms["table"]), offset(syms["data"])
want = [(table + w * 65536, ".rodata") for w in (40, 3, 20, 10)] + \
       [(data + p * 4096, ".data") for p in (7, 2, 5)]
pages = json.load(open(profile))["runs"][0]["objects"][0]["pages"]
got = [(t["offset"], t["section"]) for t in pages
       if table <= t["offset"] < table + 48 * 65536 or data <= t["offset"] < data + 16 * 4096]
ordered = all(a["timeNs"] <= b["timeNs"] for a, b in zip(pages, pages[1:]))
# got must be want with some of the later reads left out.
it = iter(want)
subsequence = all(any(g == w for w in it) for g in got)
complete = got[:1] == want[:1] and got[-3:] == want[-3:]
show = lambda l: " ".join("%#x:%s" % x for x in l)
print(show(want), "|", show(got), "|",
      "ok" if subsequence and complete else "wrong", "in time order" if ordered else "out of order")
PY
}
for build in "gcc -O2" "gcc -O0 -no-pie" "gcc -O2 -static" "clang-19 -O1"; do
  set -- $build
  have "$1" || continue
  "$@" -o pages "$R/pages.c" 2>/dev/null || continue
  out=$("$ELFOPT" record -o pages.json -- ./pages)
  check "pages ($build): output intact" test "$out" = 0
  check "pages ($build): the trace ran to the program's exit" test \
    "$(pj pages.json "(p['runs'][0]['pageTrace']['method'], p['runs'][0]['pageTrace']['exitCode'], p['runs'][0]['pageTrace']['lost'])")" = "('perf-page-faults', 0, 0)"
  result=$(page_check pages.json pages)
  want=${result%% | *}
  got=${result#* | }
  check "pages ($build): the known accesses, in order (want $want; got $got)" test "${got##* | }" = "ok in time order"
  check "pages ($build): the ELF header page is touched first" test \
    "$(pj pages.json "p['runs'][0]['objects'][0]['pages'][0]['offset'] if '-static' not in '$build' else 0")" = 0
  check "pages ($build): each page once" test \
    "$(pj pages.json "len({t['offset'] for t in p['runs'][0]['objects'][0]['pages']}) == len(p['runs'][0]['objects'][0]['pages'])")" = True
done
"$ELFOPT" profile pages --readahead 128 --readahead 0 pages.json >pages.model
check "profile pages: pages by section" grep -q '^  by section: .*\.rodata [1-9]' pages.model
check "profile pages: modelled at 128 KiB" grep -q '^  modelled cold start, readahead 128 KiB: [0-9]* major faults' pages.model
check "profile pages: says it is a model" grep -q 'not measurements' pages.model
# With no readahead, every traced page is a fault of its own and reads itself.
check "profile pages: readahead 0 reads the traced pages alone" test "$("$ELFOPT" profile pages --readahead 0 --json pages.json |
  python3 -c 'import json,sys; r=json.load(sys.stdin)["runs"][0]; m=r["model"][0]; print(m["majorFaults"] == r["pages"], m["bytesRead"] <= 4096 * r["pages"])')" = "True True"
check "pages: a shared object's pages are traced with --object" bash -c \
  "'$ELFOPT' record --object libplugin.so -o plugin-pages.json -- ./loader >/dev/null &&
   python3 -c \"import json; p=json.load(open('plugin-pages.json')); o=p['runs'][0]['objects'][1]; assert any(t['section'] in ('.init', '.plt', '.text') for t in o['pages']), o['pages']\""
"$ELFOPT" record --no-pages -o nopages.json -- ./order >/dev/null
check "--no-pages: no page trace in the profile" test "$(pj nopages.json "'pageTrace' in p['runs'][0] or 'pages' in p['runs'][0]['objects'][0]")" = False
expect_error 2 "elfopt: error: nopages.json: no page trace for 'main' (recorded with --no-pages, or by an elfopt without page traces)" \
  "$ELFOPT" profile pages nopages.json
check "--duration: the page trace stops where the run stopped" test \
  "$(pj slow.json "(p['runs'][0]['pageTrace']['signal'], p['runs'][0]['pageTrace']['durationNs'] < 1.2e9)")" = "(9, True)"

# --- stripped binary: .dynsym + .eh_frame --------------------------------------
strip -o order-stripped order
out=$("$ELFOPT" record -o stripped.json -- ./order-stripped)
check "stripped: output intact" test "$out" = "result 15371"
check "stripped: function source" test "$(pj stripped.json "p['objects'][0]['functionSource']")" = "dynsym+eh_frame"
check "stripped: functions named by their FDE" test "$(touches stripped.json | grep -c '^fde@0x')" -ge 8
check "stripped: same addresses in the same order as with symbols" python3 -c "
import json
full = [t['address'] for t in json.load(open('order.json'))['runs'][0]['objects'][0]['touches']]
stripped = [t['address'] for t in json.load(open('stripped.json'))['runs'][0]['objects'][0]['touches']]
assert len(stripped) >= 8 and stripped == [a for a in full if a in set(stripped)], (full, stripped)"

# --- symbol lists ----------------------------------------------------------------
"$ELFOPT" profile export order.json -o order.syms
check "export writes the order" test "$(cat order.syms)" = "$(touches order.json)"
printf '# comment\nstep_b\n\nno_such_symbol\nstep_a\nstep_b\n' >list.syms
err=$("$ELFOPT" profile import list.syms --binary order -o imported.json 2>&1)
check "import warns about unknown names" test "$err" = "elfopt: warning: list.syms: 'no_such_symbol' is not a function of order"
check "import keeps order, skips duplicates" test "$("$ELFOPT" profile export imported.json | tr '\n' ' ')" = "step_b step_a "
check "show summarizes" bash -c "'$ELFOPT' profile show order.json | grep -q '^  run 1: exit, .* exit 7$'"

check "the example profile in profiles/ is valid" bash -c "'$ELFOPT' profile show '$SRC/profiles/examples/startup-demo.profile.json' >/dev/null"

# --- bad input ---------------------------------------------------------------------
expect_error 2 "elfopt: error: ./no-such-program: no such program" "$ELFOPT" record -- ./no-such-program
expect_error 2 "elfopt: error: no-such-program-anywhere: no such program (searched PATH)" "$ELFOPT" record -- no-such-program-anywhere
printf '#!/bin/sh\necho hi\n' >script.sh && chmod +x script.sh
expect_error 2 "elfopt: error: ./script.sh: not an ELF file (no ELF magic bytes)" "$ELFOPT" record -- ./script.sh
expect_error 2 "elfopt: error: /no/such/dir/p.json: cannot write the profile here: No such file or directory" \
  "$ELFOPT" record -o /no/such/dir/p.json -- ./order
expect_error 1 "elfopt: error: give the program to run after -- (see 'elfopt help record')" "$ELFOPT" record ./order
printf '{"format": "elfopt-profile",\n "version": 1,\n "command": [,]}' >bad.json
expect_error 2 "elfopt: error: bad.json:3:14: malformed JSON: syntax error while parsing value - unexpected ','; expected '[', '{', or a literal" \
  "$ELFOPT" profile show bad.json
printf '{"format": "elfopt-profile", "version": 7}' >v7.json
expect_error 2 "elfopt: error: v7.json: version: unsupported profile version 7 (this elfopt reads version 1)" \
  "$ELFOPT" profile show v7.json
finish
