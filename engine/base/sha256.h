// SHA-256 and HMAC-SHA-256 over OpenSSL's libcrypto: content hashes, identifiers, store digests and
// request signatures.
#ifndef SELLERFLOW_ENGINE_BASE_SHA256_H_
#define SELLERFLOW_ENGINE_BASE_SHA256_H_

#include <memory>
#include <string>
#include <string_view>

namespace sellerflow::engine {

// Incremental SHA-256, for digests over more data than should be held in memory at once. Feed
// bytes with Update in any number of pieces; HexDigest equals Sha256Hex of their concatenation.
// Owns its OpenSSL context. libcrypto failing (out of memory) throws std::runtime_error.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(std::string_view bytes);
  // Finishes: call once; the object is spent afterwards.
  std::string HexDigest();

 private:
  struct Context;
  std::unique_ptr<Context> ctx_;
};

// The 32 raw bytes of SHA-256(bytes), into `out`.
void Sha256Bytes(std::string_view bytes, unsigned char out[32]);
// Hex SHA-256 of bytes (64 lowercase hex digits).
std::string Sha256Hex(std::string_view bytes);
// The 32 raw bytes of HMAC-SHA-256(key, message).
std::string HmacSha256(std::string_view key, std::string_view message);
// Lowercase hex of raw bytes.
std::string Hex(std::string_view bytes);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_BASE_SHA256_H_
