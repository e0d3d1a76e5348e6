// Incremental SHA-256, for digests over more data than should be held in memory at once.
#ifndef SELLERFLOW_ENGINE_SHA256_H_
#define SELLERFLOW_ENGINE_SHA256_H_

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sellerflow::engine {

// Feed bytes with Update in any number of pieces; HexDigest equals Sha256Hex of their
// concatenation.
class Sha256 {
 public:
  Sha256();
  void Update(std::string_view bytes);
  // Pads and finishes: call once; the object is spent afterwards.
  std::string HexDigest();

 private:
  std::array<uint32_t, 8> state_;
  std::array<unsigned char, 64> block_;
  size_t buffered_ = 0;  // Bytes waiting in block_.
  uint64_t length_ = 0;  // Bytes fed so far.
};

// Hex SHA-256 of bytes.
std::string Sha256Hex(std::string_view bytes);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_SHA256_H_
