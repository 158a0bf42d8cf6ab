//===- Constructors.cpp ---------------------------------------------------===//
#include "elfopt/Scope/Constructors.h"

#include "elfopt/Elf/Relocations.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Target/InertCode.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <set>

namespace elfopt {

using namespace llvm::ELF;
using x86_64::Value;

namespace {

// Functions that register a handler under a DSO handle, which
// __cxa_finalize(handle) would then run.
const std::set<std::string> Registrars = {"__cxa_atexit",     "atexit",         "__cxa_at_quick_exit",
                                          "at_quick_exit",    "__register_atfork", "pthread_atfork",
                                          "__cxa_thread_atexit_impl"};

struct Fill {
  uint32_t type = 0;
  uint64_t symbol = 0;
  int64_t addend = 0;
};

class ObjectWorld {
public:
  ObjectWorld(const ElfFile &file, const std::function<std::optional<std::string>(uint64_t)> &definer)
      : file(file), definer(definer) {
    if (const Section *dynsym = file.findSectionOfType(SHT_DYNSYM))
      symbols = file.symbols(*dynsym);
    for (const Symbol &s : symbols)
      if (!s.isDefined() && Registrars.count(s.name))
        registers = true;
    for (const Section &s : file.sections()) {
      if (!s.isAlloc())
        continue; // static relocations (--emit-relocs) are not the loader's
      auto bytes = file.contents(s);
      if (s.type() == SHT_RELA)
        for (const ELFT::Rela &rela : decodeRela(bytes))
          fills[uint64_t(rela.r_offset)] = {rela.getType(false), rela.getSymbol(false), int64_t(rela.r_addend)};
      else if (s.type() == SHT_RELR)
        for (uint64_t where : decodeRelr(bytes))
          fills[where] = {R_X86_64_RELATIVE, 0, int64_t(readWord(where).value_or(0))};
    }
    if (const Phdr *relro = file.findSegment(PT_GNU_RELRO))
      relroStart = relro->p_vaddr, relroEnd = relro->p_vaddr + relro->p_memsz;
  }

  x86_64::InertWorld world() {
    x86_64::InertWorld w;
    w.code = [this](uint64_t a) { return code(a); };
    w.load = [this](uint64_t a, unsigned size) { return load(a, size); };
    w.privateStore = [this](uint64_t a, unsigned size) { return privateStore(a, size); };
    w.whyCallHasEffect = [this](uint64_t import, const Value &rdi) { return whyCallHasEffect(import, rdi); };
    return w;
  }

  /// The functions glibc calls through \p array / \p size entries, and \p single.
  std::optional<std::string> functions(int64_t single, int64_t array, int64_t size, std::vector<uint64_t> &out) {
    if (auto a = file.dynamicValue(single))
      out.push_back(*a);
    auto base = file.dynamicValue(array);
    uint64_t bytes = file.dynamicValue(size).value_or(0);
    if (!base || bytes == 0)
      return std::nullopt;
    if (bytes % 8 || !sectionAt(*base, bytes))
      return "its array at " + hex(*base) + " (" + std::to_string(bytes) + " bytes) is not inside a section";
    for (uint64_t at = *base; at < *base + bytes; at += 8) {
      auto it = fills.find(at);
      std::optional<uint64_t> entry;
      if (it != fills.end() && it->second.type == R_X86_64_RELATIVE)
        entry = uint64_t(it->second.addend);
      else if (it == fills.end() && file.header().e_type == ET_EXEC)
        entry = readWord(at);
      if (!entry)
        return "an entry of its array at " + hex(at) + " that is not a plain address";
      out.push_back(*entry);
    }
    return std::nullopt;
  }

private:
  const Section *sectionAt(uint64_t a, uint64_t size) const {
    for (const Section &s : file.sections())
      if (s.isAlloc() && a >= s.addr() && size <= s.size() && a - s.addr() <= s.size() - size)
        return &s;
    return nullptr;
  }

  std::optional<uint64_t> readWord(uint64_t a, unsigned size = 8) const {
    const Section *s = sectionAt(a, size);
    if (!s)
      return std::nullopt;
    if (!s->hasFileData())
      return 0;
    auto bytes = file.contents(*s);
    uint64_t v = 0;
    std::memcpy(&v, bytes.data() + (a - s->addr()), size);
    return v;
  }

  std::span<const uint8_t> code(uint64_t a) const {
    const Section *s = sectionAt(a, 1);
    if (!s || !s->isExecutable() || !s->hasFileData())
      return {};
    return file.contents(*s).subspan(a - s->addr());
  }

  bool inRelro(uint64_t a, unsigned size) const { return a >= relroStart && a + size <= relroEnd; }

  bool coveredBySymbol(uint64_t a, unsigned size) const {
    for (const Symbol &s : symbols)
      if (s.isDefined() && s.size && a < s.value + s.size && s.value < a + size)
        return true;
    return false;
  }

  bool filled(uint64_t a, unsigned size) const {
    auto it = fills.upper_bound(a + size - 1);
    return it != fills.begin() && std::prev(it)->first + 8 > a;
  }

  std::optional<Value> load(uint64_t a, unsigned size) {
    const Section *s = sectionAt(a, size);
    if (!s)
      return std::nullopt; // not known to be mapped
    bool writable = s->flags() & SHF_WRITE;
    if (auto it = fills.find(a); it != fills.end() && size == 8) {
      if (writable && !inRelro(a, 8)) {
        if (coveredBySymbol(a, 8))
          return Value{}; // another object may write it
        reliedOn.push_back({a, 8, false}); // hidden: only if no other code of the object names it
      }
      const Fill &f = it->second;
      if (f.type == R_X86_64_RELATIVE)
        return Value::constant(uint64_t(f.addend));
      if ((f.type == R_X86_64_GLOB_DAT || f.type == R_X86_64_JUMP_SLOT || f.type == R_X86_64_64) &&
          f.symbol && f.symbol < symbols.size() && f.addend == 0) {
        if (definer(f.symbol))
          return Value::import(f.symbol);
        if (symbols[f.symbol].binding == STB_WEAK)
          return Value::constant(0); // an unresolved weak reference is 0
      }
      return Value{};
    }
    if (writable || filled(a, size))
      return Value{};
    std::optional<uint64_t> v = readWord(a, size);
    return v ? Value::constant(*v) : Value{};
  }

  bool privateStore(uint64_t a, unsigned size) {
    const Section *s = sectionAt(a, size);
    if (!s || !(s->flags() & SHF_WRITE) || inRelro(a, size) || coveredBySymbol(a, size) || filled(a, size))
      return false;
    reliedOn.push_back({a, size, true});
    return true;
  }

  bool insideObject(uint64_t a) const {
    for (const Phdr &p : file.segments())
      if (p.p_type == PT_LOAD && a >= p.p_vaddr && a < p.p_vaddr + p.p_memsz)
        return true;
    return false;
  }

  std::optional<std::string> whyCallHasEffect(uint64_t import, const Value &rdi) const {
    const std::string &name = symbols[import].name;
    if (name != "__cxa_finalize")
      return "a call to " + name;
    std::optional<std::string> who = definer(import);
    if (!who || *who != "libc.so.6")
      return "a call to __cxa_finalize, which " + (who ? *who : std::string("no object")) + " defines, not glibc";
    if (registers)
      return "a call to __cxa_finalize by an object that registers exit or fork handlers";
    if (rdi.kind != Value::Constant || !insideObject(rdi.n) || coveredBySymbol(rdi.n, 1))
      return "a call to __cxa_finalize with a handle that is not the object's own";
    return std::nullopt;
  }

public:
  /// Bytes the proof took as the object's own: a store's target, or a hidden
  /// word read as the loader left it.
  struct Private {
    uint64_t address;
    unsigned size;
    bool stored;
  };
  std::vector<Private> reliedOn;

  /// Why a byte in reliedOn may be used outside the instructions the proof
  /// went through (\p visited), or nullopt. C code reaches a static variable
  /// through its own address, as a RIP-relative operand or a relocated
  /// pointer (reaching it from another variable by offset is undefined), so
  /// every use shows as one of these. Every 4 bytes of code are read as a
  /// displacement, whatever the instruction boundaries: a false match only
  /// keeps the order as it is.
  std::optional<std::string> whyShared(std::vector<std::pair<uint64_t, uint64_t>> visited) const {
    if (reliedOn.empty())
      return std::nullopt;
    std::sort(visited.begin(), visited.end());
    auto inVisited = [&](uint64_t a) {
      auto it = std::upper_bound(visited.begin(), visited.end(), std::make_pair(a, UINT64_MAX));
      return it != visited.begin() && a < std::prev(it)->second;
    };
    auto relied = [&](uint64_t t) -> const Private * {
      for (const Private &p : reliedOn)
        if (t >= p.address && t < p.address + p.size)
          return &p;
      return nullptr;
    };
    auto say = [&](const Private &p, const std::string &what) {
      return hex(p.address) + (p.stored ? ", which it writes," : ", which it reads as the loader left it,") +
             " is also " + what;
    };
    for (const auto &[where, fill] : fills)
      if (fill.type == R_X86_64_RELATIVE)
        if (const Private *p = relied(uint64_t(fill.addend)); p && !(!p->stored && where == p->address))
          return say(*p, "pointed to by a relocated word at " + hex(where));
    for (const Section &s : file.sections()) {
      if (!s.isAlloc() || !s.isExecutable() || !s.hasFileData())
        continue;
      auto bytes = file.contents(s);
      for (uint64_t off = 0; off + 4 <= bytes.size(); ++off) {
        int32_t disp;
        std::memcpy(&disp, bytes.data() + off, 4);
        uint64_t field = s.addr() + off;
        // The instruction ends 0, 1, 2 or 4 bytes (an immediate) after its displacement.
        for (uint64_t after : {4, 5, 6, 8})
          if (const Private *p = relied(field + after + uint64_t(int64_t(disp))); p && !inVisited(field))
            return say(*p, "used by other code of the object (a displacement at " + hex(field) + ")");
      }
    }
    return std::nullopt;
  }

private:
  const ElfFile &file;
  const std::function<std::optional<std::string>(uint64_t)> &definer;
  std::vector<Symbol> symbols;
  std::map<uint64_t, Fill> fills; ///< relocated words by address
  uint64_t relroStart = 0, relroEnd = 0;
  bool registers = false;
};

} // namespace

ConstructorEffects constructorEffects(const ElfFile &object,
                                      const std::function<std::optional<std::string>(uint64_t)> &definer) {
  ConstructorEffects out;
  out.hasInit = object.dynamicValue(DT_INIT) || object.dynamicValue(DT_INIT_ARRAY);
  out.hasFini = object.dynamicValue(DT_FINI) || object.dynamicValue(DT_FINI_ARRAY);
  if (!out.hasInit && !out.hasFini)
    return out;
  const x86_64::Decoder decoder;
  ObjectWorld objectWorld(object, definer);
  x86_64::InertWorld world = objectWorld.world();
  // Each side's functions run through the interpreter; what they took as
  // private is checked against the code of both sides when both are proved
  // (start files name one another's bytes: __TMC_END__ is where
  // __do_global_dtors_aux's flag is), else against its own.
  struct Side {
    std::optional<std::string> effect;
    std::vector<ObjectWorld::Private> reliedOn;
    std::vector<std::pair<uint64_t, uint64_t>> visited;
  };
  auto prove = [&](bool present, int64_t single, int64_t array, int64_t size) {
    Side side;
    if (!present)
      return side;
    std::vector<uint64_t> functions;
    side.effect = objectWorld.functions(single, array, size, functions);
    objectWorld.reliedOn.clear();
    for (size_t f = 0; f < functions.size() && !side.effect; ++f)
      side.effect = x86_64::whyNotInert(decoder, functions[f], world, &side.visited);
    side.reliedOn = objectWorld.reliedOn;
    return side;
  };
  auto shared = [&](std::initializer_list<const Side *> sides) {
    objectWorld.reliedOn.clear();
    std::vector<std::pair<uint64_t, uint64_t>> visited;
    for (const Side *side : sides) {
      objectWorld.reliedOn.insert(objectWorld.reliedOn.end(), side->reliedOn.begin(), side->reliedOn.end());
      visited.insert(visited.end(), side->visited.begin(), side->visited.end());
    }
    return objectWorld.whyShared(std::move(visited));
  };
  Side init = prove(out.hasInit, DT_INIT, DT_INIT_ARRAY, DT_INIT_ARRAYSZ);
  Side fini = prove(out.hasFini, DT_FINI, DT_FINI_ARRAY, DT_FINI_ARRAYSZ);
  if (out.hasInit && out.hasFini && !init.effect && !fini.effect) {
    init.effect = fini.effect = shared({&init, &fini});
    // Then one side relies on bytes that code outside both names; each side
    // alone is checked against all the code but its own, and the side that
    // relies on nothing of that (a constructor that only calls
    // register_tm_clones, say) is still proved.
    if (init.effect) {
      init.effect = shared({&init});
      fini.effect = shared({&fini});
    }
  } else {
    if (out.hasInit && !init.effect)
      init.effect = shared({&init});
    if (out.hasFini && !fini.effect)
      fini.effect = shared({&fini});
  }
  out.initEffect = init.effect;
  out.finiEffect = fini.effect;
  return out;
}

} // namespace elfopt
