//===- AppTest.cpp - where a whole application's objects go ---------------===//
#include "elfopt/App/App.h"

#include <gtest/gtest.h>

using namespace elfopt;

TEST(ApplicationRoot, TheProgramsOwnDirectory) {
  EXPECT_EQ(applicationRoot("/usr/lib/firefox-esr/firefox-esr",
                            {"/usr/lib/firefox-esr/libxul.so", "/usr/lib/x86_64-linux-gnu/libc.so.6"}),
            "/usr/lib/firefox-esr");
}

TEST(ApplicationRoot, WidensToSiblingDirectories) {
  // clang: bin/clang loads ../lib/libLLVM.so.19.1.
  EXPECT_EQ(applicationRoot("/usr/lib/llvm-19/bin/clang",
                            {"/usr/lib/llvm-19/lib/libLLVM.so.19.1", "/lib/x86_64-linux-gnu/libstdc++.so.6"}),
            "/usr/lib/llvm-19");
}

TEST(ApplicationRoot, NeverASharedSystemDirectory) {
  // A program in /usr/bin owns nothing beside it.
  EXPECT_EQ(applicationRoot("/usr/bin/gdb", {"/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0"}), "/usr/bin");
  // A program in /usr/lib/foo with a library in /usr/lib/x86_64-linux-gnu:
  // their common directory /usr/lib is shared.
  EXPECT_EQ(applicationRoot("/usr/lib/foo/foo", {"/usr/lib/x86_64-linux-gnu/libbar.so"}), "/usr/lib/foo");
  EXPECT_TRUE(isSharedSystemDirectory("/usr/lib/"));
  EXPECT_TRUE(isSharedSystemDirectory("/opt"));
  EXPECT_FALSE(isSharedSystemDirectory("/opt/app"));
}

TEST(IsUnder, ComponentsNotPrefixes) {
  EXPECT_TRUE(isUnder("/usr/lib/llvm-19/lib/x.so", "/usr/lib/llvm-19"));
  EXPECT_FALSE(isUnder("/usr/lib/llvm-190/x.so", "/usr/lib/llvm-19"));
  EXPECT_FALSE(isUnder("/usr/lib/llvm-19", "/usr/lib/llvm-19"));
}

TEST(PlanApplication, OutputsMirrorTheRoot) {
  AppLayout layout = planApplication("/opt/app/bin/app",
                                     {{"main", "/opt/app/bin/app"},
                                      {"/opt/app/lib/libcore.so", "/opt/app/lib/libcore.so"},
                                      {"/lib/x86_64-linux-gnu/libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6"}},
                                     "/tmp/out");
  EXPECT_EQ(layout.root, "/opt/app");
  EXPECT_EQ(layout.programOutput, "/tmp/out/bin/app");
  ASSERT_EQ(layout.objects.size(), 3u);
  EXPECT_EQ(layout.objects[0].profileName, "main");
  EXPECT_TRUE(layout.objects[1].inApplication);
  EXPECT_EQ(layout.objects[1].output, "/tmp/out/lib/libcore.so");
  EXPECT_FALSE(layout.objects[2].inApplication);
  EXPECT_EQ(layout.objects[2].output, "/tmp/out/elfopt-system-libraries/libc.so.6");
}

TEST(PlanApplication, AProgramInASharedDirectoryOwnsNothingBesideIt) {
  AppLayout layout = planApplication("/usr/bin/gdb",
                                     {{"main", "/usr/bin/gdb"}, {"/usr/bin/helper.so", "/usr/bin/helper.so"}},
                                     "/tmp/out");
  EXPECT_EQ(layout.root, "/usr/bin");
  EXPECT_EQ(layout.programOutput, "/tmp/out/gdb");
  ASSERT_EQ(layout.objects.size(), 2u);
  EXPECT_FALSE(layout.objects[1].inApplication);
}
