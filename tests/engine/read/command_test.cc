// Tests of engine/read/command.h: the StartChangeSet envelope, the replay operations, body hashes,
// replay lines and shapes.
#include "engine/read/command.h"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dsl/decimal.h"

namespace sellerflow::engine {
namespace {

struct Parsed {
  bool ok = false;
  Command command;
  std::vector<Violation> violations;
};

Parsed Parse(std::string_view json, std::optional<Op> default_op = Op::kStartChangeSet) {
  Parsed p;
  p.ok = ParseCommand(json, default_op, &p.command, &p.violations);
  // The contract: false exactly when something was reported.
  CHECK(p.ok == p.violations.empty());
  return p;
}

// "path: message" per violation, for exact comparisons.
std::vector<std::string> Lines(const std::vector<Violation>& violations) {
  std::vector<std::string> out;
  for (const Violation& v : violations) out.push_back(v.path + ": " + v.message);
  return out;
}

std::string Change(const std::string& id = "prod-aaaaaaaaaaaaa", const std::string& more = "") {
  return R"({"ChangeType":"UpdateInformation","Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":")" +
         id + R"("},"DetailsDocument":{"ProductTitle":"Title"})" + more + "}";
}

// n changes, each on its own product (one change type twice on one entity is refused).
std::string Changes(size_t n) {
  std::string out;
  for (size_t i = 0; i < n; ++i) out += (i > 0 ? "," : "") + Change("prod-" + std::to_string(i));
  return out;
}

std::string Body(const std::string& changes, const std::string& more = "") {
  return R"({"Catalog":"AWSMarketplace","ChangeSet":[)" + changes + "]" + more + "}";
}

std::string Line(const std::string& changes, const std::string& more = "") {
  return R"({"op":"start-change-set","Actor":"seller:111122223333","At":"2026-01-01T00:00:00Z",)"
         R"("Catalog":"AWSMarketplace","ClientRequestToken":"t-1","ChangeSet":[)" +
         changes + "]" + more + "}";
}

// Every field of two commands, so that a round trip is shown to lose nothing.
void RequireSame(const Command& a, const Command& b) {
  REQUIRE(a.op == b.op);
  REQUIRE(a.actor == b.actor);
  REQUIRE(a.at == b.at);
  REQUIRE(a.at_us == b.at_us);
  REQUIRE(a.catalog == b.catalog);
  REQUIRE(a.change_set_name == b.change_set_name);
  REQUIRE(a.client_request_token == b.client_request_token);
  REQUIRE(a.intent == b.intent);
  REQUIRE(a.body_hash == b.body_hash);
  REQUIRE(a.change_set_id == b.change_set_id);
  REQUIRE(a.decision == b.decision);
  REQUIRE(a.reason == b.reason);
  REQUIRE(a.entity_type == b.entity_type);
  REQUIRE(a.entity_id == b.entity_id);
  REQUIRE(a.state == b.state);
  REQUIRE(a.owner == b.owner);
  REQUIRE(a.document == b.document);
  REQUIRE(a.tags == b.tags);
  REQUIRE(a.resource_arn == b.resource_arn);
  REQUIRE(a.tag_keys == b.tag_keys);
  REQUIRE(a.policy == b.policy);
  REQUIRE(a.changes.size() == b.changes.size());
  for (size_t i = 0; i < a.changes.size(); ++i) {
    const ChangeRequest& x = a.changes[i];
    const ChangeRequest& y = b.changes[i];
    REQUIRE(x.change_type == y.change_type);
    REQUIRE(x.entity_type == y.entity_type);
    REQUIRE(x.entity_id == y.entity_id);
    REQUIRE(x.revision == y.revision);
    REQUIRE(x.reference == y.reference);
    REQUIRE(x.change_name == y.change_name);
    REQUIRE(x.details == y.details);
    REQUIRE(x.entity_tags == y.entity_tags);
  }
}

void RequireRoundTrip(const std::string& json, std::optional<Op> default_op = std::nullopt) {
  Parsed first = Parse(json, default_op);
  INFO(json);
  REQUIRE(Lines(first.violations) == std::vector<std::string>{});
  std::string line = first.command.ToJsonLine();
  INFO(line);
  REQUIRE(line.find('\n') == std::string::npos);
  Parsed second = Parse(line, std::nullopt);
  REQUIRE(Lines(second.violations) == std::vector<std::string>{});
  RequireSame(first.command, second.command);
  REQUIRE(second.command.ToJsonLine() == line);
}

// ---- The envelope ------------------------------------------------------------------------

TEST_CASE("a replay line as gen_workload.py writes it reads in full", "[command]") {
  Parsed p = Parse(
      R"({"op": "start-change-set", "Actor": "seller:111122223333", "At": "2026-01-01T00:00:01Z", )"
      R"("Catalog": "AWSMarketplace", "ClientRequestToken": "bench-1", "ChangeSet": [{"ChangeType": )"
      R"("UpdateInformation", "Entity": {"Type": "ProfessionalServicesProduct@1.0", "Identifier": )"
      R"("prod-aaaaaaaaaaabc"}, "DetailsDocument": {"ProductTitle": "Cloud Review", "Highlights": )"
      R"(["a b", "c d"], "Price": 12.50}}]})",
      std::nullopt);
  REQUIRE(p.ok);
  const Command& c = p.command;
  REQUIRE(c.op == Op::kStartChangeSet);
  REQUIRE(c.actor == "seller:111122223333");
  REQUIRE(c.at == "2026-01-01T00:00:01Z");
  REQUIRE(c.at_us == 1767225601000000);
  REQUIRE(c.catalog == "AWSMarketplace");
  REQUIRE(c.client_request_token == "bench-1");
  REQUIRE(c.intent == "APPLY");
  REQUIRE(c.change_set_name.empty());
  REQUIRE(c.changes.size() == 1);
  const ChangeRequest& r = c.changes[0];
  REQUIRE(r.change_type == "UpdateInformation");
  REQUIRE(r.entity_type == "ProfessionalServicesProduct@1.0");
  REQUIRE(r.entity_id == "prod-aaaaaaaaaaabc");
  REQUIRE_FALSE(r.revision.has_value());
  REQUIRE(r.reference.empty());
  // The raw text, whitespace and number spelling included.
  REQUIRE(r.details ==
          R"({"ProductTitle": "Cloud Review", "Highlights": ["a b", "c d"], "Price": 12.50})");
  REQUIRE(c.body_hash.size() == 64);
}

TEST_CASE("a bare StartChangeSet body takes the default op; Actor and At may be absent",
          "[command]") {
  Parsed p = Parse(Body(Change(), R"(,"ChangeSetName":"Q3 update: v2.1","Intent":"VALIDATE")"));
  REQUIRE(p.ok);
  REQUIRE(p.command.actor.empty());
  REQUIRE(p.command.at.empty());
  REQUIRE(p.command.change_set_name == "Q3 update: v2.1");
  REQUIRE(p.command.intent == "VALIDATE");
  Parsed without_op = Parse(Body(Change()), std::nullopt);
  REQUIRE(Lines(without_op.violations) == std::vector<std::string>{"op: is required"});
}

TEST_CASE("a StartChangeSet body as a client sends it names no op, actor or time", "[command]") {
  const std::string changes = R"("ChangeSet":[)" + Change() + "]";
  Command c;
  std::vector<Violation> violations;
  CHECK(
      ParseStartChangeSetBody(R"({"Catalog":"AWSMarketplace",)" + changes + "}", &c, &violations));
  CHECK(c.op == Op::kStartChangeSet);
  CHECK(violations.empty());
  // A replay line's fields are refused by name, and an import line stays a StartChangeSet.
  CHECK_FALSE(ParseStartChangeSetBody(
      R"({"op":"import","Actor":"operations","At":"2026-01-01T00:00:00Z","Catalog":"AWSMarketplace",)" +
          changes + "}",
      &c, &violations));
  CHECK(c.op == Op::kStartChangeSet);
  CHECK(c.actor.empty());
  CHECK(c.at.empty());
  CHECK(Lines(violations) ==
        std::vector<std::string>{
            "op: is not a StartChangeSet field: a body only starts a change set; run other "
            "operations with their own commands",
            "Actor: is not a StartChangeSet field: the actor is not part of the body; give it with "
            "--actor",
            "At: is not a StartChangeSet field: the time is not part of the body; give it with "
            "--at"});
  // The same text is a replay line to ParseCommand.
  Parsed line =
      Parse(R"({"op":"start-change-set","Actor":"operations","Catalog":"AWSMarketplace",)" +
            changes + "}");
  CHECK(line.ok);
  CHECK(line.command.actor == "operations");
}

TEST_CASE("ChangeSet holds 1 to 20 changes", "[command]") {
  REQUIRE(Parse(Body(Changes(1))).ok);
  Parsed twenty = Parse(Body(Changes(20)));
  REQUIRE(twenty.ok);
  REQUIRE(twenty.command.changes.size() == 20);
  REQUIRE(Lines(Parse(Body(Changes(21))).violations) ==
          std::vector<std::string>{"ChangeSet: has 21 items; at most 20 are allowed"});
  REQUIRE(Lines(Parse(Body(Changes(0))).violations) ==
          std::vector<std::string>{"ChangeSet: has 0 items; at least 1 is required"});
  REQUIRE(Lines(Parse(R"({"Catalog":"AWSMarketplace"})").violations) ==
          std::vector<std::string>{"ChangeSet: is required"});
  REQUIRE(Lines(Parse(R"({"Catalog":"AWSMarketplace","ChangeSet":{}})").violations) ==
          std::vector<std::string>{"ChangeSet: must be an array, not an object"});
}

TEST_CASE("ChangeName is 1 to 72 characters, counted in code points", "[command]") {
  std::string name72;
  for (int i = 0; i < 72; ++i) name72 += "\xC3\xA9";  // 'é': two bytes, one character.
  REQUIRE(Parse(Body(Change("prod-a", R"(,"ChangeName":")" + name72 + "\""))).ok);
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeName":")" + name72 + "x\""))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].ChangeName: has 73 characters; at most 72 are allowed"});
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeName":"")"))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].ChangeName: has 0 characters; at least 1 is required"});
}

TEST_CASE("ClientRequestToken is 1 to 64 printable ASCII characters", "[command]") {
  std::string token64(64, 'k');
  REQUIRE(Parse(Body(Change(), R"(,"ClientRequestToken":")" + token64 + "\"")).ok);
  REQUIRE(
      Lines(Parse(Body(Change(), R"(,"ClientRequestToken":")" + token64 + "k\"")).violations) ==
      std::vector<std::string>{"ClientRequestToken: has 65 characters; at most 64 are allowed"});
  REQUIRE(Lines(Parse(Body(Change(), R"(,"ClientRequestToken":"a b")")).violations) ==
          std::vector<std::string>{"ClientRequestToken: must match ^[!-~]+$"});
}

TEST_CASE("Catalog matches ^[a-zA-Z]+$", "[command]") {
  REQUIRE(
      Lines(Parse(R"({"Catalog":"AWS Marketplace","ChangeSet":[)" + Change() + "]}").violations) ==
      std::vector<std::string>{"Catalog: must match ^[a-zA-Z]+$"});
  REQUIRE(Lines(Parse(R"({"Catalog":"","ChangeSet":[)" + Change() + "]}").violations) ==
          std::vector<std::string>{"Catalog: has 0 characters; at least 1 is required"});
  REQUIRE(Lines(Parse(R"({"Catalog":7,"ChangeSet":[)" + Change() + "]}").violations) ==
          std::vector<std::string>{"Catalog: must be a string, not a number"});
  REQUIRE(Lines(Parse(R"({"ChangeSet":[)" + Change() + "]}").violations) ==
          std::vector<std::string>{"Catalog: is required"});
}

TEST_CASE("ChangeSetName, Intent, ChangeType and Entity are checked", "[command]") {
  REQUIRE(Lines(Parse(Body(Change(), R"(,"ChangeSetName":"a/b","Intent":"apply")")).violations) ==
          std::vector<std::string>{"ChangeSetName: must match ^[\\w\\s+=.:@-]+$",
                                   "Intent: must be one of APPLY, VALIDATE"});
  REQUIRE(
      Lines(
          Parse(
              Body(R"({"ChangeType":"updateInformation","Entity":{"Type":"","Identifier":"a b"}},)"
                   R"({"Entity":"prod-a"},{"ChangeType":"X","Entity":{}},7)"))
              .violations) ==
      std::vector<std::string>{
          "ChangeSet[0].ChangeType: must match ^[A-Z]\\w*$",
          "ChangeSet[0].Entity.Type: has 0 characters; at least 1 is required",
          "ChangeSet[0].Entity.Identifier: must match ^[\\w\\-@]+$",
          "ChangeSet[1].Entity: must be an object, not a string",
          "ChangeSet[1].ChangeType: is required",
          "ChangeSet[2].Entity.Type: is required",
          "ChangeSet[3]: must be an object, not a number",
      });
}

TEST_CASE("an omitted Identifier is a create; Identifier@Revision is split", "[command]") {
  Parsed create = Parse(Body(
      R"({"ChangeType":"CreateProduct","Entity":{"Type":"ProfessionalServicesProduct@1.0"}})"));
  REQUIRE(create.ok);
  REQUIRE(create.command.changes[0].entity_id.empty());
  REQUIRE(create.command.changes[0].details == "{}");

  Parsed revised = Parse(Body(Change("prod-aaaaaaaaaaaab@42")));
  REQUIRE(revised.ok);
  REQUIRE(revised.command.changes[0].entity_id == "prod-aaaaaaaaaaaab");
  REQUIRE(revised.command.changes[0].revision == 42);

  REQUIRE(Lines(Parse(Body(Change("prod-a@v2"))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Entity.Identifier: has revision 'v2' after '@'; a revision "
              "is a whole number (Identifier@Revision)"});
  REQUIRE(Lines(Parse(Body(Change("prod-a@"))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Entity.Identifier: has revision '' after '@'; a revision "
              "is a whole number (Identifier@Revision)"});
  REQUIRE(Lines(Parse(Body(Change("@3"))).violations) ==
          std::vector<std::string>{"ChangeSet[0].Entity.Identifier: has no identifier before '@'"});
}

TEST_CASE("$Name.Entity.Identifier names another change of the set", "[command]") {
  std::string create =
      R"({"ChangeType":"CreateProduct","ChangeName":"NewProduct","Entity":{"Type":"ProfessionalServicesProduct@1.0"}})";
  Parsed ok = Parse(Body(create + "," + Change("$NewProduct.Entity.Identifier")));
  REQUIRE(ok.ok);
  REQUIRE(ok.command.changes[1].reference == "NewProduct");
  REQUIRE(ok.command.changes[1].entity_id.empty());

  REQUIRE(Lines(Parse(Body(Change("$Nowhere.Entity.Identifier"))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Entity.Identifier: refers to ChangeName 'Nowhere', which no "
              "change in this change set has"});
  // A later change may be named: the engine orders the changes by their references.
  Parsed later = Parse(Body(Change("$NewProduct.Entity.Identifier") + "," + create));
  REQUIRE(later.ok);
  REQUIRE(later.command.changes[0].reference == "NewProduct");
  std::string self =
      R"({"ChangeType":"UpdateInformation","ChangeName":"Me","Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":"$Me.Entity.Identifier"}})";
  REQUIRE(Lines(Parse(Body(self)).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Entity.Identifier: refers to its own ChangeName 'Me'"});
  REQUIRE(Lines(Parse(Body(Change("$NewProduct.Entity.Id"))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Entity.Identifier: must be an identifier matching "
              "^[\\w\\-@]+$ or $ChangeName.Entity.Identifier, not '$NewProduct.Entity.Id'"});
}

TEST_CASE("ChangeName is unique in a change set", "[command]") {
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeName":"Same")") + "," + Change() + "," +
                           Change("prod-b", R"(,"ChangeName":"Same")")))
                    .violations) ==
          std::vector<std::string>{
              "ChangeSet[2].ChangeName: 'Same' is already the ChangeName of ChangeSet[0]; "
              "ChangeNames must be unique in a change set"});
}

TEST_CASE("one change type runs at most once per entity in a change set", "[command]") {
  // Two UpdateInformation on one product, the second with a revision: refused, naming both.
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeName":"First")") + "," + Change("prod-b") +
                           "," + Change("prod-a@3")))
                    .violations) ==
          std::vector<std::string>{
              "ChangeSet[2].ChangeType: ChangeSet[2] and ChangeSet[0] (ChangeName 'First') both "
              "run UpdateInformation on prod-a; a change set may run a change type only once per "
              "entity"});
  // Other change types on one entity, and one change type on two entities, are fine.
  std::string create =
      R"({"ChangeType":"CreateProduct","ChangeName":"New","Entity":{"Type":"ProfessionalServicesProduct@1.0"}})";
  std::string release =
      R"({"ChangeType":"ReleaseProduct","ChangeName":"Rel","Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":"$New.Entity.Identifier"}})";
  REQUIRE(Parse(Body(create + "," + Change("$New.Entity.Identifier") + "," + release)).ok);
  // Two creates make two entities.
  std::string create2 =
      R"({"ChangeType":"CreateProduct","ChangeName":"Other","Entity":{"Type":"ProfessionalServicesProduct@1.0"}})";
  REQUIRE(Parse(Body(create + "," + create2)).ok);
  // Two changes on the entity one change creates, through a reference or a chain of them.
  std::string via_release = Change("$Rel.Entity.Identifier", R"(,"ChangeName":"Info")");
  REQUIRE(Lines(Parse(Body(create + "," + Change("$New.Entity.Identifier") + "," + release + "," +
                           via_release))
                    .violations) ==
          std::vector<std::string>{
              "ChangeSet[3].ChangeType: ChangeSet[3] (ChangeName 'Info') and ChangeSet[1] both run "
              "UpdateInformation on the entity ChangeSet[0] (ChangeName 'New') creates; a change "
              "set may run a change type only once per entity"});
  // A reference to a named change on an existing entity is that entity.
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeName":"A")") + "," +
                           Change("$A.Entity.Identifier")))
                    .violations) ==
          std::vector<std::string>{
              "ChangeSet[1].ChangeType: ChangeSet[1] and ChangeSet[0] (ChangeName 'A') both run "
              "UpdateInformation on prod-a; a change set may run a change type only once per "
              "entity"});
}

TEST_CASE("Details XOR DetailsDocument; legacy Details is a string holding an object",
          "[command]") {
  std::string entity =
      R"("ChangeType":"UpdateInformation","Entity":{"Type":"T@1.0","Identifier":"prod-a"})";
  Parsed legacy =
      Parse(Body("{" + entity + R"(,"Details":"{\"ProductTitle\": \"T\", \"N\": 1.50}"})"));
  REQUIRE(legacy.ok);
  REQUIRE(legacy.command.changes[0].details == R"({"ProductTitle": "T", "N": 1.50})");

  REQUIRE(
      Lines(Parse(Body("{" + entity + R"(,"Details":"{}","DetailsDocument":{}})")).violations) ==
      std::vector<std::string>{
          "ChangeSet[0]: has both Details and DetailsDocument; give only one of them"});
  REQUIRE(Lines(Parse(Body("{" + entity + R"(,"Details":{"A":1}})")).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Details: must be a string holding a JSON object, not an object "
              "(DetailsDocument takes the object itself)"});
  REQUIRE(Lines(Parse(Body("{" + entity + R"(,"Details":"[1, 2]"})")).violations) ==
          std::vector<std::string>{"ChangeSet[0].Details: must hold a JSON object, not an array"});
  REQUIRE(
      Lines(Parse(Body("{" + entity + R"(,"Details":"{"})")).violations) ==
      std::vector<std::string>{"ChangeSet[0].Details: has 1 character; at least 2 are required"});
  Parsed broken = Parse(Body("{" + entity + R"(,"Details":"{\"A\" 1}"})"));
  REQUIRE(broken.violations.size() == 1);
  REQUIRE(broken.violations[0].path == "ChangeSet[0].Details");
  REQUIRE_THAT(broken.violations[0].message,
               Catch::StartsWith("must hold a JSON object, but its text is not"));
  // Text that starts like a JSON literal is named as not JSON, not as the literal it starts like.
  for (const char* text : {"nope", "nul", "tru", "false-ish", "12abc"}) {
    Parsed p = Parse(Body("{" + entity + R"(,"Details":")" + text + "\"}"));
    REQUIRE(p.violations.size() == 1);
    CHECK_THAT(p.violations[0].message,
               Catch::StartsWith("must hold a JSON object, but its text is not valid JSON: "));
  }
  CHECK(Lines(Parse(Body("{" + entity + R"(,"Details":"null"})")).violations) ==
        std::vector<std::string>{"ChangeSet[0].Details: must hold a JSON object, not null"});
  std::string huge = "{\\\"A\\\":\\\"" + std::string(16400, 'x') + "\\\"}";
  REQUIRE(Lines(Parse(Body("{" + entity + R"(,"Details":")" + huge + "\"}")).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].Details: has 16408 characters; at most 16384 are allowed"});
  // A DetailsDocument may be any JSON value (AddDimensions takes an array).
  Parsed array = Parse(Body("{" + entity + R"(,"DetailsDocument":[{"Key":"k"}]})"));
  REQUIRE(array.ok);
  REQUIRE(array.command.changes[0].details == R"([{"Key":"k"}])");
}

TEST_CASE("unknown keys are refused with the allowed ones and a suggestion", "[command]") {
  REQUIRE(
      Lines(Parse(Body(Change(), R"(,"ClientRequestTokn":"x")")).violations) ==
      std::vector<std::string>{
          "ClientRequestTokn: unknown field 'ClientRequestTokn'; allowed: op, Actor, At, Catalog, "
          "ChangeSetName, ClientRequestToken, Intent, ChangeSet, ChangeSetTags (did you mean "
          "'ClientRequestToken'?)"});
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeNme":"x","Tags":[])"))).violations) ==
          std::vector<std::string>{"ChangeSet[0].ChangeNme: unknown field 'ChangeNme'; allowed: "
                                   "ChangeType, Entity, ChangeName, "
                                   "Details, DetailsDocument, EntityTags (did you mean "
                                   "'ChangeName'?)",
                                   "ChangeSet[0].Tags: unknown field 'Tags'; allowed: ChangeType, "
                                   "Entity, ChangeName, Details, "
                                   "DetailsDocument, EntityTags"});
  // A key of another operation is unknown to this one.
  REQUIRE(Lines(Parse(Body(Change(), R"(,"To":"2026-01-01T00:00:00Z")")).violations) ==
          std::vector<std::string>{
              "To: unknown field 'To'; allowed: op, Actor, At, Catalog, ChangeSetName, "
              "ClientRequestToken, Intent, ChangeSet, ChangeSetTags"});
  REQUIRE(Lines(Parse(Body(Change(), R"(,"Catalog":"Again")")).violations) ==
          std::vector<std::string>{"Catalog: duplicate field 'Catalog'"});
  REQUIRE(Lines(Parse(R"({"op":"start-chage-set"})").violations) ==
          std::vector<std::string>{
              "op: unknown op 'start-chage-set'; allowed: start-change-set, review, "
              "cancel-change-set, tick, import, tag-resource, untag-resource, put-resource-policy, "
              "delete-resource-policy, upgrade (did you mean 'start-change-set'?)"});
}

TEST_CASE("Actor and At are checked", "[command]") {
  REQUIRE(Parse(Line(Change())).ok);
  for (const char* actor : {"buyer:444455556666", "operations"}) {
    REQUIRE(Parse(Body(Change(), std::string(R"(,"Actor":")") + actor + "\"")).ok);
  }
  for (const char* actor :
       {"seller:11112222333", "seller:1111222233334", "admin", "seller:11112222333x", ""}) {
    INFO(actor);
    REQUIRE(Lines(Parse(Body(Change(), std::string(R"(,"Actor":")") + actor + "\"")).violations) ==
            std::vector<std::string>{
                std::string("Actor: must be seller:<12 digits>, buyer:<12 digits> or "
                            "operations, not '") +
                actor + "'"});
  }
  for (const char* at :
       {"2026-01-01", "2026-02-30T00:00:00Z", "yesterday", "2026-01-01T00:00:00"}) {
    INFO(at);
    REQUIRE(Lines(Parse(Body(Change(), std::string(R"(,"At":")") + at + "\"")).violations) ==
            std::vector<std::string>{std::string("At: must be an RFC 3339 timestamp such as "
                                                 "2026-01-01T00:00:00Z, not '") +
                                     at + "'"});
  }
  Parsed offset = Parse(Body(Change(), R"(,"At":"2026-01-01T02:00:00.5+02:00")"));
  REQUIRE(offset.ok);
  REQUIRE(offset.command.at == "2026-01-01T02:00:00.5+02:00");
  REQUIRE(offset.command.at_us == 1767225600500000);
  int64_t us = 0;
  REQUIRE(ParseAt("2026-01-01T00:00:00Z", &us));
  REQUIRE(us == 1767225600000000);
  REQUIRE_FALSE(ParseAt("2026-01-01", &us));
}

TEST_CASE("every violation of a body is reported at once, with its path", "[command]") {
  std::string json =
      R"({"op":"start-change-set","Actor":"seller:1","At":"soon","Catalog":"AWS-Marketplace",)"
      R"("ClientRequestToken":"","Intent":"NOW","Colour":"red","ChangeSet":[)"
      R"({"ChangeType":"UpdateInformation","Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":"p q"},)"
      R"("DetailsDocument":{},"Details":"{}","ChangeName":"A"},)"
      R"({"ChangeType":"_x","Entity":{"Type":"T","Identifier":"$B.Entity.Identifier","Extra":1},"ChangeName":"A"},)"
      R"({"ChangeType":"UpdateInformation","ChangeName":"B","Entity":{"Type":"T"}}]})";
  REQUIRE(Lines(Parse(json).violations) ==
          std::vector<std::string>{
              "Catalog: must match ^[a-zA-Z]+$",
              "ClientRequestToken: has 0 characters; at least 1 is required",
              "Intent: must be one of APPLY, VALIDATE",
              "ChangeSet[0].Entity.Identifier: must match ^[\\w\\-@]+$",
              "ChangeSet[0]: has both Details and DetailsDocument; give only one of them",
              "ChangeSet[1].ChangeType: must match ^[A-Z]\\w*$",
              "ChangeSet[1].Entity.Extra: unknown field 'Extra'; allowed: Type, Identifier",
              "Colour: unknown field 'Colour'; allowed: op, Actor, At, Catalog, ChangeSetName, "
              "ClientRequestToken, Intent, ChangeSet, ChangeSetTags, Outcome",
              "At: must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, not 'soon'",
              "Actor: must be seller:<12 digits>, buyer:<12 digits> or operations, not 'seller:1'",
              "ChangeSet[1].ChangeName: 'A' is already the ChangeName of ChangeSet[0]; ChangeNames "
              "must be "
              "unique in a change set",
          });
}

// ---- The other operations ------------------------------------------------------------------

TEST_CASE("review, cancel-change-set, tick and import lines", "[command]") {
  Parsed review =
      Parse(R"({"op":"review","ChangeSetId":"cs-abc","Decision":"reject","Reason":"no",)"
            R"("Actor":"operations","At":"2026-01-02T00:00:00Z"})");
  REQUIRE(review.ok);
  REQUIRE(review.command.op == Op::kReview);
  REQUIRE(review.command.change_set_id == "cs-abc");
  REQUIRE(review.command.decision == "reject");
  REQUIRE(review.command.reason == "no");
  REQUIRE(Lines(Parse(R"({"op":"review","ChangeSetId":"cs-abc","Decision":"maybe"})").violations) ==
          std::vector<std::string>{"Decision: must be one of approve, reject"});
  REQUIRE(Lines(Parse(R"({"op":"review"})").violations) ==
          std::vector<std::string>{"ChangeSetId: is required", "Decision: is required"});

  Parsed cancel =
      Parse(R"({"op":"cancel-change-set","ChangeSetId":"cs-abc","Actor":"seller:111122223333"})");
  REQUIRE(cancel.ok);
  REQUIRE(cancel.command.op == Op::kCancelChangeSet);
  REQUIRE(
      Lines(Parse(R"({"op":"cancel-change-set","ChangeSetId":"cs/1","Reason":"x"})").violations) ==
      std::vector<std::string>{
          "ChangeSetId: must match ^[\\w\\-]+$",
          "Reason: unknown field 'Reason'; allowed: op, Actor, At, ChangeSetId, Outcome"});

  Parsed tick = Parse(R"({"op":"tick","To":"2026-02-01T00:00:00Z"})");
  REQUIRE(tick.ok);
  REQUIRE(tick.command.op == Op::kTick);
  REQUIRE(tick.command.at == "2026-02-01T00:00:00Z");
  REQUIRE(tick.command.at_us == 1769904000000000);
  REQUIRE(Lines(Parse(R"({"op":"tick","At":"2026-02-01T00:00:00Z"})").violations) ==
          std::vector<std::string>{"At: unknown field 'At'; allowed: op, Actor, To, Outcome",
                                   "To: is required"});
  REQUIRE(Lines(Parse(R"({"op":"tick","To":"later"})").violations) ==
          std::vector<std::string>{
              "To: must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, not 'later'"});

  // entities.jsonl's line, with or without op.
  std::string entity =
      R"("EntityType": "ProfessionalServicesProduct@1.0", "EntityIdentifier": "prod-aaaaaaaaaaaaa", )"
      R"("State": "Limited", "Owner": "seller:111122223333", "DetailsDocument": {"ProductTitle": "T", "N": 1.0}})";
  Parsed import = Parse("{" + entity, Op::kImport);
  REQUIRE(import.ok);
  REQUIRE(import.command.op == Op::kImport);
  REQUIRE(import.command.entity_type == "ProfessionalServicesProduct@1.0");
  REQUIRE(import.command.entity_id == "prod-aaaaaaaaaaaaa");
  REQUIRE(import.command.state == "Limited");
  REQUIRE(import.command.owner == "seller:111122223333");
  REQUIRE(import.command.document == R"({"ProductTitle": "T", "N": 1.0})");
  REQUIRE(Parse(R"({"op": "import", )" + entity, std::nullopt).ok);
  // Actor and At, checked as a command's.
  Parsed timed = Parse(
      R"({"op":"import","Actor":"operations","At":"2026-01-02T00:00:00Z",)" + entity, std::nullopt);
  REQUIRE(timed.ok);
  REQUIRE(timed.command.actor == "operations");
  REQUIRE(timed.command.at == "2026-01-02T00:00:00Z");
  REQUIRE(timed.command.at_us == 1767312000000000);
  REQUIRE(Lines(Parse(R"({"op":"import","Actor":"admin","At":"soon",)" + entity, std::nullopt)
                    .violations) ==
          std::vector<std::string>{
              "At: must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, not 'soon'",
              "Actor: must be seller:<12 digits>, buyer:<12 digits> or operations, not 'admin'"});
  REQUIRE(Lines(Parse(R"({"op":"import","EntityType":"T","DetailsDocument":[]})").violations) ==
          std::vector<std::string>{"DetailsDocument: must be an object, not an array",
                                   "EntityIdentifier: is required", "State: is required",
                                   "Owner: is required"});
}

TEST_CASE("ToJsonLine writes each op back in the replay format, and it reads back the same",
          "[command]") {
  RequireRoundTrip(Line(Change() + "," + Change("prod-b@7", R"(,"ChangeName":"Second")"),
                        R"(,"ChangeSetName":"n","Intent":"VALIDATE")"));
  RequireRoundTrip(
      Body(R"({"ChangeType":"CreateProduct","ChangeName":"P","Entity":{"Type":"T@1.0"}},)" +
           Change("$P.Entity.Identifier")),
      Op::kStartChangeSet);
  // Legacy Details come back as the DetailsDocument they hold; pretty-printed text as one line.
  RequireRoundTrip(
      Body(R"({"ChangeType":"U","Entity":{"Type":"T"},"Details":"{\"A\": [1, 2.50]}"})"),
      Op::kStartChangeSet);
  RequireRoundTrip(
      "{\n  \"Catalog\": \"AWSMarketplace\",\n  \"ChangeSet\": [{\"ChangeType\": \"U\", "
      "\"Entity\": "
      "{\"Type\": \"T\"},\n  \"DetailsDocument\": {\n    \"A\": \"x\\ny\",\n    \"B\": 1e2\n  "
      "}}]\n}",
      Op::kStartChangeSet);
  RequireRoundTrip(
      R"({"op":"review","Actor":"operations","At":"2026-01-02T00:00:00Z","ChangeSetId":"cs-1",)"
      R"("Decision":"reject","Reason":"Logo \"missing\"\n"})");
  RequireRoundTrip(R"({"op":"review","ChangeSetId":"cs-1","Decision":"approve"})");
  RequireRoundTrip(
      R"({"op":"cancel-change-set","Actor":"seller:111122223333","At":"2026-01-02T00:00:00Z",)"
      R"("ChangeSetId":"cs-1"})");
  RequireRoundTrip(R"({"op":"tick","To":"2026-03-01T00:00:00Z"})");
  RequireRoundTrip(R"({"op":"tick","Actor":"operations","To":"2026-03-01T00:00:00Z"})");
  RequireRoundTrip(
      R"({"EntityType":"ProfessionalServicesProduct@1.0","EntityIdentifier":"prod-a","State":"Limited",)"
      R"("Owner":"seller:111122223333","DetailsDocument":{"Highlights":["a","b"],"Price":"1.50"}})",
      Op::kImport);
  RequireRoundTrip(
      R"({"op":"import","Actor":"operations","At":"2026-01-02T00:00:00Z","EntityType":"T@1.0",)"
      R"("EntityIdentifier":"prod-a","State":"Limited","Owner":"seller:111122223333",)"
      R"("DetailsDocument":{}})");

  Parsed p = Parse(Line(Change()));
  REQUIRE(
      p.command.ToJsonLine() ==
      R"({"op":"start-change-set","Actor":"seller:111122223333","At":"2026-01-01T00:00:00Z",)"
      R"("Catalog":"AWSMarketplace","ClientRequestToken":"t-1","ChangeSet":[{"ChangeType":"UpdateInformation",)"
      R"("Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":"prod-aaaaaaaaaaaaa"},)"
      R"("DetailsDocument":{"ProductTitle":"Title"}}]})");
  REQUIRE(std::string(OpName(Op::kCancelChangeSet)) == "cancel-change-set");
}

TEST_CASE("upgrade: an op of its own that takes only Actor and At", "[command]") {
  RequireRoundTrip(R"({"op":"upgrade","Actor":"operations","At":"2026-01-20T00:00:00Z"})");
  RequireRoundTrip(R"({"op":"upgrade"})");
  CHECK(Parse(R"({"op":"upgrade","Actor":"operations"})").command.op == Op::kUpgrade);
  CHECK(Lines(Parse(R"({"op":"upgrade","ChangeSetId":"cs-1"})").violations) ==
        std::vector<std::string>{
            "ChangeSetId: unknown field 'ChangeSetId'; allowed: op, Actor, At, Outcome"});
  CHECK(std::string(OpName(Op::kUpgrade)) == "upgrade");
}

TEST_CASE("tags and resource policies: each op reads back the same, and bad tags are named",
          "[command]") {
  const std::string arn = "arn:aws:aws-marketplace:us-east-1:000000000000:AWSMarketplace/ChangeSet/cs-1";
  RequireRoundTrip(R"({"op":"tag-resource","Actor":"seller:111122223333","At":"2026-01-02T00:00:00Z",)"
                   R"("ResourceArn":")" + arn + R"(","Tags":[{"Key":"team","Value":"caf\u00e9"},)"
                   R"({"Key":"env","Value":""}]})");
  RequireRoundTrip(R"({"op":"untag-resource","ResourceArn":")" + arn + R"(","TagKeys":["a","b"]})");
  RequireRoundTrip(R"({"op":"put-resource-policy","ResourceArn":")" + arn +
                   R"(","Policy":"{\"Version\": \"2012-10-17\"}"})");
  RequireRoundTrip(R"({"op":"delete-resource-policy","ResourceArn":")" + arn + R"("})");
  RequireRoundTrip(Line(Change("prod-a", R"(,"EntityTags":[{"Key":"k","Value":"v"}])"),
                        R"(,"ChangeSetTags":[{"Key":"team","Value":"alpha"}])"));
  Parsed tagged = Parse(Line(Change("prod-a", R"(,"EntityTags":[{"Key":"k","Value":"v"}])"),
                             R"(,"ChangeSetTags":[{"Key":"team","Value":"alpha"}])"));
  REQUIRE(tagged.ok);
  CHECK(tagged.command.tags == std::vector<Tag>{{"team", "alpha"}});
  CHECK(tagged.command.changes[0].entity_tags == std::vector<Tag>{{"k", "v"}});
  // Tags are part of the request: another tag is another body; none hashes as before tags.
  CHECK(tagged.command.body_hash != Parse(Line(Change())).command.body_hash);
  CHECK(Parse(Line(Change(), R"(,"ChangeSetTags":null)")).command.body_hash ==
        Parse(Line(Change())).command.body_hash);

  const std::string long_key(129, 'k');
  CHECK(Lines(Parse(R"({"op":"tag-resource","ResourceArn":"a","Tags":[{"Key":")" + long_key +
                    R"(","Value":"v"},{"Key":"a"},{"Key":"b","Value":"v","Colour":1},)"
                    R"({"Key":"b","Value":"w"},{"Key":"x%","Value":"v"},7]})")
                  .violations) ==
        std::vector<std::string>{
            "Tags[0].Key: has 129 characters; at most 128 are allowed",
            "Tags[1].Value: is required",
            "Tags[2].Colour: unknown field 'Colour'; allowed: Key, Value",
            "Tags[3].Key: is 'b' again; each key may be given once",
            "Tags[4].Key: must hold only letters, numbers, spaces and _.:/=+-@",
            "Tags[5]: must be an object, not a number"});
  CHECK(Lines(Parse(R"({"op":"tag-resource","ResourceArn":"a","Tags":[]})").violations) ==
        std::vector<std::string>{"Tags: has 0 items; at least 1 is required"});
  CHECK(Lines(Parse(R"({"op":"untag-resource","ResourceArn":"","TagKeys":["",null,3]})").violations) ==
        std::vector<std::string>{"ResourceArn: has 0 characters; at least 1 is required",
                                 "TagKeys[0]: has 0 characters; at least 1 is required",
                                 "TagKeys[1]: must be a string, not null",
                                 "TagKeys[2]: must be a string, not a number"});
  CHECK(Lines(Parse(R"({"op":"put-resource-policy","ResourceArn":"a","Policy":"[1]"})").violations) ==
        std::vector<std::string>{"Policy: must be a JSON object's text, not another JSON value"});
  CHECK(Lines(Parse(R"({"op":"put-resource-policy","ResourceArn":"a","Policy":"{"})").violations) ==
        std::vector<std::string>{"Policy: must be a JSON object's text, but it is not valid JSON"});
  CHECK(Lines(Parse(R"({"op":"delete-resource-policy"})").violations) ==
        std::vector<std::string>{"ResourceArn: is required"});
  const std::string long_value = R"(,"EntityTags":[{"Key":"k","Value":")" +
                                 std::string(257, 'v') + R"("}])";
  CHECK(Lines(Parse(Body(Change("prod-a", long_value))).violations) ==
        std::vector<std::string>{
            "ChangeSet[0].EntityTags[0].Value: has 257 characters; at most 256 are allowed"});
  CHECK(std::string(OpName(Op::kDeleteResourcePolicy)) == "delete-resource-policy");
}

// ---- Body hash -----------------------------------------------------------------------------

TEST_CASE("body_hash: the same body hashes the same however it is written", "[command]") {
  std::string hash = Parse(Line(Change())).command.body_hash;
  REQUIRE(hash.size() == 64);
  // Another actor and time, key order, whitespace, escapes: the same request.
  std::string same =
      R"({ "ChangeSet" : [ { "DetailsDocument" : { "ProductTitle" : "Ti\u0074le" }, "Entity" : { "Identifier" : )"
      R"("prod-aaaaaaaaaaaaa", "Type" : "ProfessionalServicesProduct@1.0" }, "ChangeType" : "UpdateInformation" } ], )"
      R"("ClientRequestToken" : "t-1", "Catalog" : "AWSMarketplace", "At" : "2027-05-05T00:00:00Z", )"
      R"("Actor" : "buyer:999988887777", "Intent" : "APPLY" })";
  REQUIRE(Parse(same).command.body_hash == hash);
  // Legacy Details holding the same object.
  std::string legacy =
      R"({"Catalog":"AWSMarketplace","ClientRequestToken":"t-1","ChangeSet":[{"ChangeType":)"
      R"("UpdateInformation","Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":)"
      R"("prod-aaaaaaaaaaaaa"},"Details":"{\"ProductTitle\":\"Title\"}"}]})";
  REQUIRE(Parse(legacy).command.body_hash == hash);

  // Anything else changes it.
  REQUIRE(Parse(Line(Change("prod-aaaaaaaaaaaab"))).command.body_hash != hash);
  REQUIRE(Parse(Line(Change(), R"(,"Intent":"VALIDATE")")).command.body_hash != hash);
  REQUIRE(Parse(Line(Change(), R"(,"ChangeSetName":"x")")).command.body_hash != hash);
  REQUIRE(Parse(Body(Change())).command.body_hash != hash);  // No token.
  std::string title2 = Change();
  title2.replace(title2.find("Title"), 5, "Title2");
  REQUIRE(Parse(Line(title2)).command.body_hash != hash);
  // Numbers are compared as written: 1.50 is not 1.5.
  auto with_price = [](const char* price) {
    return Parse(Body(R"({"ChangeType":"U","Entity":{"Type":"T"},"DetailsDocument":{"P":)" +
                      std::string(price) + "}}"))
        .command.body_hash;
  };
  REQUIRE(with_price("1.50") != with_price("1.5"));
  REQUIRE(with_price("1.50") == with_price("1.50"));
  // Nested objects are sorted too; list order matters.
  auto with_details = [](const std::string& d) {
    return Parse(Body(R"({"ChangeType":"U","Entity":{"Type":"T"},"DetailsDocument":)" + d + "}"))
        .command.body_hash;
  };
  REQUIRE(with_details(R"({"a":{"y":1,"x":[true,null]},"b":2})") ==
          with_details(R"({"b":2,"a":{"x":[true,null],"y":1}})"));
  REQUIRE(with_details(R"({"a":[1,2]})") != with_details(R"({"a":[2,1]})"));
  REQUIRE(with_details("{}") ==
          Parse(Body(R"({"ChangeType":"U","Entity":{"Type":"T"}})")).command.body_hash);
}

// ---- Hostile input -------------------------------------------------------------------------

TEST_CASE("hostile input gives a violation, never a crash or a hang", "[command]") {
  std::string head =
      R"({"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"U","Entity":{"Type":"T"},"DetailsDocument":)";
  auto single = [](const std::string& json) {
    Parsed p = Parse(json);
    REQUIRE_FALSE(p.ok);
    REQUIRE(p.violations.size() == 1);
    return p.violations[0];
  };
  Violation utf8 = single(head + "{\"A\":\"\xC3\x28\"}}]}");
  REQUIRE(utf8.path.empty());
  REQUIRE(utf8.message == "invalid UTF-8 at byte " + std::to_string(head.size() + 6));

  std::string deep = head;
  for (int i = 0; i < 10000; ++i) deep += "[";
  for (int i = 0; i < 10000; ++i) deep += "]";
  deep += "}]}";
  Violation too_deep = single(deep);
  REQUIRE(too_deep.path == "ChangeSet[0].DetailsDocument");
  REQUIRE(too_deep.message == "is nested deeper than 64 levels");
  std::string deep_root;
  for (int i = 0; i < 10000; ++i) deep_root += "{\"a\":";
  Violation root = single(deep_root);
  REQUIRE(root.path.empty());

  // Numbers past 64 bits are kept as written; malformed ones are refused.
  Parsed big = Parse(head + R"({"N":123456789012345678901234567890e999}}]})");
  REQUIRE(big.ok);
  REQUIRE(big.command.changes[0].details == R"({"N":123456789012345678901234567890e999})");
  for (const char* bad : {"01", "1.", "-", "1e", "tru", "nul", "falsey", "+1", "NaN"}) {
    INFO(bad);
    Violation v = single(head + R"({"N":)" + bad + "}}]}");
    REQUIRE(v.path.empty());
    REQUIRE_THAT(v.message, Catch::StartsWith("invalid JSON"));
  }
  // NUL bytes: raw in a string or outside one is malformed; escaped it is text.
  REQUIRE_THAT(single(head + std::string("{\"A\":\"a\0b\"}}]}", 13)).message,
               Catch::StartsWith("invalid JSON"));
  REQUIRE_THAT(single(std::string("{\"Catalog\":\"A\"}\0", 16)).message,
               Catch::StartsWith("invalid JSON"));
  Parsed nul = Parse(head + R"({"A":"a\u0000b"}}]})");
  REQUIRE(nul.ok);
  REQUIRE(Lines(Parse(R"({"Catalog":"AWS\u0000","ChangeSet":[)" + Change() + "]}").violations) ==
          std::vector<std::string>{"Catalog: must match ^[a-zA-Z]+$"});
  // A long string under the command limit is read and measured; a command over it
  // (engine/base/limits.h) is refused before it is parsed.
  std::string longer(512 << 10, 'x');
  REQUIRE(Lines(Parse(Body(Change("prod-a", R"(,"ChangeName":")" + longer + "\""))).violations) ==
          std::vector<std::string>{
              "ChangeSet[0].ChangeName: has 524288 characters; at most 72 are allowed"});
  std::string huge(4 << 20, 'x');
  std::string huge_body = Body(Change("prod-a", R"(,"ChangeName":")" + huge + "\""));
  REQUIRE(Lines(Parse(huge_body).violations) ==
          std::vector<std::string>{": has " + std::to_string(huge_body.size()) +
                                   " bytes; at most 1048576 are allowed"});
  // Broken structure of every kind.
  for (std::string bad :
       {head + "{}}]", head + "{}}]}}", head + "{}}]} x", head + R"({"A" 1}}]})",
        head + R"({"A":"x)", head + R"({"A":"\q"}}]})", head + R"({"A":"\ud800"}}]})",
        std::string(R"({"Catalog":"A",})"), std::string(R"({"Catalog" "A"})"), std::string("{"),
        std::string("}"), std::string(R"({"\ud800":1})")}) {
    INFO(bad);
    Violation v = single(bad);
    REQUIRE(v.path.empty());
    REQUIRE_THAT(v.message, Catch::StartsWith("invalid JSON"));
  }
  REQUIRE(single("").message == "is empty; expected a JSON object");
  REQUIRE(single(" \n").message == "is empty; expected a JSON object");
  REQUIRE(single("[1]").message == "must be a JSON object, not an array");
  REQUIRE(single("\"x\"").message == "must be a JSON object, not a string");
  REQUIRE(single("7").message == "must be a JSON object, not a number");
  // A flood of problems is cut short.
  std::string many = "{";
  for (int i = 0; i < 500; ++i)
    many += (i > 0 ? "," : "") + std::string("\"k") + std::to_string(i) + "\":1";
  many += "}";
  Parsed flood = Parse(many);
  REQUIRE(flood.violations.size() == 101);
  REQUIRE(flood.violations.back().message == "too many violations; stopped after 100");
}

// ---- ValidateShape -------------------------------------------------------------------------

FieldSpec Field(const std::string& name, dsl::TypePtr type, bool optional = false) {
  FieldSpec f;
  f.name = name;
  f.type = std::move(type);
  f.optional = optional;
  return f;
}

dsl::Decimal Dec(const char* text) {
  dsl::Decimal d{0, 0};
  REQUIRE(dsl::ParseDecimal(text, &d) == dsl::DecimalStatus::kOk);
  return d;
}

// Every constraint kind, nested list items and object fields.
Schema HandBuiltSchema() {
  using dsl::Type;
  Schema s;
  FieldSpec title = Field("ProductTitle", Type::String());
  title.min_length = 1;
  title.max_length = 72;
  s.fields.push_back(std::move(title));

  FieldSpec logo = Field("LogoUrl", Type::String(), true);
  logo.pattern = "^https://.*";
  s.fields.push_back(std::move(logo));

  FieldSpec visibility = Field("Visibility", Type::String(), true);
  visibility.one_of = {"Public", "Limited", "Restricted"};
  s.fields.push_back(std::move(visibility));

  FieldSpec highlights = Field("Highlights", Type::List(Type::String()), true);
  highlights.min_items = 1;
  highlights.max_items = 3;
  highlights.items = std::make_unique<FieldSpec>(Field("Highlights[]", Type::String()));
  highlights.items->max_length = 5;
  s.fields.push_back(std::move(highlights));

  FieldSpec quantity = Field("Quantity", Type::Int(), true);
  quantity.minimum = Dec("1");
  quantity.maximum = Dec("100");
  s.fields.push_back(std::move(quantity));

  FieldSpec price = Field("Price", Type::Decimal(), true);
  price.minimum = Dec("0.01");
  price.maximum = Dec("9999.99");
  s.fields.push_back(std::move(price));

  s.fields.push_back(Field("Public", Type::Bool(), true));
  s.fields.push_back(Field("Starts", Type::Date(), true));
  s.fields.push_back(Field("At", Type::Timestamp(), true));
  s.fields.push_back(Field("Term", Type::Duration(), true));
  s.fields.push_back(Field("Labels", Type::Map(Type::Int()), true));
  s.fields.push_back(Field("Anything", Type::Dyn(), true));

  // A list of objects with their own constrained fields.
  FieldSpec dimension = Field("Dimensions[]", nullptr);
  FieldSpec key = Field("Key", Type::String());
  key.pattern = "[a-z]+";
  dimension.fields.push_back(std::move(key));
  FieldSpec types = Field("Types", Type::List(Type::String()), true);
  types.items = std::make_unique<FieldSpec>(Field("Types[]", Type::String()));
  types.items->one_of = {"Entitled", "ExternallyMetered"};
  dimension.fields.push_back(std::move(types));
  dimension.type =
      Type::Object({{"Key", Type::String(), false}, {"Types", Type::List(Type::String()), true}});
  FieldSpec dimensions = Field("Dimensions", Type::List(dimension.type), true);
  dimensions.max_items = 2;
  dimensions.items = std::make_unique<FieldSpec>(std::move(dimension));
  s.fields.push_back(std::move(dimensions));

  // An object typed only by its dsl type, without specs.
  s.fields.push_back(Field(
      "Support", Type::Object({{"Email", Type::String(), false}, {"Phone", Type::String(), true}}),
      true));

  std::vector<dsl::Field> fields;
  for (const FieldSpec& f : s.fields) fields.push_back({f.name, f.type, f.optional});
  s.type = Type::Object(std::move(fields));
  return s;
}

std::vector<std::string> Shape(const std::string& json, const Schema& schema,
                               const std::string& path = "ChangeSet[0].DetailsDocument") {
  std::vector<Violation> v;
  ValidateShape(json, schema, path, &v);
  return Lines(v);
}

TEST_CASE("ValidateShape accepts a document that fits every constraint", "[command][shape]") {
  Schema s = HandBuiltSchema();
  REQUIRE(
      Shape(R"({"ProductTitle":"Cloud","LogoUrl":"https://x/l.png","Visibility":"Public",)"
            R"("Highlights":["a","bcdé\u00e9"],"Quantity":100,"Price":"9999.99","Public":true,)"
            R"("Starts":"2026-02-28","At":"2026-01-01T00:00:00Z","Term":"P12M","Labels":{"a":1},)"
            R"("Anything":[{"x":null}],"Dimensions":[{"Key":"users","Types":["Entitled"]}],)"
            R"("Support":{"Email":"a@b"},"Quantity":null})",
            s) == std::vector<std::string>{
                      "ChangeSet[0].DetailsDocument.Quantity: duplicate field 'Quantity'"});
  REQUIRE(
      Shape(
          R"({"ProductTitle":"Cloud","Price":0.01,"Quantity":1,"Highlights":["abcde"],"LogoUrl":null})",
          s)
          .empty());
  REQUIRE(Shape(R"({"ProductTitle":"Cloud","Price":1e1})", s).empty());
}

TEST_CASE("ValidateShape reports every problem with AWS's wording", "[command][shape]") {
  Schema s = HandBuiltSchema();
  std::string title80(80, 't');
  REQUIRE(
      Shape(
          R"({"ProductTitle":")" + title80 +
              R"(","LogoUrl":"http://x","Visibility":"Hidden","Highlights":["a","b","toolong","d"],)"
              R"("Quantity":0,"Price":10000,"Public":"yes","Starts":"2026-02-30","At":"noon","Term":"forever",)"
              R"("Labels":{"a":"1","a":2},"Dimensions":[{"Key":"Users1","Types":["Metered"],"Name":"x"},{},7],)"
              R"("Support":{"Phone":1},"Colour":"red"})",
          s) ==
      std::vector<std::string>{
          "ChangeSet[0].DetailsDocument.ProductTitle: has 80 characters; at most 72 are allowed",
          "ChangeSet[0].DetailsDocument.LogoUrl: must match ^https://.*",
          "ChangeSet[0].DetailsDocument.Visibility: must be one of Public, Limited, Restricted",
          "ChangeSet[0].DetailsDocument.Highlights[2]: has 7 characters; at most 5 are allowed",
          "ChangeSet[0].DetailsDocument.Highlights: has 4 items; at most 3 are allowed",
          "ChangeSet[0].DetailsDocument.Quantity: must be at least 1, not 0",
          "ChangeSet[0].DetailsDocument.Price: must be at most 9999.99, not 10000",
          "ChangeSet[0].DetailsDocument.Public: must be a boolean, not a string",
          "ChangeSet[0].DetailsDocument.Starts: must be a date such as 2026-01-31, not "
          "'2026-02-30'",
          "ChangeSet[0].DetailsDocument.At: must be an RFC 3339 timestamp such as "
          "2026-01-31T12:00:00Z, not 'noon'",
          "ChangeSet[0].DetailsDocument.Term: must be an ISO 8601 duration such as P30D or PT24H, "
          "not 'forever'",
          "ChangeSet[0].DetailsDocument.Labels.a: must be an integer, not a string",
          "ChangeSet[0].DetailsDocument.Labels.a: duplicate key 'a'",
          "ChangeSet[0].DetailsDocument.Dimensions[0].Key: must match [a-z]+",
          "ChangeSet[0].DetailsDocument.Dimensions[0].Types[0]: must be one of Entitled, "
          "ExternallyMetered",
          "ChangeSet[0].DetailsDocument.Dimensions[0].Name: unknown field 'Name'; allowed: Key, "
          "Types",
          "ChangeSet[0].DetailsDocument.Dimensions[1].Key: is required",
          "ChangeSet[0].DetailsDocument.Dimensions[2]: must be an object, not a number",
          "ChangeSet[0].DetailsDocument.Dimensions: has 3 items; at most 2 are allowed",
          "ChangeSet[0].DetailsDocument.Support.Phone: must be a string, not a number",
          "ChangeSet[0].DetailsDocument.Support.Email: is required",
          "ChangeSet[0].DetailsDocument.Colour: unknown field 'Colour'; allowed: ProductTitle, "
          "LogoUrl, "
          "Visibility, Highlights, Quantity, Price, Public, Starts, At, Term, Labels, Anything, "
          "Dimensions, "
          "Support",
      });
}

TEST_CASE("ValidateShape: a list document checks each item against the item fields",
          "[command][shape]") {
  using dsl::Type;
  Schema s;
  auto items = std::make_unique<FieldSpec>();
  FieldSpec key = Field("Key", Type::String());
  key.max_length = 3;
  items->fields.push_back(std::move(key));
  items->fields.push_back(Field("Name", Type::String(), true));
  items->type = Type::Object({{"Key", Type::String(), false}, {"Name", Type::String(), true}});
  s.list = std::make_unique<FieldSpec>();
  s.list->type = Type::List(items->type);
  s.list->items = std::move(items);
  s.type = s.list->type;
  REQUIRE(Shape(R"([{"Key":"abc"},{"Key":"d","Name":"x"}])", s).empty());
  REQUIRE(Shape("[]", s).empty());
  REQUIRE(Shape(R"([{"Key":"abcd"},{"Name":"x"},{"Key":"e","Colour":1}])", s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument[0].Key: has 4 characters; at most 3 are allowed",
              "ChangeSet[0].DetailsDocument[1].Key: is required",
              "ChangeSet[0].DetailsDocument[2].Colour: unknown field 'Colour'; allowed: Key, Name",
          });
  REQUIRE(
      Shape(R"({"Key":"abc"})", s) ==
      std::vector<std::string>{"ChangeSet[0].DetailsDocument: must be an array, not an object"});
}

TEST_CASE("ValidateShape: required fields, nulls, kinds and numbers", "[command][shape]") {
  Schema s = HandBuiltSchema();
  REQUIRE(Shape("{}", s) ==
          std::vector<std::string>{"ChangeSet[0].DetailsDocument.ProductTitle: is required"});
  REQUIRE(Shape(R"({"ProductTitle":null})", s) ==
          std::vector<std::string>{"ChangeSet[0].DetailsDocument.ProductTitle: is required"});
  REQUIRE(
      Shape(R"({"ProductTitle":""})", s) ==
      std::vector<std::string>{
          "ChangeSet[0].DetailsDocument.ProductTitle: has 0 characters; at least 1 is required"});
  REQUIRE(Shape(R"({"ProductTitle":7})", s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.ProductTitle: must be a string, not a number"});
  REQUIRE(Shape(R"({"ProductTitle":"t","Highlights":[]})", s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.Highlights: has 0 items; at least 1 is required"});
  REQUIRE(Shape(R"({"ProductTitle":"t","Highlights":"a"})", s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.Highlights: must be an array, not a string"});
  REQUIRE(
      Shape(R"({"ProductTitle":"t","Quantity":2.5,"Price":"abc"})", s) ==
      std::vector<std::string>{
          "ChangeSet[0].DetailsDocument.Quantity: must be an integer, not 2.5",
          "ChangeSet[0].DetailsDocument.Price: must be a number or a numeric string, not 'abc'"});
  REQUIRE(Shape(R"({"ProductTitle":"t","Quantity":99999999999999999999,"Price":true})", s) ==
          std::vector<std::string>{"ChangeSet[0].DetailsDocument.Quantity: must be an integer "
                                   "within 64 bits, not '99999999999999999999'",
                                   "ChangeSet[0].DetailsDocument.Price: must be a number or a "
                                   "numeric string, not a boolean"});
  REQUIRE(Shape(R"({"ProductTitle":"t","Price":0.0000000000000000001})", s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.Price: must be a number of at most 18 significant "
              "digits and 18 decimal places, not '0.0000000000000000001'"});
  REQUIRE(Shape(R"({"ProductTitle":"t","Price":"0.001"})", s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.Price: must be at least 0.01, not 0.001"});
  REQUIRE(Shape("[]", s) == std::vector<std::string>{
                                "ChangeSet[0].DetailsDocument: must be an object, not an array"});
  REQUIRE(Shape(R"({"ProductTitle":"t"} x)", s).size() == 1);
  std::vector<std::string> broken = Shape(R"({"ProductTitle":"t","Anything":[1 2]})", s);
  REQUIRE(broken.size() == 1);
  REQUIRE_THAT(broken[0], Catch::StartsWith("ChangeSet[0].DetailsDocument: invalid JSON"));
  std::string deep = R"({"ProductTitle":"t","Anything":)" + std::string(10000, '[') +
                     std::string(10000, ']') + "}";
  REQUIRE(Shape(deep, s) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.Anything: is nested deeper than 64 levels"});
  REQUIRE_THAT(Shape("{\"ProductTitle\":\"\xff\"}", s).at(0), Catch::Contains("invalid JSON"));
  // A field's own pattern is compiled once and reused across calls; a broken one is reported.
  for (int i = 0; i < 3; ++i) {
    REQUIRE(Shape(R"({"ProductTitle":"t","LogoUrl":"https://a"})", s).empty());
  }
  Schema bad;
  FieldSpec f = Field("A", dsl::Type::String());
  f.pattern = "(";
  bad.fields.push_back(std::move(f));
  REQUIRE(Shape(R"({"A":"x"})", bad, "") ==
          std::vector<std::string>{
              "A: cannot be checked: its pattern ( is not a valid RE2 expression"});
}

TEST_CASE("ValidateShape: dates are real, durations bounded, formatted strings read as typed",
          "[command][shape]") {
  using dsl::Type;
  Schema s;
  FieldSpec ends = Field("Ends", Type::String(), true);
  ends.format = dsl::TypeKind::kDate;
  s.fields.push_back(std::move(ends));
  FieldSpec at = Field("At", Type::String(), true);
  at.format = dsl::TypeKind::kTimestamp;
  s.fields.push_back(std::move(at));
  FieldSpec length = Field("Length", Type::String(), true);
  length.format = dsl::TypeKind::kDuration;
  length.pattern = "P([0-9]+[YMWD])+";
  length.shortest = FieldSpec::DurationBound{{0, dsl::kMicrosPerDay}, "P1D"};
  length.longest = FieldSpec::DurationBound{{60, 0}, "P5Y"};
  s.fields.push_back(std::move(length));
  s.fields.push_back(Field("Span", Type::Duration(), true));  // Typed: the engine's bounds only.
  FieldSpec price = Field("Price", Type::String(), true);
  price.format = dsl::TypeKind::kDecimal;
  price.maximum = Dec("100000000");
  s.fields.push_back(std::move(price));
  s.type = Type::Object({{"Ends", Type::String(), true},
                         {"At", Type::String(), true},
                         {"Length", Type::String(), true},
                         {"Span", Type::Duration(), true},
                         {"Price", Type::String(), true}});
  const std::string p = "ChangeSet[0].DetailsDocument.";
  REQUIRE(Shape(R"({"Ends":"2028-02-29","At":"2026-01-01T00:00:00Z","Length":"P12M",)"
                R"("Span":"PT0S","Price":"100000000.00"})",
                s)
              .empty());
  REQUIRE(Shape(R"({"Length":"P1D","Span":"P100Y"})", s).empty());
  REQUIRE(Shape(R"({"Ends":"2026-02-30","At":"2026-02-29T00:00:00Z","Length":"P0D",)"
                R"("Span":"P9000Y","Price":"1000000000000000000000"})",
                s) ==
          std::vector<std::string>{
              p + "Ends: must be a date such as 2026-01-31, not '2026-02-30'",
              p + "At: must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, not "
                  "'2026-02-29T00:00:00Z'",
              p + "Length: must be at least P1D, not 'P0D'",
              p + "Span: must be at most 100 years (P1200M or P36525D), not 'P9000Y'",
              p + "Price: must be a number of at most 18 significant digits and 18 decimal "
                  "places, not '1000000000000000000000'",
          });
  REQUIRE(Shape(R"({"Length":"P6Y","Span":"-P1D","Price":"100000000.01"})", s) ==
          std::vector<std::string>{
              p + "Length: must be at most P5Y, not 'P6Y'",
              p + "Span: must not be a negative duration, not '-P1D'",
              p + "Price: must be at most 100000000, not 100000000.01",
          });
  // Months against days: P1M is at least P1D (a month is 28 days at its shortest); P2M is not at
  // most P59D (it may be 62 days).
  length = Field("Length", Type::Duration());
  length.longest = FieldSpec::DurationBound{{0, 59 * dsl::kMicrosPerDay}, "P59D"};
  Schema months;
  months.fields.push_back(std::move(length));
  months.type = Type::Object({{"Length", Type::Duration(), false}});
  REQUIRE(Shape(R"({"Length":"P1M"})", months).empty());
  REQUIRE(Shape(R"({"Length":"P2M"})", months) ==
          std::vector<std::string>{p + "Length: must be at most P59D, not 'P2M'"});
  // A text that breaks its pattern gets that one message, not a second one for its format.
  REQUIRE(Shape(R"({"Length":"PT1H","Price":"x"})", s) ==
          std::vector<std::string>{
              p + "Length: must match P([0-9]+[YMWD])+",
              p + "Price: must be a decimal number such as 1000.00, not 'x'",
          });
}

TEST_CASE("ValidateShape without declared fields", "[command][shape]") {
  Schema none;  // No `input:` at all: any object.
  REQUIRE(Shape(R"({"A":[1,{"b":null}]})", none).empty());
  REQUIRE(
      Shape("[]", none) ==
      std::vector<std::string>{"ChangeSet[0].DetailsDocument: must be an object, not an array"});
  Schema empty;
  empty.type = dsl::Type::Object({});
  REQUIRE(Shape("{}", empty).empty());
  REQUIRE(Shape(R"({"A":1})", empty) ==
          std::vector<std::string>{
              "ChangeSet[0].DetailsDocument.A: unknown field 'A'; no fields are allowed here"});
  Schema typed;  // Fields from the type alone.
  typed.type = dsl::Type::Object({{"N", dsl::Type::Int(), false}});
  REQUIRE(
      Shape(R"({"N":"1"})", typed) ==
      std::vector<std::string>{"ChangeSet[0].DetailsDocument.N: must be an integer, not a string"});
}

}  // namespace
}  // namespace sellerflow::engine
