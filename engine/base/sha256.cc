// SHA-256 and HMAC-SHA-256 through libcrypto, which picks the CPU's SHA extensions itself.
#include "engine/base/sha256.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <memory>
#include <stdexcept>

namespace sellerflow::engine {

struct Sha256::Context {
  EVP_MD_CTX* md = nullptr;
  ~Context() { EVP_MD_CTX_free(md); }
};

namespace {

[[noreturn]] void Fail(const char* what) {
  throw std::runtime_error(std::string("libcrypto: ") + what + " failed");
}

// SHA-256 fetched once: EVP_sha256() makes every EVP_DigestInit look the algorithm up again in
// libcrypto's provider tables (under a lock), which cost more than hashing a short id.
const EVP_MD* Md() {
  static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  if (md == nullptr) Fail("SHA-256 fetch");
  return md;
}

// One context per thread, reset for each one-shot hash instead of allocated and freed.
EVP_MD_CTX* OneShotContext() {
  thread_local std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                           &EVP_MD_CTX_free);
  if (ctx == nullptr) Fail("SHA-256 context");
  return ctx.get();
}

}  // namespace

Sha256::Sha256() : ctx_(std::make_unique<Context>()) {
  ctx_->md = EVP_MD_CTX_new();
  if (ctx_->md == nullptr || EVP_DigestInit_ex(ctx_->md, Md(), nullptr) != 1)
    Fail("SHA-256 init");
}

Sha256::~Sha256() = default;

void Sha256::Update(std::string_view bytes) {
  if (EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size()) != 1) Fail("SHA-256 update");
}

std::string Sha256::HexDigest() {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_DigestFinal_ex(ctx_->md, out, &n) != 1) Fail("SHA-256 final");
  return Hex(std::string_view(reinterpret_cast<const char*>(out), n));
}

void Sha256Bytes(std::string_view bytes, unsigned char out[32]) {
  EVP_MD_CTX* ctx = OneShotContext();
  unsigned int n = 0;
  if (EVP_DigestInit_ex(ctx, Md(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx, bytes.data(), bytes.size()) != 1 ||
      EVP_DigestFinal_ex(ctx, out, &n) != 1 || n != 32)
    Fail("SHA-256");
}

std::string Sha256Hex(std::string_view bytes) {
  unsigned char out[32];
  Sha256Bytes(bytes, out);
  return Hex(std::string_view(reinterpret_cast<const char*>(out), sizeof out));
}

std::string HmacSha256(std::string_view key, std::string_view message) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(message.data()), message.size(), out,
           &n) == nullptr)
    Fail("HMAC-SHA-256");
  return std::string(reinterpret_cast<const char*>(out), n);
}

std::string Hex(std::string_view bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string hex(bytes.size() * 2, '0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    hex[2 * i] = kDigits[b >> 4];
    hex[2 * i + 1] = kDigits[b & 15];
  }
  return hex;
}

}  // namespace sellerflow::engine
