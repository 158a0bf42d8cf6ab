//===- Profile.h - recorded first-touch orders ------------------*- C++ -*-===//
//
// The profile is the one input of ordering and rewriting. Format: JSON,
// "format": "elfopt-profile", "version": 1, specified in profiles/README.md.
// It holds the identity of every object it describes (path, build-id, size,
// content hash) and, per run and per object, the functions in the order they were
// first executed, with link-time address, size, time and thread, and
// optionally the file pages in the order they were first touched.
//
//===----------------------------------------------------------------------===//
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace elfopt {

class ElfFile;

inline constexpr const char *ProfileFormat = "elfopt-profile";
inline constexpr int ProfileVersion = 1;

struct ObjectIdentity {
  std::string name;     ///< as the user named it (--object), "main" for the program
  std::string path;     ///< file that was traced
  std::string buildId;  ///< hex, empty when the file has none
  uint64_t size = 0;
  std::string contentHash; ///< "blake3:" + hex digest of the whole file
  std::string functionSource; ///< "symtab" or "dynsym+eh_frame"
  uint64_t functions = 0;     ///< functions that had a breakpoint
};

struct Touch {
  std::string symbol;
  uint64_t address = 0; ///< link-time address, as in the file
  uint64_t size = 0;
  uint64_t timeNs = 0;  ///< since the run started
  uint32_t thread = 0;  ///< 1 = the first thread, then in order of appearance
};

/// The first touch of one page of an object's file, seen as a page fault
/// (see Record/PageTrace.h for what a fault does and does not show).
struct PageTouch {
  uint64_t offset = 0;  ///< file offset of the 4 KiB page
  uint64_t timeNs = 0;  ///< since the page trace's run started
  uint32_t thread = 0;  ///< 1 = the first thread, then in order of appearance
  std::string section;  ///< section holding the faulting byte, or "(headers)"/"(none)"
};

struct ObjectRun {
  uint32_t object = 0;  ///< index into Profile::objects
  bool loaded = false;  ///< false: the object was never mapped in this run
  uint64_t loadBase = 0;
  std::vector<Touch> touches; ///< in first-touch order
  std::vector<PageTouch> pages; ///< in first-touch order; empty without a page trace
};

/// How a run's page touches were taken. The trace comes from a second,
/// untraced execution of the same command: breakpoints write to code pages,
/// which would fault them in before the program touches them.
struct PageTrace {
  std::string method;          ///< "perf-page-faults"
  uint64_t durationNs = 0;     ///< length of the traced execution
  uint64_t faults = 0;         ///< user page faults seen, in any mapping
  uint64_t lost = 0;           ///< samples the kernel dropped (0: complete)
  std::optional<int> exitCode;
  std::optional<int> signal;
};

struct Run {
  /// "exit", "signal", "duration", "until", "interrupt", "exec" or "imported".
  std::string stopReason;
  bool partial = false; ///< the program did not end normally during recording
  std::optional<int> exitCode;
  std::optional<int> signal;
  uint64_t durationNs = 0;
  uint32_t threads = 0;
  std::vector<ObjectRun> objects;
  std::optional<PageTrace> pageTrace; ///< absent: no page touches recorded
};

struct Profile {
  std::vector<std::string> command;
  std::vector<ObjectIdentity> objects;
  std::vector<Run> runs;
};

/// The index of the object of \p profile that \p name names: the object of
/// that name; or else the one object whose name or path has \p name as its
/// last path components (`libxul.so` for `/usr/lib/firefox-esr/libxul.so`, as
/// `record --all-objects` names objects by path). None, with \p why saying
/// which objects there are or which several match, otherwise.
std::optional<uint32_t> findProfileObject(const Profile &profile, const std::string &name, std::string &why);

/// The object named \p object (as findProfileObject finds it) in \p run,
/// when the run has a page trace and the object was loaded in it; null
/// otherwise.
const ObjectRun *tracedObjectRun(const Profile &profile, const Run &run, const std::string &object);

/// Reads and validates a profile; FatalError (exit 2) naming the file, and
/// for malformed JSON the line and column.
Profile readProfile(const std::string &path);
Profile parseProfile(const std::string &text, const std::string &name);
std::string profileToJson(const Profile &profile);
void writeProfile(const std::string &path, const Profile &profile);

/// Plain symbol lists, one name per line, as lld's --symbol-ordering-file:
/// blank lines and lines starting with '#' are skipped.
std::vector<std::string> readSymbolList(const std::string &path);
void writeSymbolList(const std::string &path, const std::vector<std::string> &names);

/// The identity of a file as a profile records it.
ObjectIdentity identifyObject(const std::string &name, const std::string &path);
/// The same for a file already open; its path is \p file's name.
ObjectIdentity identifyObject(const std::string &name, const ElfFile &file);

} // namespace elfopt
