//===- InertCode.cpp ------------------------------------------------------===//
#include "elfopt/Target/InertCode.h"

#include "elfopt/Support/Diagnostics.h"

#include <array>
#include <map>
#include <vector>

namespace elfopt::x86_64 {

namespace {

constexpr int8_t Rsp = 4, Rdi = 7;
// What a function must give back as it found it (the SysV ABI): rbx, rbp, r12-r15.
constexpr std::array<int8_t, 6> CalleeSaved = {3, 5, 12, 13, 14, 15};
// What a call may change: rax, rcx, rdx, rsi, rdi, r8-r11.
constexpr std::array<int8_t, 9> CallerSaved = {0, 1, 2, 6, 7, 8, 9, 10, 11};
// x86's condition codes, as LLVM numbers them (X86::CondCode).
constexpr int64_t ConditionEqual = 4, ConditionNotEqual = 5;
// Enough for start-file code (about 30 instructions on each of a few
// paths); a function that needs more is not one of them.
constexpr unsigned MaxSteps = 2000, MaxPaths = 64;

struct State {
  uint64_t pc = 0;
  std::array<Value, 16> reg;
  std::map<uint64_t, Value> stack;     ///< 8-byte slots by offset from the entry's stack pointer
  std::vector<uint64_t> returns;       ///< return addresses of calls the interpreter entered
  std::optional<bool> zero;            ///< ZF, when known
};

// Whether two values are equal, when that is known. An import's address is
// never 0 (it resolved, or the world would have said 0).
std::optional<bool> equal(const Value &a, const Value &b) {
  if (a.kind == Value::Constant && b.kind == Value::Constant)
    return a.n == b.n;
  if (a.kind == Value::Stack && b.kind == Value::Stack)
    return a.n == b.n;
  if (a.kind == Value::Import && b.kind == Value::Import && a.n == b.n)
    return true;
  if ((a.kind == Value::Import && b == Value::constant(0)) || (b.kind == Value::Import && a == Value::constant(0)))
    return false;
  return std::nullopt;
}

Value add(const Value &a, const Value &b, bool subtract) {
  if (a.kind == Value::Constant && b.kind == Value::Constant)
    return Value::constant(subtract ? a.n - b.n : a.n + b.n);
  if (a.kind == Value::Stack && b.kind == Value::Constant)
    return {Value::Stack, subtract ? a.n - b.n : a.n + b.n};
  if (!subtract && a.kind == Value::Constant && b.kind == Value::Stack)
    return {Value::Stack, a.n + b.n};
  if (subtract && a.kind == Value::Stack && b.kind == Value::Stack)
    return Value::constant(a.n - b.n);
  return {};
}

std::optional<bool> isZero(const Value &v) { return equal(v, Value::constant(0)); }

class Interpreter {
public:
  Interpreter(const Decoder &decoder, const InertWorld &world, std::vector<std::pair<uint64_t, uint64_t>> *visited)
      : decoder(decoder), world(world), visited(visited) {}

  std::optional<std::string> run(uint64_t entry) {
    State start;
    start.pc = entry;
    for (int8_t f = 0; f < 16; ++f)
      start.reg[f] = {Value::Entry, uint64_t(f)};
    start.reg[Rsp] = {Value::Stack, 0};
    std::vector<State> pending{start};
    unsigned paths = 1;
    while (!pending.empty()) {
      State s = std::move(pending.back());
      pending.pop_back();
      for (;;) {
        if (++steps > MaxSteps)
          return "more than " + std::to_string(MaxSteps) + " instructions to follow";
        std::optional<Step> next = step(s);
        if (!next)
          return why;
        if (*next == Step::Returned)
          break;
        if (*next == Step::Fork) {
          if (++paths > MaxPaths)
            return "more than " + std::to_string(MaxPaths) + " paths to follow";
          pending.push_back(forked);
        }
      }
    }
    return std::nullopt;
  }

private:
  enum class Step { Continue, Fork, Returned };

  std::optional<Step> fail(const std::string &what, uint64_t pc) {
    why = what + " at " + hex(pc);
    return std::nullopt;
  }

  // The value of operand \p i as a register (families 0-15 only).
  static bool isGeneral(const RawOperand &o) { return o.isRegister && o.family >= 0 && o.family < 16; }

  // The address of the memory operand starting at operand \p i; s.pc is
  // already the next instruction's, which RIP-relative operands count from.
  std::optional<Value> address(const State &s, const RawInstruction &in, size_t i) {
    if (i + 5 > in.operands.size())
      return std::nullopt;
    const RawOperand &base = in.operands[i], &scale = in.operands[i + 1], &index = in.operands[i + 2],
                     &disp = in.operands[i + 3], &segment = in.operands[i + 4];
    if (segment.family != Operation::NoRegister || index.family != Operation::NoRegister || scale.immediate > 1 ||
        disp.isRegister)
      return std::nullopt; // fs/gs bases and indexed operands: not start-file code
    if (base.family == RawOperand::Rip)
      return Value::constant(s.pc + uint64_t(disp.immediate));
    if (base.family == Operation::NoRegister)
      return Value::constant(uint64_t(disp.immediate));
    if (!isGeneral(base))
      return std::nullopt;
    Value v = add(s.reg[base.family], Value::constant(uint64_t(disp.immediate)), false);
    if (v.kind == Value::Unknown)
      return std::nullopt;
    return v;
  }

  std::optional<Value> load(const State &s, const Value &at, unsigned size) {
    if (at.kind == Value::Constant)
      return world.load(at.n, size);
    if (at.kind == Value::Stack) {
      auto it = s.stack.find(at.n);
      return size == 8 && it != s.stack.end() ? it->second : Value{};
    }
    return std::nullopt; // reading through an unknown pointer could fault
  }

  bool store(State &s, const Value &at, unsigned size, const Value &v) {
    if (at.kind == Value::Stack) {
      if (int64_t(at.n) >= 0)
        return false; // the caller's frame, or its return address
      s.stack[at.n] = size == 8 ? v : Value{};
      return true;
    }
    return at.kind == Value::Constant && world.privateStore(at.n, size);
  }

  void push(State &s, const Value &v) {
    s.reg[Rsp].n -= 8;
    s.stack[s.reg[Rsp].n] = v;
  }

  // Return from the innermost call the interpreter entered, or from the
  // function itself: Returned when the function is back at its caller with
  // everything in order.
  std::optional<Step> doReturn(State &s, uint64_t pc) {
    if (s.reg[Rsp].kind != Value::Stack)
      return fail("ret with an unknown stack pointer", pc);
    if (s.returns.empty()) {
      if (s.reg[Rsp].n != 0)
        return fail("ret with the stack not as it was at entry", pc);
      for (int8_t f : CalleeSaved)
        if (s.reg[f] != Value{Value::Entry, uint64_t(f)})
          return fail("a callee-saved register not restored", pc);
      return Step::Returned;
    }
    auto it = s.stack.find(s.reg[Rsp].n);
    if (it == s.stack.end() || it->second != Value::constant(s.returns.back()))
      return fail("ret to an address other than its caller's", pc);
    s.pc = s.returns.back();
    s.returns.pop_back();
    s.reg[Rsp].n += 8;
    return Step::Continue;
  }

  // A call (or, \p tail, a jump) to \p target.
  std::optional<Step> transfer(State &s, const Value &target, uint64_t next, bool tail, uint64_t pc) {
    if (target.kind == Value::Import) {
      if (auto effect = world.whyCallHasEffect(target.n, s.reg[Rdi]))
        return fail(*effect, pc);
      for (int8_t f : CallerSaved)
        s.reg[f] = {};
      s.zero.reset();
      if (!tail) {
        s.pc = next;
        return Step::Continue;
      }
      return doReturn(s, pc);
    }
    if (target.kind != Value::Constant)
      return fail(std::string(tail ? "a jump" : "a call") + " to an unknown target", pc);
    if (world.code(target.n).empty())
      return fail(std::string(tail ? "a jump" : "a call") + " to " + hex(target.n) + ", not code of the object", pc);
    if (!tail) {
      if (s.reg[Rsp].kind != Value::Stack)
        return fail("a call with an unknown stack pointer", pc);
      push(s, Value::constant(next));
      s.returns.push_back(next);
    }
    s.pc = target.n;
    return Step::Continue;
  }

  // One instruction. Longer than the 150 lines allowed elsewhere, on
  // purpose: the opcode switch reads as one table of what each instruction
  // does, and split up, a reader would chase the cases across functions.
  std::optional<Step> step(State &s) {
    uint64_t pc = s.pc;
    std::span<const uint8_t> bytes = world.code(pc);
    if (bytes.empty())
      return fail("control leaves the object's code", pc);
    std::optional<RawInstruction> decoded = decoder.decodeRaw(bytes, pc);
    if (!decoded)
      return fail("an undecodable instruction", pc);
    const RawInstruction &in = *decoded;
    if (visited)
      visited->emplace_back(pc, pc + in.size);
    const std::vector<RawOperand> &op = in.operands;
    std::string_view name = in.name;
    uint64_t next = pc + in.size;
    s.pc = next;
    auto unknownInstruction = [&] { return fail("an instruction the proof does not model (" + std::string(name) + ")", pc); };
    auto reg = [&](size_t i) -> Value * { return i < op.size() && isGeneral(op[i]) ? &s.reg[op[i].family] : nullptr; };
    auto imm = [&](size_t i) -> uint64_t { return i < op.size() ? uint64_t(op[i].immediate) : 0; };
    auto setZero = [&](const Value &v) { s.zero = isZero(v); };

    if (name == "ENDBR64" || name == "NOOP" || name.starts_with("NOOP") || name == "NOP")
      return Step::Continue;
    if (name == "RET64")
      return doReturn(s, pc);

    // Arithmetic that the start files do: on rsp, on addresses, on constants.
    if (name == "SUB64ri8" || name == "SUB64ri32" || name == "ADD64ri8" || name == "ADD64ri32") {
      Value *d = reg(0);
      if (!d)
        return unknownInstruction();
      *d = add(*d, Value::constant(imm(2)), name[0] == 'S');
      setZero(*d);
      if (op[0].family == Rsp && d->kind != Value::Stack)
        return fail("the stack pointer becomes unknown", pc);
      return Step::Continue;
    }
    if (name == "SUB64rr" || name == "ADD64rr") {
      Value *d = reg(0), *a = reg(1), *b = reg(2);
      if (!d || !a || !b || op[0].family == Rsp)
        return unknownInstruction();
      *d = add(*a, *b, name[0] == 'S');
      setZero(*d);
      return Step::Continue;
    }
    if (name == "SHR64ri" || name == "SAR64ri" || name == "SAR64r1") {
      Value *d = reg(0), *a = reg(1);
      if (!d || !a || op[0].family == Rsp)
        return unknownInstruction();
      uint64_t count = name == "SAR64r1" ? 1 : imm(2) & 63;
      if (a->kind == Value::Constant)
        *d = Value::constant(name == "SHR64ri" ? a->n >> count : uint64_t(int64_t(a->n) >> count));
      else
        *d = {};
      if (count)
        setZero(*d);
      return Step::Continue;
    }
    if (name == "XOR32rr" || name == "XOR64rr") {
      Value *d = reg(0), *a = reg(1), *b = reg(2);
      if (!d || !a || !b || op[0].family == Rsp)
        return unknownInstruction();
      *d = op[1].family == op[2].family ? Value::constant(0) : Value{};
      setZero(*d);
      return Step::Continue;
    }
    if (name == "MOV64rr" || name == "MOV32rr") {
      Value *d = reg(0), *a = reg(1);
      if (!d || !a || (op[0].family == Rsp && a->kind != Value::Stack))
        return unknownInstruction();
      Value v = *a;
      if (name == "MOV32rr")
        v = v.kind == Value::Constant ? Value::constant(v.n & 0xffffffff) : Value{};
      *d = v;
      return Step::Continue;
    }
    if (name == "MOV32ri" || name == "MOV64ri" || name == "MOV64ri32") {
      Value *d = reg(0);
      if (!d || op[0].family == Rsp)
        return unknownInstruction();
      *d = Value::constant(name == "MOV32ri" ? imm(1) & 0xffffffff : imm(1));
      return Step::Continue;
    }
    if (name == "LEA64r") {
      Value *d = reg(0);
      std::optional<Value> at = address(s, in, 1);
      if (!d || !at || (op[0].family == Rsp && at->kind != Value::Stack))
        return unknownInstruction();
      *d = *at;
      return Step::Continue;
    }
    if (name == "TEST64rr" || name == "TEST32rr") {
      Value *a = reg(0), *b = reg(1);
      if (!a || !b)
        return unknownInstruction();
      if (op[0].family == op[1].family && name == "TEST64rr")
        s.zero = isZero(*a);
      else if (a->kind == Value::Constant && b->kind == Value::Constant)
        s.zero = ((a->n & b->n) & (name == "TEST32rr" ? 0xffffffffull : ~0ull)) == 0;
      else
        s.zero.reset();
      return Step::Continue;
    }
    if (name == "CMP64rr") {
      Value *a = reg(0), *b = reg(1);
      if (!a || !b)
        return unknownInstruction();
      s.zero = equal(*a, *b);
      return Step::Continue;
    }
    if (name == "CMP64ri8" || name == "CMP64ri32") {
      Value *a = reg(0);
      if (!a)
        return unknownInstruction();
      s.zero = equal(*a, Value::constant(imm(1)));
      return Step::Continue;
    }
    // Loads, and compares against memory.
    if (name == "MOV64rm" || name == "MOV32rm" || name == "CMP8mi" || name == "CMP32mi8" || name == "CMP64mi8" ||
        name == "CMP64mi32") {
      bool isLoad = name.starts_with("MOV");
      unsigned size = name == "CMP8mi" ? 1 : name.find("32") == 3 ? 4 : 8;
      std::optional<Value> at = address(s, in, isLoad ? 1 : 0);
      std::optional<Value> v = at ? load(s, *at, size) : std::nullopt;
      if (!v)
        return fail("a load from an address the proof cannot follow", pc);
      if (isLoad) {
        Value *d = reg(0);
        if (!d || op[0].family == Rsp)
          return unknownInstruction();
        if (size == 8)
          *d = *v;
        else // a 32-bit load zero-extends
          *d = v->kind == Value::Constant ? Value::constant(v->n & 0xffffffff) : Value{};
        return Step::Continue;
      }
      uint64_t mask = size == 8 ? ~0ull : (1ull << (8 * size)) - 1;
      Value wanted = Value::constant(imm(5) & mask);
      if (v->kind == Value::Constant)
        s.zero = (v->n & mask) == wanted.n;
      else
        s.zero = size == 8 ? equal(*v, wanted) : std::nullopt;
      return Step::Continue;
    }
    // Stores.
    if (name == "MOV8mi" || name == "MOV32mi" || name == "MOV64mi32" || name == "MOV64mr" || name == "MOV32mr" ||
        name == "MOV8mr") {
      unsigned size = name.find("8m") == 3 ? 1 : name.find("32") == 3 ? 4 : 8;
      std::optional<Value> at = address(s, in, 0);
      Value v = name.ends_with("mr") ? (reg(5) ? *reg(5) : Value{}) : Value::constant(imm(5));
      if (!at || !store(s, *at, size, v))
        return fail("a store the proof cannot show private", pc);
      return Step::Continue;
    }
    if (name == "PUSH64r") {
      Value *a = reg(0);
      if (!a || s.reg[Rsp].kind != Value::Stack)
        return unknownInstruction();
      push(s, *a);
      return Step::Continue;
    }
    if (name == "POP64r") {
      Value *d = reg(0);
      if (!d || op[0].family == Rsp || s.reg[Rsp].kind != Value::Stack)
        return unknownInstruction();
      auto it = s.stack.find(s.reg[Rsp].n);
      if (int64_t(s.reg[Rsp].n) >= 0)
        return fail("a pop of the caller's frame", pc);
      *d = it == s.stack.end() ? Value{} : it->second;
      s.reg[Rsp].n += 8;
      return Step::Continue;
    }
    // Control.
    if (name == "JMP_1" || name == "JMP_4")
      return transfer(s, Value::constant(next + imm(0)), next, true, pc);
    if (name == "CALL64pcrel32")
      return transfer(s, Value::constant(next + imm(0)), next, false, pc);
    if (name == "JMP64r" || name == "CALL64r") {
      Value *t = reg(0);
      if (!t)
        return unknownInstruction();
      return transfer(s, *t, next, name[0] == 'J', pc);
    }
    if (name == "JMP64m" || name == "CALL64m") {
      std::optional<Value> at = address(s, in, 0);
      std::optional<Value> t = at ? load(s, *at, 8) : std::nullopt;
      if (!t)
        return fail("an indirect jump through memory the proof cannot follow", pc);
      return transfer(s, *t, next, name[0] == 'J', pc);
    }
    if (name == "JCC_1" || name == "JCC_4") {
      uint64_t target = next + imm(0);
      int64_t condition = op.size() > 1 ? op[1].immediate : -1;
      if (s.zero && (condition == ConditionEqual || condition == ConditionNotEqual)) {
        if (*s.zero == (condition == ConditionEqual))
          s.pc = target;
        return Step::Continue;
      }
      forked = s;
      forked.pc = target;
      return Step::Fork;
    }
    return unknownInstruction();
  }

  const Decoder &decoder;
  const InertWorld &world;
  std::vector<std::pair<uint64_t, uint64_t>> *visited;
  unsigned steps = 0;
  std::string why;
  State forked;
};

} // namespace

std::optional<std::string> whyNotInert(const Decoder &decoder, uint64_t entry, const InertWorld &world,
                                       std::vector<std::pair<uint64_t, uint64_t>> *visited) {
  return Interpreter(decoder, world, visited).run(entry);
}

} // namespace elfopt::x86_64
