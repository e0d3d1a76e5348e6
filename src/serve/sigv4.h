// Verifying AWS Signature Version 4 on a request, as the AWS CLI and the SDKs sign Catalog API
// calls: who sent a request is what its signature proves, never what its body says.
#ifndef SELLERFLOW_SRC_SERVE_SIGV4_H_
#define SELLERFLOW_SRC_SERVE_SIGV4_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sellerflow::serve {

// A request as it arrived, before any decoding: the signature covers the raw bytes. Borrowed: the
// caller keeps the strings alive for the duration of a call.
struct RawRequest {
  std::string_view method;  // "POST".
  std::string_view path;    // The raw path, before '?': "/StartChangeSet".
  std::string_view query;   // The raw query, after '?', still percent-encoded; empty if none.
  // Header names as sent (any case), values untrimmed; a header sent twice appears twice.
  std::vector<std::pair<std::string_view, std::string_view>> headers;
  std::string_view body;
};

// One access key of the credentials file.
struct AccessKey {
  std::string access_key_id;
  std::string secret_access_key;
  std::string actor;  // Who requests signed with this key act as: "seller:111122223333".
};

struct SigV4Options {
  std::string service = "aws-marketplace";  // The signing name in the credential scope.
  int64_t max_skew_seconds = 15 * 60;       // How far X-Amz-Date may be from the server's clock.
};

// What verification decided. On failure `status` and `error_code` are what AWS answers (403 with
// MissingAuthenticationTokenException, IncompleteSignatureException, UnrecognizedClientException
// or InvalidSignatureException) and `message` says what was wrong, without revealing the expected
// signature. On success `key` points into the caller's key set.
struct SigV4Result {
  bool ok = false;
  int status = 403;
  std::string error_code;
  std::string message;
  const AccessKey* key = nullptr;
};

// Finds the key of an access key id, or nullptr. Must not throw.
using KeyLookup = std::function<const AccessKey*(std::string_view access_key_id)>;

// Verifies `request`'s Authorization header against the key it names, at `now` (seconds since the
// Unix epoch, UTC). The payload hash is computed here from the body, never taken from the client
// (a sent x-amz-content-sha256 must equal it). Signatures are compared in constant time. A request
// signed twice in one second is byte-identical (client retries), so there is no replay cache.
SigV4Result VerifySigV4(const RawRequest& request, const KeyLookup& lookup, int64_t now,
                        const SigV4Options& options = {});

// The pieces of the canonical request, exposed for tests and for signing in the load generator.
// CanonicalQuery: the raw query's pairs, %XX-decoded (a '+' stays a '+'), re-encoded as RFC 3986
// with upper-case hex, sorted by name then value, joined with '&'.
std::string CanonicalQuery(std::string_view raw_query);
// RFC 3986 encoding of bytes: unreserved characters kept; '/' too when `keep_slash`.
std::string UriEncode(std::string_view bytes, bool keep_slash);

// Signs a request as the clients do, for tests and the load generator: returns the Authorization
// header's value for the given headers (which must include host and x-amz-date; every header
// given is signed, its name lower-cased).
std::string SignSigV4(std::string_view method, std::string_view path, std::string_view query,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view body, const AccessKey& key, std::string_view region,
                      const SigV4Options& options = {});

// Parses X-Amz-Date's form, YYYYMMDDTHHMMSSZ, into seconds since the epoch; false if malformed or
// not a real time.
bool ParseAmzDate(std::string_view text, int64_t* seconds);

}  // namespace sellerflow::serve

#endif  // SELLERFLOW_SRC_SERVE_SIGV4_H_
