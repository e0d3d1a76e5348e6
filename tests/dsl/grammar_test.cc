// Tests of the rule-language grammar: the tree each input parses to, and PEGTL's grammar analysis.
#include "dsl/grammar.h"

#include <catch2/catch.hpp>
#include <string>
#include <tao/pegtl/contrib/analyze.hpp>
#include <utility>
#include <vector>

#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

using testing::Dump;

struct Case {
  const char* input;
  const char* tree;
};

void CheckCases(const std::vector<Case>& cases) {
  for (const Case& c : cases) {
    INFO("input: " << c.input);
    CHECK(Dump(c.input) == c.tree);
  }
}

TEST_CASE("grammar: precedence of every operator level, loosest first", "[grammar]") {
  CheckCases({
      {"a ? b : c or d", "(?: a b (or c d))"},
      {"a or b ? c : d", "(?: (or a b) c d)"},
      {"a or b and c", "(or a (and b c))"},
      {"a and b or c", "(or (and a b) c)"},
      {"not a and b", "(and (not a) b)"},
      {"not a or not b", "(or (not a) (not b))"},
      {"not a == b", "(not (== a b))"},
      {"a == b and c != d", "(and (== a b) (!= c d))"},
      {"a < b or c <= d or e > f or g >= h", "(or (or (or (< a b) (<= c d)) (> e f)) (>= g h))"},
      {"not a in b", "(not (in a b))"},
      {"a ?? b == c", "(== (?? a b) c)"},
      {"a == b ?? c", "(== a (?? b c))"},
      {"a + b ?? c", "(?? (+ a b) c)"},
      {"a ?? b + c", "(?? a (+ b c))"},
      {"a + b * c", "(+ a (* b c))"},
      {"a * b + c", "(+ (* a b) c)"},
      {"a + b * c - d / e % f", "(- (+ a (* b c)) (% (/ d e) f))"},
      {"-a * b", "(* (- a) b)"},
      {"-a.b", "(- a.b)"},
      {"-a[0]", "(- (index a 0))"},
      {"a.b + c.d * e[1]", "(+ a.b (* c.d (index e 1)))"},
      {"(a or b) and c", "(and (or a b) c)"},
      {"(a + b) * c", "(* (+ a b) c)"},
      {"(a in [1, 2]) == true", "(== (in a (list 1 2)) true)"},
  });
}

TEST_CASE("grammar: associativity", "[grammar]") {
  CheckCases({
      {"a - b - c", "(- (- a b) c)"},
      {"a / b / c", "(/ (/ a b) c)"},
      {"a % b * c", "(* (% a b) c)"},
      {"a or b or c", "(or (or a b) c)"},
      {"a and b and c", "(and (and a b) c)"},
      {"a ?? b ?? c", "(?? a (?? b c))"},  // Right-associative.
      {"a ? b : c ? d : e", "(?: a b (?: c d e))"},
      {"a ? b ? c : d : e", "(?: a (?: b c d) e)"},
      {"not not a", "(not (not a))"},
  });
}

TEST_CASE("grammar: in and not in", "[grammar]") {
  CheckCases({
      {"a in b", "(in a b)"},
      {"a not in b", "(not in a b)"},
      {"a not  in b", "(not in a b)"},
      {"not a not in b", "(not (not in a b))"},
      {"x in {\"k\": 1}", "(in x (map \"k\" 1))"},
      {"index in b", "(in index b)"},      // A keyword prefix is still a name...
      {"notable in b", "(in notable b)"},  // ...in both places.
  });
}

TEST_CASE("grammar: number literals and unary minus", "[grammar]") {
  CheckCases({
      {"0", "0"},
      {"9223372036854775807", "9223372036854775807"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"-5", "-5"},
      {"--5", "5"},
      {"1 - -2", "(- 1 -2)"},
      {"2 * -3", "(* 2 -3)"},
      {"a-1", "(- a 1)"},
      {"-1.5", "-1.5d"},
      {"1.50", "1.50d"},
      {"-x", "(- x)"},
      {"- 5", "(- 5)"},  // A sign apart from its number is an operator.
      {"-(1)", "-1"},
      {"-(a + 1)", "(- (+ a 1))"},
  });
  CHECK(Dump("9223372036854775808") ==
        "<expr>:1:1: error: integer 9223372036854775808 does not fit in 64 bits\n"
        "  9223372036854775808\n"
        "  ^\n");
}

TEST_CASE("grammar: field, index and call chains", "[grammar]") {
  CheckCases({
      {"details.ProductTitle", "details.ProductTitle"},
      {"details.code", "details.code"},  // Keywords are fine as field names.
      {"a.b.c[0][\"k\"].d", "(index (index a.b.c 0) \"k\").d"},
      {"a . b", "a.b"},
      {"a[b[0]]", "(index a (index b 0))"},
      {"len(x)", "(len x)"},
      {"f()", "(f)"},
      {"max(a, b, c)", "(max a b c)"},
      {"len(a.b[0])", "(len (index a.b 0))"},
      {"all(xs, x => x > 0)", "(all xs (x => (> x 0)))"},
      {"map(xs, x => x.y)", "(map xs (x => x.y))"},
      {"all(xs, x => any(x.ys, y => y == x))", "(all xs (x => (any x.ys (y => (== y x)))))"},
      {"count(xs, x=>x)", "(count xs (x => x))"},
  });
}

TEST_CASE("grammar: list and map literals with trailing commas", "[grammar]") {
  CheckCases({
      {"[]", "(list)"},
      {"[1]", "(list 1)"},
      {"[1, 2, 3,]", "(list 1 2 3)"},
      {"[ 1 ,\n 2 , ]", "(list 1 2)"},
      {"[[1], []]", "(list (list 1) (list))"},
      {"{}", "(map)"},
      {"{\"a\": 1}", "(map \"a\" 1)"},
      {"{\"a\": 1, \"b\": [2,],}", "(map \"a\" 1 \"b\" (list 2))"},
  });
}

TEST_CASE("grammar: comments and newlines inside expressions", "[grammar]") {
  CheckCases({
      {"a and # the first\n  b", "(and a b)"},
      {"(a\n +\n b)", "(+ a b)"},
      {"[1, # one\n 2 # two\n]", "(list 1 2)"},
      {"# leading\n a\n# trailing", "a"},
      {"f(\n  a,\n  b\n)", "(f a b)"},
      {"a ?\n b :\n c", "(?: a b c)"},
      {"not # why\n a", "(not a)"},
      {"- # sign\n x", "(- x)"},
  });
}

TEST_CASE("grammar: literals and string escapes", "[grammar]") {
  CheckCases({
      {"true", "true"},
      {"false", "false"},
      {"null", "null"},
      {R"("plain")", R"("plain")"},
      {R"("a\nb")", R"("a\nb")"},
      {R"("tab\there")", R"("tab\there")"},
      {R"("q\"b\\s")", R"("q\"b\\s")"},
      {R"("\u{1F600}")", "\"\xF0\x9F\x98\x80\""},
      {R"("\u00e9")", "\"\xC3\xA9\""},
      {R"("\{not a hole\}")", R"("{not a hole}")"},
      {"\"日本\"", "\"日本\""},
  });
}

// Message templates: literal text and {expr} holes, as the rule keeps them.
std::string Template(const std::string& message) {
  Source src{"t.rules", "rule r {\n  code X\n  require true\n  message " + message + "\n}\n"};
  Diagnostics diags;
  FileAst file = ParseRulesFile(src, &diags);
  if (diags.has_errors()) return diags.ToText();
  std::string out;
  for (const TemplatePart& p : file.rules.at(0).message)
    out += p.expr ? "{" + DumpExpr(*p.expr) + "}" : "[" + p.text + "]";
  return out;
}

TEST_CASE("grammar: message templates with holes", "[grammar]") {
  CHECK(Template(R"("no holes")") == "[no holes]");
  CHECK(Template(R"("")") == "");
  CHECK(
      Template(
          R"("ProductTitle has {len(details.ProductTitle)} characters; at most {MAX} are allowed.")") ==
      "[ProductTitle has ]{(len details.ProductTitle)}[ characters; at most ]{MAX}[ are allowed.]");
  CHECK(Template(R"("{a}{b}")") == "{a}{b}");
  CHECK(Template(R"("{ a + 1 }!")") == "{(+ a 1)}[!]");
  CHECK(Template(R"("braces: \{x\} and \"q\"")") == "[braces: {x} and \"q\"]");
  CHECK(Template(R"("map {{"k": 1}["k"]}")") == "[map ]{(index (map \"k\" 1) \"k\")}");
  CHECK(Template(R"("open {a")") ==
        "t.rules:4:19: error: expected '}' to close the '{' of the message, found '\"'\n"
        "    message \"open {a\"\n"
        "                    ^\n");
}

TEST_CASE("grammar: calls only on names; keywords are not names", "[grammar]") {
  CHECK(Dump("f(a)(b)") ==
        "<expr>:1:5: error: expected end of input, found '('\n"
        "  f(a)(b)\n"
        "      ^\n");
  CHECK(Dump("and") ==
        "<expr>:1:1: error: expected an expression, found 'and'\n"
        "  and\n"
        "  ^\n");
  CHECK(Dump("") == "<expr>:1:1: error: expected an expression, found end of input\n");
  // `in` is a comparison: it does not chain with another.
  CHECK(Dump("a in [1, 2] == true") ==
        "<expr>:1:13: error: expected end of input, found '=='\n"
        "  a in [1, 2] == true\n"
        "              ^\n"
        "  hint: comparisons do not chain: write 'a < b and b < c'\n");
}

TEST_CASE("grammar: PEGTL analysis finds no issues", "[grammar]") {
  CHECK(tao::pegtl::analyze<grammar::rules_file>(false) == 0);
  CHECK(tao::pegtl::analyze<grammar::expression_only>(false) == 0);
  CHECK(tao::pegtl::analyze<grammar::type_decls>(false) == 0);
  CHECK(tao::pegtl::analyze<grammar::template_only>(false) == 0);
}

}  // namespace
}  // namespace sellerflow::dsl
