// The PostgreSQL store over libpq: the SQLite store's rows and digest on a database server, every
// statement prepared once per connection, errors mapped to StoreError.
#include "engine/store/changes_column.h"
#include "engine/store/pg_store.h"

#include <algorithm>
#include <libpq-fe.h>
#include <simdjson.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <initializer_list>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "dsl/utf8.h"
#include "engine/base/ids.h"
#include "engine/base/sha256.h"

namespace sellerflow::engine {
namespace {

// The schema, as ordered migration steps: step i takes the database from version i to i + 1, and
// schema_migrations keeps a row per step applied. Later versions append steps (never edit a
// shipped one). Step 1 is the layout SQLite reaches at its schema 4, so that the two hold the same
// rows: text as TEXT (changes too, not jsonb, which would respell it and change the digest),
// integers as BIGINT, '' for "none". Keys that are listed in their order sort as bytes (COLLATE
// "C"), as SQLite sorts them, whatever the database's locale.
constexpr const char* kMigrations[] = {
    R"sql(
CREATE TABLE entities (
  id TEXT COLLATE "C" PRIMARY KEY,
  type TEXT NOT NULL,
  owner TEXT NOT NULL,
  state TEXT NOT NULL,
  revision BIGINT NOT NULL,
  document TEXT NOT NULL,
  locked_by TEXT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE TABLE change_sets (
  seq BIGINT PRIMARY KEY,
  id TEXT COLLATE "C" NOT NULL,
  command BIGINT NOT NULL,
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
  working TEXT NOT NULL,
  changes TEXT NOT NULL,
  history_from BIGINT NOT NULL,
  history_to BIGINT NOT NULL
);
CREATE UNIQUE INDEX change_sets_token ON change_sets (actor, token) WHERE token <> '';
CREATE TABLE history (
  seq BIGINT PRIMARY KEY,
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
CREATE INDEX history_entity ON history (entity);
CREATE TABLE timers (
  id BIGINT PRIMARY KEY,
  due_us BIGINT NOT NULL,
  due TEXT NOT NULL,
  change_set TEXT NOT NULL,
  change_index INTEGER NOT NULL,
  entity TEXT NOT NULL,
  state TEXT NOT NULL,
  transition INTEGER NOT NULL
);
CREATE INDEX timers_due ON timers (due_us, id);
-- SQLite's AUTOINCREMENT: the highest timer id ever handed out, so that a fired (deleted) timer's
-- id is never handed out again. Not a sequence: a sequence keeps the ids a rolled-back command
-- took, and SQLite does not.
CREATE TABLE autoincrement (
  name TEXT COLLATE "C" PRIMARY KEY,
  seq BIGINT NOT NULL
);
CREATE TABLE definitions (
  hash TEXT COLLATE "C" PRIMARY KEY,
  path TEXT NOT NULL,
  text TEXT NOT NULL
);
CREATE TABLE command_log (
  seq BIGINT PRIMARY KEY,
  command TEXT NOT NULL,
  outcome TEXT NOT NULL,
  at TEXT NOT NULL
);
CREATE TABLE meta (
  key TEXT COLLATE "C" PRIMARY KEY,
  value BIGINT NOT NULL
);
-- For people reading the database with SQL: the changes, one row each.
CREATE VIEW changes AS
SELECT cs.id AS change_set, c.value ->> 0 AS idx, c.value ->> 1 AS change_type,
       c.value ->> 2 AS entity_type, c.value ->> 3 AS entity_id, c.value ->> 4 AS change_name,
       c.value ->> 5 AS machine_hash, c.value ->> 6 AS state, c.value ->> 7 AS status,
       c.value ->> 8 AS errors, c.value ->> 9 AS entered_at
FROM change_sets AS cs, jsonb_array_elements(cs.changes::jsonb) AS c(value);
)sql",
    // 2: as SQLite's schema 5.
    R"sql(
CREATE TABLE tags (
  resource TEXT COLLATE "C" NOT NULL,
  key TEXT COLLATE "C" NOT NULL,
  value TEXT NOT NULL,
  PRIMARY KEY (resource, key)
);
CREATE TABLE resource_policies (
  resource TEXT COLLATE "C" PRIMARY KEY,
  policy TEXT NOT NULL
);
)sql",
    // 3: as SQLite's schema 6: the page query's indexes, the changes' keys kept by a trigger
    // (never digested or copied; a stale key costs a probe, since the query tests the changes
    // too). started_at is compared as bytes, as SQLite and the cursor's RFC 3339 text need.
    R"sql(
CREATE TABLE change_types (
  change_type TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (change_type, seq)
);
CREATE TABLE change_entities (
  entity_id TEXT COLLATE "C" NOT NULL,
  seq BIGINT NOT NULL,
  PRIMARY KEY (entity_id, seq)
);
CREATE FUNCTION change_sets_keys() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO change_types (change_type, seq)
    SELECT DISTINCT c.value ->> 1, NEW.seq FROM jsonb_array_elements(NEW.changes::jsonb) AS c(value)
    ON CONFLICT DO NOTHING;
  INSERT INTO change_entities (entity_id, seq)
    SELECT DISTINCT c.value ->> 3, NEW.seq FROM jsonb_array_elements(NEW.changes::jsonb) AS c(value)
    WHERE c.value ->> 3 <> '' ON CONFLICT DO NOTHING;
  RETURN NULL;
END
$$;
CREATE TRIGGER change_sets_keys AFTER INSERT OR UPDATE OF changes ON change_sets
  FOR EACH ROW EXECUTE FUNCTION change_sets_keys();
INSERT INTO change_types (change_type, seq)
  SELECT DISTINCT c.value ->> 1, cs.seq
  FROM change_sets AS cs, jsonb_array_elements(cs.changes::jsonb) AS c(value)
  ON CONFLICT DO NOTHING;
INSERT INTO change_entities (entity_id, seq)
  SELECT DISTINCT c.value ->> 3, cs.seq
  FROM change_sets AS cs, jsonb_array_elements(cs.changes::jsonb) AS c(value)
  WHERE c.value ->> 3 <> '' ON CONFLICT DO NOTHING;
CREATE INDEX change_sets_started ON change_sets ((started_at COLLATE "C"), status, actor);
)sql",
    R"sql(
CREATE INDEX timers_change ON timers (change_set, change_index);
CREATE INDEX timers_entity ON timers (entity);
)sql",
};
constexpr const char* kMigrationNames[] = {
    "every table, as SQLite's schema 4 has them",
    "tags and resource policies, as SQLite's schema 5 has them",
    "the page query's indexes, as SQLite's schema 6 has them",
    "timers by change and by entity, as SQLite's schema 7 has them",
};
static_assert(std::size(kMigrations) == std::size(kMigrationNames));
constexpr int kSchemaVersion = static_cast<int>(std::size(kMigrations));

// The advisory lock every write transaction takes ("sellerfl" in ASCII): one writer at a time, as
// SQLite's file lock allows. Every command reads the clock and the last command seq and appends
// after them, so two commands never commit in parallel without one invalidating the other; a
// lock waited for costs less than a serialization failure retried, and it keeps the command log
// in commit order.
constexpr int64_t kWriteLock = 0x73656c6c6572666c;
// How often Write runs its function again after a serialization failure or a deadlock (40001,
// 40P01) before reporting kBusy.
constexpr int kMaxConflictRetries = 5;

constexpr char kCounterPrefix[] = "counter:";

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

// PostgreSQL's type oids for the integer columns (pg_type.h is not for clients).
constexpr Oid kInt2Oid = 21;
constexpr Oid kInt4Oid = 23;
constexpr Oid kInt8Oid = 20;

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// A statement's argument in libpq's text format. Strings are not copied: an Arg lives only for the
// call it is passed to.
class Arg {
 public:
  Arg(const std::string& s) : p_(s.c_str()) {}  // NOLINT: implicit on purpose.
  Arg(const char* s) : p_(s) {}                 // NOLINT
  Arg(int64_t n) : own_(std::to_string(n)) {}   // NOLINT
  Arg(int n) : own_(std::to_string(n)) {}       // NOLINT
  const char* c_str() const { return p_ != nullptr ? p_ : own_.c_str(); }

 private:
  std::string own_;
  const char* p_ = nullptr;
};

// A serialization failure or deadlock: the transaction did nothing, and Write runs it again.
class ConflictError : public StoreError {
 public:
  explicit ConflictError(std::string message)
      : StoreError(StoreError::Kind::kBusy, std::move(message)) {}
};

std::string Text(const PGresult* r, int row, int col) {
  return std::string(PQgetvalue(r, row, col), static_cast<size_t>(PQgetlength(r, row, col)));
}
int64_t Int(const PGresult* r, int row, int col) {
  return std::strtoll(PQgetvalue(r, row, col), nullptr, 10);
}

// The URI without its password, for messages.
std::string Redacted(const std::string& uri) {
  const size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  const size_t at = uri.find('@', scheme + 3);
  const size_t slash = uri.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return uri;
  const size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  return uri.substr(0, colon) + ":***" + uri.substr(at);
}

// The digest's encoding, as SqliteStore's DigestWriter feeds it: a tag byte, the column count,
// then each column as its length and bytes (integers as decimal text), lengths as 8 bytes little
// endian. The same rows give the same bytes in either store.
class DigestWriter {
 public:
  void Row(char tag, const PGresult* r, int row, int replaced = -1,
           std::string_view replacement = {}) {
    const int n = PQnfields(r);
    Raw(std::string_view(&tag, 1));
    Length(static_cast<uint64_t>(n));
    for (int i = 0; i < n; ++i) {
      std::string_view v = i == replaced ? replacement
                                         : std::string_view(PQgetvalue(r, row, i),
                                                            static_cast<size_t>(
                                                                PQgetlength(r, row, i)));
      Length(v.size());
      Raw(v);
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

class PgStore : public Store {
 public:
  PgStore(std::string uri, const StoreOptions& options);
  ~PgStore() override;

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

  void AppendHistory(HistoryRow* row) override;
  std::vector<HistoryRow> History(const std::string& id) override;
  std::vector<HistoryRow> HistoryAfter(int64_t after_seq, int64_t limit) override;
  std::vector<ChangeSetRow> ListChangeSetsPage(const ChangeSetPageQuery& q) override;

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
  // A failed result (or, with none, the connection's error) as the error the caller can act on.
  [[noreturn]] void Fail(const PGresult* r, std::string_view op) const;
  // Throws unless `r` succeeded.
  void Check(const Result& r, std::string_view op, std::string_view subject = {}) const {
    const ExecStatusType status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return;
    Fail(r.get(), std::string(op).append(subject));
  }
  // Runs the statement `sql`, prepared once per connection under `name`.
  Result Exec(const char* name, const char* sql, std::initializer_list<Arg> args,
              std::string_view op, std::string_view subject = {});
  // The same with `n` arguments in libpq's text format, for a statement built at run time.
  Result ExecValues(const char* name, const char* sql, const char* const* values, int n,
                    std::string_view op, std::string_view subject = {});
  // Runs one or more statements as a simple query (no arguments).
  void Simple(const char* sql, std::string_view op);
  // Reconnects a connection that was lost, between transactions only.
  void EnsureConnected();
  void Configure();
  int SchemaVersion();
  void Migrate();
  // BEGIN and the write lock; on failure nothing is left open. With `prefetch`, the same round trip
  // reads what every command asks first (see Known).
  void Begin(std::string_view op, bool prefetch = true);
  void Commit(std::string_view op);
  void Rollback() noexcept;
  void UnwindSavepoint() noexcept;
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
  std::string DigestOf(bool outcomes_only);

  EntityRow ReadEntity(const PGresult* r, int row) const;
  ChangeSetRow ReadChangeSet(const PGresult* r, int row);
  HistoryRow ReadHistory(const PGresult* r, int row) const;
  TimerRow ReadTimer(const PGresult* r, int row) const;
  static std::string EncodeChanges(const std::vector<ChangeRow>& changes);
  std::vector<ChangeRow> DecodeChanges(const std::string& text, const std::string& change_set);
  simdjson::dom::parser json_;

  std::string uri_;
  std::string where_;  // The database, for messages.
  PGconn* conn_ = nullptr;
  std::set<std::string, std::less<>> prepared_;  // On this connection.
  // The page queries' statement names by their text (one per set of filters).
  std::map<std::string, std::string, std::less<>> page_names_;
  int busy_timeout_ms_ = kBusyTimeoutMs;
  int depth_ = 0;
  bool batch_ = false;
  bool read_only_ = false;
  bool committing_ = false;
  bool reading_ = false;  // Inside Read's transaction.
  std::optional<StoreError> lost_;  // Why the open batch cannot commit.

  // What every command reads before it runs (the last command and change set, the clock, the
  // earliest timer), read with BEGIN and the write lock in one round trip and kept up to date by
  // this store's own writes. Valid only inside the write transaction: the lock keeps every other
  // writer out until COMMIT. A rolled-back savepoint forgets it (the writes it undid may have
  // moved it).
  struct Known {
    std::optional<int64_t> last_command;
    std::optional<int64_t> last_change_set;
    std::optional<std::string> clock;
    std::optional<int64_t> no_timer_before;  // A lower bound on the earliest deadline.
  };
  Known known_;
};

void PgStore::Fail(const PGresult* r, std::string_view op) const {
  using Kind = StoreError::Kind;
  const char* state = r != nullptr ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : nullptr;
  const std::string code = state != nullptr ? state : "";
  std::string detail = r != nullptr ? PQresultErrorMessage(r) : "";
  if (detail.empty()) detail = PQerrorMessage(conn_);
  while (!detail.empty() && (detail.back() == '\n' || detail.back() == ' ')) detail.pop_back();
  const std::string why = detail.empty() ? "" : " (" + detail + ")";
  const std::string what(op);
  if (PQstatus(conn_) == CONNECTION_BAD || code.empty() || code.rfind("08", 0) == 0 ||
      code == "57P01" || code == "57P02" || code == "57P03") {
    if (committing_) {
      throw StoreError(Kind::kIo,
                       "lost the connection to " + where_ + " while committing" + why +
                           "; the command may or may not have been committed: look it up "
                           "(describe-change-set, or run it again with its client token) "
                           "before running it again");
    }
    throw StoreError(Kind::kIo, "lost the connection to " + where_ + " while " + what + why +
                                    "; nothing of the command was committed: run it again "
                                    "once the database is back");
  }
  if (code == "40001" || code == "40P01") {
    throw ConflictError("store " + where_ + " is busy: another process wrote the same rows (" +
                        what + "); retry");
  }
  if (code == "55P03" || code == "57014") {
    throw StoreError(Kind::kBusy, "store " + where_ +
                                      " is busy: another process holds its write lock; retry");
  }
  if (code == "53100") {
    throw StoreError(Kind::kFull, "the database server's disk is full writing " + where_ + " (" +
                                      what + "); free space on it, then retry");
  }
  if (code.rfind("23", 0) == 0) {
    // A duplicate key: the caller broke the store's contract; not an infrastructure failure.
    throw std::logic_error("store " + where_ + ": " + what + " violates a constraint" + why);
  }
  if (code == "25006" || code.rfind("42501", 0) == 0) {
    throw StoreError(Kind::kIo, "cannot write " + where_ + " while " + what + why +
                                    "; check the role's privileges");
  }
  if (code.rfind("XX", 0) == 0) {
    throw StoreError(Kind::kCorrupt, where_ + " is damaged (found while " + what + ")" + why);
  }
  throw StoreError(Kind::kIo, "store " + where_ + " failed while " + what + why);
}

Result PgStore::Exec(const char* name, const char* sql, std::initializer_list<Arg> args,
                     std::string_view op, std::string_view subject) {
  const char* values[24] = {};
  if (args.size() > std::size(values)) throw std::logic_error("too many statement arguments");
  int n = 0;
  for (const Arg& a : args) values[n++] = a.c_str();
  return ExecValues(name, sql, values, n, op, subject);
}

Result PgStore::ExecValues(const char* name, const char* sql, const char* const* values, int n,
                           std::string_view op, std::string_view subject) {
  // Between transactions a lost connection is made again; inside one, its loss is the error.
  if (depth_ == 0 && !reading_) EnsureConnected();
  if (prepared_.find(std::string_view(name)) == prepared_.end()) {
    Result p(PQprepare(conn_, name, sql, n, nullptr));
    Check(p, op, subject);
    prepared_.emplace(name);
  }
  Result r(PQexecPrepared(conn_, name, n, values, nullptr, nullptr, 0));
  Check(r, op, subject);
  return r;
}

void PgStore::Simple(const char* sql, std::string_view op) {
  Result r(PQexec(conn_, sql));
  Check(r, op);
}

PgStore::PgStore(std::string uri, const StoreOptions& options)
    : uri_(std::move(uri)),
      where_("PostgreSQL store " + Redacted(uri_)),
      busy_timeout_ms_(options.busy_timeout_ms),
      read_only_(options.read_only) {
  conn_ = PQconnectdb(uri_.c_str());
  if (conn_ == nullptr) throw std::bad_alloc();
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    PQfinish(conn_);
    conn_ = nullptr;
    if (why.find("does not exist") != std::string::npos && why.find("database") != std::string::npos) {
      throw StoreError(options.create ? StoreError::Kind::kIo : StoreError::Kind::kNotFound,
                       "no database at " + Redacted(uri_) + " (" + why +
                           "); create it first (createdb), or give another --db");
    }
    if (why.find("invalid") != std::string::npos &&
        (why.find("URI") != std::string::npos || why.find("option") != std::string::npos)) {
      throw StoreError(StoreError::Kind::kBadLocation,
                       Redacted(uri_) + " is not a PostgreSQL connection URI (" + why + ")");
    }
    throw StoreError(StoreError::Kind::kIo, "cannot connect to " + where_ + " (" + why +
                                                "); check that the server is running and the URI");
  }
  // NOTICEs (CREATE ... IF NOT EXISTS and the like) are not for the command's user.
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  try {
    Configure();
    const int version = SchemaVersion();
    if (version == 0 && !options.create) {
      throw StoreError(StoreError::Kind::kNotFound,
                       "no sellerflow store in " + Redacted(uri_) +
                           "; give the URI of an existing store with --db");
    }
    if (read_only_) {
      if (version < kSchemaVersion) {
        throw StoreError(StoreError::Kind::kIo,
                         where_ + " has schema " + std::to_string(version) + ", older than " +
                             std::to_string(kSchemaVersion) +
                             "; open it once with a command that writes, to migrate it");
      }
      Simple("SET default_transaction_read_only = on", "opening it for reading");
      return;
    }
    if (version < kSchemaVersion) Migrate();
  } catch (...) {
    PQfinish(conn_);
    conn_ = nullptr;
    throw;
  }
}

PgStore::~PgStore() {
  // An unfinished batch is abandoned, not committed: closing the connection rolls it back.
  if (conn_ != nullptr) PQfinish(conn_);
}

void PgStore::Configure() {
  // Read committed: after the write lock is granted, each statement sees every write committed
  // before it (repeatable read would keep the snapshot taken while waiting for the lock).
  const std::string settings =
      "SET client_encoding = 'UTF8'; SET client_min_messages = warning; "
      "SET default_transaction_isolation = 'read committed'; SET lock_timeout = " +
      std::to_string(busy_timeout_ms_ > 0 ? busy_timeout_ms_ : 1) + "; SET idle_in_transaction_session_timeout = 0";
  Simple(settings.c_str(), "configuring the connection");
  prepared_.clear();
}

void PgStore::EnsureConnected() {
  if (PQstatus(conn_) == CONNECTION_OK) return;
  PQreset(conn_);
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn_);
    while (!why.empty() && (why.back() == '\n' || why.back() == ' ')) why.pop_back();
    throw StoreError(StoreError::Kind::kIo, "cannot reconnect to " + where_ + " (" + why + ")");
  }
  PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  Configure();
  if (read_only_) Simple("SET default_transaction_read_only = on", "opening it for reading");
}

int PgStore::SchemaVersion() {
  Result r(PQexec(conn_,
                  "SELECT to_regclass('schema_migrations') IS NOT NULL,"
                  " (SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                  " ON n.oid = c.relnamespace WHERE n.nspname = current_schema()"
                  " AND c.relkind IN ('r', 'v', 'p'))"));
  Check(r, "reading its schema");
  const bool versioned = std::string_view(PQgetvalue(r.get(), 0, 0)) == "t";
  const int64_t tables = Int(r.get(), 0, 1);
  if (!versioned) {
    if (tables > 0) {
      throw StoreError(StoreError::Kind::kNotAStore,
                       Redacted(uri_) +
                           " is a PostgreSQL database with tables, but not a sellerflow store;"
                           " give another --db (or an empty database)");
    }
    return 0;
  }
  Result v(PQexec(conn_, "SELECT coalesce(max(version), 0) FROM schema_migrations"));
  Check(v, "reading its schema version");
  const int64_t version = Int(v.get(), 0, 0);
  if (version > kSchemaVersion) {
    throw StoreError(StoreError::Kind::kNewerSchema,
                     where_ + " was written by a newer sellerflow (schema " +
                         std::to_string(version) + ", this one knows " +
                         std::to_string(kSchemaVersion) + "); upgrade sellerflow");
  }
  return static_cast<int>(version);
}

void PgStore::Migrate() {
  Begin("migrating its schema", /*prefetch=*/false);
  try {
    // Read again under the write lock: another process may have migrated meanwhile.
    const int version = SchemaVersion();
    Simple(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, description TEXT NOT NULL)",
        "migrating its schema");
    for (int v = version; v < kSchemaVersion; ++v) {
      Simple(kMigrations[v], "migrating its schema");
      const std::string step = std::to_string(v + 1);
      const char* values[] = {step.c_str(), kMigrationNames[v]};
      Result r(PQexecParams(conn_,
                            "INSERT INTO schema_migrations (version, description) VALUES ($1, $2)",
                            2, nullptr, values, nullptr, nullptr, 0));
      Check(r, "migrating its schema");
    }
    Commit("committing its schema");
  } catch (...) {
    Rollback();
    throw;
  }
}

void PgStore::Begin(std::string_view op, bool prefetch) {
  EnsureConnected();
  known_ = Known();
  try {
    static const std::string begin =
        "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kWriteLock) + ")";
    if (!prefetch) {
      Simple(begin.c_str(), op);
      return;
    }
    // A simple query answers with its last statement's rows.
    static const std::string begin_and_read =
        begin +
        "; SELECT (SELECT coalesce(max(seq), 0) FROM command_log),"
        " (SELECT at FROM command_log ORDER BY seq DESC LIMIT 1),"
        " greatest(coalesce((SELECT max(seq) FROM change_sets), 0),"
        " coalesce((SELECT value FROM meta WHERE key = 'change_set_reserved'), 0)),"
        " (SELECT min(due_us) FROM timers)";
    Result r(PQexec(conn_, begin_and_read.c_str()));
    Check(r, op);
    known_.last_command = Int(r.get(), 0, 0);
    known_.clock = PQgetisnull(r.get(), 0, 1) ? "" : Text(r.get(), 0, 1);
    known_.last_change_set = Int(r.get(), 0, 2);
    known_.no_timer_before = PQgetisnull(r.get(), 0, 3) ? std::numeric_limits<int64_t>::max()
                                                        : Int(r.get(), 0, 3);
  } catch (...) {
    known_ = Known();
    Rollback();
    throw;
  }
}

void PgStore::Commit(std::string_view op) {
  if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
    // COMMIT would roll back quietly: a statement failed and someone caught its error.
    throw StoreError(StoreError::Kind::kIo,
                     "store " + where_ + ": a statement of the transaction failed; nothing of it "
                                         "was committed");
  }
  committing_ = true;
  known_ = Known();
  try {
    Simple("COMMIT", op);
  } catch (...) {
    committing_ = false;
    throw;
  }
  committing_ = false;
}

void PgStore::Rollback() noexcept {
  known_ = Known();
  if (PQstatus(conn_) != CONNECTION_OK) return;  // The server rolled it back.
  if (PQtransactionStatus(conn_) == PQTRANS_IDLE) return;
  PQclear(PQexec(conn_, "ROLLBACK"));
}

void PgStore::UnwindSavepoint() noexcept {
  known_ = Known();
  if (PQstatus(conn_) != CONNECTION_OK) {
    if (batch_ && !lost_) {
      lost_ = StoreError(StoreError::Kind::kIo,
                         "lost the connection to " + where_ +
                             " during a batch; none of it was committed");
    }
    return;
  }
  PQclear(PQexec(conn_, "ROLLBACK TO SAVEPOINT w; RELEASE SAVEPOINT w"));
}

void PgStore::Write(const std::function<void()>& fn) {
  if (lost_) throw *lost_;
  if (read_only_) {
    throw StoreError(StoreError::Kind::kIo, "store " + where_ + " was opened for reading only");
  }
  if (depth_ > 0) {
    Simple("SAVEPOINT w", "starting a nested write");
    ++depth_;
    try {
      fn();
    } catch (...) {
      --depth_;
      UnwindSavepoint();
      throw;
    }
    --depth_;
    try {
      Simple("RELEASE SAVEPOINT w", "committing a nested write");
    } catch (...) {
      UnwindSavepoint();
      throw;
    }
    return;
  }
  for (int attempt = 1;; ++attempt) {
    Begin("starting a write");
    depth_ = 1;
    try {
      fn();
      Commit("committing");
      depth_ = 0;
      return;
    } catch (const ConflictError& e) {
      depth_ = 0;
      Rollback();
      if (attempt >= kMaxConflictRetries) {
        throw StoreError(StoreError::Kind::kBusy, std::string(e.what()) + " (" +
                                                      std::to_string(attempt) + " tries)");
      }
      // Back off a little before the next try; the state it writes does not depend on this.
      std::this_thread::sleep_for(std::chrono::milliseconds(attempt * 2));
    } catch (...) {
      depth_ = 0;
      Rollback();
      throw;
    }
  }
}

void PgStore::BeginBatch() {
  if (read_only_) {
    throw StoreError(StoreError::Kind::kIo, "store " + where_ + " was opened for reading only");
  }
  if (depth_ > 0) throw std::logic_error("store " + where_ + ": BeginBatch inside a transaction");
  Begin("starting a batch");
  depth_ = 1;
  batch_ = true;
  lost_.reset();
}

void PgStore::CommitBatch() {
  if (!batch_) throw std::logic_error("store " + where_ + ": CommitBatch without BeginBatch");
  depth_ = 0;
  batch_ = false;
  if (lost_) {
    StoreError error = std::move(*lost_);
    lost_.reset();
    Rollback();
    throw error;
  }
  try {
    Commit("committing a batch");
  } catch (...) {
    Rollback();
    throw;
  }
}

template <typename Fn>
auto PgStore::Read(Fn&& fn) -> decltype(fn()) {
  if (depth_ > 0) return fn();
  EnsureConnected();
  Simple("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", "starting a read");
  reading_ = true;
  try {
    auto result = fn();
    reading_ = false;
    Simple("COMMIT", "ending a read");
    return result;
  } catch (...) {
    reading_ = false;
    Rollback();
    throw;
  }
}

// Rows.

EntityRow PgStore::ReadEntity(const PGresult* r, int row) const {
  EntityRow e;
  e.id = Text(r, row, 0);
  e.type = Text(r, row, 1);
  e.owner = Text(r, row, 2);
  e.state = Text(r, row, 3);
  e.revision = Int(r, row, 4);
  e.document = Text(r, row, 5);
  e.locked_by = Text(r, row, 6);
  e.created_at = Text(r, row, 7);
  e.updated_at = Text(r, row, 8);
  return e;
}

std::optional<EntityRow> PgStore::GetEntity(const std::string& id) {
  Result r = Exec("get_entity", "SELECT " SF_ENTITY_COLUMNS " FROM entities WHERE id = $1", {id},
                  "reading entity ", id);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return ReadEntity(r.get(), 0);
}

void PgStore::InsertEntity(const EntityRow& e) {
  Mutate([&] {
    Exec("insert_entity",
         "INSERT INTO entities (" SF_ENTITY_COLUMNS ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
         {e.id, e.type, e.owner, e.state, e.revision, e.document, e.locked_by, e.created_at,
          e.updated_at},
         "inserting entity ", e.id);
  });
}

void PgStore::UpdateEntity(const EntityRow& e) {
  Mutate([&] {
    Result r = Exec("update_entity",
                    "UPDATE entities SET type = $2, owner = $3, state = $4, revision = $5, "
                    "document = $6, locked_by = $7, created_at = $8, updated_at = $9 WHERE id = $1",
                    {e.id, e.type, e.owner, e.state, e.revision, e.document, e.locked_by,
                     e.created_at, e.updated_at},
                    "updating entity ", e.id);
    if (std::string_view(PQcmdTuples(r.get())) == "0")
      throw std::logic_error("store " + where_ + ": no entity " + e.id + " to update");
  });
}

std::vector<EntityRow> PgStore::ListEntities(const std::string& type, const std::string& state) {
  Result r = Exec("list_entities",
                  "SELECT " SF_ENTITY_COLUMNS
                  " FROM entities WHERE ($1::text = '' OR type = $1) AND ($2::text = '' OR "
                  "state = $2) ORDER BY id",
                  {type, state}, "listing entities");
  std::vector<EntityRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadEntity(r.get(), i));
  return out;
}

ChangeSetRow PgStore::ReadChangeSet(const PGresult* r, int row) {
  ChangeSetRow cs;
  cs.id = Text(r, row, 0);
  cs.seq = Int(r, row, 1);
  cs.name = Text(r, row, 2);
  cs.token = Text(r, row, 3);
  cs.actor = Text(r, row, 4);
  cs.body_hash = Text(r, row, 5);
  cs.intent = Text(r, row, 6);
  cs.status = Text(r, row, 7);
  cs.failure_code = Text(r, row, 8);
  cs.failure_description = Text(r, row, 9);
  cs.started_at = Text(r, row, 10);
  cs.ended_at = Text(r, row, 11);
  cs.working = Text(r, row, 12);
  cs.command_seq = Int(r, row, 13);
  cs.changes = DecodeChanges(Text(r, row, 14), cs.id);
  cs.history_from = Int(r, row, 15);
  cs.history_to = Int(r, row, 16);
  return cs;
}

std::string PgStore::EncodeChanges(const std::vector<ChangeRow>& changes) {
  return EncodeChangesColumn(changes);
}

std::vector<ChangeRow> PgStore::DecodeChanges(const std::string& text,
                                              const std::string& change_set) {
  return DecodeChangesColumn(text, &json_, "store " + where_, change_set);
}

std::optional<ChangeSetRow> PgStore::GetChangeSet(const std::string& id) {
  const int64_t seq = ChangeSetSeq(id);
  if (seq == 0) return std::nullopt;  // Not an id ChangeSetId makes: no change set has it.
  Result r = Exec("get_change_set",
                  "SELECT " SF_CHANGE_SET_COLUMNS " FROM change_sets WHERE seq = $1 AND id = $2",
                  {seq, id}, "reading change set ", id);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return ReadChangeSet(r.get(), 0);
}

std::optional<ChangeSetRow> PgStore::FindChangeSetByToken(const std::string& actor,
                                                          const std::string& token) {
  if (token.empty()) return std::nullopt;
  Result r = Exec("change_set_by_token",
                  "SELECT " SF_CHANGE_SET_COLUMNS
                  " FROM change_sets WHERE actor = $1 AND token = $2 AND token <> ''",
                  {actor, token}, "looking up a client token");
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return ReadChangeSet(r.get(), 0);
}

void PgStore::InsertChangeSet(const ChangeSetRow& cs) {
  if (cs.id != ChangeSetId(cs.seq))
    throw std::logic_error("store " + where_ + ": change set " + cs.id + " is not ChangeSetId(" +
                           std::to_string(cs.seq) + ")");
  Mutate([&] {
    const std::string changes = EncodeChanges(cs.changes);
    Exec("insert_change_set",
         "INSERT INTO change_sets (" SF_CHANGE_SET_COLUMNS
         ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
         {cs.id, cs.seq, cs.name, cs.token, cs.actor, cs.body_hash, cs.intent, cs.status,
          cs.failure_code, cs.failure_description, cs.started_at, cs.ended_at, cs.working,
          cs.command_seq, changes, cs.history_from, cs.history_to},
         "inserting change set ", cs.id);
    if (known_.last_change_set && cs.seq > *known_.last_change_set) known_.last_change_set = cs.seq;
  });
}

void PgStore::UpdateChangeSet(const ChangeSetRow& cs) {
  Mutate([&] {
    const std::string changes = EncodeChanges(cs.changes);
    Result r = Exec(
        "update_change_set",
        "UPDATE change_sets SET name = $3, token = $4, actor = $5, body_hash = $6, intent = $7, "
        "status = $8, failure_code = $9, failure_description = $10, started_at = $11, "
        "ended_at = $12, working = $13, command = $14, changes = $15, history_from = $16, "
        "history_to = $17 WHERE seq = $2 AND id = $1",
        {cs.id, cs.seq, cs.name, cs.token, cs.actor, cs.body_hash, cs.intent, cs.status,
         cs.failure_code, cs.failure_description, cs.started_at, cs.ended_at, cs.working,
         cs.command_seq, changes, cs.history_from, cs.history_to},
        "updating change set ", cs.id);
    if (std::string_view(PQcmdTuples(r.get())) == "0")
      throw std::logic_error("store " + where_ + ": no change set " + cs.id + " to update");
  });
}

std::vector<ChangeSetRow> PgStore::ListChangeSets(const std::string& status,
                                                  const std::string& entity,
                                                  const std::string& change_type) {
  Result r = Exec("list_change_sets",
                  "SELECT " SF_CHANGE_SET_COLUMNS
                  " FROM change_sets AS cs WHERE ($1::text = '' OR status = $1)"
                  " AND ($2::text = '' OR EXISTS (SELECT 1 FROM"
                  " jsonb_array_elements(cs.changes::jsonb) AS c(value) WHERE c.value ->> 3 = $2))"
                  " AND ($3::text = '' OR EXISTS (SELECT 1 FROM"
                  " jsonb_array_elements(cs.changes::jsonb) AS c(value) WHERE c.value ->> 1 = $3))"
                  " ORDER BY seq",
                  {status, entity, change_type}, "listing change sets");
  std::vector<ChangeSetRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadChangeSet(r.get(), i));
  return out;
}

HistoryRow PgStore::ReadHistory(const PGresult* r, int row) const {
  HistoryRow h;
  h.seq = Int(r, row, 0);
  h.change_set = Text(r, row, 1);
  h.change_index = static_cast<int>(Int(r, row, 2));
  h.entity = Text(r, row, 3);
  h.event = Text(r, row, 4);
  h.from_state = Text(r, row, 5);
  h.to_state = Text(r, row, 6);
  h.actor = Text(r, row, 7);
  h.at = Text(r, row, 8);
  h.data = Text(r, row, 9);
  return h;
}

void PgStore::AppendHistory(HistoryRow* row) {
  Mutate([&] {
    // One more than the last seq, as SQLite's rowid: a sequence would keep the seqs a rolled-back
    // command took, and the seqs are in the digest. The write lock keeps max(seq) still.
    Result r = Exec("insert_history",
                    "INSERT INTO history (seq, change_set, change_index, entity, event, "
                    "from_state, to_state, actor, at, data) SELECT coalesce(max(seq), 0) + 1, "
                    "$1::text, $2::integer, $3::text, $4::text, $5::text, $6::text, $7::text, "
                    "$8::text, $9::text FROM history RETURNING seq",
                    {row->change_set, row->change_index, row->entity, row->event, row->from_state,
                     row->to_state, row->actor, row->at, row->data},
                    "appending history");
    row->seq = Int(r.get(), 0, 0);
  });
}

std::vector<HistoryRow> PgStore::History(const std::string& id) {
  Result r = Exec("history_of",
                  "SELECT " SF_HISTORY_COLUMNS
                  " FROM history WHERE entity = $1"
                  " UNION ALL SELECT " SF_HISTORY_COLUMNS
                  " FROM history WHERE seq BETWEEN"
                  " (SELECT history_from FROM change_sets WHERE seq = $2::bigint AND id = $1) AND"
                  " (SELECT history_to FROM change_sets WHERE seq = $2::bigint AND id = $1)"
                  " AND change_set = $1 AND entity <> $1 ORDER BY seq",
                  {id, ChangeSetSeq(id)}, "reading the history of ", id);
  std::vector<HistoryRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadHistory(r.get(), i));
  return out;
}

std::vector<HistoryRow> PgStore::HistoryAfter(int64_t after_seq, int64_t limit) {
  Result r = Exec("history_after",
                  "SELECT " SF_HISTORY_COLUMNS
                  " FROM history WHERE seq > $1::bigint ORDER BY seq LIMIT $2::bigint",
                  {std::to_string(after_seq), std::to_string(limit)}, "reading the history", "");
  std::vector<HistoryRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadHistory(r.get(), i));
  return out;
}

// As SqliteStore's: only the conditions the filters set, and a change's entity or type through
// its key table, walked in seq order from the cursor; otherwise the planner, which knows how many
// rows a time range holds, picks seq order or change_sets_started.
std::vector<ChangeSetRow> PgStore::ListChangeSetsPage(const ChangeSetPageQuery& q) {
  std::vector<std::string> args;
  const auto arg = [&](std::string value) {
    args.push_back(std::move(value));
    return "$" + std::to_string(args.size());
  };
  const std::string cursor = q.newest_first ? " < " : " > ";
  const std::string order = q.newest_first ? " DESC" : " ASC";
  std::string sql = "SELECT " SF_CS_COLUMNS " FROM ";
  std::string seq = "cs.seq";
  if (!q.entity.empty()) {
    sql += "change_entities AS k JOIN change_sets AS cs ON cs.seq = k.seq WHERE k.entity_id = " +
           arg(q.entity) + "::text";
    seq = "k.seq";
  } else if (!q.change_type.empty()) {
    sql += "change_types AS k JOIN change_sets AS cs ON cs.seq = k.seq WHERE k.change_type = " +
           arg(q.change_type) + "::text";
    seq = "k.seq";
  } else {
    sql += "change_sets AS cs WHERE TRUE";
  }
  if (!q.status.empty()) sql += " AND cs.status = " + arg(q.status) + "::text";
  // The key tables may keep a key the changes no longer have: the changes column decides, its
  // substring test first.
  const auto has = [&](const std::string& value, int column) {
    std::string quoted;
    dsl::AppendJsonString(value, &quoted);
    return " AND strpos(cs.changes, " + arg(std::move(quoted)) +
           "::text) > 0 AND EXISTS (SELECT 1 FROM jsonb_array_elements(cs.changes::jsonb) AS"
           " c(value) WHERE c.value ->> " +
           std::to_string(column) + " = " + arg(value) + "::text)";
  };
  if (!q.entity.empty()) sql += has(q.entity, 3);
  if (!q.change_type.empty()) sql += has(q.change_type, 1);
  if (!q.account.empty())
    sql += " AND substr(cs.actor, strpos(cs.actor, ':') + 1) = " + arg(q.account) + "::text";
  if (!q.started_after.empty())
    sql += " AND cs.started_at COLLATE \"C\" > " + arg(q.started_after) + "::text";
  if (!q.started_before.empty())
    sql += " AND cs.started_at COLLATE \"C\" < " + arg(q.started_before) + "::text";
  if (q.after_seq != 0)
    sql += " AND " + seq + cursor + arg(std::to_string(q.after_seq)) + "::bigint";
  sql += " ORDER BY " + seq + order + " LIMIT " + arg(std::to_string(q.limit)) + "::bigint";
  auto name = page_names_.find(sql);
  if (name == page_names_.end())
    name = page_names_.emplace(sql, "page_" + std::to_string(page_names_.size())).first;
  std::vector<const char*> values;
  for (const std::string& a : args) values.push_back(a.c_str());
  Result r = ExecValues(name->second.c_str(), sql.c_str(), values.data(),
                        static_cast<int>(values.size()), "listing a page of change sets");
  std::vector<ChangeSetRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadChangeSet(r.get(), i));
  return out;
}

TimerRow PgStore::ReadTimer(const PGresult* r, int row) const {
  TimerRow t;
  t.id = Int(r, row, 0);
  t.due_us = Int(r, row, 1);
  t.due = Text(r, row, 2);
  t.change_set = Text(r, row, 3);
  t.change_index = static_cast<int>(Int(r, row, 4));
  t.entity = Text(r, row, 5);
  t.state = Text(r, row, 6);
  t.transition = static_cast<int>(Int(r, row, 7));
  return t;
}

void PgStore::AddTimer(TimerRow* t) {
  Mutate([&] {
    Result r = Exec(
        "insert_timer",
        "WITH n AS (INSERT INTO autoincrement (name, seq) VALUES ('timers',"
        " (SELECT coalesce(max(id), 0) + 1 FROM timers)) ON CONFLICT (name) DO UPDATE"
        " SET seq = greatest(autoincrement.seq + 1, excluded.seq) RETURNING seq)"
        " INSERT INTO timers (" SF_TIMER_COLUMNS
        ") SELECT n.seq, $1::bigint, $2::text, $3::text, $4::integer, $5::text, $6::text,"
        " $7::integer FROM n RETURNING id",
        {t->due_us, t->due, t->change_set, t->change_index, t->entity, t->state, t->transition},
        "adding a timer");
    t->id = Int(r.get(), 0, 0);
    if (known_.no_timer_before && t->due_us < *known_.no_timer_before)
      known_.no_timer_before = t->due_us;
  });
}

void PgStore::DeleteTimer(int64_t id) {
  Mutate([&] {
    Exec("delete_timer", "DELETE FROM timers WHERE id = $1", {id}, "deleting a timer");
  });
}

void PgStore::DeleteChangeTimers(const std::string& change_set, int change_index) {
  Mutate([&] {
    Exec("delete_change_timers", "DELETE FROM timers WHERE change_set = $1 AND change_index = $2",
         {change_set, change_index}, "deleting the timers of ", change_set);
  });
}

void PgStore::DeleteEntityTimers(const std::string& entity) {
  Mutate([&] {
    Exec("delete_entity_timers", "DELETE FROM timers WHERE entity = $1", {entity},
         "deleting the timers of ", entity);
  });
}

std::vector<TimerRow> PgStore::DueTimers(int64_t until_us) {
  if (depth_ > 0 && known_.no_timer_before && until_us < *known_.no_timer_before) return {};
  // Inside a write, the due timers are locked for the caller to fire: a process that got past the
  // write lock some other way (none does today) would skip them rather than fire them twice.
  Result r = depth_ > 0 ? Exec("due_timers_locked",
                               "SELECT " SF_TIMER_COLUMNS
                               " FROM timers WHERE due_us <= $1 ORDER BY due_us, id"
                               " FOR UPDATE SKIP LOCKED",
                               {until_us}, "reading due timers")
                        : Exec("due_timers",
                               "SELECT " SF_TIMER_COLUMNS
                               " FROM timers WHERE due_us <= $1 ORDER BY due_us, id",
                               {until_us}, "reading due timers");
  std::vector<TimerRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadTimer(r.get(), i));
  return out;
}

std::vector<TimerRow> PgStore::TimersOf(const std::string& change_set) {
  Result r = Exec("timers_of",
                  "SELECT " SF_TIMER_COLUMNS
                  " FROM timers WHERE change_set = $1 ORDER BY due_us, id",
                  {change_set}, "reading the timers of ", change_set);
  std::vector<TimerRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(ReadTimer(r.get(), i));
  return out;
}

void PgStore::PutDefinition(const std::string& hash, const std::string& path,
                            const std::string& text) {
  Mutate([&] {
    Exec("put_definition",
         "INSERT INTO definitions (hash, path, text) VALUES ($1, $2, $3)"
         " ON CONFLICT (hash) DO NOTHING",
         {hash, path, text}, "storing definition ", path);
  });
}

std::optional<std::string> PgStore::GetDefinition(const std::string& hash) {
  Result r = Exec("get_definition", "SELECT text, path FROM definitions WHERE hash = $1", {hash},
                  "reading definition ", hash);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return Text(r.get(), 0, 0);
}

std::optional<std::string> PgStore::GetDefinitionPath(const std::string& hash) {
  Result r = Exec("get_definition", "SELECT text, path FROM definitions WHERE hash = $1", {hash},
                  "reading definition ", hash);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return Text(r.get(), 0, 1);
}

void PgStore::AppendCommand(CommandRow* row) {
  Mutate([&] {
    Result r = Exec("insert_command",
                    "INSERT INTO command_log (seq, command, outcome, at) SELECT"
                    " coalesce(max(seq), 0) + 1, $1::text, $2::text, $3::text FROM command_log"
                    " RETURNING seq",
                    {row->command, row->outcome, row->at}, "logging a command");
    row->seq = Int(r.get(), 0, 0);
    known_.last_command = row->seq;
    known_.clock = row->at;
  });
}

std::vector<CommandRow> PgStore::Commands(int64_t after_seq, int64_t limit) {
  // A negative limit is no limit, as in SQLite (LIMIT NULL).
  Result r = Exec("commands_after",
                  "SELECT seq, command, outcome, at FROM command_log WHERE seq > $1 ORDER BY seq"
                  " LIMIT CASE WHEN $2::bigint < 0 THEN NULL ELSE $2::bigint END",
                  {after_seq, limit}, "reading the command log");
  std::vector<CommandRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i) {
    CommandRow c;
    c.seq = Int(r.get(), i, 0);
    c.command = Text(r.get(), i, 1);
    c.outcome = Text(r.get(), i, 2);
    c.at = Text(r.get(), i, 3);
    out.push_back(std::move(c));
  }
  return out;
}

int64_t PgStore::LastCommandSeq() {
  if (depth_ > 0 && known_.last_command) return *known_.last_command;
  Result r = Exec("last_command", "SELECT coalesce(max(seq), 0) FROM command_log", {},
                  "reading the command log");
  return Int(r.get(), 0, 0);
}

std::vector<TagRow> PgStore::Tags(const std::string& resource) {
  Result r = Exec("tags_of", "SELECT key, value FROM tags WHERE resource = $1 ORDER BY key",
                  {resource}, "reading the tags of ", resource);
  std::vector<TagRow> out;
  for (int i = 0; i < PQntuples(r.get()); ++i)
    out.push_back({Text(r.get(), i, 0), Text(r.get(), i, 1)});
  return out;
}

void PgStore::PutTag(const std::string& resource, const TagRow& tag) {
  Mutate([&] {
    Exec("put_tag",
         "INSERT INTO tags (resource, key, value) VALUES ($1, $2, $3)"
         " ON CONFLICT (resource, key) DO UPDATE SET value = excluded.value",
         {resource, tag.key, tag.value}, "tagging ", resource);
  });
}

void PgStore::DeleteTag(const std::string& resource, const std::string& key) {
  Mutate([&] {
    Exec("delete_tag", "DELETE FROM tags WHERE resource = $1 AND key = $2", {resource, key},
         "untagging ", resource);
  });
}

std::optional<std::string> PgStore::GetResourcePolicy(const std::string& resource) {
  Result r = Exec("get_policy", "SELECT policy FROM resource_policies WHERE resource = $1",
                  {resource}, "reading the policy of ", resource);
  if (PQntuples(r.get()) == 0) return std::nullopt;
  return Text(r.get(), 0, 0);
}

void PgStore::PutResourcePolicy(const std::string& resource, const std::string& policy) {
  Mutate([&] {
    Exec("put_policy",
         "INSERT INTO resource_policies (resource, policy) VALUES ($1, $2)"
         " ON CONFLICT (resource) DO UPDATE SET policy = excluded.policy",
         {resource, policy}, "storing the policy of ", resource);
  });
}

bool PgStore::DeleteResourcePolicy(const std::string& resource) {
  bool deleted = false;
  Mutate([&] {
    Result r = Exec("delete_policy", "DELETE FROM resource_policies WHERE resource = $1",
                    {resource}, "deleting the policy of ", resource);
    deleted = std::string_view(PQcmdTuples(r.get())) != "0";
  });
  return deleted;
}

int64_t PgStore::NextCounter(const std::string& name) {
  int64_t value = 0;
  Mutate([&] {
    const std::string key = kCounterPrefix + name;
    // One statement: atomic in the database even without the write lock.
    Result r = Exec("next_counter",
                    "INSERT INTO meta (key, value) VALUES ($1, 1)"
                    " ON CONFLICT (key) DO UPDATE SET value = meta.value + 1 RETURNING value",
                    {key}, "advancing counter ", name);
    value = Int(r.get(), 0, 0);
  });
  return value;
}

int64_t PgStore::LastChangeSetSeq() {
  if (depth_ > 0 && known_.last_change_set) return *known_.last_change_set;
  Result r = Exec("last_change_set",
                  "SELECT greatest(coalesce((SELECT max(seq) FROM change_sets), 0),"
                  " coalesce((SELECT value FROM meta WHERE key = 'change_set_reserved'), 0))",
                  {}, "reading the change sets");
  return Int(r.get(), 0, 0);
}

void PgStore::ReserveChangeSetSeq(int64_t seq) {
  Mutate([&] {
    Exec("reserve_change_set",
         "INSERT INTO meta (key, value) VALUES ('change_set_reserved', $1)"
         " ON CONFLICT (key) DO UPDATE SET value = greatest(meta.value, excluded.value)",
         {seq}, "reserving change set seq ", std::to_string(seq));
    if (known_.last_change_set && seq > *known_.last_change_set) known_.last_change_set = seq;
  });
}

std::string PgStore::Clock() {
  if (depth_ > 0 && known_.clock) return *known_.clock;
  Result r = Exec("clock", "SELECT at FROM command_log ORDER BY seq DESC LIMIT 1", {},
                  "reading the clock");
  return PQntuples(r.get()) == 0 ? "" : Text(r.get(), 0, 0);
}

std::string PgStore::DigestOf(bool outcomes_only) {
  return Read([&] {
    DigestWriter digest;
    if (outcomes_only) digest.Tag('O');
    {
      Result r = Exec("all_entities", "SELECT " SF_ENTITY_COLUMNS " FROM entities ORDER BY id", {},
                      "digesting entities");
      for (int i = 0; i < PQntuples(r.get()); ++i) digest.Row('E', r.get(), i);
    }
    {
      // As SQLite's all_change_sets: `command` stays out, the changes column last.
      Result r = Exec("all_change_sets",
                      "SELECT id, seq, name, token, actor, body_hash, intent, status, failure_code,"
                      " failure_description, started_at, ended_at, working, changes"
                      " FROM change_sets ORDER BY seq",
                      {}, "digesting change sets");
      constexpr int kChangesColumn = 13;
      for (int i = 0; i < PQntuples(r.get()); ++i) {
        if (!outcomes_only) {
          digest.Row('S', r.get(), i);
          continue;
        }
        std::vector<ChangeRow> changes =
            DecodeChanges(Text(r.get(), i, kChangesColumn), Text(r.get(), i, 0));
        for (ChangeRow& c : changes) c.machine_hash.clear();
        digest.Row('S', r.get(), i, kChangesColumn, EncodeChanges(changes));
      }
    }
    {
      Result r = Exec("all_history", "SELECT " SF_HISTORY_COLUMNS " FROM history ORDER BY seq",
                      {}, "digesting history");
      for (int i = 0; i < PQntuples(r.get()); ++i) digest.Row('H', r.get(), i);
    }
    // As SQLite's: last, and only rows, so a store without any keeps its digest.
    {
      Result r = Exec("all_tags", "SELECT resource, key, value FROM tags ORDER BY resource, key",
                      {}, "digesting tags");
      for (int i = 0; i < PQntuples(r.get()); ++i) digest.Row('T', r.get(), i);
    }
    {
      Result r = Exec("all_policies",
                      "SELECT resource, policy FROM resource_policies ORDER BY resource", {},
                      "digesting resource policies");
      for (int i = 0; i < PQntuples(r.get()); ++i) digest.Row('P', r.get(), i);
    }
    return digest.Finish();
  });
}

bool PgStore::IntegrityOk() {
  // The server keeps its own files consistent; what is ours to check is that the schema is whole.
  return Read([&] {
    Result r(PQexec(conn_,
                    "SELECT count(*) FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n"
                    " ON n.oid = c.relnamespace WHERE n.nspname = current_schema() AND c.relname"
                    " IN ('entities', 'change_sets', 'history', 'timers', 'autoincrement',"
                    " 'definitions', 'command_log', 'meta', 'schema_migrations')"));
    Check(r, "checking its integrity");
    return Int(r.get(), 0, 0) == 9;
  });
}

void PgStore::ExportRows(
    const std::function<void(const CopyTable& table, const std::vector<CopyValue>& row)>& sink) {
  Read([&] {
    for (const CopyTable& table : CopyTables()) {
      std::string sql = "SELECT ";
      for (size_t i = 0; i < table.columns.size(); ++i) {
        if (i > 0) sql += ", ";
        sql += table.columns[i];
      }
      sql += std::string(" FROM ") + table.name + " ORDER BY " + table.columns[0];
      Result r(PQexec(conn_, sql.c_str()));
      Check(r, "exporting ", table.name);
      std::vector<CopyValue> row(table.columns.size());
      for (int i = 0; i < PQntuples(r.get()); ++i) {
        for (int c = 0; c < static_cast<int>(row.size()); ++c) {
          const Oid type = PQftype(r.get(), c);
          if (type == kInt8Oid || type == kInt4Oid || type == kInt2Oid) {
            row[c] = Int(r.get(), i, c);
          } else {
            row[c] = Text(r.get(), i, c);
          }
        }
        sink(table, row);
      }
    }
    return 0;
  });
}

void PgStore::ImportRow(const CopyTable& table, const std::vector<CopyValue>& row) {
  if (depth_ == 0) throw std::logic_error("store " + where_ + ": ImportRow outside Write");
  if (row.size() != table.columns.size())
    throw std::logic_error("store " + where_ + ": a row of " + table.name + " of the wrong width");
  std::string sql = std::string("INSERT INTO ") + table.name + " (";
  std::string values;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (i > 0) {
      sql += ", ";
      values += ", ";
    }
    sql += table.columns[i];
    values += "$" + std::to_string(i + 1);
  }
  sql += ") VALUES (" + values + ")";
  if (std::string_view(table.name) == "autoincrement")
    sql += " ON CONFLICT (name) DO UPDATE SET seq = greatest(autoincrement.seq, excluded.seq)";
  std::vector<std::string> text(row.size());
  std::vector<const char*> args(row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    if (const auto* n = std::get_if<int64_t>(&row[i])) {
      text[i] = std::to_string(*n);
    } else {
      text[i] = std::get<std::string>(row[i]);
    }
    args[i] = text[i].c_str();
  }
  const std::string name = std::string("import_") + table.name;
  if (prepared_.find(name) == prepared_.end()) {
    Result p(PQprepare(conn_, name.c_str(), sql.c_str(), static_cast<int>(args.size()), nullptr));
    Check(p, "importing into ", table.name);
    prepared_.insert(name);
  }
  Result r(PQexecPrepared(conn_, name.c_str(), static_cast<int>(args.size()), args.data(), nullptr,
                          nullptr, 0));
  Check(r, "importing into ", table.name);
}

}  // namespace

std::unique_ptr<Store> OpenPgStore(const std::string& uri, const StoreOptions& options) {
  return std::make_unique<PgStore>(uri, options);
}

}  // namespace sellerflow::engine
