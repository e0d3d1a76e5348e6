// Tests of the type checker: inferred types, int/decimal promotion, Unify, and presence facts.
#include "dsl/check.h"

#include <catch2/catch.hpp>
#include <string>

#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

using testing::TypeOf;

constexpr const char* kTypes =
    "d: {Title?: string, Count: int, Price: decimal, Tags: list<string>, Attrs: map<string>, "
    "Dims?: {Width?: int, Unit: string}, When: date, At: timestamp, For: duration, Any: dyn}";

TEST_CASE("check: types of literals and operators", "[check]") {
  CHECK(TypeOf("1") == "int");
  CHECK(TypeOf("1.5") == "decimal");
  CHECK(TypeOf("\"s\"") == "string");
  CHECK(TypeOf("true") == "bool");
  CHECK(TypeOf("null") == "null");
  CHECK(TypeOf("[]") == "list<dyn>");
  CHECK(TypeOf("[1, 2]") == "list<int>");
  CHECK(TypeOf("{\"a\": \"b\"}") == "map<string>");
  CHECK(TypeOf("{}") == "map<dyn>");
  CHECK(TypeOf("1 + 2") == "int");
  CHECK(TypeOf("7 % 2") == "int");
  CHECK(TypeOf("1 < 2") == "bool");
  CHECK(TypeOf("\"a\" + \"b\"") == "string");
  CHECK(TypeOf("[1] + [2]") == "list<int>");
  CHECK(TypeOf("not true") == "bool");
  CHECK(TypeOf("-1.5") == "decimal");
}

TEST_CASE("check: int and decimal promote to decimal", "[check]") {
  CHECK(TypeOf("1 + 2.5") == "decimal");
  CHECK(TypeOf("2.5 * 2") == "decimal");
  CHECK(TypeOf("1 / 2.0") == "decimal");
  CHECK(TypeOf("d.Count + d.Price", kTypes) == "decimal");
  CHECK(TypeOf("[1, 2.5]") == "list<decimal>");
  CHECK(TypeOf("true ? 1 : 2.5") == "decimal");
  CHECK(TypeOf("d.Dims.Width ?? 0.5", kTypes) == "decimal");
  CHECK(TypeOf("min(1, 2.5)") == "decimal");
  CHECK(TypeOf("sum([1, 2])") == "int");
  CHECK(TypeOf("sum(d.Tags)", kTypes) ==
        "<expr>:1:5: error: sum() cannot take a list<string> here\n"
        "  sum(d.Tags)\n"
        "      ^\n"
        "  hint: write sum(list<int | decimal>)\n");
  CHECK(TypeOf("7.5 % 2") ==
        "<expr>:1:5: error: '%' cannot take decimal and int\n"
        "  7.5 % 2\n"
        "      ^\n"
        "  hint: '%' takes two ints\n");
}

TEST_CASE("check: dates, timestamps and durations", "[check]") {
  CHECK(TypeOf("d.When + d.For", kTypes) == "date");
  CHECK(TypeOf("d.For + d.At", kTypes) == "timestamp");
  CHECK(TypeOf("d.When - d.When", kTypes) == "duration");
  CHECK(TypeOf("d.At - d.For", kTypes) == "timestamp");
  CHECK(TypeOf("d.For + d.For", kTypes) == "duration");
  CHECK(TypeOf("-d.For", kTypes) == "duration");
  CHECK(TypeOf("d.When < d.When", kTypes) == "bool");
  CHECK(TypeOf("date(\"2026-01-01\")") == "date");
  CHECK(TypeOf("timestamp(d.When)", kTypes) == "timestamp");
  CHECK(TypeOf("duration(\"P1M\")") == "duration");
}

TEST_CASE("check: fields, indexes, maps and dyn", "[check]") {
  CHECK(TypeOf("d.Tags[0]", kTypes) == "string");
  CHECK(TypeOf("d.Attrs[\"k\"]", kTypes) == "string");
  CHECK(TypeOf("d.Attrs.k", kTypes) == "string");
  CHECK(TypeOf("d.Any.x.y", kTypes) == "dyn");
  CHECK(TypeOf("d.Any + 1", kTypes) == "dyn");
  CHECK(TypeOf("d.Any[3]", kTypes) == "dyn");
  CHECK(TypeOf("d.Any == 1", kTypes) == "bool");
  CHECK(TypeOf("[1, d.Any]", kTypes) == "list<dyn>");
  CHECK(TypeOf("[1, \"a\"]") == "list<dyn>");
  CHECK(TypeOf("d.Dims ?? null", kTypes) == "{Width?: int, Unit: string}");
  CHECK(TypeOf("d.Tags[\"x\"]", kTypes) ==
        "<expr>:1:8: error: a list index must be an int, not string\n"
        "  d.Tags[\"x\"]\n"
        "         ^\n");
}

TEST_CASE("check: built-in functions and macros", "[check]") {
  CHECK(TypeOf("len(d.Tags)", kTypes) == "int");
  CHECK(TypeOf("filter(d.Tags, t => len(t) > 1)", kTypes) == "list<string>");
  CHECK(TypeOf("map(d.Tags, t => len(t))", kTypes) == "list<int>");
  CHECK(TypeOf("count(d.Tags, t => t == \"a\")", kTypes) == "int");
  CHECK(TypeOf("all(d.Tags, t => t != \"\")", kTypes) == "bool");
  CHECK(TypeOf("keys(d.Attrs)", kTypes) == "list<string>");
  CHECK(TypeOf("distinct(d.Tags)", kTypes) == "list<string>");
  CHECK(TypeOf("has(d.Dims) ? merge(d.Dims, d.Dims) : null", kTypes) ==
        "{Width?: int, Unit: string}");
  CHECK(TypeOf("merge(d, {\"Count\": 1})", kTypes).find("merge() cannot take") !=
        std::string::npos);
  CHECK(TypeOf("has(d.Dims) and merge(d, d.Dims) == d", kTypes)
            .find("merge() cannot put field 'Width'") != std::string::npos);
  CHECK(TypeOf("max(d.Tags)", kTypes) == "string");
  CHECK(TypeOf("join(d.Tags, \",\")", kTypes) == "string");
  CHECK(TypeOf("string(d.Count)", kTypes) == "string");
  CHECK(TypeOf("int(\"3\")") == "int");
  CHECK(TypeOf("decimal(3)") == "decimal");
  CHECK(TypeOf("places(d.Price)", kTypes) == "int");
  CHECK(TypeOf("map(d.Tags, t => t)[0]", kTypes) == "string");
  CHECK(TypeOf("filter([1, 2], x => x)") ==
        "<expr>:1:21: error: the condition of filter() must be a bool, not int\n"
        "  filter([1, 2], x => x)\n"
        "                      ^\n");
  CHECK(TypeOf("len(x => x)") ==
        "<expr>:1:5: error: len() takes no 'x => ...' argument\n"
        "  len(x => x)\n"
        "      ^\n");
}

TEST_CASE("check: Unify", "[check]") {
  CHECK(Unify(Type::Int(), Type::Int())->ToString() == "int");
  CHECK(Unify(Type::Int(), Type::Decimal())->ToString() == "decimal");
  CHECK(Unify(Type::Decimal(), Type::Int())->ToString() == "decimal");
  CHECK(Unify(Type::Null(), Type::String())->ToString() == "string");
  CHECK(Unify(Type::String(), Type::Null())->ToString() == "string");
  CHECK(Unify(Type::Dyn(), Type::String())->ToString() == "dyn");
  CHECK(Unify(Type::Bool(), Type::Dyn())->ToString() == "dyn");
  CHECK(Unify(Type::List(Type::Int()), Type::List(Type::Decimal()))->ToString() == "list<decimal>");
  CHECK(Unify(Type::Map(Type::Int()), Type::Map(Type::Dyn()))->ToString() == "map<dyn>");
  CHECK(Unify(Type::String(), Type::Int()) == nullptr);
  CHECK(Unify(Type::List(Type::String()), Type::List(Type::Int())) == nullptr);
  CHECK(Unify(Type::List(Type::Int()), Type::Map(Type::Int())) == nullptr);
  CHECK(Unify(nullptr, Type::Int()) == nullptr);
  CHECK(Comparable(*Type::Int(), *Type::Decimal()));
  CHECK(Comparable(*Type::Null(), *Type::Null()));
  CHECK_FALSE(Comparable(*Type::Null(), *Type::String()));
  CHECK_FALSE(Comparable(*Type::List(Type::Int()), *Type::List(Type::String())));
}

// The facts a condition proves, from a checker over kTypes.
struct FactsOf {
  explicit FactsOf(const std::string& text) : source{"<expr>", text} {
    uint32_t n = 0;
    expr = ParseExpression(source, &diags, &n);
  }
  Facts True() {
    Checker c(
        source, env, &constants, [](size_t) { return true; }, &diags);
    return c.WhenTrue(*expr);
  }
  Facts False() {
    Checker c(
        source, env, &constants, [](size_t) { return true; }, &diags);
    return c.WhenFalse(*expr);
  }
  Source source;
  Diagnostics diags;
  ExprPtr expr;
  TypeEnv env;
  std::vector<ConstantInfo> constants;
};

TEST_CASE("check: facts that has() establishes", "[check]") {
  using F = Facts;
  CHECK(FactsOf("has(d.Dims.Width)").True() == F{"d.Dims.Width", "d.Dims"});
  CHECK(FactsOf("has(d.Dims.Width)").False() == F{});
  CHECK(FactsOf("not has(d.Title)").False() == F{"d.Title"});
  CHECK(FactsOf("not has(d.Title)").True() == F{});
  CHECK(FactsOf("has(d.a) and has(d.b)").True() == F{"d.a", "d.b"});
  CHECK(FactsOf("has(d.a) or has(d.b)").True() == F{});
  CHECK(FactsOf("has(d.a) or has(d.a) and has(d.b)").True() == F{"d.a"});
  CHECK(FactsOf("not has(d.a) or not has(d.b)").False() == F{"d.a", "d.b"});
  CHECK(FactsOf("not (has(d.a) and has(d.b))").False() == F{"d.a", "d.b"});
  CHECK(FactsOf("has(d.m[\"k\"])").True() == F{"d.m[\"k\"]", "d.m"});
  CHECK(FactsOf("has(d.l[2])").True() == F{"d.l[2]", "d.l"});
  CHECK(FactsOf("len(d.a) > 0").True() == F{});
}

TEST_CASE("check: presence facts flow into the guarded expression", "[check]") {
  CHECK(TypeOf("has(d.Title) and len(d.Title) > 0", kTypes) == "bool");
  CHECK(TypeOf("not has(d.Title) or d.Title == \"x\"", kTypes) == "bool");
  CHECK(TypeOf("has(d.Title) ? d.Title : \"\"", kTypes) == "string");
  CHECK(TypeOf("not has(d.Title) ? \"\" : d.Title", kTypes) == "string");
  CHECK(TypeOf("has(d.Dims.Width) and d.Dims.Width > 0 and d.Dims.Unit == \"cm\"", kTypes) ==
        "bool");
  CHECK(TypeOf("has(d.Dims) and d.Dims.Unit == \"cm\"", kTypes) == "bool");
  // has(d.Dims) says nothing about Width.
  CHECK(TypeOf("has(d.Dims) and d.Dims.Width > 0", kTypes) ==
        "<expr>:1:24: error: d.Dims.Width may be absent\n"
        "  has(d.Dims) and d.Dims.Width > 0\n"
        "                         ^\n"
        "  hint: guard it with has(d.Dims.Width) or give a default with d.Dims.Width ?? ...\n");
  // A fact from one side of `or` does not hold on the other.
  CHECK(TypeOf("has(d.Title) or d.Title == \"\"", kTypes) ==
        "<expr>:1:19: error: d.Title may be absent\n"
        "  has(d.Title) or d.Title == \"\"\n"
        "                    ^\n"
        "  hint: guard it with has(d.Title) or give a default with d.Title ?? ...\n");
}

}  // namespace
}  // namespace sellerflow::dsl
