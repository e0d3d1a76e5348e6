// UTF-8 helpers: validation, code-point counting, case mapping and trimming without locales.
#ifndef SELLERFLOW_DSL_UTF8_H_
#define SELLERFLOW_DSL_UTF8_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sellerflow::dsl {

// Returns true when `text` is well-formed UTF-8 (no overlongs, no surrogates, <= U+10FFFF).
// On failure sets *bad_offset to the first offending byte.
bool ValidUtf8(std::string_view text, size_t* bad_offset = nullptr);
// Number of code points in well-formed UTF-8.
size_t CountCodePoints(std::string_view text);
// Case mapping for ASCII, Latin-1, Latin Extended-A, Greek and Cyrillic; other code points stay.
// Locale-independent, so results never depend on the machine.
std::string Utf8Lower(std::string_view text);
std::string Utf8Upper(std::string_view text);
// Strips leading and trailing Unicode white space (White_Space property).
std::string_view Utf8Trim(std::string_view text);
// Appends the UTF-8 encoding of `cp`.
void AppendCodePoint(uint32_t cp, std::string* out);
// Appends `text` as a JSON string literal, quotes included, escaping controls, '"' and '\\'.
void AppendJsonString(std::string_view text, std::string* out);
// The same, returned: `text` as a JSON string literal.
std::string JsonString(std::string_view text);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_UTF8_H_
