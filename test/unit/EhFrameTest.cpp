//===- EhFrameTest.cpp - the field format of DW_EH_PE pointer encodings ---===//
//
// The formats are the LSB's ("DWARF Exception Header Encoding"): the low
// four bits give the width and signedness; the high bits (pcrel, indirect)
// do not change them.
//
//===----------------------------------------------------------------------===//
#include "elfopt/Elf/EhFrame.h"

#include <gtest/gtest.h>

using elfopt::encodedPointerFormat;

namespace {

void expectFormat(uint8_t encoding, uint8_t size, bool isSigned) {
  auto f = encodedPointerFormat(encoding);
  ASSERT_TRUE(f) << int(encoding);
  EXPECT_EQ(f->size, size) << int(encoding);
  EXPECT_EQ(f->isSigned, isSigned) << int(encoding);
}

} // namespace

TEST(EhFrame, FixedWidthFormats) {
  expectFormat(0x00, 8, false); // absptr
  expectFormat(0x02, 2, false); // udata2
  expectFormat(0x03, 4, false); // udata4
  expectFormat(0x04, 8, false); // udata8
  expectFormat(0x0a, 2, true);  // sdata2
  expectFormat(0x0b, 4, true);  // sdata4
  expectFormat(0x0c, 8, true);  // sdata8
}

TEST(EhFrame, ApplicationBitsDoNotChangeTheFormat) {
  expectFormat(0x1b, 4, true);  // pcrel | sdata4, as GCC and clang emit
  expectFormat(0x9b, 4, true);  // indirect | pcrel | sdata4
  expectFormat(0x30 | 0x02, 2, false);
}

TEST(EhFrame, LebAndUndefinedFormatsHaveNoFixedWidth) {
  for (uint8_t low : {0x01, 0x09, 0x05, 0x06, 0x07, 0x08, 0x0d, 0x0e, 0x0f})
    EXPECT_FALSE(encodedPointerFormat(low)) << int(low);
  EXPECT_FALSE(encodedPointerFormat(0x11)); // pcrel | uleb128
}
