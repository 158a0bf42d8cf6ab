#!/usr/bin/env bash
# The rewrite correctness matrix: test/inputs/rewrite/subject.{c,cpp} built
# with {gcc, clang} x {-O0, -O2 (+ -ffunction-sections -g), -O3} x {PIE,
# non-PIE, shared library + program, static} x {ld.bfd, gold, lld, mold},
# each linked with --emit-relocs. For every combination whose original
# builds and runs: rewrite with a random order, and (at -O2) with the order
# recorded from the program itself; the result must print the same output
# and exit status, pass `elfopt verify` (rewrite runs it; it is also run
# here), leave eu-elflint with nothing new to say, and survive strip,
# objcopy and a second rewrite with another order. Under the sanitizers only the
# -O2 column runs, to stay within CI's time.
source "$(dirname "$0")/lib.sh"
require gcc g++ clang-19 clang++-19 ld.bfd ld.gold ld.lld mold eu-elflint
cd "$WORK"
IN=$SRC/test/inputs/rewrite
opts=(-O0 -O2 -O3)
[[ ${ELFOPT_SANITIZED:-0} == 1 ]] && opts=(-O2)
ran=0 skipped=0

for lang in c cpp; do
  for cc in gcc clang; do
    compiler=$(compiler_for $lang $cc)
    for opt in "${opts[@]}"; do
      flags=($opt)
      [[ $opt == -O2 ]] && flags+=(-ffunction-sections -g)
      for kind in pie nopie shared static; do
        for ld in bfd gold lld mold; do
          name=$lang-$cc$opt-$kind-$ld
          src=$IN/subject.$lang
          link=(-fuse-ld=$ld -Wl,--emit-relocs)
          target=$name
          case $kind in
          pie) build=("$compiler" "${flags[@]}" -fPIE -pie "${link[@]}" "$src" -o "$name") ;;
          nopie) build=("$compiler" "${flags[@]}" -fno-pie -no-pie "${link[@]}" "$src" -o "$name") ;;
          static) build=("$compiler" "${flags[@]}" -static "${link[@]}" "$src" -o "$name") ;;
          shared)
            target=lib$name.so
            build=(sh -c "$compiler ${flags[*]} -fPIC -shared -Dmain=subject_main ${link[*]} $src -o lib$name.so &&
                          mkdir -p orig-$name new-$name && cp lib$name.so orig-$name/libsubject.so &&
                          gcc -O2 $IN/driver.c -L orig-$name -lsubject -o $name") ;;
          esac
          # Combinations the toolchain itself cannot build or run are not ours
          # to test (e.g. mold aborts on C++ non-PIE with --emit-relocs here).
          if ! "${build[@]}" >build.log 2>&1; then
            skipped=$((skipped + 1))
            continue
          fi
          libdir=
          [[ $kind == shared ]] && libdir=orig-$name
          run_and_capture "$name" "$name.check" "$libdir"
          if ! grep -q "exit 0\|exit 31\|exit 3[0-9]" "$name.check"; then
            skipped=$((skipped + 1))
            continue
          fi
          ran=$((ran + 1))
          rewritten=$target.r
          if ! "$ELFOPT" rewrite "$target" --random-order $ran -o "$rewritten" >"$name.rewrite" 2>&1; then
            fail "$name: rewrite failed: $(tail -3 "$name.rewrite")"
            continue
          fi
          check "$name: verify" "$ELFOPT" verify "$target" "$rewritten" >/dev/null
          if [[ $kind == shared ]]; then
            cp "$rewritten" "new-$name/libsubject.so"
            check "$name: same output and exit status (random order)" \
              same_behaviour "$name" "$name" "orig-$name" "new-$name"
          else
            check "$name: same output and exit status (random order)" same_behaviour "$name" "$rewritten"
          fi
          # The output stays a normal binary: rewritable again, strippable.
          check "$name: rewrites again" "$ELFOPT" rewrite "$rewritten" --random-order 99 -o "$rewritten.2" >/dev/null
          if [[ $kind != shared ]]; then
            check "$name: second rewrite runs the same" same_behaviour "$name" "$rewritten.2"
            check "$name: strip works on the output" strip -o "$rewritten.stripped" "$rewritten"
            check "$name: the stripped output runs the same" same_behaviour "$name" "$rewritten.stripped"
            check "$name: objcopy works on the output" objcopy "$rewritten" "$rewritten.copied"
            check "$name: the copied output runs the same" same_behaviour "$name" "$rewritten.copied"
          fi
          # eu-elflint says nothing it did not say about the original.
          lint() { eu-elflint --gnu-ld "$1" 2>&1 | sed "s|$1|FILE|g"; }
          check "$name: eu-elflint reports nothing new" cmp -s <(lint "$target") <(lint "$rewritten")
          # A recorded order, as a user would get it.
          if [[ $opt == -O2 && $kind != shared ]]; then
            # record exits with the program's status; the profile is what counts.
            "$ELFOPT" record -o "$name.profile" -- "./$name" >/dev/null 2>&1
            if [[ -s $name.profile ]]; then
              check "$name: rewrite with the recorded order" \
                "$ELFOPT" rewrite "$name" --profile "$name.profile" -o "$name.rec" >/dev/null
              check "$name: same output (recorded order)" same_behaviour "$name" "$name.rec"
            else
              fail "$name: record failed"
            fi
          fi
        done
      done
    done
  done
done
echo "rewrite-matrix: $ran combinations ran, $skipped not buildable or runnable here"
check "at least 100 combinations ran (or 40 under the sanitizers)" \
  test "$ran" -ge "$([[ ${ELFOPT_SANITIZED:-0} == 1 ]] && echo 40 || echo 100)"
finish
