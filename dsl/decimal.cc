// Exact decimal arithmetic on a 64-bit coefficient, with 128-bit intermediates so nothing is lost
// silently.
#include "dsl/decimal.h"

#include <cstdint>
#include <limits>

#include "dsl/limits.h"

namespace sellerflow::dsl {

namespace {

using Int128 = __int128;
using Uint128 = unsigned __int128;

constexpr int kMaxPow10 = 38;  // 10^38 < 2^127.

Uint128 Pow10(int n) {
  static const auto kTable = [] {
    struct Table {
      Uint128 v[kMaxPow10 + 1];
    } t{};
    t.v[0] = 1;
    for (int i = 1; i <= kMaxPow10; ++i) t.v[i] = t.v[i - 1] * 10;
    return t;
  }();
  if (n < 0) return 1;
  if (n > kMaxPow10) n = kMaxPow10;
  return kTable.v[n];
}

bool FitsInt64(Int128 v) {
  return v >= std::numeric_limits<int64_t>::min() && v <= std::numeric_limits<int64_t>::max();
}

Uint128 Magnitude(int64_t v) {
  // Negating INT64_MIN in int64 overflows; doing it in 128 bits does not.
  return v < 0 ? static_cast<Uint128>(-static_cast<Int128>(v)) : static_cast<Uint128>(v);
}

// Stores sign * magnitude into *out when it fits in int64.
bool SignedFromMagnitude(bool negative, Uint128 magnitude, int64_t* out) {
  if (magnitude > static_cast<Uint128>(std::numeric_limits<int64_t>::max()) + (negative ? 1 : 0)) {
    return false;
  }
  Int128 v = static_cast<Int128>(magnitude);
  *out = static_cast<int64_t>(negative ? -v : v);
  return true;
}

bool ValidScale(int32_t scale) { return scale >= 0 && scale <= kMaxDecimalScale; }

// Divides a 128-bit magnitude by 10^digits, rounding half to even.
Uint128 RoundHalfEvenPow10(Uint128 v, int digits) {
  Uint128 p = Pow10(digits);
  Uint128 q = v / p;
  Uint128 r = v % p;
  Uint128 half = p / 2;
  if (r > half || (r == half && (q & 1) != 0)) ++q;
  return q;
}

}  // namespace

DecimalStatus ParseDecimal(std::string_view text, Decimal* out) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && text[i] == '-') {
    negative = true;
    ++i;
  }
  size_t int_start = i;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  size_t int_end = i;
  if (int_end == int_start) return DecimalStatus::kSyntax;
  size_t frac_start = i;
  size_t frac_end = i;
  if (i < text.size() && text[i] == '.') {
    ++i;
    frac_start = i;
    while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
    frac_end = i;
    if (frac_end == frac_start) return DecimalStatus::kSyntax;
  }
  if (i != text.size()) return DecimalStatus::kSyntax;

  int scale = static_cast<int>(frac_end - frac_start);
  if (frac_end - frac_start > static_cast<size_t>(kMaxDecimalScale)) {
    return DecimalStatus::kTooManyDigits;
  }
  // Significant digits are those of the coefficient: leading zeros of the whole digit string
  // do not count, trailing ones do (they are part of the written scale).
  int significant = 0;
  bool seen_nonzero = false;
  Uint128 coefficient = 0;
  auto take = [&](char c) {
    if (c != '0') seen_nonzero = true;
    if (seen_nonzero) ++significant;
    if (significant <= kMaxDecimalDigits)
      coefficient = coefficient * 10 + static_cast<unsigned>(c - '0');
  };
  for (size_t k = int_start; k < int_end; ++k) take(text[k]);
  for (size_t k = frac_start; k < frac_end; ++k) take(text[k]);
  if (significant > kMaxDecimalDigits) return DecimalStatus::kTooManyDigits;
  int64_t c = 0;
  if (!SignedFromMagnitude(negative, coefficient, &c)) return DecimalStatus::kOverflow;
  out->coefficient = c;
  out->scale = scale;
  return DecimalStatus::kOk;
}

void AppendDecimal(Decimal d, std::string* out) {
  Uint128 m = Magnitude(d.coefficient);
  char digits[48];
  int n = 0;
  do {
    digits[n++] = static_cast<char>('0' + static_cast<int>(m % 10));
    m /= 10;
  } while (m != 0);
  int scale = d.scale < 0 ? 0 : d.scale;
  if (d.coefficient < 0) out->push_back('-');
  // Pad so there is at least one digit before the point.
  while (n <= scale && n < static_cast<int>(sizeof(digits))) digits[n++] = '0';
  for (int k = n - 1; k >= 0; --k) {
    out->push_back(digits[k]);
    if (k == scale && scale > 0) out->push_back('.');
  }
}

std::string DecimalToString(Decimal d) {
  std::string out;
  AppendDecimal(d, &out);
  return out;
}

Decimal DecimalFromInt(int64_t v) { return Decimal{v, 0}; }

namespace {

DecimalStatus AddSigned(Decimal a, Decimal b, bool subtract, Decimal* out) {
  if (!ValidScale(a.scale) || !ValidScale(b.scale)) return DecimalStatus::kOverflow;
  int32_t scale = a.scale > b.scale ? a.scale : b.scale;
  // At most 2^63 * 10^18 in magnitude per operand, well inside 128 bits.
  Int128 x = static_cast<Int128>(a.coefficient) * static_cast<Int128>(Pow10(scale - a.scale));
  Int128 y = static_cast<Int128>(b.coefficient) * static_cast<Int128>(Pow10(scale - b.scale));
  Int128 r = subtract ? x - y : x + y;
  if (!FitsInt64(r)) return DecimalStatus::kOverflow;
  out->coefficient = static_cast<int64_t>(r);
  out->scale = scale;
  return DecimalStatus::kOk;
}

}  // namespace

DecimalStatus DecimalAdd(Decimal a, Decimal b, Decimal* out) { return AddSigned(a, b, false, out); }

DecimalStatus DecimalSub(Decimal a, Decimal b, Decimal* out) { return AddSigned(a, b, true, out); }

DecimalStatus DecimalMul(Decimal a, Decimal b, Decimal* out) {
  if (!ValidScale(a.scale) || !ValidScale(b.scale)) return DecimalStatus::kOverflow;
  bool negative = (a.coefficient < 0) != (b.coefficient < 0);
  Uint128 m = Magnitude(a.coefficient) * Magnitude(b.coefficient);  // < 2^126
  int scale = a.scale + b.scale;
  // Past the scale limit, trailing zeros go first (exact); only then do we round, half to even.
  while (scale > kMaxDecimalScale && m % 10 == 0 && m != 0) {
    m /= 10;
    --scale;
  }
  if (m == 0 && scale > kMaxDecimalScale) scale = kMaxDecimalScale;
  if (scale > kMaxDecimalScale) {
    m = RoundHalfEvenPow10(m, scale - kMaxDecimalScale);
    scale = kMaxDecimalScale;
  }
  // A product too wide for 64 bits may still fit once zeros it does not need are dropped.
  while (m > static_cast<Uint128>(std::numeric_limits<int64_t>::max()) && scale > 0 &&
         m % 10 == 0) {
    m /= 10;
    --scale;
  }
  int64_t c = 0;
  if (!SignedFromMagnitude(negative && m != 0, m, &c)) return DecimalStatus::kOverflow;
  out->coefficient = c;
  out->scale = scale;
  return DecimalStatus::kOk;
}

DecimalStatus DecimalDiv(Decimal a, Decimal b, Decimal* out) {
  if (b.coefficient == 0) return DecimalStatus::kDivisionByZero;
  if (!ValidScale(a.scale) || !ValidScale(b.scale)) return DecimalStatus::kOverflow;
  bool negative = (a.coefficient < 0) != (b.coefficient < 0);
  Uint128 divisor = Magnitude(b.coefficient);
  // The preferred scale is a.scale - b.scale (10.00 / 4 = 2.50); more digits are added one at a
  // time until the quotient is exact or reaches the scale limit.
  int scale = a.scale > b.scale ? a.scale - b.scale : 0;
  // a / b = (ca * 10^(scale + sb - sa) / cb) * 10^-scale; the exponent is 0..18 here.
  Uint128 dividend = Magnitude(a.coefficient) * Pow10(scale + b.scale - a.scale);
  Uint128 q = dividend / divisor;
  Uint128 r = dividend % divisor;
  const Uint128 kLimit = static_cast<Uint128>(std::numeric_limits<int64_t>::max()) + 1;
  if (q > kLimit) return DecimalStatus::kOverflow;
  while (r != 0 && scale < kMaxDecimalScale) {
    r *= 10;  // r < 2^64, so this fits.
    q = q * 10 + r / divisor;
    r %= divisor;
    ++scale;
    if (q > kLimit) return DecimalStatus::kOverflow;
  }
  if (r != 0) {
    Uint128 twice = r * 2;
    if (twice > divisor || (twice == divisor && (q & 1) != 0)) ++q;
  }
  int64_t c = 0;
  if (!SignedFromMagnitude(negative && q != 0, q, &c)) return DecimalStatus::kOverflow;
  out->coefficient = c;
  out->scale = scale;
  return DecimalStatus::kOk;
}

DecimalStatus DecimalNeg(Decimal a, Decimal* out) {
  if (a.coefficient == std::numeric_limits<int64_t>::min()) return DecimalStatus::kOverflow;
  out->coefficient = -a.coefficient;
  out->scale = a.scale;
  return DecimalStatus::kOk;
}

int DecimalCompare(Decimal a, Decimal b) {
  int sa = a.coefficient < 0 ? -1 : (a.coefficient > 0 ? 1 : 0);
  int sb = b.coefficient < 0 ? -1 : (b.coefficient > 0 ? 1 : 0);
  if (sa != sb) return sa < sb ? -1 : 1;
  if (sa == 0) return 0;
  // Same sign: compare magnitudes by whole part, then by fraction cross-multiplied. Each product
  // is below 10^18 * 10^18, so nothing overflows however far apart the scales are.
  int scale_a = a.scale < 0 ? 0 : (a.scale > kMaxDecimalScale ? kMaxDecimalScale : a.scale);
  int scale_b = b.scale < 0 ? 0 : (b.scale > kMaxDecimalScale ? kMaxDecimalScale : b.scale);
  Uint128 ma = Magnitude(a.coefficient);
  Uint128 mb = Magnitude(b.coefficient);
  Uint128 whole_a = ma / Pow10(scale_a);
  Uint128 whole_b = mb / Pow10(scale_b);
  int mag = 0;
  if (whole_a != whole_b) {
    mag = whole_a < whole_b ? -1 : 1;
  } else {
    Uint128 frac_a = (ma % Pow10(scale_a)) * Pow10(scale_b);
    Uint128 frac_b = (mb % Pow10(scale_b)) * Pow10(scale_a);
    mag = frac_a == frac_b ? 0 : (frac_a < frac_b ? -1 : 1);
  }
  return sa > 0 ? mag : -mag;
}

std::optional<int64_t> DecimalToInt(Decimal d) {
  if (d.scale <= 0) return d.coefficient;
  if (d.scale > kMaxDecimalScale) return std::nullopt;
  Int128 p = static_cast<Int128>(Pow10(d.scale));
  Int128 c = d.coefficient;
  if (c % p != 0) return std::nullopt;
  return static_cast<int64_t>(c / p);
}

}  // namespace sellerflow::dsl
