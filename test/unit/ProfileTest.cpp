// Profiles (lib/Profile/Profile.cpp, format in profiles/README.md): parsing
// every field, writing and reading back, and the exact message, with its
// place, for malformed JSON and for each kind of wrong field.
#include "elfopt/Profile/Profile.h"
#include "Support.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

using namespace elfopt;
using namespace elfopt::test;

namespace {

std::string errorIn(const std::string &text) {
  return messageOf([&] { parseProfile(text, "p.json"); }, ExitBadInput);
}

// profiles/README.md's example, with a second object, a second run and a
// run in which the second object was never loaded.
const char *Example = R"({
 "format": "elfopt-profile",
 "version": 1,
 "command": ["./order", "x"],
 "objects": [
  {"name": "main", "path": "./order", "buildId": "9f2c", "size": 15960,
   "contentHash": "blake3:3a7b", "functionSource": "symtab", "functions": 16},
  {"name": "libfoo.so", "path": "/lib/libfoo.so", "buildId": "", "size": 800,
   "contentHash": "blake3:ffff", "functionSource": "dynsym+eh_frame", "functions": 2}
 ],
 "runs": [
  {"stopReason": "exit", "partial": false, "exitCode": 7, "signal": null,
   "durationNs": 4313021, "threads": 1,
   "objects": [
    {"object": 0, "loaded": true, "loadBase": 94367449698304,
     "touches": [
      {"symbol": "_start", "address": 4192, "size": 34, "timeNs": 1301233, "thread": 1},
      {"symbol": "main", "address": 4460, "size": 167, "timeNs": 1702448, "thread": 1}
     ]},
    {"object": 1, "loaded": false, "loadBase": 0, "touches": []}
   ]},
  {"stopReason": "signal", "partial": true, "exitCode": null, "signal": 9,
   "durationNs": 5, "threads": 2,
   "objects": [
    {"object": 1, "loaded": true, "loadBase": 4096,
     "touches": [
      {"symbol": "fde@0x1040", "address": 4160, "size": 8, "timeNs": 3, "thread": 2}
     ]}
   ]}
 ]
}
)";

// Example with the first occurrence of \p from replaced by \p to.
std::string edited(const std::string &from, const std::string &to) {
  std::string s = Example;
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return s.replace(at, from.size(), to);
}

void expectSame(const Profile &a, const Profile &b) {
  EXPECT_EQ(a.command, b.command);
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (size_t i = 0; i < a.objects.size(); ++i) {
    const ObjectIdentity &x = a.objects[i], &y = b.objects[i];
    EXPECT_EQ(std::tie(x.name, x.path, x.buildId, x.size, x.contentHash, x.functionSource,
                       x.functions),
              std::tie(y.name, y.path, y.buildId, y.size, y.contentHash, y.functionSource,
                       y.functions));
  }
  ASSERT_EQ(a.runs.size(), b.runs.size());
  for (size_t i = 0; i < a.runs.size(); ++i) {
    const elfopt::Run &x = a.runs[i], &y = b.runs[i];
    EXPECT_EQ(std::tie(x.stopReason, x.partial, x.exitCode, x.signal, x.durationNs, x.threads),
              std::tie(y.stopReason, y.partial, y.exitCode, y.signal, y.durationNs, y.threads));
    ASSERT_EQ(x.objects.size(), y.objects.size());
    for (size_t k = 0; k < x.objects.size(); ++k) {
      const ObjectRun &o = x.objects[k], &q = y.objects[k];
      EXPECT_EQ(std::tie(o.object, o.loaded, o.loadBase), std::tie(q.object, q.loaded, q.loadBase));
      ASSERT_EQ(o.touches.size(), q.touches.size());
      for (size_t t = 0; t < o.touches.size(); ++t) {
        const Touch &u = o.touches[t], &v = q.touches[t];
        EXPECT_EQ(std::tie(u.symbol, u.address, u.size, u.timeNs, u.thread),
                  std::tie(v.symbol, v.address, v.size, v.timeNs, v.thread));
      }
    }
  }
}

} // namespace

TEST(Profile, ParsesEveryField) {
  Profile p = parseProfile(Example, "p.json");
  EXPECT_EQ(p.command, (std::vector<std::string>{"./order", "x"}));
  ASSERT_EQ(p.objects.size(), 2u);
  EXPECT_EQ(p.objects[0].name, "main");
  EXPECT_EQ(p.objects[0].path, "./order");
  EXPECT_EQ(p.objects[0].buildId, "9f2c");
  EXPECT_EQ(p.objects[0].size, 15960u);
  EXPECT_EQ(p.objects[0].contentHash, "blake3:3a7b");
  EXPECT_EQ(p.objects[0].functionSource, "symtab");
  EXPECT_EQ(p.objects[0].functions, 16u);
  EXPECT_EQ(p.objects[1].functionSource, "dynsym+eh_frame");
  ASSERT_EQ(p.runs.size(), 2u);
  const elfopt::Run &r0 = p.runs[0];
  EXPECT_EQ(r0.stopReason, "exit");
  EXPECT_FALSE(r0.partial);
  EXPECT_EQ(r0.exitCode, 7);
  EXPECT_EQ(r0.signal, std::nullopt);
  EXPECT_EQ(r0.durationNs, 4313021u);
  EXPECT_EQ(r0.threads, 1u);
  ASSERT_EQ(r0.objects.size(), 2u);
  EXPECT_EQ(r0.objects[0].object, 0u);
  EXPECT_TRUE(r0.objects[0].loaded);
  EXPECT_EQ(r0.objects[0].loadBase, 94367449698304u);
  ASSERT_EQ(r0.objects[0].touches.size(), 2u);
  const Touch &t = r0.objects[0].touches[1];
  EXPECT_EQ(t.symbol, "main");
  EXPECT_EQ(t.address, 4460u);
  EXPECT_EQ(t.size, 167u);
  EXPECT_EQ(t.timeNs, 1702448u);
  EXPECT_EQ(t.thread, 1u);
  EXPECT_FALSE(r0.objects[1].loaded);
  EXPECT_TRUE(r0.objects[1].touches.empty());
  const elfopt::Run &r1 = p.runs[1];
  EXPECT_TRUE(r1.partial);
  EXPECT_EQ(r1.exitCode, std::nullopt);
  EXPECT_EQ(r1.signal, 9);
  ASSERT_EQ(r1.objects.size(), 1u);
  EXPECT_EQ(r1.objects[0].object, 1u);
  ASSERT_EQ(r1.objects[0].touches.size(), 1u);
  EXPECT_EQ(r1.objects[0].touches[0].symbol, "fde@0x1040");
  EXPECT_EQ(r1.objects[0].touches[0].thread, 2u);
}

TEST(Profile, RoundTrips) {
  Profile p = parseProfile(Example, "p.json");
  std::string json = profileToJson(p);
  Profile back = parseProfile(json, "again.json");
  expectSame(p, back);
  // Writing is stable: the same profile gives the same text.
  EXPECT_EQ(profileToJson(back), json);
  // Extreme values survive.
  p.objects[0].size = UINT64_MAX;
  p.runs[0].exitCode = -(1 << 30);
  p.runs[0].objects[0].touches[0].thread = UINT32_MAX;
  expectSame(p, parseProfile(profileToJson(p), "extreme.json"));
}

TEST(Profile, WritesAndReadsFiles) {
  Profile p = parseProfile(Example, "p.json");
  std::string path = ::testing::TempDir() + "elfopt-profile-test.json";
  writeProfile(path, p);
  expectSame(p, readProfile(path));
  std::remove(path.c_str());
  EXPECT_EQ(messageOf([&] { readProfile(path); }, ExitBadInput),
            path + ": cannot open: No such file or directory");
}

TEST(Profile, MalformedJsonNamesLineAndColumn) {
  // The position is that of the last character the parser read, as
  // nlohmann's own message gives it: line 3, column 13 is the '}' where a
  // value should be.
  EXPECT_EQ(errorIn("{\n \"format\": \"elfopt-profile\",\n \"version\": }"),
            "p.json:3:13: malformed JSON: syntax error while parsing value - unexpected '}'; "
            "expected '[', '{', or a literal");
  EXPECT_EQ(errorIn(""), "p.json:1:1: malformed JSON: syntax error while parsing value - "
                         "unexpected end of input; expected '[', '{', or a literal");
  // A missing comma: the parser stops at the closing quote of "version".
  EXPECT_EQ(errorIn("{\"format\": \"elfopt-profile\"\n\n  \"version\": 1}"),
            "p.json:3:11: malformed JSON: syntax error while parsing object - unexpected string "
            "literal; expected '}'");
  // Cut short inside the touches, after `      {"symbol": ` (17 characters)
  // on line 18: the end of input is column 18.
  std::string cut = std::string(Example).substr(0, std::string(Example).find("\"main\", \"address\""));
  EXPECT_EQ(errorIn(cut), "p.json:18:18: malformed JSON: syntax error while parsing value - "
                          "unexpected end of input; expected '[', '{', or a literal");
}

TEST(Profile, WrongTopLevel) {
  EXPECT_EQ(errorIn("[1, 2]"), "p.json: (top level): expected a JSON object");
  EXPECT_EQ(errorIn(R"({"format": "elfopt-order", "version": 1})"),
            "p.json: format: not an elfopt profile (expected \"format\": \"elfopt-profile\")");
  EXPECT_EQ(errorIn(R"({"version": 1})"),
            "p.json: format: not an elfopt profile (expected \"format\": \"elfopt-profile\")");
  EXPECT_EQ(errorIn(R"({"format": "elfopt-profile"})"), "p.json: version: missing or not an integer");
  EXPECT_EQ(errorIn(R"({"format": "elfopt-profile", "version": "1"})"),
            "p.json: version: missing or not an integer");
  EXPECT_EQ(errorIn(edited("\"version\": 1", "\"version\": 2")),
            "p.json: version: unsupported profile version 2 (this elfopt reads version 1)");
  EXPECT_EQ(errorIn(edited("\"command\": [\"./order\", \"x\"],", "")),
            "p.json: (top level): missing field 'command'");
  EXPECT_EQ(errorIn(edited("[\"./order\", \"x\"]", "\"./order x\"")),
            "p.json: (top level).command: expected an array");
  EXPECT_EQ(errorIn(edited("[\"./order\", \"x\"]", "[\"./order\", 1]")),
            "p.json: command: expected an array of strings");
}

TEST(Profile, WrongObjectFields) {
  EXPECT_EQ(errorIn(edited("\"path\": \"./order\", ", "")),
            "p.json: objects[0]: missing field 'path'");
  EXPECT_EQ(errorIn(edited("\"size\": 800", "\"size\": -800")),
            "p.json: objects[1].size: expected an unsigned integer");
  EXPECT_EQ(errorIn(edited("\"size\": 800", "\"size\": 8.5")),
            "p.json: objects[1].size: expected an unsigned integer");
  EXPECT_EQ(errorIn(edited("\"buildId\": \"\"", "\"buildId\": null")),
            "p.json: objects[1].buildId: expected a string");
  EXPECT_EQ(errorIn(edited("\"objects\": [\n  {", "\"objects\": [\n  7, {")),
            "p.json: objects[0]: expected an object");
}

TEST(Profile, WrongRunFields) {
  EXPECT_EQ(errorIn(edited("\"partial\": false", "\"partial\": 0")),
            "p.json: runs[0].partial: expected true or false");
  EXPECT_EQ(errorIn(edited("\"exitCode\": 7", "\"exitCode\": \"7\"")),
            "p.json: runs[0].exitCode: expected a small integer or null");
  EXPECT_EQ(errorIn(edited("\"exitCode\": 7", "\"exitCode\": 1073741825")),
            "p.json: runs[0].exitCode: expected a small integer or null");
  EXPECT_EQ(errorIn(edited("\"signal\": 9", "\"signal\": 9.0")),
            "p.json: runs[1].signal: expected a small integer or null");
  EXPECT_EQ(errorIn(edited("\"stopReason\": \"signal\", ", "")),
            "p.json: runs[1]: missing field 'stopReason'");
  EXPECT_EQ(errorIn(edited("\"object\": 1, \"loaded\": true", "\"object\": 2, \"loaded\": true")),
            "p.json: runs[1].objects[0].object: refers to object 2, but there are 2");
  EXPECT_EQ(errorIn(edited("\"loaded\": false, \"loadBase\": 0, ", "\"loaded\": false, ")),
            "p.json: runs[0].objects[1]: missing field 'loadBase'");
  EXPECT_EQ(errorIn(edited("\"touches\": []", "\"touches\": {}")),
            "p.json: runs[0].objects[1].touches: expected an array");
}

TEST(Profile, WrongTouchFields) {
  // The second touch of run 0, object 0.
  EXPECT_EQ(errorIn(edited("\"address\": 4460", "\"address\": \"0x116c\"")),
            "p.json: runs[0].objects[0].touches[1].address: expected an unsigned integer");
  EXPECT_EQ(errorIn(edited("\"symbol\": \"main\", ", "")),
            "p.json: runs[0].objects[0].touches[1]: missing field 'symbol'");
  EXPECT_EQ(errorIn(edited("\"thread\": 2", "\"thread\": -2")),
            "p.json: runs[1].objects[0].touches[0].thread: expected an unsigned integer");
  EXPECT_EQ(errorIn(edited("\"touches\": []", "\"touches\": [5]")),
            "p.json: runs[0].objects[1].touches[0]: expected an object");
}

TEST(SymbolList, SkipsBlankLinesAndComments) {
  std::string path = ::testing::TempDir() + "elfopt-symbols-test.txt";
  {
    std::ofstream out(path);
    out << "# a comment\n  main \r\n\n\t_start\t\n   # indented comment\nfoo bar\nlast";
  }
  EXPECT_EQ(readSymbolList(path), (std::vector<std::string>{"main", "_start", "foo bar", "last"}));
  writeSymbolList(path, {"b", "a"});
  EXPECT_EQ(readSymbolList(path), (std::vector<std::string>{"b", "a"}));
  std::remove(path.c_str());
}

TEST(Profile, PageTouchesRoundTripAndAreOptional) {
  Profile p = parseProfile(Example, "p.json");
  EXPECT_FALSE(p.runs[0].pageTrace); // a profile without a page trace stays valid
  EXPECT_EQ(profileToJson(p).find("\"pages\""), std::string::npos);
  PageTrace trace;
  trace.method = "perf-page-faults";
  trace.durationNs = 9000;
  trace.faults = 40;
  trace.exitCode = 0;
  p.runs[0].pageTrace = trace;
  p.runs[0].objects[0].pages = {{0x0, 10, 1, "(headers)"}, {0x3000, 20, 2, ".rodata"}};
  Profile back = parseProfile(profileToJson(p), "pages.json");
  ASSERT_TRUE(back.runs[0].pageTrace);
  EXPECT_EQ(back.runs[0].pageTrace->method, "perf-page-faults");
  EXPECT_EQ(back.runs[0].pageTrace->faults, 40u);
  EXPECT_EQ(back.runs[0].pageTrace->exitCode, 0);
  EXPECT_FALSE(back.runs[0].pageTrace->signal);
  ASSERT_EQ(back.runs[0].objects[0].pages.size(), 2u);
  EXPECT_EQ(back.runs[0].objects[0].pages[1].offset, 0x3000u);
  EXPECT_EQ(back.runs[0].objects[0].pages[1].timeNs, 20u);
  EXPECT_EQ(back.runs[0].objects[0].pages[1].thread, 2u);
  EXPECT_EQ(back.runs[0].objects[0].pages[1].section, ".rodata");
  EXPECT_EQ(profileToJson(back), profileToJson(p));
}

TEST(Profile, WrongPageFields) {
  std::string text = profileToJson(parseProfile(Example, "p.json"));
  std::string withPages = text;
  withPages.replace(withPages.find("\"touches\""), 0,
                    "\"pages\": [{\"offset\": 100, \"timeNs\": 1, \"thread\": 1, \"section\": \".text\"}], ");
  EXPECT_EQ(messageOf([&] { parseProfile(withPages, "p.json"); }, ExitBadInput),
            "p.json: runs[0].objects[0].pages[0].offset: not a multiple of 4096");
  std::string noSection = text;
  noSection.replace(noSection.find("\"touches\""), 0,
                    "\"pages\": [{\"offset\": 4096, \"timeNs\": 1, \"thread\": 1}], ");
  EXPECT_EQ(messageOf([&] { parseProfile(noSection, "p.json"); }, ExitBadInput),
            "p.json: runs[0].objects[0].pages[0]: missing field 'section'");
}

TEST(Profile, TracedObjectRunNeedsAPageTraceAndALoadedObject) {
  Profile p = parseProfile(Example, "p.json");
  elfopt::Run &run = p.runs[0];
  EXPECT_EQ(tracedObjectRun(p, run, "main"), nullptr); // no page trace
  run.pageTrace = PageTrace{};
  ASSERT_EQ(tracedObjectRun(p, run, "main"), &run.objects[0]);
  EXPECT_EQ(tracedObjectRun(p, run, "no-such-object"), nullptr);
  run.objects[0].loaded = false;
  EXPECT_EQ(tracedObjectRun(p, run, "main"), nullptr);
}

// record --all-objects names objects by path, and users name them by file:
// a unique last path component finds the object; an exact name comes first.
TEST(Profile, FindsObjectsByNameOrByTheEndOfTheirPath) {
  Profile p;
  p.objects.push_back({"main", "/usr/lib/firefox-esr/firefox-esr", "", 0, "", "symtab", 0});
  p.objects.push_back({"/usr/lib/firefox-esr/libxul.so", "/usr/lib/firefox-esr/libxul.so", "", 0, "", "symtab", 0});
  p.objects.push_back({"/usr/lib/a/libz.so.1", "/usr/lib/a/libz.so.1", "", 0, "", "symtab", 0});
  p.objects.push_back({"/usr/lib/b/libz.so.1", "/usr/lib/b/libz.so.1", "", 0, "", "symtab", 0});
  std::string why;
  EXPECT_EQ(findProfileObject(p, "main", why), 0u);
  EXPECT_EQ(findProfileObject(p, "firefox-esr", why), 0u); // the program, by its path
  EXPECT_EQ(findProfileObject(p, "libxul.so", why), 1u);
  EXPECT_EQ(findProfileObject(p, "firefox-esr/libxul.so", why), 1u);
  EXPECT_EQ(findProfileObject(p, "/usr/lib/firefox-esr/libxul.so", why), 1u);
  EXPECT_EQ(findProfileObject(p, "a/libz.so.1", why), 2u);
  EXPECT_FALSE(findProfileObject(p, "xul.so", why)); // a whole component, not a suffix
  EXPECT_EQ(why, "the profile has no object 'xul.so' (it has main, /usr/lib/firefox-esr/libxul.so, "
                 "/usr/lib/a/libz.so.1, /usr/lib/b/libz.so.1)");
  EXPECT_FALSE(findProfileObject(p, "libz.so.1", why));
  EXPECT_EQ(why, "'libz.so.1' names several objects of the profile: /usr/lib/a/libz.so.1, /usr/lib/b/libz.so.1");
  EXPECT_FALSE(findProfileObject(p, "", why));
}
