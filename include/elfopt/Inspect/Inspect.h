//===- Inspect.h - what a user needs to know before optimizing --*- C++ -*-===//
//
// `elfopt inspect` gathers the facts about one file into a JSON document
// (schema "elfopt-inspect/1", described in docs/inspect-json.md) and renders the same
// document as text, so the two views can never disagree.
//
//===----------------------------------------------------------------------===//
#pragma once

#include "elfopt/Elf/ElfFile.h"

#include <nlohmann/json.hpp>
#include <string>

namespace elfopt {

inline constexpr const char *InspectSchema = "elfopt-inspect/1";

/// Collects every figure of `elfopt inspect`. Throws FatalError on tables
/// too corrupt to read (the message names the file and the table).
nlohmann::ordered_json inspect(const ElfFile &file);

/// Human-readable rendering of inspect()'s document.
std::string renderInspectText(const nlohmann::ordered_json &report);

} // namespace elfopt
