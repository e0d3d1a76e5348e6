// Tests of programs of several rules files: one namespace, FindRule, constants, warnings.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dsl/program.h"
#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

constexpr const char* kTypes = "details: {Category: string, Country: string, Price: decimal}";

const std::vector<Source> kFiles = {{"limits.rules", R"(# Shared tables.
const ALLOWED = ["books", "music", "toys"]
const MAX_PRICE = {"books": 100, "music": 50.5, "toys": 20}
const EU = ["DE", "FR", "IT"]
const SPARE = 1
)"},
                                    {"category.rules", R"(rule category_allowed {
  code INVALID_CATEGORY
  require details.Category in ALLOWED
  message "{details.Category} is not one of {join(ALLOWED, ", ")}"
}
rule price_cap {
  code PRICE_TOO_HIGH
  when details.Category in MAX_PRICE
  require details.Price <= MAX_PRICE[details.Category]
  message "{details.Price} is over {MAX_PRICE[details.Category]}"
}
)"},
                                    {"country.rules", R"(const EU_AND_UK = EU + ["GB"]
rule country {
  code INVALID_COUNTRY
  require details.Country in EU_AND_UK
  message "ships to {len(EU_AND_UK)} countries"
}
)"}};

std::unique_ptr<Program> BuildAll(Diagnostics* diags) {
  return Program::Build(kFiles, testing::Types(kTypes), diags);
}

TEST_CASE("rules: several files share one namespace", "[rules]") {
  Diagnostics diags;
  auto program = BuildAll(&diags);
  REQUIRE(program);
  CHECK(program->rule_count() == 3);
  CHECK(program->FindRule("category_allowed") == 0);
  CHECK(program->FindRule("price_cap") == 1);
  CHECK(program->FindRule("country") == 2);
  CHECK(program->FindRule("nope") == -1);
  CHECK(program->FindRule("") == -1);
  const RuleInfo& info = program->rule(1);
  CHECK(info.name == "price_cap");
  CHECK(info.code == "PRICE_TOO_HIGH");
  CHECK(info.file == "category.rules");
  CHECK(info.pos.line == 6);
  CHECK(info.pos.column == 6);
  CHECK(program->ConstantNames() ==
        std::vector<std::string>{"ALLOWED", "MAX_PRICE", "EU", "SPARE", "EU_AND_UK"});
  CHECK(program->env().count("details") == 1);
}

TEST_CASE("rules: an unused constant is a warning", "[rules]") {
  Diagnostics diags;
  auto program = BuildAll(&diags);
  REQUIRE(program);
  CHECK(diags.error_count() == 0);
  CHECK(diags.warning_count() == 1);
  CHECK(diags.ToText() ==
        "limits.rules:5:7: warning: constant 'SPARE' is never used\n"
        "  const SPARE = 1\n"
        "        ^\n");
}

TEST_CASE("rules: constants of lists and maps, evaluated", "[rules]") {
  Diagnostics diags;
  auto program = BuildAll(&diags);
  REQUIRE(program);
  TypeEnv env = testing::Types(kTypes);
  auto eval = [&](const char* json) {
    auto data = testing::Bind(env, json);
    EvalContext ctx;
    std::vector<std::string> out;
    for (size_t i = 0; i < program->rule_count(); ++i) {
      RuleResult r = program->Evaluate(i, data->vars, ctx);
      out.push_back(std::string(OutcomeName(r.outcome)) + (r.message.empty() ? "" : ": ") +
                    r.message);
    }
    return out;
  };
  CHECK(eval(R"({"details": {"Category": "music", "Country": "GB", "Price": "50.50"}})") ==
        std::vector<std::string>{"passed", "passed", "passed"});
  CHECK(eval(R"({"details": {"Category": "music", "Country": "US", "Price": "50.51"}})") ==
        std::vector<std::string>{"passed", "failed: 50.51 is over 50.5",
                                 "failed: ships to 4 countries"});
  CHECK(eval(R"({"details": {"Category": "food", "Country": "DE", "Price": "1"}})") ==
        std::vector<std::string>{"failed: food is not one of books, music, toys", "not applicable",
                                 "passed"});
}

TEST_CASE("rules: an expression may use a program's constants", "[rules]") {
  Diagnostics diags;
  auto program = BuildAll(&diags);
  REQUIRE(program);
  TypeEnv env;
  auto e = Expression::Compile({"<expr>", "len(EU_AND_UK) + MAX_PRICE[\"toys\"]"}, env, &diags,
                               program.get());
  REQUIRE(e);
  CHECK(e->type()->ToString() == "decimal");
  EvalContext ctx;
  CHECK(ToJson(e->Evaluate({}, ctx)) == "24");
}

TEST_CASE("rules: a constant may use constants defined later or in other files", "[rules]") {
  Diagnostics diags;
  auto program = Program::Build(
      {{"a.rules", "const A = B * 2\nrule r {\n  code X\n  require A == 6\n  message \"{A}\"\n}\n"},
       {"b.rules", "const B = C + 1\nconst C = 2\n"}},
      {}, &diags);
  REQUIRE(program);
  CHECK(diags.ToText() == "");
  EvalContext ctx;
  CHECK(program->Test(0, {}, ctx) == Outcome::kPassed);
}

TEST_CASE("rules: a broken file keeps the others' names known", "[rules]") {
  Diagnostics diags;
  auto program =
      Program::Build({{"a.rules", "const LIMIT = (1 +\n"},
                      {"b.rules", "rule r {\n  code X\n  require LIMIT > 0\n  message \"m\"\n}\n"}},
                     {}, &diags);
  CHECK(program == nullptr);
  // One syntax error; no 'unknown name' for the broken constant.
  CHECK(diags.error_count() == 1);
  CHECK(diags.ToText() == "a.rules:2:1: error: expected an expression, found end of input\n");
}

TEST_CASE("rules: an empty program", "[rules]") {
  Diagnostics diags;
  auto program = Program::Build({{"empty.rules", "# nothing yet\n"}}, {}, &diags);
  REQUIRE(program);
  CHECK(program->rule_count() == 0);
  CHECK(program->ConstantNames().empty());
  CHECK(diags.items().empty());
}

TEST_CASE("rules: BuildShared builds once per files, variables and options", "[rules]") {
  const std::vector<Source> files = {
      {"shared.rules",
       "rule short {\n  code X\n  require len(details.T) <= 3\n  message \"m\"\n}\n"}};
  TypeEnv strings = {{"details", Type::Object({{"T", Type::String(), false}})}};
  TypeEnv lists = {{"details", Type::Object({{"T", Type::List(Type::Int()), false}})}};
  Diagnostics a, b, c;
  auto first = Program::BuildShared(files, strings, &a);
  auto again = Program::BuildShared(files, strings, &b);
  auto other = Program::BuildShared(files, lists, &c);
  REQUIRE(first);
  CHECK(first == again);
  CHECK(first != other);
  CHECK(other->env().at("details")->ToString() != first->env().at("details")->ToString());
  // A broken build is remembered with its diagnostics, which every caller receives.
  const std::vector<Source> broken = {
      {"broken.rules", "rule r {\n  code X\n  require nope\n  message \"m\"\n}\n"}};
  Diagnostics d1, d2;
  CHECK(Program::BuildShared(broken, {}, &d1) == nullptr);
  CHECK(Program::BuildShared(broken, {}, &d2) == nullptr);
  CHECK(d1.error_count() == 1);
  CHECK(d1.ToText() == d2.ToText());
}

}  // namespace
}  // namespace sellerflow::dsl
