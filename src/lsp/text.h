// Where things are in a document as the Language Server Protocol counts (0-based lines, UTF-16
// code units) and as sellerflow does (1-based lines, code points or bytes), and file URIs.
#ifndef SELLERFLOW_SRC_LSP_TEXT_H_
#define SELLERFLOW_SRC_LSP_TEXT_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sellerflow::lsp {

// The path of a file:// URI, percent-decoded; "" for another scheme.
std::string UriToPath(std::string_view uri);
// The file:// URI of an absolute path, with the bytes a URI cannot hold percent-encoded.
std::string PathToUri(std::string_view path);

// The text of 0-based line `line` of `text`, without its line ending; empty past the last line.
std::string_view LineText(std::string_view text, uint32_t line);
// The byte offset in `text` where 0-based line `line` starts (the text's size past the end).
size_t LineStart(std::string_view text, uint32_t line);

// UTF-16 code units in the first `bytes` bytes of `line` (a cut code point counts whole; a byte
// that is not UTF-8 counts as one unit, as an editor shows it as one replacement character).
uint32_t Utf16Units(std::string_view line, size_t bytes);
// The byte offset of the code unit `units` of `line` (its size when past the end; inside a
// surrogate pair, the pair's code point).
size_t ByteOfUtf16(std::string_view line, uint32_t units);
// The byte offset of the code point `code_points` of `line` (its size when past the end).
size_t ByteOfCodePoint(std::string_view line, uint32_t code_points);

}  // namespace sellerflow::lsp

#endif  // SELLERFLOW_SRC_LSP_TEXT_H_
