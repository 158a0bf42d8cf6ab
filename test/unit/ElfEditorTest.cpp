// The editor on small files built here byte by byte, so each test states the
// exact layout it starts from.
#include "elfopt/Edit/ElfEditor.h"
#include "Support.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace elfopt;
using namespace elfopt::test;
using namespace llvm::ELF;

namespace {

constexpr uint64_t Base = 0x400000;

// An executable with PT_LOAD (whole file, R+X), PT_NOTE and PT_GNU_STACK;
// a 0x24-byte .note right after the program headers, then .text, then
// .shstrtab and the section header table. By default .text leaves room for
// one more program header once the note moves; \p shift bytes more make
// room for others. It runs: its code is exit(0).
struct TinyExe {
  std::vector<uint8_t> bytes;
  static constexpr uint64_t NoteOff = 0x40 + 3 * 56; // 0xe8
  static constexpr uint64_t TextOff = 0x130;
  static constexpr uint64_t ShOff = 0x160;

  explicit TinyExe(uint64_t shift = 0) {
    const char names[] = "\0.note.test\0.text\0.shstrtab";
    uint64_t textOff = TextOff + shift, namesOff = 0x140 + shift, shoff = ShOff + shift;
    bytes.assign(shoff + 4 * sizeof(Shdr), 0);
    Ehdr eh = elfHeader(ET_EXEC);
    eh.e_entry = Base + textOff;
    eh.e_phoff = 0x40;
    eh.e_shoff = shoff;
    eh.e_phnum = 3;
    eh.e_shnum = 4;
    eh.e_shstrndx = 3;
    std::memcpy(bytes.data(), &eh, sizeof eh);
    Phdr ph[3]{};
    ph[0].p_type = PT_LOAD;
    ph[0].p_flags = PF_R | PF_X;
    ph[0].p_vaddr = Base;
    ph[0].p_paddr = Base;
    ph[0].p_filesz = namesOff + sizeof names;
    ph[0].p_memsz = namesOff + sizeof names;
    ph[0].p_align = 0x1000;
    ph[1].p_type = PT_NOTE;
    ph[1].p_flags = PF_R;
    ph[1].p_offset = NoteOff;
    ph[1].p_vaddr = Base + NoteOff;
    ph[1].p_paddr = Base + NoteOff;
    ph[1].p_filesz = 0x24;
    ph[1].p_memsz = 0x24;
    ph[1].p_align = 4;
    ph[2].p_type = PT_GNU_STACK;
    ph[2].p_flags = PF_R | PF_W;
    std::memcpy(bytes.data() + 0x40, ph, sizeof ph);
    // NT_GNU_BUILD_ID note with a 20-byte id 01 02 ... 14.
    uint32_t nhdr[3] = {4, 20, NT_GNU_BUILD_ID};
    std::memcpy(bytes.data() + NoteOff, nhdr, 12);
    std::memcpy(bytes.data() + NoteOff + 12, "GNU", 4);
    for (int i = 0; i < 20; ++i)
      bytes[NoteOff + 16 + i] = uint8_t(i + 1);
    const uint8_t exit0[] = {0xB8, 0x3C, 0, 0, 0, 0x31, 0xFF, 0x0F, 0x05};
    std::memcpy(bytes.data() + textOff, exit0, sizeof exit0);
    std::memcpy(bytes.data() + namesOff, names, sizeof names);
    Shdr sh[4]{};
    sh[1] = section(1, SHT_NOTE, SHF_ALLOC, NoteOff, 0x24, 4);
    sh[2] = section(12, SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, textOff, sizeof exit0, 16);
    sh[3] = section(18, SHT_STRTAB, 0, namesOff, sizeof names, 1);
    sh[3].sh_addr = 0;
    std::memcpy(bytes.data() + shoff, sh, sizeof sh);
  }
  static Shdr section(uint32_t name, uint32_t type, uint64_t flags, uint64_t off, uint64_t size,
                      uint64_t align) {
    Shdr s{};
    s.sh_name = name;
    s.sh_type = type;
    s.sh_flags = flags;
    s.sh_addr = Base + off;
    s.sh_offset = off;
    s.sh_size = size;
    s.sh_addralign = align;
    return s;
  }
  std::unique_ptr<ElfFile> file(const std::vector<uint8_t> &b) const {
    return ElfFile::fromBytes("tiny", b);
  }
  std::unique_ptr<ElfFile> file() const { return file(bytes); }
};

} // namespace

TEST(ElfEditor, UneditedFileRoundTrips) {
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  EXPECT_EQ(editor.serialize(), tiny.bytes);
}

TEST(ElfEditor, PatchesSectionContentsInPlace) {
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  editor.mutableContents(2)[0] = 0x90;
  auto out = editor.serialize();
  EXPECT_EQ(out.size(), tiny.bytes.size());
  EXPECT_EQ(out[TinyExe::TextOff], 0x90);
  out[TinyExe::TextOff] = tiny.bytes[TinyExe::TextOff];
  EXPECT_EQ(out, tiny.bytes);
}

TEST(ElfEditor, AddsSegmentAndMovesTheNoteOutOfTheWay) {
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  NewSection s;
  s.name = ".elfopt.new";
  s.data.assign(5000, 0xab);
  s.align = 64;
  unsigned index = editor.addSection(s);
  EXPECT_EQ(index, 4u);
  const LayoutSummary &layout = editor.layout();
  ASSERT_TRUE(layout.addedSegment);
  ASSERT_EQ(layout.movedSections, std::vector<std::string>{".note.test"});
  auto out = tiny.file(editor.serialize());

  // Program headers: the table grew in place; loads sorted; stack kept.
  const auto &eh = out->header();
  EXPECT_EQ(eh.e_phoff, 0x40u);
  ASSERT_EQ(eh.e_phnum, 4u);
  auto segs = out->segments();
  EXPECT_EQ(segs[0].p_type, PT_LOAD);
  EXPECT_EQ(segs[1].p_type, PT_LOAD);
  EXPECT_EQ(segs[2].p_type, PT_NOTE);
  EXPECT_EQ(segs[3].p_type, PT_GNU_STACK);
  const Phdr &load = segs[1];
  EXPECT_EQ(load.p_flags, PF_R);
  EXPECT_EQ(load.p_offset % 0x1000, load.p_vaddr % 0x1000);
  EXPECT_GE(load.p_vaddr, segs[0].p_vaddr + segs[0].p_memsz);
  EXPECT_EQ(load.p_vaddr % 0x1000, (Base + TinyExe::NoteOff) % 0x1000);

  // The note moved with its segment and kept its bytes and build-id.
  const Section *note = out->findSection(".note.test");
  ASSERT_NE(note, nullptr);
  EXPECT_EQ(note->addr(), load.p_vaddr);
  EXPECT_EQ(segs[2].p_vaddr, note->addr());
  EXPECT_EQ(segs[2].p_offset, note->offset());
  EXPECT_EQ(out->buildId(), "0102030405060708090a0b0c0d0e0f1011121314");

  // The new section: aligned, inside the new segment, contents intact.
  const Section *added = out->findSection(".elfopt.new");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->addr() % 64, 0u);
  EXPECT_EQ(added->addr(), editor.sectionAddress(index));
  EXPECT_LE(added->addr() + added->size(), load.p_vaddr + load.p_memsz);
  EXPECT_EQ(added->addr() - load.p_vaddr, added->offset() - load.p_offset);
  auto bytes = out->contents(*added);
  EXPECT_EQ(std::vector<uint8_t>(bytes.begin(), bytes.end()), s.data);

  // Code did not move.
  const Section *text = out->findSection(".text");
  EXPECT_EQ(text->addr(), Base + TinyExe::TextOff);
  EXPECT_EQ(text->offset(), TinyExe::TextOff);
}

TEST(ElfEditor, RefusesToMoveCodeForTheProgramHeaderTable) {
  TinyExe tiny;
  // Make .text start right after the program headers, where the note was.
  auto patched = tiny.bytes;
  Shdr text;
  std::memcpy(&text, patched.data() + TinyExe::ShOff + 2 * sizeof(Shdr), sizeof text);
  text.sh_offset = TinyExe::NoteOff;
  text.sh_addr = Base + TinyExe::NoteOff;
  std::memcpy(patched.data() + TinyExe::ShOff + 2 * sizeof(Shdr), &text, sizeof text);
  Shdr note;
  std::memcpy(&note, patched.data() + TinyExe::ShOff + sizeof(Shdr), sizeof note);
  note.sh_offset = 0x118;
  note.sh_addr = Base + 0x118;
  note.sh_size = 0;
  std::memcpy(patched.data() + TinyExe::ShOff + sizeof(Shdr), &note, sizeof note);
  auto in = tiny.file(patched);
  ElfEditor editor(*in);
  NewSection s;
  s.name = ".x";
  editor.addSection(s);
  try {
    editor.layout();
    FAIL() << "layout should have failed";
  } catch (const FatalError &e) {
    EXPECT_STREQ(e.what(), "tiny: no room to add a program header: section '.text' follows "
                           "the program header table and cannot be moved");
  }
}

TEST(ElfEditor, DynamicEntriesNeedADynamicSection) {
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  EXPECT_EQ(editor.spareDynamicSlots(), 0u);
  try {
    editor.addDynamicEntry(DT_FLAGS, 0);
    FAIL();
  } catch (const FatalError &e) {
    EXPECT_STREQ(e.what(), "tiny: no dynamic section (PT_DYNAMIC): cannot add dynamic entries "
                           "to a statically linked file");
  }
}

TEST(ElfEditor, NonAllocatedSectionsNeedNoSegment) {
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  NewSection s;
  s.name = ".comment.elfopt";
  s.flags = 0;
  s.align = 1;
  s.data = {'h', 'i', 0};
  editor.addSection(s);
  auto out = tiny.file(editor.serialize());
  EXPECT_EQ(out->header().e_phnum, 3u);
  EXPECT_FALSE(editor.layout().addedSegment);
  const Section *added = out->findSection(".comment.elfopt");
  ASSERT_NE(added, nullptr);
  EXPECT_EQ(added->addr(), 0u);
  EXPECT_EQ(std::string(reinterpret_cast<const char *>(out->contents(*added).data())), "hi");
  // Everything before the old section header table is untouched.
  auto b = out->bytes();
  EXPECT_TRUE(std::equal(tiny.bytes.begin() + 64, tiny.bytes.begin() + TinyExe::ShOff, b.begin() + 64));
}

namespace {

// x86-64: mov $42, %eax; ret. A function returning 42.
const std::vector<uint8_t> Return42 = {0xB8, 42, 0, 0, 0, 0xC3};

NewSection codeSection(const std::string &name, std::vector<uint8_t> code) {
  NewSection s;
  s.name = name;
  s.flags = SHF_ALLOC | SHF_EXECINSTR;
  s.align = 16;
  s.data = std::move(code);
  return s;
}

NewSection dataSection(const std::string &name, size_t size) {
  NewSection s;
  s.name = name;
  s.align = 8;
  s.data.assign(size, 0x5a);
  return s;
}

// The PT_LOAD that maps [addr, addr + size), or null.
const Phdr *loadCovering(const ElfFile &f, uint64_t addr, uint64_t size) {
  for (const Phdr &p : f.segments())
    if (p.p_type == PT_LOAD && p.p_vaddr <= addr && addr + size <= p.p_vaddr + p.p_filesz)
      return &p;
  return nullptr;
}

std::vector<uint8_t> contentsOf(const ElfFile &f, const Section &s) {
  auto b = f.contents(s);
  return {b.begin(), b.end()};
}

} // namespace

TEST(ElfEditor, CodeAndDataGetASegmentEach) {
  TinyExe tiny(0x100);
  auto in = tiny.file();
  ElfEditor editor(*in);
  unsigned data = editor.addSection(dataSection(".elfopt.data", 5000));
  unsigned code = editor.addSection(codeSection(".elfopt.stub", Return42));
  const LayoutSummary &layout = editor.layout();
  ASSERT_EQ(layout.segments.size(), 2u);
  EXPECT_EQ(layout.segments[0].flags, PF_R);
  EXPECT_EQ(layout.segments[1].flags, PF_R | PF_X);
  EXPECT_EQ(layout.segmentAddress, layout.segments[0].address);
  EXPECT_EQ(layout.movedSections, std::vector<std::string>{".note.test"});
  auto out = tiny.file(editor.serialize());

  // The table grew in place by two entries; loads sorted, note and stack kept.
  EXPECT_EQ(out->header().e_phoff, 0x40u);
  auto segs = out->segments();
  ASSERT_EQ(segs.size(), 5u);
  std::vector<uint32_t> types;
  for (const Phdr &p : segs)
    types.push_back(p.p_type);
  EXPECT_EQ(types, (std::vector<uint32_t>{PT_LOAD, PT_LOAD, PT_LOAD, PT_NOTE, PT_GNU_STACK}));
  EXPECT_LT(segs[1].p_vaddr + segs[1].p_memsz, segs[2].p_vaddr);

  // The code is in an executable segment, the data and the moved note in a
  // read-only one.
  const Section *stub = out->findSection(".elfopt.stub");
  ASSERT_NE(stub, nullptr);
  EXPECT_EQ(stub->addr(), editor.sectionAddress(code));
  EXPECT_EQ(stub->header.sh_flags, uint64_t(SHF_ALLOC | SHF_EXECINSTR));
  EXPECT_EQ(contentsOf(*out, *stub), Return42);
  const Phdr *codeLoad = loadCovering(*out, stub->addr(), stub->size());
  ASSERT_NE(codeLoad, nullptr);
  EXPECT_EQ(codeLoad->p_flags, PF_R | PF_X);
  EXPECT_EQ(codeLoad, &segs[2]);
  for (const char *name : {".elfopt.data", ".note.test"}) {
    const Section *s = out->findSection(name);
    ASSERT_NE(s, nullptr) << name;
    const Phdr *load = loadCovering(*out, s->addr(), s->size());
    ASSERT_NE(load, nullptr) << name;
    EXPECT_EQ(load->p_flags, PF_R) << name;
    EXPECT_EQ(load, &segs[1]) << name;
  }
  EXPECT_EQ(out->findSection(".elfopt.data")->addr(), editor.sectionAddress(data));

  // Each new segment on a page of its own, offset == address (mod page).
  for (const Phdr *p : {&segs[1], &segs[2]}) {
    EXPECT_EQ(p->p_offset % 0x1000, p->p_vaddr % 0x1000);
    EXPECT_EQ(p->p_align, 0x1000u);
  }
  EXPECT_EQ(segs[2].p_vaddr % 0x1000, 0u);
  EXPECT_GT(segs[2].p_vaddr / 0x1000, (segs[1].p_vaddr + segs[1].p_memsz - 1) / 0x1000);
  EXPECT_GT(segs[2].p_offset / 0x1000, (segs[1].p_offset + segs[1].p_filesz - 1) / 0x1000);
  EXPECT_EQ(out->buildId(), "0102030405060708090a0b0c0d0e0f1011121314");
}

TEST(ElfEditor, CodeAloneIsLaidOutLikeData) {
  // One kind of section alone takes one new segment and one program header
  // (the default TinyExe has room for no more); the moved note goes into
  // it. Code and data differ only in the flags.
  TinyExe tiny;
  auto in = tiny.file();
  auto grow = [&](uint64_t flags) {
    ElfEditor editor(*in);
    NewSection s = codeSection(".elfopt.stub", Return42);
    s.flags = flags;
    editor.addSection(s);
    EXPECT_EQ(editor.layout().segments.size(), 1u);
    return editor.serialize();
  };
  std::vector<uint8_t> code = grow(SHF_ALLOC | SHF_EXECINSTR);
  std::vector<uint8_t> data = grow(SHF_ALLOC);
  auto out = tiny.file(code);
  ASSERT_EQ(out->segments().size(), 4u);
  const Phdr &load = out->segments()[1];
  EXPECT_EQ(load.p_flags, PF_R | PF_X);
  for (const char *name : {".note.test", ".elfopt.stub"}) {
    const Section *s = out->findSection(name);
    EXPECT_EQ(loadCovering(*out, s->addr(), s->size()), &load) << name;
  }
  EXPECT_EQ(contentsOf(*out, *out->findSection(".elfopt.stub")), Return42);

  size_t flagsAt = 0x40 + sizeof(Phdr) + offsetof(Phdr, p_flags);
  size_t shFlagsAt = out->header().e_shoff + 4 * sizeof(Shdr) + offsetof(Shdr, sh_flags);
  ASSERT_EQ(code.size(), data.size());
  EXPECT_EQ(code[flagsAt], PF_R | PF_X);
  EXPECT_EQ(data[flagsAt], PF_R);
  EXPECT_EQ(code[shFlagsAt], SHF_ALLOC | SHF_EXECINSTR);
  code[flagsAt] = data[flagsAt];
  code[shFlagsAt] = data[shFlagsAt];
  EXPECT_EQ(code, data);
}

TEST(ElfEditor, RoomForTwoProgramHeadersIsCheckedToo) {
  // The default TinyExe has room for one more entry, not two.
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  editor.addSection(dataSection(".elfopt.data", 16));
  editor.addSection(codeSection(".elfopt.stub", Return42));
  try {
    editor.layout();
    FAIL() << "layout should have failed";
  } catch (const FatalError &e) {
    EXPECT_STREQ(e.what(), "tiny: no room to add 2 program headers: section '.text' follows "
                           "the program header table and cannot be moved");
  }
}

TEST(ElfEditor, RefusesWritableAndThreadLocalSections) {
  TinyExe tiny;
  auto in = tiny.file();
  ElfEditor editor(*in);
  NewSection s = dataSection(".elfopt.rw", 8);
  s.flags |= SHF_WRITE;
  try {
    editor.addSection(s);
    FAIL() << "a writable section was accepted";
  } catch (const FatalError &e) {
    EXPECT_STREQ(e.what(), "tiny: cannot add section '.elfopt.rw': it is writable; new "
                           "loadable sections may only be read-only or executable");
  }
  s.name = ".elfopt.tls";
  s.flags = SHF_ALLOC | SHF_TLS;
  EXPECT_THROW(editor.addSection(s), FatalError);
  // A non-allocated section's flags map nothing: allowed.
  s.flags = SHF_WRITE;
  EXPECT_NO_THROW(editor.addSection(s));
}

TEST(ElfEditor, TheAddedCodeRuns) {
  // The tiny program's entry point moves to added code that exits with 42:
  // the kernel must map it executable.
  TinyExe tiny(0x100);
  auto in = tiny.file();
  ElfEditor editor(*in);
  editor.addSection(dataSection(".elfopt.data", 100));
  // mov $42, %edi; mov $60, %eax (exit); syscall
  unsigned code = editor.addSection(
      codeSection(".elfopt.exit42", {0xBF, 42, 0, 0, 0, 0xB8, 60, 0, 0, 0, 0x0F, 0x05}));
  editor.layout();
  editor.setEntry(editor.sectionAddress(code));
  auto out = editor.serialize();

  std::string path = testing::TempDir() + "elfopt-exit42";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0755);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::write(fd, out.data(), out.size()), ssize_t(out.size()));
  ::close(fd);
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    char *argv[] = {path.data(), nullptr};
    ::execv(path.c_str(), argv);
    ::_exit(127);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ::unlink(path.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  EXPECT_EQ(WEXITSTATUS(status), 42);
}
