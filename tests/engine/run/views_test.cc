// Tests of the console's reads: the paged change-set query, access, explanations and marks, on the
// shipped policy with the product walkthrough's first requests.
#include "engine/run/views.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>

#include "dsl/diagnostics.h"
#include "engine/check/check_policy.h"
#include "engine/run/engine.h"
#include "engine/run/replay.h"

namespace sellerflow::engine {
namespace {

// The shipped policy, a store in a fresh directory, and the walkthrough's first `lines` commands.
class Walked {
 public:
  explicit Walked(int lines) {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sellerflow-views-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = pattern;
    dsl::Diagnostics diags;
    const std::string src = SELLERFLOW_SOURCE_DIR;
    policy_ = LoadPolicy({src + "/workflows"}, {src + "/rules"}, &diags);
    CheckPolicy(*policy_, &diags);
    REQUIRE_FALSE(diags.has_errors());
    store_ = Store::Open((dir_ / "s.db").string());
    engine_ = std::make_unique<Engine>(*policy_, store_.get());
    std::ifstream walk(src + "/examples/walkthroughs/product-walkthrough.jsonl");
    std::string text, line;
    for (int i = 0; i < lines && std::getline(walk, line); ++i) text += line + "\n";
    std::istringstream in(text);
    Replay(*engine_, in, "walkthrough", {}, {});
  }
  ~Walked() {
    engine_.reset();
    store_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  Engine& engine() { return *engine_; }
  Store& store() { return *store_; }
  const Policy& policy() { return *policy_; }

 private:
  std::filesystem::path dir_;
  std::unique_ptr<Policy> policy_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
};

TEST_CASE("views: a page of change sets, newest first, with a cursor and filters", "[views]") {
  Walked w(3);  // Profile, a product created and released, an UpdateInformation that fails.
  ChangeSetPageQuery q;
  q.limit = 2;
  auto page = w.store().ListChangeSetsPage(q);
  REQUIRE(page.size() == 2);
  CHECK(page[0].seq > page[1].seq);
  q.after_seq = page[1].seq;
  auto rest = w.store().ListChangeSetsPage(q);
  REQUIRE(rest.size() == 1);
  CHECK(rest[0].seq < page[1].seq);

  ChangeSetPageQuery failed;
  failed.status = "FAILED";
  REQUIRE(w.store().ListChangeSetsPage(failed).size() == 1);
  ChangeSetPageQuery profile;
  profile.change_type = "UpdateSellerProfile";
  REQUIRE(w.store().ListChangeSetsPage(profile).size() == 1);
  ChangeSetPageQuery on_product;
  on_product.entity = "prod-gxekl6ylv7qvz";
  CHECK(w.store().ListChangeSetsPage(on_product).size() == 2);
  ChangeSetPageQuery oldest;
  oldest.newest_first = false;
  CHECK(w.store().ListChangeSetsPage(oldest).front().seq == rest[0].seq);
  ChangeSetPageQuery late;
  late.started_after = "2026-01-05T09:30:00Z";
  CHECK(w.store().ListChangeSetsPage(late).size() == 2);

  // Through the console's read: another account sees nothing, operations all, pages link on.
  CHECK(ListRequests(w.store(), "seller:999988887777", {}).rows.empty());
  ChangeSetPageQuery two;
  two.limit = 2;
  RequestsPage mine = ListRequests(w.store(), "seller:111122223333", two);
  CHECK(mine.rows.size() == 2);
  CHECK(mine.next_after_seq == mine.rows.back().seq);
  two.after_seq = mine.next_after_seq;
  CHECK(ListRequests(w.store(), "operations", two).next_after_seq == 0);
}

TEST_CASE("views: who may see what", "[views]") {
  CHECK(ActorMaySee("operations", "seller:111122223333"));
  CHECK(ActorMaySee("seller:111122223333", "seller:111122223333"));
  CHECK_FALSE(ActorMaySee("seller:999988887777", "seller:111122223333"));
  CHECK_FALSE(ActorMaySee("seller:111122223333", "operations"));
  EntityRow offer;
  offer.type = "Offer@1.0";
  offer.owner = "seller:111122223333";
  offer.document = R"({"PositiveTargeting":{"BuyerAccounts":["444455556666"]}})";
  CHECK(ActorMaySeeEntity("buyer:444455556666", offer));
  CHECK_FALSE(ActorMaySeeEntity("buyer:777788889999", offer));
  offer.type = "ProfessionalServicesProduct@1.0";
  CHECK_FALSE(ActorMaySeeEntity("buyer:444455556666", offer));  // Only offers address buyers.
}

TEST_CASE("views: a failed rule explained, and the path a change took", "[views]") {
  Walked w(3);
  ChangeSetPageQuery failed;
  failed.status = "FAILED";
  const ChangeSetRow cs = w.store().ListChangeSetsPage(failed).at(0);
  const std::string digest = w.store().Digest();
  const std::string why = w.engine().ExplainRule(cs.id, 0, "categories_known");
  CHECK(why.find("\"rule\":\"categories_known\"") != std::string::npos);
  CHECK(why.find("c in KNOWN_CATEGORIES") != std::string::npos);
  CHECK(why.find("\"Migraton\"") != std::string::npos);
  CHECK(w.engine().ExplainRule(cs.id, 0, "no_such_rule").empty());
  CHECK(w.engine().ExplainRule("cs-nothere", 0, "categories_known").empty());
  CHECK(w.store().Digest() == digest);  // Explaining writes nothing.

  const ChangeRow& change = cs.changes.at(0);
  const Machine* m = w.policy().FindRequestMachine(change.change_type, change.entity_type);
  REQUIRE(m != nullptr);
  GraphMarks marks = MarksOf(*m, w.store().History(cs.id), change.state);
  CHECK(marks.current == "Failed");
  CHECK(marks.taken.count({"Validating", "Failed"}) == 1);
  CHECK(marks.taken.count({"Validating", "Applying"}) == 0);
  const std::string dot = DrawMachine(*m, GraphFormat::kDot, marks);
  CHECK(dot.find("fillcolor=\"#ffd54f\"") != std::string::npos);
  CHECK(dot.find("color=\"#1565c0\"") != std::string::npos);

  TransitionCounts counts = CountTransitions(w.store(), w.policy());
  CHECK(counts[m->Key()][{"Validating", "Failed"}] == 1);

  // Kept up to date: after more requests, catching up gives what counting afresh gives.
  TransitionCounter counter(w.policy());
  CHECK(counter.CatchUp(w.store()) == counts);
  // The walkthrough's next line: the corrected UpdateInformation.
  std::ifstream walk(std::string(SELLERFLOW_SOURCE_DIR) +
                     "/examples/walkthroughs/product-walkthrough.jsonl");
  std::string again;
  for (int i = 0; i < 4; ++i) std::getline(walk, again);
  std::istringstream in(again + "\n");
  ReplayOptions append;
  append.append = true;
  const size_t before = w.store().HistoryAfter(0, 1000000).size();
  Replay(w.engine(), in, "more", append, {});
  REQUIRE(w.store().HistoryAfter(0, 1000000).size() > before);
  const TransitionCounts& caught_up = counter.CatchUp(w.store());
  CHECK(caught_up == CountTransitions(w.store(), w.policy()));
}

}  // namespace
}  // namespace sellerflow::engine
