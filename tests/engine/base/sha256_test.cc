// Tests of the hashes over libcrypto: the FIPS 180-4 and RFC 4231 vectors, so that identifiers and
// digests stay what they were with the hand-written SHA-256.
#include "engine/base/sha256.h"

#include <catch2/catch.hpp>
#include <string>

namespace sellerflow::engine {
namespace {

TEST_CASE("sha256: Sha256Hex matches the FIPS 180-4 test vectors", "[sha256]") {
  CHECK(Sha256Hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(Sha256Hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  // 56 bytes: the length no longer fits the first block.
  CHECK(Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq") ==
        "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  CHECK(Sha256Hex(std::string(1000000, 'a')) ==
        "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
  // Block boundaries: 55, 63 and 64 bytes.
  CHECK(Sha256Hex(std::string(55, 'a')) ==
        "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
  CHECK(Sha256Hex(std::string(64, 'a')) ==
        "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
}

constexpr char kMachine[] = R"(# A small machine with every kind of part.
machine: request
change_type: Publish
entity_type: Widget@1.0
description: Publish a widget.
input:
  Title: {type: string, min_length: 1, max_length: 72, pattern: "[A-Z].*"}
  Visibility: {type: string, one_of: [Public, Limited]}
  Tags?: {type: list<string>, max_items: 3, items: {type: string, max_length: 20}}
  Price?: {type: decimal, minimum: 0, maximum: "99.5"}
  Size:
    fields:
      Width: int
      Height?: int
events:
  approve: [operations]
  reject:
    actors: [operations, seller]
    data:
      Reason: string
states:
  Submitted: {initial: true, status: PREPARING}
  Review: {status: APPLYING, description: Waiting.}
  Done: {final: true, status: SUCCEEDED}
  Failed: {final: true, status: FAILED}
transitions:
  - {from: Submitted, to: Review}
  - {from: Review, to: Done, on: approve, rules: [title_ok], if: details.Visibility == "Public"}
  - from: [Submitted, Review]
    to: Failed
    on: reject
    actions:
      - fail: AUDIT_ERROR
        message: "Rejected: {event.Reason}"
)";

TEST_CASE("sha256: Sha256 fed in pieces equals the one-shot hash", "[sha256]") {
  std::string data;
  for (int i = 0; i < 1000; ++i) data += static_cast<char>('a' + i % 26);
  for (size_t piece : {1, 7, 55, 63, 64, 65, 200}) {
    Sha256 h;
    for (size_t at = 0; at < data.size(); at += piece)
      h.Update(std::string_view(data).substr(at, piece));
    CHECK(h.HexDigest() == Sha256Hex(data));
  }
  Sha256 empty;
  CHECK(empty.HexDigest() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("sha256: HmacSha256 matches the RFC 4231 test vectors", "[sha256]") {
  CHECK(Hex(HmacSha256(std::string(20, '\x0b'), "Hi There")) ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(Hex(HmacSha256("Jefe", "what do ya want for nothing?")) ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // A key longer than the block is hashed first.
  CHECK(Hex(HmacSha256(std::string(131, '\xaa'),
                       "Test Using Larger Than Block-Size Key - Hash Key First")) ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

}  // namespace
}  // namespace sellerflow::engine
