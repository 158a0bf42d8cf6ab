#!/usr/bin/env bash
# Growing a linked file: a 1 MiB section in a new PT_LOAD and one new dynamic
# entry, on PIE, non-PIE, static and static-PIE executables and on a shared
# library used by a program; built by GCC and Clang, linked by ld.bfd, gold,
# lld and mold. Each output must run with the original's output and status,
# show the new segment, add no eu-elflint complaint, and survive strip and
# objcopy (BFD and LLVM), which corrupt binaries grown by other tools.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 eu-elflint llvm-readelf-19 strip objcopy llvm-strip-19 llvm-objcopy-19 \
  ld.gold mold /usr/lib/llvm-19/bin/ld.lld

DT_PLTPADSZ=0x6ffffdf9 # a Solaris tag: glibc ignores it, eu-elflint knows it
head -c 1048576 /dev/urandom >"$WORK/blob"
IN=$SRC/test/inputs
combos=0

# run_same ORIGINAL_CMD GROWN_CMD...: same stdout and exit status
same_behaviour() {
  local what=$1 expected=$2
  shift 2
  local got
  got=$("$@" arg 2>&1; echo "status=$?")
  if [[ $got == "$expected" ]]; then pass; else fail "$what: output differs: $got"; fi
}

check_grown() { # DESCRIPTION ORIGINAL GROWN EXPECTED_OUTPUT RUN_PREFIX...
  local what=$1 orig=$2 grown=$3 expected=$4 dynamic=$5
  shift 5
  # The new segment: read-only, at least 1 MiB.
  local last_load
  last_load=$(llvm-readelf-19 -lW "$grown" | awk '$1=="LOAD" {size=$5; flags=$7; if ($8 !~ /^0x/) flags=flags $8} END {print size, flags}')
  if [[ ${last_load#* } == R ]] && ((${last_load% *} >= 1048576)); then
    pass
  else
    fail "$what: no new read-only PT_LOAD of 1 MiB"
  fi
  if [[ $dynamic == yes ]]; then
    local addr
    addr=$(llvm-readelf-19 -SW "$grown" | awk '$2==".elfopt.test" {print $4}')
    local value
    value=$(llvm-readelf-19 -dW "$grown" | awk '$1=="0x000000006ffffdf9" {print $NF}')
    if [[ -n $value && $((value)) == $((16#$addr)) ]]; then pass; else
      fail "$what: DT_PLTPADSZ entry does not hold the new section's address $addr"
    fi
  fi
  check_elflint_same "$what" "$orig" "$grown"
  same_behaviour "$what" "$expected" "$@"
  # The grown file through strip and objcopy still runs.
  check_after_strip_and_objcopy "$what" "$orig" "$grown" same_behaviour "$expected" "$@"
}

for cc in gcc clang-19; do
  for ld in bfd gold lld mold; do
    case $ld in
    lld) ldflags=(--ld-path=/usr/lib/llvm-19/bin/ld.lld) ;;
    *) ldflags=(-fuse-ld=$ld) ;;
    esac
    [[ $cc == gcc && $ld == lld ]] && ldflags=(-B/usr/lib/llvm-19/bin -fuse-ld=lld)
    # Spare DT_NULL slots: ld.bfd, gold and mold leave some, lld none.
    dynamic=yes
    [[ $ld == lld ]] && dynamic=no
    for mode in pie nopie static static-pie shared; do
      [[ $mode == static-pie && $ld != bfd ]] && continue
      dir=$WORK/$cc-$ld-$mode
      mkdir -p "$dir/grown"
      what="$cc/$ld/$mode"
      case $mode in
      pie) flags=(-fPIE -pie) ;;
      nopie) flags=(-fno-pie -no-pie) ;;
      static) flags=(-static) ;;
      static-pie) flags=(-fPIE -static-pie) ;;
      shared) flags=() ;;
      esac
      if [[ $mode == shared ]]; then
        $cc -O2 -fPIC -shared "${ldflags[@]}" -o "$dir/libgrow.so" "$IN/grow-lib.c" &&
          $cc -O2 "${ldflags[@]}" -o "$dir/main" "$IN/grow-main.c" -L"$dir" -lgrow
        subject=$dir/libgrow.so
        run=(env LD_LIBRARY_PATH="$dir/grown" "$dir/main")
      else
        $cc -O2 "${flags[@]}" "${ldflags[@]}" -DGROW_ONE_FILE -I"$IN" -o "$dir/main" "$IN/grow-main.c"
        subject=$dir/main
        run=("$dir/grown/main")
      fi
      if [[ $? != 0 ]]; then
        fail "$what: could not build the test program"
        continue
      fi
      combos=$((combos + 1))
      expected=$(LD_LIBRARY_PATH="$dir" "$dir/main" arg 2>&1; echo "status=$?")
      grown=$dir/grown/$(basename "$subject")
      has_dynamic=$dynamic
      [[ $mode == static ]] && has_dynamic=no
      args=(--add-section .elfopt.test="$WORK/blob")
      [[ $has_dynamic == yes ]] && args+=(--add-dynamic "$DT_PLTPADSZ=@.elfopt.test")
      if ! "$ELFOPT" edit "$subject" -o "$grown" "${args[@]}"; then
        fail "$what: elfopt edit failed"
        continue
      fi
      pass
      check_grown "$what" "$subject" "$grown" "$expected" "$has_dynamic" "${run[@]}"
      # Where there is no spare slot, the error says so and writes nothing.
      if [[ $ld == lld && $mode != static ]]; then
        expect_error 2 "elfopt: error: $subject: no spare DT_NULL slot in .dynamic ($(llvm-readelf-19 -d "$subject" | grep -c '^ *0x') slots, none spare) for a new dynamic entry; ld.bfd, gold and mold leave spare slots, lld does not" \
          "$ELFOPT" edit "$subject" -o "$dir/nodyn" --add-dynamic "$DT_PLTPADSZ=1"
        check "$what: no output after error" test ! -e "$dir/nodyn"
      fi
    done
  done
done
[[ $mode == static ]] # keep shellcheck quiet about the loop variable
echo "edit-grow: $combos combinations built and grown"
expect_error 2 "elfopt: error: $WORK/gcc-bfd-static/main: no dynamic section (PT_DYNAMIC): cannot add dynamic entries to a statically linked file" \
  "$ELFOPT" edit "$WORK/gcc-bfd-static/main" -o "$WORK/x" --add-dynamic "$DT_PLTPADSZ=1"
finish
