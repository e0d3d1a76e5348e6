// Identifiers in the Catalog API's form, derived from counters: the same commands give the same
// ids.
#ifndef SELLERFLOW_ENGINE_BASE_IDS_H_
#define SELLERFLOW_ENGINE_BASE_IDS_H_

#include <cstdint>
#include <string>
#include <string_view>

namespace sellerflow::engine {

// prefix + `length` characters of [a-z2-7] hashed from salt and n: "prod-" + 13 for a product.
std::string MakeId(const std::string& prefix, const std::string& salt, int64_t n, size_t length);

// A change set's id: "cs-", its seq in 7 base-32 digits (in ASCII order, so ids sort as change sets
// arrive and the indexes keyed by them grow at their right edge, as time-ordered ids such as ULIDs
// do), then 18 hashed characters. n must be in 1 .. 32^7 - 1.
std::string ChangeSetId(int64_t seq);
// The seq ChangeSetId made `id` from, or 0 when no seq gives `id`: the store finds a change set by
// it.
int64_t ChangeSetSeq(std::string_view id);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_BASE_IDS_H_
