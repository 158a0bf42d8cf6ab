//===- Profile.cpp - reading, validating and writing profiles ------------===//
#include "elfopt/Profile/Profile.h"
#include "elfopt/Elf/ElfFile.h"
#include "elfopt/Support/Diagnostics.h"
#include "elfopt/Support/InputFile.h"
#include "elfopt/Support/OutputFile.h"

#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/BLAKE3.h"

#include <nlohmann/json.hpp>

#include <fstream>
#include <sstream>

using json = nlohmann::ordered_json;

namespace elfopt {

namespace {

// Validating accessors: every problem names the file and the JSON path.
struct Reader {
  const std::string &file;

  [[noreturn]] void bad(const std::string &where, const std::string &what) const {
    fatal(file + ": " + where + ": " + what);
  }
  const json &field(const json &obj, const std::string &where, const char *key) const {
    auto it = obj.find(key);
    if (it == obj.end())
      bad(where, std::string("missing field '") + key + "'");
    return *it;
  }
  uint64_t u64(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_number_unsigned())
      bad(where + "." + key, "expected an unsigned integer");
    return v.get<uint64_t>();
  }
  std::string str(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_string())
      bad(where + "." + key, "expected a string");
    return v.get<std::string>();
  }
  bool boolean(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_boolean())
      bad(where + "." + key, "expected true or false");
    return v.get<bool>();
  }
  std::optional<int> optInt(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (v.is_null())
      return std::nullopt;
    if (!v.is_number_integer() || v.get<int64_t>() < -(1 << 30) || v.get<int64_t>() > (1 << 30))
      bad(where + "." + key, "expected a small integer or null");
    return int(v.get<int64_t>());
  }
  const json &array(const json &obj, const std::string &where, const char *key) const {
    const json &v = field(obj, where, key);
    if (!v.is_array())
      bad(where + "." + key, "expected an array");
    return v;
  }
};

} // namespace

// Touches are most of a profile (a million in a large one). They are taken
// out of the document as the parser finishes each one, validated and stored
// compactly, instead of living as JSON objects until the end: a tenth of the
// memory, and the rest of the document stays small.
namespace {
struct TouchCollector {
  explicit TouchCollector(const std::string &name) : name(name) {}
  const std::string &name;
  std::vector<std::string> keyAt = std::vector<std::string>(8);
  long run = -1, object = -1;
  std::vector<std::vector<std::vector<Touch>>> touches; // [run][object]
  std::vector<std::vector<std::vector<PageTouch>>> pages; // [run][object]

  /// Inside runs[].objects[].LIST[] (LIST: "touches" or "pages").
  bool inList(const char *list) const {
    return keyAt[1] == "runs" && keyAt[3] == "objects" && keyAt[5] == list;
  }
  /// The JSON path of the entry being read, as errors name it.
  std::string where(const char *list, size_t index) const {
    return "runs[" + std::to_string(run) + "].objects[" + std::to_string(object) + "]." + list + "[" +
           std::to_string(index) + "]";
  }
  bool operator()(int depth, json::parse_event_t event, json &parsed) {
    using E = json::parse_event_t;
    if (event == E::key && depth < int(keyAt.size())) {
      keyAt[depth] = parsed.get<std::string>();
      for (size_t d = depth + 1; d < keyAt.size(); ++d)
        keyAt[d].clear();
    } else if (event == E::object_start && depth == 2 && keyAt[1] == "runs") {
      ++run;
      object = -1;
      touches.resize(run + 1);
      pages.resize(run + 1);
    } else if (event == E::object_start && depth == 4 && keyAt[1] == "runs" &&
               keyAt[3] == "objects" && run >= 0) {
      ++object;
      touches[run].resize(object + 1);
      pages[run].resize(object + 1);
    } else if (depth == 6 && inList("touches") && run >= 0 && object >= 0) {
      if (event == E::object_end) {
        Reader r{name};
        std::string w = where("touches", touches[run][object].size());
        Touch t;
        t.symbol = r.str(parsed, w, "symbol");
        t.address = r.u64(parsed, w, "address");
        t.size = r.u64(parsed, w, "size");
        t.timeNs = r.u64(parsed, w, "timeNs");
        t.thread = uint32_t(std::min<uint64_t>(r.u64(parsed, w, "thread"), UINT32_MAX));
        touches[run][object].push_back(std::move(t));
        return false; // drop it from the document
      }
      if (event == E::value || event == E::array_start)
        Reader{name}.bad(where("touches", touches[run][object].size()), "expected an object");
    } else if (depth == 6 && inList("pages") && run >= 0 && object >= 0) {
      if (event == E::object_end) {
        Reader r{name};
        std::string w = where("pages", pages[run][object].size());
        PageTouch t;
        t.offset = r.u64(parsed, w, "offset");
        if (t.offset % 4096)
          r.bad(w + ".offset", "not a multiple of 4096");
        t.timeNs = r.u64(parsed, w, "timeNs");
        t.thread = uint32_t(std::min<uint64_t>(r.u64(parsed, w, "thread"), UINT32_MAX));
        t.section = r.str(parsed, w, "section");
        pages[run][object].push_back(std::move(t));
        return false;
      }
      if (event == E::value || event == E::array_start)
        Reader{name}.bad(where("pages", pages[run][object].size()), "expected an object");
    }
    return true;
  }
};
} // namespace

Profile parseProfile(const std::string &text, const std::string &name) {
  json doc;
  TouchCollector collector{name};
  try {
    doc = json::parse(text, [&](int depth, json::parse_event_t event, json &parsed) {
      return collector(depth, event, parsed);
    });
  } catch (const json::parse_error &e) {
    // Turn nlohmann's byte offset into line and column.
    size_t line = 1, column = 1;
    for (size_t i = 0; i + 1 < e.byte && i < text.size(); ++i) {
      if (text[i] == '\n') {
        ++line;
        column = 1;
      } else {
        ++column;
      }
    }
    std::string what = e.what();
    auto colon = what.find(": ", what.find("parse error"));
    fatal(name + ":" + std::to_string(line) + ":" + std::to_string(column) +
          ": malformed JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2)));
  } catch (const json::exception &e) {
    // e.g. out_of_range: a number too large for 64 bits.
    fatal(name + ": malformed JSON: " + e.what());
  }
  Reader r{name};
  if (!doc.is_object())
    r.bad("(top level)", "expected a JSON object");
  if (!doc.contains("format") || doc["format"] != ProfileFormat)
    r.bad("format", std::string("not an elfopt profile (expected \"format\": \"") +
                        ProfileFormat + "\")");
  if (!doc.contains("version") || !doc["version"].is_number_integer())
    r.bad("version", "missing or not an integer");
  if (doc["version"].get<int64_t>() != ProfileVersion)
    r.bad("version", "unsupported profile version " + doc["version"].dump() +
                         " (this elfopt reads version " + std::to_string(ProfileVersion) + ")");
  Profile p;
  for (const json &c : r.array(doc, "(top level)", "command")) {
    if (!c.is_string())
      r.bad("command", "expected an array of strings");
    p.command.push_back(c.get<std::string>());
  }
  const json &objects = r.array(doc, "(top level)", "objects");
  for (size_t i = 0; i < objects.size(); ++i) {
    std::string w = "objects[" + std::to_string(i) + "]";
    if (!objects[i].is_object())
      r.bad(w, "expected an object");
    ObjectIdentity o;
    o.name = r.str(objects[i], w, "name");
    o.path = r.str(objects[i], w, "path");
    o.buildId = r.str(objects[i], w, "buildId");
    o.size = r.u64(objects[i], w, "size");
    o.contentHash = r.str(objects[i], w, "contentHash");
    o.functionSource = r.str(objects[i], w, "functionSource");
    o.functions = r.u64(objects[i], w, "functions");
    p.objects.push_back(std::move(o));
  }
  const json &runs = r.array(doc, "(top level)", "runs");
  for (size_t i = 0; i < runs.size(); ++i) {
    std::string w = "runs[" + std::to_string(i) + "]";
    const json &jr = runs[i];
    if (!jr.is_object())
      r.bad(w, "expected an object");
    Run run;
    run.stopReason = r.str(jr, w, "stopReason");
    run.partial = r.boolean(jr, w, "partial");
    run.exitCode = r.optInt(jr, w, "exitCode");
    run.signal = r.optInt(jr, w, "signal");
    run.durationNs = r.u64(jr, w, "durationNs");
    run.threads = uint32_t(std::min<uint64_t>(r.u64(jr, w, "threads"), UINT32_MAX));
    if (jr.contains("pageTrace") && !jr["pageTrace"].is_null()) {
      const json &jt = jr["pageTrace"];
      std::string wt = w + ".pageTrace";
      if (!jt.is_object())
        r.bad(wt, "expected an object");
      PageTrace t;
      t.method = r.str(jt, wt, "method");
      t.durationNs = r.u64(jt, wt, "durationNs");
      t.faults = r.u64(jt, wt, "faults");
      t.lost = r.u64(jt, wt, "lost");
      t.exitCode = r.optInt(jt, wt, "exitCode");
      t.signal = r.optInt(jt, wt, "signal");
      run.pageTrace = std::move(t);
    }
    const json &jobjs = r.array(jr, w, "objects");
    for (size_t k = 0; k < jobjs.size(); ++k) {
      std::string wo = w + ".objects[" + std::to_string(k) + "]";
      const json &jo = jobjs[k];
      if (!jo.is_object())
        r.bad(wo, "expected an object");
      ObjectRun orun;
      uint64_t index = r.u64(jo, wo, "object");
      if (index >= p.objects.size())
        r.bad(wo + ".object", "refers to object " + std::to_string(index) + ", but there are " +
                                  std::to_string(p.objects.size()));
      orun.object = uint32_t(index);
      orun.loaded = r.boolean(jo, wo, "loaded");
      orun.loadBase = r.u64(jo, wo, "loadBase");
      r.array(jo, wo, "touches"); // present; its entries were collected while parsing
      if (i < collector.touches.size() && k < collector.touches[i].size())
        orun.touches = std::move(collector.touches[i][k]);
      if (jo.contains("pages")) { // optional: added within version 1
        r.array(jo, wo, "pages");
        if (i < collector.pages.size() && k < collector.pages[i].size())
          orun.pages = std::move(collector.pages[i][k]);
      }
      run.objects.push_back(std::move(orun));
    }
    p.runs.push_back(std::move(run));
  }
  return p;
}

std::optional<uint32_t> findProfileObject(const Profile &profile, const std::string &name, std::string &why) {
  for (uint32_t k = 0; k < profile.objects.size(); ++k)
    if (profile.objects[k].name == name)
      return k;
  auto endsWith = [&](const std::string &s) {
    return !name.empty() && s.size() > name.size() && s.ends_with(name) && s[s.size() - name.size() - 1] == '/';
  };
  std::vector<uint32_t> matches;
  for (uint32_t k = 0; k < profile.objects.size(); ++k)
    if (endsWith(profile.objects[k].name) || endsWith(profile.objects[k].path))
      matches.push_back(k);
  if (matches.size() == 1)
    return matches.front();
  // Say what there is: the objects that match, or else all; a few names.
  std::vector<uint32_t> listed = matches;
  if (listed.empty())
    for (uint32_t k = 0; k < profile.objects.size(); ++k)
      listed.push_back(k);
  std::string names;
  for (size_t i = 0; i < listed.size() && i < 8; ++i)
    names += (i ? ", " : "") + profile.objects[listed[i]].name;
  if (listed.size() > 8)
    names += " and " + std::to_string(listed.size() - 8) + " more";
  why = matches.empty() ? "the profile has no object '" + name + "' (it has " + names + ")"
                        : "'" + name + "' names several objects of the profile: " + names;
  return std::nullopt;
}

const ObjectRun *tracedObjectRun(const Profile &profile, const Run &run, const std::string &object) {
  if (!run.pageTrace)
    return nullptr;
  std::string why;
  std::optional<uint32_t> index = findProfileObject(profile, object, why);
  if (!index)
    return nullptr;
  for (const ObjectRun &o : run.objects)
    if (o.object == *index && o.loaded)
      return &o;
  return nullptr;
}

Profile readProfile(const std::string &path) { return parseProfile(readFileContents(path), path); }

std::string profileToJson(const Profile &p) {
  json doc;
  doc["format"] = ProfileFormat;
  doc["version"] = ProfileVersion;
  doc["command"] = p.command;
  json objects = json::array();
  for (const ObjectIdentity &o : p.objects)
    objects.push_back({{"name", o.name},
                       {"path", o.path},
                       {"buildId", o.buildId},
                       {"size", o.size},
                       {"contentHash", o.contentHash},
                       {"functionSource", o.functionSource},
                       {"functions", o.functions}});
  doc["objects"] = objects;
  json runs = json::array();
  for (const Run &r : p.runs) {
    json jr;
    jr["stopReason"] = r.stopReason;
    jr["partial"] = r.partial;
    jr["exitCode"] = r.exitCode ? json(*r.exitCode) : json(nullptr);
    jr["signal"] = r.signal ? json(*r.signal) : json(nullptr);
    jr["durationNs"] = r.durationNs;
    jr["threads"] = r.threads;
    json jobjs = json::array();
    for (const ObjectRun &o : r.objects) {
      json touches = json::array();
      for (const Touch &t : o.touches)
        touches.push_back({{"symbol", t.symbol},
                           {"address", t.address},
                           {"size", t.size},
                           {"timeNs", t.timeNs},
                           {"thread", t.thread}});
      json jo = {{"object", o.object},
                 {"loaded", o.loaded},
                 {"loadBase", o.loadBase},
                 {"touches", touches}};
      if (r.pageTrace) {
        json pages = json::array();
        for (const PageTouch &t : o.pages)
          pages.push_back({{"offset", t.offset},
                           {"timeNs", t.timeNs},
                           {"thread", t.thread},
                           {"section", t.section}});
        jo["pages"] = pages;
      }
      jobjs.push_back(jo);
    }
    jr["objects"] = jobjs;
    if (r.pageTrace)
      jr["pageTrace"] = {{"method", r.pageTrace->method},
                         {"durationNs", r.pageTrace->durationNs},
                         {"faults", r.pageTrace->faults},
                         {"lost", r.pageTrace->lost},
                         {"exitCode", r.pageTrace->exitCode ? json(*r.pageTrace->exitCode)
                                                            : json(nullptr)},
                         {"signal", r.pageTrace->signal ? json(*r.pageTrace->signal)
                                                        : json(nullptr)}};
    runs.push_back(jr);
  }
  doc["runs"] = runs;
  // Symbol names come from binaries and need not be UTF-8; JSON must be.
  return doc.dump(1, ' ', false, json::error_handler_t::replace) + "\n";
}

void writeProfile(const std::string &path, const Profile &profile) {
  std::string text = profileToJson(profile);
  writeFileAtomically(path, {reinterpret_cast<const uint8_t *>(text.data()), text.size()});
}

std::vector<std::string> readSymbolList(const std::string &path) {
  std::istringstream in(readFileContents(path));
  std::vector<std::string> names;
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    size_t start = line.find_first_not_of(" \t");
    if (start == std::string::npos || line[start] == '#')
      continue;
    names.push_back(line.substr(start));
  }
  return names;
}

void writeSymbolList(const std::string &path, const std::vector<std::string> &names) {
  std::string text;
  for (const std::string &n : names)
    text += n + "\n";
  writeFileAtomically(path, {reinterpret_cast<const uint8_t *>(text.data()), text.size()});
}

ObjectIdentity identifyObject(const std::string &name, const std::string &path) {
  return identifyObject(name, *ElfFile::open(path));
}

ObjectIdentity identifyObject(const std::string &name, const ElfFile &file) {
  ObjectIdentity id;
  id.name = name;
  id.path = file.name();
  id.buildId = file.buildId().value_or("");
  auto bytes = file.bytes();
  id.size = bytes.size();
  // BLAKE3 (LLVM's SIMD implementation): a 200 MB binary hashes in well
  // under a second, where SHA-256 would dominate a short recording.
  auto digest = llvm::BLAKE3::hash(llvm::ArrayRef<uint8_t>(bytes.data(), bytes.size()));
  id.contentHash = "blake3:" + llvm::toHex(digest, /*LowerCase=*/true);
  return id;
}

} // namespace elfopt
