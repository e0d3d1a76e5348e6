// Tests of reading JSON into typed values and of inferring a type from a JSON document.
#include "dsl/json.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace sellerflow::dsl {
namespace {

TypePtr DetailsType() {
  return Type::Object({{"ProductTitle", Type::String(), true},
                       {"ShortDescription", Type::String(), true},
                       {"Highlights", Type::List(Type::String()), true},
                       {"Price", Type::Decimal(), false},
                       {"Stock", Type::Int(), false},
                       {"LaunchDate", Type::Date(), true},
                       {"Attributes", Type::Map(Type::String()), true}});
}

struct Read {
  bool ok = false;
  Value value;
  std::vector<JsonIssue> issues;
};

Read ReadAs(Arena& arena, std::string_view json, const TypePtr& type,
            std::string_view root = "details") {
  Read r;
  r.ok = JsonToValue(json, type, root, arena, &r.value, &r.issues);
  return r;
}

std::string Issues(const std::vector<JsonIssue>& issues) {
  std::string out;
  for (const JsonIssue& i : issues) out += i.path + ": " + i.message + "\n";
  return out;
}

TEST_CASE("json: a well-typed object converts field by field", "[json]") {
  Arena arena;
  TypePtr t = DetailsType();
  Read r = ReadAs(arena, R"({"ProductTitle": "Mug", "Price": "250000.00", "Stock": 3,
      "Highlights": ["a", "b"], "LaunchDate": "2026-01-01", "Attributes": {"z": "1", "a": "2"},
      "ShortDescription": null})",
                  t);
  INFO(Issues(r.issues));
  REQUIRE(r.ok);
  REQUIRE(r.value.kind == ValueKind::kObject);
  CHECK(r.value.obj->type == t.get());
  CHECK(r.value.obj->slots[1].is_absent());  // Null optional reads as absent.
  CHECK(ToJson(r.value) ==
        R"({"ProductTitle":"Mug","Highlights":["a","b"],"Price":250000.00,"Stock":3,)"
        R"("LaunchDate":"2026-01-01","Attributes":{"a":"2","z":"1"}})");
}

TEST_CASE("json: every issue is collected with its path", "[json]") {
  Arena arena;
  Read r = ReadAs(arena, R"({"ProductTitel": "Mug", "Highlights": ["ok", 2, null], "Stock": "3",
      "LaunchDate": "2026-02-30"})",
                  DetailsType());
  CHECK_FALSE(r.ok);
  CHECK(r.value.kind == ValueKind::kNull);
  CHECK(Issues(r.issues) ==
        "details.ProductTitel: unknown field \"ProductTitel\"; allowed: ProductTitle, "
        "ShortDescription, Highlights, Price, Stock, LaunchDate, Attributes (did you mean "
        "\"ProductTitle\"?)\n"
        "details.Highlights[1]: expected string, found number\n"
        "details.Highlights[2]: expected string, found null\n"
        "details.Stock: expected int, found string\n"
        "details.LaunchDate: invalid date \"2026-02-30\" (expected YYYY-MM-DD)\n"
        "details.Price: required field \"Price\" is missing\n");
}

TEST_CASE("json: unknown key without a near name has no suggestion", "[json]") {
  Arena arena;
  Read r = ReadAs(arena, R"({"Price": 1, "Stock": 1, "Colour": "red"})", DetailsType());
  REQUIRE(r.issues.size() == 1);
  CHECK(r.issues[0].message.find("did you mean") == std::string::npos);
  CHECK(r.issues[0].path == "details.Colour");
}

TEST_CASE("json: required fields may not be null", "[json]") {
  Arena arena;
  Read r = ReadAs(arena, R"({"Price": null, "Stock": 1})", DetailsType());
  CHECK_FALSE(r.ok);
  CHECK(Issues(r.issues) == "details.Price: required field \"Price\" is null (expected decimal)\n");
}

TEST_CASE("json: decimals are read exactly from numbers and strings", "[json]") {
  Arena arena;
  Read a = ReadAs(arena, "0.1", Type::Decimal());
  REQUIRE(a.ok);
  CHECK(DecimalCompare(a.value.dec(), Decimal{1, 1}) == 0);
  Read b = ReadAs(arena, R"("19.90")", Type::Decimal());
  REQUIRE(b.ok);
  CHECK(ToJson(b.value) == "19.90");
  Read c = ReadAs(arena, "123456789012345678", Type::Decimal());
  REQUIRE(c.ok);
  CHECK(c.value.dec().coefficient == 123456789012345678);
  Read d = ReadAs(arena, "1.5e2", Type::Decimal());
  REQUIRE(d.ok);
  CHECK(ToJson(d.value) == "150");
  Read e = ReadAs(arena, "-25E-3", Type::Decimal());
  REQUIRE(e.ok);
  CHECK(ToJson(e.value) == "-0.025");
  Read f = ReadAs(arena, "7", Type::Decimal());
  REQUIRE(f.ok);
  CHECK(f.value.kind == ValueKind::kDecimal);
  Read g = ReadAs(arena, R"("abc")", Type::Decimal(), "price");
  CHECK(Issues(g.issues) == "price: expected decimal, found string \"abc\"\n");
}

TEST_CASE("json: numbers too big or too long are refused with a clear message", "[json]") {
  Arena arena;
  Read a = ReadAs(arena, "1e400", Type::Decimal(), "x");
  CHECK_FALSE(a.ok);
  CHECK(Issues(a.issues) == "x: number 1e400 is too large for a decimal (more than 18 digits)\n");
  Read b = ReadAs(arena, "1e-400", Type::Decimal(), "x");
  CHECK(Issues(b.issues) == "x: number 1e-400 has more than 18 decimal places\n");
  std::string digits(400, '7');
  Read c = ReadAs(arena, digits, Type::Decimal(), "x");
  CHECK(Issues(c.issues) ==
        "x: number 777777777777777777777777... (400 characters) has more than 18 significant "
        "digits\n");
  Read d = ReadAs(arena, digits, Type::Int(), "x");
  CHECK(Issues(d.issues) ==
        "x: integer 777777777777777777777777... (400 characters) is outside the 64-bit range\n");
  Read e = ReadAs(arena, "1e400", Type::Dyn(), "x");
  CHECK_FALSE(e.ok);
  REQUIRE(e.issues.size() == 1);
  Read f = ReadAs(arena, "1e99999999999999999999999", Type::Decimal(), "x");
  CHECK_FALSE(f.ok);
  Read g = ReadAs(arena, R"("12345678901234567890")", Type::Decimal(), "x");
  CHECK(Issues(g.issues) ==
        "x: decimal \"12345678901234567890\" has more than 18 significant digits or 18 decimal "
        "places\n");
}

TEST_CASE("json: integers", "[json]") {
  Arena arena;
  Read a = ReadAs(arena, "-9223372036854775808", Type::Int());
  REQUIRE(a.ok);
  CHECK(a.value.i == INT64_MIN);
  Read b = ReadAs(arena, "9223372036854775808", Type::Int(), "n");
  CHECK(Issues(b.issues) == "n: integer 9223372036854775808 is outside the 64-bit range\n");
  Read c = ReadAs(arena, "2.5", Type::Int(), "n");
  CHECK(Issues(c.issues) == "n: expected int, found number 2.5\n");
}

TEST_CASE("json: times, maps and paths of odd keys", "[json]") {
  Arena arena;
  TypePtr t = Type::Object({{"at", Type::Timestamp(), false},
                            {"within", Type::Duration(), false},
                            {"prices", Type::Map(Type::Decimal()), false}});
  Read r = ReadAs(arena, R"({"at":"2026-01-31T12:00:00+02:00","within":"PT24H",
      "prices":{"weird key":"x","ok":1,"b":2}})",
                  t, "");
  CHECK_FALSE(r.ok);
  CHECK(Issues(r.issues) == "prices[\"weird key\"]: expected decimal, found string \"x\"\n");
  Read s = ReadAs(arena,
                  R"({"at":"2026-01-31T12:00:00+02:00","within":"24h","prices":{"b":2,"a":1.50}})",
                  t, "");
  REQUIRE(s.ok);
  CHECK(ToJson(s.value) ==
        R"({"at":"2026-01-31T10:00:00Z","within":"PT24H","prices":{"a":1.50,"b":2}})");
  Read u = ReadAs(arena, R"({"at":"yesterday","within":"P1X","prices":{}})", t, "e");
  CHECK(u.issues.size() == 2);
  CHECK(u.issues[0].path == "e.at");
  CHECK(u.issues[1].path == "e.within");
  Read dup = ReadAs(arena, R"({"at":"2026-01-31T12:00:00Z","at":"2026-01-31T12:00:00Z"})", t, "e");
  CHECK_FALSE(dup.ok);
  CHECK(dup.issues[0].message == "duplicate field \"at\"");
}

TEST_CASE("json: dyn takes the JSON's own shape", "[json]") {
  Arena arena;
  Read r = ReadAs(arena, R"({"b":[1,2.50,"x",true,null],"a":{"n":-3}})", Type::Dyn());
  REQUIRE(r.ok);
  CHECK(r.value.kind == ValueKind::kMap);
  CHECK(ToJson(r.value) == R"({"a":{"n":-3},"b":[1,2.50,"x",true,null]})");
  const Value* b = MapFind(*r.value.map, "b");
  REQUIRE(b != nullptr);
  CHECK(b->list->items[0].kind == ValueKind::kInt);
  CHECK(b->list->items[1].kind == ValueKind::kDecimal);
}

TEST_CASE("json: malformed documents are issues at the root with an offset", "[json]") {
  Arena arena;
  Read a = ReadAs(arena, R"({"Price": 1,})", DetailsType());
  CHECK_FALSE(a.ok);
  REQUIRE(a.issues.size() == 1);
  CHECK(a.issues[0].path.empty());
  CHECK(a.issues[0].message.rfind("invalid JSON at byte ", 0) == 0);
  Read b = ReadAs(arena, R"({"Price": tru})", DetailsType());
  REQUIRE(b.issues.size() == 1);
  CHECK(b.issues[0].message == "invalid JSON at byte 10: invalid literal tru");
  Read c = ReadAs(arena, "[1, 2] [3]", Type::List(Type::Int()));
  REQUIRE(c.issues.size() == 1);
  CHECK(c.issues[0].message.rfind("invalid JSON at byte 7", 0) == 0);
  Read d = ReadAs(arena, "", Type::Int());
  CHECK(Issues(d.issues) == ": empty JSON document\n");
  Read e = ReadAs(arena, "\"tab\there\"", Type::String());
  CHECK(Issues(e.issues) == ": invalid JSON at byte 4: unescaped control character in a string\n");
  Read f = ReadAs(arena, "01", Type::Int());
  CHECK(Issues(f.issues) == ": invalid JSON at byte 0: invalid number 01\n");
  Read g = ReadAs(arena, R"({"a": "x)", Type::Dyn());
  CHECK_FALSE(g.ok);
  Read h = ReadAs(arena, "[1, 2", Type::List(Type::Int()));
  CHECK_FALSE(h.ok);
  CHECK(h.issues.size() == 1);
}

TEST_CASE("json: invalid UTF-8 is refused with its offset", "[json]") {
  Arena arena;
  Read r = ReadAs(arena, "{\"ProductTitle\": \"caf\xC3\"}", DetailsType());
  CHECK_FALSE(r.ok);
  CHECK(Issues(r.issues) == ": invalid UTF-8 at byte 21\n");
}

TEST_CASE("json: deep nesting is refused before parsing", "[json]") {
  Arena arena;
  std::string deep = std::string(10000, '[') + std::string(10000, ']');
  Read r = ReadAs(arena, deep, Type::Dyn());
  CHECK_FALSE(r.ok);
  CHECK(Issues(r.issues) == ": JSON nested deeper than 64 levels at byte 64\n");
  std::string objects;
  for (int i = 0; i < 10000; ++i) objects += "{\"a\":";
  std::vector<JsonIssue> issues;
  CHECK(InferJsonType(objects, &issues) == nullptr);
  CHECK(issues.size() == 1);
  // Brackets inside strings are not nesting.
  std::string in_string = "\"" + std::string(1000, '[') + "\"";
  Read s = ReadAs(arena, in_string, Type::String());
  CHECK(s.ok);
  std::string ok_depth = std::string(64, '[') + std::string(64, ']');
  CHECK(ReadAs(arena, ok_depth, Type::Dyn()).ok);
}

TEST_CASE("json: type inference", "[json]") {
  std::vector<JsonIssue> issues;
  TypePtr t = InferJsonType(R"({"sku":"A1","price":9.99,"qty":2,"tags":[],"items":[
      {"id":1,"name":"x","note":null},{"id":2,"extra":true},{"id":3.5,"name":"z"}]})",
                            &issues);
  REQUIRE(t != nullptr);
  CHECK(t->ToString() ==
        "{sku: string, price: decimal, qty: int, tags: list<dyn>, "
        "items: list<{id: decimal, name?: string, note?: null, extra?: bool}>}");
  CHECK(InferJsonType("[1, \"a\"]", &issues)->ToString() == "list<dyn>");
  CHECK(InferJsonType("[1, 2]", &issues)->ToString() == "list<int>");
  CHECK(InferJsonType("[[1], [2.5], []]", &issues)->ToString() == "list<list<decimal>>");
  CHECK(InferJsonType("null", &issues)->ToString() == "null");
  CHECK(InferJsonType("[{\"a\":null},{\"a\":\"s\"}]", &issues)->ToString() == "list<{a?: string}>");
  CHECK(InferJsonType("123456789012345678901234", &issues)->ToString() == "decimal");
  CHECK(issues.empty());
  CHECK(InferJsonType("{\"a\":", &issues) == nullptr);
  CHECK(issues.size() == 1);
}

TEST_CASE("json: an inferred type reads its own document", "[json]") {
  const char* doc = R"([{"id":1,"name":"x"},{"id":2}])";
  std::vector<JsonIssue> issues;
  TypePtr t = InferJsonType(doc, &issues);
  REQUIRE(t != nullptr);
  Arena arena;
  Read r = ReadAs(arena, doc, t);
  INFO(Issues(r.issues));
  REQUIRE(r.ok);
  CHECK(ToJson(r.value) == R"([{"id":1,"name":"x"},{"id":2}])");
}

}  // namespace
}  // namespace sellerflow::dsl
