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
  std::vector<std::string> one_of;   // Strings: the allowed values.
  std::unique_ptr<FieldSpec> items;  // Lists: constraints on each element.
  std::vector<FieldSpec> fields;     // Objects: their fields.
  Where at;
};

struct Schema {
  std::vector<FieldSpec> fields;
  dsl::TypePtr type;  // The object type the fields make, or list<that object> when `list` is set.
  // Set when the document is a JSON array of objects (AddDimensions' DetailsDocument): the
  // list's own spec, whose `items` holds `fields`. Written in YAML as a one-item sequence.
  std::unique_ptr<FieldSpec> list;
};

// A named entity another rule may read, e.g. the seller of a request: `seller: {entity_type:
// Seller@1.0, id: request.Account}`.
struct ContextEntity {
  std::string name;
  std::string entity_type;
  ExprText id;
  Where at;
};

struct EventSpec {
  std::string name;
  std::vector<std::string> actors;  // operations, seller, buyer, owner, listed_buyer, ...
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
};

struct State {
  std::string name;
  bool initial = false;
  bool final = false;
  RequestStatus status = RequestStatus::kNone;  // Request machines only.
  std::optional<Validation> validate;
  std::string description;
  Where at;
};

enum class MachineKind { kRequest, kEntity };

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
  std::vector<std::string>
      actors;  // Request machines: who may start the change (owner, seller, ...).
  // Request machines: rules on who may send the change that need its data (the product an offer is
  // for, the buyers an offer lists). One that fails refuses the whole request as
  // AccessDeniedException with the rule's message, before any change runs.
  std::vector<std::string> access;
  Where access_at;
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

  // "UpdateInformation on ProfessionalServicesProduct@1.0", or the entity type.
  std::string Key() const;
  const State* FindState(const std::string& name) const;
  const EventSpec* FindEvent(const std::string& name) const;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_MODEL_MACHINE_H_
