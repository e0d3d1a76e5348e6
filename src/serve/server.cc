// The Catalog API's operations on the engine, one writer thread with group commit, and the HTTP
// front (cpp-httplib) that verifies each request's signature before anything runs.
#include "src/serve/server.h"

#include <httplib.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "dsl/time.h"
#include "engine/base/limits.h"
#include "engine/base/log.h"
#include "engine/read/command.h"
#include "engine/run/describe.h"
#include "engine/run/views.h"
#include "engine/store/store.h"
#include "src/serve/console.h"

namespace sellerflow::serve {
namespace {

using nlohmann::json;

Response Error(int status, const std::string& type, const std::string& message) {
  Response r;
  r.status = status;
  r.error_type = type;
  r.body = json{{"message", message}, {"Message", message}}.dump();
  return r;
}

Response Ok(const json& body) {
  Response r;
  r.body = body.dump();
  return r;
}

// The HTTP status the Catalog API's model gives each error.
int StatusOf(const std::string& type) {
  static const std::map<std::string, int> kStatus = {
      {"ValidationException", 422},           {"AccessDeniedException", 403},
      {"ResourceNotFoundException", 404},     {"ResourceInUseException", 423},
      {"ServiceQuotaExceededException", 402}, {"ThrottlingException", 429},
      {"InternalServiceException", 500},      {"ResourceNotSupportedException", 415}};
  auto it = kStatus.find(type);
  return it == kStatus.end() ? 400 : it->second;
}

Response FromOutcome(const engine::Outcome& o) {
  if (o.result == engine::Result::kOk) return Response{200, "", ""};
  std::string type = o.error_type.empty() ? "ValidationException" : o.error_type;
  // The clients print only the message: it carries each violation with its field path.
  std::string message = o.message;
  json body = json::parse(o.body, nullptr, false);
  if (body.is_object() && body.contains("Violations") && body["Violations"].is_array())
    for (const json& v : body["Violations"])
      if (v.is_object())
        message += "; " +
                   (v.value("Path", "").empty() ? std::string("(body)") : v.value("Path", "")) +
                   ": " + v.value("Message", "");
  return Error(StatusOf(type), type, message);
}

// A command's violations as one ValidationException: the clients print only the message, so it
// carries each violation with its field path.
Response Violations(const std::vector<engine::Violation>& violations) {
  std::string message = std::to_string(violations.size()) + " problem" +
                        (violations.size() == 1 ? "" : "s") + " with the request";
  for (const auto& v : violations)
    message += "; " + (v.path.empty() ? std::string("(body)") : v.path) + ": " + v.message;
  return Error(422, "ValidationException", message);
}

// Whether `actor` may see what `owner` (an actor) made or owns: its own account, or operations;
// the console asks the same.
bool MaySee(const std::string& actor, const std::string& owner) {
  return engine::ActorMaySee(actor, owner);
}

const std::string* Param(const std::vector<std::pair<std::string, std::string>>& query,
                         const char* name) {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

// The catalog a request names: AWSMarketplace, or an error.
bool CheckCatalog(const json* value, Response* error) {
  if (value == nullptr || !value->is_string()) {
    *error = Error(422, "ValidationException", "Catalog is required: AWSMarketplace");
    return false;
  }
  if (value->get<std::string>() != "AWSMarketplace") {
    *error = Error(422, "ValidationException",
                   "Catalog must be AWSMarketplace, not '" + value->get<std::string>() + "'");
    return false;
  }
  return true;
}

// Both forms of each change's details, for clients that know only the `Details` string.
void AddDetailsStrings(json* doc) {
  if (doc->contains("DetailsDocument") && !doc->contains("Details"))
    (*doc)["Details"] = (*doc)["DetailsDocument"].dump();
  if (doc->contains("ChangeSet") && (*doc)["ChangeSet"].is_array())
    for (auto& change : (*doc)["ChangeSet"])
      if (change.contains("DetailsDocument") && !change.contains("Details"))
        change["Details"] = change["DetailsDocument"].dump();
}

// A page of `items` after the cursor `token` (the last id of the previous page): ids are stable,
// so a page stays correct while new items arrive.
Response Page(const json& items, const char* list_name, const char* id_name, const json& body,
              size_t max_cap) {
  size_t max = 20;
  if (body.contains("MaxResults")) {
    const json& m = body["MaxResults"];
    if (!m.is_number_integer() || m.get<int64_t>() < 1 ||
        m.get<int64_t>() > static_cast<int64_t>(max_cap))
      return Error(422, "ValidationException",
                   "MaxResults must be a whole number from 1 to " + std::to_string(max_cap));
    max = m.get<size_t>();
  }
  size_t start = 0;
  if (body.contains("NextToken") && !body["NextToken"].is_null()) {
    const json& t = body["NextToken"];
    std::string token = t.is_string() ? t.get<std::string>() : "";
    bool found = false;
    if (token.rfind("after:", 0) == 0) {
      const std::string after = token.substr(6);
      for (size_t i = 0; i < items.size(); ++i)
        if (items[i][id_name] == after) {
          start = i + 1;
          found = true;
          break;
        }
    }
    if (!found) return Error(422, "ValidationException", "NextToken is not one this server gave");
  }
  json page = json::array();
  for (size_t i = start; i < items.size() && page.size() < max; ++i) page.push_back(items[i]);
  json out = {{list_name, page}};
  if (start + page.size() < items.size())
    out["NextToken"] = "after:" + page.back()[id_name].get<std::string>();
  return Ok(out);
}

// FilterList: [{"Name": ..., "ValueList": [...]}], each name known, values strings.
bool ReadFilters(const json& body, const std::vector<std::string>& known,
                 std::map<std::string, std::vector<std::string>>* filters, Response* error) {
  if (!body.contains("FilterList")) return true;
  const json& list = body["FilterList"];
  if (!list.is_array() || list.empty() || list.size() > 8) {
    *error = Error(422, "ValidationException", "FilterList must be a list of 1 to 8 filters");
    return false;
  }
  for (const json& f : list) {
    if (!f.is_object() || !f.contains("Name") || !f["Name"].is_string() ||
        !f.contains("ValueList") || !f["ValueList"].is_array() || f["ValueList"].empty() ||
        f["ValueList"].size() > 10) {
      *error = Error(422, "ValidationException",
                     "each filter needs a Name and a ValueList of 1 to 10 strings");
      return false;
    }
    const std::string name = f["Name"].get<std::string>();
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string all;
      for (const auto& k : known) all += (all.empty() ? "" : ", ") + k;
      *error = Error(422, "ValidationException",
                     "unknown filter '" + name + "'; the filters are " + all);
      return false;
    }
    for (const json& v : f["ValueList"]) {
      if (!v.is_string()) {
        *error = Error(422, "ValidationException", "filter values are strings");
        return false;
      }
      (*filters)[name].push_back(v.get<std::string>());
    }
  }
  return true;
}

// Sort: {"SortBy", "SortOrder"}, SortBy one of `bys` (the first the default), SortOrder ASCENDING
// or DESCENDING (default `order`).
struct SortSpec {
  std::string by, order;
};

bool ReadSort(const json& body, const std::vector<std::string>& bys, const char* order,
              SortSpec* sort, Response* error) {
  sort->by = bys.front();
  sort->order = order;
  if (!body.contains("Sort")) return true;
  const json& s = body["Sort"];
  if (!s.is_object()) {
    *error = Error(422, "ValidationException", "Sort must be an object");
    return false;
  }
  sort->by = s.value("SortBy", sort->by);
  sort->order = s.value("SortOrder", sort->order);
  if (std::find(bys.begin(), bys.end(), sort->by) == bys.end()) {
    *error = Error(422, "ValidationException", "Sort.SortBy must be " + bys[0] + " or " + bys[1]);
    return false;
  }
  if (sort->order != "ASCENDING" && sort->order != "DESCENDING") {
    *error = Error(422, "ValidationException", "Sort.SortOrder must be ASCENDING or DESCENDING");
    return false;
  }
  return true;
}

// Sorts by the field, then by the id, so that ties fall the same way on every page.
void SortItems(json* items, const SortSpec& sort, const char* id_name) {
  const bool ascending = sort.order == "ASCENDING";
  std::stable_sort(items->begin(), items->end(), [&](const json& a, const json& c) {
    std::string x = a.value(sort.by, ""), y = c.value(sort.by, "");
    if (x == y) {
      x = a[id_name].get<std::string>();
      y = c[id_name].get<std::string>();
    }
    return ascending ? x < y : x > y;
  });
}

// Seconds since the epoch, whole.
int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool AnyOf(const std::vector<std::string>& values, const std::string& v) {
  return std::find(values.begin(), values.end(), v) != values.end();
}

}  // namespace

std::vector<AccessKey> LoadCredentials(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::invalid_argument("cannot read the credentials file " + path);
  std::stringstream text;
  text << in.rdbuf();
  json doc = json::parse(text.str(), nullptr, false);
  auto fail = [&](const std::string& where, const std::string& what) {
    throw std::invalid_argument(path + ": " + where + ": " + what);
  };
  if (doc.is_discarded()) fail("(file)", "not JSON");
  if (!doc.is_object() || !doc.contains("Keys") || !doc["Keys"].is_array())
    fail("Keys", "expected {\"Keys\": [{\"AccessKeyId\", \"SecretAccessKey\", \"Actor\"}, ...]}");
  std::vector<AccessKey> keys;
  for (size_t i = 0; i < doc["Keys"].size(); ++i) {
    const json& k = doc["Keys"][i];
    const std::string at = "Keys[" + std::to_string(i) + "]";
    if (!k.is_object()) fail(at, "expected an object");
    AccessKey key;
    for (auto [name, out] :
         {std::pair<const char*, std::string*>{"AccessKeyId", &key.access_key_id},
          {"SecretAccessKey", &key.secret_access_key},
          {"Actor", &key.actor}}) {
      if (!k.contains(name) || !k[name].is_string() || k[name].get<std::string>().empty())
        fail(at + "." + name, "a non-empty string is required");
      *out = k[name].get<std::string>();
    }
    if (!engine::ValidActor(key.actor))
      fail(at + ".Actor",
           "must be seller:<12 digits>, buyer:<12 digits> or operations, not '" + key.actor + "'");
    for (const AccessKey& other : keys)
      if (other.access_key_id == key.access_key_id)
        fail(at + ".AccessKeyId", "'" + key.access_key_id + "' is given twice");
    keys.push_back(std::move(key));
  }
  if (keys.empty()) fail("Keys", "no keys: nobody could sign a request");
  return keys;
}

bool Service::FireDueTimers(int64_t now_us) {
  if (engine_->store()->DueTimers(now_us).empty()) return false;
  engine::Command c;
  c.op = engine::Op::kTick;
  c.actor = "operations";
  c.at = dsl::FormatTimestamp(now_us);
  c.at_us = now_us;
  engine_->Execute(c);
  return true;
}

Response Service::Handle(const std::string& method, const std::string& path,
                         const std::vector<std::pair<std::string, std::string>>& query,
                         const std::string& body, const std::string& actor, int64_t now_us) {
  engine::Store* store = engine_->store();
  engine::Catalog catalog(store);
  const std::string now = dsl::FormatTimestamp(now_us);
  auto route = [&](const char* m, const char* p) { return method == m && path == p; };
  auto query_catalog = [&](Response* error) {
    const std::string* c = Param(query, "catalog");
    json value = c ? json(*c) : json();
    return CheckCatalog(c ? &value : nullptr, error);
  };
  auto json_body = [&](json* out, Response* error) {
    *out = json::parse(body, nullptr, false);
    if (out->is_discarded() || !out->is_object()) {
      *error = Error(422, "ValidationException", "the request body is not a JSON object");
      return false;
    }
    return true;
  };
  Response error;
  // Who acts is who signed, and when is the server's clock, whatever a body says.
  auto stamp = [&](engine::Command* c) {
    c->actor = actor;
    c->at = now;
    c->at_us = now_us;
  };

  if (route("POST", "/StartChangeSet")) {
    engine::Command c;
    std::vector<engine::Violation> violations;
    if (!engine::ParseStartChangeSetBody(body, &c, &violations)) return Violations(violations);
    stamp(&c);
    // The answer is two fields: the engine need not build the whole change set's description.
    struct Quiet {
      engine::Engine* e;
      ~Quiet() { e->set_respond(true); }
    } quiet{engine_};
    engine_->set_respond(false);
    engine::Outcome o = engine_->Execute(c);
    if (o.result != engine::Result::kOk) return FromOutcome(o);
    return Ok({{"ChangeSetId", o.change_set_id},
               {"ChangeSetArn", engine::ChangeSetArn(o.change_set_id)}});
  }
  if (route("GET", "/DescribeChangeSet") || route("PATCH", "/CancelChangeSet")) {
    if (!query_catalog(&error)) return error;
    const std::string* id = Param(query, "changeSetId");
    if (id == nullptr || id->empty())
      return Error(422, "ValidationException", "changeSetId is required");
    std::optional<engine::ChangeSetRow> row = store->GetChangeSet(*id);
    if (!row || !MaySee(actor, row->actor))
      return Error(404, "ResourceNotFoundException", "ChangeSet " + *id + " not found");
    if (method == "PATCH") {
      engine::Command c;
      c.op = engine::Op::kCancelChangeSet;
      c.change_set_id = *id;
      stamp(&c);
      engine::Outcome o = engine_->Execute(c);
      if (o.result != engine::Result::kOk) return FromOutcome(o);
    }
    json doc = json::parse(catalog.DescribeChangeSet(*id), nullptr, false);
    if (method == "PATCH")
      return Ok({{"ChangeSetId", *id}, {"ChangeSetArn", doc.value("ChangeSetArn", "")}});
    AddDetailsStrings(&doc);
    return Ok(doc);
  }
  if (route("GET", "/DescribeEntity")) {
    if (!query_catalog(&error)) return error;
    const std::string* id = Param(query, "entityId");
    if (id == nullptr || id->empty())
      return Error(422, "ValidationException", "entityId is required");
    std::optional<engine::EntityRow> row = store->GetEntity(*id);
    if (!row || !MaySee(actor, row->owner))
      return Error(404, "ResourceNotFoundException", "Entity " + *id + " not found");
    json doc = json::parse(catalog.DescribeEntity(*id), nullptr, false);
    AddDetailsStrings(&doc);
    return Ok(doc);
  }
  if (route("POST", "/ListChangeSets")) {
    json b;
    if (!json_body(&b, &error)) return error;
    if (!CheckCatalog(b.contains("Catalog") ? &b["Catalog"] : nullptr, &error)) return error;
    std::map<std::string, std::vector<std::string>> filters;
    if (!ReadFilters(b,
                     {"ChangeSetName", "Status", "EntityId", "BeforeStartTime", "AfterStartTime",
                      "BeforeEndTime", "AfterEndTime"},
                     &filters, &error))
      return error;
    json all = json::parse(catalog.ListChangeSets("", "", ""), nullptr, false);
    json items = json::array();
    for (json& s : all["ChangeSetSummaryList"]) {
      const std::string id = s["ChangeSetId"].get<std::string>();
      std::optional<engine::ChangeSetRow> row = store->GetChangeSet(id);
      if (!row || !MaySee(actor, row->actor)) continue;
      s["ChangeSetName"] = row->name;
      if (!row->failure_code.empty()) s["FailureCode"] = row->failure_code;
      bool keep = true;
      for (const auto& [name, values] : filters) {
        const std::string start = s.value("StartTime", ""), end = s.value("EndTime", "");
        if (name == "Status") keep = keep && AnyOf(values, s.value("Status", ""));
        if (name == "ChangeSetName") keep = keep && AnyOf(values, row->name);
        if (name == "EntityId") {
          bool any = false;
          for (const auto& e : s["EntityIdList"]) any = any || AnyOf(values, e.get<std::string>());
          keep = keep && any;
        }
        // Times are fixed-width UTC text, so they compare as strings.
        if (name == "BeforeStartTime") keep = keep && start < values[0];
        if (name == "AfterStartTime") keep = keep && start > values[0];
        if (name == "BeforeEndTime") keep = keep && !end.empty() && end < values[0];
        if (name == "AfterEndTime") keep = keep && !end.empty() && end > values[0];
      }
      if (keep) items.push_back(s);
    }
    SortSpec sort;
    if (!ReadSort(b, {"StartTime", "EndTime"}, "DESCENDING", &sort, &error)) return error;
    SortItems(&items, sort, "ChangeSetId");
    return Page(items, "ChangeSetSummaryList", "ChangeSetId", b, 20);
  }
  if (route("POST", "/ListEntities")) {
    json b;
    if (!json_body(&b, &error)) return error;
    if (!CheckCatalog(b.contains("Catalog") ? &b["Catalog"] : nullptr, &error)) return error;
    if (!b.contains("EntityType") || !b["EntityType"].is_string())
      return Error(422, "ValidationException", "EntityType is required");
    const std::string type = b["EntityType"].get<std::string>();
    std::map<std::string, std::vector<std::string>> filters;
    if (!ReadFilters(b, {"EntityId"}, &filters, &error)) return error;
    if (b.contains("OwnershipType") &&
        !(b["OwnershipType"] == "SELF" || b["OwnershipType"] == "SHARED"))
      return Error(422, "ValidationException", "OwnershipType must be SELF or SHARED");
    if (b.contains("EntityTypeFilters") || b.contains("EntityTypeSort"))
      return Error(422, "ValidationException",
                   "EntityTypeFilters and EntityTypeSort name other product kinds' fields; "
                   "use FilterList and Sort");
    // Nothing is shared through RAM here: SHARED lists nothing.
    const bool shared = b.value("OwnershipType", "SELF") == "SHARED";
    json all = json::parse(catalog.ListEntities("", ""), nullptr, false);
    json items = json::array();
    for (json& e : all["EntitySummaryList"]) {
      const std::string full = e["EntityType"].get<std::string>();
      if (shared || (full != type && full.substr(0, full.find('@')) != type)) continue;
      if (!MaySee(actor, e.value("Owner", ""))) continue;
      if (filters.count("EntityId") && !AnyOf(filters["EntityId"], e["EntityId"])) continue;
      e["EntityArn"] = engine::EntityArn(full, e["EntityId"].get<std::string>());
      items.push_back(e);
    }
    SortSpec sort;
    if (!ReadSort(b, {"LastModifiedDate", "EntityId"}, "ASCENDING", &sort, &error)) return error;
    SortItems(&items, sort, "EntityId");
    return Page(items, "EntitySummaryList", "EntityId", b, 50);
  }
  if (route("POST", "/BatchDescribeEntities")) {
    json b;
    if (!json_body(&b, &error)) return error;
    if (!b.contains("EntityRequestList") || !b["EntityRequestList"].is_array() ||
        b["EntityRequestList"].empty() || b["EntityRequestList"].size() > 20)
      return Error(422, "ValidationException", "EntityRequestList must hold 1 to 20 requests");
    json found = json::object(), errors = json::object();
    for (const json& r : b["EntityRequestList"]) {
      if (!r.is_object() || !r.contains("EntityId") || !r["EntityId"].is_string())
        return Error(422, "ValidationException", "each request needs Catalog and EntityId");
      if (!CheckCatalog(r.contains("Catalog") ? &r["Catalog"] : nullptr, &error)) return error;
      const std::string id = r["EntityId"].get<std::string>();
      std::optional<engine::EntityRow> row = store->GetEntity(id);
      if (!row || !MaySee(actor, row->owner)) {
        errors[id] = {{"ErrorCode", "ResourceNotFoundException"},
                      {"ErrorMessage", "Entity " + id + " not found"}};
        continue;
      }
      json doc = json::parse(catalog.DescribeEntity(id), nullptr, false);
      AddDetailsStrings(&doc);
      found[id] = doc;
    }
    return Ok({{"EntityDetails", found}, {"Errors", errors}});
  }
  // Tags and resource policies. The writes are commands, so that the log (and a replay of it)
  // holds them; the reads look at the store. A resource another account owns is not found, as
  // DescribeChangeSet and DescribeEntity answer.
  const bool tag_write = route("POST", "/TagResource") || route("POST", "/UntagResource") ||
                         route("POST", "/PutResourcePolicy");
  if (tag_write || route("DELETE", "/DeleteResourcePolicy")) {
    json line = json::object();
    if (tag_write) {
      if (!json_body(&line, &error)) return error;
      // The body is the command's line but for op, Actor and At: the route, the signature and the
      // clock give those.
      for (const char* reserved : {"op", "Actor", "At", "Outcome"})
        if (line.contains(reserved))
          return Error(422, "ValidationException",
                       std::string(reserved) + ": is not a field of " + path.substr(1));
    } else {
      const std::string* arn = Param(query, "resourceArn");
      if (arn == nullptr || arn->empty())
        return Error(422, "ValidationException", "resourceArn is required");
      line["ResourceArn"] = *arn;
    }
    line["op"] = path == "/TagResource"         ? "tag-resource"
                 : path == "/UntagResource"     ? "untag-resource"
                 : path == "/PutResourcePolicy" ? "put-resource-policy"
                                                : "delete-resource-policy";
    engine::Command c;
    std::vector<engine::Violation> violations;
    if (!engine::ParseCommand(line.dump(), std::nullopt, &c, &violations))
      return Violations(violations);
    stamp(&c);
    engine::Outcome o = engine_->Execute(c);
    if (o.result != engine::Result::kOk) return FromOutcome(o);
    return Ok(json::object());
  }
  if (route("POST", "/ListTagsForResource") || route("GET", "/GetResourcePolicy")) {
    std::string arn;
    if (method == "POST") {
      json b;
      if (!json_body(&b, &error)) return error;
      if (!b.contains("ResourceArn") || !b["ResourceArn"].is_string() ||
          b["ResourceArn"].get<std::string>().empty())
        return Error(422, "ValidationException", "ResourceArn is required");
      arn = b["ResourceArn"].get<std::string>();
    } else {
      const std::string* a = Param(query, "resourceArn");
      if (a == nullptr || a->empty())
        return Error(422, "ValidationException", "resourceArn is required");
      arn = *a;
    }
    // The engine's reads, which the CLI's list-tags-for-resource and get-resource-policy share, so
    // that both decide who may see a resource alike.
    const engine::ResourceRead read = method == "POST"
                                          ? engine::ListTagsForResource(*store, arn, actor)
                                          : engine::GetResourcePolicy(*store, arn, actor);
    if (read.body.empty()) return Error(404, "ResourceNotFoundException", read.not_found);
    Response r;
    r.body = read.body;
    return r;
  }
  // sellerflow's own operations, in the same style: Seller Operations' review, and the clock.
  if (route("POST", "/sellerflow/Review") || route("POST", "/sellerflow/Tick")) {
    json b;
    if (!json_body(&b, &error)) return error;
    engine::Command c;
    c.actor = actor;
    if (path == "/sellerflow/Review") {
      c.op = engine::Op::kReview;
      c.change_set_id = b.value("ChangeSetId", "");
      c.decision = b.value("Decision", "");
      c.reason = b.value("Reason", "");
      if (c.change_set_id.empty() || (c.decision != "approve" && c.decision != "reject"))
        return Error(422, "ValidationException",
                     "Review needs ChangeSetId and a Decision, approve or reject");
      stamp(&c);
    } else {
      if (!options_.manual_clock)
        return Error(
            422, "ValidationException",
            "the clock is the wall clock; Tick needs a server started with --clock manual");
      if (actor != "operations")
        return Error(403, "AccessDeniedException", "only operations may move the clock");
      c.op = engine::Op::kTick;
      c.at = b.value("To", "");
      if (!engine::ParseAt(c.at, &c.at_us))
        return Error(422, "ValidationException", "To must be an RFC 3339 time");
    }
    engine::Outcome o = engine_->Execute(c);
    if (o.result != engine::Result::kOk) return FromOutcome(o);
    Response r;
    r.body = o.body.empty() ? "{}" : o.body;
    return r;
  }
  static const char* kKnown[] = {"/StartChangeSet",       "/DescribeChangeSet",
                                 "/CancelChangeSet",      "/DescribeEntity",
                                 "/ListChangeSets",       "/ListEntities",
                                 "/TagResource",
                                 "/UntagResource",        "/ListTagsForResource",
                                 "/PutResourcePolicy",    "/GetResourcePolicy",
                                 "/DeleteResourcePolicy", "/sellerflow/Review",
                                 "/sellerflow/Tick"};
  for (const char* known : kKnown)
    if (path == known)
      return Error(405, "ValidationException", method + " is not the method of " + path);
  return Error(404, "UnknownOperationException", "no operation at " + method + " " + path);
}

namespace {

// Prometheus metrics: requests by operation and status, request latency, commit group sizes, and
// how many requests wait for the writer. Thread-safe.
class Metrics {
 public:
  void Request(const std::string& op, int status, double seconds) {
    std::lock_guard<std::mutex> lock(mu_);
    ++requests_[{op, status}];
    Observe(&latency_, kLatencyBounds, seconds);
  }
  void Group(size_t size) {
    std::lock_guard<std::mutex> lock(mu_);
    Observe(&groups_, kGroupBounds, static_cast<double>(size));
  }
  void Waiting(int64_t delta) { waiting_ += delta; }

  std::string Text() {
    std::lock_guard<std::mutex> lock(mu_);
    std::string out =
        "# HELP sellerflow_requests_total Requests answered, by operation and HTTP status.\n"
        "# TYPE sellerflow_requests_total counter\n";
    for (const auto& [key, n] : requests_)
      out += "sellerflow_requests_total{operation=\"" + key.first + "\",status=\"" +
             std::to_string(key.second) + "\"} " + std::to_string(n) + "\n";
    out += Histogram("sellerflow_request_seconds", "Time from a request's arrival to its answer.",
                     latency_, kLatencyBounds);
    out += Histogram("sellerflow_commit_group_size", "Requests committed together.", groups_,
                     kGroupBounds);
    out +=
        "# HELP sellerflow_writer_queue_depth Requests waiting for the writer.\n"
        "# TYPE sellerflow_writer_queue_depth gauge\n"
        "sellerflow_writer_queue_depth " +
        std::to_string(waiting_.load()) + "\n";
    return out;
  }

 private:
  struct Buckets {
    std::vector<uint64_t> counts;  // One per bound, then +Inf.
    double sum = 0;
    uint64_t count = 0;
  };
  static constexpr double kLatencyBounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01,
                                              0.025,  0.05,  0.1,    0.25,  1};
  static constexpr double kGroupBounds[] = {1, 2, 4, 8, 16, 32, 64};

  template <size_t N>
  static void Observe(Buckets* b, const double (&bounds)[N], double v) {
    if (b->counts.empty()) b->counts.assign(N + 1, 0);
    size_t i = 0;
    while (i < N && v > bounds[i]) ++i;
    ++b->counts[i];
    b->sum += v;
    ++b->count;
  }
  template <size_t N>
  static std::string Histogram(const char* name, const char* help, const Buckets& b,
                               const double (&bounds)[N]) {
    std::string out =
        std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " histogram\n";
    uint64_t running = 0;
    char le[32];
    for (size_t i = 0; i <= N; ++i) {
      running += b.counts.empty() ? 0 : b.counts[i];
      if (i < N)
        std::snprintf(le, sizeof le, "%g", bounds[i]);
      else
        std::snprintf(le, sizeof le, "+Inf");
      out += std::string(name) + "_bucket{le=\"" + le + "\"} " + std::to_string(running) + "\n";
    }
    char sum[64];
    std::snprintf(sum, sizeof sum, "%.6f", b.sum);
    out += std::string(name) + "_sum " + sum + "\n" + name + "_count " + std::to_string(b.count) +
           "\n";
    return out;
  }

  std::mutex mu_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  Buckets latency_, groups_;
  std::atomic<int64_t> waiting_{0};
};

// Runs jobs on the engine, one at a time, committing each group of jobs that waited together at
// once (each its own savepoint): a response is released only after its commit.
class Writer {
 public:
  Writer(engine::Engine* engine, Service* service, const ServeOptions& options, Metrics* metrics)
      : engine_(engine), service_(service), options_(options), metrics_(metrics) {
    int64_t us = 0;
    if (engine::ParseAt(engine_->store()->Clock(), &us)) clock_us_ = us;
    thread_ = std::thread([this] { Loop(); });
  }
  ~Writer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  // Runs `fn` at the server's clock; blocks until its group committed.
  Response Run(std::function<Response(int64_t now_us)> fn) {
    Job job{std::move(fn), {}};
    std::future<Response> done = job.done.get_future();
    metrics_->Waiting(1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(&job);
    }
    cv_.notify_one();
    Response r = done.get();
    metrics_->Waiting(-1);
    return r;
  }

 private:
  struct Job {
    std::function<Response(int64_t)> fn;
    std::promise<Response> done;
  };

  // The wall clock in whole seconds (manual: the store's clock), never behind the store's clock:
  // other processes move it too (a command line's --at, a host whose clock is ahead), and a
  // command before it would be refused. Read under the write lock, so that no process moves it
  // between this read and the batch's commands.
  int64_t Now() {
    int64_t us = 0;
    if (engine::ParseAt(engine_->store()->Clock(), &us)) clock_us_ = std::max(clock_us_, us);
    if (!options_.manual_clock)
      clock_us_ = std::max(clock_us_, WallSeconds() * dsl::kMicrosPerSecond);
    return clock_us_;
  }

  void Loop() {
    for (;;) {
      std::vector<Job*> group;
      bool stopping;
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait_for(lock, std::chrono::seconds(1),
                     [this] { return stopping_ || !queue_.empty(); });
        group.assign(queue_.begin(), queue_.end());
        queue_.clear();
        stopping = stopping_;
      }
      std::vector<Response> answers(group.size());
      try {
        // A look before the lock, to leave an idle store alone; the batch decides under it.
        const bool timers = !options_.manual_clock && !engine_->store()->DueTimers(Now()).empty();
        if (!group.empty() || timers) {
          engine_->store()->BeginBatch();
          const int64_t now = Now();
          if (timers) service_->FireDueTimers(now);
          for (size_t i = 0; i < group.size(); ++i) answers[i] = group[i]->fn(now);
          engine_->store()->CommitBatch();
          if (!group.empty()) metrics_->Group(group.size());
        }
      } catch (const std::exception& e) {
        for (auto& a : answers)
          a = Error(500, "InternalServiceException", std::string("the store failed: ") + e.what());
      }
      for (size_t i = 0; i < group.size(); ++i) group[i]->done.set_value(std::move(answers[i]));
      if (stopping) {
        std::lock_guard<std::mutex> lock(mu_);
        if (queue_.empty()) return;
      }
    }
  }

  engine::Engine* engine_;
  Service* service_;
  const ServeOptions& options_;
  Metrics* metrics_;
  int64_t clock_us_ = 0;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job*> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

// x-amzn-RequestId: a UUID's shape, from a counter (no random number; it is not state).
std::string RequestId() {
  static std::atomic<uint64_t> next{1};
  const uint64_t n = next++;
  char buf[48];
  std::snprintf(buf, sizeof buf, "00000000-0000-4000-8000-%012llx",
                static_cast<unsigned long long>(n & 0xffffffffffffULL));
  return buf;
}

std::vector<std::pair<std::string, std::string>> DecodedQuery(const std::string& target) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t q = target.find('?');
  if (q == std::string::npos) return out;
  std::string rest = target.substr(q + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t amp = rest.find('&', start);
    std::string item =
        rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    if (!item.empty()) {
      size_t eq = item.find('=');
      out.emplace_back(
          httplib::detail::decode_url(item.substr(0, eq), false),
          eq == std::string::npos ? "" : httplib::detail::decode_url(item.substr(eq + 1), false));
    }
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

// The stop pipe's writing end, for the signal handler (which may use only async-signal-safe calls).
volatile sig_atomic_t stop_pipe_write = -1;

void OnStopSignal(int) {
  const int saved = errno;
  if (stop_pipe_write >= 0) {
    const char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(stop_pipe_write, &byte, 1);
  }
  errno = saved;
}

}  // namespace

int Serve(const ServeOptions& options, engine::Engine* engine, std::vector<AccessKey> keys) {
  // SIGTERM and SIGINT write a byte to a pipe that one thread waits on to stop the server. A handler
  // rather than a blocked mask and sigwait: a thread started before this one (a sanitizer's, a
  // library's) would not have the mask, and the signal's default action would kill the process.
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("cannot create the stop pipe");
  stop_pipe_write = fds[1];
  struct sigaction action = {};
  action.sa_handler = OnStopSignal;
  action.sa_flags = SA_RESTART;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);

  std::unique_ptr<httplib::Server> server;
  if (!options.tls_cert.empty())
    server =
        std::make_unique<httplib::SSLServer>(options.tls_cert.c_str(), options.tls_key.c_str());
  else
    server = std::make_unique<httplib::Server>();
  if (!server->is_valid())
    throw std::runtime_error("cannot use the TLS certificate " + options.tls_cert + " and key " +
                             options.tls_key);
  const int threads = options.threads;
  server->new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  server->set_read_timeout(options.read_timeout_seconds, 0);
  server->set_write_timeout(options.read_timeout_seconds, 0);
  server->set_keep_alive_timeout(options.read_timeout_seconds);
  server->set_payload_max_length(options.max_body_bytes);
  // Answers go out in more than one write: without TCP_NODELAY, Nagle's algorithm and the client's
  // delayed ACK hold each one back by tens of milliseconds.
  server->set_tcp_nodelay(true);
  // cpp-httplib closes a keep-alive connection after 5 requests by default; a client that has sent
  // its next request by then sees the connection drop under it.
  server->set_keep_alive_max_count(1000000);

  Service service(engine, options);
  Metrics metrics;
  Writer writer(engine, &service, options, &metrics);
  std::map<std::string, AccessKey> by_id;
  for (auto& k : keys) by_id.emplace(k.access_key_id, k);
  const KeyLookup lookup = [&by_id](std::string_view id) -> const AccessKey* {
    auto it = by_id.find(std::string(id));
    return it == by_id.end() ? nullptr : &it->second;
  };

  auto handle = [&](const httplib::Request& req, httplib::Response& res) {
    const auto started = std::chrono::steady_clock::now();
    const std::string request_id = RequestId();
    res.set_header("x-amzn-RequestId", request_id);
    std::string actor_seen = "-";
    // The access log and the metrics see every answer, refused ones too.
    auto send = [&](const Response& r) {
      res.status = r.status;
      if (!r.error_type.empty()) res.set_header("x-amzn-ErrorType", r.error_type);
      res.set_content(r.body, "application/json");
      const double seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      const std::string op =
          req.path.size() > 1 && req.path.size() < 64 ? req.path.substr(1) : "other";
      metrics.Request(op, r.status, seconds);
      const std::string status = std::to_string(r.status);
      char ms[32];
      std::snprintf(ms, sizeof ms, "%.3f", seconds * 1000);
      engine::LogEvent(engine::LogLevel::kInfo, {{"event", "request"},
                                                 {"method", req.method},
                                                 {"path", req.path},
                                                 {"status", status},
                                                 {"error", r.error_type},
                                                 {"actor", actor_seen},
                                                 {"ms", ms},
                                                 {"remote", req.remote_addr},
                                                 {"request_id", request_id}});
    };
    if (req.method == "GET" && req.path == "/ping") {
      res.set_content("ok\n", "text/plain");
      return;
    }
    if (req.method == "GET" && req.path == "/metrics") {
      res.set_content(metrics.Text(), "text/plain; version=0.0.4");
      return;
    }
    const std::string& target = req.target;
    const size_t q = target.find('?');
    RawRequest raw;
    raw.method = req.method;
    raw.path = std::string_view(target).substr(0, q);
    raw.query =
        q == std::string::npos ? std::string_view() : std::string_view(target).substr(q + 1);
    raw.body = req.body;
    for (const auto& [k, v] : req.headers) raw.headers.emplace_back(k, v);
    SigV4Result auth = VerifySigV4(raw, lookup, WallSeconds());
    if (!auth.ok) {
      send(Error(auth.status, auth.error_code, auth.message));
      return;
    }
    const std::string path(raw.path);
    const std::string actor = auth.key->actor;
    actor_seen = actor;
    const auto query = DecodedQuery(target);
    send(writer.Run([&](int64_t now_us) {
      return service.Handle(req.method, path, query, req.body, actor, now_us);
    }));
  };
  Console console(options, keys, &service, engine,
                  [&writer](std::function<Response(int64_t)> fn) { return writer.Run(std::move(fn)); });
  console.Register(server.get());
  server->Get(".*", handle);
  server->Post(".*", handle);
  server->Patch(".*", handle);
  server->Put(".*", handle);
  server->Delete(".*", handle);

  // cpp-httplib listens with a backlog of 5: sixty-four clients connecting at once overflow it, and
  // the connections the kernel drops fail at their first read. The socket is kept to listen on it
  // again with the system's backlog once bound.
  int listening_socket = -1;
  server->set_socket_options([&listening_socket](int sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    listening_socket = sock;
  });
  const int port = options.port == 0
                       ? server->bind_to_any_port(options.host)
                       : (server->bind_to_port(options.host, options.port) ? options.port : -1);
  if (port < 0)
    throw std::runtime_error("cannot listen on " + options.host + ":" +
                             std::to_string(options.port));
  if (listening_socket >= 0) ::listen(listening_socket, SOMAXCONN);
  std::thread stopper([&] {
    char byte;
    while (::read(fds[0], &byte, 1) < 0 && errno == EINTR) {
    }
    server->stop();
  });
  if (options.on_listening) options.on_listening(port);
  server->listen_after_bind();
  // listen_after_bind returns once stopped; if it failed on its own, the stopper still waits.
  OnStopSignal(0);
  stopper.join();
  signal(SIGTERM, SIG_DFL);
  signal(SIGINT, SIG_DFL);
  stop_pipe_write = -1;
  ::close(fds[0]);
  ::close(fds[1]);
  return 0;
}

}  // namespace sellerflow::serve
