//===- Report.cpp ---------------------------------------------------------===//
#include "elfopt/Report/Report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace elfopt {

namespace {

std::string escape(const std::string &text) {
  std::string out;
  for (char c : text) {
    switch (c) {
    case '<': out += "&lt;"; break;
    case '>': out += "&gt;"; break;
    case '&': out += "&amp;"; break;
    case '"': out += "&quot;"; break;
    default: out += c;
    }
  }
  return out;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", v);
  return buf;
}

// One cell per page, 64 to a row; darker = touched by more runs.
std::string pageMap(const ReportSide &side, size_t runs) {
  constexpr int Cell = 9, Columns = 64;
  size_t pages = side.pageRuns.size();
  size_t rows = (pages + Columns - 1) / Columns;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << Columns * Cell << "\" height=\""
      << std::max<size_t>(rows, 1) * Cell << "\" role=\"img\" aria-label=\"pages of .text\">";
  for (size_t p = 0; p < pages; ++p) {
    uint32_t n = side.pageRuns[p];
    std::string fill = "#e6e6e6";
    if (n) {
      double share = runs ? double(n) / double(runs) : 1;
      int light = int(75 - 45 * share); // 75% (one run) .. 30% (every run)
      fill = "hsl(210,80%," + std::to_string(light) + "%)";
    }
    svg << "<rect x=\"" << (p % Columns) * Cell << "\" y=\"" << (p / Columns) * Cell << "\" width=\""
        << Cell - 1 << "\" height=\"" << Cell - 1 << "\" fill=\"" << fill << "\"><title>page " << p
        << " (0x" << std::hex << side.textStart + 4096 * p << std::dec << "): " << n << " of " << runs
        << " runs</title></rect>";
  }
  svg << "</svg>";
  return svg.str();
}

std::string reasons(const nlohmann::json &counts) {
  if (!counts.is_object() || counts.empty())
    return "<p>none</p>";
  std::string out = "<table><tr><th>blocks</th><th>why</th></tr>";
  for (auto &[why, n] : counts.items())
    out += "<tr><td class=n>" + n.dump() + "</td><td>" + escape(why) + "</td></tr>";
  return out + "</table>";
}

// The named functions kept in place, each with its reason: the first 50
// (the --json output lists them all).
std::string keptList(const nlohmann::json &kept) {
  constexpr size_t Shown = 50;
  if (!kept.is_array())
    return "";
  auto text = [](const nlohmann::json &k, const char *key) {
    return k.is_object() && k.contains(key) && k[key].is_string() ? k[key].get<std::string>() : std::string();
  };
  std::string rows;
  size_t named = 0;
  for (const auto &k : kept) {
    std::string name = text(k, "name"), where = text(k, "where");
    if (name.empty())
      continue;
    if (named++ == Shown)
      break;
    rows += "<tr><td>" + escape(name) + "</td><td>" + escape(text(k, "reason")) +
            (where.empty() ? "" : ", " + escape(where)) + "</td></tr>";
  }
  if (rows.empty())
    return "";
  return "<table><tr><th>function</th><th>why</th></tr>" + rows + "</table>";
}

} // namespace

std::string renderReport(const ReportInput &in) {
  std::ostringstream h;
  h << "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>elfopt report: "
    << escape(in.before.file) << "</title><style>"
    << "body{font:14px/1.4 sans-serif;margin:2em;max-width:70em}"
    << "table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #ccc;padding:.2em .6em}"
    << "td.n{text-align:right;font-variant-numeric:tabular-nums}code{background:#f4f4f4}"
    << ".maps{display:flex;gap:2em;flex-wrap:wrap}</style></head><body>";
  h << "<h1>elfopt report</h1><p><code>" << escape(in.command) << "</code></p>";
  h << "<h2>Startup: text pages touched</h2><p>Each cell is a 4 KiB page of <code>.text</code>; "
       "darker means more of the "
    << in.runs << " recorded runs touch it at startup (first touches). Figures are means per run "
       "(<code>elfopt evaluate</code>).</p>";
  h << "<table><tr><th></th><th>" << escape(in.before.file) << "</th><th>" << escape(in.after.file)
    << "</th></tr>";
  auto row = [&](const char *label, double a, double b) {
    h << "<tr><td>" << label << "</td><td class=n>" << number(a) << "</td><td class=n>" << number(b)
      << "</td></tr>";
  };
  row("4 KiB pages", in.before.score.pages, in.after.score.pages);
  row("64 KiB windows", in.before.score.windows64k, in.after.score.windows64k);
  row("128 KiB windows", in.before.score.windows128k, in.after.score.windows128k);
  row("backward steps", in.before.score.backward, in.after.score.backward);
  h << "<tr><td>lower bound (touched bytes, in pages)</td><td class=n colspan=2>" << number(in.lowerBound)
    << "</td></tr></table>";
  h << "<div class=maps>";
  for (const ReportSide *side : {&in.before, &in.after})
    h << "<figure><figcaption>" << escape(side->file) << ": " << side->pageRuns.size()
      << " pages of .text</figcaption>" << pageMap(*side, in.runs) << "</figure>";
  h << "</div>";

  h << "<h2>Dynamic symbol lookup (GNU hash)</h2><table><tr><th>file</th><th>table</th></tr>";
  for (const ReportSide *side : {&in.before, &in.after})
    h << "<tr><td>" << escape(side->file) << "</td><td>"
      << (side->gnuHash.empty() ? "no GNU hash table" : escape(side->gnuHash)) << "</td></tr>";
  h << "</table>";

  h << "<h2>The rewrite</h2>";
  if (in.rewriteJson.empty()) {
    h << "<p>No <code>elfopt rewrite --json</code> output was given (<code>--rewrite-json</code>).</p>";
  } else {
    nlohmann::json r = nlohmann::json::parse(in.rewriteJson, nullptr, false);
    if (r.is_discarded() || !r.is_object() || !r.contains("blocks")) {
      h << "<p>The rewrite report given is not <code>elfopt rewrite --json</code> output.</p>";
    } else {
      const auto &b = r["blocks"];
      h << "<table>";
      for (const char *key : {"functions", "moved", "movedBytes", "orderedPlaced", "orderedBytes", "pinned",
                              "pinnedBytes", "bonded"})
        if (b.contains(key))
          h << "<tr><td>" << key << "</td><td class=n>" << b[key].dump() << "</td></tr>";
      h << "</table><h3>Kept in place</h3>" << reasons(b.value("pinnedWhy", nlohmann::json::object()))
        << keptList(r.value("kept", nlohmann::json::array()))
        << "<h3>Moved together with a neighbour</h3>"
        << reasons(b.value("bondedWhy", nlohmann::json::object())) << "<h3>References updated</h3>"
        << reasons(r.value("updated", nlohmann::json::object()));
      if (r.contains("verify") && r["verify"].is_object())
        h << "<p>verify: " << (r["verify"].value("ok", false) ? "ok" : "FAILED") << ", "
          << r["verify"].value("instructions", 0) << " instructions, "
          << r["verify"].value("pcRelativeOperands", 0) << " PC-relative operands checked</p>";
    }
  }
  h << "</body></html>\n";
  return h.str();
}

} // namespace elfopt
