// JSON-RPC framing: Content-Length headers in, Content-Length headers out.
#include "src/lsp/json_rpc.h"

#include <cctype>
#include <cstdint>

namespace sellerflow::lsp {

bool MessageReader::ReadLine(std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  int c;
  while ((c = std::getc(in_)) != EOF) {
    if (c == '\n') {
      if (!line->empty() && line->back() == '\r') line->pop_back();
      return true;
    }
    if (line->size() < max_header_line_)
      line->push_back(static_cast<char>(c));
    else
      *too_long = true;
  }
  return false;
}

MessageReader::Result MessageReader::Read(std::string* content) {
  content->clear();
  std::string line;
  bool too_long = false;
  bool any_line = false;
  bool bad = false;
  bool has_length = false;
  uint64_t length = 0;
  for (;;) {
    if (!ReadLine(&line, &too_long)) return Result::kEnd;
    if (line.empty()) {
      // Blank lines before any header are stray line endings, not an empty header block.
      if (!any_line) continue;
      break;
    }
    any_line = true;
    if (too_long) {
      bad = true;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) {
      bad = true;
      continue;
    }
    std::string name = line.substr(0, colon);
    for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (name != "content-length") continue;  // Content-Type and the like change nothing.
    size_t i = colon + 1;
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    uint64_t n = 0;
    size_t digits = 0;
    for (; i < line.size() && std::isdigit(static_cast<unsigned char>(line[i])); ++i, ++digits) {
      if (n > (UINT64_MAX - 9) / 10) {
        bad = true;
        break;
      }
      n = n * 10 + static_cast<uint64_t>(line[i] - '0');
    }
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (digits == 0 || i != line.size()) {
      bad = true;
      continue;
    }
    has_length = true;
    length = n;
  }
  if (bad || !has_length) return Result::kBadHeader;
  if (length > max_content_) {
    // Read past it in small pieces, so that the stream stays in step with the client.
    char buffer[4096];
    while (length > 0) {
      const size_t want = length < sizeof buffer ? static_cast<size_t>(length) : sizeof buffer;
      const size_t got = std::fread(buffer, 1, want, in_);
      if (got == 0) return Result::kEnd;
      length -= got;
    }
    return Result::kTooLarge;
  }
  content->resize(static_cast<size_t>(length));
  size_t done = 0;
  while (done < content->size()) {
    const size_t got = std::fread(content->data() + done, 1, content->size() - done, in_);
    if (got == 0) return Result::kEnd;
    done += got;
  }
  return Result::kMessage;
}

void WriteMessage(std::FILE* out, const nlohmann::json& message) {
  const std::string body = message.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::fprintf(out, "Content-Length: %zu\r\n\r\n", body.size());
  std::fwrite(body.data(), 1, body.size(), out);
  std::fflush(out);
}

}  // namespace sellerflow::lsp
