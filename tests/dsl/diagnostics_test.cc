// Tests of diagnostics: positions, the exact printed format with its caret, JSON output,
// NearestName.
#include "dsl/diagnostics.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace sellerflow::dsl {
namespace {

// The source line is printed as it is, indentation included, and the caret padding follows it.
TEST_CASE("diagnostics: the printed format with source line, caret and hint", "[diagnostics]") {
  Source src{
      "rules/a.rules",
      "rule title_length {\n  code INVALID_INPUT\n  require len(detials.ProductTitle) <= 72\n}\n"};
  Diagnostics diags;
  size_t offset = src.text.find("detials");
  diags.Add(Severity::kError, src, offset, "unknown name 'detials'", "did you mean 'details'?");
  REQUIRE(diags.items().size() == 1);
  CHECK(diags.items()[0].line == 3);
  CHECK(diags.items()[0].column == 15);
  CHECK(diags.ToText() ==
        "rules/a.rules:3:15: error: unknown name 'detials'\n"
        "    require len(detials.ProductTitle) <= 72\n"
        "                ^\n"
        "  hint: did you mean 'details'?\n");
  CHECK(diags.error_count() == 1);
  CHECK(diags.warning_count() == 0);
  CHECK(diags.has_errors());
}

TEST_CASE("diagnostics: the caret keeps tabs and counts code points", "[diagnostics]") {
  Source tabbed{"t.rules", "\trequire x\n"};
  Diagnostics a;
  a.Add(Severity::kWarning, tabbed, tabbed.text.find('x'), "unused");
  CHECK(a.ToText() ==
        "t.rules:1:10: warning: unused\n"
        "  \trequire x\n"
        "  \t        ^\n");
  CHECK(a.warning_count() == 1);
  CHECK_FALSE(a.has_errors());

  Source wide{"u.rules", "let s = \"日本é\" + bad\n"};
  Diagnostics b;
  b.Add(Severity::kError, wide, wide.text.find("bad"), "unknown name 'bad'");
  REQUIRE(b.items()[0].column == 17);
  CHECK(b.ToText() ==
        "u.rules:1:17: error: unknown name 'bad'\n"
        "  let s = \"日本é\" + bad\n"
        "                  ^\n");
}

TEST_CASE("diagnostics: without a position, and by line and column", "[diagnostics]") {
  Diagnostics diags;
  diags.AddFile(Severity::kError, "rules/missing.rules", "cannot read the file");
  Source src{"b.rules", "one\r\ntwo three\r\n"};
  diags.AddAt(Severity::kNote, src, 2, 5, "here");
  CHECK(diags.ToText() ==
        "rules/missing.rules: error: cannot read the file\n"
        "b.rules:2:5: note: here\n"
        "  two three\n"
        "      ^\n");
  // Built whole: assigning literals to its members trips GCC 12's -Wrestrict false positive at -O2.
  Diagnostic d{Severity::kError, "x", 1, 1, "m", "", ""};
  CHECK(FormatDiagnostic(d) == "x:1:1: error: m\n");  // No source line, no caret.
}

TEST_CASE("diagnostics: JSON output", "[diagnostics]") {
  Diagnostics diags;
  CHECK(diags.ToJson() == "[]");
  Source src{"a \"q\".rules", "abc\n"};
  diags.Add(Severity::kError, src, 1, "bad \"b\"", "try c");
  diags.Add(Severity::kWarning, src, 0, "w");
  CHECK(
      diags.ToJson() ==
      R"([{"file":"a \"q\".rules","line":1,"column":2,"severity":"error","message":"bad \"b\"","hint":"try c"},)"
      R"({"file":"a \"q\".rules","line":1,"column":1,"severity":"warning","message":"w"}])");
}

TEST_CASE("diagnostics: LocateOffset", "[diagnostics]") {
  uint32_t line = 0, column = 0;
  std::string_view text;
  LocateOffset("ab\ncdé f\n", 8, &line, &column, &text);
  CHECK(line == 2);
  CHECK(column == 5);  // c d é ' ' -> f is the 5th code point.
  CHECK(text == "cdé f");
  LocateOffset("abc", 99, &line, &column, &text);  // Clamped to the end.
  CHECK(line == 1);
  CHECK(column == 4);
  LocateOffset("", 0, &line, &column, &text);
  CHECK(line == 1);
  CHECK(column == 1);
  CHECK(text.empty());
}

TEST_CASE("diagnostics: NearestName", "[diagnostics]") {
  std::vector<std::string> names = {"details", "entity", "ProductTitle", "len", "and"};
  CHECK(NearestName("detials", names) == "details");
  CHECK(NearestName("Details", names) == "details");
  CHECK(NearestName("productTitle", names) == "ProductTitle");
  CHECK(NearestName("ProductTitel", names) == "ProductTitle");
  CHECK(NearestName("lem", names) == "len");  // Short names allow one edit...
  CHECK(NearestName("lne", names) == "");     // (a swap is two)
  CHECK(NearestName("xyz", names) == "");     // ...and nothing farther.
  CHECK(NearestName("completely_different", names) == "");
  CHECK(NearestName("", names) == "");
  CHECK(NearestName("x", {}) == "");
  // Ties go to the first candidate in the given order...
  CHECK(NearestName("cat", {"bat", "hat"}) == "bat");
  CHECK(NearestName("cat", {"hat", "bat"}) == "hat");
  // ...unless one of them differs only in case.
  CHECK(NearestName("Cat", {"bat", "cat"}) == "cat");
}

TEST_CASE("diagnostics: a long line shows as a window around the caret", "[diagnostics]") {
  Diagnostic d;
  d.file = "long.rules";
  d.line = 1;
  d.column = 251;
  d.message = "here";
  d.source_line = std::string(250, 'a') + "X" + std::string(149, 'b');
  // 100 code points before the caret, 200 in all, with "..." where the line was cut.
  std::string expected = "long.rules:1:251: error: here\n  ..." + std::string(100, 'a') + "X" +
                         std::string(99, 'b') + "...\n  " + std::string(103, ' ') + "^\n";
  CHECK(FormatDiagnostic(d) == expected);
  // A line of 200 code points is shown whole.
  d.source_line = std::string(200, 'a');
  d.column = 200;
  CHECK(FormatDiagnostic(d) == "long.rules:1:200: error: here\n  " + std::string(200, 'a') +
                                   "\n  " + std::string(199, ' ') + "^\n");
}

}  // namespace
}  // namespace sellerflow::dsl
