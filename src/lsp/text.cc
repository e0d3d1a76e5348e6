// Positions and URIs: conversions between the editor's way of counting and sellerflow's.
#include "src/lsp/text.h"

namespace sellerflow::lsp {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The length in bytes of the UTF-8 sequence that starts with `lead`, and the UTF-16 units of its
// code point; a byte that starts no sequence is one byte and one unit.
void Sequence(std::string_view s, size_t i, size_t* bytes, uint32_t* units) {
  const auto lead = static_cast<unsigned char>(s[i]);
  size_t n = 1;
  if (lead >= 0xF0 && lead < 0xF8)
    n = 4;
  else if (lead >= 0xE0)
    n = lead < 0xF0 ? 3 : 1;
  else if (lead >= 0xC0)
    n = 2;
  if (n > 1) {
    if (i + n > s.size()) n = 1;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) n = 1;
  }
  *bytes = n;
  *units = n == 4 ? 2 : 1;
}

}  // namespace

std::string UriToPath(std::string_view uri) {
  constexpr std::string_view kScheme = "file://";
  if (uri.substr(0, kScheme.size()) != kScheme) return "";
  uri.remove_prefix(kScheme.size());
  // file://host/path: only the local host is ours.
  const size_t slash = uri.find('/');
  if (slash == std::string_view::npos) return "";
  const std::string_view host = uri.substr(0, slash);
  if (!host.empty() && host != "localhost") return "";
  uri.remove_prefix(slash);
  std::string path;
  for (size_t i = 0; i < uri.size(); ++i) {
    if (uri[i] == '%' && i + 2 < uri.size()) {
      const int hi = HexValue(uri[i + 1]);
      const int lo = HexValue(uri[i + 2]);
      if (hi >= 0 && lo >= 0) {
        path.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    if (uri[i] == '?' || uri[i] == '#') break;
    path.push_back(uri[i]);
  }
  return path;
}

std::string PathToUri(std::string_view path) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string uri = "file://";
  for (const char ch : path) {
    const auto c = static_cast<unsigned char>(ch);
    const bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                       c == '-' || c == '.' || c == '_' || c == '~' || c == '/';
    if (plain) {
      uri.push_back(ch);
    } else {
      uri.push_back('%');
      uri.push_back(kHex[c >> 4]);
      uri.push_back(kHex[c & 15]);
    }
  }
  return uri;
}

size_t LineStart(std::string_view text, uint32_t line) {
  size_t at = 0;
  for (uint32_t i = 0; i < line; ++i) {
    const size_t nl = text.find('\n', at);
    if (nl == std::string_view::npos) return text.size();
    at = nl + 1;
  }
  return at;
}

std::string_view LineText(std::string_view text, uint32_t line) {
  const size_t start = LineStart(text, line);
  size_t end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  std::string_view s = text.substr(start, end - start);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

uint32_t Utf16Units(std::string_view line, size_t bytes) {
  uint32_t units = 0;
  for (size_t i = 0; i < line.size() && i < bytes;) {
    size_t n;
    uint32_t u;
    Sequence(line, i, &n, &u);
    units += u;
    i += n;
  }
  return units;
}

size_t ByteOfUtf16(std::string_view line, uint32_t units) {
  size_t i = 0;
  uint32_t seen = 0;
  while (i < line.size() && seen < units) {
    size_t n;
    uint32_t u;
    Sequence(line, i, &n, &u);
    if (seen + u > units) break;  // Inside a surrogate pair: stay at its code point.
    seen += u;
    i += n;
  }
  return i;
}

size_t ByteOfCodePoint(std::string_view line, uint32_t code_points) {
  size_t i = 0;
  for (uint32_t k = 0; k < code_points && i < line.size(); ++k) {
    size_t n;
    uint32_t u;
    Sequence(line, i, &n, &u);
    i += n;
  }
  return i;
}

}  // namespace sellerflow::lsp
