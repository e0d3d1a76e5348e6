// The machine model: request and entity lifecycles as read from workflows/*.yaml, ready to check
// and run.
#ifndef SELLERFLOW_ENGINE_MODEL_MACHINE_H_
#define SELLERFLOW_ENGINE_MODEL_MACHINE_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dsl/decimal.h"
#include "dsl/diagnostics.h"
#include "dsl/time.h"
#include "dsl/types.h"

namespace sellerflow::engine {

// Where something was written: every part of a machine can be pointed at in a diagnostic.
struct Where {
  const dsl::Source* source = nullptr;
  uint32_t line = 0;
  uint32_t column = 0;
};

// An expression written in a workflow file, with where it stands (for diagnostics whose
// positions point into the YAML file, not at column 1 of a fragment).
struct ExprText {
  std::string text;
  Where at;
  bool empty() const { return text.empty(); }
};

// Request statuses, as DescribeChangeSet shows them.
enum class RequestStatus { kNone, kPreparing, kApplying, kSucceeded, kFailed, kCancelled };
const char* RequestStatusName(RequestStatus s);

// A schema limit written as the name of a rules constant (`max_length: MAX_TITLE`), so the
// limit and the rule that states it in its message have one source.
struct LimitRef {
  std::string key;       // "max_length", "minimum", ...
  std::string constant;  // "MAX_TITLE"
  Where at;
};

// One field of an input or document schema, with the shape constraints that make a request
// refused at once (a ValidationException) rather than failed.
struct FieldSpec {
  std::string name;
  bool optional = false;
  dsl::TypePtr type;
  std::optional<int64_t> min_length, max_length;  // Strings, in code points.
  std::optional<int64_t> min_items, max_items;    // Lists.
  std::optional<dsl::Decimal> minimum, maximum;   // Numbers and decimal strings.
  struct DurationBound {
    dsl::Duration value;
    std::string text;  // As written ("P1D"), for messages.
  };
  std::optional<DurationBound> shortest, longest;  // Durations: `minimum` and `maximum`.
  std::string pattern;                             // Strings: RE2, full match.
  // Strings: the text must be a date, timestamp, duration or decimal as the rule language reads
  // one (`format: date`, ...), so that date(x) and the like cannot fail on it; kDyn for any text.
  dsl::TypeKind format = dsl::TypeKind::kDyn;
  std::vector<std::string> one_of;  // Strings: the allowed values.
  // Strings: the identifier of an entity of this type (`refers_to: Offer@1.0`). Such a field may
  // name an entity an earlier change of the same set makes, as $ChangeName.Entity.Identifier:
  // that change runs first, and the field reads as its entity's identifier.
  std::string refers_to;
  std::unique_ptr<FieldSpec> items;  // Lists: constraints on each element.
  std::vector<FieldSpec> fields;     // Objects: their fields.
  std::vector<LimitRef> limit_refs;  // The limits above that name a constant.
  Where at;
};

struct Schema {
  std::vector<FieldSpec> fields;
  dsl::TypePtr type;  // The object type the fields make, or list<that object> when `list` is set.
  // Set when the document is a JSON array of objects (AddDimensions' DetailsDocument): the
  // list's own spec, whose `items` holds `fields`. Written in YAML as a one-item sequence.
  std::unique_ptr<FieldSpec> list;
  // Whether any field, at any depth, has `refers_to`: only then is a document searched for
  // $ChangeName references.
  bool has_references = false;
};

// A named entity another rule may read, e.g. the seller of a request: `seller: {entity_type:
// Seller@1.0, id: request.Account}`.
struct ContextEntity {
  std::string name;
  std::string entity_type;
  ExprText id;
  Where at;
  Where entity_type_at;
};

struct EventSpec {
  std::string name;
  std::vector<std::string> actors;  // operations, seller, buyer, owner, listed_buyer, ...
  std::vector<Where> actor_at;      // Where each of `actors` is written.
  Schema data;                      // What the event carries (`event.Reason`).
  Where at;
};

struct Action {
  enum class Kind { kSet, kMerge, kAppend, kRemove, kCreate, kSend, kFail };
  Kind kind = Kind::kSet;
  std::string path;  // set/merge/append/remove: "entity.Document.Dimensions", "request.Result"
  ExprText value;    // The value to set, merge, append or remove; create: the new document.
  std::string entity_type;  // create, send
  ExprText target;          // send: the identifier of the entity to send to
  std::string event;        // send
  ExprText data;            // send: what the event carries (an object or map; `event.X` there)
  std::string code;         // fail
  ExprText message;         // fail: a message template ("... {details.X} ...")
  ExprText owner;           // create
  std::string bind;         // create: the name the new entity's identifier is stored under
  Where at;
  // Where the values a diagnostic may be about are written: the path (set, merge, append,
  // remove), the event (send), the entity type (create, send) and the code (fail).
  Where path_at, event_at, entity_type_at, code_at;
};
const char* ActionKindName(Action::Kind kind);

struct Transition {
  std::string from;
  std::string to;
  std::string event;  // Empty: automatic (taken as soon as its guard holds) or a timer.
  ExprText after;     // Timer: a duration after entering `from`.
  ExprText at_time;   // Timer: a timestamp.
  std::vector<std::string> rules;  // Guard: every named rule passes (or does not apply).
  ExprText guard;                  // Guard: an inline condition.
  std::vector<Action> actions;
  Where at;
  // Where each value is written, so a diagnostic points at the one that is wrong. `from_at` is
  // the item of a `from` list this transition was made from.
  Where from_at, to_at, event_at;
  std::vector<Where> rules_at;
  bool is_timer() const { return !after.empty() || !at_time.empty(); }
  bool is_automatic() const { return event.empty() && !is_timer(); }
};

// A validation step: on entering the state, evaluate `rules`, record every violation in the
// change's ErrorDetailList, then move to `passed` or `failed`.
struct Validation {
  std::vector<std::string> rules;
  std::string passed;
  std::string failed;
  Where at;
  std::vector<Where> rules_at;
  Where passed_at, failed_at;
};

struct State {
  std::string name;
  bool initial = false;
  bool final = false;
  RequestStatus status = RequestStatus::kNone;  // Request machines only.
  std::optional<Validation> validate;
  std::string description;
  Where at;
  Where initial_at, final_at, status_at;  // Set when the key is written.
};

enum class MachineKind { kRequest, kEntity };

// The only events that reach a request machine: the review command's decisions (`review ID
// approve|reject`, a log line's Decision) and cancel-change-set's event. Entity machines get
// theirs from request machines' send actions.
const std::vector<std::string>& ReviewDecisions();
inline constexpr char kCancelEvent[] = "cancel";

// Whether a request creates the entity it changes.
enum class Creates {
  kNever,   // The entity must exist.
  kAlways,  // The change names no Identifier; a new entity is made in its machine's initial state.
  kIfMissing,  // The Identifier names the entity; it is made on first use (a seller's profile).
};

struct Machine {
  MachineKind kind = MachineKind::kRequest;
  std::string change_type;  // Request machines: the ChangeType they run.
  std::string entity_type;  // The entity type the request changes, or the entity's own type.
  std::string description;
  std::string id_prefix;  // Entity machines: identifiers look like prefix + 13 characters.
  // Entity machines: who owns a new entity, a string over `entity` (its Identifier, its Document),
  // such as "seller:" + entity.Identifier for an account's own entity; empty: whoever creates it
  // (the actor of the request, or the create action's owner).
  ExprText owner;
  std::vector<std::string>
      actors;  // Request machines: who may start the change (owner, seller, ...).
  std::vector<Where> actor_at;
  // Request machines: rules on who may send the change that need its data (the product an offer is
  // for, the buyers an offer lists). One that fails refuses the whole request as
  // AccessDeniedException with the rule's message, before any change runs.
  std::vector<std::string> access;
  Where access_at;
  std::vector<Where> access_rule_at;
  Creates creates = Creates::kNever;
  Schema input;     // Request machines: the DetailsDocument.
  Schema document;  // Entity machines: the entity's document.
  std::vector<ContextEntity> context;
  std::vector<EventSpec> events;
  std::vector<State> states;
  std::vector<Transition> transitions;
  std::string content_hash;  // SHA-256 of the file's bytes, hex.
  const dsl::Source* source = nullptr;
  Where at;
  Where change_type_at, entity_type_at;

  // "UpdateInformation on ProfessionalServicesProduct@1.0", or the entity type.
  std::string Key() const;
  const State* FindState(const std::string& name) const;
  const EventSpec* FindEvent(const std::string& name) const;
};

// A drop-in file's new fields for an entity's document (`machine: extension`, `extends: T`): the
// loader adds them, all optional, to the document of T's entity machine, so that a request type
// from another folder can store fields the shipped machine does not declare, without editing it.
struct Extension {
  std::string extends;  // The entity type whose document it extends.
  std::string description;
  Schema document;  // Its fields, before they move into the entity machine's document.
  std::string content_hash;
  const dsl::Source* source = nullptr;
  Where at, extends_at;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_MODEL_MACHINE_H_
