// Diagnostics: collecting positioned messages and printing them with the source line and a caret.
#include "dsl/diagnostics.h"

#include <algorithm>
#include <utility>

#include "dsl/utf8.h"

namespace sellerflow::dsl {

namespace {

// The text of 1-based line `line`, without its line break.
std::string_view LineText(std::string_view text, uint32_t line) {
  size_t start = 0;
  for (uint32_t l = 1; l < line; ++l) {
    size_t nl = text.find('\n', start);
    if (nl == std::string_view::npos) return {};
    start = nl + 1;
  }
  size_t end = text.find('\n', start);
  if (end == std::string_view::npos) end = text.size();
  std::string_view s = text.substr(start, end - start);
  if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
  return s;
}

// Code points of a string, for edit distances that treat "é" as one letter.
std::vector<uint32_t> CodePoints(std::string_view s) {
  std::vector<uint32_t> out;
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    size_t len = b < 0x80 ? 1 : b < 0xE0 ? 2 : b < 0xF0 ? 3 : 4;
    if (i + len > s.size()) len = s.size() - i;
    uint32_t cp = len == 1 ? b : (b & (0xFF >> (len + 1)));
    for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
    out.push_back(cp);
    i += len;
  }
  return out;
}

size_t EditDistance(const std::vector<uint32_t>& a, const std::vector<uint32_t>& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t substitute = prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, substitute});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

void LocateOffset(std::string_view text, size_t offset, uint32_t* line, uint32_t* column,
                  std::string_view* line_text) {
  if (offset > text.size()) offset = text.size();
  size_t line_start = 0;
  uint32_t l = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++l;
      line_start = i + 1;
    }
  }
  *line = l;
  *column =
      static_cast<uint32_t>(CountCodePoints(text.substr(line_start, offset - line_start))) + 1;
  if (line_text != nullptr) {
    size_t end = text.find('\n', line_start);
    if (end == std::string_view::npos) end = text.size();
    std::string_view s = text.substr(line_start, end - line_start);
    if (!s.empty() && s.back() == '\r') s.remove_suffix(1);
    *line_text = s;
  }
}

void Diagnostics::Add(Severity severity, const Source& source, size_t byte_offset,
                      std::string message, std::string hint) {
  Diagnostic d;
  d.severity = severity;
  d.file = source.name;
  std::string_view line_text;
  LocateOffset(source.text, byte_offset, &d.line, &d.column, &line_text);
  d.source_line = std::string(line_text);
  d.message = std::move(message);
  d.hint = std::move(hint);
  items_.push_back(std::move(d));
}

void Diagnostics::AddAt(Severity severity, const Source& source, uint32_t line, uint32_t column,
                        std::string message, std::string hint) {
  Diagnostic d;
  d.severity = severity;
  d.file = source.name;
  d.line = line;
  d.column = column;
  if (line > 0) d.source_line = std::string(LineText(source.text, line));
  d.message = std::move(message);
  d.hint = std::move(hint);
  items_.push_back(std::move(d));
}

void Diagnostics::AddFile(Severity severity, std::string file, std::string message) {
  Diagnostic d;
  d.severity = severity;
  d.file = std::move(file);
  d.message = std::move(message);
  items_.push_back(std::move(d));
}

size_t Diagnostics::error_count() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kError;
  }));
}

size_t Diagnostics::warning_count() const {
  return static_cast<size_t>(std::count_if(items_.begin(), items_.end(), [](const Diagnostic& d) {
    return d.severity == Severity::kWarning;
  }));
}

std::string Diagnostics::ToText() const {
  std::string out;
  for (const Diagnostic& d : items_) out += FormatDiagnostic(d);
  return out;
}

std::string Diagnostics::ToJson() const {
  std::string out = "[";
  for (size_t i = 0; i < items_.size(); ++i) {
    const Diagnostic& d = items_[i];
    if (i > 0) out += ",";
    out += "{\"file\":";
    AppendJsonString(d.file, &out);
    out += ",\"line\":";
    out += std::to_string(d.line);
    out += ",\"column\":";
    out += std::to_string(d.column);
    out += ",\"severity\":";
    AppendJsonString(SeverityName(d.severity), &out);
    out += ",\"message\":";
    AppendJsonString(d.message, &out);
    if (!d.hint.empty()) {
      out += ",\"hint\":";
      AppendJsonString(d.hint, &out);
    }
    out += "}";
  }
  out += "]";
  return out;
}

namespace {
// Lines longer than this many code points are shown as a window around the caret.
constexpr uint32_t kMaxShownLine = 200;
constexpr uint32_t kShownBefore = 100;
}  // namespace

std::string FormatDiagnostic(const Diagnostic& d) {
  std::string out = d.file;
  if (d.line > 0) {
    out += ':';
    out += std::to_string(d.line);
    out += ':';
    out += std::to_string(d.column);
  }
  out += ": ";
  out += SeverityName(d.severity);
  out += ": ";
  out += d.message;
  out += "\n";
  if (d.line > 0 && !d.source_line.empty()) {
    // A very long line is shown as a window around the caret, so a 20 KB line stays readable.
    std::string s = d.source_line;
    uint32_t to_skip = d.column > 0 ? d.column - 1 : 0;
    if (CountCodePoints(s) > kMaxShownLine) {
      auto offset_of = [&s](uint32_t code_points) {
        size_t i = 0;
        for (uint32_t k = 0; k < code_points && i < s.size(); ++k) {
          ++i;
          while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
        }
        return i;
      };
      const uint32_t first = to_skip > kShownBefore ? to_skip - kShownBefore : 0;
      size_t begin = offset_of(first);
      size_t end = offset_of(first + kMaxShownLine);
      std::string window = first > 0 ? "..." : "";
      window += s.substr(begin, end - begin);
      if (end < s.size()) window += "...";
      to_skip = to_skip - first + (first > 0 ? 3 : 0);
      s = std::move(window);
    }
    out += "  ";
    out += s;
    out += "\n  ";
    // The caret lines up under column `column` however the terminal expands tabs: the padding
    // copies the line's tabs and puts one space per other code point.
    size_t i = 0;
    for (uint32_t k = 0; k < to_skip; ++k) {
      if (i < s.size() && s[i] == '\t') {
        out += '\t';
      } else {
        out += ' ';
      }
      if (i < s.size()) {
        ++i;
        while (i < s.size() && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) ++i;
      }
    }
    out += "^\n";
  }
  if (!d.hint.empty()) {
    out += "  hint: ";
    out += d.hint;
    out += "\n";
  }
  return out;
}

const char* SeverityName(Severity s) {
  switch (s) {
    case Severity::kError:
      return "error";
    case Severity::kWarning:
      return "warning";
    case Severity::kNote:
      return "note";
  }
  return "error";
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += ", ";
    out += names[i];
  }
  return out;
}

std::string NearestName(std::string_view name, const std::vector<std::string>& candidates) {
  std::vector<uint32_t> target = CodePoints(name);
  std::vector<uint32_t> target_folded = CodePoints(Utf8Lower(name));
  size_t limit = std::max<size_t>(1, target.size() / 3);
  const std::string* best = nullptr;
  size_t best_distance = 0;
  size_t best_folded = 0;
  for (const std::string& candidate : candidates) {
    if (candidate.empty()) continue;
    std::vector<uint32_t> c = CodePoints(candidate);
    size_t length_gap =
        c.size() > target.size() ? c.size() - target.size() : target.size() - c.size();
    if (length_gap > limit) continue;  // The distance is at least the length difference.
    size_t distance = EditDistance(target, c);
    if (distance > limit) continue;
    // Among equally near names, one that differs only in case is the likelier slip.
    size_t folded = EditDistance(target_folded, CodePoints(Utf8Lower(candidate)));
    if (best == nullptr || distance < best_distance ||
        (distance == best_distance && folded < best_folded)) {
      best = &candidate;
      best_distance = distance;
      best_folded = folded;
    }
  }
  return best == nullptr ? std::string() : *best;
}

}  // namespace sellerflow::dsl
