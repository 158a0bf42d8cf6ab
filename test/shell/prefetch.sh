#!/usr/bin/env bash
# rewrite --prefetch: the startup stub on real programs and libraries, by
# GCC and Clang, four linkers, PIE, non-PIE, static, static PIE and shared
# libraries (with and without DT_INIT), with and without reordering. Each
# output must run with the original's output and exit status, and strace
# must show the stub's madvise(MADV_WILLNEED) calls, one per range, before
# the program's first system call of its own, each succeeding. verify passes;
# eu-elflint has nothing new to say; strip and objcopy leave a program that
# still runs; a second rewrite of the output works, and a second --prefetch
# is refused.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 ld.bfd ld.gold ld.lld mold strace eu-elflint strip objcopy python3
cd "$WORK"
IN=$SRC/test/inputs/rewrite

# madvise_calls PROGRAM [LIBDIR]: the WILLNEED calls strace sees, "ok" or the error.
madvise_calls() {
  LD_LIBRARY_PATH=${2:-} strace -f -qq -e trace=madvise -o "$1.strace" "./$1" >/dev/null 2>&1
  grep -c "MADV_WILLNEED) = 0" "$1.strace"
}
json_field() { # FILE EXPR
  python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$@"
}

# A program's first touches: a few functions to order, so that without
# reordering the stub has several ranges to read.
symbols() { nm --defined-only "$1" | awk '$2 ~ /^[tT]$/ {print $3}' | grep -E '^(main|subject_main|work|compute|_start)$|^f[0-9]' | head -40; }

built=0 noinit_added=0 compilers=(gcc clang-19) linkers=(bfd gold lld mold)
# Under the sanitizers, a quarter of it: the stub's code is the same for all.
[[ ${ELFOPT_SANITIZED:-0} == 1 ]] && compilers=(gcc) linkers=(bfd mold)
for cc in "${compilers[@]}"; do
  for ld in "${linkers[@]}"; do
    for kind in pie nopie static static-pie shared shared-noinit; do
      name=$cc-$ld-$kind
      lib=
      case $kind in
      pie) "$cc" -O2 -fuse-ld=$ld -fPIE -pie "$IN/subject.c" -o "$name" ;;
      nopie) "$cc" -O2 -fuse-ld=$ld -fno-pie -no-pie -Wl,--emit-relocs "$IN/subject.c" -o "$name" ;;
      static) "$cc" -O2 -fuse-ld=$ld -static -Wl,--emit-relocs "$IN/subject.c" -o "$name" ;;
      static-pie) "$cc" -O2 -fuse-ld=$ld -static-pie -fPIE "$IN/subject.c" -o "$name" ;;
      shared | shared-noinit)
        mkdir -p "lib-$name" "new-lib-$name"
        extra=()
        # No crti/crtn: no _init, so no DT_INIT.
        [[ $kind == shared-noinit ]] && extra=(-nostartfiles)
        "$cc" -O2 -fuse-ld=$ld -fPIC -shared "${extra[@]}" -Dmain=subject_main "$IN/subject.c" \
          -o "lib-$name/libsubject.so" &&
          gcc -O2 "$IN/driver.c" -L "lib-$name" -lsubject -o "$name"
        lib=lib-$name/libsubject.so
        ;;
      esac >build.log 2>&1 || { echo "note: $name does not build here ($(tail -1 build.log))"; continue; }
      # The file the stub goes into, its rewritten copy, and how to run it.
      target=${lib:-$name}
      out=${lib:+new-lib-$name/libsubject.so}
      out=${out:-$name.pf}
      libdir_a=${lib:+lib-$name} libdir_b=${lib:+new-lib-$name}
      run=$name
      [[ -z $lib ]] && run=$name.pf
      built=$((built + 1))

      if [[ $kind == shared-noinit ]]; then
        check "$name: built without DT_INIT" bash -c "! readelf -dW '$target' | grep -q '(INIT)'"
      fi
      spare=$("$ELFOPT" inspect --json "$target" | python3 -c 'import json,sys; print(json.load(sys.stdin)["elf"]["dynamicSlots"]["spare"])')
      if [[ $kind == shared-noinit && $spare == 0 ]]; then
        # No DT_INIT and no spare slot for one: refused, nothing written.
        expect_error 2 "elfopt: error: $target: a shared library without DT_INIT needs a spare .dynamic slot for the prefetch stub's DT_INIT, and this one has none (ld.bfd, gold and mold leave some; lld does not)" \
          "$ELFOPT" rewrite "$target" --random-order 3 --prefetch --prefetch-gap 0 -o "$out"
        check "$name: nothing written when refused" test ! -e "$out"
        continue
      fi
      # Reordered (random order: every function is "touched", one range).
      if ! "$ELFOPT" rewrite "$target" --random-order 3 --prefetch --prefetch-gap 0 --json -o "$out" >"$name.json" 2>"$name.err"; then
        fail "$name: rewrite --prefetch failed: $(head -3 "$name.err")"
        continue
      fi
      ranges=$(json_field "$name.json" 'len(d["prefetch"]["ranges"])')
      check "$name: stub verified" test "$(json_field "$name.json" 'd["verifyPrefetch"]["ok"]')" = True
      if [[ -n $lib ]]; then
        check "$name: library stub runs from DT_INIT" test "$(json_field "$name.json" 'd["prefetch"]["runsFrom"]')" = DT_INIT
        if [[ $kind == shared-noinit ]]; then
          check "$name: a DT_INIT was added, and the stub returns" \
            test "$(json_field "$name.json" 'd["prefetch"]["continuesTo"]')" = None
          noinit_added=$((noinit_added + 1))
        fi
        check "$name: same behaviour with the library rewritten" same_behaviour "$name" "$name" "$libdir_a" "$libdir_b"
      else
        check "$name: program stub runs from e_entry" test "$(json_field "$name.json" 'd["prefetch"]["runsFrom"]')" = e_entry
        check "$name: same behaviour" same_behaviour "$name" "$run"
      fi
      check "$name: strace sees $ranges successful madvise(WILLNEED) calls" \
        test "$(madvise_calls "$run" "$libdir_b")" = "$ranges"
      check "$name: verify ORIGINAL OUTPUT" "$ELFOPT" verify "$target" "$out"
      check_elflint_same "$name" "$target" "$out"
      # strip and objcopy keep the stub and the program working.
      if [[ -z $lib ]]; then
        strip -o "$name.stripped" "$run" && objcopy "$run" "$name.objcopied"
        check "$name: runs after strip" same_behaviour "$name" "$name.stripped"
        check "$name: runs after objcopy" same_behaviour "$name" "$name.objcopied"
      fi
      # A second rewrite of the output (another order) keeps the stub working;
      # a second stub is refused.
      if [[ $kind != nopie && $kind != static ]] || readelf -SW "$out" | grep -q '\.rela\.text'; then
        if "$ELFOPT" rewrite "$out" --random-order 5 -o "$out.again" >/dev/null 2>"$name.again.err"; then
          if [[ -n $lib ]]; then
            mkdir -p "again-lib-$name" && cp "$out.again" "again-lib-$name/libsubject.so"
            check "$name: second rewrite runs" same_behaviour "$name" "$name" "$libdir_a" "again-lib-$name"
          else
            check "$name: second rewrite runs" same_behaviour "$name" "$out.again"
          fi
        else
          fail "$name: second rewrite failed: $(head -2 "$name.again.err")"
        fi
        expect_error 2 "elfopt: error: $out: already has a prefetch stub (.elfopt.prefetch); rewrite the file without --prefetch, or its original with it" \
          "$ELFOPT" rewrite "$out" --random-order 5 --prefetch -o "$out.twice"
      fi
    done
  done
done
check "at least $((${#compilers[@]} * ${#linkers[@]} * 5)) builds ran ($built)" test "$built" -ge $((${#compilers[@]} * ${#linkers[@]} * 5))
check "libraries without DT_INIT got one ($noinit_added)" test "$noinit_added" -ge 1

# Without reordering: the stub reads the pages where the ordered functions
# are now, several ranges, and .text is byte for byte the original's.
gcc -O2 -fPIE -pie "$IN/subject.c" -o keep
symbols keep >keep.list
"$ELFOPT" rewrite keep --symbol-list keep.list --prefetch --keep-layout --prefetch-gap 0 --json -o keep.pf >keep.json
check "--keep-layout: .text unchanged" cmp <(objcopy -O binary -j .text keep /dev/stdout) \
  <(objcopy -O binary -j .text keep.pf /dev/stdout)
check "--keep-layout: same behaviour" same_behaviour keep keep.pf
check "--keep-layout: one madvise per range" \
  test "$(madvise_calls keep.pf)" = "$(json_field keep.json 'len(d["prefetch"]["ranges"])')"
"$ELFOPT" verify keep keep.pf >keep.verify
check "--keep-layout: verify checks every other section" grep -q "every other section and .dynamic entry checked unchanged" keep.verify
"$ELFOPT" rewrite keep --symbol-list keep.list --prefetch --keep-layout --prefetch-gap 0 --prefetch-ranges 1 --json -o keep.one >one.json
check "--prefetch-ranges 1: one range" test "$(json_field one.json 'len(d["prefetch"]["ranges"])')" = 1
check "--prefetch-ranges 1: one madvise" test "$(madvise_calls keep.one)" = 1

# verify catches a stub that jumps elsewhere: the jmp's last byte changed.
python3 - keep.pf keep.bad <<'PY'
import subprocess, sys
src, dst = sys.argv[1:]
data = bytearray(open(src, "rb").read())
line = [l for l in subprocess.run(["readelf", "-SW", src], capture_output=True, text=True).stdout.splitlines()
        if ".elfopt.prefetch" in l][0].split()
off, size = int(line[line.index(".elfopt.prefetch") + 3], 16), int(line[line.index(".elfopt.prefetch") + 4], 16)
data[off + size - 4] ^= 0x10
open(dst, "wb").write(data)
PY
chmod +x keep.bad
check "verify refuses a stub that continues elsewhere" bash -c "! '$ELFOPT' verify keep keep.bad >bad.out"
check "  and says where it should go" grep -q "does not end in a jump to" bad.out

# Page traces: the stub also reads the file pages the profile's page trace
# saw (pages.c reads a .rodata table in four 64 KiB windows), each widened
# to its fault-around window; without a page trace, code pages only.
gcc -O2 -o pages "$SRC/test/inputs/record/pages.c"
"$ELFOPT" record -o pages.json -- ./pages >/dev/null
"$ELFOPT" rewrite pages --profile pages.json --prefetch --prefetch-gap 0 --json -o pages.pf >pages-pf.json
check "page trace: same behaviour" same_behaviour pages pages.pf
check "page trace: one run's trace used" test "$(json_field pages-pf.json 'd["prefetch"]["tracedPageRuns"]')" = 1
table=$((16#$(nm pages | awk '$3 == "table" {print $1}')))
check "page trace: the table windows the program read are in the ranges" test "$(json_field pages-pf.json \
  "all(any(r['address'] <= $table + w * 65536 and $table + (w + 1) * 65536 <= r['address'] + r['size'] for r in d['prefetch']['ranges']) for w in (40, 3))")" = True
check "page trace: windows it did not read are not" test "$(json_field pages-pf.json \
  "any(r['address'] < $table + 31 * 65536 and $table + 30 * 65536 < r['address'] + r['size'] for r in d['prefetch']['ranges'])")" = False
check "page trace: one madvise per range" \
  test "$(madvise_calls pages.pf)" = "$(json_field pages-pf.json 'len(d["prefetch"]["ranges"])')"
"$ELFOPT" verify pages pages.pf >pages.verify
check "page trace: verify passes" grep -q "verify (prefetch stub): ok" pages.verify
"$ELFOPT" record --no-pages -o nopages.json -- ./pages >/dev/null
"$ELFOPT" rewrite pages --profile nopages.json --prefetch --prefetch-gap 0 -o pages.code >nopages.out
check "no page trace: said, and code pages only" grep -q "prefetch: no page trace in the order's source (record without --no-pages); prefetching the ordered functions' pages only" nopages.out
check "no page trace: same behaviour" same_behaviour pages pages.code

# The default plan (no --prefetch-gap): a small program's start faults its
# one page of ordered code in; the stub could read that page alone (one
# request, fewer bytes), but on a disk that saves nothing it would not pay
# up front. The plan leaves the stub out and says why, with the model's
# figures.
"$ELFOPT" rewrite keep --symbol-list keep.list --prefetch --keep-layout --json -o keep.default >default.json
"$ELFOPT" rewrite keep --symbol-list keep.list --prefetch --keep-layout -o keep.default >default.out
check "default plan: left out on a small program" test "$(json_field default.json 'd["prefetch"]["added"]')" = False
check "  no stub in the file" bash -c "! readelf -SW keep.default | grep -q '\.elfopt\.prefetch'"
check "  and same behaviour" same_behaviour keep keep.default
check "  the text report says so" grep -q "prefetch: left out, no stub added: no range of the .* saves more than it costs on every device planned for (every device class" default.out
check "  with the modelled figures of each device class" grep -q "prefetch: modelled: hdd .* emmc .* ssd .* nvme " default.out
check "  JSON: requests and bytes planned, faults" test "$(json_field default.json \
  '[d["prefetch"]["plan"][k] for k in ("requests", "bytes")] + [d["prefetch"]["plan"]["leftOut"]["faults"] > 0]')" = "[0, 0, True]"
# pages.c's windows, 64 KiB each, some 10 windows apart: no read of a gap
# pays (a disk's seek costs less than the bytes on eMMC and SSDs); each
# window alone would be a read for its fault, and the stub's own fault one
# more on a disk: the default leaves them all out.
"$ELFOPT" rewrite pages --profile pages.json --prefetch --json -o pages.default >pages-default.json
check "default plan: pages.c's scattered windows left out" test "$(json_field pages-default.json 'd["prefetch"]["added"]')" = False
check "  and same behaviour" same_behaviour pages pages.default
# At most one range: the windows joined would read 3 MiB for a few faults
# (left out, and said); the code page across the hole stays apart.
"$ELFOPT" rewrite pages --profile pages.json --prefetch --prefetch-ranges 1 --json -o pages.one >pages-one.json
"$ELFOPT" rewrite pages --profile pages.json --prefetch --prefetch-ranges 1 -o pages.one >pages-one.out
check "--prefetch-ranges 1: what does not pay is left out" grep -q "prefetch: left out 1 ranges, .* each would cost more reads or bytes" pages-one.out
check "  JSON: its faults left to the start" test "$(json_field pages-one.json \
  'd["prefetch"]["plan"]["leftOut"]["faults"] > 0 and d["prefetch"]["plan"]["leftOut"]["ranges"] == 1')" = True
"$ELFOPT" rewrite pages --profile pages.json --prefetch --prefetch-device hdd --json -o pages.hdd >pages-hdd.json
check "--prefetch-device hdd: planned for the disk alone" \
  test "$(json_field pages-hdd.json 'd["prefetch"]["plan"]["plannedFor"]')" = hdd
check "  one madvise per planned read" \
  test "$(madvise_calls pages.hdd)" = "$(json_field pages-hdd.json 'd["prefetch"]["plan"]["requests"]')"

# Usage.
expect_error 1 "elfopt: error: --prefetch-gap, --prefetch-ranges, --prefetch-device and --keep-layout go with --prefetch (see 'elfopt help rewrite')" \
  "$ELFOPT" rewrite keep --random-order 1 --keep-layout -o x
expect_error 1 "elfopt: error: --prefetch needs an order: --profile, --order, --symbol-list or --random-order (see 'elfopt help rewrite')" \
  "$ELFOPT" rewrite keep --prefetch --dynsort -o x
expect_error 1 "elfopt: error: --prefetch-device is hdd, emmc, ssd or nvme, not 'floppy' (see 'elfopt help rewrite')" \
  "$ELFOPT" rewrite keep --random-order 1 --prefetch --prefetch-device floppy -o x
finish
