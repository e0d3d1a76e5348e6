// Tests of explain: the exact Explanation::ToText() and ToJson() of failed and errored rules.
#include <catch2/catch.hpp>
#include <string>

#include "dsl/program.h"
#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

constexpr const char* kTypes =
    "details: {ProductTitle?: string, Highlights?: list<string>, Price: decimal, Count: int, "
    "Extra?: dyn}";

constexpr const char* kRules = R"(const MAX_TITLE = 72
rule title_length {
  code INVALID_INPUT
  when has(details.ProductTitle)
  require len(details.ProductTitle) <= MAX_TITLE
  message "too long"
}
rule price_and_count {
  code INVALID_INPUT
  require details.Price > 0 and details.Count >= 1
  message "bad"
}
rule title_or {
  code INVALID_INPUT
  require not has(details.ProductTitle) or len(details.ProductTitle) <= MAX_TITLE
  message "bad"
}
rule highlights {
  code INVALID_INPUT
  require all(details.Highlights ?? [], h => len(h) > 0)
  message "bad"
}
rule extra {
  code INVALID_INPUT
  when has(details.Extra)
  require details.Extra.b > 1
  message "bad"
}
)";

class ExplainFixture {
 public:
  explicit ExplainFixture(const std::string& json) {
    env_ = testing::Types(kTypes);
    program_ = Program::Build({{"p.rules", kRules}}, env_, &diags_);
    data_ = testing::Bind(env_, json);
  }
  Explanation Explain(const char* rule) {
    int i = program_->FindRule(rule);
    REQUIRE(i >= 0);
    return program_->Explain(static_cast<size_t>(i), data_->vars, ctx_);
  }

 private:
  TypeEnv env_;
  Diagnostics diags_;
  std::unique_ptr<Program> program_;
  std::unique_ptr<testing::Data> data_;
  EvalContext ctx_;
};

const std::string kLongTitle(80, 'x');

ExplainFixture& Failing() {
  static ExplainFixture f(R"({"details": {"ProductTitle": ")" + kLongTitle +
                          R"(", "Highlights": ["ok", "", "fine"], "Price": "-2.50", "Count": 0,
                          "Extra": {"a": 1}}})");
  return f;
}

TEST_CASE("explain: a failing comparison with its operands", "[explain]") {
  Explanation ex = Failing().Explain("title_length");
  CHECK(ex.outcome == Outcome::kFailed);
  CHECK(ex.ToText() ==
        "rule title_length: failed\n"
        "p.rules:5:11: len(details.ProductTitle) <= MAX_TITLE -> false "
        "[len(details.ProductTitle) = 80, MAX_TITLE = 72]\n");
  CHECK(
      ex.ToJson() ==
      R"js({"rule":"title_length","outcome":"failed","file":"p.rules","clauses":[)js"
      R"js({"text":"len(details.ProductTitle) <= MAX_TITLE","line":5,"column":11,"result":"false",)js"
      R"js("operands":[{"text":"len(details.ProductTitle)","value":80},{"text":"MAX_TITLE","value":72}]}]})js");
}

TEST_CASE("explain: an 'and' with two failing clauses shows both", "[explain]") {
  Explanation ex = Failing().Explain("price_and_count");
  CHECK(ex.ToText() ==
        "rule price_and_count: failed\n"
        "p.rules:10:11: details.Price > 0 -> false [details.Price = -2.50]\n"
        "p.rules:10:33: details.Count >= 1 -> false [details.Count = 0]\n");
  CHECK(
      ex.ToJson() ==
      R"js({"rule":"price_and_count","outcome":"failed","file":"p.rules","clauses":[)js"
      R"js({"text":"details.Price > 0","line":10,"column":11,"result":"false","operands":[{"text":"details.Price","value":-2.50}]},)js"
      R"js({"text":"details.Count >= 1","line":10,"column":33,"result":"false","operands":[{"text":"details.Count","value":0}]}]})js");
}

TEST_CASE("explain: an 'or' leaves out its 'not has()' guard", "[explain]") {
  Explanation ex = Failing().Explain("title_or");
  CHECK(ex.ToText() ==
        "rule title_or: failed\n"
        "p.rules:15:44: len(details.ProductTitle) <= MAX_TITLE -> false "
        "[len(details.ProductTitle) = 80, MAX_TITLE = 72]\n");
  CHECK(
      ex.ToJson() ==
      R"js({"rule":"title_or","outcome":"failed","file":"p.rules","clauses":[)js"
      R"js({"text":"len(details.ProductTitle) <= MAX_TITLE","line":15,"column":44,"result":"false",)js"
      R"js("operands":[{"text":"len(details.ProductTitle)","value":80},{"text":"MAX_TITLE","value":72}]}]})js");
}

TEST_CASE("explain: all() shows the element that failed", "[explain]") {
  Explanation ex = Failing().Explain("highlights");
  CHECK(ex.ToText() ==
        "rule highlights: failed\n"
        "p.rules:20:11: all(details.Highlights ?? [], h => len(h) > 0) -> false "
        "[details.Highlights ?? [] = [\"ok\",\"\",\"fine\"], h = \"\"]\n");
  CHECK(
      ex.ToJson() ==
      R"js({"rule":"highlights","outcome":"failed","file":"p.rules","clauses":[)js"
      R"js({"text":"all(details.Highlights ?? [], h => len(h) > 0)","line":20,"column":11,"result":"false",)js"
      R"js("operands":[{"text":"details.Highlights ?? []","value":["ok","","fine"]},{"text":"h","value":""}]}]})js");
}

TEST_CASE("explain: an error outcome points at the expression that failed", "[explain]") {
  Explanation ex = Failing().Explain("extra");
  CHECK(ex.outcome == Outcome::kError);
  CHECK(ex.ToText() ==
        "rule extra: could not be evaluated\n"
        "p.rules:26:11: details.Extra.b -> error: details.Extra.b is absent "
        "[details.Extra = {\"a\":1}]\n");
  CHECK(
      ex.ToJson() ==
      R"js({"rule":"extra","outcome":"could not be evaluated","file":"p.rules","clauses":[)js"
      R"js({"text":"details.Extra.b","line":26,"column":11,"result":"error: details.Extra.b is absent",)js"
      R"js("operands":[{"text":"details.Extra","value":{"a":1}}]}]})js");
}

TEST_CASE("explain: passed and not-applicable rules have no clauses", "[explain]") {
  ExplainFixture ok(R"({"details": {"ProductTitle": "short", "Price": "1", "Count": 1}})");
  Explanation passed = ok.Explain("title_length");
  CHECK(passed.ToText() == "rule title_length: passed\n");
  CHECK(passed.ToJson() ==
        R"js({"rule":"title_length","outcome":"passed","file":"p.rules","clauses":[]})js");
  CHECK(ok.Explain("extra").ToText() == "rule extra: not applicable\n");
  // A false guard: the `and` shows has() alone, not the read it guards.
  ExplainFixture absent(R"({"details": {"Price": "1", "Count": 0}})");
  CHECK(absent.Explain("price_and_count").ToText() ==
        "rule price_and_count: failed\n"
        "p.rules:10:33: details.Count >= 1 -> false [details.Count = 0]\n");
}

TEST_CASE("explain: expressions", "[explain]") {
  TypeEnv env = testing::Types("d: dyn");
  Diagnostics diags;
  auto e = Expression::Compile({"<expr>", "has(d.t) and len(d.t) > 3 or d.n > 9"}, env, &diags);
  REQUIRE(e);
  auto data = testing::Bind(env, R"({"d": {"n": 2}})");
  EvalContext ctx;
  Explanation ex = e->Explain(data->vars, ctx);
  CHECK(ex.ToText() ==
        "<expr>:1:1: has(d.t) -> false\n"
        "<expr>:1:30: d.n > 9 -> false [d.n = 2]\n");
  CHECK(
      ex.ToJson() ==
      R"js({"outcome":"failed","file":"<expr>","clauses":[)js"
      R"js({"text":"has(d.t)","line":1,"column":1,"result":"false","operands":[]},)js"
      R"js({"text":"d.n > 9","line":1,"column":30,"result":"false","operands":[{"text":"d.n","value":2}]}]})js");
}

}  // namespace
}  // namespace sellerflow::dsl
