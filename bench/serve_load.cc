// A load generator for `sellerflow serve`: StartChangeSet requests, signed before the clock starts,
// sent over N keep-alive connections; prints throughput and latency percentiles as one JSON line.
//
// usage: serve_load HOST PORT CONNECTIONS CHANGESETS.jsonl ACCESS_KEY SECRET
// Each line of CHANGESETS.jsonl is a replay-log StartChangeSet; its op, Actor and At are dropped
// (the server takes who acts from the signature and the time from its clock). With
// SERVE_LOAD_NO_TOKENS=1 their ClientRequestTokens go too, so a file sent again makes new change
// sets (a soak) instead of being answered from the tokens.
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "src/serve/sigv4.h"

namespace {

struct Signed {
  std::string body, authorization;
};

std::string AmzDateNow() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) {
    std::fprintf(stderr,
                 "usage: serve_load HOST PORT CONNECTIONS CHANGESETS.jsonl ACCESS_KEY SECRET\n");
    return 2;
  }
  const std::string host = argv[1];
  const int port = std::atoi(argv[2]);
  const int connections = std::atoi(argv[3]);
  sellerflow::serve::AccessKey key{argv[5], argv[6], ""};
  const std::string host_header = host + ":" + std::to_string(port);
  const std::string date = AmzDateNow();  // Within the server's 15 minutes for a run.

  std::ifstream in(argv[4]);
  if (!in) {
    std::fprintf(stderr, "serve_load: cannot read %s\n", argv[4]);
    return 2;
  }
  const char* no_tokens_env = std::getenv("SERVE_LOAD_NO_TOKENS");
  const bool no_tokens = no_tokens_env != nullptr && std::string(no_tokens_env) == "1";
  std::vector<Signed> requests;
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    nlohmann::json j = nlohmann::json::parse(line);
    j.erase("op");
    j.erase("Actor");
    j.erase("At");
    if (no_tokens) j.erase("ClientRequestToken");
    Signed s;
    s.body = j.dump();
    s.authorization = sellerflow::serve::SignSigV4(
        "POST", "/StartChangeSet", "",
        {{"content-type", "application/json"}, {"host", host_header}, {"x-amz-date", date}}, s.body,
        key, "us-east-1");
    requests.push_back(std::move(s));
  }

  std::atomic<size_t> next{0}, errors{0};
  std::vector<std::vector<double>> latencies(connections);
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      for (size_t i; (i = next++) < requests.size();) {
        const Signed& s = requests[i];
        httplib::Headers headers = {{"X-Amz-Date", date}, {"Authorization", s.authorization}};
        const auto t0 = std::chrono::steady_clock::now();
        auto res = client.Post("/StartChangeSet", headers, s.body, "application/json");
        latencies[c].push_back(
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (!res || res->status != 200) {
          if (errors++ == 0)
            std::fprintf(stderr, "serve_load: first error: %s\n",
                         res ? (std::to_string(res->status) + " " + res->body).c_str()
                             : httplib::to_string(res.error()).c_str());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) {
    return all.empty() ? 0.0 : all[std::min(all.size() - 1, static_cast<size_t>(p * all.size()))];
  };
  std::printf(
      "{\"connections\":%d,\"requests\":%zu,\"errors\":%zu,\"seconds\":%.3f,"
      "\"per_second\":%.0f,\"p50_ms\":%.3f,\"p99_ms\":%.3f}\n",
      connections, requests.size(), errors.load(), seconds, requests.size() / seconds,
      pct(0.50) * 1000, pct(0.99) * 1000);
  return errors.load() == 0 ? 0 : 1;
}
