// Tests of engine::Engine driven directly: small test workflows in a temp dir and a real SQLite
// store.
#include "engine/run/engine.h"

#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
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

// A fresh directory per test, removed afterwards.
class ScratchDir {
 public:
  ScratchDir() {
    std::string pattern =
        (std::filesystem::temp_directory_path() / "sellerflow-engine-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string Path(const std::string& name) const { return (path_ / name).string(); }
  void Write(const std::string& name, const std::string& text) const {
    std::filesystem::create_directories((path_ / name).parent_path());
    std::ofstream(Path(name), std::ios::binary) << text;
  }

 private:
  std::filesystem::path path_;
};

// The test policy: a Widget entity and one small request machine per action kind.
constexpr const char* kWidget = R"(machine: entity
entity_type: Widget@1.0
id_prefix: wid-
document:
  Name?: string
  Tags?: list<string>
  Meta?: "{Color?: string, Size?: int}"
  ExpiresAt?: timestamp
events:
  activate: []
  noted:
    actors: []
    data: {By: string}
states:
  New: {initial: true}
  Active: {}
  Expired: {final: true}
transitions:
  - {from: New, to: Active, on: activate}
  - {from: Active, to: Active, on: noted, actions: [{append: entity.Document.Tags, value: event.By}]}
  - {from: Active, to: Expired, at: 'entity.Document.ExpiresAt ?? timestamp("2100-01-01T00:00:00Z")'}
)";

constexpr const char* kCreate = R"(machine: request
change_type: CreateWidget
entity_type: Widget@1.0
creates: always
input:
  Name: string
states:
  Submitted: {initial: true, status: PREPARING}
  Succeeded: {final: true, status: SUCCEEDED}
transitions:
  - from: Submitted
    to: Succeeded
    actions:
      - {merge: entity.Document, value: details}
)";

// A request machine with one action on the widget; `input` and `action` fill it in.
std::string Updater(const std::string& change_type, const std::string& input,
                    const std::string& action) {
  return "machine: request\nchange_type: " + change_type + "\nentity_type: Widget@1.0\ninput:\n" +
         input +
         "states:\n  Submitted: {initial: true, status: PREPARING}\n"
         "  Succeeded: {final: true, status: SUCCEEDED}\n"
         "transitions:\n  - from: Submitted\n    to: Succeeded\n    actions:\n      - " +
         action + "\n";
}

class Fixture {
 public:
  Fixture() {
    dir_.Write("wf/widget.yaml", kWidget);
    dir_.Write("wf/create.yaml", kCreate);
    dir_.Write("wf/set_name.yaml", Updater("SetName", "  Name: string\n",
                                           "{set: entity.Document.Name, value: details.Name}"));
    dir_.Write("wf/merge_meta.yaml", Updater("MergeMeta", "  Color?: string\n  Size?: int\n",
                                             "{merge: entity.Document.Meta, value: details}"));
    dir_.Write("wf/add_tag.yaml", Updater("AddTag", "  Tags: list<string>\n",
                                          "{append: entity.Document.Tags, value: details.Tags}"));
    dir_.Write("wf/remove_tag.yaml", Updater("RemoveTag", "  Tag: string\n",
                                             "{remove: entity.Document.Tags, value: details.Tag}"));
    dir_.Write("wf/activate.yaml",
               "machine: request\nchange_type: Activate\nentity_type: Widget@1.0\ninput:\n"
               "  ExpiresAt: timestamp\nstates:\n  Submitted: {initial: true, status: PREPARING}\n"
               "  Succeeded: {final: true, status: SUCCEEDED}\n"
               "transitions:\n  - from: Submitted\n    to: Succeeded\n    actions:\n"
               "      - {set: entity.Document.ExpiresAt, value: details.ExpiresAt}\n"
               "      - {send: activate}\n");
    dir_.Write("wf/set_expiry.yaml",
               Updater("SetExpiry", "  ExpiresAt: timestamp\n",
                       "{set: entity.Document.ExpiresAt, value: details.ExpiresAt}"));
    dir_.Write("wf/note.yaml", Updater("Note", "  Why?: string\n",
                                       "{send: noted, data: '{\"By\": request.Actor}'}"));
    dir_.Write("wf/clone.yaml", Updater("Clone", "  Name: string\n",
                                        "{create: Widget@1.0, owner: entity.Owner, "
                                        "document: '{\"Name\": details.Name, \"ExpiresAt\": "
                                        "request.At + duration(\"P1D\")}'}"));
    // Waits for a review after sending to another widget: the other widget is then held too.
    dir_.Write("wf/note_other.yaml",
               "machine: request\nchange_type: NoteOther\nentity_type: Widget@1.0\ninput:\n"
               "  Other: {type: string, refers_to: Widget@1.0}\nevents:\n  approve: [operations]\n "
               " reject: {actors: "
               "[operations], data: {Reason: string}}\nstates:\n"
               "  Submitted: {initial: true, status: PREPARING}\n"
               "  InReview: {status: APPLYING}\n  Succeeded: {final: true, status: SUCCEEDED}\n"
               "  Failed: {final: true, status: FAILED}\n"
               "transitions:\n  - from: Submitted\n    to: InReview\n    actions:\n"
               "      - {send: noted, entity_type: Widget@1.0, to: details.Other,"
               " data: '{\"By\": request.Actor}'}\n"
               "  - {from: InReview, to: Succeeded, on: approve}\n"
               "  - {from: InReview, to: Failed, on: reject}\n");
    // Changes its widget, then waits for a review: the change is kept in the working copy.
    dir_.Write("wf/rename_reviewed.yaml",
               "machine: request\nchange_type: RenameReviewed\nentity_type: Widget@1.0\ninput:\n"
               "  Name: string\nevents:\n  approve: [operations]\nstates:\n"
               "  Submitted: {initial: true, status: PREPARING}\n"
               "  InReview: {status: APPLYING}\n  Succeeded: {final: true, status: SUCCEEDED}\n"
               "transitions:\n  - from: Submitted\n    to: InReview\n    actions:\n"
               "      - {set: entity.Document.Name, value: details.Name}\n"
               "  - {from: InReview, to: Succeeded, on: approve}\n");
    // Names its widget and waits; changes it only once approved.
    dir_.Write("wf/rename_on_approve.yaml",
               "machine: request\nchange_type: RenameOnApprove\nentity_type: Widget@1.0\ninput:\n"
               "  Name: string\nevents:\n  approve: [operations]\nstates:\n"
               "  Submitted: {initial: true, status: PREPARING}\n"
               "  InReview: {status: APPLYING}\n  Succeeded: {final: true, status: SUCCEEDED}\n"
               "transitions:\n  - {from: Submitted, to: InReview}\n"
               "  - from: InReview\n    to: Succeeded\n    on: approve\n    actions:\n"
               "      - {set: entity.Document.Name, value: details.Name}\n");
    // A map built at run time may name a field the document lacks: the checker cannot see it.
    dir_.Write("wf/clone_loose.yaml", Updater("CloneLoose", "  Name: string\n",
                                              "{create: Widget@1.0, owner: entity.Owner, "
                                              "document: '{\"Name\": details.Name, \"Colour\": "
                                              "request.At}'}"));
    dir_.Write("rules/none.rules", "const UNUSED = 1\n");
    dsl::Diagnostics diags;
    policy_ = LoadPolicy({dir_.Path("wf")}, {dir_.Path("rules")}, &diags);
    CheckPolicy(*policy_, &diags);
    INFO(diags.ToText());
    REQUIRE_FALSE(diags.has_errors());
  }

  // A store and an engine on `name` in the scratch directory.
  struct Run {
    std::unique_ptr<Store> store;
    std::unique_ptr<Engine> engine;
  };
  Run Open(const std::string& name) {
    Run r;
    r.store = Store::Open(TestStoreLocation(dir_.Path(name)));
    r.engine = std::make_unique<Engine>(*policy_, r.store.get());
    return r;
  }

 private:
  ScratchDir dir_;
  std::unique_ptr<Policy> policy_;
};

Outcome Exec(Engine& engine, const std::string& line) {
  Command c;
  std::vector<Violation> violations;
  bool ok = ParseCommand(line, std::nullopt, &c, &violations);
  std::string problems;
  for (const auto& v : violations) problems += v.path + ": " + v.message + "\n";
  INFO(line << "\n" << problems);
  REQUIRE(ok);
  return engine.Execute(c);
}

// A start-change-set line by the seller at `at` with the given changes (JSON objects).
std::string Start(const std::string& at, const std::string& changes) {
  return R"({"op":"start-change-set","Actor":"seller:111122223333","At":")" + at +
         R"(","Catalog":"AWSMarketplace","ChangeSet":[)" + changes + "]}";
}

std::string Change(const std::string& type, const std::string& id, const std::string& details,
                   const std::string& name = "") {
  std::string out = R"({"ChangeType":")" + type + R"(","Entity":{"Type":"Widget@1.0")";
  if (!id.empty()) out += R"(,"Identifier":")" + id + "\"";
  out += "}";
  if (!name.empty()) out += R"(,"ChangeName":")" + name + "\"";
  return out + R"(,"DetailsDocument":)" + details + "}";
}

// A field of a JSON response, found by text: `"Key":"value"` -> value.
std::string Field(const std::string& json, const std::string& key, size_t from = 0) {
  std::string needle = "\"" + key + "\":";
  size_t at = json.find(needle, from);
  if (at == std::string::npos) return "";
  at += needle.size();
  if (json[at] == '"') return json.substr(at + 1, json.find('"', at + 1) - at - 1);
  size_t end = json.find_first_of(",}", at);
  return json.substr(at, end - at);
}

std::string Document(const std::string& entity_json) {
  size_t at = entity_json.find("\"DetailsDocument\":");
  REQUIRE(at != std::string::npos);
  return entity_json.substr(at + 18, entity_json.size() - at - 19);
}

// A StartChangeSet built directly, for what ParseCommand refuses before the engine sees it (a
// reference to a later change): the engine's own ordering and cycle check.
ChangeRequest Req(const std::string& type, const std::string& reference, const std::string& name,
                  const std::string& details) {
  ChangeRequest r;
  r.change_type = type;
  r.entity_type = "Widget@1.0";
  r.reference = reference;
  r.change_name = name;
  r.details = details;
  return r;
}

Command Direct(const std::string& at, std::vector<ChangeRequest> changes) {
  Command c;
  c.op = Op::kStartChangeSet;
  c.actor = "seller:111122223333";
  c.at = at;
  REQUIRE(ParseAt(at, &c.at_us));
  c.catalog = "AWSMarketplace";
  c.changes = std::move(changes);
  c.body_hash = "direct-" + at;
  return c;
}

// Creates a widget named `name` at `at`; returns its identifier.
std::string CreateWidget(Engine& engine, const std::string& at, const std::string& name) {
  Outcome o = Exec(engine, Start(at, Change("CreateWidget", "", R"({"Name":")" + name + "\"}")));
  INFO(o.body);
  REQUIRE(o.result == Result::kOk);
  REQUIRE(o.status == "SUCCEEDED");
  std::string id = Field(o.body, "Identifier");
  REQUIRE(id.rfind("wid-", 0) == 0);
  return id;
}

// Creates a widget at `created` and activates it at `activated`, expiring at `expires`.
std::string ActiveWidget(Engine& engine, const std::string& created, const std::string& activated,
                         const std::string& name, const std::string& expires) {
  std::string id = CreateWidget(engine, created, name);
  Outcome o =
      Exec(engine, Start(activated, Change("Activate", id, R"({"ExpiresAt":")" + expires + "\"}")));
  INFO(o.body);
  REQUIRE(o.status == "SUCCEEDED");
  return id;
}

// Seller Operations' decision on change set `id` at `at` ("approve", or "reject" with a reason).
Outcome Review(Engine& engine, const std::string& id, const std::string& decision,
               const std::string& at) {
  const std::string reason = decision == "reject" ? R"(,"Reason":"no")" : "";
  return Exec(engine, R"({"op":"review","ChangeSetId":")" + id + R"(","Decision":")" + decision +
                          "\"" + reason + R"(,"Actor":"operations","At":")" + at + "\"}");
}

TEST_CASE("engine: a change may name the entity an earlier change creates", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Outcome o = Exec(*r.engine,
                   Start("2026-01-01T00:00:00Z",
                         Change("CreateWidget", "", R"({"Name":"first"})", "make") + "," +
                             Change("SetName", "$make.Entity.Identifier", R"({"Name":"second"})")));
  INFO(o.body);
  REQUIRE(o.result == Result::kOk);
  CHECK(o.status == "SUCCEEDED");
  std::string id = Field(o.body, "Identifier");
  REQUIRE(!id.empty());
  CHECK(Field(o.body, "Identifier", o.body.find("\"SetName\"")) == id);
  std::string e = r.engine->DescribeEntity(id);
  CHECK(Document(e) == R"({"Name":"second"})");
  CHECK(Field(e, "Revision") == "1");
  CHECK(Field(e, "State") == "New");
}

TEST_CASE("engine: a reference to a change later in the body runs after it", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Outcome o = r.engine->Execute(
      Direct("2026-01-01T00:00:00Z", {Req("SetName", "make", "", R"({"Name":"second"})"),
                                      Req("CreateWidget", "", "make", R"({"Name":"first"})")}));
  INFO(o.body);
  REQUIRE(o.result == Result::kOk);
  CHECK(o.status == "SUCCEEDED");
  // The response keeps the body's order; both changes name the one created widget.
  std::string set_id = Field(o.body, "Identifier");
  std::string create_id = Field(o.body, "Identifier", o.body.find("\"CreateWidget\""));
  REQUIRE(!set_id.empty());
  CHECK(set_id == create_id);
  CHECK(Document(r.engine->DescribeEntity(set_id)) == R"({"Name":"second"})");
}

TEST_CASE("engine: references that form a cycle are refused and write nothing", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  std::string w = CreateWidget(*r.engine, "2026-01-01T00:00:00Z", "w");
  std::string before = r.store->Digest();
  Outcome o = r.engine->Execute(Direct(
      "2026-01-01T00:01:00Z",
      {Req("SetName", "b", "a", R"({"Name":"a"})"), Req("SetName", "a", "b", R"({"Name":"b"})")}));
  CHECK(o.result == Result::kRefused);
  CHECK(o.error_type == "ValidationException");
  CHECK(o.message.find("cycle") != std::string::npos);
  CHECK(r.store->Digest() == before);
  CHECK(r.engine->ListChangeSets("", "", "SetName") == R"({"ChangeSetSummaryList":[]})");
}

TEST_CASE("engine: set, merge, append and remove on the document", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
  auto ok = [&](const std::string& at, const std::string& change) {
    Outcome o = Exec(e, Start(at, change));
    INFO(o.body);
    REQUIRE(o.status == "SUCCEEDED");
  };
  ok("2026-01-01T00:01:00Z", Change("SetName", w, R"({"Name":"renamed"})"));
  CHECK(Document(e.DescribeEntity(w)) == R"({"Name":"renamed"})");
  ok("2026-01-01T00:02:00Z", Change("MergeMeta", w, R"({"Color":"red"})"));
  ok("2026-01-01T00:03:00Z", Change("MergeMeta", w, R"({"Size":3})"));
  CHECK(Document(e.DescribeEntity(w)) == R"({"Name":"renamed","Meta":{"Color":"red","Size":3}})");
  ok("2026-01-01T00:04:00Z", Change("MergeMeta", w, R"({"Color":"blue"})"));
  CHECK(Document(e.DescribeEntity(w)) == R"({"Name":"renamed","Meta":{"Color":"blue","Size":3}})");
  ok("2026-01-01T00:05:00Z", Change("AddTag", w, R"({"Tags":["a","b"]})"));
  ok("2026-01-01T00:06:00Z", Change("AddTag", w, R"({"Tags":["c","a"]})"));
  CHECK(Document(e.DescribeEntity(w)) ==
        R"({"Name":"renamed","Tags":["a","b","c","a"],"Meta":{"Color":"blue","Size":3}})");
  ok("2026-01-01T00:07:00Z", Change("RemoveTag", w, R"({"Tag":"a"})"));
  ok("2026-01-01T00:08:00Z", Change("RemoveTag", w, R"({"Tag":"zzz"})"));
  std::string final_entity = e.DescribeEntity(w);
  CHECK(Document(final_entity) ==
        R"({"Name":"renamed","Tags":["b","c"],"Meta":{"Color":"blue","Size":3}})");
  CHECK(Field(final_entity, "Revision") == "9");  // Created at 1, then 8 changes.
}

TEST_CASE("engine: an entity's at: timer fires on a later command, at its due time", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
  Outcome o = Exec(e, Start("2026-01-01T00:01:00Z",
                            Change("Activate", w, R"({"ExpiresAt":"2026-01-05T00:00:00Z"})")));
  INFO(o.body);
  REQUIRE(o.status == "SUCCEEDED");
  CHECK(Field(e.DescribeEntity(w), "State") == "Active");
  // A command before the due time leaves it; the first command after it fires the timer first.
  REQUIRE(Exec(e, R"({"op":"tick","Actor":"operations","To":"2026-01-04T23:59:59Z"})").result ==
          Result::kOk);
  CHECK(Field(e.DescribeEntity(w), "State") == "Active");
  o = Exec(e, Start("2026-01-09T00:00:00Z", Change("SetName", w, R"({"Name":"late"})")));
  REQUIRE(o.status == "SUCCEEDED");
  std::string entity = e.DescribeEntity(w);
  CHECK(Field(entity, "State") == "Expired");
  std::string history = e.History(w);
  size_t timer = history.find("\"Event\":\"timer\"");
  REQUIRE(timer != std::string::npos);
  size_t row = history.rfind("{\"Seq\"", timer);
  CHECK(Field(history, "At", row) == "2026-01-05T00:00:00Z");
  CHECK(Field(history, "To", row) == "Expired");
  // The timer fired before the change that came after it.
  CHECK(timer < history.find("2026-01-09T00:00:00Z"));
}

TEST_CASE(
    "engine: a send that its entity has no transition for fails the change with INVALID_STATE",
    "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "w", "2026-06-01T00:00:00Z");
  std::string before = e.DescribeEntity(w);
  // Active has no transition on activate.
  Outcome o = Exec(e, Start("2026-01-01T00:02:00Z",
                            Change("Activate", w, R"({"ExpiresAt":"2026-07-01T00:00:00Z"})")));
  INFO(o.body);
  CHECK(o.result == Result::kOk);
  CHECK(o.failed);
  CHECK(o.status == "FAILED");
  CHECK(Field(o.body, "FailureCode") == "CLIENT_ERROR");
  CHECK(Field(o.body, "ErrorCode") == "INVALID_STATE");
  CHECK(Field(o.body, "Status", o.body.find("\"ChangeSet\":[")) == "FAILED");
  // Nothing of the change is applied, not even its set action.
  CHECK(e.DescribeEntity(w) == before);
}

TEST_CASE("engine: the same commands on two fresh stores give the same ids and digest",
          "[engine]") {
  Fixture f;
  auto run = [&](const std::string& name) {
    auto r = f.Open(name);
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i)
      ids.push_back(CreateWidget(*r.engine, "2026-01-01T00:0" + std::to_string(i) + ":00Z", "w"));
    Outcome o = Exec(*r.engine,
                     Start("2026-01-01T00:05:00Z", Change("SetName", ids[1], R"({"Name":"x"})")));
    ids.push_back(Field(o.body, "ChangeSetId"));
    ids.push_back(r.store->Digest());
    return ids;
  };
  std::vector<std::string> a = run("a.db"), b = run("b.db");
  CHECK(a == b);
  CHECK(a[0] != a[1]);
  CHECK(a[3].rfind("cs-", 0) == 0);
  CHECK(a[3].size() == 28);
  CHECK(a[0].size() == 17);
}

TEST_CASE("engine: an at: timer follows its document when the entity stays in its state",
          "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "w", "2026-01-05T00:00:00Z");
  // Moved later: the timer set for the 5th is stale and does not fire.
  REQUIRE(Exec(e, Start("2026-01-02T00:00:00Z",
                        Change("SetExpiry", w, R"({"ExpiresAt":"2026-01-10T00:00:00Z"})")))
              .status == "SUCCEEDED");
  REQUIRE(Exec(e, R"({"op":"tick","Actor":"operations","To":"2026-01-09T23:59:59Z"})").result ==
          Result::kOk);
  CHECK(Field(e.DescribeEntity(w), "State") == "Active");
  REQUIRE(Exec(e, R"({"op":"tick","Actor":"operations","To":"2026-01-10T00:00:00Z"})").result ==
          Result::kOk);
  CHECK(Field(e.DescribeEntity(w), "State") == "Expired");
  std::string history = e.History(w);
  size_t timer = history.find("\"Event\":\"timer\"");
  REQUIRE(timer != std::string::npos);
  CHECK(Field(history, "At", history.rfind("{\"Seq\"", timer)) == "2026-01-10T00:00:00Z");
  CHECK(history.find("\"Event\":\"timer\"", timer + 1) == std::string::npos);  // Fired once.
}

TEST_CASE("engine: an at: timer moved earlier fires at the earlier time", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "w", "2026-01-05T00:00:00Z");
  REQUIRE(Exec(e, Start("2026-01-02T00:00:00Z",
                        Change("SetExpiry", w, R"({"ExpiresAt":"2026-01-03T00:00:00Z"})")))
              .status == "SUCCEEDED");
  REQUIRE(Exec(e, R"({"op":"tick","Actor":"operations","To":"2026-01-02T23:59:59Z"})").result ==
          Result::kOk);
  CHECK(Field(e.DescribeEntity(w), "State") == "Active");
  REQUIRE(Exec(e, R"({"op":"tick","Actor":"operations","To":"2026-01-03T00:00:00Z"})").result ==
          Result::kOk);
  CHECK(Field(e.DescribeEntity(w), "State") == "Expired");
}

TEST_CASE("engine: a send carries data that the target's transition reads as event", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "w", "2026-06-01T00:00:00Z");
  Outcome o = Exec(e, Start("2026-01-01T00:02:00Z", Change("Note", w, "{}")));
  INFO(o.body);
  REQUIRE(o.status == "SUCCEEDED");
  CHECK(Document(e.DescribeEntity(w)) ==
        R"({"Name":"w","Tags":["seller:111122223333"],"ExpiresAt":"2026-06-01T00:00:00Z"})");
}

TEST_CASE("engine: a create action builds the new document from a map literal", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
  Outcome o = Exec(e, Start("2026-01-01T00:02:00Z", Change("Clone", w, R"({"Name":"copy"})")));
  INFO(o.body);
  REQUIRE(o.status == "SUCCEEDED");
  std::string list = e.ListEntities("Widget@1.0", "");
  size_t second = list.find("\"EntityId\"", list.find("\"EntityId\"") + 1);
  REQUIRE(second != std::string::npos);
  std::string clone = Field(list, "EntityId", second - 1);
  if (clone == w) clone = Field(list, "EntityId");
  CHECK(Document(e.DescribeEntity(clone)) ==
        R"({"Name":"copy","ExpiresAt":"2026-01-02T00:02:00Z"})");
}

TEST_CASE("engine: removing from a list that is absent leaves it absent", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
  REQUIRE(Exec(e, Start("2026-01-01T00:01:00Z", Change("RemoveTag", w, R"({"Tag":"a"})"))).status ==
          "SUCCEEDED");
  CHECK(Document(e.DescribeEntity(w)) == R"({"Name":"w"})");
}

// Regression: a waiting change set held only its own change's entity, so a second set could change
// an entity the first had sent to, and the first, once approved, wrote its stale copy over it.
TEST_CASE("engine: a waiting change set holds the entities it sent to", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string a =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "a", "2026-06-01T00:00:00Z");
  std::string b =
      ActiveWidget(e, "2026-01-01T00:01:01Z", "2026-01-01T00:01:02Z", "b", "2026-06-01T00:00:00Z");
  Outcome waiting =
      Exec(e, Start("2026-01-01T00:02:00Z", Change("NoteOther", a, R"({"Other":")" + b + "\"}")));
  INFO(waiting.body);
  REQUIRE(waiting.status == "APPLYING");
  CHECK(Field(e.DescribeEntity(b), "LockedBy") == waiting.change_set_id);

  Outcome other = Exec(e, Start("2026-01-01T00:03:00Z", Change("Note", b, "{}")));
  INFO(other.body);
  CHECK(other.result == Result::kConflict);
  CHECK(other.error_type == "ResourceInUseException");
  CHECK(other.message.find(waiting.change_set_id) != std::string::npos);

  Outcome approved = Review(e, waiting.change_set_id, "approve", "2026-01-01T00:04:00Z");
  INFO(approved.body);
  REQUIRE(approved.status == "SUCCEEDED");
  const std::string after = e.DescribeEntity(b);
  CHECK(Field(after, "LockedBy").empty());
  // One note, the waiting set's: the refused one changed nothing.
  CHECK(Document(after).find(R"("Tags":["seller:111122223333"])") != std::string::npos);
  // Released: the widget takes changes again.
  CHECK(Exec(e, Start("2026-01-01T00:05:00Z", Change("Note", b, "{}"))).status == "SUCCEEDED");
}

// Regression: a document kept in a waiting set's working copy came back with its keys sorted.
TEST_CASE("engine: a document changed before a wait keeps its field order", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "w", "2026-06-01T00:00:00Z");
  const std::string before = Document(e.DescribeEntity(w));
  CHECK(before == R"({"Name":"w","ExpiresAt":"2026-06-01T00:00:00Z"})");
  Outcome waiting =
      Exec(e, Start("2026-01-01T00:02:00Z", Change("RenameReviewed", w, R"({"Name":"v"})")));
  INFO(waiting.body);
  REQUIRE(waiting.status == "APPLYING");
  Outcome approved = Review(e, waiting.change_set_id, "approve", "2026-01-01T00:03:00Z");
  INFO(approved.body);
  REQUIRE(approved.status == "SUCCEEDED");
  CHECK(Document(e.DescribeEntity(w)) == R"({"Name":"v","ExpiresAt":"2026-06-01T00:00:00Z"})");
}

TEST_CASE("engine: a rejected waiting set releases the entities it sent to, unchanged",
          "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string a =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "a", "2026-06-01T00:00:00Z");
  std::string b =
      ActiveWidget(e, "2026-01-01T00:01:01Z", "2026-01-01T00:01:02Z", "b", "2026-06-01T00:00:00Z");
  const std::string before = e.DescribeEntity(b);
  Outcome waiting =
      Exec(e, Start("2026-01-01T00:02:00Z", Change("NoteOther", a, R"({"Other":")" + b + "\"}")));
  REQUIRE(waiting.status == "APPLYING");
  REQUIRE(Field(e.DescribeEntity(b), "LockedBy") == waiting.change_set_id);
  Outcome rejected = Review(e, waiting.change_set_id, "reject", "2026-01-01T00:03:00Z");
  INFO(rejected.body);
  REQUIRE(rejected.status == "FAILED");
  CHECK(e.DescribeEntity(b) == before);
  CHECK(Field(e.DescribeEntity(a), "LockedBy").empty());
}

// A refers_to field may name the entity an earlier change of the set creates. The set waits for a
// review: the new widget is not in the store meanwhile, and when the set resumes its
// DetailsDocument reads as that widget's identifier again (the log keeps the reference as sent).
TEST_CASE("engine: a DetailsDocument reference names a new entity, across a wait", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string a =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "a", "2026-06-01T00:00:00Z");
  // Listed first, it runs after the changes it names.
  Outcome waiting =
      Exec(e, Start("2026-01-01T00:02:00Z",
                    Change("NoteOther", a, R"({"Other":"$new.Entity.Identifier"})") + "," +
                        Change("CreateWidget", "", R"({"Name":"new"})", "new") + "," +
                        Change("Activate", "$new.Entity.Identifier",
                               R"({"ExpiresAt":"2026-06-01T00:00:00Z"})", "activate")));
  INFO(waiting.body);
  REQUIRE(waiting.status == "APPLYING");
  const std::string created = Field(waiting.body, "Identifier", waiting.body.find("CreateWidget"));
  REQUIRE(created.rfind("wid-", 0) == 0);
  CHECK(waiting.body.find(R"({"Other":")" + created + "\"}") != std::string::npos);
  CHECK(e.DescribeEntity(created).empty());
  const std::string described = e.DescribeChangeSet(waiting.change_set_id);
  CHECK(described.find(R"({"Other":")" + created + "\"}") != std::string::npos);
  CHECK(described.find("$new") == std::string::npos);

  Outcome approved = Review(e, waiting.change_set_id, "approve", "2026-01-01T00:03:00Z");
  INFO(approved.body);
  REQUIRE(approved.status == "SUCCEEDED");
  const std::string widget = e.DescribeEntity(created);
  CHECK(Field(widget, "State") == "Active");
  CHECK(Document(widget).find(R"("Tags":["seller:111122223333"])") != std::string::npos);
}

TEST_CASE("engine: DetailsDocument references to nowhere, to the wrong type, or in a cycle",
          "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string a = CreateWidget(e, "2026-01-01T00:00:00Z", "a");
  const std::string before = r.store->Digest();
  auto refused = [&](const std::string& changes, const std::string& path,
                     const std::string& message) {
    Outcome o = Exec(e, Start("2026-01-01T00:01:00Z", changes));
    INFO(o.body);
    CHECK(o.result == Result::kRefused);
    CHECK(o.error_type == "ValidationException");
    CHECK(o.body.find(path) != std::string::npos);
    CHECK(o.body.find(message) != std::string::npos);
  };
  refused(Change("NoteOther", a, R"({"Other":"$gone.Entity.Identifier"})"),
          "ChangeSet[0].DetailsDocument.Other",
          "refers to ChangeName 'gone', which no change in this change set has");
  refused(Change("NoteOther", a, R"({"Other":"$me.Entity.Identifier"})", "me"),
          "ChangeSet[0].DetailsDocument.Other", "refers to its own ChangeName 'me'");
  // A cycle through a DetailsDocument and an Entity.Identifier.
  refused(Change("NoteOther", a, R"({"Other":"$set.Entity.Identifier"})", "note") + "," +
              Change("SetName", "$note.Entity.Identifier", R"({"Name":"x"})", "set"),
          "cycle", "the changes' $ChangeName references form a cycle");
  CHECK(r.store->Digest() == before);
  CHECK(r.engine->ListChangeSets("", "", "NoteOther") == R"({"ChangeSetSummaryList":[]})");
}

TEST_CASE("engine: a write that names a field the document lacks fails, never drops it",
          "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
  const std::string entities = e.ListEntities("Widget@1.0", "");
  Outcome o = Exec(e, Start("2026-01-01T00:02:00Z", Change("CloneLoose", w, R"({"Name":"copy"})")));
  INFO(o.body);
  CHECK(o.status == "FAILED");
  CHECK(Field(o.body, "FailureCode") == "SERVER_FAULT");
  CHECK(o.body.find("the create action of CloneLoose on Widget@1.0 at ") != std::string::npos);
  CHECK(o.body.find("writes Colour, which the document of Widget@1.0 (") != std::string::npos);
  CHECK(e.ListEntities("Widget@1.0", "") == entities);  // No widget without its Colour.
}

// Two policies over one store: `with` declares a widget's Warranty and a reviewed request that sets
// it; `without` is the same but for those two.
TEST_CASE("engine: a waiting change set never loses a field the current definitions lack",
          "[engine]") {
  ScratchDir dir;
  const std::string widget =
      "machine: entity\nentity_type: Widget@1.0\nid_prefix: wid-\ndocument:\n  Name?: string\n";
  const std::string states = "states:\n  New: {initial: true}\n";
  dir.Write("with/widget.yaml", widget + "  Warranty?: string\n" + states);
  dir.Write("with/create.yaml", kCreate);
  dir.Write("with/set_warranty.yaml",
            "machine: request\nchange_type: SetWarranty\nentity_type: Widget@1.0\ninput:\n"
            "  Warranty: string\nevents:\n  approve: [operations]\nstates:\n"
            "  Submitted: {initial: true, status: PREPARING}\n"
            "  InReview: {status: APPLYING}\n  Succeeded: {final: true, status: SUCCEEDED}\n"
            "transitions:\n  - {from: Submitted, to: InReview}\n"
            "  - from: InReview\n    to: Succeeded\n    on: approve\n"
            "    actions: [{merge: entity.Document, value: details}]\n");
  dir.Write("without/widget.yaml", widget + states);
  dir.Write("without/create.yaml", kCreate);
  dir.Write("rules/none.rules", "const UNUSED = 1\n");
  auto load = [&](const std::string& wf) {
    dsl::Diagnostics diags;
    auto p = LoadPolicy({dir.Path(wf)}, {dir.Path("rules")}, &diags);
    CheckPolicy(*p, &diags);
    INFO(diags.ToText());
    REQUIRE_FALSE(diags.has_errors());
    return p;
  };
  auto with = load("with"), without = load("without");
  auto store = Store::Open(TestStoreLocation(dir.Path("s.db")));
  std::string w, cs;
  {
    Engine e(*with, store.get());
    w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
    Outcome o = Exec(
        e, Start("2026-01-01T00:01:00Z", Change("SetWarranty", w, R"({"Warranty":"90 days"})")));
    INFO(o.body);
    REQUIRE(o.status == "APPLYING");
    cs = o.change_set_id;
  }
  const std::string before = store->Digest();
  {
    Engine e(*without, store.get());
    try {
      Review(e, cs, "approve", "2026-01-01T00:02:00Z");
      FAIL("the approval ran on definitions without Warranty");
    } catch (const DefinitionsMissing& x) {
      const std::string m = x.what();
      INFO(m);
      CHECK(m.find("change set " + cs +
                   ": its SetWarranty on Widget@1.0 started under the definition ") == 0);
      CHECK(m.find("set_warranty.yaml (pinned ") != std::string::npos);
      CHECK(m.find("hint: entity.Document has no field 'Warranty'") != std::string::npos);
      CHECK(m.find("--workflows and --rules folders the change set started under") !=
            std::string::npos);
    }
    CHECK(store->Digest() == before);  // Refused: nothing changed, nothing logged.
  }
  Engine e(*with, store.get());
  Outcome o = Review(e, cs, "approve", "2026-01-01T00:02:00Z");
  INFO(o.body);
  CHECK(o.status == "SUCCEEDED");
  CHECK(Document(e.DescribeEntity(w)) == R"({"Name":"w","Warranty":"90 days"})");
}

TEST_CASE("engine: only operations move the clock, and not past 100 years at once", "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  REQUIRE(Exec(e, R"({"op":"tick","Actor":"operations","To":"2026-01-01T00:00:00Z"})").result ==
          Result::kOk);
  // A tick line without an actor (as logs had them) and a seller's are refused; the clock stays.
  Outcome anonymous = Exec(e, R"({"op":"tick","To":"2026-01-02T00:00:00Z"})");
  CHECK(anonymous.result == Result::kAccessDenied);
  CHECK(Exec(e, R"({"op":"tick","Actor":"seller:111122223333","To":"2026-01-02T00:00:00Z"})")
            .result == Result::kAccessDenied);
  CHECK(r.store->Clock() == "2026-01-01T00:00:00Z");
  Outcome far = Exec(e, R"({"op":"tick","Actor":"operations","To":"2127-01-01T00:00:00Z"})");
  CHECK(far.result == Result::kRefused);
  CHECK(far.message.find("more than 100 years") != std::string::npos);
  CHECK(r.store->Clock() == "2026-01-01T00:00:00Z");
}

TEST_CASE("engine: a VALIDATE's id is not handed out again, nor is a token another actor's",
          "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string w = CreateWidget(e, "2026-01-01T00:00:00Z", "w");
  std::string validate = Start("2026-01-01T00:01:00Z", Change("SetName", w, R"({"Name":"v"})"));
  validate.insert(validate.find("\"ChangeSet\""), R"("Intent":"VALIDATE",)");
  Outcome checked = Exec(e, validate);
  REQUIRE(checked.result == Result::kOk);
  REQUIRE_FALSE(checked.change_set_id.empty());
  Outcome real = Exec(e, Start("2026-01-01T00:02:00Z", Change("SetName", w, R"({"Name":"r"})")));
  REQUIRE(real.result == Result::kOk);
  CHECK(real.change_set_id != checked.change_set_id);
  CHECK(e.DescribeChangeSet(checked.change_set_id).empty());
  // One token, two actors: each its own change set, neither naming the other's.
  std::string mine = Start("2026-01-01T00:03:00Z", Change("SetName", w, R"({"Name":"t"})"));
  mine.insert(mine.find("\"ChangeSet\""), R"("ClientRequestToken":"same",)");
  Outcome first = Exec(e, mine);
  REQUIRE(first.result == Result::kOk);
  std::string theirs =
      Start("2026-01-01T00:04:00Z", Change("CreateWidget", "", R"({"Name":"theirs"})"));
  theirs.replace(theirs.find("seller:111122223333"), 19, "seller:999988887777");
  theirs.insert(theirs.find("\"ChangeSet\""), R"("ClientRequestToken":"same",)");
  Outcome second = Exec(e, theirs);
  INFO(second.body);
  REQUIRE(second.result == Result::kOk);
  CHECK(second.status == "SUCCEEDED");
  CHECK(second.change_set_id != first.change_set_id);
  CHECK(second.body.find(first.change_set_id) == std::string::npos);
}

TEST_CASE("engine: a set does not write an entity another waiting set's copy has changed since",
          "[engine]") {
  Fixture f;
  auto r = f.Open("s.db");
  Engine& e = *r.engine;
  std::string a =
      ActiveWidget(e, "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z", "a", "2026-06-01T00:00:00Z");
  std::string b =
      ActiveWidget(e, "2026-01-01T00:01:01Z", "2026-01-01T00:01:02Z", "b", "2026-06-01T00:00:00Z");
  // The first names b and waits without changing it; the second sends to b (which goes through,
  // the first has not changed it) and waits with b changed in its copy.
  Outcome rename =
      Exec(e, Start("2026-01-01T00:02:00Z", Change("RenameOnApprove", b, R"({"Name":"new"})")));
  REQUIRE(rename.status == "APPLYING");
  Outcome note =
      Exec(e, Start("2026-01-01T00:03:00Z", Change("NoteOther", a, R"({"Other":")" + b + "\"}")));
  INFO(note.body);
  REQUIRE(note.status == "APPLYING");
  // Approving the rename now would be undone when the note applies: it waits for the note.
  Outcome early = Review(e, rename.change_set_id, "approve", "2026-01-01T00:04:00Z");
  CHECK(early.error_type == "ResourceInUseException");
  CHECK(early.message.find(note.change_set_id) != std::string::npos);
  REQUIRE(Review(e, note.change_set_id, "approve", "2026-01-01T00:05:00Z").status == "SUCCEEDED");
  REQUIRE(Review(e, rename.change_set_id, "approve", "2026-01-01T00:06:00Z").status == "SUCCEEDED");
  const std::string doc = Document(e.DescribeEntity(b));
  INFO(doc);
  CHECK(doc.find(R"("Name":"new")") != std::string::npos);
  CHECK(doc.find(R"("Tags":["seller:111122223333"])") != std::string::npos);
}

}  // namespace
}  // namespace sellerflow::engine
