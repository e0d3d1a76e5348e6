// UTF-8 validation, counting, locale-free case mapping and trimming for the scripts sellers write
// in.
#include "dsl/utf8.h"

#include <cstdint>
#include <cstring>

namespace sellerflow::dsl {

namespace {

// Decodes one well-formed code point at text[*pos]; returns false (consuming nothing) otherwise.
bool Decode(std::string_view text, size_t* pos, uint32_t* cp) {
  size_t i = *pos;
  if (i >= text.size()) return false;
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b0 = byte(i);
  if (b0 < 0x80) {
    *cp = b0;
    *pos = i + 1;
    return true;
  }
  size_t len = 0;
  uint32_t v = 0;
  uint32_t min = 0;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
    v = b0 & 0x1F;
    min = 0x80;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    v = b0 & 0x0F;
    min = 0x800;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    v = b0 & 0x07;
    min = 0x10000;
  } else {
    return false;  // A continuation byte, 0xC0/0xC1 (always overlong) or 0xF5.. (past U+10FFFF).
  }
  if (i + len > text.size()) return false;
  for (size_t k = 1; k < len; ++k) {
    unsigned char b = byte(i + k);
    if ((b & 0xC0) != 0x80) return false;
    v = (v << 6) | (b & 0x3F);
  }
  if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return false;
  *cp = v;
  *pos = i + len;
  return true;
}

// Simple case pairs where upper and lower sit next to each other: the upper case letter is at
// an even (or odd, per `upper_odd`) code point and its lower case right after it.
struct PairRange {
  uint32_t first;
  uint32_t last;
  bool upper_odd;
};

constexpr PairRange kPairRanges[] = {
    {0x0100, 0x012F, false}, {0x0132, 0x0137, false}, {0x0139, 0x0148, true},
    {0x014A, 0x0177, false}, {0x0179, 0x017E, true},  {0x0370, 0x0373, false},
    {0x0376, 0x0377, false}, {0x03D8, 0x03EF, false}, {0x03F7, 0x03F8, true},
    {0x03FA, 0x03FB, false}, {0x0460, 0x0481, false}, {0x048A, 0x04BF, false},
    {0x04C1, 0x04CE, true},  {0x04D0, 0x04FF, false}, {0x0500, 0x052F, false},
};

const PairRange* FindPair(uint32_t cp) {
  for (const PairRange& r : kPairRanges) {
    if (cp >= r.first && cp <= r.last) return &r;
  }
  return nullptr;
}

bool IsUpperInPair(const PairRange& r, uint32_t cp) { return ((cp & 1) != 0) == r.upper_odd; }

// One-off mappings that follow no range rule: {upper, lower}.
struct CasePair {
  uint32_t upper;
  uint32_t lower;
};

constexpr CasePair kSingles[] = {
    {0x0178, 0x00FF},  // Ÿ ÿ
    {0x0386, 0x03AC},  // Ά ά
    {0x038C, 0x03CC},  // Ό ό
    {0x037F, 0x03F3},  // Ϳ ϳ
    {0x03CF, 0x03D7},  // Ϗ ϗ
    {0x03F9, 0x03F2},  // Ϲ ϲ
    {0x04C0, 0x04CF},  // Ӏ ӏ
};

// Lower case letters whose upper case has another lower case as its own image: they only map up.
constexpr CasePair kUpperOnly[] = {
    {0x039C, 0x00B5},  // µ (micro sign) -> Μ
    {0x0053, 0x017F},  // ſ (long s) -> S
    {0x0049, 0x0131},  // ı (dotless i) -> I
    {0x03A3, 0x03C2},  // ς (final sigma) -> Σ
    {0x0392, 0x03D0},  // ϐ -> Β
    {0x0398, 0x03D1},  // ϑ -> Θ
    {0x03A6, 0x03D5},  // ϕ -> Φ
    {0x03A0, 0x03D6},  // ϖ -> Π
    {0x039A, 0x03F0},  // ϰ -> Κ
    {0x03A1, 0x03F1},  // ϱ -> Ρ
    {0x0395, 0x03F5},  // ϵ -> Ε
};

// Upper case letters that only map down.
constexpr CasePair kLowerOnly[] = {
    {0x0130, 0x0069},  // İ -> i
    {0x03F4, 0x03B8},  // ϴ -> θ
};

uint32_t ToLower(uint32_t cp) {
  if (cp >= 'A' && cp <= 'Z') return cp + 0x20;
  if (cp < 0x80) return cp;
  if (cp >= 0x00C0 && cp <= 0x00DE && cp != 0x00D7) return cp + 0x20;
  if (cp >= 0x0388 && cp <= 0x038A) return cp + 0x25;  // Έ Ή Ί
  if (cp >= 0x038E && cp <= 0x038F) return cp + 0x3F;  // Ύ Ώ
  if (cp >= 0x0391 && cp <= 0x03AB && cp != 0x03A2) return cp + 0x20;
  if (cp >= 0x03FD && cp <= 0x03FF) return cp - 0x3FD + 0x37B;  // Ͻ Ͼ Ͽ
  if (cp >= 0x0400 && cp <= 0x040F) return cp + 0x50;
  if (cp >= 0x0410 && cp <= 0x042F) return cp + 0x20;
  if (const PairRange* r = FindPair(cp)) return IsUpperInPair(*r, cp) ? cp + 1 : cp;
  for (const CasePair& p : kSingles) {
    if (p.upper == cp) return p.lower;
  }
  for (const CasePair& p : kLowerOnly) {
    if (p.upper == cp) return p.lower;
  }
  return cp;
}

uint32_t ToUpper(uint32_t cp) {
  if (cp >= 'a' && cp <= 'z') return cp - 0x20;
  if (cp < 0x80) return cp;
  // ß has no single-letter upper case (SS changes the length); it stays as it is.
  if (cp >= 0x00E0 && cp <= 0x00FE && cp != 0x00F7) return cp - 0x20;
  if (cp >= 0x03AD && cp <= 0x03AF) return cp - 0x25;
  if (cp >= 0x03CD && cp <= 0x03CE) return cp - 0x3F;
  if (cp >= 0x03B1 && cp <= 0x03CB && cp != 0x03C2) return cp - 0x20;
  if (cp >= 0x037B && cp <= 0x037D) return cp - 0x37B + 0x3FD;
  if (cp >= 0x0450 && cp <= 0x045F) return cp - 0x50;
  if (cp >= 0x0430 && cp <= 0x044F) return cp - 0x20;
  if (const PairRange* r = FindPair(cp)) return IsUpperInPair(*r, cp) ? cp : cp - 1;
  for (const CasePair& p : kSingles) {
    if (p.lower == cp) return p.upper;
  }
  for (const CasePair& p : kUpperOnly) {
    if (p.lower == cp) return p.upper;
  }
  return cp;
}

template <typename Map>
std::string MapCase(std::string_view text, Map map) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    uint32_t cp = 0;
    if (Decode(text, &pos, &cp)) {
      AppendCodePoint(map(cp), &out);
    } else {
      out.push_back(text[pos++]);  // Malformed bytes pass through untouched.
    }
  }
  return out;
}

bool IsWhiteSpace(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

}  // namespace

bool ValidUtf8(std::string_view text, size_t* bad_offset) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs are the common case; skip them a byte at a time without decoding.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    uint32_t cp = 0;
    if (!Decode(text, &pos, &cp)) {
      if (bad_offset != nullptr) *bad_offset = pos;
      return false;
    }
  }
  return true;
}

size_t CountCodePoints(std::string_view text) {
  size_t n = 0;
  for (char c : text) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string Utf8Lower(std::string_view text) { return MapCase(text, ToLower); }

std::string Utf8Upper(std::string_view text) { return MapCase(text, ToUpper); }

std::string_view Utf8Trim(std::string_view text) {
  size_t begin = 0;
  while (begin < text.size()) {
    size_t next = begin;
    uint32_t cp = 0;
    if (!Decode(text, &next, &cp) || !IsWhiteSpace(cp)) break;
    begin = next;
  }
  size_t end = text.size();
  while (end > begin) {
    // Step back to the start of the last code point.
    size_t start = end - 1;
    while (start > begin && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
    size_t next = start;
    uint32_t cp = 0;
    if (!Decode(text, &next, &cp) || next != end || !IsWhiteSpace(cp)) break;
    end = start;
  }
  return text.substr(begin, end - begin);
}

void AppendCodePoint(uint32_t cp, std::string* out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

namespace {

// Bytes a JSON string literal takes as they are: printable ASCII but the quote and the backslash.
bool PlainJsonByte(unsigned char c) { return c >= 0x20 && c < 0x80 && c != '"' && c != '\\'; }

// Whether any of the 8 bytes of `w` is not plain. (w - n*0x01..) & ~w has a byte's high bit set
// when that byte is below n (n <= 0x80); x ^ c*0x01.. is zero where a byte equals c.
bool AnyNotPlain(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  const uint64_t quote = w ^ (kOnes * '"');
  const uint64_t backslash = w ^ (kOnes * '\\');
  const uint64_t below =
      ((w - kOnes * 0x20) & ~w) | ((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash);
  return ((below | w) & kHigh) != 0;
}

}  // namespace

void AppendJsonString(std::string_view text, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->reserve(out->size() + text.size() + 2);
  out->push_back('"');
  size_t pos = 0;
  while (pos < text.size()) {
    // Most text needs no escape: copy each run of plain bytes in one append, 8 bytes a step.
    size_t run = pos;
    while (run + 8 <= text.size()) {
      uint64_t w;
      std::memcpy(&w, text.data() + run, 8);
      if (AnyNotPlain(w)) break;
      run += 8;
    }
    while (run < text.size() && PlainJsonByte(static_cast<unsigned char>(text[run]))) ++run;
    out->append(text.data() + pos, run - pos);
    pos = run;
    if (pos == text.size()) break;
    unsigned char c = static_cast<unsigned char>(text[pos]);
    if (c >= 0x80) {
      size_t start = pos;
      uint32_t cp = 0;
      if (Decode(text, &pos, &cp)) {
        out->append(text.substr(start, pos - start));
      } else {
        // JSON must be valid UTF-8; a stray byte becomes U+FFFD rather than breaking the output.
        AppendCodePoint(0xFFFD, out);
        ++pos;
      }
      continue;
    }
    ++pos;
    switch (c) {
      case '"':
        *out += "\\\"";
        break;
      case '\\':
        *out += "\\\\";
        break;
      case '\n':
        *out += "\\n";
        break;
      case '\r':
        *out += "\\r";
        break;
      case '\t':
        *out += "\\t";
        break;
      case '\b':
        *out += "\\b";
        break;
      case '\f':
        *out += "\\f";
        break;
      default:
        if (c < 0x20) {
          *out += "\\u00";
          out->push_back(kHex[c >> 4]);
          out->push_back(kHex[c & 0xF]);
        } else {
          out->push_back(static_cast<char>(c));
        }
    }
  }
  out->push_back('"');
}

std::string JsonString(std::string_view text) {
  std::string out;
  AppendJsonString(text, &out);
  return out;
}

}  // namespace sellerflow::dsl
