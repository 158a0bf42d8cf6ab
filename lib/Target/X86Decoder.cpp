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
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/TargetParser/Triple.h"

#include <cstring>
#include <mutex>

namespace elfopt::x86_64 {

namespace {
struct AddressingRegisters {
  unsigned rip = 0, fs = 0, gs = 0;
};
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
};

Decoder::Decoder() : impl(std::make_unique<Impl>()) {
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
}

Decoder::~Decoder() = default;

namespace {

int32_t read32(const uint8_t *p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

bool isPaddingName(llvm::StringRef name) {
  return name.starts_with("NOOP") || name == "NOP" || name == "INT3" ||
         name.starts_with("DATA16_PREFIX") || name == "CS_PREFIX";
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

} // namespace

std::optional<Instruction> Decoder::decode(std::span<const uint8_t> bytes, uint64_t a) const {
  const Impl &m = *impl;
  llvm::MCInst inst;
  uint64_t size = 0;
  if (bytes.empty() ||
      m.disassembler->getInstruction(inst, size, llvm::ArrayRef(bytes.data(), bytes.size()), a,
                                     llvm::nulls()) != llvm::MCDisassembler::Success ||
      size == 0 || size > bytes.size())
    return std::nullopt;
  Instruction out;
  out.opcode = inst.getOpcode();
  out.size = size;
  llvm::StringRef name = m.instrInfo->getName(inst.getOpcode());
  out.isPadding = isPaddingName(name);
  const llvm::MCInstrDesc &desc = m.instrInfo->get(inst.getOpcode());
  // A call that ends a function calls something that does not return.
  out.endsFlow = desc.isReturn() || desc.isTrap() || desc.isCall() ||
                 (desc.isBranch() && !desc.isConditionalBranch()) || name == "HLT" ||
                 name == "INT3" || name == "UD2" || name.starts_with("UD1");

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

} // namespace elfopt::x86_64
