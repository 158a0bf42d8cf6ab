// A library to preload (ld.so --preload) that writes, once every object of
// the start is relocated and before any other constructor runs that could
// change them, the word in every slot a symbolic relocation filled: for
// each object, each R_X86_64_GLOB_DAT, JUMP_SLOT and 64 relocation against
// a named symbol, the object holding the word's address and the offset in
// it. Run with LD_BIND_NOW=1 so that lazy PLT slots are bound too. Two
// starts of one program whose objects were loaded at other addresses, or
// rewritten (bench/bind-self.sh), print the same lines when every slot got
// the same address. Defines no symbol another object could bind to. A
// word outside every object was written after relocation (by a constructor
// that ran first) and prints as such.
// With SLOT_DUMP_SLOTS naming an earlier output (the original's), it reads
// the words of exactly those slots instead, by object and offset: a
// rewritten object may fill a slot another way (--bind-self makes a
// load-time relocation against its own definition R_X86_64_RELATIVE).
// Output: the file named by SLOT_DUMP_OUT, one line per slot, unsorted.
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct Where {
  ElfW(Addr) address;
  const char *name;
  ElfW(Addr) offset;
};

static const char *baseName(const char *path) {
  const char *slash = strrchr(path, '/');
  return *path ? (slash ? slash + 1 : path) : "main";
}

static int findObject(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  struct Where *w = data;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    ElfW(Addr) start = info->dlpi_addr + p->p_vaddr;
    if (p->p_type == PT_LOAD && w->address >= start && w->address < start + p->p_memsz) {
      w->name = baseName(info->dlpi_name);
      w->offset = w->address - info->dlpi_addr;
      return 1;
    }
  }
  return 0;
}

static FILE *out;

// glibc relocates the address entries of a writable .dynamic in place.
static ElfW(Addr) pointer(ElfW(Addr) value, ElfW(Addr) base) { return value < base ? value + base : value; }

static void printSlot(const char *object, const char *symbol, ElfW(Addr) offset, ElfW(Addr) word) {
  struct Where w = {word, NULL, 0};
  if (dl_iterate_phdr(findObject, &w))
    fprintf(out, "%s %s @0x%lx -> %s+0x%lx\n", object, symbol, (unsigned long)offset, w.name, (unsigned long)w.offset);
  else // written since (a constructor's heap pointer): no lookup's answer
    fprintf(out, "%s %s @0x%lx -> outside every object\n", object, symbol, (unsigned long)offset);
}

static void dumpRelocations(const char *object, ElfW(Addr) base, const ElfW(Rela) *rela, size_t bytes,
                            const ElfW(Sym) *symtab, const char *strtab) {
  for (size_t k = 0; k < bytes / sizeof *rela; ++k) {
    unsigned type = ELF64_R_TYPE(rela[k].r_info), sym = ELF64_R_SYM(rela[k].r_info);
    if (sym == 0 || (type != R_X86_64_GLOB_DAT && type != R_X86_64_JUMP_SLOT && type != R_X86_64_64))
      continue;
    printSlot(object, strtab + symtab[sym].st_name, rela[k].r_offset, *(ElfW(Addr) *)(base + rela[k].r_offset));
  }
}

// The slots an earlier output lists, one "object symbol @0xOFFSET ..." per line.
static FILE *listed;

static int dumpListed(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  const char *object = baseName(info->dlpi_name);
  char line[4096], name[1024], symbol[2048];
  unsigned long offset;
  rewind(listed);
  while (fgets(line, sizeof line, listed))
    if (sscanf(line, "%1023s %2047s @0x%lx", name, symbol, &offset) == 3 && strcmp(name, object) == 0)
      printSlot(object, symbol, offset, *(ElfW(Addr) *)(info->dlpi_addr + offset));
  return 0;
}

static int dumpObject(struct dl_phdr_info *info, size_t size, void *data) {
  (void)size;
  (void)data;
  const char *object = baseName(info->dlpi_name);
  if (strstr(object, "slot-dump") || strncmp(object, "linux-vdso", 10) == 0)
    return 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    if (info->dlpi_phdr[i].p_type != PT_DYNAMIC)
      continue;
    const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + info->dlpi_phdr[i].p_vaddr);
    ElfW(Addr) base = info->dlpi_addr, symtab = 0, strtab = 0, rela = 0, jmprel = 0;
    size_t relasz = 0, pltrelsz = 0;
    for (; d->d_tag != DT_NULL; ++d)
      switch (d->d_tag) {
      case DT_SYMTAB: symtab = pointer(d->d_un.d_ptr, base); break;
      case DT_STRTAB: strtab = pointer(d->d_un.d_ptr, base); break;
      case DT_RELA: rela = pointer(d->d_un.d_ptr, base); break;
      case DT_RELASZ: relasz = d->d_un.d_val; break;
      case DT_JMPREL: jmprel = pointer(d->d_un.d_ptr, base); break;
      case DT_PLTRELSZ: pltrelsz = d->d_un.d_val; break;
      }
    if (!symtab || !strtab)
      return 0;
    if (rela)
      dumpRelocations(object, base, (const ElfW(Rela) *)rela, relasz, (const ElfW(Sym) *)symtab, (const char *)strtab);
    if (jmprel)
      dumpRelocations(object, base, (const ElfW(Rela) *)jmprel, pltrelsz, (const ElfW(Sym) *)symtab, (const char *)strtab);
  }
  return 0;
}

__attribute__((constructor(101))) static void slotDump(void) {
  const char *path = getenv("SLOT_DUMP_OUT");
  if (!path || !(out = fopen(path, "w")))
    return;
  const char *slots = getenv("SLOT_DUMP_SLOTS");
  if (slots && (listed = fopen(slots, "r"))) {
    dl_iterate_phdr(dumpListed, NULL);
    fclose(listed);
  } else {
    dl_iterate_phdr(dumpObject, NULL);
  }
  fclose(out);
}
