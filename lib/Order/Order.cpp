//===- Order.cpp - Markov-smoothed function order --------------------------===//
#include "elfopt/Order/Order.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/InputFile.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>
#include <unordered_map>
#include <utility>

using json = nlohmann::ordered_json;

namespace elfopt {

static bool sameBuild(const ObjectIdentity &a, const ObjectIdentity &b) {
  if (!a.buildId.empty() && !b.buildId.empty())
    return a.buildId == b.buildId;
  return a.contentHash == b.contentHash;
}

static std::string describe(const ObjectIdentity &id) {
  return id.buildId.empty() ? "content " + id.contentHash.substr(0, 19) : "build-id " + id.buildId;
}

RunSet collectRuns(const std::vector<Profile> &profiles, const std::vector<std::string> &names,
                   const std::string &object, const ObjectIdentity *expected,
                   const std::vector<OrderedFunction> *binaryFunctions, bool allowMismatch) {
  RunSet set;
  std::unordered_map<uint64_t, uint32_t> byAddress;
  std::unordered_map<std::string, uint32_t> byName;
  auto add = [&](const std::string &symbol, uint64_t address, uint64_t size) {
    uint32_t id = uint32_t(set.functions.size());
    set.functions.push_back({symbol, address, size, 0, 0});
    byAddress.emplace(address, id);
    byName.emplace(symbol, id);
    return id;
  };
  if (binaryFunctions)
    for (const OrderedFunction &f : *binaryFunctions)
      add(f.symbol, f.address, f.size);

  bool haveReference = expected != nullptr;
  if (expected)
    set.identity = *expected;
  uint64_t foreignTouches = 0, foreignMatched = 0;
  for (size_t p = 0; p < profiles.size(); ++p) {
    const Profile &profile = profiles[p];
    std::string why;
    std::optional<uint32_t> found = findProfileObject(profile, object, why);
    if (!found)
      fatal(names[p] + ": " + why);
    uint32_t index = *found;
    const ObjectIdentity &id = profile.objects[index];
    if (!haveReference) {
      set.identity = id;
      haveReference = true;
    }
    bool same = sameBuild(id, set.identity);
    if (!same && !allowMismatch)
      fatal(names[p] + ": object '" + object + "' was recorded from another build (" +
            describe(id) + ", expected " + describe(set.identity) +
            "); use --allow-mismatch to match functions by name");
    for (const Run &run : profile.runs)
      for (const ObjectRun &orun : run.objects) {
        if (orun.object != uint32_t(index) || !orun.loaded)
          continue;
        std::vector<uint32_t> seq;
        std::vector<bool> seen(set.functions.size(), false);
        for (const Touch &t : orun.touches) {
          uint32_t fid;
          if (same) {
            auto it = byAddress.find(t.address);
            if (it != byAddress.end())
              fid = it->second;
            else if (binaryFunctions)
              continue; // not a function of the binary
            else
              fid = add(t.symbol, t.address, t.size);
          } else {
            ++foreignTouches;
            auto it = byName.find(t.symbol);
            if (it == byName.end())
              continue;
            ++foreignMatched;
            fid = it->second;
          }
          if (fid >= seen.size())
            seen.resize(fid + 1, false);
          if (!seen[fid]) {
            seen[fid] = true;
            seq.push_back(fid);
          }
        }
        set.runs.push_back(std::move(seq));
      }
  }
  set.matchRate = foreignTouches ? double(foreignMatched) / double(foreignTouches) : 1.0;
  computeStatistics(set, set.runs);
  return set;
}

void computeStatistics(RunSet &set, const std::vector<std::vector<uint32_t>> &runs) {
  std::vector<double> count(set.functions.size(), 0), pos(set.functions.size(), 0);
  for (const auto &run : runs)
    for (size_t i = 0; i < run.size(); ++i) {
      count[run[i]] += 1;
      pos[run[i]] += run.size() > 1 ? double(i) / double(run.size() - 1) : 0;
    }
  for (size_t f = 0; f < set.functions.size(); ++f) {
    set.functions[f].support = runs.empty() ? 0 : count[f] / double(runs.size());
    set.functions[f].position = count[f] ? pos[f] / count[f] : 1;
  }
}

// Statistics over exactly `runs` (a subset in cross-validation).
static std::pair<std::vector<double>, std::vector<double>>
statistics(const RunSet &set, const std::vector<std::vector<uint32_t>> &runs) {
  RunSet copy;
  copy.functions = set.functions;
  computeStatistics(copy, runs);
  std::vector<double> support, position;
  for (const OrderedFunction &f : copy.functions) {
    support.push_back(f.support);
    position.push_back(f.position);
  }
  return {support, position};
}

std::vector<uint32_t> orderMarkov(const RunSet &set, const std::vector<std::vector<uint32_t>> &runs,
                                  const OrderParameters &params) {
  auto [support, position] = statistics(set, runs);
  size_t n = set.functions.size();
  // Transition weights, expected per run.
  std::unordered_map<uint64_t, double> weight;
  for (const auto &run : runs)
    for (size_t i = 0; i < run.size(); ++i) {
      double w = 1.0 / double(runs.size());
      for (size_t d = 1; d <= params.window && i + d < run.size(); ++d) {
        weight[uint64_t(run[i]) << 32 | run[i + d]] += w;
        w *= params.decay;
      }
    }
  struct Edge {
    uint32_t from, to;
    double w;
  };
  std::vector<Edge> edges;
  edges.reserve(weight.size());
  for (auto [key, w] : weight)
    edges.push_back({uint32_t(key >> 32), uint32_t(key), w});
  auto addressOf = [&](uint32_t f) { return set.functions[f].address; };
  std::sort(edges.begin(), edges.end(), [&](const Edge &a, const Edge &b) {
    if (a.w != b.w)
      return a.w > b.w;
    if (addressOf(a.from) != addressOf(b.from))
      return addressOf(a.from) < addressOf(b.from);
    return addressOf(a.to) < addressOf(b.to);
  });

  // Chains of touched functions, joined along the heaviest transitions: a
  // chain is a linked list (next), found through a union-find forest, so a
  // join costs O(1) whatever order the edges come in (a vector per chain,
  // copied at each join, was quadratic on a profile in reverse address
  // order).
  constexpr uint32_t None = UINT32_MAX;
  std::vector<uint32_t> parent(n, None), next(n, None), head(n, None), tail(n, None), size(n, 0);
  for (uint32_t f = 0; f < n; ++f)
    if (support[f] > 0) {
      parent[f] = head[f] = tail[f] = f;
      size[f] = 1;
    }
  auto find = [&](uint32_t f) {
    uint32_t root = f;
    while (parent[root] != root)
      root = parent[root];
    while (parent[f] != root) // path compression
      f = std::exchange(parent[f], root);
    return root;
  };
  for (const Edge &e : edges) {
    if (parent[e.from] == None || parent[e.to] == None)
      continue;
    uint32_t ca = find(e.from), cb = find(e.to);
    if (ca == cb || tail[ca] != e.from || head[cb] != e.to)
      continue;
    // Keep the order moving forward in time.
    if (position[head[ca]] > position[head[cb]])
      continue;
    next[tail[ca]] = head[cb];
    uint32_t first = head[ca], last = tail[cb];
    uint32_t root = size[ca] >= size[cb] ? ca : cb, other = root == ca ? cb : ca;
    parent[other] = root;
    size[root] += size[other];
    head[root] = first;
    tail[root] = last;
  }

  struct Keyed {
    double key;
    uint64_t address;
    uint32_t root;
  };
  std::vector<Keyed> keyed;
  for (uint32_t c = 0; c < n; ++c) {
    if (parent[c] != c)
      continue; // not touched, or not a chain's root
    double sum = 0;
    uint64_t lowest = UINT64_MAX;
    for (uint32_t f = head[c]; f != None; f = next[f]) {
      sum += position[f] + params.rarityPenalty * (1 - support[f]);
      lowest = std::min(lowest, addressOf(f));
    }
    keyed.push_back({sum / double(size[c]), lowest, c});
  }
  std::sort(keyed.begin(), keyed.end(), [](const Keyed &a, const Keyed &b) {
    return a.key != b.key ? a.key < b.key : a.address < b.address;
  });
  std::vector<uint32_t> order;
  for (const Keyed &k : keyed)
    for (uint32_t f = head[k.root]; f != None; f = next[f])
      order.push_back(f);
  return order;
}

std::vector<uint32_t> orderByMeanRank(const RunSet &set,
                                      const std::vector<std::vector<uint32_t>> &runs) {
  auto [support, position] = statistics(set, runs);
  std::vector<uint32_t> order;
  for (uint32_t f = 0; f < set.functions.size(); ++f)
    if (support[f] > 0)
      order.push_back(f);
  std::sort(order.begin(), order.end(), [&](uint32_t a, uint32_t b) {
    if (position[a] != position[b])
      return position[a] < position[b];
    return set.functions[a].address < set.functions[b].address;
  });
  return order;
}

std::vector<uint32_t> orderFromRun(const std::vector<uint32_t> &run) { return run; }

std::string orderToJson(const RunSet &set, const std::vector<uint32_t> &order,
                        const OrderParameters &params, size_t profileCount) {
  json doc;
  doc["format"] = "elfopt-order";
  doc["version"] = 1;
  const ObjectIdentity &id = set.identity;
  doc["object"] = {{"name", id.name},        {"path", id.path}, {"buildId", id.buildId},
                   {"size", id.size},        {"contentHash", id.contentHash}};
  doc["algorithm"] = {{"name", "markov-chains"},
                      {"window", params.window},
                      {"decay", params.decay},
                      {"rarityPenalty", params.rarityPenalty}};
  doc["input"] = {{"profiles", profileCount}, {"runs", set.runs.size()}, {"matchRate", set.matchRate}};
  doc["untouched"] = "original-order";
  json functions = json::array();
  for (uint32_t f : order) {
    const OrderedFunction &fn = set.functions[f];
    functions.push_back({{"symbol", fn.symbol},
                         {"address", fn.address},
                         {"size", fn.size},
                         {"support", std::round(fn.support * 1e4) / 1e4},
                         {"position", std::round(fn.position * 1e4) / 1e4}});
  }
  doc["functions"] = functions;
  // Symbol names come from binaries and need not be UTF-8; JSON must be.
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string orderToSymbolList(const RunSet &set, const std::vector<uint32_t> &order) {
  std::string out;
  for (uint32_t f : order)
    out += set.functions[f].symbol + "\n";
  return out;
}

std::string orderToGoldSections(const RunSet &set, const std::vector<uint32_t> &order) {
  // With -ffunction-sections, GCC and Clang name a function's section
  // .text.NAME, and GCC puts main and static constructors in
  // .text.startup.NAME and hot functions in .text.hot.NAME. Cold fragments
  // (NAME.cold, in .text.unlikely.NAME) are left to the linker.
  std::string out;
  for (uint32_t f : order) {
    const std::string &s = set.functions[f].symbol;
    if (s.ends_with(".cold") || s.starts_with("fde@"))
      continue;
    out += ".text." + s + "\n.text.hot." + s + "\n.text.startup." + s + "\n";
  }
  return out;
}

OrderFile readOrderFile(const std::string &path) {
  return parseOrderFile(readFileContents(path), path);
}

OrderFile parseOrderFile(const std::string &text, const std::string &path) {
  json doc;
  try {
    doc = json::parse(text);
  } catch (const json::exception &e) {
    // parse_error, and out_of_range for numbers too large for 64 bits.
    fatal(path + ": malformed JSON: " + e.what());
  }
  OrderFile out;
  try {
    if (!doc.is_object() || !doc.contains("format") || doc["format"] != "elfopt-order" ||
        !doc.contains("version") || doc["version"] != 1)
      fatal(path + ": not an elfopt order, version 1 (\"format\": \"elfopt-order\")");
    const json &o = doc.at("object");
    out.identity.name = o.at("name").get<std::string>();
    out.identity.path = o.at("path").get<std::string>();
    out.identity.buildId = o.at("buildId").get<std::string>();
    out.identity.size = o.at("size").get<uint64_t>();
    out.identity.contentHash = o.at("contentHash").get<std::string>();
    for (const json &f : doc.at("functions"))
      out.functions.push_back({f.at("symbol").get<std::string>(), f.at("address").get<uint64_t>(),
                               f.at("size").get<uint64_t>(), 0, 0});
  } catch (const json::exception &e) {
    fatal(path + ": invalid order: " + e.what());
  }
  return out;
}

} // namespace elfopt
