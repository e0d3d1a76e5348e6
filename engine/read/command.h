// Commands as the engine receives them: StartChangeSet bodies and the other operations, read from
// JSON.
#ifndef SELLERFLOW_ENGINE_READ_COMMAND_H_
#define SELLERFLOW_ENGINE_READ_COMMAND_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model/machine.h"

namespace sellerflow::engine {

// One problem with a command's shape, at a field path such as
// "ChangeSet[0].DetailsDocument.ProductTitle" (the path is "" for the body as a whole).
struct Violation {
  std::string path;
  std::string message;  // "has 80 characters; at most 72 are allowed"
};

// A tag as ChangeSetTags, EntityTags and TagResource give it: Key 1-128 characters, Value 0-256.
struct Tag {
  std::string key;
  std::string value;
  bool operator==(const Tag&) const = default;
};

struct ChangeRequest {
  std::string change_type;
  std::string entity_type;
  std::string entity_id;  // "" when omitted (a create), the identifier without "@revision".
  std::optional<int64_t> revision;  // From "Identifier@Revision".
  std::string reference;            // For "$Name.Entity.Identifier": the ChangeName it refers to.
  std::string change_name;
  std::string details;  // The DetailsDocument as JSON text; the legacy Details string's
                        // content when that was given instead. "{}" when neither.
  std::vector<Tag> entity_tags;  // EntityTags: put on the change's entity once the set applies.
};

// What a command answered, as `log export` writes it beside the command ("Outcome") and a replay
// compares it: the result ("Ok", "Refused", "Conflict", "NotFound", "AccessDenied"), the
// exception's type when refused, and the change set's id and status when it concerned one. The
// message is for people and left out, so rewording one is not a different outcome.
struct RecordedOutcome {
  std::string result;
  std::string error;
  std::string change_set_id;
  std::string status;
  int64_t timers_deferred = 0;
  bool operator==(const RecordedOutcome&) const = default;
  // {"Result":..,"Error":..,"ChangeSetId":..,"Status":..,"TimersDeferred":N}, without empty ones.
  std::string ToJson() const;
};

// Reads an outcome object in the shape ToJson writes. With `log_spelling`, it is the command log's
// own outcome column instead, which spells results as its log lines do ("ok", "not found", ...)
// and also holds a "Message" (for people: ignored); they are read into ToJson's names. Appends a
// violation per problem with paths under `path`; false if any.
bool ParseOutcome(std::string_view json, const std::string& path, RecordedOutcome* out,
                  std::vector<Violation>* violations, bool log_spelling = false);

// `json` in canonical form (keys sorted, no whitespace, strings escaped minimally), so that two
// texts of one JSON value compare equal; false when it is not one well-formed JSON value.
bool CanonicalJson(std::string_view json, std::string* out);

enum class Op {
  kStartChangeSet,
  kReview,
  kCancelChangeSet,
  kTick,
  kImport,
  kTagResource,
  kUntagResource,
  kPutResourcePolicy,
  kDeleteResourcePolicy,
  // Moves the open change sets that can to the engine's request machines (upgrade.h): operations
  // only.
  kUpgrade,
};
// "start-change-set", "review", "cancel-change-set", "tick", "import", "tag-resource",
// "untag-resource", "put-resource-policy", "delete-resource-policy", "upgrade"
const char* OpName(Op op);

struct Command {
  Op op = Op::kStartChangeSet;
  std::string actor;  // "seller:111122223333", "buyer:...", "operations"; "" when not given.
  std::string at;     // RFC 3339 as given ("" when not given), and in microseconds:
  int64_t at_us = 0;

  // start-change-set
  std::string catalog;
  std::string change_set_name;
  std::string client_request_token;
  std::string intent = "APPLY";
  std::vector<ChangeRequest> changes;
  std::vector<Tag> tags;  // ChangeSetTags (start-change-set), Tags (tag-resource).
  // SHA-256 of the body without Actor and At (keys sorted, whitespace dropped): a retry with the
  // same token and the same body is the same request.
  std::string body_hash;

  // review, cancel-change-set
  std::string change_set_id;
  std::string decision;  // review: "approve" | "reject"
  std::string reason;    // review: the reason of a rejection

  // tick: `at` is the time to advance to ("To" in JSON).

  // import (Actor and At optional: a line without At runs at the store's clock)
  std::string entity_type, entity_id, state, owner;
  std::string document;  // JSON text

  // tag-resource, untag-resource, put-resource-policy, delete-resource-policy: the resource as
  // its ARN (a change set's or an entity's, describe.h).
  std::string resource_arn;
  std::vector<std::string> tag_keys;  // untag-resource: TagKeys.
  std::string policy;                 // put-resource-policy: a JSON object's text, as given.

  // A replay line's "Outcome": what the command answered when the log recorded it. It is not part
  // of the command (ToJsonLine leaves it out), and only a line with "op" may carry it.
  std::optional<RecordedOutcome> outcome;

  // The command as one JSON line in the replay format (what `log export` writes): `op` first, then
  // the fields above that were given, in a fixed order.
  std::string ToJsonLine() const;
};

// Reads one command from JSON: a replay line ({"op": ..., ...}) or, with `default_op`, a bare
// StartChangeSet body (the `start-change-set --change-set FILE` input, where "op" is absent).
// Checks the envelope as the Catalog API does (marketplace-spec.md §1.1): Catalog `^[a-zA-Z]+$`,
// 1–20 changes, ChangeType `^[A-Z]\w*$`, Entity.Type 1–255, Entity.Identifier `^[\w\-@]+$` or
// `$Name.Entity.Identifier` naming another change's ChangeName, Details XOR DetailsDocument
// (Details a JSON string 2–16384 chars holding an object), ChangeName 1–72 and unique in the set,
// no change type twice on one entity (followed through references; each create is its own entity),
// ChangeSetName 1–100 `^[\w\s+=.:@-]+$`, ClientRequestToken 1–64 `^[!-~]+$`, Intent APPLY|VALIDATE,
// At RFC 3339, Actor seller:<12 digits> | buyer:<12 digits> | operations, ChangeSetTags and
// EntityTags (and tag-resource's Tags) 1–200 tags of Key 1–128 and Value 0–256 characters with
// no key twice, TagKeys 1–200 keys of 1–128, ResourceArn 1–2048, Policy a JSON object's text of
// 1–10240 characters. Unknown top-level keys
// are violations too. Every violation is appended (not just the first); returns false when there
// was any, or when the text is not a JSON object (a violation at path "" says where it broke).
bool ParseCommand(std::string_view json, std::optional<Op> default_op, Command* out,
                  std::vector<Violation>* violations);

// Reads a StartChangeSet body as a client sends it (`start-change-set --change-set`): the envelope
// only, as ParseCommand reads it, with `op`, `Actor` and `At` refused as the fields of no
// StartChangeSet (the caller supplies the actor and the time). out->op is always kStartChangeSet.
bool ParseStartChangeSetBody(std::string_view json, Command* out,
                             std::vector<Violation>* violations);

// A $ChangeName.Entity.Identifier written in a DetailsDocument field that the input declares
// `refers_to`: where it stands, so that the engine can put the identifier in its place.
struct DetailsReference {
  std::string path;           // "ChangeSet[3].DetailsDocument.ProductId"
  std::string change_name;    // "CreateProductChange"
  std::string entity_type;    // What the field refers to (its refers_to).
  size_t begin = 0, end = 0;  // The JSON string token, quotes included, in the details' text.
};

// Checks a DetailsDocument (JSON text) against a request machine's input schema: the JSON kinds of
// the declared types, required fields, unknown fields, and every FieldSpec constraint (lengths in
// code points, item counts, patterns as RE2 full matches, one_of, minimum/maximum, nested items
// and fields). Appends one Violation per problem with paths under `path`
// ("ChangeSet[0].DetailsDocument"). A `refers_to` field written as $ChangeName.Entity.Identifier
// is not held to the field's string constraints (the identifier it stands for is); it is appended
// to `references`, when given, in document order.
void ValidateShape(std::string_view details, const Schema& schema, const std::string& path,
                   std::vector<Violation>* violations,
                   std::vector<DetailsReference>* references = nullptr);

// Whether `text` is $Name.Entity.Identifier, and the Name.
bool ReferenceName(std::string_view text, std::string* name);

// `details` with each reference's token replaced by the JSON string of identifiers[i] (references
// in document order, as ValidateShape finds them).
std::string ReplaceReferences(std::string_view details,
                              const std::vector<DetailsReference>& references,
                              const std::vector<std::string>& identifiers);

struct Policy;
// The message for a change type that no request machine of `policy` runs on `entity_type`: the
// change types that type has, the nearest one suggested (or the entity types, when it has none).
std::string UnknownChangeType(const Policy& policy, const std::string& change_type,
                              const std::string& entity_type);

// Whether `actor` is seller:<12 digits>, buyer:<12 digits> or operations (the CLI checks --actor
// with it, as ParseCommand checks Actor).
bool ValidActor(std::string_view actor);

// "2026-01-01T00:00:00Z" -> microseconds; false when not RFC 3339.
bool ParseAt(std::string_view at, int64_t* us);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_READ_COMMAND_H_
