// Test stores on SQLite files or on fresh databases of the harness's PostgreSQL cluster.
#include "tests/engine/store/test_store.h"

#include <libpq-fe.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <stdexcept>
#include <string>

namespace sellerflow::engine {

std::string TestPgAdminUri() {
  const char* uri = std::getenv("SELLERFLOW_TEST_PG");
  return uri != nullptr ? uri : "";
}

std::string TestPgExec(const std::string& uri, const std::string& sql) {
  PGconn* conn = PQconnectdb(uri.c_str());
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string why = PQerrorMessage(conn);
    PQfinish(conn);
    throw std::runtime_error("cannot connect to " + uri + ": " + why);
  }
  PGresult* r = PQexec(conn, sql.c_str());
  const ExecStatusType status = PQresultStatus(r);
  std::string out;
  if (status == PGRES_TUPLES_OK && PQntuples(r) > 0) out = PQgetvalue(r, 0, 0);
  std::string why = PQresultErrorMessage(r);
  PQclear(r);
  PQfinish(conn);
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
    throw std::runtime_error(sql + ": " + why);
  return out;
}

std::string NewTestPgDatabase() {
  const std::string admin = TestPgAdminUri();
  if (admin.empty()) throw std::logic_error("no PostgreSQL cluster (SELLERFLOW_TEST_PG)");
  static int n = 0;
  const std::string name = "sf_test_" + std::to_string(getpid()) + "_" + std::to_string(++n);
  TestPgExec(admin, "CREATE DATABASE " + name);
  // postgresql://USER@HOST/DB?PARAMS: the path between the authority and the parameters.
  const size_t authority = admin.find("://") + 3;
  const size_t path = admin.find('/', authority);
  const size_t params = admin.find('?', authority);
  std::string uri = admin.substr(0, path == std::string::npos ? params : path) + "/" + name;
  if (params != std::string::npos) uri += admin.substr(params);
  return uri;
}

std::string TestStoreLocation(const std::string& path) {
  if (TestPgAdminUri().empty()) return path;
  static std::map<std::string, std::string> databases;
  auto it = databases.find(path);
  if (it == databases.end()) it = databases.emplace(path, NewTestPgDatabase()).first;
  return it->second;
}

}  // namespace sellerflow::engine
