// The store interface: what the engine reads and writes (entities, change sets, the append-only
// history, timers, definitions, the command log) and how it groups writes into transactions.
#ifndef SELLERFLOW_ENGINE_STORE_STORE_H_
#define SELLERFLOW_ENGINE_STORE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "engine/base/limits.h"

namespace sellerflow::engine {

// An infrastructure failure of the store. It is thrown, never returned: commands map it to an
// exit code: 75 (temporary failure: retry) for kBusy, 5 for kNotFound, 2 (usage) for
// kBadLocation, 74 (store I/O) for every other kind. A store that loses a write conflict to another
// process (SQLite's busy lock, a database server's serialization failure) reports kBusy: the
// command did nothing and may be run again as it is.
class StoreError : public std::runtime_error {
 public:
  enum class Kind {
    kBusy,         // Another process held the write lock past the busy timeout: retry.
    kIo,           // The operating system failed a read or write.
    kFull,         // The disk (or a quota) is full.
    kCorrupt,      // The file is damaged (integrity or malformed database).
    kNotAStore,    // The file is not an SQLite database.
    kNewerSchema,  // The file was written by a newer sellerflow (user_version too high).
    kNotFound,     // No store is there, and the caller asked not to create one.
    kBadLocation,  // The location is not a store's (SQLite: a URI or special name, not a file).
  };
  StoreError(Kind kind, std::string message)
      : std::runtime_error(std::move(message)), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct EntityRow {
  std::string id;
  std::string type;
  std::string owner;
  std::string state;
  int64_t revision = 1;
  std::string document =
      "{}";                // JSON text, as written by the engine (canonical: keys in schema order).
  std::string locked_by;   // Id of the open change set that holds the entity, or "".
  std::string created_at;  // RFC 3339, from the command's clock.
  std::string updated_at;
};

// One tag of a resource (a change set or an entity, named by its ARN): TagResource's Key and
// Value.
struct TagRow {
  std::string key;    // 1-128 characters, unique per resource.
  std::string value;  // 0-256 characters.
  bool operator==(const TagRow&) const = default;
};

struct ChangeRow {
  int index = 0;  // Position in the StartChangeSet body.
  std::string change_type;
  std::string entity_type;
  std::string entity_id;  // Resolved identifier ("" while a created entity has none yet).
  std::string change_name;
  std::string machine_hash;   // Content hash of the request machine it runs under.
  std::string state;          // Current state of its request machine.
  std::string status;         // PREPARING | APPLYING | SUCCEEDED | FAILED | CANCELLED
  std::string details;        // The DetailsDocument, JSON text. Not stored: the engine reads it
                              // from the change set's command.
  std::string errors = "[]";  // ErrorDetailList, JSON array of {ErrorCode, ErrorMessage}.
  std::string entered_at;     // When it entered `state` (timers count from here).
  // EntityTags as {key, value}: put on its entity when the set applies. Not stored, as details.
  std::vector<TagRow> entity_tags;
};

struct ChangeSetRow {
  std::string id;  // "cs-" + 25 characters, deterministic.
  int64_t seq = 0;
  std::string name;   // ChangeSetName
  std::string token;  // ClientRequestToken, or "".
  std::string actor;
  std::string body_hash;     // SHA-256 of the canonical body without At, for idempotency.
  std::string intent;        // APPLY | VALIDATE
  std::string status;        // PREPARING | APPLYING | SUCCEEDED | FAILED | CANCELLED
  std::string failure_code;  // CLIENT_ERROR | SERVER_FAULT | ""
  std::string failure_description;
  std::string started_at;
  std::string ended_at;  // "" until terminal.
  std::string working;   // JSON: the entities as the open change set would leave them (its effects
                         // are applied only when every change succeeds).
  int64_t command_seq = 0;  // The command_log row of the StartChangeSet that made it.
  std::vector<ChangeRow> changes;
  // The first and last history seq of its rows (0: none yet): History(id) reads this range instead
  // of an index on history.change_set. Whoever appends its history keeps them (engine Commit).
  int64_t history_from = 0;
  int64_t history_to = 0;
};

// One page of a change-set listing, read with the database's own order and limit (seq, which is
// start order) rather than the whole table: a listing page of a store with 100,000 change sets
// reads 20 rows. Empty strings filter nothing.
struct ChangeSetPageQuery {
  std::string status, entity, change_type;
  std::string account;          // Only change sets whose actor has this account (its digits).
  std::string started_after;    // RFC 3339, exclusive, compared as text (the store's fixed format).
  std::string started_before;
  bool newest_first = true;
  int64_t after_seq = 0;  // The cursor: the seq of the previous page's last row (0: the first page).
  int limit = 20;
};

struct HistoryRow {
  int64_t seq = 0;         // Assigned by the store: the append order.
  std::string change_set;  // "" for entity transitions that no change set caused (timers).
  int change_index = -1;
  std::string entity;
  std::string event;
  std::string from_state;
  std::string to_state;
  std::string actor;
  std::string at;
  std::string data = "{}";  // JSON
};

struct TimerRow {
  int64_t id = 0;          // Assigned by the store.
  int64_t due_us = 0;      // Microseconds since the epoch, UTC.
  std::string due;         // RFC 3339, for people.
  std::string change_set;  // Set for request-machine timers ...
  int change_index = -1;
  std::string entity;   // ... or for entity-machine timers.
  std::string state;    // The state the timer was set in; it is void once that state is left.
  int transition = -1;  // Index of the timed transition in its machine.
};

struct CommandRow {
  int64_t seq = 0;      // Assigned by the store.
  std::string command;  // The command as one JSON line, in the replay format.
  std::string outcome;  // JSON: what the command answered (status, ids, error).
  std::string at;       // The store's clock once the command has run (see Store::Clock).
};

// One value of a row as copy-store moves it between stores of different kinds: an integer column
// stays an integer (SQLite compares an integer and text by type, not by value).
using CopyValue = std::variant<int64_t, std::string>;

// The tables a copy moves, with their columns in the order ExportRows hands them out and
// ImportRow takes them. "autoincrement" is the high-water mark of the timer ids (SQLite's
// sqlite_sequence), so that a copy never hands out a fired timer's id again.
struct CopyTable {
  const char* name;
  std::vector<const char*> columns;
};
const std::vector<CopyTable>& CopyTables();

// Whether `location` names a PostgreSQL database (a libpq URI: postgresql:// or postgres://)
// rather than an SQLite file.
bool IsPostgresLocation(const std::string& location);

// How to open a store.
struct StoreOptions {
  // false: a store that does not exist is StoreError::kNotFound instead of being created (a
  // command that only reads must not leave an empty store behind a mistyped path).
  bool create = true;
  // Opens for reading only: nothing is written, not even a migration or a journal mode, so a
  // store on read-only media can be read and exported. Write() throws StoreError::kIo.
  bool read_only = false;
  // How long a write waits for another process's lock before kBusy.
  int busy_timeout_ms = kBusyTimeoutMs;
  // The store lives in memory, private to its object, and is gone when that is destroyed: for
  // policy tests, which want a fresh store per scenario and nothing left behind. The location is
  // then only a name for messages.
  bool in_memory = false;
};

// The engine's persistent state behind one interface, so that the engine never names a database.
// The first implementation is one SQLite file (sqlite_store.h); the interface is shaped for a
// database server shared by several processes too, and for a long-running server with one writer
// that commits many requests together.
//
// Transactions: every write happens inside Write(fn), one transaction per command; the engine
// runs a command's reads and writes inside it, so what it read is still true when it commits (an
// implementation holds the rows it reads under the write lock, or the database's serializable
// isolation, and reports kBusy when it cannot). Inside a batch (BeginBatch ... CommitBatch), each
// Write is a savepoint instead: a failed command undoes only itself, and nothing of the batch is
// durable until CommitBatch returns. That is group commit: a server's writer begins a batch, runs
// each waiting request in its own Write, commits once, and only then answers them all; if
// CommitBatch throws, none of them happened.
//
// Not thread-safe: one Store per thread or process. Several processes may open one store: writes
// take its lock (or a database transaction) and wait up to the busy timeout. Every method may
// throw StoreError; reads outside Write see the last committed state.
class Store {
 public:
  // Opens the store at `location` (a postgresql:// or postgres:// URI: PostgreSQL, pg_store.h;
  // anything else is a file path: SQLite) and migrates it forward to the current
  // schema. The caller owns the store. Throws StoreError: kBadLocation (SQLite: "", ":memory:" or
  // a "file:" URI), kNotFound (options.create is false and nothing is there), kNotAStore,
  // kCorrupt, kNewerSchema (the message names the location and what to do), kIo.
  static std::unique_ptr<Store> Open(const std::string& location, const StoreOptions& options);
  static std::unique_ptr<Store> Open(const std::string& location,
                                     int busy_timeout_ms = kBusyTimeoutMs) {
    StoreOptions options;
    options.busy_timeout_ms = busy_timeout_ms;
    return Open(location, options);
  }
  virtual ~Store() = default;

  // Runs `fn` in one write transaction. If `fn` throws, everything it wrote is rolled back and
  // the exception propagates. Inside a batch, or another Write, it is a savepoint.
  virtual void Write(const std::function<void()>& fn) = 0;
  // Starts and ends one transaction around many Write calls (`replay --commit batch`, a server's
  // group commit). CommitBatch throwing means none of the batch was committed.
  virtual void BeginBatch() = 0;
  virtual void CommitBatch() = 0;

  // Entities.
  virtual std::optional<EntityRow> GetEntity(const std::string& id) = 0;
  virtual void InsertEntity(const EntityRow& e) = 0;
  virtual void UpdateEntity(const EntityRow& e) = 0;  // By id: every column.
  // Filters are ignored when empty; ordered by id.
  virtual std::vector<EntityRow> ListEntities(const std::string& type,
                                              const std::string& state) = 0;

  // Change sets (with their changes).
  virtual std::optional<ChangeSetRow> GetChangeSet(const std::string& id) = 0;
  // The change set `actor` started with ClientRequestToken `token`: tokens are the actor's own, so
  // another account's token neither answers with its change set nor conflicts with it.
  virtual std::optional<ChangeSetRow> FindChangeSetByToken(const std::string& actor,
                                                           const std::string& token) = 0;
  // With its changes. A change set starts no earlier than the one before it in seq order (the
  // SQLite store finds a time range by it and throws std::logic_error for one that does).
  virtual void InsertChangeSet(const ChangeSetRow& cs) = 0;
  virtual void UpdateChangeSet(const ChangeSetRow& cs) = 0;  // Every column, and its changes.
  // Filters ignored when empty; `entity` matches any change's entity_id; ordered by seq.
  virtual std::vector<ChangeSetRow> ListChangeSets(const std::string& status,
                                                   const std::string& entity,
                                                   const std::string& change_type) = 0;
  // Up to `q.limit` change sets past the cursor, in seq order (newest first when asked).
  virtual std::vector<ChangeSetRow> ListChangeSetsPage(const ChangeSetPageQuery& q) = 0;

  // History: append-only.
  virtual void AppendHistory(HistoryRow* row) = 0;  // Sets row->seq.
  // The events of a change set, or of an entity (either id), in order.
  virtual std::vector<HistoryRow> History(const std::string& id) = 0;
  // Up to `limit` rows of the whole history after seq `after_seq`, in order: a reader that keeps
  // a tally reads only what was appended since it last looked.
  virtual std::vector<HistoryRow> HistoryAfter(int64_t after_seq, int64_t limit) = 0;

  // Timers.
  virtual void AddTimer(TimerRow* t) = 0;  // Sets t->id.
  virtual void DeleteTimer(int64_t id) = 0;
  // Deletes the timers armed for change `change_index` of change set `change_set`, or for entity
  // `entity`: what it waited for in a state it has left is void, and a timer kept would fire early
  // if it came back to that state.
  virtual void DeleteChangeTimers(const std::string& change_set, int change_index) = 0;
  virtual void DeleteEntityTimers(const std::string& entity) = 0;
  // Timers due at or before `until_us`, earliest first (ties by id). Inside Write, the timers
  // returned are the caller's to fire and delete: a store shared by several processes hands each
  // due timer to one of them.
  virtual std::vector<TimerRow> DueTimers(int64_t until_us) = 0;
  // The timers armed for change set `id`, earliest first (ties by id): what it waits for. A read
  // for people, not for firing (it hands out nothing).
  virtual std::vector<TimerRow> TimersOf(const std::string& change_set) = 0;

  // Definitions by content hash (workflow and rules files), kept so that a change set keeps the
  // definitions it started under. Inserting a hash that exists is a no-op.
  virtual void PutDefinition(const std::string& hash, const std::string& path,
                             const std::string& text) = 0;
  virtual std::optional<std::string> GetDefinition(const std::string& hash) = 0;
  // The path the definition was first stored from (for messages about it).
  virtual std::optional<std::string> GetDefinitionPath(const std::string& hash) = 0;

  // The command log: every command received, with its outcome, in order.
  virtual void AppendCommand(CommandRow* row) = 0;  // Sets row->seq.
  virtual std::vector<CommandRow> Commands(int64_t after_seq, int64_t limit) = 0;
  virtual int64_t LastCommandSeq() = 0;

  // Tags and resource policies, keyed by the resource's ARN (describe.h's ChangeSetArn and
  // EntityArn), which the store does not check: the engine only writes them for resources it has
  // found. Writes go inside Write like every other; failures throw StoreError.
  // The tags of `resource`, ordered by key (bytes), so that every listing and digest is the same.
  virtual std::vector<TagRow> Tags(const std::string& resource) = 0;
  // Adds the tag, or replaces the value of the tag with its key.
  virtual void PutTag(const std::string& resource, const TagRow& tag) = 0;
  // Removes the tag with `key`; no tag with it is not an error (UntagResource is idempotent).
  virtual void DeleteTag(const std::string& resource, const std::string& key) = 0;
  // The policy of `resource` (a JSON object's text, as given), or nullopt when it has none.
  virtual std::optional<std::string> GetResourcePolicy(const std::string& resource) = 0;
  // Sets the policy, replacing any before it.
  virtual void PutResourcePolicy(const std::string& resource, const std::string& policy) = 0;
  // Removes the policy; false when there was none.
  virtual bool DeleteResourcePolicy(const std::string& resource) = 0;

  // Named counters (for deterministic identifiers): returns the next value, starting at 1.
  virtual int64_t NextCounter(const std::string& name) = 0;
  // The highest change set seq handed out, or 0: the next change set is numbered one more. It
  // counts the seqs passed to ReserveChangeSetSeq as well as the stored change sets.
  virtual int64_t LastChangeSetSeq() = 0;
  // Keeps `seq` from being handed out again although no change set with it is stored (an
  // `Intent: VALIDATE` run, rolled back, whose id its caller has seen).
  virtual void ReserveChangeSetSeq(int64_t seq) = 0;
  // The engine's clock: the `at` of the last logged command (CommandRow::at), or "" in a store
  // that has none. Commands log the clock they leave, so time never moves backwards.
  virtual std::string Clock() = 0;

  // SHA-256 over every entity, change set (with changes) and history row, then every tag and
  // resource policy, in a fixed order: two stores that went through the same commands have the
  // same digest. Tags and policies add bytes only when there are some, so a store without any has
  // the digest it had before they existed.
  virtual std::string Digest() = 0;
  // The same, without the definitions each change ran under (its request machine's content hash):
  // the results alone, so that two policies that differ only in their text (a comment, a
  // reordered key) and decide alike give the same outcome digest. States are results: a policy
  // that renames one gives another digest.
  virtual std::string OutcomeDigest() = 0;
  // Whether the store's own consistency check passes (SQLite: PRAGMA integrity_check is "ok").
  virtual bool IntegrityOk() = 0;

  // Every row of every table of CopyTables(), table by table in that order, each in its key's
  // order, in one snapshot (copy-store).
  virtual void ExportRows(
      const std::function<void(const CopyTable& table, const std::vector<CopyValue>& row)>&
          sink) = 0;
  // Inserts one row as ExportRows handed it out, keys and ids as they are; inside Write.
  virtual void ImportRow(const CopyTable& table, const std::vector<CopyValue>& row) = 0;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_STORE_H_
