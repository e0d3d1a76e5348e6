// Calendar arithmetic and the text forms of dates, timestamps and durations, in UTC without a
// clock.
#include "dsl/time.h"

#include <cstdint>
#include <limits>

namespace sellerflow::dsl {

namespace {

constexpr int64_t kMicrosPerMinute = 60 * kMicrosPerSecond;
constexpr int64_t kMicrosPerHour = 60 * kMicrosPerMinute;

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Floor division and its remainder, for instants before the epoch.
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}
int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

// DaysFromCivil(1, 1, 1) and DaysFromCivil(9999, 12, 31), as literals so that they are constant
// even for code that runs during static initialization (time_test checks them).
constexpr int32_t kMinDay = -719162;
constexpr int32_t kMaxDay = 2932896;
constexpr int64_t kMinMicros = static_cast<int64_t>(kMinDay) * kMicrosPerDay;
constexpr int64_t kMaxMicros = (static_cast<int64_t>(kMaxDay) + 1) * kMicrosPerDay - 1;

// Reads exactly `n` ASCII digits at text[*pos].
bool Digits(std::string_view text, size_t* pos, size_t n, int64_t* out) {
  if (*pos + n > text.size()) return false;
  int64_t v = 0;
  for (size_t k = 0; k < n; ++k) {
    char c = text[*pos + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *pos += n;
  *out = v;
  return true;
}

bool Expect(std::string_view text, size_t* pos, char c) {
  if (*pos >= text.size() || text[*pos] != c) return false;
  ++*pos;
  return true;
}

// "YYYY-MM-DD" at text[*pos], checked against the calendar.
bool ParseDatePart(std::string_view text, size_t* pos, int32_t* days) {
  int64_t y = 0, m = 0, d = 0;
  if (!Digits(text, pos, 4, &y) || !Expect(text, pos, '-') || !Digits(text, pos, 2, &m) ||
      !Expect(text, pos, '-') || !Digits(text, pos, 2, &d)) {
    return false;
  }
  if (y < 1 || m < 1 || m > 12 || d < 1) return false;
  if (d > DaysInMonth(y, static_cast<unsigned>(m))) return false;
  *days = DaysFromCivil(y, static_cast<unsigned>(m), static_cast<unsigned>(d));
  return true;
}

void AppendPadded(int64_t v, int width, std::string* out) {
  char buf[24];
  int n = 0;
  uint64_t u = v < 0 ? 0 : static_cast<uint64_t>(v);
  do {
    buf[n++] = static_cast<char>('0' + u % 10);
    u /= 10;
  } while (u != 0);
  while (n < width) buf[n++] = '0';
  while (n > 0) out->push_back(buf[--n]);
}

void AppendUnsigned(uint64_t v, std::string* out) {
  char buf[24];
  int n = 0;
  do {
    buf[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  while (n > 0) out->push_back(buf[--n]);
}

// ".5", ".000123": the micros of a second with trailing zeros dropped; nothing when zero.
void AppendFraction(int64_t micros, std::string* out) {
  if (micros == 0) return;
  std::string digits;
  AppendPadded(micros, 6, &digits);
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  out->push_back('.');
  *out += digits;
}

// Adds months to a civil date, clamping the day to the end of the target month.
bool AddMonths(int32_t days, int64_t months, int32_t* out) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  int64_t total = y * 12 + (m - 1) + months;
  int64_t ny = FloorDiv(total, 12);
  unsigned nm = static_cast<unsigned>(FloorMod(total, 12)) + 1;
  if (ny < 1 || ny > 9999) return false;
  unsigned dim = DaysInMonth(ny, nm);
  *out = DaysFromCivil(ny, nm, d > dim ? dim : d);
  return true;
}

// An unsigned decimal number of at most 18 digits at text[*pos]; false when none or too long.
bool Number(std::string_view text, size_t* pos, int64_t* out, size_t* digits) {
  size_t start = *pos;
  int64_t v = 0;
  while (*pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9') {
    if (*pos - start >= 18) return false;
    v = v * 10 + (text[*pos] - '0');
    ++*pos;
  }
  if (*pos == start) return false;
  *out = v;
  if (digits) *digits = *pos - start;
  return true;
}

bool MulAdd(int64_t acc, int64_t n, int64_t unit, int64_t* out) {
  int64_t p = 0;
  if (__builtin_mul_overflow(n, unit, &p)) return false;
  return !__builtin_add_overflow(acc, p, out);
}

bool ParseIsoDuration(std::string_view text, Duration* out) {
  size_t pos = 0;
  if (!Expect(text, &pos, 'P')) return false;
  int64_t months = 0, micros = 0;
  bool any = false;
  bool in_time = false;
  // Designators must appear in this order, each at most once.
  static constexpr char kDateUnits[] = "YMWD";
  static constexpr char kTimeUnits[] = "HMS";
  int next_unit = 0;
  while (pos < text.size()) {
    if (text[pos] == 'T') {
      if (in_time) return false;
      in_time = true;
      next_unit = 0;
      ++pos;
      if (pos == text.size()) return false;  // "P1DT" has nothing after the T.
      continue;
    }
    int64_t n = 0;
    if (!Number(text, &pos, &n, nullptr)) return false;
    int64_t frac_micros = 0;
    bool has_fraction = false;
    if (pos < text.size() && (text[pos] == '.' || text[pos] == ',')) {
      ++pos;
      size_t start = pos;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
      size_t len = pos - start;
      if (len == 0 || len > 6) return false;
      int64_t f = 0;
      for (size_t k = start; k < pos; ++k) f = f * 10 + (text[k] - '0');
      for (size_t k = len; k < 6; ++k) f *= 10;
      frac_micros = f;
      has_fraction = true;
    }
    if (pos >= text.size()) return false;
    char unit = text[pos++];
    const char* units = in_time ? kTimeUnits : kDateUnits;
    int index = -1;
    for (int k = next_unit; units[k] != '\0'; ++k) {
      if (units[k] == unit) {
        index = k;
        break;
      }
    }
    if (index < 0) return false;
    next_unit = index + 1;
    // Only seconds may carry a fraction: any other fraction could fall between microseconds.
    if (has_fraction && !(in_time && unit == 'S')) return false;
    bool ok = true;
    if (!in_time) {
      switch (unit) {
        case 'Y':
          ok = MulAdd(months, n, 12, &months);
          break;
        case 'M':
          ok = !__builtin_add_overflow(months, n, &months);
          break;
        case 'W':
          ok = MulAdd(micros, n, 7 * kMicrosPerDay, &micros);
          break;
        case 'D':
          ok = MulAdd(micros, n, kMicrosPerDay, &micros);
          break;
      }
    } else {
      switch (unit) {
        case 'H':
          ok = MulAdd(micros, n, kMicrosPerHour, &micros);
          break;
        case 'M':
          ok = MulAdd(micros, n, kMicrosPerMinute, &micros);
          break;
        case 'S':
          ok = MulAdd(micros, n, kMicrosPerSecond, &micros) &&
               !__builtin_add_overflow(micros, frac_micros, &micros);
          break;
      }
    }
    if (!ok) return false;
    any = true;
  }
  if (!any) return false;
  if (months > std::numeric_limits<int32_t>::max()) return false;
  out->months = static_cast<int32_t>(months);
  out->micros = micros;
  return true;
}

// "24h", "90m", "1h30m", "30s", "7d": units in descending order, each at most once.
bool ParseShortDuration(std::string_view text, Duration* out) {
  size_t pos = 0;
  int64_t micros = 0;
  static constexpr char kUnits[] = "dhms";
  static constexpr int64_t kUnitMicros[] = {kMicrosPerDay, kMicrosPerHour, kMicrosPerMinute,
                                            kMicrosPerSecond};
  int next_unit = 0;
  bool any = false;
  while (pos < text.size()) {
    int64_t n = 0;
    if (!Number(text, &pos, &n, nullptr)) return false;
    if (pos >= text.size()) return false;
    char unit = text[pos++];
    int index = -1;
    for (int k = next_unit; kUnits[k] != '\0'; ++k) {
      if (kUnits[k] == unit) {
        index = k;
        break;
      }
    }
    if (index < 0) return false;
    next_unit = index + 1;
    if (!MulAdd(micros, n, kUnitMicros[index], &micros)) return false;
    any = true;
  }
  if (!any) return false;
  out->months = 0;
  out->micros = micros;
  return true;
}

void AppendTimePart(uint64_t micros, std::string* out, bool negative) {
  uint64_t hours = micros / static_cast<uint64_t>(kMicrosPerHour);
  micros %= static_cast<uint64_t>(kMicrosPerHour);
  uint64_t minutes = micros / static_cast<uint64_t>(kMicrosPerMinute);
  micros %= static_cast<uint64_t>(kMicrosPerMinute);
  uint64_t seconds = micros / static_cast<uint64_t>(kMicrosPerSecond);
  uint64_t fraction = micros % static_cast<uint64_t>(kMicrosPerSecond);
  const char* sign = negative ? "-" : "";
  if (hours != 0) {
    *out += sign;
    AppendUnsigned(hours, out);
    out->push_back('H');
  }
  if (minutes != 0) {
    *out += sign;
    AppendUnsigned(minutes, out);
    out->push_back('M');
  }
  if (seconds != 0 || fraction != 0) {
    *out += sign;
    AppendUnsigned(seconds, out);
    AppendFraction(static_cast<int64_t>(fraction), out);
    out->push_back('S');
  }
}

uint64_t AbsU64(int64_t v) {
  return v < 0 ? 0 - static_cast<uint64_t>(v) : static_cast<uint64_t>(v);
}

}  // namespace

int32_t DaysFromCivil(int64_t year, unsigned month, unsigned day) {
  // Count from 0000-03-01 so the leap day ends each 400-year era; eras are 146,097 days long.
  int64_t y = month <= 2 ? year - 1 : year;
  int64_t era = FloorDiv(y, 400);
  int64_t year_of_era = y - era * 400;                            // 0..399
  int64_t shifted_month = month > 2 ? month - 3 : month + 9;      // March = 0
  int64_t day_of_year = (153 * shifted_month + 2) / 5 + day - 1;  // 0..365
  int64_t day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
  return static_cast<int32_t>(era * 146097 + day_of_era -
                              719468);  // 719468: 0000-03-01 to 1970-01-01
}

void CivilFromDays(int32_t days, int64_t* year, unsigned* month, unsigned* day) {
  int64_t z = static_cast<int64_t>(days) + 719468;
  int64_t era = FloorDiv(z, 146097);
  int64_t day_of_era = z - era * 146097;  // 0..146096
  int64_t year_of_era =
      (day_of_era - day_of_era / 1460 + day_of_era / 36524 - day_of_era / 146096) / 365;
  int64_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
  int64_t shifted_month = (5 * day_of_year + 2) / 153;  // March = 0
  *day = static_cast<unsigned>(day_of_year - (153 * shifted_month + 2) / 5 + 1);
  *month = static_cast<unsigned>(shifted_month < 10 ? shifted_month + 3 : shifted_month - 9);
  *year = year_of_era + era * 400 + (*month <= 2 ? 1 : 0);
}

bool ParseDate(std::string_view text, int32_t* days_since_epoch) {
  size_t pos = 0;
  int32_t days = 0;
  if (!ParseDatePart(text, &pos, &days) || pos != text.size()) return false;
  *days_since_epoch = days;
  return true;
}

bool ParseTimestamp(std::string_view text, int64_t* micros_since_epoch) {
  size_t pos = 0;
  int32_t days = 0;
  if (!ParseDatePart(text, &pos, &days)) return false;
  if (pos >= text.size() || (text[pos] != 'T' && text[pos] != 't' && text[pos] != ' '))
    return false;
  ++pos;
  int64_t h = 0, m = 0, s = 0;
  if (!Digits(text, &pos, 2, &h) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &m) ||
      !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &s)) {
    return false;
  }
  // No leap seconds: UTC micros since the epoch have no place for a 61st second.
  if (h > 23 || m > 59 || s > 59) return false;
  int64_t fraction = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    size_t start = pos;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') ++pos;
    size_t len = pos - start;
    // Nanosecond precision is common in producers; digits past the microsecond are dropped.
    if (len == 0 || len > 9) return false;
    for (size_t k = 0; k < 6; ++k) {
      fraction = fraction * 10 + (k < len ? text[start + k] - '0' : 0);
    }
  }
  if (pos >= text.size()) return false;
  int64_t offset_minutes = 0;
  if (text[pos] == 'Z' || text[pos] == 'z') {
    ++pos;
  } else if (text[pos] == '+' || text[pos] == '-') {
    bool negative = text[pos] == '-';
    ++pos;
    int64_t oh = 0, om = 0;
    if (!Digits(text, &pos, 2, &oh) || !Expect(text, &pos, ':') || !Digits(text, &pos, 2, &om)) {
      return false;
    }
    if (oh > 23 || om > 59) return false;
    offset_minutes = (oh * 60 + om) * (negative ? -1 : 1);
  } else {
    return false;
  }
  if (pos != text.size()) return false;
  // Local time minus its offset is UTC.
  int64_t micros = static_cast<int64_t>(days) * kMicrosPerDay + h * kMicrosPerHour +
                   m * kMicrosPerMinute + s * kMicrosPerSecond + fraction -
                   offset_minutes * kMicrosPerMinute;
  if (micros < kMinMicros || micros > kMaxMicros) return false;
  *micros_since_epoch = micros;
  return true;
}

bool ParseDuration(std::string_view text, Duration* out) {
  bool negative = false;
  std::string_view body = text;
  if (!body.empty() && body[0] == '-') {
    negative = true;
    body.remove_prefix(1);
  }
  Duration d{0, 0};
  bool ok =
      !body.empty() && body[0] == 'P' ? ParseIsoDuration(body, &d) : ParseShortDuration(body, &d);
  if (!ok) return false;
  if (negative) {
    // Magnitudes are parsed non-negative and below the type minimum, so negation cannot overflow.
    d.months = -d.months;
    d.micros = -d.micros;
  }
  *out = d;
  return true;
}

std::string FormatDate(int32_t days) {
  int64_t y = 0;
  unsigned m = 0, d = 0;
  CivilFromDays(days, &y, &m, &d);
  std::string out;
  if (y < 0) out.push_back('-');
  AppendPadded(y < 0 ? -y : y, 4, &out);
  out.push_back('-');
  AppendPadded(m, 2, &out);
  out.push_back('-');
  AppendPadded(d, 2, &out);
  return out;
}

std::string FormatTimestamp(int64_t micros) {
  int64_t days = FloorDiv(micros, kMicrosPerDay);
  int64_t rest = FloorMod(micros, kMicrosPerDay);
  std::string out = FormatDate(static_cast<int32_t>(days));
  out.push_back('T');
  AppendPadded(rest / kMicrosPerHour, 2, &out);
  out.push_back(':');
  AppendPadded(rest / kMicrosPerMinute % 60, 2, &out);
  out.push_back(':');
  AppendPadded(rest / kMicrosPerSecond % 60, 2, &out);
  AppendFraction(rest % kMicrosPerSecond, &out);
  out.push_back('Z');
  return out;
}

std::string FormatDuration(Duration d) {
  if (d.months == 0 && d.micros == 0) return "PT0S";
  std::string out;
  bool months_neg = d.months < 0;
  bool micros_neg = d.micros < 0;
  // When both parts point the same way the sign goes in front ("-P1MT1H"); a mixed duration,
  // which ISO 8601 cannot write, signs each component instead ("P1MT-1H").
  bool lead_sign = (d.months <= 0 && d.micros <= 0);
  if (lead_sign) out.push_back('-');
  out.push_back('P');
  if (d.months != 0) {
    if (months_neg && !lead_sign) out.push_back('-');
    AppendUnsigned(AbsU64(d.months), &out);
    out.push_back('M');
  }
  if (d.micros != 0) {
    out.push_back('T');
    AppendTimePart(AbsU64(d.micros), &out, micros_neg && !lead_sign);
  }
  return out;
}

bool AddDurationToTimestamp(int64_t micros, Duration d, int64_t* out) {
  if (micros < kMinMicros || micros > kMaxMicros) return false;
  int64_t result = micros;
  if (d.months != 0) {
    int64_t days = FloorDiv(micros, kMicrosPerDay);
    int64_t time_of_day = FloorMod(micros, kMicrosPerDay);
    int32_t new_days = 0;
    if (!AddMonths(static_cast<int32_t>(days), d.months, &new_days)) return false;
    result = static_cast<int64_t>(new_days) * kMicrosPerDay + time_of_day;
  }
  if (__builtin_add_overflow(result, d.micros, &result)) return false;
  if (result < kMinMicros || result > kMaxMicros) return false;
  *out = result;
  return true;
}

bool AddDurationToDate(int32_t days, Duration d, int32_t* out) {
  if (d.micros % kMicrosPerDay != 0) return false;
  if (days < kMinDay || days > kMaxDay) return false;
  int32_t result = days;
  if (d.months != 0 && !AddMonths(days, d.months, &result)) return false;
  int64_t r = static_cast<int64_t>(result) + d.micros / kMicrosPerDay;
  if (r < kMinDay || r > kMaxDay) return false;
  *out = static_cast<int32_t>(r);
  return true;
}

bool NegateDuration(Duration d, Duration* out) {
  if (d.months == std::numeric_limits<int32_t>::min() ||
      d.micros == std::numeric_limits<int64_t>::min()) {
    return false;
  }
  out->months = -d.months;
  out->micros = -d.micros;
  return true;
}

bool AddDurations(Duration a, Duration b, Duration* out) {
  Duration r{0, 0};
  if (__builtin_add_overflow(a.months, b.months, &r.months)) return false;
  if (__builtin_add_overflow(a.micros, b.micros, &r.micros)) return false;
  *out = r;
  return true;
}

bool CompareDurations(Duration a, Duration b, int* result) {
  auto sign = [](int64_t v) { return v < 0 ? -1 : (v > 0 ? 1 : 0); };
  int by_months = sign(static_cast<int64_t>(a.months) - b.months);
  int by_micros = a.micros == b.micros ? 0 : (a.micros < b.micros ? -1 : 1);
  // A month has no fixed length, so the two parts may only be combined when they agree.
  if (by_months == 0) {
    *result = by_micros;
  } else if (by_micros == 0 || by_micros == by_months) {
    *result = by_months;
  } else {
    return false;
  }
  return true;
}

}  // namespace sellerflow::dsl
