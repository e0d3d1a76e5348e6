// The changes column of the change_sets table, shared by the store implementations (not public).
#ifndef SELLERFLOW_ENGINE_STORE_CHANGES_COLUMN_H_
#define SELLERFLOW_ENGINE_STORE_CHANGES_COLUMN_H_

#include <simdjson.h>

#include <string>
#include <vector>

#include "engine/store/store.h"

namespace sellerflow::engine {

// The changes column as every store keeps it: [[index, change_type, entity_type, entity_id,
// change_name, machine_hash, state, status, errors, entered_at], ...], errors being the
// ErrorDetailList's JSON text as a string so that it reads back byte for byte. The digest hashes
// this text, so every store writes exactly this.
std::string EncodeChangesColumn(const std::vector<ChangeRow>& changes);
// Reads it back with *parser. Throws StoreError kCorrupt naming `where` (the store) and the change
// set when `text` is not what EncodeChangesColumn writes.
std::vector<ChangeRow> DecodeChangesColumn(const std::string& text, simdjson::dom::parser* parser,
                                           const std::string& where,
                                           const std::string& change_set);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_CHANGES_COLUMN_H_
