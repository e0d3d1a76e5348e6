// Exact decimal numbers for money: a 64-bit coefficient and a power-of-ten scale, never binary
// floating point.
#ifndef SELLERFLOW_DSL_DECIMAL_H_
#define SELLERFLOW_DSL_DECIMAL_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace sellerflow::dsl {

// value = coefficient * 10^-scale. Scale is 0..kMaxDecimalScale (dsl/limits.h). The scale a value
// was written with is kept ("250000.00" prints as written); equality and order ignore it.
struct Decimal {
  int64_t coefficient;
  int32_t scale;
};

enum class DecimalStatus { kOk, kOverflow, kDivisionByZero, kSyntax, kTooManyDigits };

// Parses [-]digits[.digits] (no exponent, no leading '+'). kTooManyDigits past
// kMaxDecimalDigits significant digits or kMaxDecimalScale fraction digits.
DecimalStatus ParseDecimal(std::string_view text, Decimal* out);
std::string DecimalToString(Decimal d);
void AppendDecimal(Decimal d, std::string* out);

Decimal DecimalFromInt(int64_t v);
// Each returns kOk and sets *out, or kOverflow / kDivisionByZero. Results are exact; the scale of a
// sum is the larger scale, of a product the sum of scales (reduced by dropping trailing zeros when
// it would exceed the limit). Division is exact when the quotient terminates within
// kMaxDecimalScale digits, and otherwise rounds half-even at that scale.
DecimalStatus DecimalAdd(Decimal a, Decimal b, Decimal* out);
DecimalStatus DecimalSub(Decimal a, Decimal b, Decimal* out);
DecimalStatus DecimalMul(Decimal a, Decimal b, Decimal* out);
DecimalStatus DecimalDiv(Decimal a, Decimal b, Decimal* out);
DecimalStatus DecimalNeg(Decimal a, Decimal* out);
int DecimalCompare(Decimal a, Decimal b);  // -1, 0, 1; exact across scales.
// The integer value when the decimal is whole and fits; nullopt otherwise.
std::optional<int64_t> DecimalToInt(Decimal d);
// Number of digits after the point as written (scale); "1.50" has 2.
inline int DecimalPlaces(Decimal d) { return d.scale; }

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_DECIMAL_H_
