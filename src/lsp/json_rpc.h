// JSON-RPC 2.0 framing as the Language Server Protocol uses it: messages preceded by a
// Content-Length header, read from and written to byte streams.
#ifndef SELLERFLOW_SRC_LSP_JSON_RPC_H_
#define SELLERFLOW_SRC_LSP_JSON_RPC_H_

#include <cstddef>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

namespace sellerflow::lsp {

// The error codes of JSON-RPC and LSP that the server answers with.
enum RpcError : int {
  kParseError = -32700,
  kInvalidRequest = -32600,
  kMethodNotFound = -32601,
  kInvalidParams = -32602,
  kInternalError = -32603,
  kServerNotInitialized = -32002,
};

class MessageReader {
 public:
  enum class Result {
    kMessage,    // *content holds one message's bytes (not yet known to be JSON).
    kEnd,        // The stream ended (between messages, or inside one: the client is gone).
    kBadHeader,  // The header block had no usable Content-Length; skipped to its blank line.
    kTooLarge,   // Content-Length was over the limit; the content was read and dropped.
  };

  // `max_content` bounds what one message may hold in memory.
  MessageReader(std::FILE* in, size_t max_content, size_t max_header_line)
      : in_(in), max_content_(max_content), max_header_line_(max_header_line) {}

  Result Read(std::string* content);

 private:
  // One header line without its line ending; false at the end of the stream. A line longer than
  // the limit is read to its end and kept cut, so it is not mistaken for a header.
  bool ReadLine(std::string* line, bool* too_long);

  std::FILE* in_;
  size_t max_content_;
  size_t max_header_line_;
};

// Writes one message with its header and flushes. Strings that are not UTF-8 (a file's bytes in a
// diagnostic) are written with U+FFFD in place of the bad bytes rather than failing the message.
void WriteMessage(std::FILE* out, const nlohmann::json& message);

}  // namespace sellerflow::lsp

#endif  // SELLERFLOW_SRC_LSP_JSON_RPC_H_
