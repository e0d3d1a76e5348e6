// AWS Signature Version 4 verification: the canonical request, the string to sign, the derived key.
#include "src/serve/sigv4.h"

#include <openssl/crypto.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "engine/base/sha256.h"

namespace sellerflow::serve {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

bool IEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// A header's value as SigV4 canonicalises it: trimmed, inner runs of blanks made one space.
std::string CanonicalValue(std::string_view v) {
  v = Trim(v);
  std::string out;
  bool blank = false;
  for (char c : v) {
    if (c == ' ' || c == '\t') {
      blank = true;
      continue;
    }
    if (blank) out += ' ';
    blank = false;
    out += c;
  }
  return out;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// %XX decoding only: a '+' is a '+' (the clients encode a space as %20), and a '%' not followed
// by two hex digits stays as it is.
std::string PercentDecode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += s[i];
  }
  return out;
}

// The value of the first header named `name` (any case), joined with later ones by ','.
bool HeaderValue(const RawRequest& r, std::string_view name, std::string* out) {
  bool found = false;
  out->clear();
  for (const auto& [k, v] : r.headers) {
    if (!IEquals(k, name)) continue;
    if (found) *out += ',';
    *out += CanonicalValue(v);
    found = true;
  }
  return found;
}

std::string FormatAmzDate(int64_t t) {
  int64_t days = t / 86400, secs = t % 86400;
  if (secs < 0) {
    secs += 86400;
    --days;
  }
  // Civil from days (Howard Hinnant's algorithm).
  days += 719468;
  const int64_t era = (days >= 0 ? days : days - 146096) / 146097;
  const int64_t doe = days - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  char buf[128];
  std::snprintf(buf, sizeof buf, "%04lld%02lld%02lldT%02lld%02lld%02lldZ",
                static_cast<long long>(y), static_cast<long long>(m), static_cast<long long>(d),
                static_cast<long long>(secs / 3600), static_cast<long long>(secs / 60 % 60),
                static_cast<long long>(secs % 60));
  return buf;
}

std::string SigningKey(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
  std::string k = engine::HmacSha256("AWS4" + std::string(secret), date);
  k = engine::HmacSha256(k, region);
  k = engine::HmacSha256(k, service);
  return engine::HmacSha256(k, "aws4_request");
}

std::string StringToSign(std::string_view amz_date, std::string_view scope,
                         std::string_view canonical_request) {
  std::string s(kAlgorithm);
  s += '\n';
  s += amz_date;
  s += '\n';
  s += scope;
  s += '\n';
  s += engine::Sha256Hex(canonical_request);
  return s;
}

SigV4Result Fail(std::string code, std::string message) {
  SigV4Result r;
  r.error_code = std::move(code);
  r.message = std::move(message);
  return r;
}

// The fields of "AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...".
struct Authorization {
  std::string credential, signed_headers, signature;
};

bool ParseAuthorization(std::string_view header, Authorization* a, std::string* error) {
  std::string_view rest = Trim(header);
  if (rest.substr(0, kAlgorithm.size()) != kAlgorithm ||
      (rest.size() > kAlgorithm.size() && rest[kAlgorithm.size()] != ' ')) {
    *error = "Unsupported Authorization algorithm: expected AWS4-HMAC-SHA256";
    return false;
  }
  rest.remove_prefix(kAlgorithm.size());
  while (!rest.empty()) {
    size_t comma = rest.find(',');
    std::string_view part = Trim(rest.substr(0, comma));
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    if (part.empty()) continue;
    size_t eq = part.find('=');
    if (eq == std::string_view::npos) {
      *error = "Authorization header has a malformed part: '" + std::string(part) + "'";
      return false;
    }
    std::string_view key = part.substr(0, eq), value = part.substr(eq + 1);
    std::string* slot = key == "Credential"      ? &a->credential
                        : key == "SignedHeaders" ? &a->signed_headers
                        : key == "Signature"     ? &a->signature
                                                 : nullptr;
    if (slot == nullptr) continue;  // AWS ignores parts it does not know.
    *slot = std::string(value);
  }
  for (const auto& [name, value] :
       {std::pair<const char*, const std::string*>{"Credential", &a->credential},
        {"SignedHeaders", &a->signed_headers},
        {"Signature", &a->signature}}) {
    if (value->empty()) {
      *error = std::string("Authorization header requires '") + name +
               "' parameter. Authorization=" + std::string(Trim(header).substr(0, 64));
      return false;
    }
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t at = s.find(sep, start);
    out.push_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

std::string CanonicalRequest(std::string_view method, std::string_view path, std::string_view query,
                             const std::string& canonical_headers, std::string_view signed_headers,
                             std::string_view payload_hash) {
  std::string c(method);
  c += '\n';
  c += path.empty() ? std::string("/") : UriEncode(path, true);
  c += '\n';
  c += CanonicalQuery(query);
  c += '\n';
  c += canonical_headers;
  c += '\n';
  c += signed_headers;
  c += '\n';
  c += payload_hash;
  return c;
}

}  // namespace

std::string UriEncode(std::string_view bytes, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(bytes.size());
  for (unsigned char c : bytes) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' ||
        (keep_slash && c == '/')) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string CanonicalQuery(std::string_view raw_query) {
  if (raw_query.empty()) return "";
  std::vector<std::pair<std::string, std::string>> pairs;
  for (std::string_view item : Split(raw_query, '&')) {
    if (item.empty()) continue;
    size_t eq = item.find('=');
    std::string_view k = item.substr(0, eq);
    std::string_view v = eq == std::string_view::npos ? std::string_view() : item.substr(eq + 1);
    pairs.emplace_back(UriEncode(PercentDecode(k), false), UriEncode(PercentDecode(v), false));
  }
  std::sort(pairs.begin(), pairs.end());
  std::string out;
  for (const auto& [k, v] : pairs) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

bool ParseAmzDate(std::string_view t, int64_t* seconds) {
  if (t.size() != 16 || t[8] != 'T' || t[15] != 'Z') return false;
  auto num = [&](size_t at, size_t n, int64_t* out) {
    *out = 0;
    for (size_t i = at; i < at + n; ++i) {
      if (t[i] < '0' || t[i] > '9') return false;
      *out = *out * 10 + (t[i] - '0');
    }
    return true;
  };
  int64_t y, mo, d, h, mi, s;
  if (!num(0, 4, &y) || !num(4, 2, &mo) || !num(6, 2, &d) || !num(9, 2, &h) || !num(11, 2, &mi) ||
      !num(13, 2, &s))
    return false;
  static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  if (mo < 1 || mo > 12 || d < 1 || d > kDays[mo - 1] + (mo == 2 && leap) || h > 23 || mi > 59 ||
      s > 59)
    return false;
  // Days from civil (Howard Hinnant's algorithm).
  const int64_t yy = y - (mo <= 2);
  const int64_t era = (yy >= 0 ? yy : yy - 399) / 400;
  const int64_t yoe = yy - era * 400;
  const int64_t doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *seconds = (era * 146097 + doe - 719468) * 86400 + h * 3600 + mi * 60 + s;
  return true;
}

SigV4Result VerifySigV4(const RawRequest& request, const KeyLookup& lookup, int64_t now,
                        const SigV4Options& options) {
  std::string header;
  if (!HeaderValue(request, "authorization", &header))
    return Fail("MissingAuthenticationTokenException", "Missing Authentication Token");
  Authorization auth;
  std::string error;
  if (!ParseAuthorization(header, &auth, &error))
    return Fail("IncompleteSignatureException", error);

  // Credential=AKID/YYYYMMDD/region/service/aws4_request
  std::vector<std::string_view> scope = Split(auth.credential, '/');
  if (scope.size() != 5 || scope[0].empty() || scope[1].size() != 8 || scope[2].empty() ||
      scope[4] != "aws4_request")
    return Fail("IncompleteSignatureException",
                "Credential must have the form ACCESS_KEY/YYYYMMDD/REGION/SERVICE/aws4_request, "
                "not '" +
                    auth.credential + "'");
  if (scope[3] != options.service)
    return Fail("InvalidSignatureException",
                "Credential should be scoped to correct service: '" + options.service + "'.");

  std::string amz_date;
  if (!HeaderValue(request, "x-amz-date", &amz_date))
    return Fail("IncompleteSignatureException",
                "Authorization header requires existence of a 'X-Amz-Date' header.");
  int64_t signed_at = 0;
  if (!ParseAmzDate(amz_date, &signed_at))
    return Fail("IncompleteSignatureException",
                "X-Amz-Date must be YYYYMMDDTHHMMSSZ, not '" + amz_date + "'");
  if (amz_date.substr(0, 8) != scope[1])
    return Fail("InvalidSignatureException",
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
                "from HTTP: '" +
                    std::string(scope[1]) + "' != '" + amz_date.substr(0, 8) + "'");
  if (signed_at < now - options.max_skew_seconds)
    return Fail("InvalidSignatureException",
                "Signature expired: " + amz_date + " is now earlier than " +
                    FormatAmzDate(now - options.max_skew_seconds) + " (" + FormatAmzDate(now) +
                    " - " + std::to_string(options.max_skew_seconds / 60) + " min.)");
  if (signed_at > now + options.max_skew_seconds)
    return Fail("InvalidSignatureException",
                "Signature not yet current: " + amz_date + " is still later than " +
                    FormatAmzDate(now + options.max_skew_seconds) + " (" + FormatAmzDate(now) +
                    " + " + std::to_string(options.max_skew_seconds / 60) + " min.)");

  // The signed headers: lower-case, sorted, each present; host and x-amz-date among them, and a
  // session token, when sent, signed too (else it could be swapped).
  std::vector<std::string_view> names = Split(auth.signed_headers, ';');
  if (!std::is_sorted(names.begin(), names.end()) ||
      std::adjacent_find(names.begin(), names.end()) != names.end())
    return Fail("InvalidSignatureException",
                "SignedHeaders must be sorted and distinct: '" + auth.signed_headers + "'");
  std::string canonical_headers, value;
  for (std::string_view name : names) {
    if (name.empty() || Lower(name) != name)
      return Fail("InvalidSignatureException",
                  "SignedHeaders must be lower-case names: '" + auth.signed_headers + "'");
    if (!HeaderValue(request, name, &value))
      return Fail("InvalidSignatureException",
                  "The header '" + std::string(name) + "' is signed but was not sent");
    canonical_headers += name;
    canonical_headers += ':';
    canonical_headers += value;
    canonical_headers += '\n';
  }
  for (const char* needed : {"host", "x-amz-date"})
    if (std::find(names.begin(), names.end(), needed) == names.end())
      return Fail("InvalidSignatureException",
                  std::string("The header '") + needed + "' must be signed");
  if (HeaderValue(request, "x-amz-security-token", &value) &&
      std::find(names.begin(), names.end(), "x-amz-security-token") == names.end())
    return Fail("InvalidSignatureException", "The header 'x-amz-security-token' must be signed");

  const AccessKey* key = lookup(scope[0]);
  if (key == nullptr)
    return Fail("UnrecognizedClientException",
                "The security token included in the request is invalid.");

  const std::string payload_hash = engine::Sha256Hex(request.body);
  if (HeaderValue(request, "x-amz-content-sha256", &value) && value != payload_hash)
    return Fail("InvalidSignatureException",
                "x-amz-content-sha256 does not match the SHA-256 of the body");

  const std::string canonical =
      CanonicalRequest(request.method, request.path, request.query, canonical_headers,
                       auth.signed_headers, payload_hash);
  const std::string scope_text = std::string(scope[1]) + "/" + std::string(scope[2]) + "/" +
                                 std::string(scope[3]) + "/aws4_request";
  const std::string expected = engine::Hex(
      engine::HmacSha256(SigningKey(key->secret_access_key, scope[1], scope[2], scope[3]),
                         StringToSign(amz_date, scope_text, canonical)));
  if (auth.signature.size() != expected.size() ||
      CRYPTO_memcmp(auth.signature.data(), expected.data(), expected.size()) != 0)
    return Fail("InvalidSignatureException",
                "The request signature we calculated does not match the signature you provided. "
                "Check your AWS Secret Access Key and signing method.");
  SigV4Result ok;
  ok.ok = true;
  ok.status = 200;
  ok.key = key;
  return ok;
}

std::string SignSigV4(std::string_view method, std::string_view path, std::string_view query,
                      const std::vector<std::pair<std::string, std::string>>& headers,
                      std::string_view body, const AccessKey& key, std::string_view region,
                      const SigV4Options& options) {
  std::vector<std::pair<std::string, std::string>> sorted;
  std::string amz_date;
  for (const auto& [k, v] : headers) {
    sorted.emplace_back(Lower(k), CanonicalValue(v));
    if (sorted.back().first == "x-amz-date") amz_date = sorted.back().second;
  }
  std::sort(sorted.begin(), sorted.end());
  std::string canonical_headers, signed_headers;
  for (const auto& [k, v] : sorted) {
    canonical_headers += k + ":" + v + "\n";
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += k;
  }
  const std::string date = amz_date.substr(0, 8);
  const std::string scope =
      date + "/" + std::string(region) + "/" + options.service + "/aws4_request";
  const std::string canonical = CanonicalRequest(method, path, query, canonical_headers,
                                                 signed_headers, engine::Sha256Hex(body));
  const std::string signature = engine::Hex(
      engine::HmacSha256(SigningKey(key.secret_access_key, date, region, options.service),
                         StringToSign(amz_date, scope, canonical)));
  return std::string(kAlgorithm) + " Credential=" + key.access_key_id + "/" + scope +
         ", SignedHeaders=" + signed_headers + ", Signature=" + signature;
}

}  // namespace sellerflow::serve
