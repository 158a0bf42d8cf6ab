# gen-switches.sh DIR FILES FUNCS: writes DIR/unit*.c and DIR/main.c, a C program of
# FILES translation units with FUNCS (+0..2) switch-heavy functions each. Case
# counts differ from function to function and each unit's .rodata is 8-byte
# aligned, so many jump tables end with a 4-byte entry followed by padding:
# read as one 8-byte word, such an entry looks like an address in .text when
# the linker puts .rodata below .text (lld, mold).
dir=$1 files=$2 funcs=$3
mkdir -p "$dir"
for ((u = 0; u < files; u++)); do
  n=$((funcs + u % 3))
  {
    echo "static const long weights[3] = {$((u + 1)), $((u * 3 + 2)), $((u + 7))};"
    for ((f = 0; f < n; f++)); do
      cases=$((5 + (f + u) % 6))
      echo "__attribute__((noinline)) int sw${u}_$f(int x, int y) {"
      echo "  switch (x) {"
      for ((c = 0; c < cases; c++)); do
        echo "  case $c: y = y * $((c + 3)) + $((f * 7 + c + u)); if (y & 1) y ^= $((c * 13 + f)); break;"
      done
      echo "  default: y -= weights[(unsigned)x % 3];"
      echo "  }"
      echo "  return y;"
      echo "}"
    done
    echo "int (*const unit$u[])(int, int) = {"
    for ((f = 0; f < n; f++)); do echo "  sw${u}_$f,"; done
    echo "};"
  } >"$dir/unit$u.c"
done
{
  echo '#include <stdio.h>'
  for ((u = 0; u < files; u++)); do echo "extern int (*const unit$u[])(int, int);"; done
  echo "static int (*const *const units[])(int, int) = {"
  for ((u = 0; u < files; u++)); do echo "  unit$u,"; done
  echo "};"
  echo 'int main(int argc, char **argv) {'
  echo '  unsigned h = 1;'
  echo "  for (int u = 0; u < $files; u++) for (int f = 0; f < $funcs; f++) for (int x = -1; x < 12; x++) h = h * 31 + (unsigned)units[u][f](x, f + u + argc);"
  echo '  printf("%u\n", h);'
  echo '  return 0;'
  echo '}'
} >"$dir/main.c"
