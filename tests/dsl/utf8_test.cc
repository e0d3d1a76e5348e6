// Tests of the UTF-8 helpers: validation, counting, case mapping, trimming and JSON escaping.
#include "dsl/utf8.h"

#include <catch2/catch.hpp>
#include <string>
#include <utility>

namespace sellerflow::dsl {
namespace {

TEST_CASE("utf8: validation finds the first bad byte", "[utf8]") {
  size_t at = 99;
  CHECK(ValidUtf8(""));
  CHECK(ValidUtf8("plain ascii"));
  CHECK(ValidUtf8("é日本😀"));
  CHECK(ValidUtf8("\xF4\x8F\xBF\xBF"));       // U+10FFFF
  CHECK_FALSE(ValidUtf8("ab\xC0\xAF", &at));  // Overlong '/'.
  CHECK(at == 2);
  CHECK_FALSE(ValidUtf8("\xE0\x80\xAF", &at));  // Overlong three-byte.
  CHECK(at == 0);
  CHECK_FALSE(ValidUtf8("x\xED\xA0\x80", &at));  // U+D800, a surrogate.
  CHECK(at == 1);
  CHECK_FALSE(ValidUtf8("abc\xE6\x97", &at));  // Truncated 日.
  CHECK(at == 3);
  CHECK_FALSE(ValidUtf8("\x80", &at));  // Lone continuation.
  CHECK(at == 0);
  CHECK_FALSE(ValidUtf8("\xF4\x90\x80\x80", &at));  // Past U+10FFFF.
  CHECK_FALSE(ValidUtf8("\xFF", &at));
  CHECK_FALSE(ValidUtf8(std::string("ok\xC3(", 4), &at));  // Lead byte without continuation.
  CHECK(at == 2);
}

TEST_CASE("utf8: code points", "[utf8]") {
  CHECK(CountCodePoints("") == 0);
  CHECK(CountCodePoints("abc") == 3);
  CHECK(CountCodePoints("é") == 1);
  CHECK(std::string("é").size() == 2);
  CHECK(CountCodePoints("日本") == 2);
  CHECK(CountCodePoints("😀") == 1);
  CHECK(CountCodePoints("a😀b") == 3);
  std::string s;
  AppendCodePoint(0x65E5, &s);
  AppendCodePoint(0x1F600, &s);
  AppendCodePoint('x', &s);
  AppendCodePoint(0xE9, &s);
  CHECK(s == "日😀xé");
}

TEST_CASE("utf8: case mapping", "[utf8]") {
  CHECK(Utf8Lower("ÉCOLE") == "école");
  CHECK(Utf8Upper("école") == "ÉCOLE");
  CHECK(Utf8Upper("Straße") == "STRAßE");  // ß has no one-letter upper case.
  CHECK(Utf8Lower("STRAßE") == "straße");
  CHECK(Utf8Upper("ÿ") == "Ÿ");
  CHECK(Utf8Lower("Ÿ") == "ÿ");
  CHECK(Utf8Upper("łódź") == "ŁÓDŹ");
  CHECK(Utf8Lower("ŁÓDŹ") == "łódź");
  CHECK(Utf8Upper("Ελληνικά") == "ΕΛΛΗΝΙΚΆ");
  CHECK(Utf8Lower("ΟΔΥΣΣΕΥΣ") == "οδυσσευσ");  // No final-sigma context rule: simple mapping.
  CHECK(Utf8Upper("ς") == "Σ");
  CHECK(Utf8Upper("привет, ёж") == "ПРИВЕТ, ЁЖ");
  CHECK(Utf8Lower("МОСКВА ЁЖ Ђ") == "москва ёж ђ");
  CHECK(Utf8Lower("İ") == "i");
  CHECK(Utf8Upper("ı") == "I");
  CHECK(Utf8Upper("µ") == "Μ");
  CHECK(Utf8Upper("日本 123 ×÷") == "日本 123 ×÷");
  CHECK(Utf8Lower("A\xFF"
                  "B") ==
        "a\xFF"
        "b");  // Bad bytes pass through.
}

TEST_CASE("utf8: trim strips Unicode white space", "[utf8]") {
  CHECK(Utf8Trim("  hello \t\n") == "hello");
  CHECK(Utf8Trim("\u00A0hello\u00A0") == "hello");
  CHECK(Utf8Trim("\u3000日本\u3000") == "日本");
  CHECK(Utf8Trim("\u2003a b\u202F") == "a b");
  CHECK(Utf8Trim(" \u00A0 ") == "");
  CHECK(Utf8Trim("") == "");
  CHECK(Utf8Trim("x") == "x");
  CHECK(Utf8Trim("\u200Bx") == "\u200Bx");  // Zero-width space is not White_Space.
}

TEST_CASE("utf8: JSON strings", "[utf8]") {
  std::string out;
  AppendJsonString("a\"b\\c\nd\te\x01 é", &out);
  CHECK(out == "\"a\\\"b\\\\c\\nd\\te\\u0001 é\"");
  out.clear();
  AppendJsonString("bad\xFF", &out);
  CHECK(out == "\"bad\xEF\xBF\xBD\"");  // U+FFFD keeps the output valid.
}

TEST_CASE("utf8: JSON strings escape a character wherever it falls in an 8-byte step", "[utf8]") {
  // Plain runs are copied 8 bytes at a time: put each kind of byte at every offset of a long text.
  const std::pair<std::string, std::string> kCases[] = {
      {"\"", "\\\""},       {"\\", "\\\\"},
      {"\n", "\\n"},        {std::string(1, '\x01'), "\\u0001"},
      {"\x1f", "\\u001f"},  {"\x7f", "\x7f"},
      {"é", "é"},           {"\xFF", "\xEF\xBF\xBD"},
      {" ", " "},           {"~", "~"},
      {"\xE2\x82\xAC", "€"}};
  for (const auto& [in, escaped] : kCases) {
    for (size_t at = 0; at < 20; ++at) {
      std::string text = std::string(at, 'a') + in + std::string(19 - at, 'b');
      std::string out = "x";
      AppendJsonString(text, &out);
      CHECK(out == "x\"" + std::string(at, 'a') + escaped + std::string(19 - at, 'b') + "\"");
    }
  }
}

}  // namespace
}  // namespace sellerflow::dsl
