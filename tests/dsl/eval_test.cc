// Tests of evaluation semantics: errors as values, absence, and/or absorption, numbers, strings,
// lists, time, macros and their step limit, and rule outcomes through Program.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dsl/limits.h"
#include "dsl/program.h"
#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

using testing::Eval;

struct Case {
  const char* expr;
  const char* value;  // ToJson of the result.
};

void CheckCases(const std::vector<Case>& cases, const std::string& types = "",
                const std::string& json = "") {
  for (const Case& c : cases) {
    INFO("expr: " << c.expr);
    CHECK(Eval(c.expr, types, json) == c.value);
  }
}

// dyn data: absence is only found out when the expression runs.
constexpr const char* kDynTypes = "d: dyn";
constexpr const char* kDynData =
    R"({"d": {"a": {"b": {"c": 1}}, "n": 5, "s": "str", "list": [1, 2, 3], "tags": {"k": "v"}}})";

TEST_CASE("eval: absent fields are error values with their position", "[eval]") {
  CheckCases(
      {
          {"d.Missing", R"js({"error":"d.Missing is absent","line":1,"column":1})js"},
          {"d.a.x.y", R"js({"error":"d.a.x is absent","line":1,"column":1})js"},
          {"1 + d.Missing", R"js({"error":"d.Missing is absent","line":1,"column":5})js"},
          {"d.tags[\"x\"]", R"js({"error":"d.tags[\"x\"] is absent","line":1,"column":1})js"},
          {"d.list[3]",
           R"js({"error":"d.list: index 3 is out of range (the list has 3 elements)","line":1,"column":1})js"},
          {"d.s.x", R"js({"error":"a string has no field 'x'","line":1,"column":1})js"},
          {"d.Missing ?? 7", "7"},
          {"d.a.x.y ?? 7", "7"},
          {"d.tags[\"x\"] ?? \"none\"", R"("none")"},
          {"d.n ?? 7", "5"},
          {"null ?? 3", "3"},
          {"d.s.x ?? 3", R"js({"error":"a string has no field 'x'","line":1,"column":1})js"},
      },
      kDynTypes, kDynData);
}

TEST_CASE("eval: has() on nested and absent paths", "[eval]") {
  CheckCases(
      {
          {"has(d.a.b.c)", "true"},
          {"has(d.a.b.x)", "false"},
          {"has(d.x.y.z)", "false"},
          {"has(d.tags[\"k\"])", "true"},
          {"has(d.tags[\"x\"])", "false"},
          {"has(d.list[2])", "true"},
          {"has(d.list[3])", "false"},
          {"has(d.list[-1])", "false"},
          {"has(d.n.x)", "false"},
      },
      kDynTypes, kDynData);
  const char* types = "x: {T?: string, D?: {W?: int}}";
  CHECK(Eval("has(x.T)", types, R"({"x": {"T": "t"}})") == "true");
  CHECK(Eval("has(x.T)", types, R"({"x": {}})") == "false");
  CHECK(Eval("has(x.T)", types, R"({"x": {"T": null}})") == "false");
  CHECK(Eval("has(x.D.W)", types, R"({"x": {}})") == "false");
  CHECK(Eval("has(x.D.W)", types, R"({"x": {"D": {}}})") == "false");
  CHECK(Eval("has(x.D.W)", types, R"({"x": {"D": {"W": 0}}})") == "true");
  CHECK(Eval("x.D.W ?? -1", types, R"({"x": {"D": {}}})") == "-1");
}

TEST_CASE("eval: and/or absorb an error when the other side decides, both ways", "[eval]") {
  const char* absent = R"js({"error":"d.Missing is absent","line":1,"column":1})js";
  CheckCases(
      {
          {"d.Missing > 1 and false", "false"},
          {"false and d.Missing > 1", "false"},
          {"d.Missing > 1 or true", "true"},
          {"true or d.Missing > 1", "true"},
          {"d.Missing > 1 and true", absent},
          {"d.Missing > 1 or false", absent},
          {"true and d.Missing > 1", R"js({"error":"d.Missing is absent","line":1,"column":10})js"},
          {"d.Missing > 1 and d.n.x > 1", absent},  // Both errors: the left one wins.
          {"d.n > 1 and d.s",
           R"js({"error":"'and' needs bools, not a string","line":1,"column":1})js"},
          {"not d.Missing", R"js({"error":"d.Missing is absent","line":1,"column":5})js"},
          {"not (d.Missing > 1)", R"js({"error":"d.Missing is absent","line":1,"column":6})js"},
          {"not d.n", R"js({"error":"'not' needs a bool, not an int","line":1,"column":1})js"},
          {"all([1, 2], x => d.Missing > 0 or x > 0)", "true"},
          {"all([1, 2], x => x > 1 and d.Missing > 0)", "false"},
          {"any([1, 2], x => x > 1 or d.Missing > 0)", "true"},
      },
      kDynTypes, kDynData);
}

TEST_CASE("eval: exact decimals and money", "[eval]") {
  CheckCases({
      {"0.1 + 0.2 == 0.3", "true"},
      {"0.1 + 0.2", "0.3"},
      {"1.50 == 1.5", "true"},
      {"1.50", "1.50"},
      {"2.50 * 2", "5.00"},
      {"10.00 / 4", "2.50"},
      {"7.0 / 2", "3.5"},
      {"1 / 3.0", "0.333333333333333333"},
      {"19.99 - 20", "-0.01"},
      {"-(1.5)", "-1.5"},
      {"sum([19.99, 0.01, 5.00])", "25.00"},
      {"sum([1.10, 2.205])", "3.305"},
      {"sum([1, 2.5])", "3.5"},
      {"1.5 / 0", R"js({"error":"division by zero","line":1,"column":1})js"},
  });
  const char* types = "order: {Lines: list<{Price: decimal, Qty: int}>}";
  const char* data =
      R"({"order": {"Lines": [{"Price": "19.99", "Qty": 3}, {"Price": 0.01, "Qty": 1}]}})";
  CHECK(Eval("sum(map(order.Lines, l => l.Price * l.Qty))", types, data) == "59.98");
  CHECK(Eval("sum(map(order.Lines, l => l.Price * l.Qty)) == 59.98", types, data) == "true");
}

TEST_CASE("eval: integer overflow and division are error values", "[eval]") {
  CheckCases({
      {"9223372036854775807 + 1",
       R"js({"error":"integer overflow in 9223372036854775807 + 1","line":1,"column":1})js"},
      {"-9223372036854775808 - 1",
       R"js({"error":"integer overflow in -9223372036854775808 - 1","line":1,"column":1})js"},
      {"4611686018427387904 * 2",
       R"js({"error":"integer overflow in 4611686018427387904 * 2","line":1,"column":1})js"},
      {"-(-9223372036854775808)",
       R"js({"error":"integer overflow in 0 - -9223372036854775808","line":1,"column":1})js"},
      {"-9223372036854775808 / -1",
       R"js({"error":"integer overflow in -9223372036854775808 / -1","line":1,"column":1})js"},
      {"-9223372036854775808 % -1", "0"},
      {"-9223372036854775808", "-9223372036854775808"},
      {"1 / 0", R"js({"error":"division by zero","line":1,"column":1})js"},
      {"1 % 0", R"js({"error":"division by zero","line":1,"column":1})js"},
      {"7 / 2", "3"},
      {"-7 / 2", "-3"},
      {"-7 % 3", "-1"},
      {"(1 / 0) ?? 5", R"js({"error":"division by zero","line":1,"column":1})js"},  // Not absent.
  });
}

TEST_CASE("eval: strings", "[eval]") {
  CheckCases({
      {"len(\"\")", "0"},
      {"len(\"abc\")", "3"},
      {"len(\"é\")", "1"},
      {"len(\"e\\u0301\")", "2"},  // Code points, not grapheme clusters.
      {"len(\"日本\")", "2"},
      {"len(\"😀\")", "1"},
      {"len(\"\\u{1F600}x\")", "2"},
      {"matches(\"abc123\", \"[0-9]+\")", "true"},     // A partial match...
      {"matches(\"abc123\", \"^[0-9]+$\")", "false"},  // ...unless anchored.
      {"matches(\"123\", \"^[0-9]+$\")", "true"},
      {"matches(\"\", \"x*\")", "true"},
      {"starts_with(\"hello\", \"he\")", "true"},
      {"starts_with(\"he\", \"hello\")", "false"},
      {"starts_with(\"hello\", \"\")", "true"},
      {"ends_with(\"hello\", \"lo\")", "true"},
      {"ends_with(\"lo\", \"hello\")", "false"},
      {"contains(\"hello\", \"ell\")", "true"},
      {"contains(\"hello\", \"xyz\")", "false"},
      {"lower(\"ÉCOLE Abc\")", "\"école abc\""},
      {"upper(\"straße\")", "\"STRAßE\""},
      {"trim(\"  a b \\t\\n\")", "\"a b\""},
      {"join([\"a\", \"b\", \"c\"], \", \")", "\"a, b, c\""},
      {"join([\"a\", \"b\"])", "\"ab\""},
      {"join([], \"-\")", "\"\""},
      {"len(join([\"ab\", \"é\"], \"--\"))", "5"},
      {"\"a\" + \"b\"", "\"ab\""},
      {"\"b\" > \"a\"", "true"},
  });
}

TEST_CASE("eval: lists, maps and membership", "[eval]") {
  CheckCases({
      {"contains([1, 2, 3], 2)", "true"},
      {"contains([1, 2, 3], 2.0)", "true"},
      {"contains([\"a\"], \"b\")", "false"},
      {"sum([1, 2, 3])", "6"},
      {"sum([])", "0"},
      {"count([1, 2, 3, 4], x => x % 2 == 0)", "2"},
      {"count([], x => x > 0)", "0"},
      {"unique([1, 2, 3])", "true"},
      {"unique([1, 2, 1.0])", "false"},
      {"unique([])", "true"},
      {"min([3, 1, 2])", "1"},
      {"max([3, 1, 2])", "3"},
      {"min(3, 1, 2)", "1"},
      {"max(3, 1, 2)", "3"},
      {"min(1, 2.5)", "1"},
      {"max([\"b\", \"a\"])", "\"b\""},
      {"min([])", R"js({"error":"min() of an empty list","line":1,"column":1})js"},
      {"max([])", R"js({"error":"max() of an empty list","line":1,"column":1})js"},
      {"\"b\" in [\"a\", \"b\"]", "true"},
      {"\"c\" in [\"a\", \"b\"]", "false"},
      {"\"c\" not in [\"a\", \"b\"]", "true"},
      {"2 in [1, 2.0]", "true"},
      {"\"a\" in {\"a\": 1}", "true"},
      {"\"b\" in {\"a\": 1}", "false"},
      {"\"b\" not in {\"a\": 1}", "true"},
      {"filter([1, 2, 3, 4], x => x > 2)", "[3,4]"},
      {"filter([1, 2], x => x > 5)", "[]"},
      {"map([1, 2, 3], x => x * 2)", "[2,4,6]"},
      {"map(filter([1, 2, 3], x => x > 1), y => y * 10)", "[20,30]"},
      {"all([1, 2], x => x > 0)", "true"},
      {"all([], x => x > 0)", "true"},
      {"any([1, 2], x => x > 1)", "true"},
      {"any([], x => x > 0)", "false"},
      {"keys({\"b\": 1, \"a\": 2})", "[\"a\",\"b\"]"},
      {"keys({})", "[]"},
      {"distinct([3, 1, 3, 2, 1])", "[3,1,2]"},
      {"distinct([])", "[]"},
      {"distinct([\"a\", \"a\"])", "[\"a\"]"},
      {"[1] + [2, 3]", "[1,2,3]"},
      {"[1, 2][1]", "2"},
      {"[1, 2][-1]",
       R"js({"error":"[1, 2]: index -1 is out of range (the list has 2 elements)","line":1,"column":1})js"},
      {"{\"a\": [1, 2]}[\"a\"][0]", "1"},
      {"[1, [2, 3]] == [1, [2, 3]]", "true"},
      {"{\"a\": 1} == {\"a\": 1.0}", "true"},
  });
  CHECK(Eval("\"n\" in x", "x: {n?: int}", R"({"x": {}})") == "false");
  CHECK(Eval("\"n\" in x", "x: {n?: int}", R"({"x": {"n": 1}})") == "true");
  CHECK(Eval("keys(x)", "x: {n?: int, m: int}", R"({"x": {"m": 1}})") == "[\"m\"]");
  CHECK(Eval("len(x)", "x: {n?: int, m: int}", R"({"x": {"m": 1}})") == "1");
  // merge(a, b): a with each field b has; fields b lacks keep a's value.
  CHECK(Eval("merge(x, y)", "x: {n?: int, m: int, s: string}, y: {n?: int, s?: string}",
             R"({"x": {"m": 1, "s": "a"}, "y": {"n": 2}})") == R"({"n":2,"m":1,"s":"a"})");
  CHECK(Eval("merge(x, y).s", "x: {m: int, s: string}, y: {s?: string}",
             R"({"x": {"m": 1, "s": "a"}, "y": {"s": "b"}})") == "\"b\"");
}

// `len(x) > 0` and its kin compile to an emptiness test that stops at the first element or present
// field; each must agree with the same comparison written the other way round (counted in full).
TEST_CASE("eval: len() compared with 0 or 1 agrees with the full count", "[eval]") {
  const char* types = "x: {A?: string, B?: list<int>, C?: int}, d: dyn";
  const char* data =
      R"({"x": {"C": 3}, "d": {"s": "", "t": "é", "l": [], "m": [1], "e": {}, "f": {"k": 1}, "n": 5}})";
  const std::vector<std::pair<const char*, const char*>> forms = {
      {"len(@) > 0", "0 < len(@)"},   {"len(@) != 0", "0 != len(@)"},
      {"len(@) >= 1", "1 <= len(@)"}, {"len(@) == 0", "0 == len(@)"},
      {"len(@) <= 0", "0 >= len(@)"}, {"len(@) < 1", "1 > len(@)"}};
  for (const char* operand : {"x", "d.s", "d.t", "d.l", "d.m", "d.e", "d.f", "d.n", "d.Missing"}) {
    for (const auto& [fast, slow] : forms) {
      std::string a = fast, b = slow;
      a.replace(a.find('@'), 1, operand);
      b.replace(b.find('@'), 1, operand);
      INFO(a << " vs " << b);
      const std::string fast_value = Eval(a, types, data);
      const std::string slow_value = Eval(b, types, data);
      if (fast_value.find("error") == std::string::npos) {
        CHECK(fast_value == slow_value);
      } else {
        // Same message; the position is the len() call's in both.
        CHECK(fast_value.substr(0, fast_value.find("\"line\"")) ==
              slow_value.substr(0, slow_value.find("\"line\"")));
      }
    }
  }
  CHECK(Eval("len(x) > 0", types, R"({"x": {}, "d": 1})") == "false");
  CHECK(Eval("len(d.n) > 0", types, data) ==
        R"js({"error":"len() cannot take an int","line":1,"column":1})js");
  CHECK(Eval("len(d.Missing) == 0", types, data) ==
        R"js({"error":"d.Missing is absent","line":1,"column":5})js");
}

TEST_CASE("eval: dates, timestamps and durations", "[eval]") {
  CheckCases({
      {"date(\"2026-01-31\")", "\"2026-01-31\""},
      {"date(\"2026-02-30\")",
       R"js({"error":"not a date: \"2026-02-30\" (expected YYYY-MM-DD)","line":1,"column":1})js"},
      {"date(\"2026-01-31\") + duration(\"P1M\")", "\"2026-02-28\""},  // Clamped to month end.
      {"date(\"2024-01-31\") + duration(\"P1M\")", "\"2024-02-29\""},  // Leap year.
      {"date(\"2026-03-31\") - duration(\"P1M\")", "\"2026-02-28\""},
      {"date(\"2026-01-31\") + duration(\"P1M\") + duration(\"P1M\")", "\"2026-03-28\""},
      {"date(\"2026-01-31\") + duration(\"P2M\")", "\"2026-03-31\""},
      {"date(\"2026-12-31\") + duration(\"P1D\")", "\"2027-01-01\""},
      {"date(\"2026-03-01\") - date(\"2026-02-01\")", "\"PT672H\""},
      {"date(\"2026-03-01\") - date(\"2026-02-01\") == duration(\"28d\")", "true"},
      {"date(\"2026-01-01\") - date(\"2026-01-02\")", "\"-PT24H\""},
      {"date(\"2026-01-01\") < date(\"2026-01-02\")", "true"},
      {"date(\"2026-01-01\") + duration(\"PT1H\")",
       R"js({"error":"a date moves by whole days or months; PT1H has hours: use timestamp(date) first","line":1,"column":1})js"},
      {"timestamp(\"2026-01-31T12:00:00Z\")", "\"2026-01-31T12:00:00Z\""},
      {"timestamp(\"2026-01-31T12:00:00+02:00\")", "\"2026-01-31T10:00:00Z\""},
      {"timestamp(\"2026-01-31T12:00:00Z\") + duration(\"PT24H\")", "\"2026-02-01T12:00:00Z\""},
      {"timestamp(\"2026-01-31T12:00:00Z\") + duration(\"P1M\")", "\"2026-02-28T12:00:00Z\""},
      {"timestamp(\"2026-01-02T00:00:00Z\") - timestamp(\"2026-01-01T12:00:00Z\")", "\"PT12H\""},
      {"timestamp(\"nope\")",
       R"js({"error":"not a timestamp: \"nope\" (expected RFC 3339, such as 2026-01-31T12:00:00Z)","line":1,"column":1})js"},
      {"date(timestamp(\"2026-01-31T23:59:59Z\"))", "\"2026-01-31\""},
      {"date(timestamp(\"1969-12-31T23:00:00Z\"))", "\"1969-12-31\""},
      {"timestamp(date(\"2026-01-31\"))", "\"2026-01-31T00:00:00Z\""},
      {"duration(\"1h30m\")", "\"PT1H30M\""},
      {"duration(\"P1Y\")", "\"P12M\""},
      {"-duration(\"P1D\")", "\"-PT24H\""},
      {"duration(\"PT1H\") + duration(\"PT30M\")", "\"PT1H30M\""},
      {"duration(\"P1D\") < duration(\"PT25H\")", "true"},
      {"duration(\"P1M\") < duration(\"P30D\")",
       R"js({"error":"cannot order P1M and PT720H: months have no fixed length","line":1,"column":1})js"},
      {"duration(\"x\")",
       R"js({"error":"not a duration: \"x\" (expected ISO 8601 such as P12M or PT24H, or 24h, 30d)","line":1,"column":1})js"},
  });
}

TEST_CASE("eval: comparisons across int and decimal", "[eval]") {
  CheckCases({
      {"1 == 1.0", "true"},
      {"1 != 1.00", "false"},
      {"2 < 2.5", "true"},
      {"2.5 <= 2", "false"},
      {"3 >= 3.0", "true"},
      {"9007199254740993 > 9007199254740992.5", "true"},  // Past a double's precision.
      {"[1, 2] == [1.0, 2.0]", "true"},
  });
}

TEST_CASE("eval: conditionals and conversions", "[eval]") {
  CheckCases({
      {"true ? 1 : 2", "1"},
      {"false ? 1 : 2", "2"},
      {"true ? 1 : 2.5", "1"},
      {"false ? \"a\" : \"b\"", "\"b\""},
      {"string(1.50)", "\"1.50\""},
      {"string(42)", "\"42\""},
      {"string(\"s\")", "\"s\""},
      {"string(true)", "\"true\""},
      {"string([1, \"a\"])", R"("[1,\"a\"]")"},
      {"int(\"42\")", "42"},
      {"int(\"-7\")", "-7"},
      {"int(\"4.2\")", R"js({"error":"not an integer: \"4.2\"","line":1,"column":1})js"},
      {"int(\"x\")", R"js({"error":"not an integer: \"x\"","line":1,"column":1})js"},
      {"int(4.0)", "4"},
      {"int(4.5)", R"js({"error":"int() needs a whole number, not 4.5","line":1,"column":1})js"},
      {"int(7)", "7"},
      {"decimal(\"1.50\")", "1.50"},
      {"decimal(3)", "3"},
      {"decimal(\"abc\")", R"js({"error":"not a decimal: \"abc\"","line":1,"column":1})js"},
      {"places(1.50)", "2"},
      {"places(1.5)", "1"},
      {"places(3)", "0"},
  });
  // A dyn condition that is not a bool.
  CHECK(Eval("d.n ? 1 : 2", kDynTypes, kDynData) ==
        R"js({"error":"'?' needs a bool, not an int","line":1,"column":1})js");
}

TEST_CASE("eval: the macro step limit bounds nested macros over big lists", "[eval]") {
  // 1,001 x 1,001 visits pass kMaxMacroSteps: the result is a limit error, quickly.
  std::string big = "[";
  for (int i = 0; i < 1001; ++i) big += std::to_string(i) + ",";
  big += "]";
  REQUIRE(1001u + 1001u * 1001u > kMaxMacroSteps);
  std::string nested = "all(" + big + ", x => all(" + big + ", y => x + y >= 0))";
  // The inner all() runs out: the error is at its position.
  std::string column = std::to_string(nested.find("all(", 1) + 1);
  CHECK(Eval(nested) ==
        "{\"error\":\"evaluation limit reached: macros may visit at most 1000000 elements per "
        "evaluation\",\"line\":1,\"column\":" +
            column + "}");
  // Below the limit the same shape evaluates.
  std::string small = "[";
  for (int i = 0; i < 999; ++i) small += std::to_string(i) + ",";
  small += "]";
  CHECK(Eval("all(" + small + ", x => all(" + small + ", y => x + y >= 0))") == "true");
  // The budget is per evaluation: each evaluation of an expression starts afresh.
  TypeEnv env;
  Diagnostics diags;
  auto e = Expression::Compile(
      {"<expr>", "count(" + small + ", x => count(" + small + ", y => true) > 0)"}, env, &diags);
  REQUIRE(e);
  EvalContext ctx;
  Bindings none;
  CHECK(ToJson(e->Evaluate(none, ctx)) == "999");
  CHECK(ToJson(e->Evaluate(none, ctx)) == "999");
}

// ---- Rules through Program ----------------------------------------------------------------------

constexpr const char* kRuleTypes =
    "details: {ProductTitle?: string, Price: decimal, Tags?: list<string>, Extra?: dyn}";

constexpr const char* kRules = R"(const MAX_TITLE = 10
rule title_length {
  code INVALID_INPUT
  when has(details.ProductTitle)
  require len(details.ProductTitle) <= MAX_TITLE
  message "ProductTitle has {len(details.ProductTitle)} characters; at most {MAX_TITLE} are allowed."
}
rule price_positive {
  code INVALID_PRICE
  require details.Price > 0
  message "Price {details.Price} must be positive; extra: {details.Extra ?? "none"}"
}
rule extra_is_number {
  code INVALID_INPUT
  when has(details.Extra)
  require details.Extra.n > 0
  message "n is {details.Extra.n}"
}
)";

struct RuleRun {
  explicit RuleRun(const std::string& json) {
    env = testing::Types(kRuleTypes);
    program = Program::Build({{"p.rules", kRules}}, env, &diags);
    data = testing::Bind(env, json);
  }
  RuleResult Evaluate(const char* rule) {
    int i = program->FindRule(rule);
    REQUIRE(i >= 0);
    return program->Evaluate(static_cast<size_t>(i), data->vars, ctx);
  }
  Outcome Test(const char* rule) {
    return program->Test(static_cast<size_t>(program->FindRule(rule)), data->vars, ctx);
  }
  TypeEnv env;
  Diagnostics diags;
  std::unique_ptr<Program> program;
  std::unique_ptr<testing::Data> data;
  EvalContext ctx;
};

TEST_CASE("eval: rule outcomes and filled-in messages", "[eval]") {
  RuleRun ok(R"({"details": {"ProductTitle": "Short", "Price": "9.99"}})");
  REQUIRE(ok.program);
  CHECK(ok.diags.ToText() == "");
  CHECK(ok.Test("title_length") == Outcome::kPassed);
  CHECK(ok.Test("price_positive") == Outcome::kPassed);
  CHECK(ok.Test("extra_is_number") == Outcome::kNotApplicable);
  RuleResult r = ok.Evaluate("title_length");
  CHECK(r.outcome == Outcome::kPassed);
  CHECK(r.message == "");
  CHECK(ok.Evaluate("extra_is_number").outcome == Outcome::kNotApplicable);

  RuleRun bad(
      R"({"details": {"ProductTitle": "Far too long, é", "Price": "-1.50", "Extra": {"n": 0}}})");
  CHECK(bad.Test("title_length") == Outcome::kFailed);
  r = bad.Evaluate("title_length");
  CHECK(r.outcome == Outcome::kFailed);
  CHECK(r.message == "ProductTitle has 15 characters; at most 10 are allowed.");
  r = bad.Evaluate("price_positive");
  CHECK(r.outcome == Outcome::kFailed);
  CHECK(r.message == "Price -1.50 must be positive; extra: {\"n\":0}");
  CHECK(bad.Evaluate("extra_is_number").message == "n is 0");
}

TEST_CASE("eval: a rule that cannot be evaluated", "[eval]") {
  RuleRun run(R"({"details": {"Price": "1", "Extra": {"m": 1}}})");
  CHECK(run.Test("extra_is_number") == Outcome::kError);
  RuleResult r = run.Evaluate("extra_is_number");
  CHECK(r.outcome == Outcome::kError);
  CHECK(r.error == "details.Extra.n is absent");
  CHECK(r.error_pos.line == 16);
  CHECK(r.error_pos.column == 11);
  CHECK(r.message == "could not be evaluated: details.Extra.n is absent (at 16:11)");
  CHECK(std::string(OutcomeName(r.outcome)) == "could not be evaluated");
  // A `when` that errs is an error too.
  RuleRun when_error(R"({"details": {"Price": "1", "Extra": "text"}})");
  CHECK(when_error.Evaluate("extra_is_number").message ==
        "could not be evaluated: a string has no field 'n' (at 16:11)");
  // A dyn value in a message hole shows as JSON.
  RuleRun hole(R"({"details": {"Price": "0", "Extra": [1]}})");
  CHECK(hole.Evaluate("price_positive").message == "Price 0 must be positive; extra: [1]");
}

// string() and message holes show dates,
// timestamps and durations bare, as message holes show them (regression: they had JSON quotes).
TEST_CASE("eval: string() of a date has no JSON quotes", "[eval]") {
  CHECK(Eval("string(date(\"2026-01-01\"))") == "\"2026-01-01\"");
  CHECK(Eval("string(duration(\"P1D\"))") == "\"PT24H\"");
  CHECK(Eval("\"due \" + string(date(\"2026-01-01\"))") == "\"due 2026-01-01\"");
}

}  // namespace
}  // namespace sellerflow::dsl
