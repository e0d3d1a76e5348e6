// Tests of the hard limits: nesting depth, source size, literal sizes, and malformed source bytes.
#include "dsl/limits.h"

#include <catch2/catch.hpp>
#include <string>

#include "dsl/program.h"
#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

using testing::Dump;

std::string Repeat(const std::string& s, size_t n) {
  std::string out;
  out.reserve(s.size() * n);
  for (size_t i = 0; i < n; ++i) out += s;
  return out;
}

// Diagnostics of an expression, its compile result aside.
Diagnostics Compile(const std::string& text) {
  Diagnostics diags;
  Expression::Compile({"<expr>", text}, {}, &diags);
  return diags;
}

const char* kTooDeep = "expression nested deeper than 64 levels; split it into constants or rules";

TEST_CASE("limits: 64 levels of nesting are fine, 65 are not", "[limits]") {
  REQUIRE(kMaxNestingDepth == 64);
  CHECK(Dump(Repeat("(", 64) + "1" + Repeat(")", 64)) == "1");
  CHECK(Dump(Repeat("[", 64) + Repeat("]", 64)).substr(0, 12) == "(list (list ");
  Diagnostics parens = Compile(Repeat("(", 65) + "1" + Repeat(")", 65));
  REQUIRE(parens.items().size() == 1);
  CHECK(parens.items()[0].message == kTooDeep);
  CHECK(parens.items()[0].column == 66);
  Diagnostics lists = Compile(Repeat("[", 65) + Repeat("]", 65));
  REQUIRE(lists.items().size() == 1);
  CHECK(lists.items()[0].message == kTooDeep);
  Diagnostics calls = Compile(Repeat("len(", 65) + "\"x\"" + Repeat(")", 65));
  REQUIRE(calls.items().size() == 1);
  CHECK(calls.items()[0].message == kTooDeep);
}

TEST_CASE("limits: 100,000 nested parentheses give one diagnostic and no crash", "[limits]") {
  Diagnostics diags = Compile(Repeat("(", 100000) + "1" + Repeat(")", 100000));
  REQUIRE(diags.items().size() == 1);
  CHECK(diags.items()[0].message == kTooDeep);
  // Also inside a rules file, where recovery goes on after the error.
  Diagnostics file;
  Program::Build({{"a.rules", "rule r {\n  code X\n  require " + Repeat("(", 100000) + "true" +
                                  Repeat(")", 100000) + "\n  message \"m\"\n}\n"}},
                 {}, &file);
  REQUIRE(file.items().size() == 1);
  CHECK(file.items()[0].message == kTooDeep);
  CHECK(file.items()[0].line == 3);
}

TEST_CASE("limits: operator chains and prefix runs are bounded by the tree depth", "[limits]") {
  // Long chains are fine up to the tree-depth limit...
  CHECK(Dump(Repeat("not ", 64) + "true").substr(0, 10) == "(not (not ");
  CHECK(Compile("1" + Repeat(" + 1", kMaxTreeDepth - 2) + " > 0").items().empty());
  CHECK(Compile("true" + Repeat(" and true", kMaxTreeDepth - 1)).items().empty());
  // ...and one past it gives one diagnostic naming the depth.
  Diagnostics past = Compile("true" + Repeat(" and true", kMaxTreeDepth));
  REQUIRE(past.items().size() == 1);
  CHECK(past.items()[0].message == "expression is 1001 levels deep; at most 1000 are allowed");
  // 100,000 end in one diagnostic, not a stack overflow.
  for (const std::string& text :
       {Repeat("not ", 100000) + "true", "1" + Repeat(" + 1", 100000) + " > 0",
        "true" + Repeat(" and true", 100000), "x" + Repeat(".f", 100000),
        "x" + Repeat("[0]", 100000)}) {
    INFO("input starts " << text.substr(0, 12));
    Diagnostics diags = Compile(text);
    REQUIRE(diags.items().size() == 1);
    CHECK(diags.items()[0].message.rfind("expression is ", 0) == 0);
    CHECK(diags.items()[0].message.find(" levels deep; at most 1000 are allowed") !=
          std::string::npos);
  }
  // `??` recurses in the grammar, so it counts against the nesting limit.
  Diagnostics coalesce = Compile(Repeat("x ?? ", 100000) + "1");
  REQUIRE(coalesce.items().size() == 1);
  CHECK(coalesce.items()[0].message == kTooDeep);
  // A run of signs folds into the literal: no deep tree at all.
  CHECK(Dump(Repeat("-", 100000) + "1") == "1");
  CHECK(Dump(Repeat("-", 99999) + "1") == "-1");
}

TEST_CASE("limits: source size", "[limits]") {
  std::string big = "# " + std::string(kMaxSourceBytes, 'x') + "\n";
  Diagnostics diags;
  CHECK(Program::Build({{"big.rules", big}}, {}, &diags) == nullptr);
  CHECK(diags.ToText() == "big.rules: error: file is 1048579 bytes; at most 1048576 are allowed\n");
  // At the limit it is read.
  std::string fits = "#" + std::string(kMaxSourceBytes - 2, 'x') + "\n";
  REQUIRE(fits.size() == kMaxSourceBytes);
  Diagnostics ok;
  CHECK(Program::Build({{"fits.rules", fits}}, {}, &ok) != nullptr);
  CHECK(ok.items().empty());
}

TEST_CASE("limits: elements of a list or map literal", "[limits]") {
  std::string at_limit = "[" + Repeat("1,", kMaxLiteralElements) + "]";
  CHECK(Compile("len(" + at_limit + ") == 10000").items().empty());
  Diagnostics list = Compile("len([" + Repeat("1,", kMaxLiteralElements + 1) + "]) > 0");
  REQUIRE(list.items().size() == 1);
  CHECK(list.items()[0].message == "list literal has 10001 elements; at most 10000 are allowed");
  CHECK(list.items()[0].column == 5);
  std::string entries;
  for (size_t i = 0; i <= kMaxLiteralElements; ++i) entries += "\"k" + std::to_string(i) + "\": 1,";
  Diagnostics map = Compile("len({" + entries + "}) > 0");
  REQUIRE(map.items().size() == 1);
  CHECK(map.items()[0].message == "map literal has 10001 elements; at most 10000 are allowed");
}

TEST_CASE("limits: bytes of a string literal", "[limits]") {
  std::string fits = "\"" + std::string(kMaxStringLiteralBytes, 'a') + "\"";
  CHECK(Compile("len(" + fits + ") > 0").items().empty());
  Diagnostics diags = Compile("len(\"" + std::string(kMaxStringLiteralBytes + 1, 'a') + "\") > 0");
  REQUIRE(diags.items().size() == 1);
  CHECK(diags.items()[0].message == "string literal of 65537 bytes; at most 65536 are allowed");
  CHECK(diags.items()[0].column == 5);
}

TEST_CASE("limits: NUL bytes and invalid UTF-8 in source", "[limits]") {
  Diagnostics nul;
  CHECK(Program::Build({{"nul.rules", std::string("const A = 1\nconst B = \"a\0b\"\n", 27)}}, {},
                       &nul) == nullptr);
  const std::string nul_line("  const B = \"a\0b\"\n", 18);
  CHECK(nul.ToText() ==
        "nul.rules:2:13: error: NUL byte in source text\n" + nul_line + "              ^\n");
  Diagnostics utf8;
  CHECK(Program::Build({{"bad.rules", "const A = \"caf\xE9\"\n"}}, {}, &utf8) == nullptr);
  REQUIRE(utf8.items().size() == 1);
  CHECK(utf8.items()[0].message == "invalid UTF-8 byte");
  CHECK(utf8.items()[0].line == 1);
  CHECK(utf8.items()[0].column == 15);
  Diagnostics expr = Compile("\"\xFF\"");
  REQUIRE(expr.items().size() == 1);
  CHECK(expr.items()[0].message == "invalid UTF-8 byte");
  Diagnostics types;
  TypeEnv env;
  CHECK_FALSE(ParseTypeDeclarations({"t.types", std::string("x: int\0", 7)}, &env, &types));
  CHECK(types.items().at(0).message == "NUL byte in source text");
}

// Constants for rules that build 810,000 strings of 1 KB: 900 elements, mapped over twice.
const std::string kBuilders = "const S = \"" + std::string(1000, 'x') +
                              "\"\nconst A = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n"
                              "const B = A + A + A + A + A + A + A + A + A + A\n"
                              "const C = B + B + B + B + B + B + B + B + B + B\n"
                              "const D = filter(C, x => x > 1)\n";

TEST_CASE("limits: the bytes one evaluation builds", "[limits]") {
  REQUIRE(kMaxEvalBytes == 64u << 20);
  Diagnostics diags;
  auto p = Program::Build(
      {{"big.rules", kBuilders + "rule big {\n  code X\n"
                                 "  require len(map(D, x => map(D, y => S + string(y)))) > 0\n"
                                 "  message \"m\"\n}\n"
                                 "rule small {\n  code X\n"
                                 "  require len(map(D, x => S + string(x))) == 900\n"
                                 "  message \"m\"\n}\n"}},
      {}, &diags);
  INFO(diags.ToText());
  REQUIRE(p);
  EvalContext ctx;
  // About 1 GB without the bound: an error at the rule instead, found in a moment.
  RuleResult r = p->Evaluate(0, {}, ctx);
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error ==
        "evaluation limit reached: an evaluation may build at most 64 MiB of strings, "
        "lists and maps");
  CHECK(r.error_pos.line == 6);
  CHECK(r.message == "could not be evaluated: " + r.error + " (at 6:6)");
  CHECK(p->Test(0, {}, ctx) == Outcome::kError);
  CHECK(p->Explain(0, {}, ctx).outcome == Outcome::kError);
  CHECK(ctx.arena().bytes_used() < 1024);  // What it built is gone.
  // The context is as good as new: the next evaluation runs, within the limit.
  CHECK(p->Evaluate(1, {}, ctx).outcome == Outcome::kPassed);
  CHECK(p->Test(1, {}, ctx) == Outcome::kPassed);

  // An expression (a guard in a workflow) alike.
  Diagnostics expr_diags;
  auto e = Expression::Compile({"<expr>", "len(map(D, x => map(D, y => S + string(y)))) > 0"}, {},
                               &expr_diags, p.get());
  INFO(expr_diags.ToText());
  REQUIRE(e);
  Value v = e->Evaluate({}, ctx);
  REQUIRE(v.is_error());
  CHECK(v.err->kind == ErrorKind::kLimit);
  CHECK(std::string(v.error_message()).rfind("evaluation limit reached: an evaluation may", 0) ==
        0);
  CHECK(e->Explain({}, ctx).outcome == Outcome::kError);
}

TEST_CASE("limits: the bytes constants take", "[limits]") {
  // One constant over the evaluation limit, and many under it that together pass the constants'.
  Diagnostics one;
  Program::Build({{"c.rules", kBuilders + "const E = map(D, x => map(D, y => S + string(y)))\n"}},
                 {}, &one);
  REQUIRE(one.error_count() == 1);
  CHECK(one.items()[0].message ==
        "constant 'E' could not be evaluated: evaluation limit reached: an evaluation may build at "
        "most 64 MiB of strings, lists and maps");
  std::string many = kBuilders + "const F = map(D, x => map(D, y => y))\n";  // 13 MB of values.
  for (int i = 0; i < 6; ++i)
    many += "const G" + std::to_string(i) + " = F + [[" + std::to_string(i) + "]]\n";
  Diagnostics total;
  Program::Build({{"c.rules", many}}, {}, &total);
  REQUIRE(total.error_count() >= 1);
  CHECK_THAT(total.items()[0].message,
             Catch::Contains("could not be evaluated: the constants of these files may take at "
                             "most 64 MiB together"));
}

}  // namespace
}  // namespace sellerflow::dsl
