//===- Report.cpp ---------------------------------------------------------===//
#include "elfopt/Report/Report.h"

#include "elfopt/Pipeline/ResultJson.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iterator>
#include <map>
#include <set>
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

// A fixed palette; sections get colours in order of their names, so the
// same section has the same colour on both sides.
const char *const Palette[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b",
                               "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939"};

std::map<std::string, std::string> sectionColours(const ReportInput &in) {
  std::set<std::string> names;
  for (const ReportSide *side : {&in.before, &in.after})
    for (const PageTouch &t : side->pageTrace)
      names.insert(t.section);
  std::map<std::string, std::string> colours;
  size_t k = 0;
  for (const std::string &n : names)
    colours[n] = Palette[k++ % std::size(Palette)];
  return colours;
}

// Time (x) against file offset (y), one mark per first touch of a page.
// Time counts from \p minTimeNs, the first touch of either side: before it
// the kernel was still loading the program.
std::string pageTracePlot(const ReportSide &side, uint64_t minTimeNs, uint64_t maxTimeNs, uint64_t maxOffset,
                          const std::map<std::string, std::string> &colours) {
  constexpr int Width = 470, Height = 320, Left = 56, Bottom = 30, Top = 8, Right = 18;
  maxTimeNs -= minTimeNs;
  const double plotW = Width - Left - Right, plotH = Height - Top - Bottom;
  std::ostringstream svg;
  svg << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << Width << "\" height=\"" << Height
      << "\" role=\"img\" aria-label=\"page touches: time against file offset\">";
  svg << "<rect x=\"" << Left << "\" y=\"" << Top << "\" width=\"" << plotW << "\" height=\"" << plotH
      << "\" fill=\"#fafafa\" stroke=\"#999\"/>";
  // Axes: time in ms along the bottom, offset in MiB up the side.
  double ms = double(maxTimeNs) / 1e6, mibs = double(maxOffset) / (1024.0 * 1024.0);
  for (int k = 0; k <= 4; ++k) {
    double x = Left + plotW * k / 4, y = Top + plotH - plotH * k / 4;
    svg << "<text x=\"" << x << "\" y=\"" << Height - 12 << "\" font-size=\"10\" text-anchor=\"middle\">"
        << number(ms * k / 4) << "</text>";
    svg << "<text x=\"" << Left - 4 << "\" y=\"" << y + 3 << "\" font-size=\"10\" text-anchor=\"end\">"
        << number(mibs * k / 4) << "</text>";
  }
  svg << "<text x=\"" << Left + plotW / 2 << "\" y=\"" << Height - 1
      << "\" font-size=\"10\" text-anchor=\"middle\">time since the first touch (ms)</text>";
  svg << "<text x=\"10\" y=\"" << Top + plotH / 2 << "\" font-size=\"10\" text-anchor=\"middle\" "
      << "transform=\"rotate(-90 10 " << Top + plotH / 2 << ")\">file offset (MiB)</text>";
  for (const PageTouch &t : side.pageTrace) {
    double x = Left + (maxTimeNs ? plotW * double(t.timeNs - minTimeNs) / double(maxTimeNs) : 0);
    double y = Top + plotH - (maxOffset ? plotH * double(t.offset) / double(maxOffset) : 0);
    auto colour = colours.find(t.section);
    svg << "<rect class=\"touch\" x=\"" << number(x - 1.5) << "\" y=\"" << number(y - 1.5)
        << "\" width=\"3\" height=\"3\" fill=\"" << (colour != colours.end() ? colour->second : "#000")
        << "\"><title>" << escape(t.section) << " at 0x" << std::hex << t.offset << std::dec << ", "
        << number(double(t.timeNs) / 1e6) << " ms</title></rect>";
  }
  svg << "</svg>";
  return svg.str();
}

// The figures of `elfopt measure --json`, one row per variant.
std::string measureTable(const std::string &text) {
  nlohmann::json m = nlohmann::json::parse(text, nullptr, false);
  if (m.is_discarded() || !m.is_object() || !m.contains("variants") || !m["variants"].is_array())
    return "<p>The measure report given is not <code>elfopt measure --json</code> output.</p>";
  auto figure = [](const nlohmann::json &v, const char *phase, const char *key) -> std::string {
    if (!v.contains(phase) || !v[phase].is_object() || !v[phase].contains(key) || v[phase][key].is_null())
      return "-";
    const auto &x = v[phase][key];
    return x.is_number() ? number(x.get<double>()) : escape(x.dump());
  };
  std::string out = "<table><tr><th>variant</th><th>cold wall (ms)</th><th>major faults</th>"
                    "<th>MiB read</th><th>warm wall (ms)</th><th>minor faults</th></tr>";
  for (const auto &v : m["variants"]) {
    if (!v.is_object())
      continue;
    out += "<tr><td>" + escape(v.value("label", std::string("?"))) + ": <code>" +
           escape(v.value("command", std::string())) + "</code></td><td class=n>" + figure(v, "cold", "wallMs") +
           "</td><td class=n>" + figure(v, "cold", "majorFaults") + "</td><td class=n>" +
           figure(v, "cold", "readMiB") + "</td><td class=n>" + figure(v, "warm", "wallMs") +
           "</td><td class=n>" + figure(v, "warm", "minorFaults") + "</td></tr>";
  }
  out += "</table><p>Medians of " + (m.contains("runs") ? escape(m["runs"].dump()) : std::string("?")) +
         " runs each, A and B alternating (<code>elfopt measure --json</code>).</p>";
  return out;
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
    std::string name = text(k, rewrite_json::KeptName), where = text(k, rewrite_json::KeptWhere);
    if (name.empty())
      continue;
    if (named++ == Shown)
      break;
    rows += "<tr><td>" + escape(name) + "</td><td>" + escape(text(k, rewrite_json::KeptReason)) +
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

  h << "<h2>Startup: every file page, in time</h2>";
  if (!in.before.hasPageTrace && !in.after.hasPageTrace) {
    h << "<p>No page traces: the profiles were recorded with <code>--no-pages</code> (or by an older elfopt), "
         "and no <code>--after-profile</code> was given.</p>";
  } else {
    h << "<p>One mark per page of the file, at the time a start first touched it (a page fault: "
         "<code>elfopt record</code>'s page trace), coloured by section. Both sides use the same scales. "
         "Reads that go up and to the right are forward and few; marks spread over the height are many "
         "separate reads from disk.</p>";
    auto colours = sectionColours(in);
    uint64_t minTime = UINT64_MAX, maxTime = 0, maxOffset = 4096;
    for (const ReportSide *side : {&in.before, &in.after}) {
      maxOffset = std::max(maxOffset, side->fileSize);
      for (const PageTouch &t : side->pageTrace) {
        minTime = std::min(minTime, t.timeNs);
        maxTime = std::max(maxTime, t.timeNs);
      }
    }
    if (minTime > maxTime)
      minTime = maxTime = 0;
    h << "<div class=maps>";
    for (const ReportSide *side : {&in.before, &in.after}) {
      h << "<figure><figcaption>" << escape(side->file) << ": ";
      if (side->hasPageTrace)
        h << side->pageTrace.size() << " pages first touched (" << escape(side->pageTraceSource) << ")</figcaption>"
          << pageTracePlot(*side, minTime, maxTime, maxOffset, colours);
      else
        h << "no page trace (record one with <code>elfopt record -- " << escape(side->file)
          << "</code> and give it with <code>--after-profile</code>)</figcaption>";
      h << "</figure>";
    }
    h << "</div><table><tr><th>section</th><th>pages: " << escape(in.before.file) << "</th><th>"
      << escape(in.after.file) << "</th></tr>";
    for (auto &[name, colour] : colours) {
      size_t counts[2] = {0, 0};
      int k = 0;
      for (const ReportSide *side : {&in.before, &in.after}) {
        for (const PageTouch &t : side->pageTrace)
          counts[k] += t.section == name;
        ++k;
      }
      h << "<tr><td><span style=\"color:" << colour << "\">&#9632;</span> " << escape(name) << "</td><td class=n>"
        << counts[0] << "</td><td class=n>" << counts[1] << "</td></tr>";
    }
    h << "</table>";
  }
  h << "<h3>Measured starts</h3>";
  if (in.measureJson.empty())
    h << "<p>No <code>elfopt measure --compare --json</code> output was given (<code>--measure-json</code>).</p>";
  else
    h << measureTable(in.measureJson);

  h << "<h2>Dynamic symbol lookup (GNU hash)</h2><table><tr><th>file</th><th>table</th></tr>";
  for (const ReportSide *side : {&in.before, &in.after})
    h << "<tr><td>" << escape(side->file) << "</td><td>"
      << (side->gnuHash.empty() ? "no GNU hash table" : escape(side->gnuHash)) << "</td></tr>";
  h << "</table>";

  h << "<h2>The rewrite</h2>";
  if (in.rewriteJson.empty()) {
    h << "<p>No <code>elfopt rewrite --json</code> output was given (<code>--rewrite-json</code>).</p>";
  } else {
    namespace keys = rewrite_json;
    nlohmann::json r = nlohmann::json::parse(in.rewriteJson, nullptr, false);
    if (r.is_discarded() || !r.is_object() || !r.contains(keys::Blocks)) {
      h << "<p>The rewrite report given is not <code>elfopt rewrite --json</code> output.</p>";
    } else {
      const auto &b = r[keys::Blocks];
      h << "<table>";
      for (const char *key : keys::BlockFigures)
        if (b.contains(key))
          h << "<tr><td>" << key << "</td><td class=n>" << b[key].dump() << "</td></tr>";
      h << "</table><h3>Kept in place</h3>" << reasons(b.value(keys::PinnedWhy, nlohmann::json::object()))
        << keptList(r.value(keys::Kept, nlohmann::json::array()))
        << "<h3>Moved together with a neighbour</h3>"
        << reasons(b.value(keys::BondedWhy, nlohmann::json::object())) << "<h3>References updated</h3>"
        << reasons(r.value(keys::Updated, nlohmann::json::object()));
      if (r.contains(keys::Verify) && r[keys::Verify].is_object()) {
        const auto &v = r[keys::Verify];
        h << "<p>verify: " << (v.value(keys::VerifyOk, false) ? "ok" : "FAILED") << ", "
          << v.value(keys::VerifyInstructions, 0) << " instructions, "
          << v.value(keys::VerifyPcRelative, 0) << " PC-relative operands checked</p>";
      }
    }
  }
  h << "</body></html>\n";
  return h.str();
}

} // namespace elfopt
