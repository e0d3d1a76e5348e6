// The SQLite store: one WAL database per file, every statement prepared once, errors mapped to
// StoreError.
#include "engine/store/changes_column.h"
#include "engine/store/sqlite_store.h"

#include <SQLiteCpp/SQLiteCpp.h>
#include <simdjson.h>
#include <sqlite3.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "dsl/utf8.h"
#include "engine/base/ids.h"
#include "engine/base/sha256.h"
#include "engine/store/sqlite_files.h"

namespace sellerflow::engine {
namespace {

// The schema, as ordered migration steps: step i takes user_version i to i + 1. Later versions
// append steps (never edit a shipped one), so every older file migrates forward on open.
constexpr const char* kMigrations[] = {
    // 1: every table. Columns are NOT NULL with '' for "none" so that reads need no NULL checks and
    // the digest sees one spelling of "absent".
    R"sql(
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
-- seq is the rowid: change sets are numbered in the order they arrive. An id carries its seq
-- (engine/base/ids.h), so a lookup by id goes through the rowid and the id needs no index of its own.
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
-- Idempotency: one change set per client token; most change sets carry none.
CREATE UNIQUE INDEX change_sets_token ON change_sets (token) WHERE token <> '';
-- A change's DetailsDocument is not copied here: it stays in the command that started the change set
-- (change_sets.command), the one copy of what the client sent.
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
-- seq is the rowid: rows are only appended, so it is the append order without AUTOINCREMENT's
-- extra bookkeeping.
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
-- Timers are deleted, so AUTOINCREMENT keeps a fired timer's id from being handed out again.
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
-- `at` is the store's clock once the command has run: the clock is the last row's `at`, kept with
-- the command that moved it instead of in a row rewritten by every command.
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
)sql",
    // 2: a change set's changes move into its row, as a JSON array of arrays (the columns of
    // SF_CHANGE_FIELDS, errors as a JSON string): they are always read and written with it, and a
    // table of their own cost every request another b-tree page to write.
    R"sql(
ALTER TABLE change_sets ADD COLUMN changes TEXT NOT NULL DEFAULT '[]';
UPDATE change_sets SET changes = (
  SELECT json_group_array(json_array(idx, change_type, entity_type, entity_id, change_name,
                                     machine_hash, state, status, errors, entered_at))
  FROM (SELECT * FROM changes WHERE change_set = change_sets.id ORDER BY idx));
DROP TABLE changes;
-- For people reading the file with SQL: the changes, one row each, as the table had them.
CREATE VIEW changes AS
SELECT cs.id AS change_set, c.value ->> 0 AS idx, c.value ->> 1 AS change_type,
       c.value ->> 2 AS entity_type, c.value ->> 3 AS entity_id, c.value ->> 4 AS change_name,
       c.value ->> 5 AS machine_hash, c.value ->> 6 AS state, c.value ->> 7 AS status,
       c.value ->> 8 AS errors, c.value ->> 9 AS entered_at
FROM change_sets AS cs, json_each(cs.changes) AS c;
)sql",
    // 3: a change set's history is found through the range of history seqs it keeps, not through
    // an index on history.change_set that every event row paid for.
    R"sql(
ALTER TABLE change_sets ADD COLUMN history_from INTEGER NOT NULL DEFAULT 0;
ALTER TABLE change_sets ADD COLUMN history_to INTEGER NOT NULL DEFAULT 0;
UPDATE change_sets SET
  history_from = coalesce((SELECT min(seq) FROM history WHERE change_set = change_sets.id), 0),
  history_to = coalesce((SELECT max(seq) FROM history WHERE change_set = change_sets.id), 0);
DROP INDEX history_change_set;
)sql",
    // 4: a ClientRequestToken is its actor's own: two accounts may use the same one, each for its
    // own change set (one token for everyone let one account find another's change set by it).
    R"sql(
DROP INDEX change_sets_token;
CREATE UNIQUE INDEX change_sets_token ON change_sets (actor, token) WHERE token <> '';
)sql",
    // 5: tags and resource policies (TagResource, PutResourcePolicy), by the resource's ARN. Their
    // own tables, not columns of entities and change_sets: most resources have none, and those
    // rows (and their digests) stay as they were.
    R"sql(
CREATE TABLE tags (
  resource TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (resource, key)
) WITHOUT ROWID;
CREATE TABLE resource_policies (
  resource TEXT PRIMARY KEY NOT NULL,
  policy TEXT NOT NULL
) WITHOUT ROWID;
)sql",
    // 6: indexes for the page query's filters (the console's Requests page), which read back
    // through every change set when only old ones matched. The changes' types and entities are
    // derived rows, written with their change set (InsertChangeSet, UpdateChangeSet, ImportRow;
    // here from the rows there are), never digested or copied: not triggers, whose json_each
    // of every write cost a replay a sixth of its time. A key is never removed when a change
    // set's changes move on: the page query tests the changes column itself too, so a stale key
    // costs a probe, never a wrong row. started_at's index carries status and actor so that a
    // time range filters without reading its change sets.
    R"sql(
CREATE TABLE change_types (
  change_type TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (change_type, seq)
) WITHOUT ROWID;
CREATE TABLE change_entities (
  entity_id TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (entity_id, seq)
) WITHOUT ROWID;
INSERT OR IGNORE INTO change_types (change_type, seq)
  SELECT c.value ->> 1, cs.seq FROM change_sets AS cs, json_each(cs.changes) AS c;
INSERT OR IGNORE INTO change_entities (entity_id, seq)
  SELECT c.value ->> 3, cs.seq FROM change_sets AS cs, json_each(cs.changes) AS c
  WHERE c.value ->> 3 <> '';
CREATE INDEX change_sets_started ON change_sets (started_at, status, actor);
)sql",
    // 7: timers by the change or the entity that armed them, which a change or an entity leaving
    // its state deletes (a void timer kept would fire early if it came back to that state).
    R"sql(
CREATE INDEX timers_change ON timers (change_set, change_index);
CREATE INDEX timers_entity ON timers (entity);
)sql",
    // 8: a time range's change sets are a range of seqs (started_at never decreases along seq:
    // SqliteStore::TimeRangeSeqs), so the index on started_at only cost every write a page.
    R"sql(
DROP INDEX change_sets_started;
)sql",
};
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

constexpr char kCounterPrefix[] = "counter:";

// Column lists shared by the SELECTs and the row readers below: keep them in step.
#define SF_ENTITY_COLUMNS \
  "id, type, owner, state, revision, document, locked_by, created_at, updated_at"
#define SF_CHANGE_SET_COLUMNS                                                                   \
  "id, seq, name, token, actor, body_hash, intent, status, failure_code, failure_description, " \
  "started_at, ended_at, working, command, changes, history_from, history_to"
// SF_CHANGE_SET_COLUMNS of the change set `cs` in a join, where another table has a seq too.
#define SF_CS_COLUMNS                                                                             \
  "cs.id, cs.seq, cs.name, cs.token, cs.actor, cs.body_hash, cs.intent, cs.status, "              \
  "cs.failure_code, cs.failure_description, cs.started_at, cs.ended_at, cs.working, cs.command, " \
  "cs.changes, cs.history_from, cs.history_to"
#define SF_HISTORY_COLUMNS \
  "seq, change_set, change_index, entity, event, from_state, to_state, actor, at, data"
#define SF_TIMER_COLUMNS "id, due_us, due, change_set, change_index, entity, state, transition"

// The page query (Store::ListChangeSetsPage) for the filters `q` sets, with only their
// conditions, so that the walk starts where the matching rows are: a change's entity or type (the
// key tables), else the seqs, within the time range's seqs when it has one (a page then costs its
// rows and the few its other filters pass over). Parameters: ?1 status, ?2 entity, ?3 change type,
// ?4 account, ?5 and ?6 the time range, ?7 the cursor, ?8 the limit, ?9 and ?10 the entity and the
// change type as the changes column spells them, ?11 and ?12 the time range's first seq and the
// seq past its last (TimeRangeSeqs).
std::string PageSql(const ChangeSetPageQuery& q) {
  const std::string cursor = q.newest_first ? " < ?7" : " > ?7";
  const std::string order = q.newest_first ? " DESC" : " ASC";
  std::string where;  // Conditions on cs, each after " AND ".
  if (!q.status.empty()) where += " AND cs.status = ?1";
  // The key tables may keep a key the changes no longer have: the changes column decides. Its
  // substring test fails most rows before json_each reads them.
  if (!q.entity.empty())
    where +=
        " AND instr(cs.changes, ?9) > 0 AND EXISTS (SELECT 1 FROM json_each(cs.changes) AS c"
        " WHERE json_extract(c.value, '$[3]') = ?2)";
  if (!q.change_type.empty())
    where +=
        " AND instr(cs.changes, ?10) > 0 AND EXISTS (SELECT 1 FROM json_each(cs.changes) AS c"
        " WHERE json_extract(c.value, '$[1]') = ?3)";
  if (!q.account.empty()) where += " AND substr(cs.actor, instr(cs.actor, ':') + 1) = ?4";
  if (!q.started_after.empty()) where += " AND cs.started_at > ?5";
  if (!q.started_before.empty()) where += " AND cs.started_at < ?6";
  if (!q.entity.empty() || !q.change_type.empty()) {
    // An entity has fewer change sets than a change type has: it drives when both are given.
    // CROSS JOIN keeps the key table outside, walked in seq order from the cursor.
    const bool entity = !q.entity.empty();
    std::string sql = "SELECT " SF_CS_COLUMNS " FROM ";
    sql += entity ? "change_entities AS k CROSS JOIN change_sets AS cs ON cs.seq = k.seq"
                    " WHERE k.entity_id = ?2"
                  : "change_types AS k CROSS JOIN change_sets AS cs ON cs.seq = k.seq"
                    " WHERE k.change_type = ?3";
    if (q.after_seq != 0) sql += " AND k.seq" + cursor;
    return sql + where + " ORDER BY k.seq" + order + " LIMIT ?8";
  }
  std::string sql = "SELECT " SF_CS_COLUMNS " FROM change_sets AS cs WHERE 1" + where;
  if (!q.started_after.empty() || !q.started_before.empty())
    sql += " AND cs.seq >= ?11 AND cs.seq < ?12";
  if (q.after_seq != 0) sql += " AND cs.seq" + cursor;
  return sql + " ORDER BY cs.seq" + order + " LIMIT ?8";
}

// Resets a statement and drops its bindings when a use ends, however it ends: a statement left
// mid-result would keep a read snapshot open (hiding other processes' writes and blocking
// BEGIN IMMEDIATE), and bindings (never copied) must not outlive the strings they point into.
class Use {
 public:
  explicit Use(SQLite::Statement& s) : s_(s) {}
  ~Use() {
    s_.tryReset();
    try {
      s_.clearBindings();  // sqlite3_clear_bindings cannot fail; the try only satisfies the API.
    } catch (const SQLite::Exception&) {
    }
  }
  Use(const Use&) = delete;
  Use& operator=(const Use&) = delete;

 private:
  SQLite::Statement& s_;
};

// Columns of the current row (the readers only ask for columns their SELECT has).
std::string Text(const SQLite::Statement& s, int i) {
  SQLite::Column c = s.getColumn(i);
  const auto* p = static_cast<const char*>(c.getBlob());  // Text as stored, with its length.
  return p == nullptr ? std::string() : std::string(p, static_cast<size_t>(c.getBytes()));
}
int64_t Int(const SQLite::Statement& s, int i) { return s.getColumn(i).getInt64(); }

// Waits for another process's write lock by trying again every millisecond until the busy timeout.
// SQLite's own handler backs off to 100 ms between tries; a process that commits back to back (a
// replay) holds the lock nearly all the time, and a waiter that looked only every 100 ms often
// missed every gap and gave up busy under four writers (tests/proof/concurrency_test.py).
struct BusyWait {
  int timeout_ms = 0;
  std::chrono::steady_clock::time_point since;

  static int Handler(void* self, int tries) {
    auto* w = static_cast<BusyWait*>(self);
    auto now = std::chrono::steady_clock::now();
    if (tries == 0) w->since = now;
    if (now - w->since >= std::chrono::milliseconds(w->timeout_ms)) return 0;
    std::this_thread::sleep_for(std::chrono::microseconds(500 + tries % 7 * 100));
    return 1;
  }
};

class SqliteStore : public Store {
 public:
  SqliteStore(std::string path, const StoreOptions& options);
  ~SqliteStore() override;

  void Write(const std::function<void()>& fn) override;
  void BeginBatch() override;
  void CommitBatch() override;

  std::optional<EntityRow> GetEntity(const std::string& id) override;
  void InsertEntity(const EntityRow& e) override;
  void UpdateEntity(const EntityRow& e) override;
  std::vector<EntityRow> ListEntities(const std::string& type, const std::string& state) override;

  std::optional<ChangeSetRow> GetChangeSet(const std::string& id) override;
  std::optional<ChangeSetRow> FindChangeSetByToken(const std::string& actor,
                                                   const std::string& token) override;
  void InsertChangeSet(const ChangeSetRow& cs) override;
  void UpdateChangeSet(const ChangeSetRow& cs) override;
  std::vector<ChangeSetRow> ListChangeSets(const std::string& status, const std::string& entity,
                                           const std::string& change_type) override;
  std::vector<ChangeSetRow> ListChangeSetsPage(const ChangeSetPageQuery& q) override;
  // {the first seq, one past the last} of the change sets started after `after` and before
  // `before` (both exclusive; "" leaves that side open).
  std::pair<int64_t, int64_t> TimeRangeSeqs(const std::string& after, const std::string& before);

  void AppendHistory(HistoryRow* row) override;
  std::vector<HistoryRow> History(const std::string& id) override;
  std::vector<HistoryRow> HistoryAfter(int64_t after_seq, int64_t limit) override;

  void AddTimer(TimerRow* t) override;
  void DeleteTimer(int64_t id) override;
  void DeleteChangeTimers(const std::string& change_set, int change_index) override;
  void DeleteEntityTimers(const std::string& entity) override;
  std::vector<TimerRow> DueTimers(int64_t until_us) override;
  std::vector<TimerRow> TimersOf(const std::string& change_set) override;

  void PutDefinition(const std::string& hash, const std::string& path,
                     const std::string& text) override;
  std::optional<std::string> GetDefinition(const std::string& hash) override;
  std::optional<std::string> GetDefinitionPath(const std::string& hash) override;

  void AppendCommand(CommandRow* row) override;
  std::vector<CommandRow> Commands(int64_t after_seq, int64_t limit) override;
  int64_t LastCommandSeq() override;

  std::vector<TagRow> Tags(const std::string& resource) override;
  void PutTag(const std::string& resource, const TagRow& tag) override;
  void DeleteTag(const std::string& resource, const std::string& key) override;
  std::optional<std::string> GetResourcePolicy(const std::string& resource) override;
  void PutResourcePolicy(const std::string& resource, const std::string& policy) override;
  bool DeleteResourcePolicy(const std::string& resource) override;

  int64_t NextCounter(const std::string& name) override;
  int64_t LastChangeSetSeq() override;
  void ReserveChangeSetSeq(int64_t seq) override;
  std::string Clock() override;

  std::string Digest() override { return DigestOf(false); }
  std::string OutcomeDigest() override { return DigestOf(true); }
  bool IntegrityOk() override;

  void ExportRows(const std::function<void(const CopyTable& table,
                                           const std::vector<CopyValue>& row)>& sink) override;
  void ImportRow(const CopyTable& table, const std::vector<CopyValue>& row) override;

 private:
  // Every statement, prepared once after the schema is current.
  struct Statements {
    explicit Statements(SQLite::Database& db);
    SQLite::Statement begin_immediate, begin_read, commit, rollback, savepoint, release,
        rollback_to, data_version;
    SQLite::Statement get_entity, insert_entity, update_entity, list_entities, all_entities;
    SQLite::Statement get_change_set, change_set_by_token, insert_change_set, update_change_set,
        list_change_sets, insert_change_type, insert_change_entity, derive_change_types,
        derive_change_entities, all_change_sets, started_at_from, started_before_seq;
    SQLite::Statement insert_history, history_of, all_history, history_after;
    SQLite::Statement insert_timer, delete_timer, delete_change_timers, delete_entity_timers,
        due_timers, timers_of;
    SQLite::Statement put_definition, get_definition;
    SQLite::Statement insert_command, commands_after, last_command;
    SQLite::Statement next_counter, clock, last_change_set, reserve_change_set;
    SQLite::Statement tags_of, put_tag, delete_tag, all_tags, get_policy, put_policy,
        delete_policy, all_policies;
  };

  // An SQLite failure as the error the caller can act on; `op` says what the store was doing.
  [[noreturn]] void Fail(int rc, std::string_view op, std::string_view detail) const;
  [[noreturn]] void Fail(const SQLite::Exception& e, std::string_view op) const {
    // The extended code where SQLite gave one: it tells a full -shm from other I/O errors.
    const int extended = e.getExtendedErrorCode();
    Fail((extended & 0xff) == (e.getErrorCode() & 0xff) ? extended : e.getErrorCode(), op,
         e.what());
  }
  // One step of `s`: true with a row, false when done. `op` + `subject` say what failed; they are
  // joined only then, so the hot path builds no strings.
  bool Step(SQLite::Statement& s, std::string_view op, std::string_view subject = {});
  // Runs a statement that returns no rows (or whose rows do not matter).
  void Run(SQLite::Statement& s, std::string_view op, std::string_view subject = {}) {
    Use use(s);
    while (Step(s, op, subject)) {
    }
  }
  void Open(const StoreOptions& options);
  // The file's schema version, once the file is known to be a sellerflow store of a version this
  // build can open (or an empty database); throws kNotAStore or kNewerSchema otherwise.
  int SchemaVersion();
  void Migrate();
  std::string DigestOf(bool outcomes_only);
  // A store's first write in a process (its migration, or else its first write transaction)
  // rewrites the header (schema version, identity): the WAL then holds the header with its
  // store's identity, by which CheckWalBelongs tells it from another store's WAL, at a page per
  // process. A store made before identities gets one here.
  void WriteHeader();
  bool header_pending_ = false;  // The next write transaction that changes rows rewrites it.
  bool header_now_ = false;      // The open write transaction has rewritten it.
  BusyWait busy_;
  // Runs a write outside any transaction as its own Write, so every write holds the lock taken by
  // BEGIN IMMEDIATE rather than upgrading a read lock (which fails at once instead of waiting).
  template <typename Fn>
  void Mutate(Fn&& fn) {
    if (depth_ > 0) {
      fn();
    } else {
      Write(fn);
    }
  }
  // Runs a multi-statement read in one snapshot when no transaction is open.
  template <typename Fn>
  auto Read(Fn&& fn) -> decltype(fn());
  // Undoes a failed level of Write; notes when SQLite has already dropped the whole transaction
  // (after a disk-full or I/O error), which ends a batch.
  void Unwind(bool savepoint) noexcept;
  // Binds without copying: every use resets and clears its bindings before the values go away.
  // `T` is std::string, int64_t, int, or a literal (const char*, which lives forever).
  template <typename T>
  void Bind(SQLite::Statement& s, int i, const T& v) {
    try {
      if constexpr (std::is_same_v<T, std::string> || std::is_pointer_v<std::decay_t<T>>) {
        s.bindNoCopy(i, v);
      } else {
        s.bind(i, static_cast<int64_t>(v));
      }
    } catch (const SQLite::Exception& e) {
      Fail(e, "binding a value");  // Only a value over SQLite's size limit gets here.
    }
  }
  bool InTransaction() const { return sqlite3_get_autocommit(db_->getHandle()) == 0; }

  EntityRow ReadEntity(const SQLite::Statement& s) const;
  ChangeSetRow ReadChangeSet(SQLite::Statement& s);  // Also loads its changes.
  HistoryRow ReadHistory(const SQLite::Statement& s) const;
  TimerRow ReadTimer(const SQLite::Statement& s) const;
  void BindEntity(SQLite::Statement& s, const EntityRow& e);
  void BindChangeSet(SQLite::Statement& s, const ChangeSetRow& cs);
  // Adds the keys of cs's changes to change_types and change_entities (those there stay).
  void KeepKeys(const ChangeSetRow& cs);
  static std::string EncodeChanges(const std::vector<ChangeRow>& changes);
  // Throws StoreError kCorrupt when `text` is not what EncodeChanges writes.
  std::vector<ChangeRow> DecodeChanges(const std::string& text, const std::string& change_set);
  simdjson::dom::parser json_;  // Reads the changes column.

  std::string path_;
  std::unique_ptr<SQLite::Database> db_;
  std::unique_ptr<Statements> st_;
  // ImportRow's statements by table, prepared on first use (after db_: destroyed before it).
  std::map<std::string, std::unique_ptr<SQLite::Statement>, std::less<>> import_;
  // The page queries by their text (PageSql), prepared on first use: one per set of filters.
  std::map<std::string, std::unique_ptr<SQLite::Statement>, std::less<>> pages_;
  int depth_ = 0;                   // Open Write levels, the batch counting as one.
  bool batch_ = false;              // depth_ level 1 belongs to BeginBatch.
  bool read_only_ = false;          // StoreOptions::read_only: Write and BeginBatch refuse.
  std::optional<StoreError> lost_;  // Why SQLite rolled back the open batch behind our back.

  // What every command reads before it runs (the last command and change set, the clock, whether a
  // timer is due), kept between write transactions so that a command does not query them again.
  // Valid only inside a write transaction, and only while `PRAGMA data_version` says no other
  // connection has committed since (it ignores this connection's own commits); any rollback forgets
  // it, since the rolled-back writes may have moved it.
  struct Known {
    std::optional<int64_t> last_command;
    std::optional<int64_t> last_change_set;
    std::optional<std::string> clock;
    // No timer is due before this time (a lower bound on the earliest deadline).
    std::optional<int64_t> no_timer_before;
  };
  Known known_;
  int64_t data_version_ = -1;
  // Called once the write lock is held: forgets what another connection may have changed.
  void CheckDataVersion();
  // Called before the outermost COMMIT: rewrites the header if it is pending.
  void BeforeCommit();
  int64_t changes_at_begin_ = 0;  // sqlite3_total_changes64 when the write transaction began.
};

SqliteStore::Statements::Statements(SQLite::Database& db)
    : begin_immediate(db, "BEGIN IMMEDIATE"),
      begin_read(db, "BEGIN"),
      commit(db, "COMMIT"),
      rollback(db, "ROLLBACK"),
      savepoint(db, "SAVEPOINT w"),
      release(db, "RELEASE w"),
      rollback_to(db, "ROLLBACK TO w"),
      data_version(db, "PRAGMA data_version"),
      get_entity(db, "SELECT " SF_ENTITY_COLUMNS " FROM entities WHERE id = ?1"),
      insert_entity(db, "INSERT INTO entities (" SF_ENTITY_COLUMNS
                        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
      update_entity(
          db,
          "UPDATE entities SET type = ?2, owner = ?3, state = ?4, revision = ?5, "
          "document = ?6, locked_by = ?7, created_at = ?8, updated_at = ?9 WHERE id = ?1"),
      list_entities(db, "SELECT " SF_ENTITY_COLUMNS
                        " FROM entities WHERE (?1 = '' OR type = ?1) AND (?2 = '' OR state = ?2) "
                        "ORDER BY id"),
      all_entities(db, "SELECT " SF_ENTITY_COLUMNS " FROM entities ORDER BY id"),
      get_change_set(
          db, "SELECT " SF_CHANGE_SET_COLUMNS " FROM change_sets WHERE seq = ?1 AND id = ?2"),
      // `token <> ''` lets the planner use the partial index.
      change_set_by_token(db, "SELECT " SF_CHANGE_SET_COLUMNS
                              " FROM change_sets WHERE actor = ?1 AND token = ?2 AND token <> ''"),
      insert_change_set(
          db,
          "INSERT INTO change_sets (" SF_CHANGE_SET_COLUMNS
          ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"),
      update_change_set(
          db,
          "UPDATE change_sets SET name = ?3, token = ?4, actor = ?5, "
          "body_hash = ?6, intent = ?7, status = ?8, failure_code = ?9, "
          "failure_description = ?10, started_at = ?11, ended_at = ?12, working = ?13, "
          "command = ?14, changes = ?15, history_from = ?16, history_to = ?17 "
          "WHERE seq = ?2 AND id = ?1"),
      // The change filters probe the changes primary key (change_set, idx) per change set.
      list_change_sets(db, "SELECT " SF_CHANGE_SET_COLUMNS
                           " FROM change_sets AS cs WHERE (?1 = '' OR status = ?1)"
                           " AND (?2 = '' OR EXISTS (SELECT 1 FROM json_each(cs.changes) AS c"
                           " WHERE json_extract(c.value, '$[3]') = ?2))"
                           " AND (?3 = '' OR EXISTS (SELECT 1 FROM json_each(cs.changes) AS c"
                           " WHERE json_extract(c.value, '$[1]') = ?3))"
                           " ORDER BY seq"),
      insert_change_type(db,
                         "INSERT OR IGNORE INTO change_types (change_type, seq) VALUES (?1, ?2)"),
      insert_change_entity(
          db, "INSERT OR IGNORE INTO change_entities (entity_id, seq) VALUES (?1, ?2)"),
      // An imported change set's keys, from its changes column as the migration reads them.
      derive_change_types(db,
                          "INSERT OR IGNORE INTO change_types (change_type, seq) SELECT"
                          " c.value ->> 1, cs.seq FROM change_sets AS cs, json_each(cs.changes)"
                          " AS c WHERE cs.seq = ?1"),
      derive_change_entities(
          db,
          "INSERT OR IGNORE INTO change_entities (entity_id, seq) SELECT"
          " c.value ->> 3, cs.seq FROM change_sets AS cs,"
          " json_each(cs.changes) AS c WHERE cs.seq = ?1 AND c.value ->> 3 <> ''"),
      // The digest is of state: `command` (where the body is kept) stays out, as the log does.
      all_change_sets(db,
                      "SELECT id, seq, name, token, actor, body_hash, intent, status, failure_code,"
                      " failure_description, started_at, ended_at, working, changes"
                      " FROM change_sets ORDER BY seq"),
      started_at_from(
          db, "SELECT seq, started_at FROM change_sets WHERE seq >= ?1 ORDER BY seq LIMIT 1"),
      started_before_seq(
          db, "SELECT started_at FROM change_sets WHERE seq < ?1 ORDER BY seq DESC LIMIT 1"),
      insert_history(db,
                     "INSERT INTO history (change_set, change_index, entity, event, from_state, "
                     "to_state, actor, at, data) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
      // An entity's rows through history_entity; a change set's (?2 its seq, 0 for other ids)
      // through the range of seqs its row keeps.
      history_of(db, "SELECT " SF_HISTORY_COLUMNS
                     " FROM history WHERE entity = ?1"
                     " UNION ALL SELECT " SF_HISTORY_COLUMNS
                     " FROM history WHERE seq BETWEEN"
                     " (SELECT history_from FROM change_sets WHERE seq = ?2 AND id = ?1) AND"
                     " (SELECT history_to FROM change_sets WHERE seq = ?2 AND id = ?1)"
                     " AND change_set = ?1 AND entity <> ?1 ORDER BY seq"),
      all_history(db, "SELECT " SF_HISTORY_COLUMNS " FROM history ORDER BY seq"),
      history_after(
          db, "SELECT " SF_HISTORY_COLUMNS " FROM history WHERE seq > ?1 ORDER BY seq LIMIT ?2"),
      insert_timer(db,
                   "INSERT INTO timers (due_us, due, change_set, change_index, entity, state, "
                   "transition) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
      delete_timer(db, "DELETE FROM timers WHERE id = ?1"),
      delete_change_timers(db, "DELETE FROM timers WHERE change_set = ?1 AND change_index = ?2"),
      delete_entity_timers(db, "DELETE FROM timers WHERE entity = ?1"),
      // timers_due holds (due_us, id): an index scan in the wanted order. The reader stops at the
      // first timer not yet due, whose deadline it keeps.
      due_timers(db, "SELECT " SF_TIMER_COLUMNS " FROM timers ORDER BY due_us, id"),
      timers_of(
          db, "SELECT " SF_TIMER_COLUMNS " FROM timers WHERE change_set = ?1 ORDER BY due_us, id"),
      put_definition(db,
                     "INSERT INTO definitions (hash, path, text) VALUES (?1, ?2, ?3)"
                     " ON CONFLICT (hash) DO NOTHING"),
      get_definition(db, "SELECT text, path FROM definitions WHERE hash = ?1"),
      insert_command(db, "INSERT INTO command_log (command, outcome, at) VALUES (?1, ?2, ?3)"),
      commands_after(db,
                     "SELECT seq, command, outcome, at FROM command_log WHERE seq > ?1 "
                     "ORDER BY seq LIMIT ?2"),
      last_command(db, "SELECT coalesce(max(seq), 0) FROM command_log"),
      next_counter(db,
                   "INSERT INTO meta (key, value) VALUES (?1, 1)"
                   " ON CONFLICT (key) DO UPDATE SET value = value + 1 RETURNING value"),
      clock(db, "SELECT at FROM command_log ORDER BY seq DESC LIMIT 1"),
      last_change_set(db,
                      "SELECT max(coalesce((SELECT max(seq) FROM change_sets), 0),"
                      " coalesce((SELECT value FROM meta WHERE key = 'change_set_reserved'), 0))"),
      reserve_change_set(db,
                         "INSERT INTO meta (key, value) VALUES ('change_set_reserved', ?1)"
                         " ON CONFLICT (key) DO UPDATE SET value = max(value, ?1)"),
      tags_of(db, "SELECT key, value FROM tags WHERE resource = ?1 ORDER BY key"),
      put_tag(db,
              "INSERT INTO tags (resource, key, value) VALUES (?1, ?2, ?3)"
              " ON CONFLICT (resource, key) DO UPDATE SET value = excluded.value"),
      delete_tag(db, "DELETE FROM tags WHERE resource = ?1 AND key = ?2"),
      all_tags(db, "SELECT resource, key, value FROM tags ORDER BY resource, key"),
      get_policy(db, "SELECT policy FROM resource_policies WHERE resource = ?1"),
      put_policy(db,
                 "INSERT INTO resource_policies (resource, policy) VALUES (?1, ?2)"
                 " ON CONFLICT (resource) DO UPDATE SET policy = excluded.policy"),
      delete_policy(db, "DELETE FROM resource_policies WHERE resource = ?1"),
      all_policies(db, "SELECT resource, policy FROM resource_policies ORDER BY resource") {}

void SqliteStore::Fail(int rc, std::string_view op, std::string_view detail) const {
  using Kind = StoreError::Kind;
  std::string what = std::string(op);
  std::string why = detail.empty() ? std::string() : " (" + std::string(detail) + ")";
  // SQLite reports a full disk as SQLITE_FULL where it writes pages, but as an I/O error with
  // ENOSPC in errno elsewhere: where it grows its -shm file, as every read of a WAL database may.
  const int os_error = db_ ? sqlite3_system_errno(db_->getHandle()) : 0;
  const bool shm_full = rc == SQLITE_IOERR_SHMSIZE;
  if ((rc & 0xff) == SQLITE_IOERR && (os_error == ENOSPC || os_error == EDQUOT)) rc = SQLITE_FULL;
  switch (rc & 0xff) {
    case SQLITE_BUSY:
      throw StoreError(Kind::kBusy,
                       "store " + path_ + " is busy: another process holds its write lock; retry");
    case SQLITE_FULL:
      throw StoreError(Kind::kFull,
                       "disk full writing " + path_ + " (" + what +
                           (shm_full ? ": SQLite grows " + path_ + "-shm even to read" : "") +
                           "); free space on its disk, then retry");
    case SQLITE_IOERR:
      throw StoreError(Kind::kIo, "I/O error on " + path_ + " while " + what + why);
    case SQLITE_CORRUPT:
      throw StoreError(Kind::kCorrupt, path_ + " is damaged (found while " + what + ")" + why +
                                           "; restore it from a backup or replay its command log");
    case SQLITE_NOTADB:
      throw StoreError(Kind::kNotAStore, path_ +
                                             " is not a sellerflow store (not an SQLite database); "
                                             "give another --db path");
    case SQLITE_CANTOPEN:
      throw StoreError(Kind::kIo, "cannot open " + path_ + why +
                                      "; check that its directory exists and is writable");
    case SQLITE_READONLY:
    case SQLITE_PERM:
      throw StoreError(
          Kind::kIo, "cannot write " + path_ + " while " + what + why + "; check its permissions");
    case SQLITE_CONSTRAINT:
      // A duplicate key: the caller broke the store's contract; not an infrastructure failure.
      throw std::logic_error("store " + path_ + ": " + what + " violates a constraint" + why);
    default:
      throw StoreError(Kind::kIo, "store " + path_ + " failed while " + what + why);
  }
}

bool SqliteStore::Step(SQLite::Statement& s, std::string_view op, std::string_view subject) {
  int rc = s.tryExecuteStep();
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  Fail(rc, std::string(op).append(subject), sqlite3_errmsg(db_->getHandle()));
}

SqliteStore::SqliteStore(std::string path, const StoreOptions& options)
    : path_(std::move(path)), read_only_(options.read_only) {
  Open(options);
}

SqliteStore::~SqliteStore() {
  // An unfinished batch is abandoned, not committed. Statements go before the connection.
  if (db_ && InTransaction()) db_->tryExec("ROLLBACK");
  st_.reset();
}

constexpr int kSubJournalSpillBytes = 4 << 20;

// Process-wide settings, made once before SQLite initializes (sqlite3_config refuses them later,
// harmlessly, when something else in the process has already used SQLite).
void ConfigureSqlite() {
  static const bool done = [] {
    // No memory statistics: nothing reads them, and keeping them takes a global mutex around every
    // allocation (Debian's build has no lookaside, so a request makes about 150 of them).
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    // A savepoint's sub-journal (one per command in a batch) stays in memory up to this size, in
    // one piece: with temp_store = MEMORY it was kept in 1 KiB chunks, a malloc and a free for
    // each quarter page a command changed.
    sqlite3_config(SQLITE_CONFIG_STMTJRNL_SPILL, kSubJournalSpillBytes);
    return true;
  }();
  (void)done;
}

void SqliteStore::Open(const StoreOptions& options) {
  ConfigureSqlite();
  const int busy_timeout_ms = options.busy_timeout_ms;
  if (options.in_memory) {
    try {
      db_ = std::make_unique<SQLite::Database>(":memory:", SQLite::OPEN_READWRITE |
                                                               SQLite::OPEN_CREATE |
                                                               SQLite::OPEN_NOMUTEX);
      Migrate();
      st_ = std::make_unique<Statements>(*db_);
    } catch (const SQLite::Exception& e) {
      Fail(e, "making it in memory");
    }
    return;
  }
  CheckPlainPath(path_);
  std::error_code ec;
  if (!options.create && !std::filesystem::exists(path_, ec)) {
    throw StoreError(StoreError::Kind::kNotFound,
                     "no store at " + path_ + "; give the path of an existing store with --db");
  }
  CheckWalBelongs(path_);
  int mode = SQLite::OPEN_READWRITE | SQLite::OPEN_CREATE;
  std::string vfs;  // The default.
  bool unchangeable_with_wal = false;
  if (options.read_only) {
    // A read-only connection cannot remove the -wal and -shm files it opens, so where the store
    // and its folder are writable, reads open it read-write (and Write refuses): the last
    // connection to close cleans up as usual. Read-only media get a read-only connection.
    std::filesystem::path folder = std::filesystem::path(path_).parent_path();
    if (folder.empty()) folder = ".";
    const bool writable = access(path_.c_str(), W_OK) == 0 && access(folder.c_str(), W_OK) == 0;
    mode = writable ? SQLite::OPEN_READWRITE : SQLite::OPEN_READONLY;
    // SQLite reads a WAL database through a -shm file, which read-only media cannot hold: a file
    // nothing can change is read as immutable instead, unless its WAL holds writes (which an
    // immutable database would not see).
    if (!writable && Unchangeable(path_)) {
      std::error_code wal_ec;
      const auto wal_size = std::filesystem::file_size(path_ + "-wal", wal_ec);
      if (wal_ec || wal_size == 0) {
        vfs = ImmutableVfs();
      } else {
        unchangeable_with_wal = true;
      }
    }
  }
  try {
    // Never SQLITE_OPEN_URI: the location is a file path (CheckPlainPath), not a URI.
    db_ = std::make_unique<SQLite::Database>(path_, mode | SQLite::OPEN_NOMUTEX, busy_timeout_ms,
                                             vfs);
  } catch (const SQLite::Exception& e) {
    Fail(e, "opening it");
  }
  busy_.timeout_ms = busy_timeout_ms;
  sqlite3_busy_handler(db_->getHandle(), &BusyWait::Handler, &busy_);
  std::string op = "reading its schema";
  try {
    int version = 0;
    try {
      version = SchemaVersion();
    } catch (const StoreError&) {
      // A refused file is left as it was: a WAL beside it with writes in it is not checkpointed
      // into it on close (an empty one, made by this open, is removed on close as usual).
      std::error_code wal_ec;
      const auto wal_size = std::filesystem::file_size(path_ + "-wal", wal_ec);
      if (!wal_ec && wal_size > 0)
        sqlite3_db_config(db_->getHandle(), SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, nullptr);
      throw;
    }
    if (read_only_) {
      if (version < kSchemaVersion) {
        throw StoreError(StoreError::Kind::kIo,
                         path_ + " has schema " + std::to_string(version) + ", older than " +
                             std::to_string(kSchemaVersion) +
                             "; open it once with a command that writes, to migrate it");
      }
      st_ = std::make_unique<Statements>(*db_);
      return;
    }
    op = "switching it to WAL";
    db_->execAndGet("PRAGMA journal_mode = WAL");
    db_->exec("PRAGMA synchronous = NORMAL");
    // Checkpoint the WAL every 10,000 pages, not 1,000: a request writes a dozen pages, and
    // copying them back to the database every hundred requests cost a fifth of a replay.
    db_->exec("PRAGMA wal_autocheckpoint = 10000");
    // 16 MiB of page cache instead of 2: a long batch otherwise spills dirty pages to the WAL and
    // reads them back mid-transaction (a tenth of a batched replay); the whole process stays
    // under 32 MiB.
    db_->exec("PRAGMA cache_size = -16384");
    // A savepoint copies each page it changes to a sub-journal, which SQLite moves to a temporary
    // file once it passes its spill size and then never back: with the default 64 KiB, every
    // later command of a batch wrote its pages twice to that file (a quarter of a batched
    // replay). ConfigureSqlite raises the spill size so that a command's sub-journal stays in
    // memory (temp_store = MEMORY would too, but in 1 KiB chunks, each malloc'd).
    op = "migrating its schema";
    if (version < kSchemaVersion) Migrate();
    header_pending_ = version == kSchemaVersion;
    op = "preparing statements";
    st_ = std::make_unique<Statements>(*db_);
  } catch (const SQLite::Exception& e) {
    if (InTransaction()) db_->tryExec("ROLLBACK");
    if (unchangeable_with_wal && (e.getErrorCode() & 0xff) == SQLITE_CANTOPEN) {
      throw StoreError(StoreError::Kind::kIo,
                       "cannot read " + path_ + ": it cannot be written (read-only media), and " +
                           path_ +
                           "-wal holds writes that SQLite reads only through a -shm file, "
                           "which it cannot make there; copy the store with its -wal file to "
                           "writable media, and read the copy");
    }
    Fail(e, op);
  }
}

int SqliteStore::SchemaVersion() {
  // The first read touches the header and parses the schema: a file that is not SQLite fails here
  // with NOTADB and a damaged schema with CORRUPT, before anything is written to it. One statement,
  // one snapshot: a store another process creates meanwhile is seen whole or not at all.
  SQLite::Statement read(*db_,
                         "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*)"
                         " FROM sqlite_master WHERE name NOT LIKE 'sqlite_%')");
  read.executeStep();
  const int version = read.getColumn(0).getInt();
  const int tables = read.getColumn(1).getInt();
  read.reset();
  if (version < 0) {
    // Migrations are indexed by version: a negative one would run whatever lies before them.
    throw StoreError(StoreError::Kind::kNotAStore,
                     path_ + " is not a sellerflow store, or is damaged: its schema version is " +
                         std::to_string(version) +
                         ", and sellerflow writes none below 0; give another --db path");
  }
  if (version == 0 && tables > 0) {
    throw StoreError(StoreError::Kind::kNotAStore,
                     path_ +
                         " is an SQLite database but not a sellerflow store; give another --db "
                         "path");
  }
  if (version > kSchemaVersion) {
    throw StoreError(StoreError::Kind::kNewerSchema,
                     path_ + " was written by a newer sellerflow (schema " +
                         std::to_string(version) + ", this one knows " +
                         std::to_string(kSchemaVersion) + "); upgrade sellerflow");
  }
  return version;
}

void SqliteStore::Migrate() {
  db_->exec("BEGIN IMMEDIATE");
  int version = 0;
  try {
    // Read again under the write lock: another process may have migrated meanwhile.
    version = SchemaVersion();
  } catch (const StoreError&) {
    db_->exec("ROLLBACK");
    throw;
  }
  for (int v = version; v < kSchemaVersion; ++v) db_->exec(kMigrations[v]);
  WriteHeader();
  db_->exec("COMMIT");
}

void SqliteStore::WriteHeader() {
  int identity = db_->execAndGet("PRAGMA application_id").getInt();
  if (identity == 0) identity = NewStoreIdentity();
  db_->exec("PRAGMA user_version = " + std::to_string(kSchemaVersion));
  db_->exec("PRAGMA application_id = " + std::to_string(identity));
}

void SqliteStore::CheckDataVersion() {
  int64_t version = 0;
  {
    Use use(st_->data_version);
    Step(st_->data_version, "reading the data version");
    version = Int(st_->data_version, 0);
  }
  if (version != data_version_) known_ = Known();
  data_version_ = version;
  header_now_ = false;
  changes_at_begin_ = sqlite3_total_changes64(db_->getHandle());
}

void SqliteStore::BeforeCommit() {
  // Only a transaction that changes rows: one that changes nothing leaves the file as it was.
  if (!header_pending_ || sqlite3_total_changes64(db_->getHandle()) == changes_at_begin_) return;
  try {
    WriteHeader();
  } catch (const SQLite::Exception& e) {
    Fail(e, "rewriting its header");
  }
  header_pending_ = false;
  header_now_ = true;
}

void SqliteStore::Unwind(bool savepoint) noexcept {
  known_ = Known();
  if (!savepoint || !InTransaction()) header_pending_ = header_pending_ || header_now_;
  if (!InTransaction()) {
    // SQLite already rolled everything back (disk full, I/O error): nothing left to undo here, and
    // a batch around us is gone too.
    if (batch_ && !lost_) {
      lost_ = StoreError(StoreError::Kind::kIo,
                         "store " + path_ +
                             ": the batch was rolled back by an earlier error (disk full or I/O); "
                             "none of it was committed");
    }
    return;
  }
  if (savepoint) {
    for (SQLite::Statement* s : {&st_->rollback_to, &st_->release}) {
      Use use(*s);
      s->tryExecuteStep();
    }
  } else {
    Use use(st_->rollback);
    st_->rollback.tryExecuteStep();
  }
}

void SqliteStore::Write(const std::function<void()>& fn) {
  if (lost_) throw *lost_;
  if (read_only_) {
    throw StoreError(StoreError::Kind::kIo, "store " + path_ + " was opened for reading only");
  }
  if (depth_ > 0) {
    // Nested (in a batch or another Write): a savepoint, so only this level is undone on failure.
    Run(st_->savepoint, "starting a nested write");
    ++depth_;
    try {
      fn();
    } catch (...) {
      --depth_;
      Unwind(/*savepoint=*/true);
      throw;
    }
    --depth_;
    try {
      Run(st_->release, "committing a nested write");
    } catch (...) {
      Unwind(/*savepoint=*/true);
      throw;
    }
    return;
  }
  Run(st_->begin_immediate, "starting a write");
  depth_ = 1;
  try {
    CheckDataVersion();
    fn();
    BeforeCommit();
    Run(st_->commit, "committing");
  } catch (...) {
    depth_ = 0;
    Unwind(/*savepoint=*/false);
    throw;
  }
  depth_ = 0;
}

void SqliteStore::BeginBatch() {
  if (read_only_) {
    throw StoreError(StoreError::Kind::kIo, "store " + path_ + " was opened for reading only");
  }
  if (depth_ > 0) throw std::logic_error("store " + path_ + ": BeginBatch inside a transaction");
  Run(st_->begin_immediate, "starting a batch");
  depth_ = 1;
  batch_ = true;
  lost_.reset();
  try {
    CheckDataVersion();
  } catch (...) {
    depth_ = 0;
    batch_ = false;
    Unwind(/*savepoint=*/false);
    throw;
  }
}

void SqliteStore::CommitBatch() {
  if (!batch_) throw std::logic_error("store " + path_ + ": CommitBatch without BeginBatch");
  depth_ = 0;
  batch_ = false;
  if (lost_) {
    StoreError error = std::move(*lost_);
    lost_.reset();
    throw error;
  }
  try {
    BeforeCommit();
    Run(st_->commit, "committing a batch");
  } catch (...) {
    Unwind(/*savepoint=*/false);
    throw;
  }
}

template <typename Fn>
auto SqliteStore::Read(Fn&& fn) -> decltype(fn()) {
  if (depth_ > 0) return fn();
  Run(st_->begin_read, "starting a read");
  try {
    auto result = fn();
    Run(st_->commit, "ending a read");
    return result;
  } catch (...) {
    Use use(st_->rollback);
    st_->rollback.tryExecuteStep();
    throw;
  }
}

// Rows.

EntityRow SqliteStore::ReadEntity(const SQLite::Statement& s) const {
  EntityRow e;
  e.id = Text(s, 0);
  e.type = Text(s, 1);
  e.owner = Text(s, 2);
  e.state = Text(s, 3);
  e.revision = Int(s, 4);
  e.document = Text(s, 5);
  e.locked_by = Text(s, 6);
  e.created_at = Text(s, 7);
  e.updated_at = Text(s, 8);
  return e;
}

void SqliteStore::BindEntity(SQLite::Statement& s, const EntityRow& e) {
  Bind(s, 1, e.id);
  Bind(s, 2, e.type);
  Bind(s, 3, e.owner);
  Bind(s, 4, e.state);
  Bind(s, 5, e.revision);
  Bind(s, 6, e.document);
  Bind(s, 7, e.locked_by);
  Bind(s, 8, e.created_at);
  Bind(s, 9, e.updated_at);
}

std::optional<EntityRow> SqliteStore::GetEntity(const std::string& id) {
  SQLite::Statement& s = st_->get_entity;
  Use use(s);
  Bind(s, 1, id);
  if (!Step(s, "reading entity ", id)) return std::nullopt;
  return ReadEntity(s);
}

void SqliteStore::InsertEntity(const EntityRow& e) {
  Mutate([&] {
    SQLite::Statement& s = st_->insert_entity;
    BindEntity(s, e);
    Run(s, "inserting entity ", e.id);
  });
}

void SqliteStore::UpdateEntity(const EntityRow& e) {
  Mutate([&] {
    SQLite::Statement& s = st_->update_entity;
    BindEntity(s, e);
    Run(s, "updating entity ", e.id);
    if (db_->getChanges() == 0)
      throw std::logic_error("store " + path_ + ": no entity " + e.id + " to update");
  });
}

std::vector<EntityRow> SqliteStore::ListEntities(const std::string& type,
                                                 const std::string& state) {
  SQLite::Statement& s = st_->list_entities;
  Use use(s);
  Bind(s, 1, type);
  Bind(s, 2, state);
  std::vector<EntityRow> out;
  while (Step(s, "listing entities")) out.push_back(ReadEntity(s));
  return out;
}

ChangeSetRow SqliteStore::ReadChangeSet(SQLite::Statement& s) {
  ChangeSetRow cs;
  cs.id = Text(s, 0);
  cs.seq = Int(s, 1);
  cs.name = Text(s, 2);
  cs.token = Text(s, 3);
  cs.actor = Text(s, 4);
  cs.body_hash = Text(s, 5);
  cs.intent = Text(s, 6);
  cs.status = Text(s, 7);
  cs.failure_code = Text(s, 8);
  cs.failure_description = Text(s, 9);
  cs.started_at = Text(s, 10);
  cs.ended_at = Text(s, 11);
  cs.working = Text(s, 12);
  cs.command_seq = Int(s, 13);
  cs.changes = DecodeChanges(Text(s, 14), cs.id);
  cs.history_from = Int(s, 15);
  cs.history_to = Int(s, 16);
  return cs;
}

std::string SqliteStore::EncodeChanges(const std::vector<ChangeRow>& changes) {
  return EncodeChangesColumn(changes);
}

std::vector<ChangeRow> SqliteStore::DecodeChanges(const std::string& text,
                                                  const std::string& change_set) {
  return DecodeChangesColumn(text, &json_, "store " + path_, change_set);
}

void SqliteStore::BindChangeSet(SQLite::Statement& s, const ChangeSetRow& cs) {
  Bind(s, 1, cs.id);
  Bind(s, 2, cs.seq);
  Bind(s, 3, cs.name);
  Bind(s, 4, cs.token);
  Bind(s, 5, cs.actor);
  Bind(s, 6, cs.body_hash);
  Bind(s, 7, cs.intent);
  Bind(s, 8, cs.status);
  Bind(s, 9, cs.failure_code);
  Bind(s, 10, cs.failure_description);
  Bind(s, 11, cs.started_at);
  Bind(s, 12, cs.ended_at);
  Bind(s, 13, cs.working);
  Bind(s, 14, cs.command_seq);
  Bind(s, 16, cs.history_from);
  Bind(s, 17, cs.history_to);
}

std::optional<ChangeSetRow> SqliteStore::GetChangeSet(const std::string& id) {
  return Read([&]() -> std::optional<ChangeSetRow> {
    const int64_t seq = ChangeSetSeq(id);
    if (seq == 0) return std::nullopt;  // Not an id ChangeSetId makes: no change set has it.
    SQLite::Statement& s = st_->get_change_set;
    Use use(s);
    Bind(s, 1, seq);
    Bind(s, 2, id);
    if (!Step(s, "reading change set ", id)) return std::nullopt;
    return ReadChangeSet(s);
  });
}

std::optional<ChangeSetRow> SqliteStore::FindChangeSetByToken(const std::string& actor,
                                                              const std::string& token) {
  if (token.empty()) return std::nullopt;
  return Read([&]() -> std::optional<ChangeSetRow> {
    SQLite::Statement& s = st_->change_set_by_token;
    Use use(s);
    Bind(s, 1, actor);
    Bind(s, 2, token);
    if (!Step(s, "looking up a client token")) return std::nullopt;
    return ReadChangeSet(s);
  });
}

void SqliteStore::InsertChangeSet(const ChangeSetRow& cs) {
  if (cs.id != ChangeSetId(cs.seq))
    throw std::logic_error("store " + path_ + ": change set " + cs.id + " is not ChangeSetId(" +
                           std::to_string(cs.seq) + ")");
  Mutate([&] {
    {
      // TimeRangeSeqs counts on it; the engine dates a change set by its command, whose time
      // never goes back.
      SQLite::Statement& prev = st_->started_before_seq;
      Use use(prev);
      Bind(prev, 1, cs.seq);
      if (Step(prev, "reading the previous change set's start") && Text(prev, 0) > cs.started_at)
        throw std::logic_error("store " + path_ + ": change set " + cs.id + " starts at " +
                               cs.started_at + ", before the change set before it (" +
                               Text(prev, 0) + ")");
    }
    const std::string changes = EncodeChanges(cs.changes);
    BindChangeSet(st_->insert_change_set, cs);
    Bind(st_->insert_change_set, 15, changes);
    Run(st_->insert_change_set, "inserting change set ", cs.id);
    KeepKeys(cs);
    if (cs.seq > known_.last_change_set.value_or(0)) known_.last_change_set = cs.seq;
  });
}

void SqliteStore::KeepKeys(const ChangeSetRow& cs) {
  for (size_t i = 0; i < cs.changes.size(); ++i) {
    const ChangeRow& c = cs.changes[i];
    bool type_seen = false, entity_seen = c.entity_id.empty();
    for (size_t j = 0; j < i; ++j) {
      type_seen = type_seen || cs.changes[j].change_type == c.change_type;
      entity_seen = entity_seen || cs.changes[j].entity_id == c.entity_id;
    }
    if (!type_seen) {
      Bind(st_->insert_change_type, 1, c.change_type);
      Bind(st_->insert_change_type, 2, cs.seq);
      Run(st_->insert_change_type, "indexing change set ", cs.id);
    }
    if (!entity_seen) {
      Bind(st_->insert_change_entity, 1, c.entity_id);
      Bind(st_->insert_change_entity, 2, cs.seq);
      Run(st_->insert_change_entity, "indexing change set ", cs.id);
    }
  }
}

void SqliteStore::UpdateChangeSet(const ChangeSetRow& cs) {
  Mutate([&] {
    const std::string changes = EncodeChanges(cs.changes);
    BindChangeSet(st_->update_change_set, cs);
    Bind(st_->update_change_set, 15, changes);
    Run(st_->update_change_set, "updating change set ", cs.id);
    if (db_->getChanges() == 0)
      throw std::logic_error("store " + path_ + ": no change set " + cs.id + " to update");
    KeepKeys(cs);
  });
}

std::vector<ChangeSetRow> SqliteStore::ListChangeSets(const std::string& status,
                                                      const std::string& entity,
                                                      const std::string& change_type) {
  return Read([&] {
    SQLite::Statement& s = st_->list_change_sets;
    Use use(s);
    Bind(s, 1, status);
    Bind(s, 2, entity);
    Bind(s, 3, change_type);
    std::vector<ChangeSetRow> out;
    while (Step(s, "listing change sets")) out.push_back(ReadChangeSet(s));
    return out;
  });
}

std::vector<ChangeSetRow> SqliteStore::ListChangeSetsPage(const ChangeSetPageQuery& q) {
  return Read([&] {
    const std::string sql = PageSql(q);
    auto it = pages_.find(sql);
    if (it == pages_.end()) {
      try {
        it = pages_.emplace(sql, std::make_unique<SQLite::Statement>(*db_, sql)).first;
      } catch (const SQLite::Exception& e) {
        Fail(e, "preparing a page query");
      }
    }
    SQLite::Statement& s = *it->second;
    // The range is found before `s` is bound, as TimeRangeSeqs runs statements of its own.
    const bool by_time = q.entity.empty() && q.change_type.empty() &&
                         (!q.started_after.empty() || !q.started_before.empty());
    std::pair<int64_t, int64_t> range;
    if (by_time) range = TimeRangeSeqs(q.started_after, q.started_before);
    Use use(s);
    // Only the parameters PageSql wrote: SQLite refuses one past the last it has.
    std::string entity_text, type_text;
    if (!q.status.empty()) Bind(s, 1, q.status);
    if (!q.entity.empty()) {
      dsl::AppendJsonString(q.entity, &entity_text);
      Bind(s, 2, q.entity);
      Bind(s, 9, entity_text);
    }
    if (!q.change_type.empty()) {
      dsl::AppendJsonString(q.change_type, &type_text);
      Bind(s, 3, q.change_type);
      Bind(s, 10, type_text);
    }
    if (!q.account.empty()) Bind(s, 4, q.account);
    if (!q.started_after.empty()) Bind(s, 5, q.started_after);
    if (!q.started_before.empty()) Bind(s, 6, q.started_before);
    if (q.after_seq != 0) Bind(s, 7, q.after_seq);
    Bind(s, 8, static_cast<int64_t>(q.limit));
    if (by_time) {
      Bind(s, 11, range.first);
      Bind(s, 12, range.second);
    }
    std::vector<ChangeSetRow> out;
    while (Step(s, "listing a page of change sets")) out.push_back(ReadChangeSet(s));
    return out;
  });
}

// started_at never decreases along seq (a command dated before the store's clock is refused, and
// a change set is numbered and dated by the command that starts it), so the change sets of a time
// range are a range of seqs: its edges are found by bisecting the rowid, about 17 lookups each at
// 100,000 change sets, where an index on started_at cost every write a b-tree page.
std::pair<int64_t, int64_t> SqliteStore::TimeRangeSeqs(const std::string& after,
                                                       const std::string& before) {
  SQLite::Statement& at = st_->started_at_from;
  // The first existing seq >= from, with its started_at; false past the last change set.
  auto row_from = [&](int64_t from, int64_t* seq, std::string* started) {
    Use use(at);
    Bind(at, 1, from);
    if (!Step(at, "bisecting the change sets by start time")) return false;
    *seq = Int(at, 0);
    *started = Text(at, 1);
    return true;
  };
  const int64_t past_last = LastChangeSetSeq() + 1;
  // The boundary b with `passes` false for every change set before it and true from it on. Seqs
  // may have gaps: a probe in one reads the next existing seq.
  auto boundary = [&](auto passes) {
    int64_t lo = 0, hi = past_last;
    while (lo < hi) {
      const int64_t mid = lo + (hi - lo) / 2;
      int64_t seq = 0;
      std::string started;
      if (!row_from(mid, &seq, &started) || seq >= hi || passes(started)) {
        hi = mid;
      } else {
        lo = seq + 1;
      }
    }
    return lo;
  };
  const int64_t from =
      after.empty() ? 0 : boundary([&](const std::string& t) { return t > after; });
  const int64_t to =
      before.empty() ? past_last : boundary([&](const std::string& t) { return t >= before; });
  return {from, to};
}

HistoryRow SqliteStore::ReadHistory(const SQLite::Statement& s) const {
  HistoryRow h;
  h.seq = Int(s, 0);
  h.change_set = Text(s, 1);
  h.change_index = static_cast<int>(Int(s, 2));
  h.entity = Text(s, 3);
  h.event = Text(s, 4);
  h.from_state = Text(s, 5);
  h.to_state = Text(s, 6);
  h.actor = Text(s, 7);
  h.at = Text(s, 8);
  h.data = Text(s, 9);
  return h;
}

void SqliteStore::AppendHistory(HistoryRow* row) {
  Mutate([&] {
    SQLite::Statement& s = st_->insert_history;
    Bind(s, 1, row->change_set);
    Bind(s, 2, row->change_index);
    Bind(s, 3, row->entity);
    Bind(s, 4, row->event);
    Bind(s, 5, row->from_state);
    Bind(s, 6, row->to_state);
    Bind(s, 7, row->actor);
    Bind(s, 8, row->at);
    Bind(s, 9, row->data);
    Run(s, "appending history");
    row->seq = db_->getLastInsertRowid();
  });
}

std::vector<HistoryRow> SqliteStore::History(const std::string& id) {
  SQLite::Statement& s = st_->history_of;
  Use use(s);
  Bind(s, 1, id);
  Bind(s, 2, ChangeSetSeq(id));
  std::vector<HistoryRow> out;
  while (Step(s, "reading the history of ", id)) out.push_back(ReadHistory(s));
  return out;
}

std::vector<HistoryRow> SqliteStore::HistoryAfter(int64_t after_seq, int64_t limit) {
  return Read([&] {
    SQLite::Statement& s = st_->history_after;
    Use use(s);
    Bind(s, 1, after_seq);
    Bind(s, 2, limit);
    std::vector<HistoryRow> out;
    while (Step(s, "reading the history")) out.push_back(ReadHistory(s));
    return out;
  });
}

TimerRow SqliteStore::ReadTimer(const SQLite::Statement& s) const {
  TimerRow t;
  t.id = Int(s, 0);
  t.due_us = Int(s, 1);
  t.due = Text(s, 2);
  t.change_set = Text(s, 3);
  t.change_index = static_cast<int>(Int(s, 4));
  t.entity = Text(s, 5);
  t.state = Text(s, 6);
  t.transition = static_cast<int>(Int(s, 7));
  return t;
}

void SqliteStore::AddTimer(TimerRow* t) {
  Mutate([&] {
    SQLite::Statement& s = st_->insert_timer;
    Bind(s, 1, t->due_us);
    Bind(s, 2, t->due);
    Bind(s, 3, t->change_set);
    Bind(s, 4, t->change_index);
    Bind(s, 5, t->entity);
    Bind(s, 6, t->state);
    Bind(s, 7, t->transition);
    Run(s, "adding a timer");
    t->id = db_->getLastInsertRowid();
    if (known_.no_timer_before && t->due_us < *known_.no_timer_before)
      known_.no_timer_before = t->due_us;
  });
}

void SqliteStore::DeleteTimer(int64_t id) {
  Mutate([&] {
    Bind(st_->delete_timer, 1, id);
    Run(st_->delete_timer, "deleting a timer");
  });
}

void SqliteStore::DeleteChangeTimers(const std::string& change_set, int change_index) {
  Mutate([&] {
    Bind(st_->delete_change_timers, 1, change_set);
    Bind(st_->delete_change_timers, 2, change_index);
    Run(st_->delete_change_timers, "deleting the timers of ", change_set);
  });
}

void SqliteStore::DeleteEntityTimers(const std::string& entity) {
  Mutate([&] {
    Bind(st_->delete_entity_timers, 1, entity);
    Run(st_->delete_entity_timers, "deleting the timers of ", entity);
  });
}

std::vector<TimerRow> SqliteStore::DueTimers(int64_t until_us) {
  std::vector<TimerRow> out;
  if (depth_ > 0 && known_.no_timer_before && until_us < *known_.no_timer_before) return out;
  SQLite::Statement& s = st_->due_timers;
  Use use(s);
  int64_t earliest = std::numeric_limits<int64_t>::max();
  while (Step(s, "reading due timers")) {
    TimerRow t = ReadTimer(s);
    if (out.empty()) earliest = t.due_us;
    if (t.due_us > until_us) break;
    out.push_back(std::move(t));
  }
  // Deleting a timer only moves the earliest deadline later, so this stays a lower bound.
  if (depth_ > 0) known_.no_timer_before = earliest;
  return out;
}

std::vector<TimerRow> SqliteStore::TimersOf(const std::string& change_set) {
  std::vector<TimerRow> out;
  SQLite::Statement& s = st_->timers_of;
  Use use(s);
  Bind(s, 1, change_set);
  while (Step(s, "reading the timers of ", change_set)) out.push_back(ReadTimer(s));
  return out;
}

void SqliteStore::PutDefinition(const std::string& hash, const std::string& path,
                                const std::string& text) {
  Mutate([&] {
    SQLite::Statement& s = st_->put_definition;
    Bind(s, 1, hash);
    Bind(s, 2, path);
    Bind(s, 3, text);
    Run(s, "storing definition ", path);
  });
}

std::optional<std::string> SqliteStore::GetDefinition(const std::string& hash) {
  SQLite::Statement& s = st_->get_definition;
  Use use(s);
  Bind(s, 1, hash);
  if (!Step(s, "reading definition ", hash)) return std::nullopt;
  return Text(s, 0);
}

std::optional<std::string> SqliteStore::GetDefinitionPath(const std::string& hash) {
  SQLite::Statement& s = st_->get_definition;
  Use use(s);
  Bind(s, 1, hash);
  if (!Step(s, "reading definition ", hash)) return std::nullopt;
  return Text(s, 1);
}

void SqliteStore::AppendCommand(CommandRow* row) {
  Mutate([&] {
    SQLite::Statement& s = st_->insert_command;
    Bind(s, 1, row->command);
    Bind(s, 2, row->outcome);
    Bind(s, 3, row->at);
    Run(s, "logging a command");
    row->seq = db_->getLastInsertRowid();
    known_.last_command = row->seq;
    known_.clock = row->at;
  });
}

std::vector<CommandRow> SqliteStore::Commands(int64_t after_seq, int64_t limit) {
  SQLite::Statement& s = st_->commands_after;
  Use use(s);
  Bind(s, 1, after_seq);
  Bind(s, 2, limit);  // SQLite reads a negative LIMIT as "no limit".
  std::vector<CommandRow> out;
  while (Step(s, "reading the command log")) {
    CommandRow c;
    c.seq = Int(s, 0);
    c.command = Text(s, 1);
    c.outcome = Text(s, 2);
    c.at = Text(s, 3);
    out.push_back(std::move(c));
  }
  return out;
}

int64_t SqliteStore::LastCommandSeq() {
  if (depth_ > 0 && known_.last_command) return *known_.last_command;
  SQLite::Statement& s = st_->last_command;
  Use use(s);
  Step(s, "reading the command log");
  const int64_t seq = Int(s, 0);
  if (depth_ > 0) known_.last_command = seq;
  return seq;
}

int64_t SqliteStore::NextCounter(const std::string& name) {
  int64_t value = 0;
  Mutate([&] {
    std::string key = kCounterPrefix + name;
    SQLite::Statement& s = st_->next_counter;
    Use use(s);
    Bind(s, 1, key);
    Step(s, "advancing counter ", name);
    value = Int(s, 0);
  });
  return value;
}

int64_t SqliteStore::LastChangeSetSeq() {
  if (depth_ > 0 && known_.last_change_set) return *known_.last_change_set;
  SQLite::Statement& s = st_->last_change_set;
  Use use(s);
  Step(s, "reading the change sets");
  const int64_t seq = Int(s, 0);
  if (depth_ > 0) known_.last_change_set = seq;
  return seq;
}

void SqliteStore::ReserveChangeSetSeq(int64_t seq) {
  Mutate([&] {
    SQLite::Statement& s = st_->reserve_change_set;
    Bind(s, 1, seq);
    Run(s, "reserving change set seq ", std::to_string(seq));
    if (seq > known_.last_change_set.value_or(0)) known_.last_change_set = seq;
  });
}

std::string SqliteStore::Clock() {
  if (depth_ > 0 && known_.clock) return *known_.clock;
  SQLite::Statement& s = st_->clock;
  Use use(s);
  std::string clock = Step(s, "reading the clock") ? Text(s, 0) : "";
  if (depth_ > 0) known_.clock = clock;
  return clock;
}

std::vector<TagRow> SqliteStore::Tags(const std::string& resource) {
  SQLite::Statement& s = st_->tags_of;
  Use use(s);
  Bind(s, 1, resource);
  std::vector<TagRow> out;
  while (Step(s, "reading the tags of ", resource)) out.push_back({Text(s, 0), Text(s, 1)});
  return out;
}

void SqliteStore::PutTag(const std::string& resource, const TagRow& tag) {
  Mutate([&] {
    SQLite::Statement& s = st_->put_tag;
    Bind(s, 1, resource);
    Bind(s, 2, tag.key);
    Bind(s, 3, tag.value);
    Run(s, "tagging ", resource);
  });
}

void SqliteStore::DeleteTag(const std::string& resource, const std::string& key) {
  Mutate([&] {
    SQLite::Statement& s = st_->delete_tag;
    Bind(s, 1, resource);
    Bind(s, 2, key);
    Run(s, "untagging ", resource);
  });
}

std::optional<std::string> SqliteStore::GetResourcePolicy(const std::string& resource) {
  SQLite::Statement& s = st_->get_policy;
  Use use(s);
  Bind(s, 1, resource);
  if (!Step(s, "reading the policy of ", resource)) return std::nullopt;
  return Text(s, 0);
}

void SqliteStore::PutResourcePolicy(const std::string& resource, const std::string& policy) {
  Mutate([&] {
    SQLite::Statement& s = st_->put_policy;
    Bind(s, 1, resource);
    Bind(s, 2, policy);
    Run(s, "storing the policy of ", resource);
  });
}

bool SqliteStore::DeleteResourcePolicy(const std::string& resource) {
  bool deleted = false;
  Mutate([&] {
    SQLite::Statement& s = st_->delete_policy;
    Bind(s, 1, resource);
    Run(s, "deleting the policy of ", resource);
    deleted = db_->getChanges() > 0;
  });
  return deleted;
}

// Feeds rows to SHA-256 as tagged, length-prefixed fields, so that no two different row sequences
// hash the same bytes. Only the current row's fields are held in memory.
class DigestWriter {
 public:
  // Column `replaced` (when not -1) is hashed as `replacement` instead of what the row holds.
  void Row(char tag, const SQLite::Statement& s, int replaced = -1,
           std::string_view replacement = {}) {
    int n = s.getColumnCount();
    Raw(std::string_view(&tag, 1));
    Length(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) {
      if (i == replaced) {
        Length(replacement.size());
        Raw(replacement);
        continue;
      }
      // Integers hash as their decimal text: getText converts them (before getBytes measures).
      SQLite::Column c = s.getColumn(i);
      const char* p = c.getText();
      auto size = static_cast<size_t>(c.getBytes());
      Length(size);
      Raw(std::string_view(p == nullptr ? "" : p, size));
    }
  }
  void Tag(char tag) { Raw(std::string_view(&tag, 1)); }
  std::string Finish() { return hash_.HexDigest(); }

 private:
  void Raw(std::string_view bytes) { hash_.Update(bytes); }
  void Length(uint64_t n) {
    char bytes[8];
    for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>(n >> (8 * i));
    Raw(std::string_view(bytes, 8));
  }
  Sha256 hash_;
};

std::string SqliteStore::DigestOf(bool outcomes_only) {
  return Read([&] {
    DigestWriter digest;
    // A tag of its own, so that an outcome digest never equals a full one.
    if (outcomes_only) digest.Tag('O');
    {
      Use use(st_->all_entities);
      while (Step(st_->all_entities, "digesting entities")) digest.Row('E', st_->all_entities);
    }
    {
      SQLite::Statement& cs = st_->all_change_sets;
      Use use(cs);
      constexpr int kChangesColumn = 13;  // all_change_sets: ..., working, changes.
      while (Step(cs, "digesting change sets")) {
        if (!outcomes_only) {
          digest.Row('S', cs);
          continue;
        }
        std::vector<ChangeRow> changes = DecodeChanges(Text(cs, kChangesColumn), Text(cs, 0));
        for (ChangeRow& c : changes) c.machine_hash.clear();
        digest.Row('S', cs, kChangesColumn, EncodeChanges(changes));
      }
    }
    {
      Use use(st_->all_history);
      while (Step(st_->all_history, "digesting history")) digest.Row('H', st_->all_history);
    }
    // Last, and only rows: a store without tags or policies hashes what it did before them.
    {
      Use use(st_->all_tags);
      while (Step(st_->all_tags, "digesting tags")) digest.Row('T', st_->all_tags);
    }
    {
      Use use(st_->all_policies);
      while (Step(st_->all_policies, "digesting resource policies"))
        digest.Row('P', st_->all_policies);
    }
    return digest.Finish();
  });
}

bool SqliteStore::IntegrityOk() {
  try {
    SQLite::Statement s(*db_, "PRAGMA integrity_check");
    return s.executeStep() && Text(s, 0) == "ok" && !s.executeStep();
  } catch (const SQLite::Exception& e) {
    int rc = e.getErrorCode() & 0xff;
    if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB) return false;
    Fail(e, "checking its integrity");
  }
}

// The copied tables under their SQLite names: the timer ids' high-water mark is SQLite's own.
std::string SqliteTableOf(const CopyTable& table) {
  return std::string_view(table.name) == "autoincrement" ? "sqlite_sequence" : table.name;
}

void SqliteStore::ExportRows(
    const std::function<void(const CopyTable& table, const std::vector<CopyValue>& row)>& sink) {
  Read([&] {
    for (const CopyTable& table : CopyTables()) {
      std::string sql = "SELECT ";
      for (size_t i = 0; i < table.columns.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += table.columns[i];
      }
      sql += " FROM " + SqliteTableOf(table);
      if (std::string_view(table.name) == "autoincrement") sql += " WHERE name = 'timers'";
      sql += std::string(" ORDER BY ") + table.columns[0];
      try {
        SQLite::Statement s(*db_, sql);
        std::vector<CopyValue> row(table.columns.size());
        while (Step(s, "exporting ", table.name)) {
          for (int i = 0; i < static_cast<int>(row.size()); ++i) {
            if (s.getColumn(i).getType() == SQLITE_INTEGER) {
              row[i] = Int(s, i);
            } else {
              row[i] = Text(s, i);
            }
          }
          sink(table, row);
        }
      } catch (const SQLite::Exception& e) {
        Fail(e, std::string("exporting ") + table.name);
      }
    }
    return 0;
  });
}

void SqliteStore::ImportRow(const CopyTable& table, const std::vector<CopyValue>& row) {
  if (depth_ == 0) throw std::logic_error("store " + path_ + ": ImportRow outside Write");
  if (row.size() != table.columns.size())
    throw std::logic_error("store " + path_ + ": a row of " + table.name + " of the wrong width");
  const bool sequence = std::string_view(table.name) == "autoincrement";
  auto it = import_.find(table.name);
  if (it == import_.end()) {
    std::string sql;
    if (sequence) {
      // Inserting the timers has already raised the mark to their highest id.
      sql = "INSERT INTO sqlite_sequence (name, seq) SELECT ?1, ?2 WHERE NOT EXISTS"
            " (SELECT 1 FROM sqlite_sequence WHERE name = ?1);"
            " UPDATE sqlite_sequence SET seq = max(seq, ?2) WHERE name = ?1";
    } else {
      sql = std::string("INSERT INTO ") + table.name + " (";
      std::string values;
      for (size_t i = 0; i < table.columns.size(); ++i) {
        if (i > 0) {
          sql += ", ";
          values += ", ";
        }
        sql += table.columns[i];
        values += "?" + std::to_string(i + 1);
      }
      sql += ") VALUES (" + values + ")";
    }
    try {
      if (sequence) {
        // Two statements: SQLite prepares one at a time.
        const size_t split = sql.find("; ");
        import_.emplace("autoincrement:update",
                        std::make_unique<SQLite::Statement>(*db_, sql.substr(split + 2)));
        sql.resize(split);
      }
      it = import_.emplace(table.name, std::make_unique<SQLite::Statement>(*db_, sql)).first;
    } catch (const SQLite::Exception& e) {
      Fail(e, std::string("importing into ") + table.name);
    }
  }
  std::vector<SQLite::Statement*> statements = {it->second.get()};
  if (sequence) statements.push_back(import_.find("autoincrement:update")->second.get());
  for (SQLite::Statement* s : statements) {
    try {
      for (int i = 0; i < static_cast<int>(row.size()); ++i) {
        if (const auto* n = std::get_if<int64_t>(&row[i])) {
          s->bind(i + 1, *n);
        } else {
          s->bind(i + 1, std::get<std::string>(row[i]));
        }
      }
    } catch (const SQLite::Exception& e) {
      Fail(e, std::string("importing into ") + table.name);
    }
    Run(*s, "importing into ", table.name);
  }
  if (std::string_view(table.name) == "change_sets") {
    const auto* seq = std::get_if<int64_t>(&row[0]);  // CopyTables puts seq first.
    if (seq == nullptr)
      throw std::logic_error("store " + path_ + ": a change set imported without its seq");
    for (SQLite::Statement* s : {&st_->derive_change_types, &st_->derive_change_entities}) {
      Bind(*s, 1, *seq);
      Run(*s, "indexing an imported change set");
    }
  }
}

}  // namespace

std::unique_ptr<Store> OpenSqliteStore(const std::string& path, const StoreOptions& options) {
  return std::make_unique<SqliteStore>(path, options);
}

}  // namespace sellerflow::engine
