// Diagnostics: definition mistakes collected with their positions and printed as file:line:col with
// a caret.
#ifndef SELLERFLOW_DSL_DIAGNOSTICS_H_
#define SELLERFLOW_DSL_DIAGNOSTICS_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sellerflow::dsl {

// A source text with the name diagnostics show for it (a path, or "<expr>").
struct Source {
  Source() = default;
  Source(std::string name_in, std::string text_in)
      : name(std::move(name_in)), text(std::move(text_in)) {}

  std::string name;
  std::string text;
  // Byte offsets where the lines of `text` start, built by the first Compiler that needs a position
  // and shared by every later one (a policy compiles each rules file once per machine). Set `text`
  // before the first compile and leave it.
  mutable std::vector<uint32_t> line_starts;
};

enum class Severity { kError, kWarning, kNote };

struct Diagnostic {
  Severity severity = Severity::kError;
  std::string file;
  uint32_t line = 0;    // 1-based; 0 when the problem has no position (an unreadable file).
  uint32_t column = 0;  // 1-based, in code points of the line.
  std::string message;
  std::string hint;         // Optional: "did you mean 'and'?"
  std::string source_line;  // The line's text, for the caret; empty when unknown.
};

// Collects diagnostics in the order found. Printing sorts nothing: each stage reports in source
// order, and stages run in order.
class Diagnostics {
 public:
  // Adds a diagnostic at a byte offset of `source`; line, column and the source line are derived.
  void Add(Severity severity, const Source& source, size_t byte_offset, std::string message,
           std::string hint = {});
  // Adds one at a known line and column of `source` (1-based).
  void AddAt(Severity severity, const Source& source, uint32_t line, uint32_t column,
             std::string message, std::string hint = {});
  // Adds one that has no position in a source (a file that cannot be read).
  void AddFile(Severity severity, std::string file, std::string message);
  void Append(Diagnostic d) { items_.push_back(std::move(d)); }

  const std::vector<Diagnostic>& items() const { return items_; }
  size_t error_count() const;
  size_t warning_count() const;
  bool has_errors() const { return error_count() > 0; }

  // file:line:col: error: message
  //   source line
  //        ^
  //   hint: ...
  std::string ToText() const;
  // [{"file":..., "line":..., "column":..., "severity":"error", "message":..., "hint":...}]
  std::string ToJson() const;

 private:
  std::vector<Diagnostic> items_;
};

std::string FormatDiagnostic(const Diagnostic& d);
const char* SeverityName(Severity s);

// 1-based line and column (in code points) of a byte offset, and the text of that line.
void LocateOffset(std::string_view text, size_t offset, uint32_t* line, uint32_t* column,
                  std::string_view* line_text);

// "a, b, c": names as a message lists them.
std::string JoinNames(const std::vector<std::string>& names);

// The candidate nearest to `name` by edit distance, if near enough to be a likely slip; else "".
std::string NearestName(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_DIAGNOSTICS_H_
