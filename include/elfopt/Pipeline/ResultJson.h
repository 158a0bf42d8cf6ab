//===- ResultJson.h - the JSON of rewrite and edit results --*- C++ -*-===//
//
// The reports are a format other tools read (`elfopt report` reads the
// rewrite's back), so the library that makes the results writes them, and
// the keys a reader needs are named here once.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <nlohmann/json.hpp>

#include <string>

namespace elfopt {

struct DynsortResult;
struct EditResult;
struct OptimizeResult;
struct ScopeModel;
struct ScopePlan;
struct VerifyReport;

using ResultJson = nlohmann::ordered_json;

/// `elfopt rewrite --json`.
ResultJson rewriteResultJson(const std::string &input, const std::string &output, const OptimizeResult &result);
/// `elfopt edit --json`: the layout (segment* describe the first new
/// segment, "segments" all of them), and dynsort's figures if it ran.
ResultJson editResultJson(const std::string &input, const std::string &output, const EditResult &result);

ResultJson verifyReportJson(const VerifyReport &report);
ResultJson dynsortResultJson(const DynsortResult &result);
ResultJson scopeOrderJson(const ScopeModel &model, const ScopePlan &plan);

/// The keys of rewriteResultJson() that `elfopt report` reads back.
namespace rewrite_json {
inline constexpr char Blocks[] = "blocks";
/// The figures under Blocks the report tabulates, in its order.
inline constexpr const char *BlockFigures[] = {"functions", "moved",       "movedBytes", "orderedPlaced",
                                               "orderedBytes", "pinned",   "pinnedBytes", "bonded"};
inline constexpr char PinnedWhy[] = "pinnedWhy"; ///< under Blocks: reason -> blocks
inline constexpr char BondedWhy[] = "bondedWhy"; ///< under Blocks: reason -> blocks
inline constexpr char Kept[] = "kept";           ///< each block kept in place: name, reason, where
inline constexpr char KeptName[] = "name", KeptReason[] = "reason", KeptWhere[] = "where";
inline constexpr char Updated[] = "updated";     ///< kind of reference -> how many
inline constexpr char Verify[] = "verify";       ///< verifyReportJson(): ok, instructions, ...
inline constexpr char VerifyOk[] = "ok", VerifyInstructions[] = "instructions",
                      VerifyPcRelative[] = "pcRelativeOperands";
} // namespace rewrite_json

} // namespace elfopt
