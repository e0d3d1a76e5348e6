// Tests of run-time values: the arena, builders, equality, ordering and JSON/display text.
#include "dsl/value.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

namespace sellerflow::dsl {
namespace {

Value Dec(const char* text) {
  Decimal d{0, 0};
  REQUIRE(ParseDecimal(text, &d) == DecimalStatus::kOk);
  return Value::Dec(d);
}

static_assert(std::is_trivially_copyable_v<Value>, "values are handles");

TEST_CASE("value: arena allocates aligned memory and reuses its first block", "[value]") {
  Arena arena(256);
  for (int i = 0; i < 100; ++i) {
    void* p = arena.Allocate(static_cast<size_t>(i % 13) + 1, 8);
    CHECK(reinterpret_cast<uintptr_t>(p) % 8 == 0);
  }
  void* big = arena.Allocate(10000, 64);  // Bigger than a block, over-aligned.
  CHECK(reinterpret_cast<uintptr_t>(big) % 64 == 0);
  CHECK(arena.bytes_used() > 10000);
  arena.Reset();
  CHECK(arena.bytes_used() == 0);
  int64_t* xs = arena.AllocateArray<int64_t>(4);
  for (int i = 0; i < 4; ++i) xs[i] = i;
  CHECK(xs[3] == 3);
}

TEST_CASE("value: strings count code points once", "[value]") {
  Arena arena;
  Value s = StringValue(arena, "héllo 日本");
  CHECK(s.kind == ValueKind::kString);
  CHECK(s.str() == "héllo 日本");
  CHECK(s.s->code_points == 8);
  CHECK(StringValue(arena, "").str().empty());
}

TEST_CASE("value: errors and the absent slot", "[value]") {
  Arena arena;
  Value e = ErrorValue(arena, ErrorKind::kDivision, SourcePos{3, 7}, "division by zero");
  CHECK(e.is_error());
  CHECK_FALSE(e.is_absent());
  CHECK(e.error_message() == "division by zero");
  Value a = AbsentSlot();
  CHECK(a.is_absent());
  CHECK(a.error_message().empty());
  CHECK(a.err == AbsentSlot().err);  // Shared, not allocated.
  CHECK_FALSE(ValuesEqual(e, e));
  CHECK_FALSE(ValuesEqual(a, a));
}

TEST_CASE("value: maps sort their keys and keep the last duplicate", "[value]") {
  Arena arena;
  MapRep* m = MakeMap(arena, {{StringValue(arena, "b"), Value::Int(1)},
                              {StringValue(arena, "a"), Value::Int(2)},
                              {StringValue(arena, "b"), Value::Int(3)}});
  REQUIRE(m->size == 2);
  CHECK(m->entries[0].key.str() == "a");
  CHECK(m->entries[1].key.str() == "b");
  REQUIRE(MapFind(*m, "b") != nullptr);
  CHECK(MapFind(*m, "b")->i == 3);
  CHECK(MapFind(*m, "c") == nullptr);
  CHECK(ToJson(Value::MapOf(m)) == R"({"a":2,"b":3})");
  CHECK(ToJson(Value::MapOf(MakeMap(arena, {}))) == "{}");
}

TEST_CASE("value: equality across int and decimal", "[value]") {
  CHECK(ValuesEqual(Value::Int(1), Dec("1.00")));
  CHECK(ValuesEqual(Dec("1.0"), Value::Int(1)));
  CHECK_FALSE(ValuesEqual(Value::Int(1), Dec("1.01")));
  CHECK(ValuesEqual(Dec("0.30"), Dec("0.3")));
  CHECK_FALSE(ValuesEqual(Value::Int(1), Value::Bool(true)));
  CHECK(ValuesEqual(Value::Null(), Value::Null()));
  CHECK_FALSE(ValuesEqual(Value::Null(), Value::Int(0)));
  CHECK_FALSE(ValuesEqual(Value::Dur(Duration{1, 0}), Value::Dur(Duration{0, 30 * kMicrosPerDay})));
  Arena arena;
  ListRep* a = MakeList(arena, 2);
  a->items[0] = Value::Int(1);
  a->items[1] = StringValue(arena, "x");
  ListRep* b = MakeList(arena, 2);
  b->items[0] = Dec("1.0");
  b->items[1] = StringValue(arena, "x");
  CHECK(ValuesEqual(Value::List(a), Value::List(b)));
  b->items[1] = StringValue(arena, "y");
  CHECK_FALSE(ValuesEqual(Value::List(a), Value::List(b)));
  CHECK_FALSE(ValuesEqual(Value::List(a), Value::List(MakeList(arena, 1))));
}

TEST_CASE("value: objects compare by present fields", "[value]") {
  Arena arena;
  TypePtr t = Type::Object({{"a", Type::Int(), false}, {"b", Type::String(), true}});
  TypePtr u = Type::Object({{"b", Type::String(), true}, {"a", Type::Decimal(), false}});
  ObjectRep* x = MakeObject(arena, t.get());
  ObjectRep* y = MakeObject(arena, t.get());
  ObjectRep* z = MakeObject(arena, u.get());
  CHECK(x->slots[1].is_absent());
  x->slots[0] = Value::Int(5);
  y->slots[0] = Value::Int(5);
  z->slots[1] = Dec("5.0");
  CHECK(ValuesEqual(Value::Obj(x), Value::Obj(y)));
  CHECK(ValuesEqual(Value::Obj(x), Value::Obj(z)));
  y->slots[1] = StringValue(arena, "hi");
  CHECK_FALSE(ValuesEqual(Value::Obj(x), Value::Obj(y)));
  CHECK_FALSE(ValuesEqual(Value::Obj(y), Value::Obj(x)));
}

TEST_CASE("value: ordering", "[value]") {
  bool ok = false;
  CHECK(CompareValues(Value::Int(2), Dec("1.99"), &ok) == 1);
  CHECK(ok);
  CHECK(CompareValues(Dec("-0.5"), Value::Int(0), &ok) == -1);
  CHECK(CompareValues(Dec("2.0"), Value::Int(2), &ok) == 0);
  Arena arena;
  CHECK(CompareValues(StringValue(arena, "apple"), StringValue(arena, "banana"), &ok) == -1);
  CHECK(CompareValues(StringValue(arena, "é"), StringValue(arena, "z"), &ok) ==
        1);  // Code point order.
  CHECK(CompareValues(Value::Date(5), Value::Date(4), &ok) == 1);
  CHECK(CompareValues(Value::Timestamp(-1), Value::Timestamp(0), &ok) == -1);
  CHECK(CompareValues(Value::Dur(Duration{0, 1}), Value::Dur(Duration{0, 2}), &ok) == -1);
  CHECK(ok);
  CompareValues(Value::Dur(Duration{1, 0}), Value::Dur(Duration{0, 5}), &ok);
  CHECK_FALSE(ok);
  CompareValues(Value::Int(1), StringValue(arena, "1"), &ok);
  CHECK_FALSE(ok);
  CompareValues(Value::Date(1), Value::Timestamp(1), &ok);
  CHECK_FALSE(ok);
  CompareValues(ErrorValue(arena, ErrorKind::kType, {}, "x"),
                ErrorValue(arena, ErrorKind::kType, {}, "x"), &ok);
  CHECK_FALSE(ok);
  ListRep* a = MakeList(arena, 2);
  a->items[0] = Value::Int(1);
  a->items[1] = Value::Int(2);
  ListRep* b = MakeList(arena, 1);
  b->items[0] = Value::Int(1);
  CHECK(CompareValues(Value::List(a), Value::List(b), &ok) == 1);
  CHECK(ok);
}

TEST_CASE("value: JSON text of every kind", "[value]") {
  Arena arena;
  CHECK(ToJson(Value::Null()) == "null");
  CHECK(ToJson(Value::Bool(true)) == "true");
  CHECK(ToJson(Value::Bool(false)) == "false");
  CHECK(ToJson(Value::Int(-42)) == "-42");
  CHECK(ToJson(Value::Int(INT64_MIN)) == "-9223372036854775808");
  CHECK(ToJson(Dec("250000.00")) == "250000.00");
  CHECK(ToJson(Dec("-0.05")) == "-0.05");
  CHECK(ToJson(StringValue(arena, "say \"hi\"\n")) == R"("say \"hi\"\n")");
  int32_t day = 0;
  REQUIRE(ParseDate("2026-01-01", &day));
  CHECK(ToJson(Value::Date(day)) == R"("2026-01-01")");
  int64_t ts = 0;
  REQUIRE(ParseTimestamp("2026-01-31T12:00:00+01:00", &ts));
  CHECK(ToJson(Value::Timestamp(ts)) == R"("2026-01-31T11:00:00Z")");
  CHECK(ToJson(Value::Dur(Duration{0, 24 * 3600 * kMicrosPerSecond})) == R"("PT24H")");
  CHECK(ToJson(Value::Dur(Duration{12, 0})) == R"("P12M")");
  ListRep* l = MakeList(arena, 3);
  l->items[0] = Value::Int(1);
  l->items[1] = StringValue(arena, "two");
  // items[2] stays null.
  CHECK(ToJson(Value::List(l)) == R"([1,"two",null])");
  CHECK(ToJson(Value::List(MakeList(arena, 0))) == "[]");
  TypePtr t = Type::Object({{"Title", Type::String(), true},
                            {"Price", Type::Decimal(), false},
                            {"Tags", Type::List(Type::String()), true}});
  ObjectRep* o = MakeObject(arena, t.get());
  o->slots[1] = Dec("19.90");
  o->slots[0] = StringValue(arena, "Mug");
  CHECK(ToJson(Value::Obj(o)) ==
        R"({"Title":"Mug","Price":19.90})");  // Declared order; Tags absent.
  Value err = ErrorValue(arena, ErrorKind::kDivision, SourcePos{3, 15}, "division by zero");
  CHECK(ToJson(err) == R"({"error":"division by zero","line":3,"column":15})");
}

TEST_CASE("value: display shows strings bare", "[value]") {
  Arena arena;
  CHECK(ToDisplay(StringValue(arena, "hello \"you\"")) == "hello \"you\"");
  CHECK(ToDisplay(Dec("72.50")) == "72.50");
  CHECK(ToDisplay(Value::Date(0)) == "1970-01-01");
  CHECK(ToDisplay(Value::Dur({1, 0})) == "P1M");
  ListRep* l = MakeList(arena, 1);
  l->items[0] = StringValue(arena, "a");
  CHECK(ToDisplay(Value::List(l)) == R"(["a"])");
  std::string out = "x=";
  AppendDisplay(Value::Int(3), &out);
  CHECK(out == "x=3");
}

TEST_CASE("value: kind names", "[value]") {
  CHECK(std::string(ValueKindName(ValueKind::kDecimal)) == "decimal");
  CHECK(std::string(ValueKindName(ValueKind::kError)) == "error");
  CHECK(std::string(TypeKindName(TypeKind::kDyn)) == "dyn");
}

TEST_CASE("types: text, slots, equality and assignability", "[value]") {
  TypePtr t = Type::Object({{"ProductTitle", Type::String(), true},
                            {"Highlights", Type::List(Type::String()), true},
                            {"Price", Type::Decimal(), false},
                            {"Attrs", Type::Map(Type::Int()), false}});
  CHECK(t->ToString() ==
        "{ProductTitle?: string, Highlights?: list<string>, Price: decimal, Attrs: map<int>}");
  CHECK(t->FieldIndex("Price") == 2);
  CHECK(t->FieldIndex("price") == -1);
  CHECK(Type::Int() == Type::Int());  // Scalars are singletons.
  CHECK(Type::Scalar(TypeKind::kDate) == Type::Date());
  CHECK(Type::Equal(*Type::List(Type::Int()), *Type::List(Type::Int())));
  CHECK_FALSE(Type::Equal(*Type::List(Type::Int()), *Type::List(Type::Decimal())));
  CHECK(Type::Assignable(*Type::Dyn(), *Type::Int()));
  CHECK(Type::Assignable(*Type::List(Type::Int()), *Type::List(Type::Dyn())));
  CHECK_FALSE(Type::Assignable(*Type::String(), *Type::Int()));
  TypePtr required = Type::Object({{"a", Type::Int(), false}});
  TypePtr optional = Type::Object({{"a", Type::Int(), true}});
  CHECK(Type::Assignable(*required, *optional));
  CHECK_FALSE(Type::Assignable(*optional, *required));
  CHECK(t->IsNumeric() == false);
  CHECK(Type::Decimal()->IsNumeric());
}

}  // namespace
}  // namespace sellerflow::dsl
