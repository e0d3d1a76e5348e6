// Where the store tests open their stores: SQLite files, or PostgreSQL databases when the suite
// runs beside a cluster (tests/store/pg_harness.sh sets SELLERFLOW_TEST_PG).
#ifndef SELLERFLOW_TESTS_ENGINE_STORE_TEST_STORE_H_
#define SELLERFLOW_TESTS_ENGINE_STORE_TEST_STORE_H_

#include <string>

namespace sellerflow::engine {

// The URI of the cluster's administrative database (SELLERFLOW_TEST_PG), or "" when unset.
std::string TestPgAdminUri();
// `path` itself without a cluster; with one, the URI of a fresh, empty database that stands for
// `path` for the rest of the process (the same path gives the same database, so reopening works).
std::string TestStoreLocation(const std::string& path);
// A fresh, empty PostgreSQL database's URI (requires a cluster).
std::string NewTestPgDatabase();
// Runs one SQL statement on `uri` as a separate client, as another process would; returns the
// first column of the first row, or "".
std::string TestPgExec(const std::string& uri, const std::string& sql);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_TESTS_ENGINE_STORE_TEST_STORE_H_
