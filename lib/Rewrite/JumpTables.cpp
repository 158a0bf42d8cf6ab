//===- JumpTables.cpp -----------------------------------------------------===//
#include "JumpTables.h"

#include <algorithm>

namespace elfopt::rewrite {

using x86_64::Operation;

namespace {

// Tables larger than this are not what a switch compiles to.
constexpr uint64_t MaxEntries = uint64_t(1) << 20;

class JumpFinder {
public:
  JumpFinder(std::span<const DecodedInstruction> code, const std::function<bool(uint64_t)> &isLabel,
             const std::function<bool(uint64_t)> &enteredFromElsewhere, const OwnTables *own)
      : code(code), isLabel(isLabel), enteredFromElsewhere(enteredFromElsewhere), own(own) {
    for (size_t i = 0; i < code.size(); ++i)
      if (code[i].instruction.operation.kind == Operation::IndirectJump)
        jumpAt.push_back({code[i].address, i});
    for (size_t i = 0; i < code.size(); ++i) {
      const x86_64::Instruction &inst = code[i].instruction;
      if (inst.field && inst.field->isBranch && !inst.isCall)
        branches.push_back({inst.field->target, i});
    }
    std::sort(branches.begin(), branches.end());
  }

  /// The jump at \p jump, and the jumps whose tables its value was
  /// followed back through (findIndirectJumps checks them).
  std::pair<IndirectJump, std::vector<uint64_t>> classify(size_t jump) const {
    throughTables.clear();
    IndirectJump out = classifyCurrent(jump);
    std::sort(throughTables.begin(), throughTables.end());
    throughTables.erase(std::unique(throughTables.begin(), throughTables.end()), throughTables.end());
    return {out, throughTables};
  }

private:
  IndirectJump classifyCurrent(size_t jump) const {
    IndirectJump out;
    out.address = code[jump].address;
    int8_t target = code[jump].instruction.operation.dst;
    auto w = writerOf(target, jump);
    if (!w) {
      if (onlyPointers(target, jump))
        out.kind = IndirectJump::Pointer;
      return out;
    }
    const Operation &op = code[*w].instruction.operation;
    if (writesPointer(*w, target) && !code[*w].instruction.isCall) {
      out.kind = IndirectJump::Pointer;
      return out;
    }
    if (op.kind != Operation::AddRegisters || op.dst != target || op.src < 0)
      return out;
    // One addend is the table's base, the other the entry loaded from it.
    for (auto [base, entry] : {std::pair{op.src, target}, std::pair{target, op.src}}) {
      auto load = entryLoad(entry, *w);
      auto table = addressIn(base, *w);
      if (!load || !table)
        continue;
      auto index = tableIndex(*load, *table);
      if (!index)
        continue;
      out.kind = IndirectJump::Table;
      out.tableBase = *table;
      out.entries = bound(index->first, index->second);
      return out;
    }
    return out;
  }

  static constexpr size_t CallerValue = SIZE_MAX;

  // Every instruction whose write of \p reg may reach the point just before
  // instruction \p at (CallerValue: the caller's value), following the
  // function's own branches back from each label; nullopt when a path
  // starts at a label entered from elsewhere. A worklist, not recursion:
  // functions may be long.
  std::optional<std::vector<size_t>> reachingWrites(int8_t reg, size_t at) const {
    if (reg < 0)
      return std::nullopt;
    std::vector<size_t> writes;
    std::vector<bool> explored(code.size(), false); // labels whose sources are queued
    std::vector<size_t> work{at};                   // "the value just before instruction i"
    size_t steps = 0;
    auto wrote = [&](size_t i) { return (code[i].instruction.operation.writes & (1u << reg)) != 0; };
    while (!work.empty()) {
      size_t i = work.back();
      work.pop_back();
      for (;;) {
        if (++steps > 100000)
          return std::nullopt; // hostile input: give up, keep the function
        if (i > 0 && isLabel(code[i].address)) {
          if (explored[i])
            break;
          explored[i] = true;
          if (enteredFromElsewhere(code[i].address)) {
            // Entered only through tables of this function's jumps (as the
            // pass before found them): the value there is the one before each
            // such jump, if its table is the same (findIndirectJumps checks).
            auto jumps = own ? own->jumpsTo(code[i].address) : std::nullopt;
            if (!jumps || jumps->empty())
              return std::nullopt;
            for (uint64_t j : *jumps) {
              auto at = std::lower_bound(jumpAt.begin(), jumpAt.end(), std::pair{j, size_t(0)});
              if (at == jumpAt.end() || at->first != j)
                return std::nullopt; // another function's jump
              throughTables.push_back(j);
              if (wrote(at->second))
                writes.push_back(at->second);
              else
                work.push_back(at->second);
            }
          }
          auto [first, last] = std::equal_range(branches.begin(), branches.end(), std::pair{code[i].address, size_t(0)},
                                                [](auto a, auto b) { return a.first < b.first; });
          for (auto it = first; it != last; ++it)
            if (wrote(it->second))
              writes.push_back(it->second);
            else
              work.push_back(it->second); // the value before the jump
        }
        if (i == 0) {
          writes.push_back(CallerValue);
          break;
        }
        if (code[i - 1].instruction.endsFlow)
          break; // no way in but the label
        --i;
        if (wrote(i)) {
          writes.push_back(i);
          break;
        }
      }
    }
    return writes;
  }

  // Whether \p i's write of \p reg puts a pointer there: a load from
  // memory, a RIP-relative address, or a call's result; or a constant
  // (`xor %r,%r`, `mov $imm`), which in position-independent code is no
  // address of the object's own code (that would need a text relocation),
  // and with static relocations is a field that follows its code; or a
  // copy of another register that holds only such values where it is
  // copied (a virtual tail call: the target loaded into a callee-saved
  // register before a call, copied to %rax after it).
  bool writesPointer(size_t i, int8_t reg) const {
    if (i == CallerValue)
      return true;
    const x86_64::Instruction &inst = code[i].instruction;
    const Operation &op = inst.operation;
    if (op.kind == Operation::Copy && op.dst == reg && op.src >= 0 && op.src != reg) {
      if (copiesFollowed >= MaxCopiesFollowed)
        return false;
      ++copiesFollowed;
      bool pointer = onlyPointers(op.src, i);
      --copiesFollowed;
      return pointer;
    }
    return inst.isCall || ((op.kind == Operation::Load || op.kind == Operation::LoadAddress ||
                            op.kind == Operation::LoadConstant) &&
                           op.dst == reg);
  }

  // Copies followed back from one jump, at most: a chain of moves longer
  // than this is not what a compiler emits.
  static constexpr unsigned MaxCopiesFollowed = 4;
  mutable unsigned copiesFollowed = 0;

  bool onlyPointers(int8_t reg, size_t at) const {
    auto writes = reachingWrites(reg, at);
    return writes && std::all_of(writes->begin(), writes->end(), [&](size_t w) { return writesPointer(w, reg); });
  }

  // The instruction before \p before that last wrote \p reg, if control
  // reaches \p before from it in a straight line.
  std::optional<size_t> writerOf(int8_t reg, size_t before) const {
    if (reg < 0)
      return std::nullopt;
    for (size_t i = before; straightInto(i);) {
      --i;
      if (code[i].instruction.operation.writes & (1u << reg))
        return i;
    }
    return std::nullopt;
  }

  // Whether instruction \p i is entered only from instruction i - 1.
  bool straightInto(size_t i) const {
    return i > 0 && !code[i - 1].instruction.endsFlow && !isLabel(code[i].address);
  }

  // The address that `lea ADDRESS(%rip), reg` put in \p reg before \p at:
  // in a straight line, or else the one address every write of reg in the
  // function puts there (Clang hoists the lea out of loops).
  std::optional<uint64_t> addressIn(int8_t reg, size_t at) const {
    if (reg < 0)
      return std::nullopt;
    auto leaTarget = [&](size_t i) -> std::optional<uint64_t> {
      const x86_64::Instruction &inst = code[i].instruction;
      if (inst.operation.kind == Operation::LoadAddress && inst.operation.dst == reg && inst.field)
        return inst.field->target;
      return std::nullopt;
    };
    if (auto w = writerOf(reg, at))
      return leaTarget(*w);
    // Across labels: every write that reaches here sets the same table.
    if (auto writes = reachingWrites(reg, at); writes && !writes->empty()) {
      std::optional<uint64_t> same;
      for (size_t w : *writes) {
        auto t = w == CallerValue ? std::nullopt : leaTarget(w);
        if (!t || (same && *same != *t)) {
          same.reset();
          break;
        }
        same = t;
      }
      if (same)
        return same;
    }
    std::optional<uint64_t> only;
    for (size_t i = 0; i < code.size(); ++i) {
      if (!(code[i].instruction.operation.writes & (1u << reg)) || restoresForCaller(i))
        continue;
      auto t = leaTarget(i);
      if (!t || (only && *only != *t))
        return std::nullopt;
      only = t;
    }
    return only;
  }

  // The load of the 32-bit entry that \p entry holds before \p at:
  // `movslq (..), entry`, or GCC -O0's `mov (..), %eax; cltq`.
  std::optional<size_t> entryLoad(int8_t entry, size_t at) const {
    auto w = writerOf(entry, at);
    if (!w)
      return std::nullopt;
    const Operation &op = code[*w].instruction.operation;
    if (op.kind == Operation::LoadTableEntry && op.dst == entry)
      return w;
    if (op.kind != Operation::SignExtend || op.dst != entry)
      return std::nullopt;
    auto narrow = writerOf(op.src, *w);
    if (narrow && code[*narrow].instruction.operation.kind == Operation::LoadTableEntry32 &&
        code[*narrow].instruction.operation.dst == op.src)
      return narrow;
    return std::nullopt;
  }

  // The index register of the load at \p load from \p table, and where its
  // value is taken: `(table,index,4)`, or `(table,scaled,1)` with
  // `lea 0(,index,4), scaled` before (GCC -O0).
  std::optional<std::pair<int8_t, size_t>> tableIndex(size_t load, uint64_t table) const {
    const Operation &l = code[load].instruction.operation;
    if (l.immediate == 4)
      return addressIn(l.base, load) == table ? std::optional(std::pair{l.index, load}) : std::nullopt;
    for (auto [holdsTable, scaled] : {std::pair{l.base, l.index}, std::pair{l.index, l.base}}) {
      if (addressIn(holdsTable, load) != table)
        continue;
      auto s = writerOf(scaled, load);
      if (!s)
        continue;
      const Operation &op = code[*s].instruction.operation;
      if (op.kind == Operation::ScaledIndex && op.dst == scaled && op.immediate == 4)
        return std::pair{op.index, *s};
    }
    return std::nullopt;
  }

  // Whether instruction \p i is an epilogue's `pop`: only pops follow it
  // up to a return or a tail call, so the value it restores is the
  // caller's, and nothing of this function reads it.
  bool restoresForCaller(size_t i) const {
    if (code[i].instruction.operation.kind != Operation::Pop)
      return false;
    for (size_t k = i; k < code.size(); ++k) {
      const x86_64::Instruction &inst = code[k].instruction;
      if (k > i && isLabel(code[k].address))
        return false;
      if (inst.endsFlow) // a return or a tail call; a call would come back
        return !inst.isCall;
      if (inst.operation.kind != Operation::Pop)
        return false;
    }
    return false;
  }

  // The number of entries the index check before \p load allows:
  // `cmp $N, idx; ja default` falls through for idx <= N (unsigned).
  std::optional<uint64_t> bound(int8_t index, size_t load) const {
    for (size_t i = load; straightInto(i);) {
      --i;
      const Operation &op = code[i].instruction.operation;
      bool above = op.kind == Operation::JumpIfAbove, aboveOrEqual = op.kind == Operation::JumpIfAboveOrEqual;
      if (above || aboveOrEqual) {
        if (!straightInto(i))
          return std::nullopt;
        const Operation &cmp = code[i - 1].instruction.operation;
        if (cmp.kind != Operation::CompareImmediate || cmp.dst != index || cmp.immediate < 0 ||
            uint64_t(cmp.immediate) >= MaxEntries)
          return std::nullopt;
        return uint64_t(cmp.immediate) + (above ? 1 : 0);
      }
      // `mov %eidx, %eidx` zero-extends the index the check compared;
      // `mov %esrc, %eidx` (GCC -O0) carries the bound over from src.
      if (op.kind == Operation::Copy32 && op.dst == index && op.src >= 0) {
        index = op.src;
        continue;
      }
      if (op.writes & (1u << index))
        return std::nullopt;
    }
    return std::nullopt;
  }

  std::span<const DecodedInstruction> code;
  const std::function<bool(uint64_t)> &isLabel;
  const std::function<bool(uint64_t)> &enteredFromElsewhere;
  const OwnTables *own;
  std::vector<std::pair<uint64_t, size_t>> jumpAt; ///< indirect jump address -> index, sorted
  mutable std::vector<uint64_t> throughTables;       ///< of the jump being classified
  std::vector<std::pair<uint64_t, size_t>> branches; ///< target -> branch, sorted
};

} // namespace

std::vector<IndirectJump> findIndirectJumps(std::span<const DecodedInstruction> code,
                                            const std::function<bool(uint64_t)> &isLabel,
                                            const std::function<bool(uint64_t)> &enteredFromElsewhere,
                                            const OwnTables *own) {
  std::vector<IndirectJump> jumps;
  std::vector<std::vector<uint64_t>> through;
  JumpFinder finder(code, isLabel, enteredFromElsewhere, own);
  for (size_t i = 0; i < code.size(); ++i)
    if (code[i].instruction.operation.kind == Operation::IndirectJump) {
      auto [jump, tables] = finder.classify(i);
      jumps.push_back(jump);
      through.push_back(std::move(tables));
    }
  // A value followed back through a jump's table assumed that jump's first
  // table, so its targets: each such jump must have that table again, and
  // a jump that relied on one that does not is not understood either.
  auto sameTable = [&](size_t k) {
    return jumps[k].kind == IndirectJump::Table && own->firstBase(jumps[k].address) == jumps[k].tableBase;
  };
  for (bool changed = true; changed;) {
    changed = false;
    for (size_t k = 0; k < jumps.size(); ++k) {
      if (through[k].empty() || jumps[k].kind == IndirectJump::NotUnderstood)
        continue;
      bool holds = true;
      for (uint64_t j : through[k]) {
        auto it = std::find_if(jumps.begin(), jumps.end(), [&](const IndirectJump &x) { return x.address == j; });
        holds = holds && it != jumps.end() && sameTable(size_t(it - jumps.begin()));
      }
      if (!holds) {
        jumps[k].kind = IndirectJump::NotUnderstood;
        changed = true;
      }
    }
  }
  return jumps;
}

} // namespace elfopt::rewrite
