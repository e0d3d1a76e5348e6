// Tests of the language server's positions and URIs: UTF-16 columns from bytes and code points.
#include "src/lsp/text.h"

#include <catch2/catch.hpp>
#include <string>

namespace sellerflow::lsp {
namespace {

TEST_CASE("lsp text: UTF-16 units count a character outside the BMP twice", "[lsp]") {
  const std::string line = "a\xC3\xA9\xF0\x9F\x98\x80z";  // a, é (2 bytes), 😀 (4 bytes), z
  CHECK(Utf16Units(line, 0) == 0);
  CHECK(Utf16Units(line, 1) == 1);
  CHECK(Utf16Units(line, 3) == 2);
  CHECK(Utf16Units(line, 7) == 4);
  CHECK(Utf16Units(line, line.size()) == 5);
  CHECK(ByteOfUtf16(line, 4) == 7);
  CHECK(ByteOfUtf16(line, 3) == 3);  // Inside the surrogate pair: at its code point.
  CHECK(ByteOfUtf16(line, 99) == line.size());
  CHECK(ByteOfCodePoint(line, 3) == 7);
  CHECK(ByteOfCodePoint(line, 99) == line.size());
  // A byte that is no UTF-8 is one unit, as an editor shows it.
  CHECK(Utf16Units("\xFF\xFFx", 3) == 3);
  CHECK(Utf16Units("\xF0\x9F", 2) == 2);  // A cut sequence.
}

TEST_CASE("lsp text: lines, with CR LF endings and past the end", "[lsp]") {
  const std::string text = "one\r\ntwo\nthree";
  CHECK(LineText(text, 0) == "one");
  CHECK(LineText(text, 1) == "two");
  CHECK(LineText(text, 2) == "three");
  CHECK(LineText(text, 3).empty());
  CHECK(LineStart(text, 2) == 9);
  CHECK(LineStart(text, 7) == text.size());
}

TEST_CASE("lsp text: file URIs", "[lsp]") {
  CHECK(UriToPath("file:///tmp/a%20b/x.rules") == "/tmp/a b/x.rules");
  CHECK(UriToPath("file://localhost/tmp/x") == "/tmp/x");
  CHECK(UriToPath("file://other/tmp/x").empty());
  CHECK(UriToPath("untitled:Untitled-1").empty());
  CHECK(UriToPath("file:///tmp/%zz%4") == "/tmp/%zz%4");
  CHECK(PathToUri("/tmp/a b/é.rules") == "file:///tmp/a%20b/%C3%A9.rules");
  CHECK(UriToPath(PathToUri("/tmp/a b/é#?.rules")) == "/tmp/a b/é#?.rules");
}

}  // namespace
}  // namespace sellerflow::lsp
