//===- X86Decoder.cpp -----------------------------------------------------===//
#include "elfopt/Target/X86Decoder.h"

#include "elfopt/Support/Diagnostics.h"

#include "llvm/MC/MCAsmInfo.h"
#include "llvm/MC/MCContext.h"
#include "llvm/MC/MCDisassembler/MCDisassembler.h"
#include "llvm/MC/MCInst.h"
#include "llvm/MC/MCInstrAnalysis.h"
#include "llvm/MC/MCInstrInfo.h"
#include "llvm/MC/MCRegisterInfo.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/MCTargetOptions.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/ADT/StringSwitch.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Triple.h"

#include <cstring>
#include <mutex>
#include <vector>

namespace elfopt::x86_64 {

namespace {
struct AddressingRegisters {
  unsigned rip = 0, fs = 0, gs = 0;
};

/// The opcodes Operation describes, by LLVM's names.
enum class Shape : uint8_t {
  Other, Lea, SignExtendLoad, Load32, SignExtendRegister, SignExtendAccumulator, Pop, Add, Load, Copy32, Copy64, CompareRegister, CompareAccumulator, ConditionalJump,
  JumpRegister, JumpMemory, MoveImmediate, Xor,
};

Shape shapeOf(llvm::StringRef name) {
  return llvm::StringSwitch<Shape>(name)
      .Case("LEA64r", Shape::Lea)
      .Case("MOVSX64rm32", Shape::SignExtendLoad)
      .Case("MOV32rm", Shape::Load32)
      .Case("MOVSX64rr32", Shape::SignExtendRegister)
      .Case("CDQE", Shape::SignExtendAccumulator)
      .Case("POP64r", Shape::Pop)
      .Case("ADD64rr", Shape::Add)
      .Case("MOV64rm", Shape::Load)
      .Case("MOV32rr", Shape::Copy32)
      .Cases("MOV64rr", "MOV64rr_REV", Shape::Copy64)
      .Cases("CMP32ri8", "CMP32ri", "CMP64ri8", "CMP64ri32", Shape::CompareRegister)
      .Cases("CMP32i32", "CMP64i32", Shape::CompareAccumulator)
      .Cases("JCC_1", "JCC_4", Shape::ConditionalJump)
      .Case("JMP64r", Shape::JumpRegister)
      .Case("JMP64m", Shape::JumpMemory)
      .Cases("MOV32ri", "MOV64ri32", "MOV64ri", Shape::MoveImmediate)
      .Cases("XOR32rr", "XOR64rr", "XOR32rr_REV", "XOR64rr_REV", Shape::Xor)
      .Default(Shape::Other);
}

bool isPaddingName(llvm::StringRef name) {
  return name.starts_with("NOOP") || name == "NOP" || name == "INT3" ||
         name.starts_with("DATA16_PREFIX") || name == "CS_PREFIX";
}

// What a call may change: rax, rcx, rdx, rsi, rdi, r8-r11 (the SysV ABI).
constexpr uint16_t CallerSaved = 0x0fc7;

// x86's condition codes, as LLVM numbers them (X86::CondCode).
constexpr int64_t ConditionAboveOrEqual = 3, ConditionAbove = 7;
} // namespace

struct Decoder::Impl {
  std::unique_ptr<llvm::MCRegisterInfo> registers;
  std::unique_ptr<llvm::MCAsmInfo> asmInfo;
  std::unique_ptr<llvm::MCSubtargetInfo> subtarget;
  std::unique_ptr<llvm::MCInstrInfo> instrInfo;
  std::unique_ptr<llvm::MCContext> context;
  std::unique_ptr<llvm::MCDisassembler> disassembler;
  std::unique_ptr<llvm::MCInstrAnalysis> analysis;
  AddressingRegisters addressing; ///< register numbers, found by name
  /// By opcode: what decode() would otherwise find by name, per instruction.
  struct OpcodeFacts {
    Shape shape = Shape::Other;
    bool isPadding = false;
    bool stops = false; ///< hlt, int3, ud1, ud2: control does not continue
  };
  std::vector<OpcodeFacts> opcodes;
  std::vector<int8_t> family;       ///< by register: its general-purpose family, or -1
  bool describeOperations = false;
};

Decoder::Decoder(bool describeOperations) : impl(std::make_unique<Impl>()) {
  impl->describeOperations = describeOperations;
  static std::once_flag once;
  std::call_once(once, [] {
    LLVMInitializeX86TargetInfo();
    LLVMInitializeX86TargetMC();
    LLVMInitializeX86Disassembler();
  });
  llvm::Triple triple("x86_64-unknown-linux-gnu");
  std::string error;
  const llvm::Target *target = llvm::TargetRegistry::lookupTarget(triple.str(), error);
  if (!target)
    fatal("LLVM has no x86-64 disassembler: " + error, ExitInternal);
  Impl &m = *impl;
  m.registers.reset(target->createMCRegInfo(triple.str()));
  m.asmInfo.reset(target->createMCAsmInfo(*m.registers, triple.str(), llvm::MCTargetOptions()));
  m.subtarget.reset(target->createMCSubtargetInfo(triple.str(), "", ""));
  m.instrInfo.reset(target->createMCInstrInfo());
  m.context = std::make_unique<llvm::MCContext>(triple, m.asmInfo.get(), m.registers.get(),
                                                m.subtarget.get());
  m.disassembler.reset(target->createMCDisassembler(*m.subtarget, *m.context));
  m.analysis.reset(target->createMCInstrAnalysis(m.instrInfo.get()));
  if (!m.disassembler || !m.analysis)
    fatal("LLVM's x86-64 disassembler could not be created", ExitInternal);
  AddressingRegisters &regs = m.addressing;
  for (unsigned r = 1; r < m.registers->getNumRegs(); ++r) {
    llvm::StringRef name = m.registers->getName(r);
    if (name == "RIP")
      regs.rip = r;
    else if (name == "FS")
      regs.fs = r;
    else if (name == "GS")
      regs.gs = r;
  }
  if (!regs.rip || !regs.fs || !regs.gs)
    fatal("LLVM's x86-64 register names lack RIP, FS or GS", ExitInternal);
  m.opcodes.resize(m.instrInfo->getNumOpcodes());
  for (unsigned op = 0; op < m.opcodes.size(); ++op) {
    llvm::StringRef name = m.instrInfo->getName(op);
    m.opcodes[op] = {shapeOf(name), isPaddingName(name),
                     name == "HLT" || name == "INT3" || name == "UD2" || name.starts_with("UD1")};
  }
  // Each general-purpose register and its parts (%rax, %eax, %ax, %al, %ah).
  static const char *const wide[16] = {"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
                                       "R8",  "R9",  "R10", "R11", "R12", "R13", "R14", "R15"};
  m.family.assign(m.registers->getNumRegs(), Operation::NoRegister);
  for (int8_t f = 0; f < 16; ++f) {
    unsigned whole = 0;
    for (unsigned r = 1; r < m.registers->getNumRegs() && !whole; ++r)
      if (llvm::StringRef(m.registers->getName(r)) == wide[f])
        whole = r;
    if (!whole)
      fatal(std::string("LLVM's x86-64 register names lack ") + wide[f], ExitInternal);
    for (unsigned r = 1; r < m.registers->getNumRegs(); ++r)
      if (m.registers->isSuperOrSubRegisterEq(whole, r))
        m.family[r] = f;
  }
}

Decoder::~Decoder() = default;

namespace {

int32_t read32(const uint8_t *p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}


// The address a RIP-relative memory operand refers to. LLVM's analysis
// gives up on an operand with a segment register, yet in 64-bit mode CS,
// DS, ES and SS have base 0: such a prefix (padding an assembler adds for
// branch alignment, or CET's notrack, which is DS) leaves the operand an
// address of the file, and its displacement must follow the layout like
// any other. FS and GS add a base the file knows nothing of: rip + disp is
// then no address of the file and cannot be mapped, so the instruction is
// marked not understood (its code stays in place).
std::optional<uint64_t> ripRelativeAddress(const llvm::MCInstrAnalysis &analysis,
                                           const llvm::MCSubtargetInfo *subtarget,
                                           const AddressingRegisters &regs, const llvm::MCInst &inst,
                                           uint64_t a, uint64_t size, Instruction &out) {
  if (auto mem = analysis.evaluateMemoryOperandAddress(inst, subtarget, a, size))
    return mem;
  // An x86 memory operand is five MC operands: base, scale, index,
  // displacement, segment.
  for (unsigned i = 0; i + 4 < inst.getNumOperands(); ++i) {
    const llvm::MCOperand &base = inst.getOperand(i), &segment = inst.getOperand(i + 4);
    if (!base.isReg() || base.getReg() != regs.rip || !inst.getOperand(i + 3).isImm() ||
        !segment.isReg() || !segment.getReg())
      continue;
    if (segment.getReg() == regs.fs || segment.getReg() == regs.gs) {
      out.understood = false;
      return std::nullopt;
    }
    llvm::MCInst plain = inst;
    plain.getOperand(i + 4).setReg(0);
    return analysis.evaluateMemoryOperandAddress(plain, subtarget, a, size);
  }
  return std::nullopt;
}

// The facts of \p inst that jump table recognition needs.
Operation describeOperation(const Decoder::Impl &m, const llvm::MCInst &inst, const llvm::MCInstrDesc &desc) {
  Operation op;
  auto familyOf = [&](const llvm::MCOperand &o) -> int8_t {
    return o.isReg() && o.getReg() < m.family.size() ? m.family[o.getReg()] : Operation::NoRegister;
  };
  auto writeBit = [&](unsigned reg) {
    if (reg < m.family.size() && m.family[reg] >= 0)
      op.writes |= uint16_t(1u << m.family[reg]);
  };
  for (unsigned i = 0; i < desc.getNumDefs() && i < inst.getNumOperands(); ++i)
    if (inst.getOperand(i).isReg())
      writeBit(inst.getOperand(i).getReg());
  for (llvm::MCPhysReg r : desc.implicit_defs())
    writeBit(r);
  if (desc.isCall())
    op.writes = CallerSaved;
  auto operand = [&](unsigned i) -> const llvm::MCOperand * {
    return i < inst.getNumOperands() ? &inst.getOperand(i) : nullptr;
  };
  auto immediate = [&](unsigned i, int64_t &out) {
    const llvm::MCOperand *o = operand(i);
    if (!o || !o->isImm())
      return false;
    out = o->getImm();
    return true;
  };
  // An x86 memory operand is five MC operands: base, scale, index, displacement, segment.
  switch (m.opcodes[inst.getOpcode()].shape) {
  case Shape::Lea: {
    int64_t scale = 0, disp = -1;
    if (!operand(5))
      break;
    if (operand(1)->isReg() && operand(1)->getReg() == m.addressing.rip && operand(3)->isReg() &&
        !operand(3)->getReg()) {
      op.kind = Operation::LoadAddress;
      op.dst = familyOf(*operand(0));
    } else if (operand(1)->isReg() && !operand(1)->getReg() && familyOf(*operand(3)) >= 0 && immediate(2, scale) &&
               immediate(4, disp) && disp == 0) {
      op.kind = Operation::ScaledIndex;
      op.dst = familyOf(*operand(0));
      op.index = familyOf(*operand(3));
      op.immediate = scale;
    }
    break;
  }
  case Shape::SignExtendLoad:
  case Shape::Load32: {
    int64_t scale = 0, disp = -1;
    if (operand(5) && immediate(2, scale) && immediate(4, disp) && (scale == 4 || scale == 1) && disp == 0 &&
        operand(5)->isReg() && !operand(5)->getReg() && familyOf(*operand(1)) >= 0 &&
        familyOf(*operand(3)) >= 0) {
      op.kind = m.opcodes[inst.getOpcode()].shape == Shape::Load32 ? Operation::LoadTableEntry32
                                                                    : Operation::LoadTableEntry;
      op.dst = familyOf(*operand(0));
      op.base = familyOf(*operand(1));
      op.index = familyOf(*operand(3));
      op.immediate = scale;
    }
    break;
  }
  case Shape::SignExtendRegister:
    if (operand(1)) {
      op.kind = Operation::SignExtend;
      op.dst = familyOf(*operand(0));
      op.src = familyOf(*operand(1));
    }
    break;
  case Shape::Pop:
    if (operand(0)) {
      op.kind = Operation::Pop;
      op.dst = familyOf(*operand(0));
    }
    break;
  case Shape::SignExtendAccumulator:
    op.kind = Operation::SignExtend;
    op.dst = op.src = 0; // %eax into %rax
    break;
  case Shape::Add:
    if (operand(2)) {
      op.kind = Operation::AddRegisters;
      op.dst = familyOf(*operand(0));
      op.src = familyOf(*operand(2));
    }
    break;
  case Shape::Load:
    if (operand(0)) {
      op.kind = Operation::Load;
      op.dst = familyOf(*operand(0));
    }
    break;
  case Shape::Copy32:
  case Shape::Copy64:
    if (operand(1)) {
      op.kind = m.opcodes[inst.getOpcode()].shape == Shape::Copy32 ? Operation::Copy32 : Operation::Copy;
      op.dst = familyOf(*operand(0));
      op.src = familyOf(*operand(1));
    }
    break;
  case Shape::CompareRegister:
    if (operand(1) && immediate(1, op.immediate)) {
      op.kind = Operation::CompareImmediate;
      op.dst = familyOf(*operand(0));
    }
    break;
  case Shape::CompareAccumulator:
    if (immediate(0, op.immediate)) {
      op.kind = Operation::CompareImmediate;
      op.dst = 0; // %eax or %rax
    }
    break;
  case Shape::ConditionalJump: {
    int64_t condition = -1;
    if (immediate(1, condition) && condition == ConditionAbove)
      op.kind = Operation::JumpIfAbove;
    else if (condition == ConditionAboveOrEqual)
      op.kind = Operation::JumpIfAboveOrEqual;
    break;
  }
  case Shape::JumpRegister:
    if (operand(0)) {
      op.kind = Operation::IndirectJump;
      op.dst = familyOf(*operand(0));
    }
    break;
  case Shape::JumpMemory:
    op.kind = Operation::IndirectJumpMemory;
    break;
  case Shape::MoveImmediate:
    if (operand(1) && operand(1)->isImm()) {
      op.kind = Operation::LoadConstant;
      op.dst = familyOf(*operand(0));
      op.immediate = operand(1)->getImm();
    }
    break;
  case Shape::Xor: // xor %r,%r: zero, whatever %r held
    if (operand(2) && operand(1)->isReg() && operand(2)->isReg() && operand(1)->getReg() == operand(2)->getReg()) {
      op.kind = Operation::LoadConstant;
      op.dst = familyOf(*operand(0));
    }
    break;
  case Shape::Other:
    break;
  }
  return op;
}

} // namespace

namespace {
// LLVM's decoding of the instruction at the start of \p bytes; false when
// there is none, or it would not fit in \p bytes.
bool disassemble(const Decoder::Impl &m, std::span<const uint8_t> bytes, uint64_t a, llvm::MCInst &inst,
                 uint64_t &size) {
  size = 0;
  return !bytes.empty() &&
         m.disassembler->getInstruction(inst, size, llvm::ArrayRef(bytes.data(), bytes.size()), a, llvm::nulls()) ==
             llvm::MCDisassembler::Success &&
         size != 0 && size <= bytes.size();
}
} // namespace

std::optional<Instruction> Decoder::decode(std::span<const uint8_t> bytes, uint64_t a) const {
  const Impl &m = *impl;
  llvm::MCInst inst;
  uint64_t size = 0;
  if (!disassemble(m, bytes, a, inst, size))
    return std::nullopt;
  Instruction out;
  out.opcode = inst.getOpcode();
  out.size = size;
  const Decoder::Impl::OpcodeFacts &facts = m.opcodes[inst.getOpcode()];
  out.isPadding = facts.isPadding;
  const llvm::MCInstrDesc &desc = m.instrInfo->get(inst.getOpcode());
  if (m.describeOperations)
    out.operation = describeOperation(m, inst, desc);
  else if (facts.shape == Shape::JumpRegister)
    out.operation.kind = Operation::IndirectJump; // all a first pass asks

  // A call that ends a function calls something that does not return.
  out.isCall = desc.isCall();
  out.endsFlow = desc.isReturn() || desc.isTrap() || desc.isCall() ||
                 (desc.isBranch() && !desc.isConditionalBranch()) || facts.stops;

  uint64_t next = a + size;
  uint64_t target = 0;
  if (m.analysis->evaluateBranch(inst, a, size, target)) {
    int64_t disp = int64_t(target - next);
    PcRelativeField f;
    f.isBranch = true;
    f.target = target;
    if (size >= 5 && read32(bytes.data() + size - 4) == disp)
      f.size = 4;
    else if (int8_t(bytes[size - 1]) == disp)
      f.size = 1;
    else {
      out.understood = false; // a 16-bit displacement: not produced by compilers
      return out;
    }
    f.offset = size - f.size;
    out.field = f;
  } else if (auto mem = ripRelativeAddress(*m.analysis, m.subtarget.get(), m.addressing, inst, a,
                                           size, out)) {
    int32_t disp = int32_t(*mem - next);
    // The displacement follows a ModRM byte with mod=00, rm=101; an
    // immediate may follow it, so search rather than assume the end.
    int candidates = 0;
    PcRelativeField f;
    f.target = *mem;
    for (uint64_t p = 1; p + 4 <= size; ++p)
      if ((bytes[p - 1] & 0xC7) == 0x05 && read32(bytes.data() + p) == disp) {
        f.offset = p;
        ++candidates;
      }
    if (candidates != 1) {
      out.understood = false;
      return out;
    }
    out.field = f;
  }
  return out;
}

std::optional<RawInstruction> Decoder::decodeRaw(std::span<const uint8_t> bytes, uint64_t a) const {
  const Impl &m = *impl;
  llvm::MCInst inst;
  uint64_t size = 0;
  if (!disassemble(m, bytes, a, inst, size))
    return std::nullopt;
  RawInstruction out;
  llvm::StringRef name = m.instrInfo->getName(inst.getOpcode());
  out.name = std::string_view(name.data(), name.size());
  out.size = size;
  for (const llvm::MCOperand &o : inst) {
    RawOperand r;
    if (o.isReg()) {
      r.isRegister = true;
      unsigned reg = o.getReg();
      if (reg == m.addressing.rip)
        r.family = RawOperand::Rip;
      else if (reg != 0)
        r.family = reg < m.family.size() && m.family[reg] >= 0 ? m.family[reg] : RawOperand::OtherRegister;
    } else if (o.isImm()) {
      r.immediate = o.getImm();
    } else {
      r.family = RawOperand::OtherRegister; // an expression: not produced by the disassembler
    }
    out.operands.push_back(r);
  }
  return out;
}

} // namespace elfopt::x86_64
