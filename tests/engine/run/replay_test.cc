// Tests of engine::Replay and its reader: bounded lines, recorded outcomes, canonical comparison,
// and the stores a replay refuses, on the shipped policy and real SQLite files.
#include "engine/run/replay.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <streambuf>
#include <string>
#include <vector>

#include "dsl/diagnostics.h"
#include "engine/check/check_policy.h"
#include "engine/model/load.h"
#include "engine/read/command.h"
#include "engine/store/store.h"
#include "tests/engine/store/test_store.h"

namespace sellerflow::engine {
namespace {

// An input that never ends and has no newline (/dev/zero), counting what was taken from it.
class EndlessZeros : public std::streambuf {
 public:
  size_t taken() const { return taken_ + static_cast<size_t>(gptr() - eback()); }

 protected:
  int_type underflow() override {
    if (gptr() != nullptr) taken_ += static_cast<size_t>(gptr() - eback());
    setg(buffer_, buffer_, buffer_ + sizeof buffer_);
    return traits_type::to_int_type(buffer_[0]);
  }

 private:
  char buffer_[4096] = {};
  size_t taken_ = 0;
};

TEST_CASE("replay: a line without an end is read no further than its bound", "[replay]") {
  EndlessZeros zeros;
  std::istream in(&zeros);
  std::string line;
  bool too_long = false;
  constexpr size_t kMax = 100000;
  REQUIRE(ReadBoundedLine(in, kMax, &line, &too_long));
  CHECK(too_long);
  CHECK(line.size() == kMax);
  CHECK(zeros.taken() <= kMax + 1);
}

TEST_CASE("replay: lines up to the bound are whole, one byte more is too long", "[replay]") {
  std::istringstream in(std::string(10, 'a') + "\n" + std::string(11, 'b') + "\nc");
  std::string line;
  bool too_long = false;
  REQUIRE(ReadBoundedLine(in, 10, &line, &too_long));
  CHECK(line == std::string(10, 'a'));
  CHECK_FALSE(too_long);
  REQUIRE(ReadBoundedLine(in, 10, &line, &too_long));
  CHECK(too_long);
  CHECK(line == std::string(10, 'b'));
}

TEST_CASE("replay: an outcome reads back as ToJson writes it; the log's spelling is translated",
          "[replay]") {
  RecordedOutcome o;
  o.result = "Ok";
  o.change_set_id = "cs-1";
  o.status = "SUCCEEDED";
  o.timers_deferred = 3;
  CHECK(o.ToJson() ==
        R"({"Result":"Ok","ChangeSetId":"cs-1","Status":"SUCCEEDED","TimersDeferred":3})");
  RecordedOutcome back;
  std::vector<Violation> v;
  REQUIRE(ParseOutcome(o.ToJson(), "Outcome", &back, &v));
  CHECK(back == o);

  // Every result a replay counts is one an outcome may name.
  for (Result r : {Result::kOk, Result::kRefused, Result::kConflict, Result::kNotFound,
                   Result::kAccessDenied}) {
    std::string json = std::string(R"({"Result":")") + ResultKey(r) + "\"}";
    INFO(json);
    CHECK(ParseOutcome(json, "Outcome", &back, &v));
  }

  // The command log's column: lower-case results and a message, which is not compared.
  REQUIRE(
      ParseOutcome(R"({"Result":"not found","Error":"ResourceNotFoundException","Message":"x"})",
                   "", &back, &v, /*log_spelling=*/true));
  CHECK(back.result == "NotFound");
  CHECK(back.error == "ResourceNotFoundException");

  v.clear();
  CHECK_FALSE(ParseOutcome(R"({"Result":"ok","Message":"x","Extra":1})", "Outcome", &back, &v));
  REQUIRE(v.size() == 3);
  CHECK(v[0].path == "Outcome.Result");
  CHECK(v[1].path == "Outcome.Message");
  CHECK(v[2].path == "Outcome.Extra");
}

TEST_CASE("replay: a replay line may carry an Outcome, a StartChangeSet body may not", "[replay]") {
  Command c;
  std::vector<Violation> v;
  const std::string line = R"({"op":"tick","Actor":"operations","To":"2026-01-01T00:00:00Z","Outcome":{"Result":"Ok"}})";
  REQUIRE(ParseCommand(line, std::nullopt, &c, &v));
  REQUIRE(c.outcome);
  CHECK(c.outcome->result == "Ok");
  CHECK(c.ToJsonLine() == R"({"op":"tick","Actor":"operations","To":"2026-01-01T00:00:00Z"})");

  const std::string body =
      R"({"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"X","Entity":{"Type":"T@1.0"},)"
      R"("DetailsDocument":{}}],"Outcome":{"Result":"Ok"}})";
  CHECK_FALSE(ParseCommand(body, Op::kStartChangeSet, &c, &v));
  bool named = false;
  for (const auto& x : v) named = named || x.path == "Outcome";
  CHECK(named);
}

TEST_CASE("replay: canonical JSON ignores spacing and key order, not values", "[replay]") {
  std::string a, b, c;
  REQUIRE(CanonicalJson(R"({"b": [1, 2], "a": {"y": true, "x": "s"}})", &a));
  REQUIRE(CanonicalJson(R"({"a":{"x":"s","y":true},"b":[1,2]})", &b));
  CHECK(a == b);
  REQUIRE(CanonicalJson(R"({"a":{"x":"s","y":true},"b":[1,2.0]})", &c));
  CHECK(a != c);
  CHECK_FALSE(CanonicalJson(R"({"a":1} x)", &c));
}

// The shipped policy and a store in a fresh directory.
class Shipped {
 public:
  Shipped() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sellerflow-replay-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    dsl::Diagnostics diags;
    const std::string src = SELLERFLOW_SOURCE_DIR;
    policy_ = LoadPolicy({src + "/workflows"}, {src + "/rules"}, &diags);
    CheckPolicy(*policy_, &diags);
    INFO(diags.ToText());
    REQUIRE_FALSE(diags.has_errors());
    store_ = Store::Open(TestStoreLocation((dir_ / "s.db").string()));
    engine_ = std::make_unique<Engine>(*policy_, store_.get());
  }
  ~Shipped() {
    engine_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Engine& engine() { return *engine_; }
  Store& store() { return *store_; }

  ReplayReport Run(const std::string& text, const ReplayOptions& options = {}) {
    std::istringstream in(text);
    return Replay(*engine_, in, "log", options, {});
  }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

constexpr const char* kSeller =
    R"({"op":"import","EntityType":"Seller@1.0","EntityIdentifier":"111122223333",)"
    R"("State":"Active","Owner":"seller:111122223333","DetailsDocument":{}})";

TEST_CASE("replay: a store that holds commands takes only --resume or --append", "[replay]") {
  Shipped s;
  CheckReplayTarget(s.store(), "log", {});  // Empty: fine.
  s.Run(std::string(kSeller) + "\n{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-01T00:00:00Z\"}\n");
  REQUIRE(s.store().LastCommandSeq() == 2);
  const std::string digest = s.store().Digest();
  CHECK_THROWS_AS(s.Run("{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-02T00:00:00Z\"}\n"), ReplayError);
  try {
    s.Run("{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-02T00:00:00Z\"}\n");
  } catch (const ReplayError& e) {
    CHECK_THAT(e.what(),
               Catch::Contains("already holds 2 commands") && Catch::Contains("--resume"));
  }
  CHECK(s.store().LastCommandSeq() == 2);
  CHECK(s.store().Digest() == digest);
  ReplayOptions append;
  append.append = true;
  CHECK(s.Run("{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-02T00:00:00Z\"}\n", append).counts["Ok"] == 1);
}

TEST_CASE("replay: the first outcome that differs stops the replay, after its line ran",
          "[replay]") {
  Shipped s;
  const std::string log =
      R"({"op":"tick","Actor":"operations","To":"2026-01-01T00:00:00Z","Outcome":{"Result":"Ok"}})"
      "\n"
      R"({"op":"review","Actor":"operations","At":"2026-01-02T00:00:00Z",)"
      R"("ChangeSetId":"cs-2222223bbcmluz7nna5xcdayj","Decision":"approve",)"
      R"("Outcome":{"Result":"Ok","ChangeSetId":"cs-2222223bbcmluz7nna5xcdayj"}})"
      "\n"
      R"({"op":"tick","Actor":"operations","To":"2026-01-03T00:00:00Z"})"
      "\n";
  try {
    s.Run(log);
    FAIL("the review's outcome differs from the recorded one");
  } catch (const ReplayStopped& e) {
    CHECK_THAT(e.what(),
               Catch::StartsWith("log:2: the log recorded the outcome "
                                 R"({"Result":"Ok","ChangeSetId":"cs-2222223bbcmluz7nna5xcdayj"})"
                                 ", this replay reached "
                                 R"({"Result":"NotFound","Error":"ResourceNotFoundException"})"));
    CHECK_THAT(e.what(), Catch::EndsWith("line 3 and those after it did not"));
  }
  CHECK(s.store().LastCommandSeq() == 2);  // The tick and the review; not line 3.
}

TEST_CASE("replay: --resume refuses a line whose outcome is not the one the store logged",
          "[replay]") {
  Shipped s;
  s.Run("{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-01T00:00:00Z\"}\n");
  ReplayOptions resume;
  resume.resume = true;
  // The same command, recorded elsewhere as refused: the store's log says it went through.
  const std::string line =
      R"({"op":"tick","Actor":"operations","To":"2026-01-01T00:00:00Z","Outcome":{"Result":"Refused"}})"
      "\n";
  try {
    s.Run(line + "{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-02T00:00:00Z\"}\n", resume);
    FAIL("the outcomes differ");
  } catch (const ReplayStopped& e) {
    CHECK(std::string(e.what()) ==
          R"(cannot resume: log:1 recorded the outcome {"Result":"Refused"}, and the store's log )"
          R"(holds its command with the outcome {"Result":"Ok"}; nothing of log went in)");
  }
  CHECK(s.store().LastCommandSeq() == 1);
  // Recorded as it was, it resumes.
  const std::string same = R"({"op":"tick","Actor":"operations","To":"2026-01-01T00:00:00Z","Outcome":{"Result":"Ok"}})"
                           "\n";
  CHECK(s.Run(same + "{\"op\":\"tick\",\"Actor\":\"operations\",\"To\":\"2026-01-02T00:00:00Z\"}\n", resume).skipped == 1);
}

}  // namespace
}  // namespace sellerflow::engine
