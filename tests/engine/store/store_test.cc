// Tests of the stores: round trips, transactions, batches, errors and locking on real SQLite files;
// the [any-store] ones on PostgreSQL too, beside a cluster (tests/store/pg_harness.sh).
#include "engine/store/store.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "engine/base/ids.h"
#include "engine/base/sha256.h"
#include "engine/model/load.h"
#include "tests/engine/store/test_store.h"

namespace sellerflow::engine {
namespace {

// A fresh directory per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sellerflow-store-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string File(const std::string& name) const { return (path_ / name).string(); }
  // The store `name` stands for: the file, or a PostgreSQL database beside a cluster.
  std::string Location(const std::string& name) const { return TestStoreLocation(File(name)); }

 private:
  std::filesystem::path path_;
};

// A second connection through the plain C API, as another process would hold the file.
class RawDb {
 public:
  explicit RawDb(const std::string& path) {
    REQUIRE(sqlite3_open(path.c_str(), &db_) == SQLITE_OK);
  }
  ~RawDb() { sqlite3_close(db_); }
  int Exec(const char* sql) { return sqlite3_exec(db_, sql, nullptr, nullptr, nullptr); }
  // The first column of the first row of `sql`, as an integer.
  int Int(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
    const int n = sqlite3_column_int(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
  }

 private:
  sqlite3* db_ = nullptr;
};

EntityRow Entity(const std::string& id, const std::string& type = "Product",
                 const std::string& state = "DRAFT") {
  EntityRow e;
  e.id = id;
  e.type = type;
  e.owner = "seller-1";
  e.state = state;
  e.revision = 3;
  e.document = R"({"Title":"T \u00e9"})";
  e.locked_by = "cs-x";
  e.created_at = "2024-01-02T03:04:05Z";
  e.updated_at = "2024-01-02T03:04:06Z";
  return e;
}

// A change set numbered `seq` (its id is ChangeSetId(seq)); `id` labels its name and entities.
ChangeSetRow ChangeSet(const std::string& id, int64_t seq, const std::string& token = "") {
  ChangeSetRow cs;
  cs.id = ChangeSetId(seq);
  cs.seq = seq;
  cs.name = "name-" + id;
  cs.token = token;
  cs.actor = "alice";
  cs.body_hash = "h-" + id;
  cs.intent = "APPLY";
  cs.status = "PREPARING";
  cs.started_at = "2024-01-02T00:00:00Z";
  cs.working = R"({"prod-1":{}})";
  cs.command_seq = seq + 40;
  for (int i = 0; i < 2; ++i) {
    ChangeRow c;
    c.index = i;
    c.change_type = i == 0 ? "CreateProduct" : "UpdateInformation";
    c.entity_type = "SaaSProduct@1.0";
    c.entity_id = "prod-" + id + "-" + std::to_string(i);
    c.change_name = "c" + std::to_string(i);
    c.machine_hash = "mh";
    c.state = "VALIDATING";
    c.status = "PREPARING";
    c.details = R"({"ProductTitle":"x"})";
    c.entered_at = "2024-01-02T00:00:00Z";
    cs.changes.push_back(c);
  }
  return cs;
}

HistoryRow History(const std::string& cs, const std::string& entity, const std::string& event) {
  HistoryRow h;
  h.change_set = cs;
  h.change_index = cs.empty() ? -1 : 0;
  h.entity = entity;
  h.event = event;
  h.from_state = "A";
  h.to_state = "B";
  h.actor = "alice";
  h.at = "2024-01-02T00:00:00Z";
  h.data = R"({"k":1})";
  return h;
}

void CheckSame(const EntityRow& a, const EntityRow& b) {
  CHECK(a.id == b.id);
  CHECK(a.type == b.type);
  CHECK(a.owner == b.owner);
  CHECK(a.state == b.state);
  CHECK(a.revision == b.revision);
  CHECK(a.document == b.document);
  CHECK(a.locked_by == b.locked_by);
  CHECK(a.created_at == b.created_at);
  CHECK(a.updated_at == b.updated_at);
}

void CheckSame(const ChangeSetRow& a, const ChangeSetRow& b) {
  CHECK(a.id == b.id);
  CHECK(a.seq == b.seq);
  CHECK(a.name == b.name);
  CHECK(a.token == b.token);
  CHECK(a.actor == b.actor);
  CHECK(a.body_hash == b.body_hash);
  CHECK(a.intent == b.intent);
  CHECK(a.status == b.status);
  CHECK(a.failure_code == b.failure_code);
  CHECK(a.failure_description == b.failure_description);
  CHECK(a.started_at == b.started_at);
  CHECK(a.ended_at == b.ended_at);
  CHECK(a.working == b.working);
  CHECK(a.command_seq == b.command_seq);
  REQUIRE(a.changes.size() == b.changes.size());
  for (size_t i = 0; i < a.changes.size(); ++i) {
    const ChangeRow& x = a.changes[i];
    const ChangeRow& y = b.changes[i];
    CHECK(x.index == y.index);
    CHECK(x.change_type == y.change_type);
    CHECK(x.entity_type == y.entity_type);
    CHECK(x.entity_id == y.entity_id);
    CHECK(x.change_name == y.change_name);
    CHECK(x.machine_hash == y.machine_hash);
    CHECK(x.state == y.state);
    CHECK(x.status == y.status);
    CHECK(x.errors == y.errors);
    CHECK(x.entered_at == y.entered_at);
  }
}

StoreError::Kind OpenErrorKind(const std::string& path, std::string* message) {
  try {
    Store::Open(path, 100);
  } catch (const StoreError& e) {
    *message = e.what();
    return e.kind();
  }
  FAIL("Open did not throw for " << path);
  return StoreError::Kind::kIo;
}

// The SHA-256 of a file's bytes, or "" when there is no such file.
std::string FileSha(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return Sha256Hex(bytes);
}

TEST_CASE("store: entities round trip, update and list by filters", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  CHECK_FALSE(store->GetEntity("prod-1"));
  store->Write([&] {
    store->InsertEntity(Entity("prod-2", "Product", "DRAFT"));
    store->InsertEntity(Entity("prod-1", "Product", "PUBLIC"));
    store->InsertEntity(Entity("offer-1", "Offer", "DRAFT"));
  });
  auto got = store->GetEntity("prod-1");
  REQUIRE(got);
  CheckSame(*got, Entity("prod-1", "Product", "PUBLIC"));

  EntityRow changed = *got;
  changed.state = "RESTRICTED";
  changed.revision = 4;
  changed.document = "{}";
  changed.locked_by = "";
  store->Write([&] { store->UpdateEntity(changed); });
  CheckSame(*store->GetEntity("prod-1"), changed);
  CHECK_THROWS_AS(store->UpdateEntity(Entity("nope")), std::logic_error);

  auto ids = [](const std::vector<EntityRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
  };
  CHECK(ids(store->ListEntities("", "")) ==
        std::vector<std::string>{"offer-1", "prod-1", "prod-2"});
  CHECK(ids(store->ListEntities("Product", "")) == std::vector<std::string>{"prod-1", "prod-2"});
  CHECK(ids(store->ListEntities("", "DRAFT")) == std::vector<std::string>{"offer-1", "prod-2"});
  CHECK(ids(store->ListEntities("Product", "DRAFT")) == std::vector<std::string>{"prod-2"});
  CHECK(store->ListEntities("Agreement", "").empty());
}

TEST_CASE("store: change set ids carry their number, sorted as they arrive", "[store][any-store]") {
  std::string previous;
  for (int64_t seq : std::vector<int64_t>{1, 2, 31, 32, 33, 1000, 1'000'000, 34'359'738'367}) {
    std::string id = ChangeSetId(seq);
    CHECK(id.size() == 28);
    CHECK(id.rfind("cs-", 0) == 0);
    CHECK(ChangeSetSeq(id) == seq);
    CHECK(id > previous);
    previous = id;
  }
  CHECK(ChangeSetId(1) == "cs-2222223bbcmluz7nna5xcdayj");  // Ids in logs and docs stay valid.
  std::string forged = ChangeSetId(5);
  forged.back() = forged.back() == 'a' ? 'b' : 'a';  // The right number, the wrong hash.
  for (const std::string& bad :
       {std::string("cs-a"), std::string(""), forged, std::string("cs-") + std::string(25, '2'),
        std::string("xx-2222223bbcmluz7nna5xcdayj")})
    CHECK(ChangeSetSeq(bad) == 0);
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  ChangeSetRow cs = ChangeSet("cs-x", 7);
  cs.id = ChangeSetId(8);
  CHECK_THROWS_AS(store->InsertChangeSet(cs), std::logic_error);
  CHECK_FALSE(store->GetChangeSet(forged));
}

TEST_CASE("store: change sets round trip with their changes; token lookup; list filters",
          "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  ChangeSetRow a = ChangeSet("cs-a", 1, "tok-a");
  ChangeSetRow b = ChangeSet("cs-b", 2);
  ChangeSetRow c = ChangeSet("cs-c", 3);
  c.changes.resize(1);
  store->Write([&] {
    store->InsertChangeSet(b);
    store->InsertChangeSet(a);
    store->InsertChangeSet(c);
  });
  CheckSame(*store->GetChangeSet(ChangeSetId(1)), a);
  CheckSame(*store->GetChangeSet(ChangeSetId(3)), c);
  CHECK_FALSE(store->GetChangeSet("cs-zz"));
  // A change's DetailsDocument stays in the command log; the store does not copy it.
  CHECK(store->GetChangeSet(ChangeSetId(1))->changes[0].details.empty());

  CheckSame(*store->FindChangeSetByToken("alice", "tok-a"), a);
  CHECK_FALSE(store->FindChangeSetByToken("alice", "tok-b"));
  // Tokenless change sets are not found by "".
  CHECK_FALSE(store->FindChangeSetByToken("alice", ""));
  // A token is its actor's: another actor neither finds alice's change set by it ...
  CHECK_FALSE(store->FindChangeSetByToken("bob", "tok-a"));
  // ... nor is kept from using it; one change set per actor and token.
  CHECK_THROWS(store->InsertChangeSet(ChangeSet("cs-d", 4, "tok-a")));

  // Update: every column, changes updated, added and removed.
  a.status = "FAILED";
  a.failure_code = "CLIENT_ERROR";
  a.failure_description = "bad";
  a.ended_at = "2024-01-03T00:00:00Z";
  a.working = "{}";
  a.changes[0].state = "FAILED";
  a.changes[0].errors = R"([{"ErrorCode":"X","ErrorMessage":"y"}])";
  a.changes.pop_back();
  store->Write([&] { store->UpdateChangeSet(a); });
  CheckSame(*store->GetChangeSet(ChangeSetId(1)), a);
  ChangeRow extra = a.changes[0];
  extra.index = 1;
  extra.entity_id = "prod-new";
  a.changes.push_back(extra);
  store->UpdateChangeSet(a);  // Outside Write: its own transaction.
  CheckSame(*store->GetChangeSet(ChangeSetId(1)), a);
  // Indexes that are not 0..n-1 still round trip.
  a.changes[0].index = 5;
  std::swap(a.changes[0], a.changes[1]);
  store->UpdateChangeSet(a);
  CheckSame(*store->GetChangeSet(ChangeSetId(1)), a);

  auto ids = [](const std::vector<ChangeSetRow>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
  };
  CHECK(ids(store->ListChangeSets("", "", "")) ==
        std::vector<std::string>{ChangeSetId(1), ChangeSetId(2), ChangeSetId(3)});
  CHECK(ids(store->ListChangeSets("PREPARING", "", "")) ==
        std::vector<std::string>{ChangeSetId(2), ChangeSetId(3)});
  CHECK(ids(store->ListChangeSets("", "prod-cs-b-1", "")) ==
        std::vector<std::string>{ChangeSetId(2)});
  CHECK(ids(store->ListChangeSets("", "prod-new", "")) == std::vector<std::string>{ChangeSetId(1)});
  // cs-a's changes are both CreateProduct now; cs-c has only its first change.
  CHECK(ids(store->ListChangeSets("", "", "UpdateInformation")) ==
        std::vector<std::string>{ChangeSetId(2)});
  CHECK(ids(store->ListChangeSets("", "", "CreateProduct")) ==
        std::vector<std::string>{ChangeSetId(1), ChangeSetId(2), ChangeSetId(3)});
  CHECK(ids(store->ListChangeSets("PREPARING", "", "CreateProduct")) ==
        std::vector<std::string>{ChangeSetId(2), ChangeSetId(3)});
  CHECK(ids(store->ListChangeSets("FAILED", "prod-cs-b-0", "")).empty());
  auto listed = store->ListChangeSets("", "", "");
  CheckSame(listed[0], a);
  CheckSame(listed[1], b);

  ChangeSetRow bobs = ChangeSet("cs-e", 5, "tok-a");
  bobs.actor = "bob";
  store->InsertChangeSet(bobs);
  CheckSame(*store->FindChangeSetByToken("bob", "tok-a"), bobs);
  CheckSame(*store->FindChangeSetByToken("alice", "tok-a"), a);
}

TEST_CASE("store: history appends in order and is found by change set or entity", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  const std::string cs1 = ChangeSetId(1), cs2 = ChangeSetId(2);
  std::vector<HistoryRow> rows = {
      History(cs1, "prod-1", "Submitted"), History(cs2, "prod-2", "Submitted"),
      History("", "prod-1", "TimerFired"), History(cs1, "prod-1", "Applied")};
  store->Write([&] {
    for (auto& r : rows) store->AppendHistory(&r);
    // A change set finds its rows through the range of seqs its row keeps.
    ChangeSetRow a = ChangeSet(cs1, 1);
    a.history_from = rows[0].seq;
    a.history_to = rows[3].seq;
    store->InsertChangeSet(a);
    ChangeSetRow b = ChangeSet(cs2, 2);
    b.history_from = b.history_to = rows[1].seq;
    store->InsertChangeSet(b);
  });
  CHECK(rows[0].seq == 1);
  CHECK(rows[1].seq == 2);
  CHECK(rows[3].seq == 4);
  auto of_cs = store->History(cs1);
  REQUIRE(of_cs.size() == 2);
  CHECK(of_cs[0].event == "Submitted");
  CHECK(of_cs[1].event == "Applied");
  CHECK(of_cs[1].seq == 4);
  REQUIRE(store->History(cs2).size() == 1);
  CHECK(store->History(cs2)[0].entity == "prod-2");
  auto read = store->GetChangeSet(cs1);
  REQUIRE(read);
  CHECK(read->history_from == 1);
  CHECK(read->history_to == 4);
  auto of_entity = store->History("prod-1");
  REQUIRE(of_entity.size() == 3);
  CHECK(of_entity[1].event == "TimerFired");
  CHECK(of_entity[1].change_set.empty());
  CHECK(of_entity[1].change_index == -1);
  CHECK(of_entity[1].from_state == "A");
  CHECK(of_entity[1].to_state == "B");
  CHECK(of_entity[1].actor == "alice");
  CHECK(of_entity[1].at == "2024-01-02T00:00:00Z");
  CHECK(of_entity[1].data == R"({"k":1})");
  CHECK(store->History("nothing").empty());
  CHECK(store->History(ChangeSetId(3)).empty());
}

TEST_CASE("store: due timers come earliest first, ties by id; deleted ones go", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  auto timer = [](int64_t due_us, const std::string& entity) {
    TimerRow t;
    t.due_us = due_us;
    t.due = "at " + std::to_string(due_us);
    t.entity = entity;
    t.state = "PENDING";
    t.transition = 2;
    return t;
  };
  std::vector<TimerRow> timers = {timer(300, "a"), timer(100, "b"), timer(300, "c"),
                                  timer(200, "d"), timer(900, "e")};
  timers[1].change_set = "cs-1";
  timers[1].change_index = 0;
  timers[4].change_set = "cs-1";
  timers[4].change_index = 1;
  store->Write([&] {
    for (auto& t : timers) store->AddTimer(&t);
  });
  CHECK(timers[0].id < timers[2].id);
  auto due = store->DueTimers(300);
  REQUIRE(due.size() == 4);
  CHECK(due[0].entity == "b");
  CHECK(due[0].change_set == "cs-1");
  CHECK(due[0].change_index == 0);
  CHECK(due[0].due == "at 100");
  CHECK(due[0].state == "PENDING");
  CHECK(due[0].transition == 2);
  CHECK(due[1].entity == "d");
  CHECK(due[2].entity == "a");
  CHECK(due[3].entity == "c");
  CHECK(store->DueTimers(99).empty());
  // A set's own timers, for describe-change-set: only that set's, earliest first.
  auto of = store->TimersOf("cs-1");
  REQUIRE(of.size() == 2);
  CHECK(of[0].id == timers[1].id);
  CHECK(of[1].id == timers[4].id);
  CHECK(of[1].change_index == 1);
  CHECK(store->TimersOf("cs-2").empty());
  store->DeleteTimer(timers[1].id);
  due = store->DueTimers(1000);
  REQUIRE(due.size() == 4);
  CHECK(due[0].entity == "d");
  // A deleted timer's id is not handed out again.
  TimerRow late = timer(50, "f");
  store->AddTimer(&late);
  CHECK(late.id > timers[4].id);
}

TEST_CASE("store: the timers of one change or one entity are deleted together",
          "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  auto timer = [](int64_t due_us, const std::string& cs, int index, const std::string& entity) {
    TimerRow t;
    t.due_us = due_us;
    t.due = "at " + std::to_string(due_us);
    t.change_set = cs;
    t.change_index = index;
    t.entity = entity;
    t.state = "S";
    return t;
  };
  std::vector<TimerRow> timers = {timer(100, "cs-1", 0, ""),   timer(200, "cs-1", 0, ""),
                                  timer(300, "cs-1", 1, ""),   timer(400, "cs-2", 0, ""),
                                  timer(500, "", 0, "agmt-a"), timer(600, "", 0, "agmt-b")};
  store->Write([&] {
    for (auto& t : timers) store->AddTimer(&t);
  });
  store->Write([&] {
    store->DeleteChangeTimers("cs-1", 0);
    store->DeleteEntityTimers("agmt-a");
  });
  std::vector<int64_t> left;
  for (const TimerRow& t : store->DueTimers(1000)) left.push_back(t.id);
  CHECK(left == std::vector<int64_t>{timers[2].id, timers[3].id, timers[5].id});
  // Outside a transaction each is one of its own.
  store->DeleteChangeTimers("cs-2", 0);
  CHECK(store->TimersOf("cs-2").empty());
}

TEST_CASE("store: definitions, command log, counters and clock", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  store->PutDefinition("h1", "workflows/a.yaml", "text one");
  store->PutDefinition("h1", "workflows/other.yaml", "text two");  // Exists: a no-op.
  CHECK(store->GetDefinition("h1") == std::optional<std::string>("text one"));
  CHECK_FALSE(store->GetDefinition("h2"));
  CHECK(store->GetDefinitionPath("h1") == std::optional<std::string>("workflows/a.yaml"));
  CHECK_FALSE(store->GetDefinitionPath("h2"));

  CHECK(store->LastCommandSeq() == 0);
  std::vector<CommandRow> commands(5);
  for (int i = 0; i < 5; ++i) {
    commands[static_cast<size_t>(i)].command = "cmd" + std::to_string(i);
    commands[static_cast<size_t>(i)].outcome = R"({"ok":true})";
    commands[static_cast<size_t>(i)].at = "t" + std::to_string(i);
    store->AppendCommand(&commands[static_cast<size_t>(i)]);
    CHECK(commands[static_cast<size_t>(i)].seq == i + 1);
  }
  CHECK(store->LastCommandSeq() == 5);
  auto page = store->Commands(1, 2);
  REQUIRE(page.size() == 2);
  CHECK(page[0].seq == 2);
  CHECK(page[0].command == "cmd1");
  CHECK(page[0].outcome == R"({"ok":true})");
  CHECK(page[0].at == "t1");
  CHECK(page[1].seq == 3);
  CHECK(store->Commands(0, -1).size() == 5);
  CHECK(store->Commands(5, 10).empty());

  CHECK(store->NextCounter("cs") == 1);
  CHECK(store->NextCounter("cs") == 2);
  CHECK(store->NextCounter("offer") == 1);
  // A counter advanced in a rolled-back write goes back with it.
  CHECK_THROWS_AS(store->Write([&] {
    CHECK(store->NextCounter("cs") == 3);
    throw std::runtime_error("abandon");
  }),
                  std::runtime_error);
  CHECK(store->NextCounter("cs") == 3);

  CHECK(store->LastChangeSetSeq() == 0);
  // A reserved seq counts as handed out (a VALIDATE's), in and after its write, and never goes
  // back down; a stored change set past it counts from there.
  store->Write([&] {
    store->ReserveChangeSetSeq(4);
    CHECK(store->LastChangeSetSeq() == 4);
  });
  CHECK(store->LastChangeSetSeq() == 4);
  store->ReserveChangeSetSeq(2);
  CHECK(store->LastChangeSetSeq() == 4);
  store->Write([&] { store->InsertChangeSet(ChangeSet("cs-r", 6)); });
  CHECK(store->LastChangeSetSeq() == 6);
}

TEST_CASE("store: the clock is the last logged command's", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  CHECK(store->Clock().empty());
  CommandRow a{0, "cmd1", "{}", "2024-05-01T00:00:00Z"};
  store->AppendCommand(&a);
  CHECK(store->Clock() == "2024-05-01T00:00:00Z");
  CHECK_THROWS_AS(store->Write([&] {
    CommandRow b{0, "cmd2", "{}", "2024-05-02T00:00:00Z"};
    store->AppendCommand(&b);
    CHECK(store->Clock() == "2024-05-02T00:00:00Z");
    throw std::runtime_error("abandon");
  }),
                  std::runtime_error);
  CHECK(store->Clock() == "2024-05-01T00:00:00Z");
}

TEST_CASE("store: a Write that throws leaves the store as it was", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  store->Write([&] { store->InsertEntity(Entity("prod-1")); });
  std::string before = store->Digest();
  CHECK_THROWS_WITH(store->Write([&] {
    store->InsertEntity(Entity("prod-2"));
    EntityRow e = Entity("prod-1");
    e.state = "GONE";
    store->UpdateEntity(e);
    HistoryRow h = History("cs-1", "prod-1", "x");
    store->AppendHistory(&h);
    store->InsertChangeSet(ChangeSet("cs-1", 1));
    // A nested Write that succeeded is undone with its parent.
    store->Write([&] { store->InsertEntity(Entity("prod-3")); });
    throw std::runtime_error("boom");
  }),
                    "boom");
  CHECK_FALSE(store->GetEntity("prod-2"));
  CHECK_FALSE(store->GetEntity("prod-3"));
  CHECK(store->GetEntity("prod-1")->state == "DRAFT");
  CHECK(store->History("cs-1").empty());
  CHECK_FALSE(store->GetChangeSet(ChangeSetId(1)));
  CHECK(store->Digest() == before);
  // The store still works after the rollback.
  store->Write([&] { store->InsertEntity(Entity("prod-2")); });
  CHECK(store->GetEntity("prod-2"));
}

TEST_CASE("store: a nested Write that throws undoes only itself", "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  store->Write([&] {
    store->InsertEntity(Entity("prod-1"));
    CHECK_THROWS(store->Write([&] {
      store->InsertEntity(Entity("prod-2"));
      throw std::runtime_error("inner");
    }));
    store->InsertEntity(Entity("prod-3"));
  });
  CHECK(store->GetEntity("prod-1"));
  CHECK_FALSE(store->GetEntity("prod-2"));
  CHECK(store->GetEntity("prod-3"));
}

TEST_CASE("store: a batch keeps the Writes that succeeded around one that failed", "[store][any-store]") {
  TempDir dir;
  std::string path = dir.Location("s.db");
  auto store = Store::Open(path);
  store->BeginBatch();
  store->Write([&] { store->InsertEntity(Entity("prod-1")); });
  CHECK_THROWS_AS(store->Write([&] {
    store->InsertEntity(Entity("prod-2"));
    throw std::runtime_error("command failed");
  }),
                  std::runtime_error);
  // A store error inside (a duplicate key) is undone the same way.
  CHECK_THROWS(store->Write([&] {
    store->InsertEntity(Entity("prod-4"));
    store->InsertEntity(Entity("prod-1"));
  }));
  store->Write([&] { store->InsertEntity(Entity("prod-3")); });
  // Nothing is visible to another connection before CommitBatch.
  {
    auto other = Store::Open(path);
    CHECK_FALSE(other->GetEntity("prod-1"));
  }
  store->CommitBatch();
  CHECK(store->GetEntity("prod-1"));
  CHECK_FALSE(store->GetEntity("prod-2"));
  CHECK(store->GetEntity("prod-3"));
  CHECK_FALSE(store->GetEntity("prod-4"));
  auto other = Store::Open(path);
  CHECK(other->GetEntity("prod-3"));
  CHECK_THROWS_AS(store->CommitBatch(), std::logic_error);
}

TEST_CASE("store: an abandoned batch is rolled back when the store closes", "[store][any-store]") {
  TempDir dir;
  std::string path = dir.Location("s.db");
  {
    auto store = Store::Open(path);
    store->BeginBatch();
    store->Write([&] { store->InsertEntity(Entity("prod-1")); });
  }
  CHECK_FALSE(Store::Open(path)->GetEntity("prod-1"));
}

// The same writes through two stores.
void Populate(Store& store) {
  store.Write([&] {
    store.InsertEntity(Entity("prod-1"));
    store.InsertEntity(Entity("prod-2", "Offer", "PUBLIC"));
    store.InsertChangeSet(ChangeSet("cs-1", 1, "tok"));
    store.InsertChangeSet(ChangeSet("cs-2", 2));
    HistoryRow h1 = History("cs-1", "prod-1", "Submitted");
    HistoryRow h2 = History("", "prod-2", "Timer");
    store.AppendHistory(&h1);
    store.AppendHistory(&h2);
  });
}

TEST_CASE("store: the digest is equal for equal stores and changes with any row", "[store][any-store]") {
  TempDir dir;
  auto a = Store::Open(dir.Location("a.db"));
  auto b = Store::Open(dir.Location("b.db"));
  CHECK(a->Digest() == b->Digest());
  Populate(*a);
  Populate(*b);
  std::string digest = a->Digest();
  CHECK(digest.size() == 64);
  CHECK(digest == b->Digest());
  // Not part of the digest: command log, definitions, counters, timers, clock.
  CommandRow c{0, "cmd", "{}", "t"};
  b->AppendCommand(&c);
  b->PutDefinition("h", "p", "t");
  CHECK(b->Digest() == digest);

  SECTION("an entity field") {
    EntityRow e = *b->GetEntity("prod-1");
    e.revision = 4;
    b->UpdateEntity(e);
  }
  SECTION("a change's field") {
    ChangeSetRow cs = *b->GetChangeSet(ChangeSetId(2));
    cs.changes[1].errors = "[ ]";
    b->UpdateChangeSet(cs);
  }
  SECTION("a history row") {
    HistoryRow h = History("cs-2", "prod-1", "Applied");
    b->AppendHistory(&h);
  }
  SECTION("moving bytes between adjacent fields") {
    EntityRow e = *b->GetEntity("prod-1");
    e.owner = "seller-1D";
    e.state = "RAFT";
    b->UpdateEntity(e);
  }
  CHECK(b->Digest() != digest);
}

TEST_CASE("store: tags by key, policies by resource; the digest sees them only when there are some",
          "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  Populate(*store);
  const std::string before = store->Digest();
  const std::string before_outcome = store->OutcomeDigest();
  const std::string arn = "arn:aws:aws-marketplace:us-east-1:000000000000:AWSMarketplace/ChangeSet/x";
  const std::string other = arn + "y";
  CHECK(store->Tags(arn).empty());
  store->Write([&] {
    store->PutTag(arn, {"team", "alpha"});
    store->PutTag(arn, {"Stage", ""});
    store->PutTag(arn, {"env", "test"});
    store->PutTag(other, {"team", "beta"});
  });
  // Bytes order: upper case first, as SQLite and PostgreSQL (COLLATE "C") both sort.
  CHECK(store->Tags(arn) ==
        std::vector<TagRow>{{"Stage", ""}, {"env", "test"}, {"team", "alpha"}});
  const std::string tagged = store->Digest();
  CHECK(tagged != before);
  CHECK(store->OutcomeDigest() != before_outcome);
  store->PutTag(arn, {"team", "gamma"});  // Replaces the value.
  CHECK(store->Tags(arn).back() == TagRow{"team", "gamma"});
  CHECK(store->Digest() != tagged);
  store->DeleteTag(arn, "never-set");
  for (const char* key : {"Stage", "env", "team"}) store->DeleteTag(arn, key);
  CHECK(store->Tags(arn).empty());
  CHECK(store->Tags(other) == std::vector<TagRow>{{"team", "beta"}});
  store->DeleteTag(other, "team");
  CHECK(store->Digest() == before);

  CHECK_FALSE(store->GetResourcePolicy(arn));
  CHECK_FALSE(store->DeleteResourcePolicy(arn));
  store->PutResourcePolicy(arn, R"({"Version":"2012-10-17"})");
  store->PutResourcePolicy(arn, R"({"Statement":[]})");
  CHECK(store->GetResourcePolicy(arn) == R"({"Statement":[]})");
  CHECK(store->Digest() != before);
  // A rolled-back write keeps none of them.
  CHECK_THROWS_AS(store->Write([&] {
    store->PutTag(other, {"k", "v"});
    CHECK(store->DeleteResourcePolicy(arn));
    throw std::runtime_error("undo");
  }),
                  std::runtime_error);
  CHECK(store->Tags(other).empty());
  CHECK(store->GetResourcePolicy(arn) == R"({"Statement":[]})");
  CHECK(store->DeleteResourcePolicy(arn));
  CHECK_FALSE(store->GetResourcePolicy(arn));
  CHECK(store->Digest() == before);
}

TEST_CASE("store: a schema 4 file gains the tag and policy tables, its digest unchanged", "[store]") {
  TempDir dir;
  std::string path = dir.File("s.db");
  std::string digest;
  {
    auto store = Store::Open(path);
    Populate(*store);
    digest = store->Digest();
  }
  {
    // As schema 4 left a file: no tags, no resource_policies (nor the key tables of schema 6, the
    // indexes of schema 7).
    RawDb raw(path);
    REQUIRE(
        raw.Exec("DROP TABLE tags; DROP TABLE resource_policies;"
                 " DROP TABLE change_types; DROP TABLE change_entities;"
                 " DROP INDEX timers_change; DROP INDEX timers_entity; PRAGMA user_version = 4") ==
        SQLITE_OK);
  }
  auto store = Store::Open(path);
  CHECK(store->Digest() == digest);
  store->PutTag("arn", {"k", "v"});
  store->PutResourcePolicy("arn", "{}");
  CHECK(store->Tags("arn") == std::vector<TagRow>{{"k", "v"}});
  CHECK(store->GetResourcePolicy("arn") == "{}");
  CHECK(store->IntegrityOk());
  RawDb raw(path);
  CHECK(raw.Int("PRAGMA user_version") == 8);
}

TEST_CASE("store: reopening keeps every row and the schema version", "[store]") {
  TempDir dir;
  std::string path = dir.File("s.db");
  std::string digest;
  {
    auto store = Store::Open(path);
    Populate(*store);
    store->NextCounter("cs");
    CommandRow c{0, "cmd", "{}", "2024-01-01T00:00:00Z"};
    store->AppendCommand(&c);
    TimerRow t;
    t.due_us = 5;
    store->AddTimer(&t);
    digest = store->Digest();
  }
  auto store = Store::Open(path);
  CHECK(store->Digest() == digest);
  CHECK(store->NextCounter("cs") == 2);
  CHECK(store->Clock() == "2024-01-01T00:00:00Z");
  CHECK(store->LastCommandSeq() == 1);
  CHECK(store->DueTimers(10).size() == 1);
  CHECK(store->IntegrityOk());
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* stmt = nullptr;
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(sqlite3_column_int(stmt, 0) == 8);
  sqlite3_finalize(stmt);
  REQUIRE(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &stmt, nullptr) == SQLITE_OK);
  REQUIRE(sqlite3_step(stmt) == SQLITE_ROW);
  CHECK(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0))) == "wal");
  sqlite3_finalize(stmt);
  sqlite3_close(db);
}

// A file as schema 1 left it (the schema as shipped, frozen here): opening it migrates it forward
// and keeps every change set with its changes.
constexpr const char kSchemaOne[] = R"sql(
CREATE TABLE entities (
  id TEXT PRIMARY KEY NOT NULL,
  type TEXT NOT NULL,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  revision INTEGER NOT NULL,
  document TEXT NOT NULL,
  locked_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE change_sets (
  seq INTEGER PRIMARY KEY,
  id TEXT NOT NULL,
  command INTEGER NOT NULL,
  name TEXT NOT NULL,
  token TEXT NOT NULL,
  actor TEXT NOT NULL,
  body_hash TEXT NOT NULL,
  intent TEXT NOT NULL,
  status TEXT NOT NULL,
  failure_code TEXT NOT NULL,
  failure_description TEXT NOT NULL,
  started_at TEXT NOT NULL,
  ended_at TEXT NOT NULL,
  working TEXT NOT NULL
);
CREATE UNIQUE INDEX change_sets_token ON change_sets (token) WHERE token <> '';
CREATE TABLE changes (
  change_set TEXT NOT NULL,
  idx INTEGER NOT NULL,
  change_type TEXT NOT NULL,
  entity_type TEXT NOT NULL,
  entity_id TEXT NOT NULL,
  change_name TEXT NOT NULL,
  machine_hash TEXT NOT NULL,
  state TEXT NOT NULL,
  status TEXT NOT NULL,
  errors TEXT NOT NULL,
  entered_at TEXT NOT NULL,
  PRIMARY KEY (change_set, idx)
) WITHOUT ROWID;
CREATE TABLE history (
  seq INTEGER PRIMARY KEY,
  change_set TEXT NOT NULL,
  change_index INTEGER NOT NULL,
  entity TEXT NOT NULL,
  event TEXT NOT NULL,
  from_state TEXT NOT NULL,
  to_state TEXT NOT NULL,
  actor TEXT NOT NULL,
  at TEXT NOT NULL,
  data TEXT NOT NULL
);
CREATE INDEX history_change_set ON history (change_set);
CREATE INDEX history_entity ON history (entity);
CREATE TABLE timers (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  due_us INTEGER NOT NULL,
  due TEXT NOT NULL,
  change_set TEXT NOT NULL,
  change_index INTEGER NOT NULL,
  entity TEXT NOT NULL,
  state TEXT NOT NULL,
  transition INTEGER NOT NULL
);
CREATE INDEX timers_due ON timers (due_us);
CREATE TABLE definitions (
  hash TEXT PRIMARY KEY NOT NULL,
  path TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE TABLE command_log (
  seq INTEGER PRIMARY KEY,
  command TEXT NOT NULL,
  outcome TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE meta (
  key TEXT PRIMARY KEY NOT NULL,
  value  -- No type: a counter is an integer.
) WITHOUT ROWID;
PRAGMA user_version = 1;
)sql";

TEST_CASE("store: a schema 1 file migrates forward with its changes and history", "[store]") {
  TempDir dir;
  std::string path = dir.File("old.db");
  {
    RawDb raw(path);
    REQUIRE(raw.Exec(kSchemaOne) == SQLITE_OK);
    const std::string id1 = ChangeSetId(1), id2 = ChangeSetId(2);
    const std::string rows =
        "INSERT INTO change_sets VALUES (1, '" + id1 +
        "', 1, 'n', '', 'seller', 'h', 'APPLY', 'SUCCEEDED', '', '', 't0', 't1', '');"
        "INSERT INTO change_sets VALUES (2, '" +
        id2 +
        "', 2, '', 'tok', 'seller', 'h', 'APPLY', 'FAILED', 'CLIENT_ERROR', 'd', 't1', 't2', '');"
        "INSERT INTO changes VALUES ('" +
        id1 +
        "', 1, 'UpdateInformation', 'P@1.0', 'prod-b', 'second', 'hash', 'Succeeded', "
        "'SUCCEEDED', '[]', 't0');"
        "INSERT INTO changes VALUES ('" +
        id1 +
        "', 0, 'CreateProduct', 'P@1.0', 'prod-a', 'first', 'hash', 'Succeeded', 'SUCCEEDED', "
        "'[{\"ErrorCode\":\"X\",\"ErrorMessage\":\"caf\u00e9 \\\"q\\\"\"}]', 't0');";
    REQUIRE(raw.Exec(rows.c_str()) == SQLITE_OK);
    const std::string history =
        "INSERT INTO history (change_set, change_index, entity, event, from_state, to_state, "
        "actor, at, data) VALUES ('', -1, 'prod-a', 'import', '', 'Draft', '', 't0', '{}'),"
        "('" +
        id1 +
        "', 0, 'prod-a', 'start', '', 'Preparing', 'seller', 't0', '{}'),"
        "('" +
        id2 +
        "', 0, 'prod-b', 'start', '', 'Preparing', 'seller', 't1', '{}'),"
        "('" +
        id1 + "', 0, 'prod-a', 'apply', 'Preparing', 'Succeeded', 'seller', 't1', '{}');";
    REQUIRE(raw.Exec(history.c_str()) == SQLITE_OK);
  }
  auto store = Store::Open(path);
  // Schema 6 found the changes that schema 2 moved into their change sets.
  ChangeSetPageQuery on_b;
  on_b.entity = "prod-b";
  REQUIRE(store->ListChangeSetsPage(on_b).size() == 1);
  CHECK(store->ListChangeSetsPage(on_b)[0].id == ChangeSetId(1));
  ChangeSetPageQuery created;
  created.change_type = "CreateProduct";
  CHECK(store->ListChangeSetsPage(created).size() == 1);
  auto of_first = store->History(ChangeSetId(1));
  REQUIRE(of_first.size() == 2);
  CHECK(of_first[0].event == "start");
  CHECK(of_first[1].event == "apply");
  CHECK(store->History(ChangeSetId(2)).size() == 1);
  auto cs = store->GetChangeSet(ChangeSetId(1));
  REQUIRE(cs);
  REQUIRE(cs->changes.size() == 2);
  CHECK(cs->changes[0].index == 0);
  CHECK(cs->changes[0].change_type == "CreateProduct");
  CHECK(cs->changes[0].entity_id == "prod-a");
  CHECK(cs->changes[0].change_name == "first");
  CHECK(cs->changes[0].errors ==
        "[{\"ErrorCode\":\"X\",\"ErrorMessage\":\"caf\u00e9 \\\"q\\\"\"}]");
  CHECK(cs->changes[1].index == 1);
  CHECK(cs->changes[1].entity_id == "prod-b");
  CHECK(cs->changes[1].entered_at == "t0");
  auto other = store->FindChangeSetByToken("seller", "tok");
  REQUIRE(other);
  CHECK(other->changes.empty());
  CHECK(store->ListChangeSets("", "prod-b", "").size() == 1);
  CHECK(store->ListChangeSets("", "", "CreateProduct").size() == 1);
  CHECK(store->ListChangeSets("", "prod-c", "").empty());
  CHECK(store->IntegrityOk());
}

TEST_CASE("store: a file that is not SQLite is not a store", "[store]") {
  TempDir dir;
  std::string path = dir.File("notes.txt");
  std::ofstream(path) << "hello";
  std::string message;
  CHECK(OpenErrorKind(path, &message) == StoreError::Kind::kNotAStore);
  CHECK(message ==
        path + " is not a sellerflow store (not an SQLite database); give another --db path");
  // Left untouched.
  std::ifstream in(path);
  std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(content == "hello");

  SECTION("a longer non-SQLite file") {
    std::ofstream(path) << std::string(8192, 'x');
    CHECK(OpenErrorKind(path, &message) == StoreError::Kind::kNotAStore);
  }
  SECTION("another program's SQLite database") {
    std::string other = dir.File("other.db");
    {
      RawDb raw(other);
      REQUIRE(raw.Exec("CREATE TABLE t (x)") == SQLITE_OK);
    }
    const std::string before = FileSha(other);
    CHECK(OpenErrorKind(other, &message) == StoreError::Kind::kNotAStore);
    CHECK(message ==
          other + " is an SQLite database but not a sellerflow store; give another --db path");
    // Refused before anything was written: not even switched to WAL.
    CHECK(FileSha(other) == before);
    CHECK_FALSE(std::filesystem::exists(other + "-wal"));
  }
  SECTION("another program's SQLite database in WAL mode, with a WAL") {
    std::string other = dir.File("other.db");
    {
      RawDb raw(other);
      REQUIRE(raw.Exec("PRAGMA journal_mode = WAL; CREATE TABLE t (x); INSERT INTO t VALUES (1)") ==
              SQLITE_OK);
      REQUIRE(raw.Exec("PRAGMA wal_checkpoint(TRUNCATE); INSERT INTO t VALUES (2)") == SQLITE_OK);
      std::filesystem::copy_file(other, dir.File("copy.db"));
      std::filesystem::copy_file(other + "-wal", dir.File("copy.db-wal"));
    }
    other = dir.File("copy.db");
    const std::string db = FileSha(other), wal = FileSha(other + "-wal");
    REQUIRE_FALSE(wal.empty());
    StoreOptions read;
    read.read_only = true;
    read.create = false;
    for (const StoreOptions& options : {StoreOptions(), read}) {
      CHECK_THROWS_AS(Store::Open(other, options), StoreError);
      // Not checkpointed into the database on close.
      CHECK(FileSha(other) == db);
      CHECK(FileSha(other + "-wal") == wal);
    }
  }
}

TEST_CASE("store: a negative schema version is not a store's, and the file is left alone",
          "[store]") {
  TempDir dir;
  const std::string path = dir.File("s.db");
  for (const char* version : {"-1", "-2147483648"}) {
    INFO(version);
    std::filesystem::remove(path);
    Store::Open(path)->NextCounter("n");
    {
      RawDb raw(path);
      REQUIRE(raw.Exec((std::string("PRAGMA user_version = ") + version).c_str()) == SQLITE_OK);
    }
    const std::string before = FileSha(path);
    StoreOptions read;
    read.read_only = true;
    for (const StoreOptions& options : {StoreOptions(), read}) {
      try {
        Store::Open(path, options);
        FAIL("opened a store of schema " << version);
      } catch (const StoreError& e) {
        CHECK(e.kind() == StoreError::Kind::kNotAStore);
        CHECK(std::string(e.what()) ==
              path + " is not a sellerflow store, or is damaged: its schema version is " + version +
                  ", and sellerflow writes none below 0; give another --db path");
      }
      CHECK(FileSha(path) == before);
    }
  }
}

// A store that stays open keeps its WAL: the WAL of `path`'s last writes, copied to `to`.
void CopyWalOfOpenStore(const std::string& path, const std::string& to,
                        const std::function<void(Store&)>& write) {
  auto store = Store::Open(path);
  write(*store);
  std::filesystem::remove(to);
  std::filesystem::copy_file(path + "-wal", to);
}

TEST_CASE("store: a WAL that is not the store's is refused before SQLite applies it", "[store]") {
  TempDir dir;
  const std::string path = dir.File("s.db"), wal = path + "-wal";
  Store::Open(path)->Write([] {});
  {
    auto store = Store::Open(path);
    store->Write([&] { store->InsertEntity(Entity("prod-mine")); });
  }
  REQUIRE_FALSE(std::filesystem::exists(wal));
  const std::string digest = Store::Open(path)->Digest();
  const auto refused = [&](const std::string& why) {
    const std::string db_sha = FileSha(path), wal_sha = FileSha(wal);
    StoreOptions read;
    read.read_only = true;
    for (const StoreOptions& options : {StoreOptions(), read}) {
      try {
        Store::Open(path, options);
        FAIL("opened the store beside a WAL that is not its own");
      } catch (const StoreError& e) {
        CHECK(e.kind() == StoreError::Kind::kCorrupt);
        CHECK(std::string(e.what()) ==
              wal + " does not belong to " + path + " (" + why +
                  "): opening the store would apply another database's writes to it; move " + wal +
                  " away and keep it (it may be another store's), then retry");
      }
      CHECK(FileSha(path) == db_sha);
      CHECK(FileSha(wal) == wal_sha);
    }
    std::filesystem::remove(wal);
    std::filesystem::remove(path + "-shm");
    CHECK(Store::Open(path)->Digest() == digest);
  };

  SECTION("another store's") {
    CopyWalOfOpenStore(dir.File("other.db"), wal, [](Store& other) {
      other.Write([&] { other.InsertEntity(Entity("prod-other")); });
    });
    refused("it holds the header of another store");
  }
  SECTION("another store's, even when the other store was opened only to write in place") {
    const std::string other = dir.File("other.db");
    {
      auto store = Store::Open(other);
      store->Write([&] { store->InsertEntity(Entity("prod-other")); });
    }
    CopyWalOfOpenStore(other, wal, [](Store& store) {
      store.Write([&] { store.UpdateEntity(Entity("prod-other", "Product", "LIVE")); });
    });
    refused("it holds the header of another store");
  }
  SECTION("a WAL with other pages") {
    const std::string other = dir.File("other.db");
    RawDb raw(other);
    REQUIRE(raw.Exec("PRAGMA page_size = 1024; PRAGMA journal_mode = WAL; CREATE TABLE t (x);") ==
            SQLITE_OK);
    std::filesystem::copy_file(other + "-wal", wal);
    refused("its pages are 1024 bytes, the store's 4096");
  }
  SECTION("a WAL beside a store that is not in WAL mode") {
    {
      RawDb raw(path);
      REQUIRE(raw.Exec("PRAGMA journal_mode = DELETE") == SQLITE_OK);
    }
    CopyWalOfOpenStore(dir.File("other.db"), wal, [](Store& other) {
      other.Write([&] { other.InsertEntity(Entity("prod-other")); });
    });
    refused(path + " is not in WAL mode");
  }
  SECTION("the WAL of a copy that grew, written in place since") {
    // A copy has the store's identity; a WAL that never rewrites the header must leave the
    // database the size the header says.
    const std::string copy = dir.File("copy.db");
    std::filesystem::copy_file(path, copy);
    RawDb raw(copy);
    REQUIRE(raw.Exec("CREATE TABLE pad (x); INSERT INTO pad SELECT zeroblob(4000) FROM "
                     "(WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 50)"
                     " SELECT i FROM n); PRAGMA wal_checkpoint(TRUNCATE);"
                     "UPDATE entities SET state = 'LIVE'") == SQLITE_OK);
    std::filesystem::copy_file(copy + "-wal", wal);
    refused("it leaves " + std::to_string(std::filesystem::file_size(copy) / 4096) +
            " pages without writing the header, which says " +
            std::to_string(std::filesystem::file_size(path) / 4096));
  }
}

TEST_CASE("store: its own WAL, left by a crash, is applied", "[store]") {
  TempDir dir;
  const std::string path = dir.File("s.db"), crashed = dir.File("crashed.db");
  auto store = Store::Open(path);
  store->Write([&] { store->InsertEntity(Entity("prod-1")); });
  const auto crash = [&] {
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(crashed + suffix);
      std::filesystem::copy_file(path + suffix, crashed + suffix);
    }
    return Store::Open(crashed)->Digest();
  };
  CHECK(crash() == store->Digest());
  SECTION("after SQLite restarted the WAL, which then holds no header") {
    {
      RawDb raw(path);
      REQUIRE(raw.Exec("PRAGMA wal_checkpoint(TRUNCATE)") == SQLITE_OK);
    }
    store->Write([&] { store->UpdateEntity(Entity("prod-1", "Product", "LIVE")); });
    CHECK(crash() == store->Digest());
  }
  SECTION("with its -shm gone") {
    store->Write([&] { store->InsertEntity(Entity("prod-2")); });
    const std::string digest = store->Digest();
    for (const char* suffix : {"", "-wal"}) {
      std::filesystem::remove(crashed + suffix);
      std::filesystem::copy_file(path + suffix, crashed + suffix);
    }
    std::filesystem::remove(crashed + "-shm");
    CHECK(Store::Open(crashed)->Digest() == digest);
  }
}

// Marks a file or folder immutable (chattr +i: not even root may change it) while it lives.
class Immutable {
 public:
  explicit Immutable(const std::string& path) : path_(path) { ok_ = Set(true); }
  ~Immutable() {
    if (ok_) Set(false);
  }
  bool ok() const { return ok_; }

 private:
  bool Set(bool on) {
    const int fd = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return false;
    int flags = 0;
    bool done = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0;
    flags = on ? flags | FS_IMMUTABLE_FL : flags & ~FS_IMMUTABLE_FL;
    done = done && ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0;
    close(fd);
    return done;
  }
  std::string path_;
  bool ok_ = false;
};

TEST_CASE("store: a store nothing can write (read-only media) is read and exported", "[store]") {
  TempDir dir;
  const std::string folder = dir.File("media"), path = folder + "/s.db";
  std::filesystem::create_directory(folder);
  std::string digest;
  {
    auto store = Store::Open(path);
    Populate(*store);
    CommandRow c{0, "cmd", "{}", "2024-01-01T00:00:00Z"};
    store->AppendCommand(&c);
    digest = store->Digest();
  }
  const std::string before = FileSha(path);
  StoreOptions read;
  read.read_only = true;
  read.create = false;
  SECTION("the store alone") {
    Immutable file(path), media(folder);
    if (!file.ok() || !media.ok()) {
      WARN("skipped: cannot mark files immutable here (chattr +i needs root and ext4 or the like)");
      return;
    }
    auto store = Store::Open(path, read);
    CHECK(store->Digest() == digest);
    CHECK(store->Commands(0, 10).size() == 1);
    CHECK(store->Clock() == "2024-01-01T00:00:00Z");
    CHECK_THROWS_AS(store->Write([] {}), StoreError);
    store.reset();
    CHECK(std::filesystem::directory_iterator(folder)->path() == path);
    CHECK(FileSha(path) == before);
  }
  SECTION("with writes still in its WAL, and no -shm") {
    auto writer = Store::Open(path);
    writer->Write([&] { writer->InsertEntity(Entity("prod-late")); });
    const std::string copy = dir.File("copy"), copied = copy + "/s.db";
    std::filesystem::create_directory(copy);
    std::filesystem::copy_file(path, copied);
    std::filesystem::copy_file(path + "-wal", copied + "-wal");
    writer.reset();
    Immutable file(copied), wal(copied + "-wal"), media(copy);
    if (!file.ok() || !wal.ok() || !media.ok()) {
      WARN("skipped: cannot mark files immutable here (chattr +i needs root and ext4 or the like)");
      return;
    }
    try {
      Store::Open(copied, read);
      FAIL("read a store on read-only media without the writes in its WAL");
    } catch (const StoreError& e) {
      CHECK(std::string(e.what()) ==
            "cannot read " + copied + ": it cannot be written (read-only media), and " + copied +
                "-wal holds writes that SQLite reads only through a -shm file, which it cannot "
                "make there; copy the store with its -wal file to writable media, and read the "
                "copy");
    }
  }
}

TEST_CASE("store: a file from a newer schema is refused", "[store]") {
  TempDir dir;
  std::string path = dir.File("s.db");
  Store::Open(path);
  {
    RawDb raw(path);
    REQUIRE(raw.Exec("PRAGMA user_version = 999") == SQLITE_OK);
  }
  std::string message;
  CHECK(OpenErrorKind(path, &message) == StoreError::Kind::kNewerSchema);
  CHECK(message == path +
                       " was written by a newer sellerflow (schema 999, this one knows 8); upgrade "
                       "sellerflow");
}

TEST_CASE("store: a damaged file is reported as corrupt", "[store]") {
  TempDir dir;
  std::string path = dir.File("s.db");
  {
    auto store = Store::Open(path);
    Populate(*store);
  }
  {
    // Checkpoint into the main file and leave rollback mode, so the bytes below are the database.
    RawDb raw(path);
    REQUIRE(raw.Exec("PRAGMA journal_mode = DELETE") == SQLITE_OK);
  }
  // Overwrite page 1 after the header: the schema table's b-tree page.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(100);
    std::string junk(3000, '\xA5');
    f.write(junk.data(), static_cast<std::streamsize>(junk.size()));
  }
  std::string message;
  CHECK(OpenErrorKind(path, &message) == StoreError::Kind::kCorrupt);
  CHECK(message.find(path + " is damaged") == 0);
}

TEST_CASE("store: a path in a missing directory is an I/O error naming it", "[store]") {
  TempDir dir;
  std::string path = dir.File("missing/s.db");
  std::string message;
  CHECK(OpenErrorKind(path, &message) == StoreError::Kind::kIo);
  CHECK(message.find(path) != std::string::npos);
}

TEST_CASE("store: SQLite's special names and URIs are not store paths", "[store]") {
  TempDir dir;
  const std::string uri = "file:" + dir.File("u.db") + "?mode=memory";
  const std::string nolock = "file:" + dir.File("u.db") + "?vfs=unix-none";
  for (const std::string& location : {std::string(), std::string(":memory:"), uri, nolock}) {
    INFO(location);
    for (bool read_only : {false, true}) {
      StoreOptions options;
      options.read_only = read_only;
      try {
        Store::Open(location, options);
        FAIL("opened " << location);
      } catch (const StoreError& e) {
        CHECK(e.kind() == StoreError::Kind::kBadLocation);
        const std::string quoted = location.empty() ? "an empty path" : "'" + location + "'";
        CHECK_THAT(e.what(), Catch::StartsWith(quoted + " is not a store path: SQLite would "));
      }
    }
  }
  std::string message;
  CHECK(OpenErrorKind(uri, &message) == StoreError::Kind::kBadLocation);
  CHECK(message == "'" + uri +
                       "' is not a store path: SQLite would read it as a URI, not as a file name; "
                       "give the path of a store file (./" +
                       uri + " for a file of that name)");
  CHECK_FALSE(std::filesystem::exists(dir.File("u.db")));
  // "file:" inside a path is only a name.
  const std::string plain = dir.File("file:v.db");
  Store::Open(plain)->NextCounter("n");
  CHECK(Store::Open(plain)->NextCounter("n") == 2);
}

TEST_CASE("store: a write waits for another process's lock, then reports busy", "[store]") {
  TempDir dir;
  std::string path = dir.File("s.db");
  auto store = Store::Open(path, 100);
  RawDb other(path);
  REQUIRE(other.Exec("BEGIN IMMEDIATE") == SQLITE_OK);
  try {
    store->Write([&] { store->InsertEntity(Entity("prod-1")); });
    FAIL("Write did not report busy");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kBusy);
    CHECK(std::string(e.what()) ==
          "store " + path + " is busy: another process holds its write lock; retry");
  }
  // Reads still work while another process writes (WAL).
  CHECK_FALSE(store->GetEntity("prod-1"));
  REQUIRE(other.Exec("COMMIT") == SQLITE_OK);
  store->Write([&] { store->InsertEntity(Entity("prod-1")); });
  CHECK(store->GetEntity("prod-1"));

  SECTION("a batch too") {
    REQUIRE(other.Exec("BEGIN IMMEDIATE") == SQLITE_OK);
    CHECK_THROWS_AS(store->BeginBatch(), StoreError);
    REQUIRE(other.Exec("ROLLBACK") == SQLITE_OK);
    store->BeginBatch();
    store->Write([&] { store->InsertEntity(Entity("prod-2")); });
    store->CommitBatch();
    CHECK(store->GetEntity("prod-2"));
  }
}

TEST_CASE("store: two stores on one file see each other's writes", "[store][any-store]") {
  TempDir dir;
  std::string path = dir.Location("s.db");
  auto a = Store::Open(path, 1000);
  auto b = Store::Open(path, 1000);
  for (int i = 0; i < 10; ++i) {
    Store& writer = i % 2 == 0 ? *a : *b;
    Store& reader = i % 2 == 0 ? *b : *a;
    std::string id = "prod-" + std::to_string(i);
    writer.Write([&] {
      writer.InsertEntity(Entity(id));
      CHECK(writer.NextCounter("n") == i + 1);
    });
    CHECK(reader.GetEntity(id));
    CHECK(reader.ListEntities("", "").size() == static_cast<size_t>(i + 1));
  }
  CHECK(a->Digest() == b->Digest());
}

// A store remembers, between its own write transactions, the last command and change set, the
// clock and the earliest timer; a write by another connection or a rollback must make it read them
// again.
TEST_CASE("store: what a write remembers is read again after another store writes", "[store][any-store]") {
  TempDir dir;
  std::string path = dir.Location("s.db");
  auto a = Store::Open(path, 1000);
  auto b = Store::Open(path, 1000);
  auto log = [](Store& s, const std::string& at) {
    s.Write([&] {
      CommandRow row{0, "cmd", "{}", at};
      s.AppendCommand(&row);
    });
  };
  auto inside = [](Store& s, auto&& read) {
    decltype(read()) value{};
    s.Write([&] { value = read(); });
    return value;
  };
  log(*a, "2024-05-01T00:00:00Z");
  CHECK(inside(*a, [&] { return a->LastCommandSeq(); }) == 1);
  log(*b, "2024-05-02T00:00:00Z");
  CHECK(inside(*a, [&] { return a->LastCommandSeq(); }) == 2);
  CHECK(inside(*a, [&] { return a->Clock(); }) == "2024-05-02T00:00:00Z");

  CHECK(inside(*a, [&] { return a->LastChangeSetSeq(); }) == 0);
  b->Write([&] { b->InsertChangeSet(ChangeSet(ChangeSetId(1), 1)); });
  CHECK(inside(*a, [&] { return a->LastChangeSetSeq(); }) == 1);

  CHECK(inside(*a, [&] { return a->DueTimers(1000).size(); }) == 0);
  TimerRow t;
  t.due_us = 500;
  t.entity = "e";
  b->AddTimer(&t);
  CHECK(inside(*a, [&] { return a->DueTimers(1000).size(); }) == 1);
  // An earlier timer added by this store is seen at once.
  a->Write([&] {
    TimerRow early;
    early.due_us = 10;
    early.entity = "f";
    a->AddTimer(&early);
    CHECK(a->DueTimers(20).size() == 1);
  });

  // A rolled-back write forgets what it saw.
  CHECK_THROWS_AS(a->Write([&] {
    CommandRow row{0, "cmd", "{}", "2024-05-03T00:00:00Z"};
    a->AppendCommand(&row);
    CHECK(a->LastCommandSeq() == 3);
    throw std::runtime_error("abandon");
  }),
                  std::runtime_error);
  CHECK(inside(*a, [&] { return a->LastCommandSeq(); }) == 2);
  CHECK(inside(*a, [&] { return a->Clock(); }) == "2024-05-02T00:00:00Z");
}

// Everything a copy moves: rows of every table, a fired timer, counters and a reserved seq.
void PopulateAll(Store& store) {
  Populate(store);
  store.Write([&] {
    CommandRow c{0, "{\"op\":\"tick\"}", "{}", "2024-01-03T00:00:00Z"};
    store.AppendCommand(&c);
    store.PutDefinition("hash-1", "workflows/a.yaml", "text \xc3\xa9");
    store.NextCounter("prod");
    store.NextCounter("prod");
    store.ReserveChangeSetSeq(7);
    for (int64_t due : {30, 10, 20}) {
      TimerRow t;
      t.due_us = due;
      t.due = "due";
      t.entity = "prod-1";
      t.state = "S";
      store.AddTimer(&t);
    }
  });
  // The last timer goes, so the copy must still never hand its id out again.
  store.Write([&] { store.DeleteTimer(3); });
}

// What ExportRows hands out, as text, to compare two stores table by table.
std::vector<std::string> Rows(Store& store) {
  std::vector<std::string> out;
  store.ExportRows([&](const CopyTable& table, const std::vector<CopyValue>& row) {
    std::string line = table.name;
    for (const CopyValue& v : row) {
      line += '|';
      if (const auto* n = std::get_if<int64_t>(&v)) {
        line += "i" + std::to_string(*n);
      } else {
        line += "s" + std::get<std::string>(v);
      }
    }
    out.push_back(line);
  });
  return out;
}

void Copy(Store& from, Store& to) {
  to.Write([&] {
    from.ExportRows([&](const CopyTable& table, const std::vector<CopyValue>& row) {
      to.ImportRow(table, row);
    });
  });
}

TEST_CASE("store: a copy holds every row, and goes on numbering where the source would",
          "[store][any-store]") {
  TempDir dir;
  auto a = Store::Open(dir.Location("a.db"));
  auto b = Store::Open(dir.Location("b.db"));
  PopulateAll(*a);
  CHECK(Rows(*b).empty());
  Copy(*a, *b);
  CHECK(Rows(*b) == Rows(*a));
  CHECK(b->Digest() == a->Digest());
  CHECK(b->OutcomeDigest() == a->OutcomeDigest());
  CHECK(b->NextCounter("prod") == 3);
  CHECK(b->LastChangeSetSeq() == 7);
  CHECK(b->Clock() == "2024-01-03T00:00:00Z");
  CHECK(b->GetDefinition("hash-1") == std::optional<std::string>("text \xc3\xa9"));
  TimerRow next;
  next.due_us = 1;
  b->AddTimer(&next);
  CHECK(next.id == 4);
  CHECK_THROWS_AS(b->ImportRow(CopyTables()[0], {}), std::logic_error);
}

// Change sets for the page query: types, entities, accounts, statuses and start times that vary
// apart from one another and from the seq (the times are the seqs shuffled), some with no entity
// yet, and some whose changes moved on after their insert (an entity created or another one
// named, a type changed), leaving keys behind in the index.
void PopulatePages(Store& store) {
  const char* types[] = {"CreateProduct", "UpdateInformation", "UpdateVisibility"};
  const char* statuses[] = {"SUCCEEDED", "FAILED", "APPLYING"};
  store.Write([&] {
    for (int64_t seq = 1; seq <= 60; ++seq) {
      ChangeSetRow cs = ChangeSet("p" + std::to_string(seq), seq);
      cs.actor = seq % 4 == 0 ? "operations" : seq % 2 == 1 ? "seller:111" : "seller:222";
      cs.status = statuses[seq % 3];
      // Two sets a minute, in seq order: a set never starts before the one before it.
      const int64_t minute = seq / 2;
      cs.started_at =
          "2024-01-02T10:" + std::string(minute < 10 ? "0" : "") + std::to_string(minute) + ":00Z";
      cs.changes.resize(seq % 5 == 0 ? 2 : 1);
      for (size_t i = 0; i < cs.changes.size(); ++i) {
        cs.changes[i].change_type = types[(seq + static_cast<int64_t>(i)) % 3];
        cs.changes[i].entity_id =
            seq % 7 == 0 ? "" : "prod-" + std::to_string((seq + static_cast<int64_t>(i)) % 4);
      }
      store.InsertChangeSet(cs);
    }
    for (int64_t seq : {7, 14, 21, 22, 23}) {
      ChangeSetRow cs = *store.GetChangeSet(ChangeSetId(seq));
      cs.changes[0].entity_id = seq <= 21 ? "prod-new" : "prod-9";
      if (seq == 23) cs.changes[0].change_type = "CreateProduct";
      store.UpdateChangeSet(cs);
    }
  });
}

// Every page of every mix of filters, read `limit` rows at a time through the cursor, is the
// whole listing filtered and ordered here.
void CheckPages(Store& store, int limit = 4) {
  const std::vector<ChangeSetRow> all = store.ListChangeSets("", "", "");
  REQUIRE(all.size() == 60);
  // A set's minute is its seq halved: the bounds below fall on a minute two sets share (both
  // ends exclusive), between minutes, and on the first and the last set.
  const std::pair<std::string, std::string> ranges[] = {
      {"", ""},
      {"2024-01-02T10:10:00Z", ""},
      {"", "2024-01-02T10:20:00Z"},
      {"2024-01-02T10:10:00Z", "2024-01-02T10:20:00Z"},
      {"2024-01-02T10:09:30Z", "2024-01-02T10:10:30Z"},
      {"", "2024-01-02T10:00:30Z"},
      {"2024-01-02T10:29:30Z", ""},
      {"2024-01-02T10:40:00Z", ""},
      {"", "2024-01-02T09:00:00Z"},
      {"2024-01-02T10:12:00Z", "2024-01-02T10:12:00Z"}};
  int nonempty = 0;
  for (const char* status : {"", "FAILED"})
    for (const char* entity : {"", "prod-1", "prod-new", "prod-9", "prod-none"})
      for (const char* type : {"", "CreateProduct", "UpdateVisibility"})
        for (const char* account : {"", "111"})
          for (const auto& [after, before] : ranges)
            for (bool newest : {true, false}) {
              std::vector<int64_t> expected;
              for (const ChangeSetRow& cs : all) {
                const auto names = [&](const std::string& want, bool by_entity) {
                  if (want.empty()) return true;
                  for (const ChangeRow& c : cs.changes)
                    if ((by_entity ? c.entity_id : c.change_type) == want) return true;
                  return false;
                };
                if (!std::string(status).empty() && cs.status != status) continue;
                if (!names(entity, true) || !names(type, false)) continue;
                if (!std::string(account).empty() &&
                    cs.actor.substr(cs.actor.find(':') + 1) != account)
                  continue;
                if (!after.empty() && !(cs.started_at > after)) continue;
                if (!before.empty() && !(cs.started_at < before)) continue;
                expected.push_back(cs.seq);
              }
              if (newest) std::reverse(expected.begin(), expected.end());
              ChangeSetPageQuery q;
              q.status = status;
              q.entity = entity;
              q.change_type = type;
              q.account = account;
              q.started_after = after;
              q.started_before = before;
              q.newest_first = newest;
              q.limit = limit;
              std::vector<int64_t> got;
              for (int page = 0; page <= 60; ++page) {
                const std::vector<ChangeSetRow> rows = store.ListChangeSetsPage(q);
                for (const ChangeSetRow& cs : rows) got.push_back(cs.seq);
                if (!rows.empty()) CheckSame(rows[0], *store.GetChangeSet(rows[0].id));
                if (rows.size() < static_cast<size_t>(limit)) break;
                q.after_seq = rows.back().seq;
              }
              INFO("status " << status << ", entity " << entity << ", type " << type << ", account "
                             << account << ", after " << after << ", before " << before
                             << (newest ? ", newest first" : ", oldest first"));
              CHECK(got == expected);
              nonempty += expected.empty() ? 0 : 1;
            }
  // The mixes are not all empty ones.
  CHECK(nonempty > 200);
}

TEST_CASE("store: a page of change sets is the listing filtered, in either order, in a copy too",
          "[store][any-store]") {
  TempDir dir;
  auto store = Store::Open(dir.Location("s.db"));
  PopulatePages(*store);
  CheckPages(*store);
  CheckPages(*store, 1);
  // Derived from the change sets as they are imported, never copied.
  auto copy = Store::Open(dir.Location("copy.db"));
  Copy(*store, *copy);
  CHECK(copy->Digest() == store->Digest());
  CheckPages(*copy);
  auto file = Store::Open(dir.File("copy-file.db"));
  Copy(*store, *file);
  CheckPages(*file);
}

TEST_CASE(
    "store: a time range's change sets are found across gaps in the seqs, and a set dated "
    "before the one before it is refused",
    "[store]") {
  TempDir dir;
  auto store = Store::Open(dir.File("s.db"));
  // Seqs 3, 4, 9, 10, 15, ... (gaps the bisection lands in), a minute each from 10:00.
  std::vector<int64_t> seqs;
  for (int64_t n = 0; n < 40; ++n) seqs.push_back(3 + n / 2 * 6 + n % 2);
  store->Write([&] {
    for (size_t n = 0; n < seqs.size(); ++n) {
      ChangeSetRow cs = ChangeSet("g" + std::to_string(n), seqs[n]);
      cs.started_at =
          "2024-01-02T10:" + std::string(n < 10 ? "0" : "") + std::to_string(n) + ":00Z";
      store->InsertChangeSet(cs);
    }
  });
  const auto range = [&](const std::string& after, const std::string& before, bool newest) {
    ChangeSetPageQuery q;
    q.started_after = after;
    q.started_before = before;
    q.newest_first = newest;
    q.limit = 100;
    std::vector<int64_t> got;
    for (const ChangeSetRow& cs : store->ListChangeSetsPage(q)) got.push_back(cs.seq);
    return got;
  };
  // Minutes 5 to 8 exclusive: the sets numbered 6 and 7 (seqs 22, 27).
  CHECK(range("2024-01-02T10:05:00Z", "2024-01-02T10:08:00Z", false) ==
        std::vector<int64_t>{seqs[6], seqs[7]});
  CHECK(range("2024-01-02T10:05:00Z", "2024-01-02T10:08:00Z", true) ==
        std::vector<int64_t>{seqs[7], seqs[6]});
  CHECK(range("", "2024-01-02T10:00:30Z", false) == std::vector<int64_t>{3});
  CHECK(range("2024-01-02T10:38:30Z", "", false) == std::vector<int64_t>{seqs[39]});
  CHECK(range("2024-01-02T10:39:00Z", "", false).empty());
  CHECK(range("", "2024-01-02T10:00:00Z", false).empty());
  CHECK(range("2024-01-01T00:00:00Z", "", false) == seqs);
  // A set that starts before the last one would hide from the ranges: refused, nothing written.
  const std::string digest = store->Digest();
  ChangeSetRow early = ChangeSet("early", 200);
  early.started_at = "2024-01-02T10:30:00Z";
  try {
    store->Write([&] { store->InsertChangeSet(early); });
    FAIL("a set dated before the one before it was inserted");
  } catch (const std::logic_error& e) {
    CHECK_THAT(e.what(), Catch::Contains("change set " + early.id +
                                         " starts at 2024-01-02T10:30:00Z, before the change set "
                                         "before it (2024-01-02T10:39:00Z)"));
  }
  CHECK(store->Digest() == digest);
  early.started_at = "2024-01-02T10:39:00Z";  // The same time is not earlier.
  store->Write([&] { store->InsertChangeSet(early); });
  CHECK(range("2024-01-02T10:38:30Z", "", false) == std::vector<int64_t>{seqs[39], 200});
}

TEST_CASE("store: a schema 5 file gains the page indexes from its rows, its digest unchanged",
          "[store]") {
  TempDir dir;
  const std::string path = dir.File("s.db");
  std::string digest;
  {
    auto store = Store::Open(path);
    PopulatePages(*store);
    digest = store->Digest();
  }
  {
    // As schema 5 left a file.
    RawDb raw(path);
    REQUIRE(
        raw.Exec("DROP TABLE change_types; DROP TABLE change_entities;"
                 " DROP INDEX timers_change; DROP INDEX timers_entity; PRAGMA user_version = 5") ==
        SQLITE_OK);
  }
  auto store = Store::Open(path);
  CHECK(store->Digest() == digest);
  CHECK(store->IntegrityOk());
  {
    RawDb raw(path);
    CHECK(raw.Int("PRAGMA user_version") == 8);
    CHECK(raw.Int("SELECT count(*) FROM change_entities") > 50);
  }
  CheckPages(*store);
  // Written after the migration.
  ChangeSetRow more = ChangeSet("more", 61);
  more.started_at = "2024-01-02T11:00:00Z";
  more.changes[0].entity_id = "prod-9";
  store->InsertChangeSet(more);
  ChangeSetPageQuery q;
  q.entity = "prod-9";
  const std::vector<ChangeSetRow> rows = store->ListChangeSetsPage(q);
  REQUIRE(rows.size() == 3);
  CHECK(rows[0].seq == 61);
}

TEST_CASE("store: a write waits for another store's batch, then reports busy",
          "[store][any-store]") {
  TempDir dir;
  const std::string location = dir.Location("s.db");
  auto holder = Store::Open(location, 1000);
  auto waiter = Store::Open(location, 100);
  holder->BeginBatch();
  holder->Write([&] { holder->InsertEntity(Entity("prod-1")); });
  try {
    waiter->Write([&] { waiter->InsertEntity(Entity("prod-2")); });
    FAIL("Write did not report busy");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kBusy);
  }
  CHECK_FALSE(waiter->GetEntity("prod-1"));
  holder->CommitBatch();
  waiter->Write([&] { waiter->InsertEntity(Entity("prod-2")); });
  CHECK(holder->GetEntity("prod-2"));
  CHECK(waiter->GetEntity("prod-1"));
}

// The PostgreSQL half: only beside a cluster.
TEST_CASE("store: PostgreSQL and SQLite give byte-identical digests, and copy either way",
          "[store][pg]") {
  if (TestPgAdminUri().empty()) return;
  TempDir dir;
  auto lite = Store::Open(dir.File("lite.db"));
  auto pg = Store::Open(NewTestPgDatabase());
  PopulateAll(*lite);
  PopulateAll(*pg);
  CHECK(pg->Digest() == lite->Digest());
  CHECK(pg->OutcomeDigest() == lite->OutcomeDigest());
  CHECK(Rows(*pg) == Rows(*lite));

  auto pg_copy = Store::Open(NewTestPgDatabase());
  Copy(*lite, *pg_copy);
  CHECK(pg_copy->Digest() == lite->Digest());
  auto lite_copy = Store::Open(dir.File("copy.db"));
  Copy(*pg, *lite_copy);
  CHECK(lite_copy->Digest() == pg->Digest());
  CHECK(Rows(*lite_copy) == Rows(*lite));
  TimerRow next;
  next.due_us = 1;
  lite_copy->AddTimer(&next);
  CHECK(next.id == 4);
}

TEST_CASE("store: a PostgreSQL schema 2 database gains the page indexes from its rows",
          "[store][pg]") {
  if (TestPgAdminUri().empty()) return;
  const std::string uri = NewTestPgDatabase();
  std::string digest;
  {
    auto store = Store::Open(uri);
    PopulatePages(*store);
    digest = store->Digest();
  }
  // As schema 2 left a database.
  TestPgExec(uri,
             "DROP TRIGGER change_sets_keys ON change_sets; DROP FUNCTION change_sets_keys();"
             " DROP TABLE change_types; DROP TABLE change_entities; DROP INDEX change_sets_started;"
             " DROP INDEX timers_change; DROP INDEX timers_entity;"
             " DELETE FROM schema_migrations WHERE version >= 3");
  auto store = Store::Open(uri);
  CHECK(store->Digest() == digest);
  CHECK(TestPgExec(uri, "SELECT max(version) FROM schema_migrations") == "4");
  CheckPages(*store);
}

TEST_CASE("store: PostgreSQL schema versions, and a database that is not a store",
          "[store][pg]") {
  if (TestPgAdminUri().empty()) return;
  const std::string uri = NewTestPgDatabase();
  StoreOptions read;
  read.create = false;
  read.read_only = true;
  try {
    Store::Open(uri, read);
    FAIL("an empty database opened as a store");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kNotFound);
  }
  Store::Open(uri)->NextCounter("n");
  CHECK(TestPgExec(uri, "SELECT max(version) FROM schema_migrations") == "4");
  auto reader = Store::Open(uri, read);
  CHECK(reader->IntegrityOk());
  CHECK_THROWS_AS(reader->Write([] {}), StoreError);

  TestPgExec(uri, "INSERT INTO schema_migrations VALUES (99, 'from the future')");
  try {
    Store::Open(uri);
    FAIL("a newer schema opened");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kNewerSchema);
  }
  const std::string other = NewTestPgDatabase();
  TestPgExec(other, "CREATE TABLE accounts (id INTEGER)");
  try {
    Store::Open(other);
    FAIL("a database of someone else's tables opened");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kNotAStore);
  }
  try {
    Store::Open(TestPgAdminUri().substr(0, TestPgAdminUri().find('?')) + "_missing" +
                    TestPgAdminUri().substr(TestPgAdminUri().find('?')),
                read);
    FAIL("a missing database opened");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kNotFound);
  }
}

TEST_CASE("store: a lost PostgreSQL connection fails the write whole, then reconnects",
          "[store][pg]") {
  if (TestPgAdminUri().empty()) return;
  const std::string uri = NewTestPgDatabase();
  auto store = Store::Open(uri);
  store->Write([&] { store->InsertEntity(Entity("prod-1")); });
  const std::string kill =
      "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = "
      "current_database() AND pid <> pg_backend_pid()";
  try {
    store->Write([&] {
      store->InsertEntity(Entity("prod-2"));
      CHECK(TestPgExec(uri, kill) == "1");
      store->InsertEntity(Entity("prod-3"));
    });
    FAIL("the write survived its connection");
  } catch (const StoreError& e) {
    CHECK(e.kind() == StoreError::Kind::kIo);
    CHECK(std::string(e.what()).find("lost the connection") != std::string::npos);
  }
  // Nothing of it was committed; the next write connects again.
  CHECK_FALSE(store->GetEntity("prod-2"));
  store->Write([&] { store->InsertEntity(Entity("prod-4")); });
  CHECK(store->ListEntities("", "").size() == 2);

  SECTION("in a batch") {
    store->BeginBatch();
    store->Write([&] { store->InsertEntity(Entity("prod-5")); });
    CHECK(TestPgExec(uri, kill) == "1");
    CHECK_THROWS_AS(store->Write([&] { store->InsertEntity(Entity("prod-6")); }), StoreError);
    CHECK_THROWS_AS(store->CommitBatch(), StoreError);
    CHECK_FALSE(store->GetEntity("prod-5"));
  }
}

TEST_CASE("store: PostgreSQL stores in threads: each timer fired once, counters unique",
          "[store][pg]") {
  if (TestPgAdminUri().empty()) return;
  const std::string uri = NewTestPgDatabase();
  {
    auto store = Store::Open(uri);
    store->Write([&] {
      for (int i = 0; i < 200; ++i) {
        TimerRow t;
        t.due_us = i % 17;
        t.entity = "e";
        store->AddTimer(&t);
      }
    });
  }
  constexpr int kThreads = 4;
  std::vector<std::vector<int64_t>> fired(kThreads), counters(kThreads);
  std::vector<std::string> errors(kThreads);
  std::vector<std::thread> threads;
  for (int n = 0; n < kThreads; ++n) {
    threads.emplace_back([&, n] {
      try {
        auto store = Store::Open(uri, 10000);
        for (int round = 0; round < 30; ++round) {
          store->Write([&] {
            // Two timers a round at most, so that every thread gets some.
            std::vector<TimerRow> due = store->DueTimers(100);
            for (size_t i = 0; i < due.size() && i < 2; ++i) {
              store->DeleteTimer(due[i].id);
              fired[n].push_back(due[i].id);
            }
            counters[n].push_back(store->NextCounter("cs"));
          });
        }
      } catch (const std::exception& e) {
        errors[n] = e.what();
      }
    });
  }
  for (std::thread& t : threads) t.join();
  std::vector<int64_t> all_fired, all_counters;
  for (int n = 0; n < kThreads; ++n) {
    INFO(errors[n]);
    CHECK(errors[n].empty());
    all_fired.insert(all_fired.end(), fired[n].begin(), fired[n].end());
    all_counters.insert(all_counters.end(), counters[n].begin(), counters[n].end());
  }
  std::sort(all_fired.begin(), all_fired.end());
  std::sort(all_counters.begin(), all_counters.end());
  CHECK(std::adjacent_find(all_fired.begin(), all_fired.end()) == all_fired.end());
  CHECK(all_fired.size() == 200);
  REQUIRE(all_counters.size() == kThreads * 30);
  for (size_t i = 0; i < all_counters.size(); ++i) CHECK(all_counters[i] == int64_t(i) + 1);
}

}  // namespace
}  // namespace sellerflow::engine
