// Identifiers in the Catalog API's form, derived from counters.
#include "engine/base/ids.h"

#include <stdexcept>

#include "engine/base/sha256.h"

namespace sellerflow::engine {

namespace {

constexpr char kChangeSetPrefix[] = "cs-";
constexpr size_t kSeqDigits = 7;  // 32^7: 34 billion change sets.
constexpr size_t kIdLength = 25;  // After the prefix, as the Catalog API's change set ids.
constexpr char kSorted[] =
    "234567abcdefghijklmnopqrstuvwxyz";  // MakeId's alphabet, in ASCII order.

}  // namespace

std::string MakeId(const std::string& prefix, const std::string& salt, int64_t n, size_t length) {
  static const char kAlphabet[] = "abcdefghijklmnopqrstuvwxyz234567";
  if (length > 32) throw std::out_of_range("MakeId: at most 32 characters");
  unsigned char hash[32];
  Sha256Bytes(salt + ":" + std::to_string(n), hash);
  std::string out = prefix;
  out.reserve(prefix.size() + length);
  // Byte i of the hash picks letter i (the hex digits 2i and 2i+1 read as a number).
  for (size_t i = 0; i < length; ++i) out += kAlphabet[hash[i] % 32];
  return out;
}

std::string ChangeSetId(int64_t seq) {
  std::string out = kChangeSetPrefix;
  for (size_t i = kSeqDigits; i-- > 0;) out += kSorted[(seq >> (5 * i)) & 31];
  return out + MakeId("", "change_set", seq, kIdLength - kSeqDigits);
}

int64_t ChangeSetSeq(std::string_view id) {
  const std::string_view prefix = kChangeSetPrefix;
  if (id.size() != prefix.size() + kIdLength || id.substr(0, prefix.size()) != prefix) return 0;
  int64_t seq = 0;
  for (size_t i = 0; i < kSeqDigits; ++i) {
    const char c = id[prefix.size() + i];
    int digit = -1;
    if (c >= '2' && c <= '7') digit = c - '2';
    if (c >= 'a' && c <= 'z') digit = 6 + (c - 'a');
    if (digit < 0) return 0;
    seq = seq * 32 + digit;
  }
  return seq > 0 && ChangeSetId(seq) == id ? seq : 0;
}

}  // namespace sellerflow::engine
