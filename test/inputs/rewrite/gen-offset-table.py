#!/usr/bin/env python3
"""gen-offset-table.py N: many.c with N functions f0..f(N-1) that main
calls through offs.S's table of 4-byte offsets (`.long fI - offs`), words
that nothing proves to be code references (as offset-calls.S), so every
function moves only with forwarding stubs; and order.txt, every fourth
function: in .text, the ordered ones find no slot among the stubs and the
unordered ones that stay."""
import sys
n = int(sys.argv[1])
with open("many.c", "w") as c:
    c.write("#include <stdio.h>\nextern const int offs[];\n")
    for i in range(n):
        body = "".join(f"  a = a * {3 + k} + {i + k}; a ^= a >> {1 + k % 5};\n" for k in range(12))
        c.write(f"int f{i}(int x) {{\n  volatile int a = x;\n{body}  return a;\n}}\n")
    c.write(f"""int main(void) {{
  long s = 0;
  for (int i = 0; i < {n}; i += 7) {{
    int (*p)(int) = (int (*)(int))((const char *)offs + offs[i]);
    s += p(i);
  }}
  printf("%ld\\n", s);
  return 0;
}}
""")
with open("offs.S", "w") as s:
    s.write("\t.section .rodata\n\t.balign 4\n\t.globl offs\noffs:\n")
    for i in range(n):
        s.write(f"\t.long f{i} - offs\n")
    s.write('\t.section .note.GNU-stack,"",@progbits\n')
with open("order.txt", "w") as o:
    for i in range(0, n, 4):
        o.write(f"f{i}\n")
