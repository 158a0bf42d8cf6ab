#!/usr/bin/env bash
# Adding code: `elfopt edit --add-code-section` puts a small function
# (endbr64; mov $42, %eax; ret) into a new readable and executable PT_LOAD,
# alone or next to a read-only section added at the same time, in PIE,
# non-PIE, static and static-PIE executables and in a shared library, built
# by GCC and Clang and linked by ld.bfd, gold, lld and mold. The program
# (test/inputs/exec-stub-main.c) finds the function through its own program
# headers and dynamic entries and calls it. Each output must: print what the
# function returns; make nothing else executable but the sections moved for
# the program headers when only code is added; keep the added read-only
# section in a read-only segment; add no eu-elflint complaint; and still run
# after strip and objcopy (BFD and LLVM). Static executables have room for
# one new program header only: code and data together give a clear error.
# Under the sanitizers only GCC's programs are edited: the compiler changes
# little of what elfopt reads, and every linker and kind still runs.
source "$(dirname "$0")/lib.sh"
require gcc clang-19 eu-elflint python3 strip objcopy llvm-strip-19 llvm-objcopy-19 \
  ld.gold mold /usr/lib/llvm-19/bin/ld.lld

DT_PLTPADSZ=0x6ffffdf9 # the tag the program reads (STUB_TAG)
printf '\xf3\x0f\x1e\xfa\xb8\x2a\x00\x00\x00\xc3' >"$WORK/stub.bin"
head -c 20000 /dev/urandom >"$WORK/data.bin"
IN=$SRC/test/inputs
EXPECTED="stub returned 42"$'\n'"status=0"
combos=0

# Where each section landed: "NAME FLAGS OFFSET" per allocated section,
# FLAGS those of the PT_LOAD that maps it (R, RX, RW...) and OFFSET its
# place in that segment; then misaligned PT_LOAD entries, if any.
cat >"$WORK/segments.py" <<'PY'
import struct, sys
f = open(sys.argv[1], "rb").read()
phoff, shoff = struct.unpack_from("<QQ", f, 0x20)
phnum, _, shnum, shstrndx = struct.unpack_from("<HHHH", f, 0x38)
phdrs = [struct.unpack_from("<IIQQQQQQ", f, phoff + 56 * i) for i in range(phnum)]
shdrs = [struct.unpack_from("<IIQQQQIIQQ", f, shoff + 64 * i) for i in range(shnum)]
strtab = shdrs[shstrndx][4]
def name(sh):
    return f[strtab + sh[0]:f.index(b"\0", strtab + sh[0])].decode()
def flags(p):
    return "R" * bool(p[1] & 4) + "W" * bool(p[1] & 2) + "X" * bool(p[1] & 1)
loads = [p for p in phdrs if p[0] == 1]
for sh in shdrs[1:]:
    if not sh[2] & 2 or sh[1] == 8 or sh[5] == 0:  # SHF_ALLOC, SHT_NOBITS
        continue
    covering = [p for p in loads if p[3] <= sh[3] and sh[3] + sh[5] <= p[3] + p[5]]
    if covering:
        print(name(sh), flags(covering[0]), hex(sh[3] - covering[0][3]))
    else:
        print(name(sh), "none")
for p in loads:
    if p[2] % 4096 != p[3] % 4096:
        print("misaligned PT_LOAD at", hex(p[3]))
PY

# Checks one grown file: where its sections are, eu-elflint, the program's
# output, and the same after strip and objcopy.
check_file() { # WHAT ORIGINAL GROWN HAS_DATA MOVED RUN...
  local what=$1 orig=$2 grown=$3 has_data=$4 moved=$5
  shift 5
  local map
  map=$(python3 "$WORK/segments.py" "$grown")
  if grep -q "^.elfopt.stub RX " <<<"$map"; then pass; else
    fail "$what: .elfopt.stub is not in an executable segment: $map"
  fi
  # Nothing else becomes executable but, when the stub comes alone, the
  # sections moved for the program headers, which share its segment (gold
  # maps them executable already).
  local unexpected
  unexpected=$(comm -23 \
    <(comm -13 <(python3 "$WORK/segments.py" "$orig" | awk '$2 ~ /X/ {print $1}' | sort) \
      <(awk '$2 ~ /X/ {print $1}' <<<"$map" | sort)) \
    <( (echo .elfopt.stub; [[ $has_data == no ]] && tr ' ' '\n' <<<"$moved") | sort) |
    tr '\n' ' ')
  if [[ -z $unexpected ]]; then pass; else
    fail "$what: newly executable: $unexpected"
  fi
  if [[ $has_data == yes ]]; then
    if grep -q "^.elfopt.data R " <<<"$map"; then pass; else
      fail "$what: .elfopt.data is not in a read-only segment: $map"
    fi
  fi
  if grep -q misaligned <<<"$map"; then fail "$what: $map"; else pass; fi
  check_elflint_same "$what" "$orig" "$grown"
  same_output "$what" "$@"
  check_after_strip_and_objcopy "$what" "$orig" "$grown" same_output "$@"
}

same_output() { # WHAT COMMAND...
  local what=$1
  shift
  local got
  got=$("$@" 2>&1; echo "status=$?")
  if [[ $got == "$EXPECTED" ]]; then pass; else fail "$what: the program printed: $got"; fi
}

compilers=(gcc clang-19)
[[ ${ELFOPT_SANITIZED:-0} == 1 ]] && compilers=(gcc)
for cc in "${compilers[@]}"; do
  for ld in bfd gold lld mold; do
    case $ld in
    lld) ldflags=(--ld-path=/usr/lib/llvm-19/bin/ld.lld) ;;
    *) ldflags=(-fuse-ld=$ld) ;;
    esac
    [[ $cc == gcc && $ld == lld ]] && ldflags=(-B/usr/lib/llvm-19/bin -fuse-ld=lld)
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
          $cc -O2 "${ldflags[@]}" -o "$dir/main" "$IN/exec-stub-main.c" -L"$dir" \
            -Wl,--no-as-needed -lgrow
        subject=$dir/libgrow.so
        run=(env LD_LIBRARY_PATH="$dir/grown" "$dir/main" libgrow)
      else
        $cc -O2 "${flags[@]}" "${ldflags[@]}" -o "$dir/main" "$IN/exec-stub-main.c"
        subject=$dir/main
        run=("$dir/grown/main" "") # "": the program itself
      fi
      if [[ $? != 0 ]]; then
        fail "$what: could not build the test program"
        continue
      fi
      combos=$((combos + 1))
      # Spare DT_NULL slots: ld.bfd, gold and mold leave some, lld none.
      args=() tag=()
      if [[ $ld != lld && $mode != static ]]; then
        args=(--add-dynamic "$DT_PLTPADSZ=@.elfopt.stub")
        tag=(tag)
      fi
      grown=$dir/grown/$(basename "$subject")
      for kind in code code+data; do
        extra=()
        has_data=no
        if [[ $kind == code+data ]]; then
          extra=(--add-section .elfopt.data="$WORK/data.bin")
          has_data=yes
        fi
        rm -f "$grown"
        "$ELFOPT" edit "$subject" -o "$grown" "${extra[@]}" \
          --add-code-section .elfopt.stub="$WORK/stub.bin" "${args[@]}" --json \
          >"$WORK/edit.json" 2>"$WORK/edit.err"
        status=$?
        if [[ $mode == static && $kind == code+data ]]; then
          # The notes after the program headers leave room for one entry;
          # the relocations after them cannot move.
          if [[ $status == 2 && ! -e $grown ]] &&
            grep -q "^elfopt: error: $subject: no room to add 2 program headers: section '.rela.[a-z]*' follows the program header table and cannot be moved$" "$WORK/edit.err"; then
            pass
          else
            fail "$what ($kind): expected no room for 2 program headers, got status $status: $(cat "$WORK/edit.err")"
          fi
          continue
        fi
        if [[ $status != 0 ]]; then
          fail "$what ($kind): elfopt edit failed: $(cat "$WORK/edit.err")"
          continue
        fi
        pass
        moved=$(python3 -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["movedSections"]))' "$WORK/edit.json")
        # Where the stub is in its segment: after the moved sections when
        # only code is added, at its start otherwise.
        offset=$(python3 "$WORK/segments.py" "$grown" | awk '$1 == ".elfopt.stub" {print $3}')
        check_file "$what ($kind)" "$subject" "$grown" "$has_data" "$moved" \
          "${run[@]}" "${offset:-0}" "${tag[@]}"
      done
    done
  done
done
[[ $mode == shared ]] # keep shellcheck quiet about the loop variable
echo "edit-exec-segment: $combos combinations built and given code"

# The command line: NAME=FILE is required, and @NAME may name a code section.
expect_error 1 "elfopt: error: --add-code-section takes NAME=FILE, got '.x' (see 'elfopt help edit')" \
  "$ELFOPT" edit "$WORK/gcc-bfd-pie/main" -o "$WORK/x" --add-code-section .x
check "help edit documents --add-code-section" \
  bash -c '"$ELFOPT" help edit | grep -q -- "--add-code-section NAME=FILE"'
finish
