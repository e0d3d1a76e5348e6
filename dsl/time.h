// Dates, timestamps and durations: proleptic Gregorian calendar, UTC only, no wall clock.
#ifndef SELLERFLOW_DSL_TIME_H_
#define SELLERFLOW_DSL_TIME_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sellerflow::dsl {

// A span of time with a calendar part and an exact part: "P1M" is one month whatever its length,
// "PT24H" is 86,400 seconds. Adding one to a date or timestamp adds the months first (clamping the
// day to the end of the month), then the micros.
struct Duration {
  int32_t months;
  int64_t micros;
};

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

// Each parser returns false on bad syntax or an impossible value (2026-02-30), leaving *out alone.
// "YYYY-MM-DD", years 0001..9999.
bool ParseDate(std::string_view text, int32_t* days_since_epoch);
// RFC 3339: "YYYY-MM-DDTHH:MM:SS[.ffffff](Z|+HH:MM|-HH:MM)"; 't'/'z' and a space for 'T' accepted;
// stored in UTC.
bool ParseTimestamp(std::string_view text, int64_t* micros_since_epoch);
// ISO 8601 durations ("P1Y2M10DT2H30M", "P2W", "PT0.5S", "-P1D") and the short form of
// hours/minutes/seconds/days ("24h", "90m", "1h30m", "30s", "7d").
bool ParseDuration(std::string_view text, Duration* out);

std::string FormatDate(int32_t days);         // "2026-01-31"
std::string FormatTimestamp(int64_t micros);  // "2026-01-31T12:00:00Z", fraction only when non-zero
std::string FormatDuration(Duration d);       // ISO 8601: "P12M", "PT24H", "P1MT1H", "PT0S"

int32_t DaysFromCivil(int64_t year, unsigned month, unsigned day);
void CivilFromDays(int32_t days, int64_t* year, unsigned* month, unsigned* day);

// Calendar arithmetic. Each returns false when the result leaves years 0001..9999 or overflows.
bool AddDurationToTimestamp(int64_t micros, Duration d, int64_t* out);
// Only whole days in d.micros are allowed for a date; false otherwise.
bool AddDurationToDate(int32_t days, Duration d, int32_t* out);
bool NegateDuration(Duration d, Duration* out);
bool AddDurations(Duration a, Duration b, Duration* out);
// -1, 0, 1; false when the two cannot be ordered (one has months, the other micros).
bool CompareDurations(Duration a, Duration b, int* result);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_TIME_H_
