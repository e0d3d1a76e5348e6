// Reads of a store shaped like the Catalog API's responses (DescribeChangeSet, DescribeEntity,
// ListChangeSets, ListEntities) and the history. They need the store alone, not the policy: a
// store can be read while its definitions are being edited.
#ifndef SELLERFLOW_ENGINE_RUN_DESCRIBE_H_
#define SELLERFLOW_ENGINE_RUN_DESCRIBE_H_

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/machine.h"
#include "engine/store/store.h"

namespace sellerflow::engine {

// A change set as stored, with each change's DetailsDocument read back from the command that
// started it (the store keeps one copy of what the client sent: the command log's). nullopt when
// there is none. Throws std::runtime_error when the log does not hold that command.
std::optional<ChangeSetRow> ReadChangeSet(Store& store, const std::string& id);
// Fills each change's details from the change set's command, as ReadChangeSet does.
void AttachDetails(Store& store, ChangeSetRow* cs);

// The Catalog API's ARN of a change set or an entity.
std::string ChangeSetArn(const std::string& id);
std::string EntityArn(const std::string& entity_type, const std::string& id);

// What a Catalog API ARN (ChangeSetArn, EntityArn) names in the store: a change set or an entity,
// with who owns it (the change set's actor, the entity's owner), for the tag and resource-policy
// operations. nullopt when the ARN is not one of those forms or nothing in the store has it (an
// entity ARN must also name the entity's own type).
struct Resource {
  bool change_set = false;
  std::string id;
  std::string owner;
};
std::optional<Resource> FindResource(Store& store, const std::string& arn);
// FindResource, for `actor`: another account's resource is nullopt too (ActorMaySee of its owner),
// so that a seller cannot learn that another's exists, as DescribeChangeSet answers. The tag and
// policy commands, the API's reads of them and the CLI's all ask this one rule.
std::optional<Resource> FindResourceFor(Store& store, const std::string& arn,
                                        const std::string& actor);
// ListTagsForResource's and GetResourcePolicy's answers as `actor` reads them: the JSON body, or
// the message of the ResourceNotFoundException that stands instead (no such resource, another
// account's, no policy put).
struct ResourceRead {
  std::string body;       // {"ResourceArn":...,"Tags":[...]} or {"Policy":"..."}; "" if not found.
  std::string not_found;  // "Resource ARN not found", "Resource ARN has no resource policy".
};
ResourceRead ListTagsForResource(Store& store, const std::string& arn, const std::string& actor);
ResourceRead GetResourcePolicy(Store& store, const std::string& arn, const std::string& actor);
// The tags of a resource as ListTagsForResource answers: [{"Key": ..., "Value": ...}, ...].
std::string TagsJson(const std::vector<TagRow>& tags);

// The request machines change sets started under, read back from the store by content hash as
// outlines (for reading, not running: LoadMachineOutline), each read once. Borrows the store.
class PinnedOutlines {
 public:
  explicit PinnedOutlines(Store& store) : store_(store) {}
  // The machine kept under `hash`, owned by this object; nullptr when the store does not keep it
  // (a set started before definitions were kept) or its text does not load. Throws StoreError.
  const Machine* Get(const std::string& hash);

 private:
  Store& store_;
  std::deque<dsl::Source> sources_;  // The machines point into them.
  std::map<std::string, std::unique_ptr<Machine>> machines_;
};

// What an open change set waits for, as the JSON object of DescribeChangeSet's "WaitingFor" (not a
// Catalog API field): the events its changes' current states accept, with the actors the machine
// lets send each and the changes that take it, and the timers armed for it, with their deadlines:
//   {"Events":[{"Event":"approve","Actors":["operations"],"Changes":[0]}],
//    "Timers":[{"Change":0,"Deadline":"2026-01-02T10:00:00Z","From":"CancelWindow","To":"InReview"}]}
// The machines are those the set started under, read from the store by content hash (not today's
// workflows/). "" for a set that has ended.
std::string WaitingFor(Store& store, const ChangeSetRow& cs);

// Responses as JSON text, from rows (details attached); `waiting_for`, when not "", is the
// WaitingFor object.
std::string DescribeChangeSet(const ChangeSetRow& cs, const std::string& waiting_for = "");
std::string DescribeEntity(const EntityRow& e);

// The options ListChangeSets and ListEntities take beside their filters of old, named as the
// Catalog API names them (FilterList, Sort, MaxResults, NextToken).
struct ListFilter {
  std::string name;                 // "Status", "EntityId", "AfterStartTime", ...
  std::vector<std::string> values;  // ValueList: a row matches any of them.
};
struct ListQuery {
  std::vector<ListFilter> filters;  // All must match.
  std::string sort_by, sort_order;  // "" for none: oldest first. SortOrder defaults to DESCENDING.
  int max_results = 0;              // 0: every match on one page.
  std::string next_token;           // From the previous page's NextToken.
};

// A list request that cannot be answered as asked; `member` is the request's member at fault
// ("FilterList", "Sort", "MaxResults", "NextToken") and what() says what was expected.
struct ListError : std::invalid_argument {
  ListError(std::string member, const std::string& message)
      : std::invalid_argument(message), member(std::move(member)) {}
  std::string member;
};

// Borrows a store and answers the read commands; each returns "" when the thing asked for does
// not exist. Store failures throw StoreError.
class Catalog {
 public:
  explicit Catalog(Store* store) : store_(store) {}

  std::string DescribeChangeSet(const std::string& id);
  std::string DescribeEntity(const std::string& id);
  // Filters are ignored when empty. The query's filters, sort and page apply after them; a query
  // that cannot be answered throws ListError. A page that is not the last carries NextToken.
  std::string ListChangeSets(const std::string& status, const std::string& entity,
                             const std::string& change_type, const ListQuery& query = {});
  std::string ListEntities(const std::string& type, const std::string& state,
                           const ListQuery& query = {});
  std::string History(const std::string& id);  // The events of a change set or an entity.

 private:
  Store* store_;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_DESCRIBE_H_
