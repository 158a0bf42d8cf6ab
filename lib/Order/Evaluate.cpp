//===- Evaluate.cpp -------------------------------------------------------===//
#include "elfopt/Order/Evaluate.h"

#include <algorithm>
#include <map>
#include <unordered_set>

namespace elfopt {

LayoutScore &LayoutScore::operator+=(const LayoutScore &o) {
  pages += o.pages;
  windows64k += o.windows64k;
  windows128k += o.windows128k;
  backward += o.backward;
  lowerBound += o.lowerBound;
  return *this;
}

LayoutScore LayoutScore::scaled(double f) const {
  return {pages * f, windows64k * f, windows128k * f, backward * f, lowerBound * f};
}

std::vector<OrderedFunction> functionsOf(const FunctionTable &table) {
  std::vector<OrderedFunction> out;
  for (const Function &f : table.functions)
    out.push_back({f.name, f.address, f.size, 0, 0});
  return out;
}

TextLayout TextLayout::original(const FunctionTable &table) {
  TextLayout l;
  for (const Function &f : table.functions)
    l.newAddress[f.address] = f.address;
  return l;
}

static uint64_t alignmentOf(uint64_t address) {
  uint64_t natural = address ? address & (~address + 1) : 16;
  return std::min<uint64_t>(natural, 16);
}

TextLayout TextLayout::withOrder(const FunctionTable &table, const std::vector<uint64_t> &order) {
  TextLayout l;
  std::map<unsigned, uint64_t> sectionStart;
  std::unordered_map<uint64_t, const Function *> byAddress;
  for (const Function &f : table.functions) {
    byAddress[f.address] = &f;
    auto [it, fresh] = sectionStart.try_emplace(f.section, f.address);
    if (!fresh)
      it->second = std::min(it->second, f.address);
  }
  std::map<unsigned, uint64_t> cursor = sectionStart;
  auto place = [&](const Function &f) {
    uint64_t &c = cursor[f.section];
    uint64_t a = alignmentOf(f.address);
    c = (c + a - 1) / a * a;
    l.newAddress[f.address] = c;
    c += std::max<uint64_t>(f.size, 1);
  };
  std::unordered_set<uint64_t> placed;
  for (uint64_t addr : order) {
    auto it = byAddress.find(addr);
    if (it != byAddress.end() && placed.insert(addr).second)
      place(*it->second);
  }
  for (const Function &f : table.functions) // sorted by address
    if (!placed.count(f.address))
      place(f);
  return l;
}

TextLayout TextLayout::byName(const FunctionTable &from, const FunctionTable &to) {
  TextLayout l;
  std::unordered_map<std::string, uint64_t> where;
  for (const Function &f : to.functions)
    where.emplace(f.name, f.address);
  for (const Function &f : from.functions) {
    auto it = where.find(f.name);
    l.newAddress[f.address] = it == where.end() ? f.address : it->second;
  }
  return l;
}

uint64_t TextLayout::addressOf(uint64_t oldAddress) const {
  auto it = newAddress.find(oldAddress);
  return it == newAddress.end() ? oldAddress : it->second;
}

LayoutScore scoreRun(const RunSet &set, const std::vector<uint32_t> &run, const TextLayout &layout) {
  std::unordered_set<uint64_t> pages, w64, w128;
  LayoutScore s;
  uint64_t bytes = 0, previous = 0;
  bool first = true;
  for (uint32_t f : run) {
    const OrderedFunction &fn = set.functions[f];
    uint64_t start = layout.addressOf(fn.address);
    uint64_t end = start + std::max<uint64_t>(fn.size, 1) - 1;
    for (uint64_t p = start >> 12; p <= end >> 12; ++p)
      pages.insert(p);
    for (uint64_t p = start >> 16; p <= end >> 16; ++p)
      w64.insert(p);
    for (uint64_t p = start >> 17; p <= end >> 17; ++p)
      w128.insert(p);
    if (!first && start < previous)
      s.backward += 1;
    previous = start;
    first = false;
    bytes += std::max<uint64_t>(fn.size, 1);
  }
  s.pages = double(pages.size());
  s.windows64k = double(w64.size());
  s.windows128k = double(w128.size());
  s.lowerBound = double((bytes + 4095) / 4096);
  return s;
}

} // namespace elfopt
