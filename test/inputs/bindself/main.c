// The program of test/shell/bind-self.sh. Non-PIC, so that it holds a copy
// of a_copy (a copy relocation) and a canonical PLT address of a_fnptr: two
// of liba's own definitions it must keep looking up. With --slots OFFSET...
// it prints, at main, the words at those offsets from liba's load address:
// what the loader wrote into liba's slots, as object+offset.
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
extern int a_copy;
int a_fnptr(void);
void a_report(void);
void *a_get_fnptr(void);
int *a_get_copy(void);

static int findLiba(struct dl_phdr_info *info, size_t size, void *base) {
  (void)size;
  if (strstr(info->dlpi_name, "/liba.so") || strcmp(info->dlpi_name, "liba.so") == 0)
    *(ElfW(Addr) *)base = info->dlpi_addr;
  return 0;
}

// Which object's loaded segments hold an address: its file name and the
// offset from its load address ("main" for the program).
struct Where {
  unsigned long address;
  char name[256];
  unsigned long offset;
};
static int findObject(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct Where *w = data;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    unsigned long start = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_LOAD && w->address >= start && w->address < start + p->p_memsz) {
      const char *slash = strrchr(info->dlpi_name, '/');
      snprintf(w->name, sizeof w->name, "%s", *info->dlpi_name ? (slash ? slash + 1 : info->dlpi_name) : "main");
      w->offset = w->address - info->dlpi_addr;
      return 1;
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--slots") == 0) {
    ElfW(Addr) base = 0;
    dl_iterate_phdr(findLiba, &base);
    for (int i = 2; i < argc; ++i) {
      unsigned long offset = strtoul(argv[i], NULL, 0);
      unsigned long word = *(unsigned long *)(base + offset);
      // An address prints as the object that holds it and the offset in
      // it, the same whatever address each object was loaded at.
      struct Where w = {word, "", 0};
      if (dl_iterate_phdr(findObject, &w))
        printf("0x%lx: %s+0x%lx\n", offset, w.name, w.offset);
      else
        printf("0x%lx: 0x%lx\n", offset, word);
    }
    return 0;
  }
  a_report();
  printf("copy=%d same copy=%d same fnptr=%d\n", a_copy, a_get_copy() == &a_copy, (void *)a_fnptr == a_get_fnptr());
  return 0;
}
