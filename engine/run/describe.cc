// The read commands' answers, shaped like the Catalog API's responses, from the store alone.
#include "engine/run/describe.h"

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "dsl/diagnostics.h"
#include "dsl/utf8.h"
#include "engine/base/sha256.h"
#include "engine/model/load.h"
#include "engine/read/command.h"
#include "engine/run/views.h"

namespace sellerflow::engine {

using dsl::JsonString;

namespace {

std::string Arn(const std::string& kind, const std::string& id) {
  // The Catalog API's form: the service is aws-marketplace, its signing name.
  return "arn:aws:aws-marketplace:us-east-1:000000000000:" + kind + "/" + id;
}

// "'X'; allowed: A, B (did you mean 'B'?)": the tail of a message about a name not among `allowed`.
std::string NotAmong(const std::string& name, const std::vector<std::string>& allowed) {
  std::string out = "'" + name + "'; allowed: " + dsl::JoinNames(allowed);
  // "ChangeSetStatus" means Status more likely than the nearer ChangeSetName.
  std::string near;
  for (const std::string& a : allowed)
    if (name.size() > a.size() && (name.ends_with(a) || name.starts_with(a))) near = a;
  if (near.empty()) near = dsl::NearestName(name, allowed);
  if (!near.empty()) out += " (did you mean '" + near + "'?)";
  return out;
}

// What a listing can filter and sort on, and how many rows a page holds at most.
struct ListSpec {
  const char* what;  // "ListChangeSets"
  std::vector<std::string> filters, sorts;
  int max_page;
};

const ListSpec kChangeSetList = {"ListChangeSets",
                                 {"ChangeSetName", "Status", "EntityId", "BeforeStartTime",
                                  "AfterStartTime", "BeforeEndTime", "AfterEndTime"},
                                 {"StartTime", "EndTime"},
                                 20};
const ListSpec kEntityList = {"ListEntities", {"EntityId"}, {"LastModifiedDate", "EntityId"}, 50};

constexpr size_t kMaxFilters = 8, kMaxFilterValues = 10;

// A filter of `query`, its time values read (microseconds) when it filters on a time.
struct Filter {
  const ListFilter* spec;
  std::vector<int64_t> times;
};

// Checks the query against what the listing offers: names, counts, values.
std::vector<Filter> CheckQuery(const ListSpec& list, const ListQuery& q) {
  if (q.filters.size() > kMaxFilters)
    throw ListError("FilterList", "has " + std::to_string(q.filters.size()) + " filters; at most " +
                                      std::to_string(kMaxFilters) + " are allowed");
  std::vector<Filter> out;
  for (const ListFilter& f : q.filters) {
    if (std::find(list.filters.begin(), list.filters.end(), f.name) == list.filters.end())
      throw ListError("FilterList", std::string("unknown filter name ") +
                                        NotAmong(f.name, list.filters) + " in " + list.what);
    if (f.values.empty() || f.values.size() > kMaxFilterValues)
      throw ListError("FilterList", "filter " + f.name + " has " + std::to_string(f.values.size()) +
                                        " values; give 1 to " + std::to_string(kMaxFilterValues));
    Filter checked{&f, {}};
    for (const std::string& v : f.values) {
      if (f.name == "Status") {
        static const std::vector<std::string> kStatuses = {"PREPARING", "APPLYING", "SUCCEEDED",
                                                           "FAILED", "CANCELLED"};
        if (std::find(kStatuses.begin(), kStatuses.end(), v) == kStatuses.end())
          throw ListError("FilterList", "unknown Status " + NotAmong(v, kStatuses));
      }
      if (f.name.ends_with("Time")) {
        int64_t us = 0;
        if (!ParseAt(v, &us))
          throw ListError("FilterList",
                          "filter " + f.name + ": '" + v +
                              "' is not an RFC 3339 time (e.g. 2026-03-01T00:00:00Z)");
        checked.times.push_back(us);
      }
    }
    out.push_back(std::move(checked));
  }
  if (!q.sort_by.empty() &&
      std::find(list.sorts.begin(), list.sorts.end(), q.sort_by) == list.sorts.end())
    throw ListError("Sort", std::string("unknown SortBy ") + NotAmong(q.sort_by, list.sorts) +
                                " in " + list.what);
  if (!q.sort_order.empty() && q.sort_order != "ASCENDING" && q.sort_order != "DESCENDING")
    throw ListError("Sort",
                    "unknown SortOrder " + NotAmong(q.sort_order, {"ASCENDING", "DESCENDING"}));
  if (!q.sort_order.empty() && q.sort_by.empty())
    throw ListError("Sort", "SortOrder needs a SortBy (" + dsl::JoinNames(list.sorts) + ")");
  if (q.max_results < 0 || q.max_results > list.max_page)
    throw ListError("MaxResults", "must be 1 to " + std::to_string(list.max_page) + " in " +
                                      list.what + ", not " + std::to_string(q.max_results));
  return out;
}

int64_t TimeOf(const std::string& at) {
  int64_t us = 0;
  return ParseAt(at, &us) ? us : 0;
}

// Whether a time filter holds: Before* means strictly before, After* strictly after; a change set
// that has not ended matches no end-time filter.
bool TimeMatches(const Filter& f, const std::string& at) {
  if (at.empty()) return false;
  const int64_t t = TimeOf(at);
  const bool before = f.spec->name.starts_with("Before");
  for (int64_t v : f.times)
    if (before ? t < v : t > v) return true;
  return false;
}

bool Any(const ListFilter& f, const std::string& value) {
  return std::find(f.values.begin(), f.values.end(), value) != f.values.end();
}

// A page's token: the last row it gave (rows are never deleted, so it stays in the listing), bound
// to the query that made it (its filters and sort, not its page size), hex so that it survives any
// shell. A cursor rather than an offset: a change set that arrives between two pages sorts before
// or after it, and no row is given twice. The same listing of the same store gives the same tokens.
std::string QueryKey(const std::string& scope, const ListQuery& q) {
  std::string key = scope + "\n" + q.sort_by + "\n" + q.sort_order;
  for (const ListFilter& f : q.filters) {
    key += "\n" + f.name;
    for (const std::string& v : f.values) key += "\t" + v;
  }
  return Sha256Hex(key).substr(0, 12);
}

std::string MakeToken(const std::string& last_id, const std::string& key) {
  std::string plain = "sf1:" + key + ":" + last_id, out;
  char hex[3];
  for (unsigned char ch : plain) {
    std::snprintf(hex, sizeof hex, "%02x", ch);
    out += hex;
  }
  return out;
}

ListError BadToken() {
  return ListError("NextToken",
                   "is not a token of this listing (a NextToken works only with the filters and "
                   "sort of the listing that gave it)");
}

// The id of the last row before the page a token names; throws ListError when it is not a token
// of this query.
std::string ReadToken(const std::string& token, const std::string& key) {
  if (token.size() % 2 || token.size() > 1024) throw BadToken();
  std::string plain;
  for (size_t i = 0; i < token.size(); i += 2) {
    if (!std::isxdigit(static_cast<unsigned char>(token[i])) ||
        !std::isxdigit(static_cast<unsigned char>(token[i + 1])))
      throw BadToken();
    plain.push_back(static_cast<char>(std::stoi(token.substr(i, 2), nullptr, 16)));
  }
  const std::string head = "sf1:" + key + ":";
  if (!plain.starts_with(head) || plain.size() == head.size()) throw BadToken();
  return plain.substr(head.size());
}

// Sorts `rows` as asked (stable, so equal keys keep the store's order) and cuts out the page the
// query names; *next is the next page's token, or "" on the last page. `all` gives every row of
// the store in its order, to find where a token's row stands when it no longer matches the query.
template <typename Row, typename KeyFn>
std::vector<Row> Page(std::vector<Row> rows, const std::function<std::vector<Row>()>& all,
                      const std::string& scope, const ListQuery& q, KeyFn key, std::string* next) {
  const std::string query_key = QueryKey(scope, q);
  auto sort = [&](std::vector<Row>* v) {
    if (q.sort_by.empty()) return;
    const bool ascending = q.sort_order == "ASCENDING";
    std::stable_sort(v->begin(), v->end(), [&](const Row& a, const Row& b) {
      return ascending ? key(a) < key(b) : key(b) < key(a);
    });
  };
  sort(&rows);
  size_t start = 0;
  if (!q.next_token.empty()) {
    const std::string after = ReadToken(q.next_token, query_key);
    std::vector<Row> every = all();
    sort(&every);
    std::unordered_map<std::string, size_t> position;
    for (size_t i = 0; i < every.size(); ++i) position.emplace(every[i].id, i);
    auto cursor = position.find(after);
    if (cursor == position.end()) throw BadToken();
    start = rows.size();
    for (size_t i = 0; i < rows.size(); ++i) {
      auto at = position.find(rows[i].id);
      if (at != position.end() && at->second > cursor->second) {
        start = i;
        break;
      }
    }
  }
  next->clear();
  size_t end = rows.size();
  if (q.max_results > 0 && rows.size() - start > static_cast<size_t>(q.max_results)) {
    end = start + static_cast<size_t>(q.max_results);
    *next = MakeToken(rows[end - 1].id, query_key);
  }
  return std::vector<Row>(std::make_move_iterator(rows.begin() + static_cast<ptrdiff_t>(start)),
                          std::make_move_iterator(rows.begin() + static_cast<ptrdiff_t>(end)));
}

}  // namespace

std::optional<ChangeSetRow> ReadChangeSet(Store& store, const std::string& id) {
  auto cs = store.GetChangeSet(id);
  if (cs) AttachDetails(store, &*cs);
  return cs;
}

void AttachDetails(Store& store, ChangeSetRow* cs) {
  if (cs->changes.empty()) return;
  std::vector<CommandRow> rows = store.Commands(cs->command_seq - 1, 1);
  Command started;
  std::vector<Violation> problems;
  if (rows.empty() || rows[0].seq != cs->command_seq ||
      !ParseCommand(rows[0].command, std::nullopt, &started, &problems) ||
      started.op != Op::kStartChangeSet || started.changes.size() < cs->changes.size()) {
    throw std::runtime_error("change set " + cs->id + " names command " +
                             std::to_string(cs->command_seq) +
                             " of the log, which is not the StartChangeSet that made it");
  }
  for (ChangeRow& c : cs->changes) {
    const ChangeRequest& r = started.changes[static_cast<size_t>(c.index)];
    c.details = r.details;
    c.entity_tags.clear();
    for (const Tag& t : r.entity_tags) c.entity_tags.push_back({t.key, t.value});
  }
}

std::string ChangeSetArn(const std::string& id) { return Arn("AWSMarketplace/ChangeSet", id); }

std::string EntityArn(const std::string& entity_type, const std::string& id) {
  return Arn("AWSMarketplace/" + entity_type.substr(0, entity_type.find('@')), id);
}

std::optional<Resource> FindResource(Store& store, const std::string& arn) {
  const std::string prefix = Arn("AWSMarketplace/", "");
  // Arn() puts a '/' between kind and id: the prefix is "...:AWSMarketplace//"; drop one.
  const std::string base = prefix.substr(0, prefix.size() - 1);
  if (arn.rfind(base, 0) != 0) return std::nullopt;
  const std::string rest = arn.substr(base.size());  // "<Kind>/<id>"
  const size_t slash = rest.find('/');
  if (slash == std::string::npos || slash == 0 || slash + 1 == rest.size()) return std::nullopt;
  const std::string kind = rest.substr(0, slash), id = rest.substr(slash + 1);
  Resource r;
  r.id = id;
  if (kind == "ChangeSet") {
    std::optional<ChangeSetRow> cs = store.GetChangeSet(id);
    if (!cs) return std::nullopt;
    r.change_set = true;
    r.owner = cs->actor;
    return r;
  }
  std::optional<EntityRow> e = store.GetEntity(id);
  if (!e || EntityArn(e->type, e->id) != arn) return std::nullopt;
  r.owner = e->owner;
  return r;
}

std::optional<Resource> FindResourceFor(Store& store, const std::string& arn,
                                        const std::string& actor) {
  std::optional<Resource> r = FindResource(store, arn);
  if (!r || !ActorMaySee(actor, r->owner)) return std::nullopt;
  return r;
}

ResourceRead ListTagsForResource(Store& store, const std::string& arn, const std::string& actor) {
  if (!FindResourceFor(store, arn, actor)) return {"", "Resource " + arn + " not found"};
  return {"{\"ResourceArn\":" + JsonString(arn) + ",\"Tags\":" + TagsJson(store.Tags(arn)) + "}",
          ""};
}

ResourceRead GetResourcePolicy(Store& store, const std::string& arn, const std::string& actor) {
  if (!FindResourceFor(store, arn, actor)) return {"", "Resource " + arn + " not found"};
  std::optional<std::string> policy = store.GetResourcePolicy(arn);
  if (!policy) return {"", "Resource " + arn + " has no resource policy"};
  return {"{\"Policy\":" + JsonString(*policy) + "}", ""};
}

std::string TagsJson(const std::vector<TagRow>& tags) {
  std::string out = "[";
  for (const TagRow& t : tags) {
    if (out.size() > 1) out += ',';
    out += "{\"Key\":" + JsonString(t.key) + ",\"Value\":" + JsonString(t.value) + "}";
  }
  return out + "]";
}

const Machine* PinnedOutlines::Get(const std::string& hash) {
  auto it = machines_.find(hash);
  if (it != machines_.end()) return it->second.get();
  std::unique_ptr<Machine>& m = machines_[hash];
  auto text = hash.empty() ? std::nullopt : store_.GetDefinition(hash);
  if (!text) return nullptr;
  // Named by the path it was stored from, as the set's operator knows it.
  const std::string path = store_.GetDefinitionPath(hash).value_or("");
  sources_.push_back(
      {(path.empty() ? "" : path + " ") + "(pinned " + hash.substr(0, 12) + ")", *text});
  dsl::Diagnostics ignored;  // An outline: today's rules, which it may not fit, play no part.
  m = LoadMachineOutline(sources_.back(), &ignored);
  return m.get();
}

std::string WaitingFor(Store& store, const ChangeSetRow& cs) {
  if (cs.status != "PREPARING" && cs.status != "APPLYING") return "";
  PinnedOutlines pinned(store);
  // Started before definitions were kept: nothing to say.
  const auto machine_of = [&](const ChangeRow& c) { return pinned.Get(c.machine_hash); };
  const auto open = [](const ChangeRow& c) {
    return c.status == "PREPARING" || c.status == "APPLYING";
  };
  struct Waiting {
    std::string event;
    std::vector<std::string> actors;
    std::vector<int> changes;
  };
  std::vector<Waiting> events;  // In the order the changes and their machines list them.
  const auto add = [&](const std::string& event, const std::vector<std::string>& actors,
                       int change) {
    auto w = std::find_if(events.begin(), events.end(),
                          [&](const Waiting& x) { return x.event == event; });
    if (w == events.end()) w = events.insert(events.end(), Waiting{event, {}, {}});
    for (const auto& a : actors)
      if (std::find(w->actors.begin(), w->actors.end(), a) == w->actors.end())
        w->actors.push_back(a);
    if (std::find(w->changes.begin(), w->changes.end(), change) == w->changes.end())
      w->changes.push_back(change);
  };
  for (const ChangeRow& c : cs.changes) {
    if (!open(c)) continue;
    const Machine* m = machine_of(c);
    if (!m) continue;
    for (const Transition& t : m->transitions) {
      if (t.from != c.state || t.event.empty()) continue;
      const EventSpec* spec = m->FindEvent(t.event);
      add(t.event, spec ? spec->actors : std::vector<std::string>{}, c.index);
    }
  }
  // A PREPARING set whose machines say nothing of cancelling is cancelled whole by its submitter or
  // Seller Operations (cancel-change-set).
  if (cs.status == "PREPARING" && std::none_of(events.begin(), events.end(), [](const Waiting& w) {
        return w.event == "cancel";
      }))
    for (const ChangeRow& c : cs.changes)
      if (open(c)) add("cancel", {cs.actor, "operations"}, c.index);
  std::string out = "{\"Events\":[";
  for (size_t i = 0; i < events.size(); ++i) {
    if (i) out += ",";
    out += "{\"Event\":" + JsonString(events[i].event) + ",\"Actors\":[";
    for (size_t k = 0; k < events[i].actors.size(); ++k)
      out += (k ? "," : "") + JsonString(events[i].actors[k]);
    out += "],\"Changes\":[";
    for (size_t k = 0; k < events[i].changes.size(); ++k)
      out += (k ? "," : "") + std::to_string(events[i].changes[k]);
    out += "]}";
  }
  out += "],\"Timers\":[";
  bool first = true;
  for (const TimerRow& t : store.TimersOf(cs.id)) {
    // A timer set in a state its change has left is void (it does nothing when due).
    auto c = std::find_if(cs.changes.begin(), cs.changes.end(),
                          [&](const ChangeRow& r) { return r.index == t.change_index; });
    if (c == cs.changes.end() || !open(*c) || c->state != t.state) continue;
    const Machine* m = machine_of(*c);
    std::string to;
    if (m && t.transition >= 0 && static_cast<size_t>(t.transition) < m->transitions.size())
      to = m->transitions[static_cast<size_t>(t.transition)].to;
    out += std::string(first ? "" : ",") + "{\"Change\":" + std::to_string(t.change_index) +
           ",\"Deadline\":" + JsonString(t.due) + ",\"From\":" + JsonString(t.state) +
           (to.empty() ? "" : ",\"To\":" + JsonString(to)) + "}";
    first = false;
  }
  return out + "]}";
}

std::string DescribeChangeSet(const ChangeSetRow& cs, const std::string& waiting_for) {
  std::string out = "{\"ChangeSetId\":" + JsonString(cs.id) +
                    ",\"ChangeSetArn\":" + JsonString(ChangeSetArn(cs.id));
  if (!cs.name.empty()) out += ",\"ChangeSetName\":" + JsonString(cs.name);
  out += ",\"Intent\":" + JsonString(cs.intent) + ",\"StartTime\":" + JsonString(cs.started_at);
  if (!cs.ended_at.empty()) out += ",\"EndTime\":" + JsonString(cs.ended_at);
  out += ",\"Status\":" + JsonString(cs.status);
  if (!waiting_for.empty()) out += ",\"WaitingFor\":" + waiting_for;
  if (!cs.failure_code.empty()) out += ",\"FailureCode\":" + JsonString(cs.failure_code);
  if (!cs.failure_description.empty())
    out += ",\"FailureDescription\":" + JsonString(cs.failure_description);
  out += ",\"ChangeSet\":[";
  // Whether the changes reached their entities: a set applies whole or not at all, so each change
  // of an ended set says the same (an open set has not decided yet). A VALIDATE applies nothing.
  const bool ended = cs.status == "SUCCEEDED" || cs.status == "FAILED" || cs.status == "CANCELLED";
  const bool applied = cs.status == "SUCCEEDED" && cs.intent != "VALIDATE";
  for (size_t i = 0; i < cs.changes.size(); ++i) {
    const ChangeRow& c = cs.changes[i];
    if (i) out += ",";
    out += "{\"ChangeType\":" + JsonString(c.change_type) +
           ",\"Entity\":{\"Type\":" + JsonString(c.entity_type);
    if (!c.entity_id.empty()) out += ",\"Identifier\":" + JsonString(c.entity_id);
    out += "}";
    if (!c.change_name.empty()) out += ",\"ChangeName\":" + JsonString(c.change_name);
    out += ",\"DetailsDocument\":" + (c.details.empty() ? std::string("{}") : c.details) +
           ",\"Status\":" + JsonString(c.status) + ",\"State\":" + JsonString(c.state) +
           (ended ? std::string(",\"Applied\":") + (applied ? "true" : "false") : "") +
           ",\"ErrorDetailList\":" + (c.errors.empty() ? std::string("[]") : c.errors) + "}";
  }
  return out + "]}";
}

// ,"LastModifiedDate":"..." or nothing: an entity imported before the store had a clock has no
// dates, and the API's field is then absent rather than the epoch.
namespace {
std::string LastModifiedField(const EntityRow& e) {
  const std::string& at = e.updated_at.empty() ? e.created_at : e.updated_at;
  return at.empty() ? "" : ",\"LastModifiedDate\":" + JsonString(at);
}
}  // namespace

std::string DescribeEntity(const EntityRow& e) {
  return "{\"EntityType\":" + JsonString(e.type) + ",\"EntityIdentifier\":" + JsonString(e.id) +
         ",\"EntityArn\":" + JsonString(EntityArn(e.type, e.id)) +
         ",\"State\":" + JsonString(e.state) + ",\"Owner\":" + JsonString(e.owner) +
         ",\"Revision\":" + std::to_string(e.revision) + LastModifiedField(e) +
         (e.locked_by.empty() ? "" : ",\"LockedBy\":" + JsonString(e.locked_by)) +
         ",\"DetailsDocument\":" + e.document + "}";
}

std::string Catalog::DescribeChangeSet(const std::string& id) {
  auto cs = ReadChangeSet(*store_, id);
  if (!cs) return "";
  // The log keeps each DetailsDocument as sent; a field that named an earlier change's entity
  // ("$Name.Entity.Identifier", the whole string) is shown as the identifier it was given,
  // found by its text so that reading needs no policy. A free-text field whose whole value is that
  // text would be shown resolved too (the engine itself resolves by the input schema).
  for (const ChangeRow& named : cs->changes) {
    if (named.change_name.empty() || named.entity_id.empty()) continue;
    const std::string reference = JsonString("$" + named.change_name + ".Entity.Identifier");
    const std::string identifier = JsonString(named.entity_id);
    for (ChangeRow& c : cs->changes) {
      for (size_t at = c.details.find(reference); at != std::string::npos;
           at = c.details.find(reference, at + identifier.size()))
        c.details.replace(at, reference.size(), identifier);
    }
  }
  return engine::DescribeChangeSet(*cs, WaitingFor(*store_, *cs));
}

std::string Catalog::DescribeEntity(const std::string& id) {
  auto e = store_->GetEntity(id);
  return e ? engine::DescribeEntity(*e) : "";
}

std::string Catalog::ListChangeSets(const std::string& status, const std::string& entity,
                                    const std::string& change_type, const ListQuery& query) {
  std::vector<Filter> filters = CheckQuery(kChangeSetList, query);
  std::vector<ChangeSetRow> matching;
  for (ChangeSetRow& cs : store_->ListChangeSets(status, entity, change_type)) {
    bool match = true;
    for (const Filter& f : filters) {
      const std::string& name = f.spec->name;
      if (name == "ChangeSetName") {
        match = Any(*f.spec, cs.name);
      } else if (name == "Status") {
        match = Any(*f.spec, cs.status);
      } else if (name == "EntityId") {
        match = std::any_of(cs.changes.begin(), cs.changes.end(),
                            [&](const ChangeRow& c) { return Any(*f.spec, c.entity_id); });
      } else {
        match = TimeMatches(f, name.ends_with("StartTime") ? cs.started_at : cs.ended_at);
      }
      if (!match) break;
    }
    if (match) matching.push_back(std::move(cs));
  }
  // By time, not text (a time may carry a fraction); a set still open ends after every ended one.
  auto by = [&](const ChangeSetRow& cs) {
    if (query.sort_by == "EndTime") return cs.ended_at.empty() ? INT64_MAX : TimeOf(cs.ended_at);
    return TimeOf(cs.started_at);
  };
  std::string next;
  std::vector<ChangeSetRow> rows = Page<ChangeSetRow>(
      std::move(matching), [&] { return store_->ListChangeSets("", "", ""); },
      "cs\n" + status + "\n" + entity + "\n" + change_type, query, by, &next);
  std::string out = "{\"ChangeSetSummaryList\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& cs = rows[i];
    if (i) out += ",";
    std::string entities;
    for (const auto& c : cs.changes)
      entities += (entities.empty() ? "" : ",") + JsonString(c.entity_id);
    out += "{\"ChangeSetId\":" + JsonString(cs.id) +
           ",\"ChangeSetArn\":" + JsonString(ChangeSetArn(cs.id)) +
           (cs.name.empty() ? "" : ",\"ChangeSetName\":" + JsonString(cs.name)) +
           ",\"Status\":" + JsonString(cs.status) + ",\"StartTime\":" + JsonString(cs.started_at) +
           (cs.ended_at.empty() ? "" : ",\"EndTime\":" + JsonString(cs.ended_at)) +
           (cs.failure_code.empty() ? "" : ",\"FailureCode\":" + JsonString(cs.failure_code)) +
           ",\"EntityIdList\":[" + entities + "]}";
  }
  out += "]";
  if (!next.empty()) out += ",\"NextToken\":" + JsonString(next);
  return out + "}";
}

std::string Catalog::ListEntities(const std::string& type, const std::string& state,
                                  const ListQuery& query) {
  std::vector<Filter> filters = CheckQuery(kEntityList, query);
  std::vector<EntityRow> matching;
  for (EntityRow& e : store_->ListEntities(type, state)) {
    bool match = true;
    for (const Filter& f : filters) match = match && Any(*f.spec, e.id);  // EntityId, the only one.
    if (match) matching.push_back(std::move(e));
  }
  auto by = [&](const EntityRow& e) {
    return query.sort_by == "EntityId"
               ? e.id
               : std::string(e.updated_at.empty() ? e.created_at : e.updated_at);
  };
  std::string next;
  std::vector<EntityRow> rows = Page<EntityRow>(
      std::move(matching), [&] { return store_->ListEntities("", ""); },
      "entities\n" + type + "\n" + state, query, by, &next);
  std::string out = "{\"EntitySummaryList\":[";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& e = rows[i];
    if (i) out += ",";
    out += "{\"EntityType\":" + JsonString(e.type) + ",\"EntityId\":" + JsonString(e.id) +
           ",\"State\":" + JsonString(e.state) + ",\"Owner\":" + JsonString(e.owner) +
           ",\"Revision\":" + std::to_string(e.revision) + LastModifiedField(e) + "}";
  }
  out += "]";
  if (!next.empty()) out += ",\"NextToken\":" + JsonString(next);
  return out + "}";
}

std::string Catalog::History(const std::string& id) {
  std::string out = "{\"Events\":[";
  auto rows = store_->History(id);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& h = rows[i];
    if (i) out += ",";
    out += "{\"Seq\":" + std::to_string(h.seq) + ",\"At\":" + JsonString(h.at) +
           (h.change_set.empty() ? "" : ",\"ChangeSetId\":" + JsonString(h.change_set)) +
           (h.change_index < 0 ? "" : ",\"Change\":" + std::to_string(h.change_index)) +
           ",\"Entity\":" + JsonString(h.entity) + ",\"Event\":" + JsonString(h.event) +
           ",\"From\":" + JsonString(h.from_state) + ",\"To\":" + JsonString(h.to_state) +
           ",\"Actor\":" + JsonString(h.actor) + "}";
  }
  return out + "]}";
}

}  // namespace sellerflow::engine
