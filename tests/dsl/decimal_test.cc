// Tests of exact decimal arithmetic: parsing, printing, rounding and overflow.
#include "dsl/decimal.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>
#include <string>

namespace sellerflow::dsl {
namespace {

Decimal D(const char* text) {
  Decimal d{0, 0};
  REQUIRE(ParseDecimal(text, &d) == DecimalStatus::kOk);
  return d;
}

TEST_CASE("decimal: 0.1 + 0.2 is exactly 0.3", "[decimal]") {
  Decimal sum{0, 0};
  REQUIRE(DecimalAdd(D("0.1"), D("0.2"), &sum) == DecimalStatus::kOk);
  CHECK(DecimalCompare(sum, D("0.3")) == 0);
  CHECK(DecimalToString(sum) == "0.3");
}

TEST_CASE("decimal: parse and print round-trip keeps the written scale", "[decimal]") {
  for (const char* text : {"0", "-1", "250000.00", "0.001", "-0.50", "123456789012345678",
                           "0.123456789012345678", "9.000"}) {
    CHECK(DecimalToString(D(text)) == text);
  }
  CHECK(D("1.50").scale == 2);
  CHECK(D("1.50").coefficient == 150);
  CHECK(DecimalPlaces(D("250000.00")) == 2);
  CHECK(DecimalToString(D("-0")) == "0");
  CHECK(DecimalToString(D("007.5")) == "7.5");
}

TEST_CASE("decimal: syntax errors", "[decimal]") {
  Decimal d{42, 0};
  for (const char* text :
       {"", "-", "+1", "1.", ".5", "1e5", "1,5", " 1", "1 ", "--1", "1.2.3", "abc"}) {
    INFO(text);
    CHECK(ParseDecimal(text, &d) == DecimalStatus::kSyntax);
  }
  CHECK(d.coefficient == 42);  // Left alone on failure.
}

TEST_CASE("decimal: too many digits", "[decimal]") {
  Decimal d{0, 0};
  CHECK(ParseDecimal("1234567890123456789", &d) == DecimalStatus::kTooManyDigits);    // 19 digits
  CHECK(ParseDecimal("0.1234567890123456789", &d) == DecimalStatus::kTooManyDigits);  // scale 19
  CHECK(ParseDecimal("1.00000000000000000", &d) == DecimalStatus::kOk);  // 18 significant
  CHECK(ParseDecimal("10.00000000000000000", &d) ==
        DecimalStatus::kTooManyDigits);  // 19 significant
  CHECK(ParseDecimal("0000000000000000000000001", &d) ==
        DecimalStatus::kOk);  // leading zeros are free
  CHECK(d.coefficient == 1);
}

TEST_CASE("decimal: sums and products keep scales", "[decimal]") {
  Decimal r{0, 0};
  REQUIRE(DecimalAdd(D("1.5"), D("2.25"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "3.75");
  REQUIRE(DecimalAdd(D("1.50"), D("1"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "2.50");
  REQUIRE(DecimalSub(D("1.00"), D("1.5"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "-0.50");
  REQUIRE(DecimalMul(D("1.5"), D("2.25"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "3.375");
  REQUIRE(DecimalMul(D("19.99"), D("3"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "59.97");
  REQUIRE(DecimalMul(D("-2"), D("0.5"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "-1.0");
  // Scale 2 + 17 is past the limit: a trailing zero goes first, exactly.
  REQUIRE(DecimalMul(D("0.10"), D("0.10000000000000000"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "0.010000000000000000");
}

TEST_CASE("decimal: product past the scale limit rounds half-even", "[decimal]") {
  Decimal r{0, 0};
  // 0.000000001 * 0.0000000005 = 5e-19, half of the last digit at scale 18: rounds to even 0.
  REQUIRE(DecimalMul(D("0.000000001"), D("0.0000000005"), &r) == DecimalStatus::kOk);
  CHECK(r.scale == 18);
  CHECK(r.coefficient == 0);
  // 15e-19 rounds to 2e-18 (1 is odd, so the half goes up).
  REQUIRE(DecimalMul(D("0.000000001"), D("0.0000000015"), &r) == DecimalStatus::kOk);
  CHECK(r.coefficient == 2);
}

TEST_CASE("decimal: overflow is detected, never wrapped", "[decimal]") {
  Decimal big = D("999999999999999999");  // 18 nines
  Decimal r{0, 0};
  REQUIRE(DecimalAdd(big, big, &r) == DecimalStatus::kOk);  // Still fits in int64.
  CHECK(DecimalToString(r) == "1999999999999999998");
  Decimal huge{std::numeric_limits<int64_t>::max(), 0};
  CHECK(DecimalAdd(huge, D("1"), &r) == DecimalStatus::kOverflow);
  CHECK(DecimalSub(Decimal{std::numeric_limits<int64_t>::min(), 0}, D("1"), &r) ==
        DecimalStatus::kOverflow);
  CHECK(DecimalMul(big, big, &r) == DecimalStatus::kOverflow);
  CHECK(DecimalMul(big, D("10"), &r) == DecimalStatus::kOverflow);
  // Rescaling 1 to scale 18 for the sum does not fit int64 beside a large coefficient.
  CHECK(DecimalAdd(D("100"), D("0.000000000000000001"), &r) == DecimalStatus::kOverflow);
  CHECK(DecimalNeg(Decimal{std::numeric_limits<int64_t>::min(), 0}, &r) ==
        DecimalStatus::kOverflow);
  REQUIRE(DecimalNeg(D("1.50"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "-1.50");
  // A wide product whose zeros can go still fits.
  REQUIRE(DecimalMul(D("1000000000.00"), D("1000000000.00"), &r) == DecimalStatus::kOk);
  CHECK(DecimalCompare(r, Decimal{1000000000000000000, 0}) == 0);
}

TEST_CASE("decimal: division", "[decimal]") {
  Decimal r{0, 0};
  CHECK(DecimalDiv(D("1"), D("0.00"), &r) == DecimalStatus::kDivisionByZero);
  REQUIRE(DecimalDiv(D("10.00"), D("4"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "2.50");
  REQUIRE(DecimalDiv(D("1"), D("8"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "0.125");
  REQUIRE(DecimalDiv(D("1"), D("3"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "0.333333333333333333");
  REQUIRE(DecimalDiv(D("2"), D("3"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "0.666666666666666667");
  REQUIRE(DecimalDiv(D("-2"), D("3"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "-0.666666666666666667");
  REQUIRE(DecimalDiv(D("100"), D("0.5"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "200");
  REQUIRE(DecimalDiv(D("-7.5"), D("-2.5"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "3");
}

TEST_CASE("decimal: division rounds half to even at the last place", "[decimal]") {
  Decimal r{0, 0};
  // 0.000000000000000005 / 2 = 2.5e-18 -> 2e-18 (even); 0.000000000000000015 / 2 = 7.5e-18 ->
  // 8e-18.
  REQUIRE(DecimalDiv(D("0.000000000000000005"), D("2"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "0.000000000000000002");
  REQUIRE(DecimalDiv(D("0.000000000000000015"), D("2"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "0.000000000000000008");
  REQUIRE(DecimalDiv(D("-0.000000000000000015"), D("2"), &r) == DecimalStatus::kOk);
  CHECK(DecimalToString(r) == "-0.000000000000000008");
  Decimal huge{std::numeric_limits<int64_t>::max(), 0};
  CHECK(DecimalDiv(huge, D("0.1"), &r) == DecimalStatus::kOverflow);
}

TEST_CASE("decimal: compare is exact across scales", "[decimal]") {
  CHECK(DecimalCompare(D("1.0"), D("1.000")) == 0);
  CHECK(DecimalCompare(D("1.01"), D("1.1")) == -1);
  CHECK(DecimalCompare(D("-1.01"), D("-1.1")) == 1);
  CHECK(DecimalCompare(D("-0.5"), D("0")) == -1);
  CHECK(DecimalCompare(D("0.00"), D("-0")) == 0);
  // Rescaling the max int64 to scale 18 would overflow 64 bits; the comparison must still be right.
  Decimal huge{std::numeric_limits<int64_t>::max(), 0};
  Decimal tiny_more{std::numeric_limits<int64_t>::max(), 18};  // ~9.22
  CHECK(DecimalCompare(huge, tiny_more) == 1);
  CHECK(DecimalCompare(tiny_more, huge) == -1);
  Decimal min{std::numeric_limits<int64_t>::min(), 0};
  CHECK(DecimalCompare(min, Decimal{std::numeric_limits<int64_t>::min(), 18}) == -1);
  CHECK(DecimalCompare(Decimal{922337203685477580, 17}, tiny_more) == -1);
  CHECK(DecimalCompare(Decimal{922337203685477581, 17}, tiny_more) == 1);
  CHECK(DecimalCompare(Decimal{9223372036854775, 15}, tiny_more) == -1);
}

TEST_CASE("decimal: conversion to int", "[decimal]") {
  CHECK(DecimalToInt(D("42.000")) == std::optional<int64_t>(42));
  CHECK(DecimalToInt(D("-7")) == std::optional<int64_t>(-7));
  CHECK_FALSE(DecimalToInt(D("42.5")).has_value());
  CHECK(DecimalToInt(DecimalFromInt(std::numeric_limits<int64_t>::min())) ==
        std::optional<int64_t>(std::numeric_limits<int64_t>::min()));
  CHECK(DecimalToString(DecimalFromInt(std::numeric_limits<int64_t>::min())) ==
        "-9223372036854775808");
}

}  // namespace
}  // namespace sellerflow::dsl
