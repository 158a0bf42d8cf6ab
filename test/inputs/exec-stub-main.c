/* Program of the edit-exec-segment test: it calls machine code that
   `elfopt edit --add-code-section` put into this program, or into the shared
   library whose name contains argv[1], and prints what the code returns.
   usage: main OBJECT OFFSET [tag]

   The code is found at run time through the object's own program headers,
   as a startup stub would find itself: OFFSET bytes into the object's last
   executable PT_LOAD (the new one), and through a dynamic entry (tag
   STUB_TAG) holding its link-time address. Where the file has a spare
   dynamic slot (not with lld) and a .dynamic at all (not static), the test
   asks for the tag with "tag", and both routes must agree. */
#define _GNU_SOURCE
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STUB_TAG 0x6ffffdf9 /* DT_PLTPADSZ: a Solaris tag glibc ignores */

struct search {
  const char *object; /* "" for the program itself */
  int first;
  int found;
  uintptr_t byTag, byLoad;
};

static int visit(struct dl_phdr_info *info, size_t size, void *arg) {
  struct search *s = arg;
  (void)size;
  int isProgram = s->first; /* the program is reported first */
  s->first = 0;
  if (*s->object ? !strstr(info->dlpi_name, s->object) : !isProgram)
    return 0;
  s->found = 1;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr) *p = &info->dlpi_phdr[i];
    /* PT_LOAD entries are sorted by address: the last executable one wins. */
    if (p->p_type == PT_LOAD && (p->p_flags & PF_X))
      s->byLoad = info->dlpi_addr + p->p_vaddr;
    if (p->p_type != PT_DYNAMIC)
      continue;
    /* glibc relocates only the tags it uses in place; this one keeps its
       link-time value. */
    for (const ElfW(Dyn) *d = (const ElfW(Dyn) *)(info->dlpi_addr + p->p_vaddr);
         d->d_tag != DT_NULL; ++d)
      if (d->d_tag == STUB_TAG)
        s->byTag = info->dlpi_addr + d->d_un.d_ptr;
  }
  return 1;
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s OBJECT OFFSET [tag]\n", argv[0]);
    return 2;
  }
  struct search s = {argv[1], 1, 0, 0, 0};
  int wantTag = argc > 3 && !strcmp(argv[3], "tag");
  dl_iterate_phdr(visit, &s);
  if (!s.found || !s.byLoad) {
    printf("no executable segment found in '%s'\n", s.object);
    return 1;
  }
  s.byLoad += strtoul(argv[2], NULL, 0);
  if (wantTag && s.byTag != s.byLoad) {
    printf("the dynamic entry says %#lx, the last executable segment %#lx\n",
           (unsigned long)s.byTag, (unsigned long)s.byLoad);
    return 1;
  }
  int (*stub)(void) = (int (*)(void))s.byLoad;
  printf("stub returned %d\n", stub());
  return 0;
}
