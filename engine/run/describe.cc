// The read commands' answers, shaped like the Catalog API's responses, from the store alone.
#include "engine/run/describe.h"

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>
#include <vector>

#include "dsl/utf8.h"
#include "engine/model/load.h"
#include "engine/read/command.h"

namespace sellerflow::engine {
namespace {

std::string Json(std::string_view s) {
  std::string out;
  dsl::AppendJsonString(s, &out);
  return out;
}

std::string Arn(const std::string& kind, const std::string& id) {
  // The Catalog API's form: the service is aws-marketplace, its signing name.
  return "arn:aws:aws-marketplace:us-east-1:000000000000:" + kind + "/" + id;
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
  for (ChangeRow& c : cs->changes)
    c.details = started.changes[static_cast<size_t>(c.index)].details;
}

std::string ChangeSetArn(const std::string& id) { return Arn("AWSMarketplace/ChangeSet", id); }

std::string EntityArn(const std::string& entity_type, const std::string& id) {
  return Arn("AWSMarketplace/" + entity_type.substr(0, entity_type.find('@')), id);
}

std::string WaitingFor(Store& store, const ChangeSetRow& cs) {
  if (cs.status != "PREPARING" && cs.status != "APPLYING") return "";
  // The definitions by hash, read once each; a machine points into its source.
  std::deque<dsl::Source> sources;
  std::map<std::string, std::unique_ptr<Machine>> machines;
  const auto machine_of = [&](const ChangeRow& c) -> const Machine* {
    auto it = machines.find(c.machine_hash);
    if (it != machines.end()) return it->second.get();
    std::unique_ptr<Machine>& m = machines[c.machine_hash];
    auto text = c.machine_hash.empty() ? std::nullopt : store.GetDefinition(c.machine_hash);
    if (!text) return nullptr;  // Started before definitions were kept: nothing to say.
    sources.push_back({"(pinned " + c.machine_hash.substr(0, 12) + ")", *text});
    dsl::Diagnostics ignored;
    m = LoadMachineOutline(sources.back(), &ignored);
    return m.get();
  };
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
    out += "{\"Event\":" + Json(events[i].event) + ",\"Actors\":[";
    for (size_t k = 0; k < events[i].actors.size(); ++k)
      out += (k ? "," : "") + Json(events[i].actors[k]);
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
           ",\"Deadline\":" + Json(t.due) + ",\"From\":" + Json(t.state) +
           (to.empty() ? "" : ",\"To\":" + Json(to)) + "}";
    first = false;
  }
  return out + "]}";
}

std::string DescribeChangeSet(const ChangeSetRow& cs, const std::string& waiting_for) {
  std::string out =
      "{\"ChangeSetId\":" + Json(cs.id) + ",\"ChangeSetArn\":" + Json(ChangeSetArn(cs.id));
  if (!cs.name.empty()) out += ",\"ChangeSetName\":" + Json(cs.name);
  out += ",\"Intent\":" + Json(cs.intent) + ",\"StartTime\":" + Json(cs.started_at);
  if (!cs.ended_at.empty()) out += ",\"EndTime\":" + Json(cs.ended_at);
  out += ",\"Status\":" + Json(cs.status);
  if (!waiting_for.empty()) out += ",\"WaitingFor\":" + waiting_for;
  if (!cs.failure_code.empty()) out += ",\"FailureCode\":" + Json(cs.failure_code);
  if (!cs.failure_description.empty())
    out += ",\"FailureDescription\":" + Json(cs.failure_description);
  out += ",\"ChangeSet\":[";
  // Whether the changes reached their entities: a set applies whole or not at all, so each change
  // of an ended set says the same (an open set has not decided yet). A VALIDATE applies nothing.
  const bool ended = cs.status == "SUCCEEDED" || cs.status == "FAILED" || cs.status == "CANCELLED";
  const bool applied = cs.status == "SUCCEEDED" && cs.intent != "VALIDATE";
  for (size_t i = 0; i < cs.changes.size(); ++i) {
    const ChangeRow& c = cs.changes[i];
    if (i) out += ",";
    out +=
        "{\"ChangeType\":" + Json(c.change_type) + ",\"Entity\":{\"Type\":" + Json(c.entity_type);
    if (!c.entity_id.empty()) out += ",\"Identifier\":" + Json(c.entity_id);
    out += "}";
    if (!c.change_name.empty()) out += ",\"ChangeName\":" + Json(c.change_name);
    out += ",\"DetailsDocument\":" + (c.details.empty() ? std::string("{}") : c.details) +
           ",\"Status\":" + Json(c.status) + ",\"State\":" + Json(c.state) +
           (ended ? std::string(",\"Applied\":") + (applied ? "true" : "false") : "") +
           ",\"ErrorDetailList\":" + (c.errors.empty() ? std::string("[]") : c.errors) + "}";
  }
  return out + "]}";
}

std::string DescribeEntity(const EntityRow& e) {
  return "{\"EntityType\":" + Json(e.type) + ",\"EntityIdentifier\":" + Json(e.id) +
         ",\"EntityArn\":" + Json(EntityArn(e.type, e.id)) + ",\"State\":" + Json(e.state) +
         ",\"Owner\":" + Json(e.owner) + ",\"Revision\":" + std::to_string(e.revision) +
         ",\"LastModifiedDate\":" + Json(e.updated_at.empty() ? e.created_at : e.updated_at) +
         (e.locked_by.empty() ? "" : ",\"LockedBy\":" + Json(e.locked_by)) +
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
    const std::string reference = Json("$" + named.change_name + ".Entity.Identifier");
    const std::string identifier = Json(named.entity_id);
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
                                    const std::string& change_type) {
  std::string out = "{\"ChangeSetSummaryList\":[";
  auto rows = store_->ListChangeSets(status, entity, change_type);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& cs = rows[i];
    if (i) out += ",";
    std::string entities;
    for (const auto& c : cs.changes) entities += (entities.empty() ? "" : ",") + Json(c.entity_id);
    out += "{\"ChangeSetId\":" + Json(cs.id) + ",\"Status\":" + Json(cs.status) +
           ",\"StartTime\":" + Json(cs.started_at) +
           (cs.ended_at.empty() ? "" : ",\"EndTime\":" + Json(cs.ended_at)) +
           (cs.failure_code.empty() ? "" : ",\"FailureCode\":" + Json(cs.failure_code)) +
           ",\"EntityIdList\":[" + entities + "]}";
  }
  return out + "]}";
}

std::string Catalog::ListEntities(const std::string& type, const std::string& state) {
  std::string out = "{\"EntitySummaryList\":[";
  auto rows = store_->ListEntities(type, state);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& e = rows[i];
    if (i) out += ",";
    out += "{\"EntityType\":" + Json(e.type) + ",\"EntityId\":" + Json(e.id) +
           ",\"State\":" + Json(e.state) + ",\"Owner\":" + Json(e.owner) +
           ",\"Revision\":" + std::to_string(e.revision) +
           ",\"LastModifiedDate\":" + Json(e.updated_at.empty() ? e.created_at : e.updated_at) +
           "}";
  }
  return out + "]}";
}

std::string Catalog::History(const std::string& id) {
  std::string out = "{\"Events\":[";
  auto rows = store_->History(id);
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& h = rows[i];
    if (i) out += ",";
    out += "{\"Seq\":" + std::to_string(h.seq) + ",\"At\":" + Json(h.at) +
           (h.change_set.empty() ? "" : ",\"ChangeSetId\":" + Json(h.change_set)) +
           (h.change_index < 0 ? "" : ",\"Change\":" + std::to_string(h.change_index)) +
           ",\"Entity\":" + Json(h.entity) + ",\"Event\":" + Json(h.event) +
           ",\"From\":" + Json(h.from_state) + ",\"To\":" + Json(h.to_state) +
           ",\"Actor\":" + Json(h.actor) + "}";
  }
  return out + "]}";
}

}  // namespace sellerflow::engine
