// Tests of dates, timestamps and durations: parsing, printing and calendar arithmetic.
#include "dsl/time.h"

#include <catch2/catch.hpp>
#include <cstdint>
#include <limits>

namespace sellerflow::dsl {
namespace {

int32_t Day(const char* text) {
  int32_t d = 0;
  REQUIRE(ParseDate(text, &d));
  return d;
}

int64_t Ts(const char* text) {
  int64_t t = 0;
  REQUIRE(ParseTimestamp(text, &t));
  return t;
}

Duration Dur(const char* text) {
  Duration d{0, 0};
  REQUIRE(ParseDuration(text, &d));
  return d;
}

TEST_CASE("time: civil day numbers", "[time]") {
  CHECK(DaysFromCivil(1970, 1, 1) == 0);
  CHECK(DaysFromCivil(1969, 12, 31) == -1);
  CHECK(DaysFromCivil(2000, 3, 1) == 11017);
  CHECK(DaysFromCivil(1, 1, 1) == -719162);       // time.cc's lower bound
  CHECK(DaysFromCivil(9999, 12, 31) == 2932896);  // and upper bound
  for (int32_t d : {-719162, -1, 0, 59, 60, 11016, 11017, 20454, 2932896}) {
    int64_t y = 0;
    unsigned m = 0, day = 0;
    CivilFromDays(d, &y, &m, &day);
    CHECK(DaysFromCivil(y, m, day) == d);
  }
}

TEST_CASE("time: dates and leap years", "[time]") {
  CHECK(FormatDate(Day("2026-01-01")) == "2026-01-01");
  CHECK(FormatDate(Day("2024-02-29")) == "2024-02-29");
  CHECK(FormatDate(Day("2000-02-29")) == "2000-02-29");
  CHECK(FormatDate(Day("0001-01-01")) == "0001-01-01");
  CHECK(FormatDate(Day("9999-12-31")) == "9999-12-31");
  CHECK(Day("2026-03-01") - Day("2026-02-28") == 1);
  CHECK(Day("2024-03-01") - Day("2024-02-28") == 2);
  int32_t d = 7;
  for (const char* bad : {"2026-02-30", "2026-02-29", "1900-02-29", "2100-02-29", "2026-13-01",
                          "2026-00-10", "2026-04-31", "0000-01-01", "2026-1-01", "2026-01-01T",
                          "26-01-01", "", "2026/01/01", "10000-01-01"}) {
    INFO(bad);
    CHECK_FALSE(ParseDate(bad, &d));
  }
  CHECK(d == 7);
}

TEST_CASE("time: timestamps are stored in UTC", "[time]") {
  CHECK(Ts("1970-01-01T00:00:00Z") == 0);
  CHECK(FormatTimestamp(Ts("2026-01-31T12:00:00Z")) == "2026-01-31T12:00:00Z");
  CHECK(FormatTimestamp(Ts("2026-01-31T12:00:00+02:00")) == "2026-01-31T10:00:00Z");
  CHECK(FormatTimestamp(Ts("2026-01-31T23:30:00-05:00")) == "2026-02-01T04:30:00Z");
  CHECK(FormatTimestamp(Ts("2026-01-01T00:15:00+01:00")) == "2025-12-31T23:15:00Z");
  CHECK(Ts("2026-01-31t12:00:00z") == Ts("2026-01-31T12:00:00Z"));
  CHECK(Ts("2026-01-31 12:00:00Z") == Ts("2026-01-31T12:00:00Z"));
  CHECK(Ts("1969-12-31T23:59:59Z") == -kMicrosPerSecond);
}

TEST_CASE("time: timestamp fractions", "[time]") {
  CHECK(Ts("1970-01-01T00:00:00.5Z") == 500000);
  CHECK(Ts("1970-01-01T00:00:00.000001Z") == 1);
  CHECK(Ts("1970-01-01T00:00:00.123456789Z") == 123456);  // Past micros is dropped.
  CHECK(FormatTimestamp(Ts("2026-01-31T12:00:00.500Z")) == "2026-01-31T12:00:00.5Z");
  CHECK(FormatTimestamp(Ts("2026-01-31T12:00:00.000120Z")) == "2026-01-31T12:00:00.00012Z");
  CHECK(FormatTimestamp(-1) == "1969-12-31T23:59:59.999999Z");
}

TEST_CASE("time: bad timestamps", "[time]") {
  int64_t t = 99;
  for (const char* bad :
       {"2026-01-31", "2026-01-31T12:00:00", "2026-01-31T24:00:00Z", "2026-01-31T12:60:00Z",
        "2026-01-31T12:00:60Z", "2026-02-30T12:00:00Z", "2026-01-31T12:00Z",
        "2026-01-31T12:00:00.Z", "2026-01-31T12:00:00+0200", "2026-01-31T12:00:00+24:00",
        "2026-01-31T12:00:00ZZ", "0001-01-01T00:00:00+01:00", "2026-01-31T12:00:00.1234567890Z"}) {
    INFO(bad);
    CHECK_FALSE(ParseTimestamp(bad, &t));
  }
  CHECK(t == 99);
}

TEST_CASE("time: ISO 8601 durations", "[time]") {
  Duration d = Dur("P1Y2M10DT2H30M");
  CHECK(d.months == 14);
  CHECK(d.micros == 10 * kMicrosPerDay + (2 * 3600 + 30 * 60) * kMicrosPerSecond);
  CHECK(Dur("P2W").micros == 14 * kMicrosPerDay);
  CHECK(Dur("PT0.5S").micros == 500000);
  CHECK(Dur("-P1D").micros == -kMicrosPerDay);
  CHECK(FormatDuration(Dur("P12M")) == "P12M");
  CHECK(FormatDuration(Dur("P1Y")) == "P12M");
  CHECK(FormatDuration(Dur("PT24H")) == "PT24H");
  CHECK(FormatDuration(Dur("P1D")) == "PT24H");
  CHECK(FormatDuration(Dur("P1MT1H")) == "P1MT1H");
  CHECK(FormatDuration(Dur("PT90M")) == "PT1H30M");
  CHECK(FormatDuration(Dur("PT1.25S")) == "PT1.25S");
  CHECK(FormatDuration(Dur("-P1MT1H")) == "-P1MT1H");
  CHECK(FormatDuration(Duration{0, 0}) == "PT0S");
  CHECK(FormatDuration(Duration{1, -kMicrosPerSecond}) == "P1MT-1S");
  Duration out{5, 5};
  for (const char* bad : {"P", "PT", "P1DT", "1D", "P1H", "PT1D", "P1M1Y", "PT1S1M", "P1.5D",
                          "PT0.1234567S", "P-1D", "--P1D", "P1DD", "P99999999999999999999Y", ""}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad, &out));
  }
  CHECK(out.months == 5);
}

TEST_CASE("time: short durations", "[time]") {
  CHECK(Dur("24h").micros == 24 * 3600 * kMicrosPerSecond);
  CHECK(Dur("90m").micros == 90 * 60 * kMicrosPerSecond);
  CHECK(Dur("1h30m").micros == 90 * 60 * kMicrosPerSecond);
  CHECK(Dur("30s").micros == 30 * kMicrosPerSecond);
  CHECK(Dur("7d").micros == 7 * kMicrosPerDay);
  CHECK(Dur("7d").months == 0);
  CHECK(Dur("-2h").micros == -2 * 3600 * kMicrosPerSecond);
  Duration out{0, 0};
  for (const char* bad : {"h", "1", "1x", "30m1h", "1h1h", "1.5h", "1 h", "1H"}) {
    INFO(bad);
    CHECK_FALSE(ParseDuration(bad, &out));
  }
}

TEST_CASE("time: adding months clamps to the end of the month", "[time]") {
  int32_t d = 0;
  REQUIRE(AddDurationToDate(Day("2026-01-31"), Dur("P1M"), &d));
  CHECK(FormatDate(d) == "2026-02-28");
  REQUIRE(AddDurationToDate(Day("2024-01-31"), Dur("P1M"), &d));
  CHECK(FormatDate(d) == "2024-02-29");
  REQUIRE(AddDurationToDate(Day("2026-03-31"), Dur("-P1M"), &d));
  CHECK(FormatDate(d) == "2026-02-28");
  REQUIRE(AddDurationToDate(Day("2026-01-31"), Dur("P12M"), &d));
  CHECK(FormatDate(d) == "2027-01-31");
  // Months first, then days: Jan 31 + 1 month = Feb 28, + 1 day = Mar 1.
  REQUIRE(AddDurationToDate(Day("2026-01-31"), Dur("P1M1D"), &d));
  CHECK(FormatDate(d) == "2026-03-01");
  CHECK_FALSE(AddDurationToDate(Day("2026-01-31"), Dur("PT1H"), &d));  // Not whole days.
  CHECK_FALSE(AddDurationToDate(Day("9999-12-31"), Dur("P1D"), &d));
  CHECK_FALSE(AddDurationToDate(Day("0001-01-01"), Dur("-P1M"), &d));

  int64_t t = 0;
  REQUIRE(AddDurationToTimestamp(Ts("2026-01-31T10:00:00Z"), Dur("P1MT24H"), &t));
  CHECK(FormatTimestamp(t) == "2026-03-01T10:00:00Z");
  REQUIRE(AddDurationToTimestamp(Ts("2026-01-01T00:00:00Z"), Dur("-PT1S"), &t));
  CHECK(FormatTimestamp(t) == "2025-12-31T23:59:59Z");
  CHECK_FALSE(AddDurationToTimestamp(Ts("9999-12-31T23:59:59Z"), Dur("PT1S"), &t));
  CHECK_FALSE(AddDurationToTimestamp(0, Duration{0, std::numeric_limits<int64_t>::max()}, &t));
}

TEST_CASE("time: duration arithmetic and order", "[time]") {
  Duration r{0, 0};
  REQUIRE(AddDurations(Dur("P1M"), Dur("PT1H"), &r));
  CHECK(FormatDuration(r) == "P1MT1H");
  CHECK_FALSE(AddDurations(Duration{0, std::numeric_limits<int64_t>::max()}, Dur("PT1S"), &r));
  REQUIRE(NegateDuration(Dur("P1MT1H"), &r));
  CHECK(FormatDuration(r) == "-P1MT1H");
  CHECK_FALSE(NegateDuration(Duration{std::numeric_limits<int32_t>::min(), 0}, &r));

  int c = 99;
  REQUIRE(CompareDurations(Dur("24h"), Dur("P1D"), &c));
  CHECK(c == 0);
  REQUIRE(CompareDurations(Dur("PT1H"), Dur("PT90M"), &c));
  CHECK(c == -1);
  REQUIRE(CompareDurations(Dur("P2M"), Dur("P1M"), &c));
  CHECK(c == 1);
  REQUIRE(CompareDurations(Dur("P1MT1H"), Dur("P1M"), &c));
  CHECK(c == 1);
  REQUIRE(CompareDurations(Dur("PT0S"), Dur("P1M"), &c));
  CHECK(c == -1);
  c = 99;
  CHECK_FALSE(CompareDurations(Dur("P1M"), Dur("PT720H"), &c));  // A month has no fixed length.
  CHECK_FALSE(CompareDurations(Dur("P30D"), Dur("P1M"), &c));
  CHECK(c == 99);
}

}  // namespace
}  // namespace sellerflow::dsl
