// Tests of the workflow loader: a small machine read in full, and content hashes.
#include "engine/model/load.h"

#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "dsl/decimal.h"
#include "dsl/time.h"
#include "engine/base/sha256.h"

namespace sellerflow::engine {
namespace {

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

TEST_CASE("load: LoadMachine reads states, transitions and field specs", "[load]") {
  dsl::Source source{"m.yaml", kMachine};
  dsl::Diagnostics diags;
  auto m = LoadMachine(source, &diags);
  INFO(diags.ToText());
  REQUIRE(m);
  CHECK(diags.items().empty());
  CHECK(m->kind == MachineKind::kRequest);
  CHECK(m->Key() == "Publish on Widget@1.0");
  CHECK(m->description == "Publish a widget.");
  CHECK(m->source == &source);
  CHECK(m->at.line == 2);

  REQUIRE(m->states.size() == 4);
  CHECK(m->states[0].name == "Submitted");
  CHECK(m->states[0].initial);
  CHECK(m->states[0].status == RequestStatus::kPreparing);
  CHECK(m->states[1].description == "Waiting.");
  CHECK(m->states[2].final);
  CHECK(m->states[3].status == RequestStatus::kFailed);
  CHECK(m->states[1].at.line == 23);
  CHECK(m->states[1].at.column == 3);
  REQUIRE(m->FindState("Done"));
  CHECK(m->FindState("Nowhere") == nullptr);

  REQUIRE(m->events.size() == 2);
  CHECK(m->events[0].actors == std::vector<std::string>{"operations"});
  CHECK(m->events[1].actors == std::vector<std::string>{"operations", "seller"});
  REQUIRE(m->events[1].data.fields.size() == 1);
  CHECK(m->events[1].data.type->ToString() == "{Reason: string}");

  // The list in `from` is expanded into one transition per state, in order.
  REQUIRE(m->transitions.size() == 4);
  CHECK(m->transitions[0].is_automatic());
  CHECK(m->transitions[1].event == "approve");
  CHECK(m->transitions[1].rules == std::vector<std::string>{"title_ok"});
  CHECK(m->transitions[1].guard.text == "details.Visibility == \"Public\"");
  CHECK(m->transitions[1].guard.at.line == 28);
  CHECK(m->transitions[2].from == "Submitted");
  CHECK(m->transitions[3].from == "Review");
  for (int i : {2, 3}) {
    const Transition& t = m->transitions[static_cast<size_t>(i)];
    CHECK(t.to == "Failed");
    CHECK(t.event == "reject");
    REQUIRE(t.actions.size() == 1);
    CHECK(t.actions[0].kind == Action::Kind::kFail);
    CHECK(t.actions[0].code == "AUDIT_ERROR");
    CHECK(t.actions[0].message.text == "Rejected: {event.Reason}");
    CHECK(t.actions[0].message.at.column == 19);  // Inside the quotes.
  }

  const auto& fields = m->input.fields;
  REQUIRE(fields.size() == 5);
  const FieldSpec& title = fields[0];
  CHECK(title.name == "Title");
  CHECK_FALSE(title.optional);
  CHECK(title.type->ToString() == "string");
  CHECK(title.min_length == 1);
  CHECK(title.max_length == 72);
  CHECK(title.pattern == "[A-Z].*");
  CHECK(fields[1].one_of == std::vector<std::string>{"Public", "Limited"});
  const FieldSpec& tags = fields[2];
  CHECK(tags.name == "Tags");
  CHECK(tags.optional);
  CHECK(tags.type->ToString() == "list<string>");
  CHECK(tags.max_items == 3);
  REQUIRE(tags.items);
  CHECK(tags.items->type->ToString() == "string");
  CHECK(tags.items->max_length == 20);
  const FieldSpec& price = fields[3];
  REQUIRE(price.minimum);
  REQUIRE(price.maximum);
  CHECK(dsl::DecimalToString(*price.minimum) == "0");
  CHECK(dsl::DecimalToString(*price.maximum) == "99.5");
  const FieldSpec& size = fields[4];
  CHECK(size.type->ToString() == "{Width: int, Height?: int}");
  REQUIRE(size.fields.size() == 2);
  CHECK(size.fields[1].optional);
  CHECK(m->input.type->ToString() ==
        "{Title: string, Visibility: string, Tags?: list<string>, Price?: decimal, Size: {Width: "
        "int, Height?: int}}");
}

TEST_CASE("load: the content hash is the SHA-256 of the file and follows every change", "[load]") {
  dsl::Source a{"m.yaml", kMachine};
  dsl::Source b{"m.yaml", std::string(kMachine) + "# a comment changes the bytes\n"};
  dsl::Source c{"other.yaml", kMachine};
  dsl::Diagnostics diags;
  auto ma = LoadMachine(a, &diags);
  auto mb = LoadMachine(b, &diags);
  auto mc = LoadMachine(c, &diags);
  REQUIRE(ma);
  REQUIRE(mb);
  REQUIRE(mc);
  CHECK(ma->content_hash == Sha256Hex(kMachine));
  CHECK(ma->content_hash.size() == 64);
  CHECK(ma->content_hash != mb->content_hash);
  CHECK(ma->content_hash == mc->content_hash);  // The bytes, not the name.
}

TEST_CASE("load: a file with errors gives no machine", "[load]") {
  dsl::Source source{"m.yaml", "machine: entity\nentity_type: W@1\nstates: {A: {initial: yes}}\n"};
  dsl::Diagnostics diags;
  CHECK(LoadMachine(source, &diags) == nullptr);
  CHECK(diags.error_count() == 1);
  CHECK(diags.items()[0].line == 3);
  CHECK(diags.items()[0].column == 23);
}

TEST_CASE("load: a list input is a sequence of one map, read as list<object>", "[load]") {
  constexpr char kList[] = R"(machine: request
change_type: AddThings
entity_type: Widget@1.0
input:
  - Key: {type: string, max_length: 5}
    Name?: string
states:
  A: {initial: true, status: PREPARING}
  B: {final: true, status: SUCCEEDED}
transitions:
  - {from: A, to: B}
)";
  dsl::Source source{"m.yaml", kList};
  dsl::Diagnostics diags;
  auto m = LoadMachine(source, &diags);
  INFO(diags.ToText());
  REQUIRE(m);
  CHECK(m->input.fields.empty());
  REQUIRE(m->input.list);
  CHECK(m->input.type->ToString() == "list<{Key: string, Name?: string}>");
  REQUIRE(m->input.list->items);
  REQUIRE(m->input.list->items->fields.size() == 2);
  CHECK(m->input.list->items->fields[0].max_length == 5);
  CHECK(m->input.list->at.line == 5);

  std::string two = kList;
  two.replace(two.find("    Name?: string\n"), 18, "  - Name?: string\n");
  dsl::Source bad{"m.yaml", two};
  dsl::Diagnostics bad_diags;
  CHECK(LoadMachine(bad, &bad_diags) == nullptr);
  REQUIRE(bad_diags.error_count() == 1);
  // At the item that should not be there, not at the list.
  CHECK(bad_diags.items()[0].line == 6);
  CHECK(bad_diags.items()[0].column == 5);
  CHECK(bad_diags.items()[0].message ==
        "a list input is a sequence of exactly one map (the fields of each item), not 2 items");
}

TEST_CASE("load: format reads a string as a date, timestamp, duration or decimal", "[load]") {
  constexpr char kFormats[] = R"(machine: request
change_type: Term
entity_type: Widget@1.0
input:
  Ends: {type: string, format: date}
  At?: {type: string, format: timestamp}
  Length: {type: string, format: duration, minimum: P1D, maximum: P5Y}
  Span?: {type: duration, minimum: PT1H}
  Price: {type: string, format: decimal, maximum: 100000000}
states:
  A: {initial: true, status: PREPARING}
  B: {final: true, status: SUCCEEDED}
transitions:
  - {from: A, to: B}
)";
  dsl::Source source{"m.yaml", kFormats};
  dsl::Diagnostics diags;
  auto m = LoadMachine(source, &diags);
  INFO(diags.ToText());
  REQUIRE(m);
  const auto& f = m->input.fields;
  REQUIRE(f.size() == 5);
  CHECK(f[0].format == dsl::TypeKind::kDate);
  CHECK(f[1].format == dsl::TypeKind::kTimestamp);
  CHECK(f[2].format == dsl::TypeKind::kDuration);
  REQUIRE(f[2].shortest);
  REQUIRE(f[2].longest);
  CHECK(f[2].shortest->text == "P1D");
  CHECK(f[2].shortest->value.micros == dsl::kMicrosPerDay);
  CHECK(f[2].longest->value.months == 60);
  CHECK_FALSE(f[2].minimum);  // A duration's bounds are durations.
  CHECK(f[3].format == dsl::TypeKind::kDyn);
  REQUIRE(f[3].shortest);
  CHECK(f[3].shortest->text == "PT1H");
  CHECK(f[4].format == dsl::TypeKind::kDecimal);
  REQUIRE(f[4].maximum);
  CHECK(dsl::DecimalToString(*f[4].maximum) == "100000000");
  CHECK(m->input.type->ToString() ==
        "{Ends: string, At?: string, Length: string, Span?: duration, Price: string}");

  // Misused: an unknown format, a format on a non-string, bounds that do not fit the field.
  std::string bad = kFormats;
  bad.replace(bad.find("format: date"), 12, "format: day");
  bad.replace(bad.find("{type: string, format: timestamp}"), 33, "{type: date, format: date}");
  bad.replace(bad.find("minimum: P1D"), 12, "minimum: 1");
  bad.replace(bad.find("{type: duration, minimum: PT1H}"), 31, "{type: string, minimum: 3}");
  dsl::Source broken{"m.yaml", bad};
  dsl::Diagnostics bad_diags;
  CHECK(LoadMachine(broken, &bad_diags) == nullptr);
  std::vector<std::string> messages;
  for (const auto& d : bad_diags.items()) messages.push_back(d.message);
  CHECK(messages ==
        std::vector<std::string>{
            "format must be date, timestamp, duration or decimal, not 'day'",
            "format applies to strings; 'At' is a date, which is checked as one already",
            "minimum must be a duration such as P1D, not '1'",
            "minimum and maximum apply to numbers, decimal strings and durations; 'Span' "
            "is a string",
        });
}

TEST_CASE("load: refers_to declares an input field an entity reference", "[load]") {
  constexpr char kRefs[] = R"(machine: request
change_type: Link
entity_type: Widget@1.0
input:
  Plain: string
  Nested?:
    fields:
      Other: {type: string, refers_to: Gadget@1.0}
states:
  A: {initial: true, status: PREPARING}
  B: {final: true, status: SUCCEEDED}
transitions:
  - {from: A, to: B}
)";
  dsl::Source source{"m.yaml", kRefs};
  dsl::Diagnostics diags;
  auto m = LoadMachine(source, &diags);
  INFO(diags.ToText());
  REQUIRE(m);
  CHECK(m->input.has_references);
  CHECK(m->input.fields[0].refers_to.empty());
  REQUIRE(m->input.fields[1].fields.size() == 1);
  CHECK(m->input.fields[1].fields[0].refers_to == "Gadget@1.0");

  std::string plain = kRefs;
  plain.replace(plain.find("{type: string, refers_to: Gadget@1.0}"), 37, "string");
  dsl::Source without{"m.yaml", plain};
  auto n = LoadMachine(without, &diags);
  REQUIRE(n);
  CHECK_FALSE(n->input.has_references);

  std::string not_string = kRefs;
  not_string.replace(not_string.find("type: string, refers_to"), 12, "type: int");
  dsl::Source bad{"m.yaml", not_string};
  dsl::Diagnostics bad_diags;
  CHECK(LoadMachine(bad, &bad_diags) == nullptr);
  REQUIRE(bad_diags.error_count() == 1);
  CHECK(bad_diags.items()[0].message ==
        "refers_to applies to strings (an entity's identifier); 'Other' is a int");

  constexpr char kEntity[] =
      "machine: entity\nentity_type: W@1\ndocument:\n  P: {type: string, refers_to: W@1}\n"
      "states: {A: {initial: true}}\ntransitions: []\n";
  dsl::Source entity{"e.yaml", kEntity};
  dsl::Diagnostics entity_diags;
  CHECK(LoadMachine(entity, &entity_diags) == nullptr);
  REQUIRE(entity_diags.error_count() == 1);
  CHECK(entity_diags.items()[0].line == 4);
  CHECK(entity_diags.items()[0].message.find("refers_to applies to a request's input") == 0);
}

TEST_CASE("load: a schema limit may name a rules constant", "[load]") {
  const LimitConstants constants = ReadLimitConstants(
      {{"a.rules", "const MAX_TITLE = 12\nconst MAX_PRICE = 99.5\nconst LABEL = \"x\"\n"}});
  REQUIRE(constants.count("MAX_TITLE"));
  CHECK(constants.at("LABEL").kind == LimitConstant::Kind::kOther);
  dsl::Source source{"m.yaml", R"(machine: request
change_type: Publish
entity_type: Widget@1.0
input:
  Title: {type: string, max_length: MAX_TITLE}
  Price?: {type: decimal, maximum: MAX_PRICE}
states:
  A: {initial: true, status: PREPARING}
  B: {final: true, status: SUCCEEDED}
transitions:
  - {from: A, to: B}
)"};
  dsl::Diagnostics diags;
  auto m = LoadMachine(source, &diags, &constants);
  INFO(diags.ToText());
  REQUIRE(m);
  const FieldSpec& title = m->input.fields[0];
  CHECK(title.max_length == 12);
  REQUIRE(title.limit_refs.size() == 1);
  CHECK(title.limit_refs[0].key == "max_length");
  CHECK(title.limit_refs[0].constant == "MAX_TITLE");
  CHECK(title.limit_refs[0].at.line == 5);
  CHECK(title.limit_refs[0].at.column == 37);
  REQUIRE(m->input.fields[1].maximum);
  CHECK(dsl::DecimalToString(*m->input.fields[1].maximum) == "99.5");

  // Without the rules, the name names nothing.
  dsl::Diagnostics alone;
  CHECK(LoadMachine(source, &alone) == nullptr);
  CHECK(alone.ToText().find("5:37: error: max_length names 'MAX_TITLE', which no rules file "
                            "defines") != std::string::npos);
}

// The title's limit is written once, as MAX_TITLE: CreateProduct refuses a longer title at once,
// UpdateInformation's title_length states it in its message.
TEST_CASE("load: the shipped CreateProduct takes its title limit from MAX_TITLE", "[load]") {
  dsl::Diagnostics diags;
  auto policy = LoadPolicy({std::string(SELLERFLOW_SOURCE_DIR) + "/workflows"},
                           {std::string(SELLERFLOW_SOURCE_DIR) + "/rules"}, &diags);
  INFO(diags.ToText());
  REQUIRE_FALSE(diags.has_errors());
  const Machine* create =
      policy->FindRequestMachine("CreateProduct", "ProfessionalServicesProduct@1.0");
  REQUIRE(create);
  const FieldSpec* title = nullptr;
  for (const auto& f : create->input.fields)
    if (f.name == "ProductTitle") title = &f;
  REQUIRE(title);
  REQUIRE(title->limit_refs.size() == 1);
  CHECK(title->limit_refs[0].constant == "MAX_TITLE");
  std::vector<dsl::Source> rules;
  for (const auto* s : policy->rule_sources) rules.push_back(*s);
  const LimitConstants constants = ReadLimitConstants(rules);
  REQUIRE(constants.count("MAX_TITLE"));
  CHECK(title->max_length == constants.at("MAX_TITLE").value.coefficient);
}

// A read command shows a pinned definition without today's rules: its limit names stay unset, and
// its states, events and transitions read as LoadMachine reads them.
TEST_CASE("load: LoadMachineOutline reads a machine whose limits name constants", "[load]") {
  dsl::Source source{"m.yaml",
                     "machine: request\nchange_type: Publish\nentity_type: Widget@1.0\ninput:\n"
                     "  Title: {type: string, max_length: MAX_TITLE}\nevents:\n"
                     "  approve: [operations]\nstates:\n"
                     "  Submitted: {initial: true, status: APPLYING}\n"
                     "  Done: {final: true, status: SUCCEEDED}\n"
                     "transitions:\n  - {from: Submitted, to: Done, on: approve}\n"};
  dsl::Diagnostics alone;
  CHECK(LoadMachine(source, &alone) == nullptr);
  dsl::Diagnostics diags;
  auto m = LoadMachineOutline(source, &diags);
  INFO(diags.ToText());
  REQUIRE(m);
  CHECK_FALSE(diags.has_errors());
  CHECK_FALSE(m->input.fields[0].max_length);
  REQUIRE(m->FindEvent("approve"));
  CHECK(m->FindEvent("approve")->actors == std::vector<std::string>{"operations"});
  REQUIRE(m->transitions.size() == 1);
  CHECK(m->transitions[0].event == "approve");
}

// What the engine records of a file's path does not depend on how its folder was named.
TEST_CASE("load: a policy's recorded paths start at the folder's own name", "[load]") {
  const std::string src = SELLERFLOW_SOURCE_DIR;
  for (const std::string& rules : {src + "/rules", src + "/rules/", src + "/./rules"}) {
    dsl::Diagnostics diags;
    auto policy = LoadPolicy({src + "/workflows/"}, {rules}, &diags);
    REQUIRE_FALSE(diags.has_errors());
    const dsl::Source* file = nullptr;
    for (const auto* s : policy->rule_sources)
      if (s->name.find("product_information.rules") != std::string::npos) file = s;
    REQUIRE(file);
    CHECK(policy->RecordedPath(file->name) == "rules/product_information.rules");
    REQUIRE_FALSE(policy->machines.empty());
    CHECK(policy->RecordedPath(policy->machines[0]->source->name).rfind("workflows/", 0) == 0);
  }
  Policy none;
  CHECK(none.RecordedPath("elsewhere/x.rules") == "elsewhere/x.rules");
}

TEST_CASE("load: AllowedKeys names each kind once", "[load]") {
  std::vector<std::string> kinds;
  for (const auto& [kind, keys] : AllowedKeys()) {
    CHECK(std::find(kinds.begin(), kinds.end(), kind) == kinds.end());
    kinds.push_back(kind);
    CHECK_FALSE(keys.empty());
  }
  CHECK(kinds.size() == 15);
}

// The example's extension, loaded beside the shipped workflows, adds its field to the product's
// document after the product's own, and checks clean.
TEST_CASE("load: an extension's fields join its entity machine's document", "[load]") {
  const std::string src = SELLERFLOW_SOURCE_DIR;
  dsl::Diagnostics diags;
  auto policy = LoadPolicy({src + "/workflows", src + "/examples/product-warranty/workflows"},
                           {src + "/rules", src + "/examples/product-warranty/rules"}, &diags);
  INFO(diags.ToText());
  REQUIRE_FALSE(diags.has_errors());
  REQUIRE(policy->extensions.size() == 1);
  CHECK(policy->extensions[0]->extends == "ProfessionalServicesProduct@1.0");
  const Machine* product = policy->FindEntityMachine("ProfessionalServicesProduct@1.0");
  REQUIRE(product);
  const FieldSpec& last = product->document.fields.back();
  CHECK(last.name == "Warranty");
  CHECK(last.optional);
  CHECK(last.at.source->name.find("product_warranty.yaml") != std::string::npos);
  const dsl::Type& doc = *product->document.type;
  REQUIRE(doc.FieldIndex("Warranty") == static_cast<int>(doc.fields().size()) - 1);
  CHECK(doc.fields().back().type->ToString() == "{Months: int, Terms: string}");
  CHECK(doc.FieldIndex("ProductTitle") == 0);  // The machine's own fields keep their places.
}

TEST_CASE("load: an extension field that clashes is an error at both places", "[load]") {
  const std::string entity =
      "machine: entity\nentity_type: Widget@1.0\ndocument:\n  Name: string\nstates:\n"
      "  New: {initial: true}\n";
  const std::string ext =
      "machine: extension\nextends: Widget@1.0\ndocument:\n  Colour?: string\n  Name?: int\n";
  const std::string other =
      "machine: extension\nextends: Widget@1.0\ndocument:\n  Colour?: int\n  Size?: int\n";
  const auto dir =
      std::filesystem::temp_directory_path() / ("sellerflow-load-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "shipped");
  std::filesystem::create_directories(dir / "drop-in");
  std::ofstream(dir / "shipped" / "widget.yaml") << entity;
  std::ofstream(dir / "drop-in" / "colour.yaml") << ext;
  std::ofstream(dir / "drop-in" / "size.yaml") << other;
  dsl::Diagnostics diags;
  auto policy = LoadPolicy({(dir / "shipped").string(), (dir / "drop-in").string()}, {}, &diags);
  std::filesystem::remove_all(dir);
  const std::string text = diags.ToText();
  INFO(text);
  const std::string w = (dir / "shipped" / "widget.yaml").string();
  const std::string c = (dir / "drop-in" / "colour.yaml").string();
  const std::string z = (dir / "drop-in" / "size.yaml").string();
  CHECK(diags.error_count() == 4);
  // The machine's own field, any type: at the extension's field and at the machine's.
  CHECK(text.find(c +
                  ":5:3: error: field 'Name' of Widget@1.0's document is declared already, at " +
                  w + ":4:3; an extension adds new fields only") != std::string::npos);
  CHECK(text.find(w +
                  ":4:3: error: field 'Name' of Widget@1.0's document is declared again by "
                  "the extension at " +
                  c + ":5:3") != std::string::npos);
  // Another extension's field.
  CHECK(text.find(z +
                  ":4:3: error: field 'Colour' of Widget@1.0's document is declared already, "
                  "at " +
                  c + ":4:3") != std::string::npos);
  CHECK(text.find(c +
                  ":4:3: error: field 'Colour' of Widget@1.0's document (from an extension) "
                  "is declared again by the extension at " +
                  z + ":4:3") != std::string::npos);
  // What does not clash is added.
  const Machine* widget = policy->FindEntityMachine("Widget@1.0");
  REQUIRE(widget);
  CHECK(widget->document.type->ToString() == "{Name: string, Colour?: string, Size?: int}");
}

TEST_CASE("load: an extension adds optional fields only, with its own keys", "[load]") {
  dsl::Source source{"x.yaml",
                     "machine: extension\nextends: Widget@1.0\ndocument:\n  Weight: int\n"
                     "states: {}\n"};
  dsl::Diagnostics diags;
  WorkflowFile f = LoadWorkflowFile(source, &diags);
  CHECK_FALSE(f.machine);
  CHECK_FALSE(f.extension);
  const std::string text = diags.ToText();
  INFO(text);
  CHECK(text.find("x.yaml:4:3: error: an extension adds optional fields only: 'Weight' is "
                  "required") != std::string::npos);
  CHECK(text.find("x.yaml:5:1: error: unknown key 'states' in an extension") != std::string::npos);
}

TEST_CASE("load: overrides stand in for files, and an unsaved one joins its folder", "[load]") {
  const auto dir = std::filesystem::temp_directory_path() /
                   ("sellerflow-overrides-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir / "workflows");
  std::filesystem::create_directories(dir / "rules");
  const std::string flows = (dir / "workflows").string(), rules = (dir / "rules").string();
  std::ofstream(dir / "workflows" / "widget.yaml")
      << "machine: entity\nentity_type: Widget@1.0\ndocument:\n  Name: string\nstates:\n"
         "  New: {initial: true}\n";
  std::ofstream(dir / "rules" / "a.rules") << "const A = 1\n";
  SourceOverrides overrides;
  // On disk the file has no errors; the buffer has one.
  overrides[rules + "/a.rules"] = "const A = \n";
  // Never saved: loaded in its place in path order.
  overrides[rules + "/b.rules"] = "const B = 2\n";
  // Not in a folder, or not a rules file: left out.
  overrides[(dir / "elsewhere.rules").string()] = "const C = 3\n";
  overrides[rules + "/notes.txt"] = "hello";
  dsl::Diagnostics diags;
  auto policy = LoadPolicy({flows}, {rules}, overrides, &diags);
  dsl::Diagnostics disk_diags;
  auto disk = LoadPolicy({flows}, {rules}, &disk_diags);
  std::filesystem::remove_all(dir);
  REQUIRE(policy->rule_sources.size() == 2);
  CHECK(policy->rule_sources[0]->name == rules + "/a.rules");
  CHECK(policy->rule_sources[0]->text == "const A = \n");
  CHECK(policy->rule_sources[1]->name == rules + "/b.rules");
  CHECK(policy->machines.size() == 1);
  // Without overrides, what is on disk.
  REQUIRE(disk->rule_sources.size() == 1);
  CHECK(disk->rule_sources[0]->text == "const A = 1\n");
  CHECK_FALSE(disk_diags.has_errors());
}

}  // namespace
}  // namespace sellerflow::engine
