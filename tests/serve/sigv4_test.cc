// SigV4 verification against requests the real clients signed (catalog API wire captures) and
// AWS's public test vector, and every way a request can be tampered with.
#include "src/serve/sigv4.h"

#include <catch2/catch.hpp>
#include <string>

namespace sellerflow::serve {
namespace {

const AccessKey kKey{"AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                     "seller:111122223333"};

KeyLookup Only(const AccessKey& key) {
  return [&key](std::string_view id) { return id == key.access_key_id ? &key : nullptr; };
}

int64_t At(const char* amz_date) {
  int64_t t = 0;
  REQUIRE(ParseAmzDate(amz_date, &t));
  return t;
}

// The AWS CLI 1.45's StartChangeSet, as it arrived (headers in their order and case).
struct Captured {
  std::string body =
      "{\"Catalog\": \"AWSMarketplace\", \"ChangeSet\": [{\"ChangeType\": \"UpdateInformation\", "
      "\"Entity\": {\"Type\": \"SaaSProduct@1.0\", \"Identifier\": \"prod-abc\"}, \"Details\": "
      "\"{\\\"ProductTitle\\\":\\\"New title\\\"}\"}], \"ChangeSetName\": \"demo\", "
      "\"ChangeSetTags\": [{\"Key\": \"team\", \"Value\": \"alpha\"}], \"ClientRequestToken\": "
      "\"02fc2eab-5aeb-425c-8cfd-974e8a4e6551\"}";
  std::string host = "127.0.0.1:18734";
  std::string content_type = "application/json";
  std::string user_agent = "aws-cli/1.45.11 md/Botocore#1.43.11 ua/2.1 os/linux";
  std::string date = "20261206T015238Z";
  std::string authorization =
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/aws-marketplace/aws4_request, "
      "SignedHeaders=content-type;host;x-amz-date, "
      "Signature=9b6db8ef803500ac53b0e1fb42df1fe9c5a28ddead6617fa421229a467b2dff3";
  std::string method = "POST";
  std::string path = "/StartChangeSet";
  std::string query;

  RawRequest View() const {
    RawRequest r;
    r.method = method;
    r.path = path;
    r.query = query;
    r.body = body;
    r.headers = {{"Host", host},
                 {"Accept-Encoding", "identity"},
                 {"Content-Type", content_type},
                 {"User-Agent", user_agent},
                 {"X-Amz-Date", date},
                 {"Authorization", authorization},
                 {"Content-Length", std::to_string(body.size())}};
    return r;
  }
};

SigV4Result Verify(const Captured& c, int64_t now = At("20261206T015238Z")) {
  return VerifySigV4(c.View(), Only(kKey), now);
}

TEST_CASE("sigv4: the AWS CLI's captured StartChangeSet verifies", "[sigv4]") {
  Captured c;
  SigV4Result r = Verify(c);
  INFO(r.message);
  REQUIRE(r.ok);
  CHECK(r.key->actor == "seller:111122223333");
  // Unsigned headers may change; header names in any case.
  c.user_agent = "something else";
  CHECK(Verify(c).ok);
}

TEST_CASE("sigv4: signing reproduces the client's signature", "[sigv4]") {
  Captured c;
  CHECK(SignSigV4("POST", "/StartChangeSet", "",
                  {{"Content-Type", "application/json"},
                   {"Host", "127.0.0.1:18734"},
                   {"X-Amz-Date", "20261206T015238Z"}},
                  c.body, kKey, "us-east-1") == c.authorization);
}

TEST_CASE("sigv4: AWS's get-vanilla test vector", "[sigv4]") {
  SigV4Options options;
  options.service = "service";
  RawRequest r;
  r.method = "GET";
  r.path = "/";
  r.headers = {{"Host", "example.amazonaws.com"},
               {"X-Amz-Date", "20150830T123600Z"},
               {"Authorization",
                "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                "SignedHeaders=host;x-amz-date, "
                "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"}};
  SigV4Result v = VerifySigV4(r, Only(kKey), At("20150830T123600Z"), options);
  INFO(v.message);
  CHECK(v.ok);
}

TEST_CASE("sigv4: the canonical query decodes %XX only and re-encodes as RFC 3986", "[sigv4]") {
  CHECK(CanonicalQuery("catalog=AWSMarketplace&entityId=a%20b%2Fc~d%2Be%3Df%26g%2Ah%25i") ==
        "catalog=AWSMarketplace&entityId=a%20b%2Fc~d%2Be%3Df%26g%2Ah%25i");
  CHECK(CanonicalQuery("b=2&a=1") == "a=1&b=2");
  CHECK(CanonicalQuery("a=%7E") == "a=~");
  CHECK(CanonicalQuery("a=x+y") == "a=x%2By");  // A '+' is a plus, not a space.
  CHECK(CanonicalQuery("entityId=prod%C3%A9") == "entityId=prod%C3%A9");
  CHECK(CanonicalQuery("") == "");
  CHECK(CanonicalQuery("flag") == "flag=");
}

TEST_CASE("sigv4: a tampered request is refused", "[sigv4]") {
  SECTION("one byte of the body") {
    Captured c;
    c.body[c.body.size() - 3] = 'X';
    SigV4Result r = Verify(c);
    CHECK_FALSE(r.ok);
    CHECK(r.status == 403);
    CHECK(r.error_code == "InvalidSignatureException");
    CHECK(r.message.find("does not match") != std::string::npos);
  }
  SECTION("the method") {
    Captured c;
    c.method = "PUT";
    CHECK(Verify(c).error_code == "InvalidSignatureException");
  }
  SECTION("a signed header's value") {
    Captured c;
    c.content_type = "application/x-amz-json-1.1";
    CHECK(Verify(c).error_code == "InvalidSignatureException");
  }
  SECTION("the Host's port") {
    Captured c;
    c.host = "127.0.0.1:18735";
    CHECK(Verify(c).error_code == "InvalidSignatureException");
  }
  SECTION("the query") {
    Captured c;
    c.query = "catalog=AWSMarketplace";
    CHECK(Verify(c).error_code == "InvalidSignatureException");
  }
  SECTION("the signature itself") {
    Captured c;
    c.authorization.back() = c.authorization.back() == '3' ? '4' : '3';
    CHECK(Verify(c).error_code == "InvalidSignatureException");
  }
}

TEST_CASE("sigv4: keys, dates and headers", "[sigv4]") {
  SECTION("a wrong secret") {
    Captured c;
    AccessKey wrong = kKey;
    wrong.secret_access_key = "not-the-secret";
    SigV4Result r = VerifySigV4(c.View(), Only(wrong), At("20261206T015238Z"));
    CHECK(r.error_code == "InvalidSignatureException");
  }
  SECTION("an unknown key") {
    Captured c;
    AccessKey other = kKey;
    other.access_key_id = "AKIDOTHER";
    SigV4Result r = VerifySigV4(c.View(), Only(other), At("20261206T015238Z"));
    CHECK(r.error_code == "UnrecognizedClientException");
    CHECK(r.message == "The security token included in the request is invalid.");
  }
  SECTION("no Authorization header") {
    Captured c;
    RawRequest r = c.View();
    r.headers.erase(r.headers.begin() + 5);
    SigV4Result v = VerifySigV4(r, Only(kKey), At("20261206T015238Z"));
    CHECK(v.error_code == "MissingAuthenticationTokenException");
    CHECK(v.message == "Missing Authentication Token");
  }
  SECTION("a malformed Authorization header") {
    Captured c;
    c.authorization =
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261206/us-east-1/aws-marketplace/aws4_request";
    SigV4Result v = Verify(c);
    CHECK(v.error_code == "IncompleteSignatureException");
    CHECK(v.message.find("requires 'SignedHeaders'") != std::string::npos);
    c.authorization = "Basic dXNlcjpwYXNz";
    CHECK(Verify(c).error_code == "IncompleteSignatureException");
  }
  SECTION("another service's scope") {
    Captured c;
    c.authorization.replace(c.authorization.find("aws-marketplace"), 15, "s3");
    SigV4Result v = Verify(c);
    CHECK(v.error_code == "InvalidSignatureException");
    CHECK(v.message == "Credential should be scoped to correct service: 'aws-marketplace'.");
  }
  SECTION("signed 16 minutes ago, or 16 minutes ahead") {
    Captured c;
    SigV4Result old = Verify(c, At("20261206T020838Z"));
    CHECK(old.error_code == "InvalidSignatureException");
    CHECK(old.message ==
          "Signature expired: 20261206T015238Z is now earlier than 20261206T015338Z "
          "(20261206T020838Z - 15 min.)");
    CHECK(Verify(c, At("20261206T020738Z")).ok);  // Within 15 minutes.
    CHECK(Verify(c, At("20261206T013638Z")).error_code == "InvalidSignatureException");
  }
  SECTION("a signed header that was not sent") {
    Captured c;
    c.authorization.replace(c.authorization.find("content-type;host;x-amz-date"), 28,
                            "content-type;host;x-amz-date;x-extra");
    SigV4Result v = Verify(c);
    CHECK(v.message == "The header 'x-extra' is signed but was not sent");
  }
  SECTION("a session token that is not signed") {
    Captured c;
    RawRequest r = c.View();
    r.headers.emplace_back("X-Amz-Security-Token", "token");
    SigV4Result v = VerifySigV4(r, Only(kKey), At("20261206T015238Z"));
    CHECK(v.message == "The header 'x-amz-security-token' must be signed");
  }
  SECTION("a content hash header that lies") {
    Captured c;
    RawRequest r = c.View();
    const std::string zeros(64, '0');  // RawRequest holds views: the value must outlive it.
    r.headers.emplace_back("x-amz-content-sha256", zeros);
    SigV4Result v = VerifySigV4(r, Only(kKey), At("20261206T015238Z"));
    CHECK(v.message == "x-amz-content-sha256 does not match the SHA-256 of the body");
  }
}

TEST_CASE("sigv4: X-Amz-Date is a real time", "[sigv4]") {
  int64_t t = 0;
  CHECK(ParseAmzDate("19700101T000000Z", &t));
  CHECK(t == 0);
  CHECK(ParseAmzDate("20240229T235959Z", &t));
  CHECK_FALSE(ParseAmzDate("20260230T000000Z", &t));
  CHECK_FALSE(ParseAmzDate("20261206T245959Z", &t));
  CHECK_FALSE(ParseAmzDate("2026-12-06T01:52:38Z", &t));
  CHECK_FALSE(ParseAmzDate("20261206T015238", &t));
}

}  // namespace
}  // namespace sellerflow::serve
