// Benchmark of the rule language against hand-written C++ on the peer's UpdateInformation checks.
//
// usage: rules_bench --workload=DIR [--rules=FILE] [--types=FILE] [--documents=N] [benchmark flags]
//
// Loads the DetailsDocument of every change set in DIR/changesets.jsonl (gen_workload.py) as a
// typed dsl::Value, builds the rules file against the declared types, checks that the language and
// the hand-written checks agree on every document, then registers, per rule:
//   BM_Rule/<name>    Program::Test over the documents, round-robin
//   BM_Native/<name>  the same check written by hand against the same values
// and BM_Build (Program::Build of the whole file; the `rules` counter turns it into a per-rule
// figure). Every benchmark reports `allocs_per_eval`: calls of the global operator new during its
// timed loop, per iteration; BM_Rule also reports the arena bytes an evaluation uses.
#include <benchmark/benchmark.h>
#include <simdjson.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "bench/alloc_counter.h"
#include "dsl/diagnostics.h"
#include "dsl/json.h"
#include "dsl/program.h"
#include "dsl/types.h"
#include "dsl/value.h"

namespace {

namespace dsl = sellerflow::dsl;
using dsl::Outcome;

uint64_t Allocations() { return sellerflow::bench::AllocationCount(); }

[[noreturn]] void Die(const std::string& message) {
  std::fprintf(stderr, "rules_bench: %s\n", message.c_str());
  std::exit(1);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die("cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// ---- The hand-written checks ------------------------------------------------------------------
// What an engineer would write for speed against the same typed values: field slots looked up
// once, then direct slot reads, no allocation. A declared optional field is either absent (an
// error value) or of its declared kind, so testing the kind is the whole of has().

struct DetailsSlots {
  size_t field_count = 0;
  int title = -1;
  int short_description = -1;
  int long_description = -1;
  int support_description = -1;
  int logo_url = -1;
  int highlights = -1;
  int categories = -1;
  int search_keywords = -1;
};

DetailsSlots FindSlots(const dsl::Type& details) {
  DetailsSlots s;
  s.field_count = details.fields().size();
  const auto slot = [&](std::string_view name) {
    const int i = details.FieldIndex(name);
    if (i < 0) Die("the details type has no field " + std::string(name));
    return i;
  };
  s.title = slot("ProductTitle");
  s.short_description = slot("ShortDescription");
  s.long_description = slot("LongDescription");
  s.support_description = slot("SupportDescription");
  s.logo_url = slot("LogoUrl");
  s.highlights = slot("Highlights");
  s.categories = slot("Categories");
  s.search_keywords = slot("SearchKeywords");
  return s;
}

constexpr std::array<std::string_view, 5> kProfessionalServices = {
    "Assessments", "Implementation", "Managed Services", "Premium Support", "Training"};
constexpr std::array<std::string_view, 11> kKnownCategories = {
    "Assessments", "Implementation", "Managed Services", "Premium Support",  "Training", "Security",
    "Migration",   "Data Analytics", "DevOps",           "Machine Learning", "Storage"};

template <size_t N>
bool OneOf(std::string_view s, const std::array<std::string_view, N>& set) {
  for (std::string_view candidate : set) {
    if (candidate == s) return true;
  }
  return false;
}

inline const dsl::StringRep* StringField(const dsl::ObjectRep& d, int slot) {
  const dsl::Value& v = d.slots[slot];
  return v.kind == dsl::ValueKind::kString ? v.s : nullptr;
}

inline const dsl::ListRep* ListField(const dsl::ObjectRep& d, int slot) {
  const dsl::Value& v = d.slots[slot];
  return v.kind == dsl::ValueKind::kList ? v.list : nullptr;
}

inline Outcome Verdict(bool ok) { return ok ? Outcome::kPassed : Outcome::kFailed; }

inline Outcome AtMostCodePoints(const dsl::ObjectRep& d, int slot, uint32_t max) {
  const dsl::StringRep* s = StringField(d, slot);
  if (s == nullptr) return Outcome::kNotApplicable;
  return Verdict(s->code_points <= max);
}

inline Outcome ListSizeBetween(const dsl::ObjectRep& d, int slot, uint32_t min, uint32_t max) {
  const dsl::ListRep* l = ListField(d, slot);
  if (l == nullptr) return Outcome::kNotApplicable;
  return Verdict(l->size >= min && l->size <= max);
}

using NativeCheck = Outcome (*)(const DetailsSlots&, const dsl::ObjectRep&);

struct NativeRule {
  std::string_view name;
  NativeCheck check;
};

// Same names and order as the peer's RULES and bench/update_information.rules.
constexpr NativeRule kNativeRules[] = {
    {"missing_data",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       for (size_t i = 0; i < s.field_count; ++i) {
         if (d.slots[i].kind != dsl::ValueKind::kError) return Outcome::kPassed;
       }
       return Outcome::kFailed;
     }},
    {"title_length", [](const DetailsSlots& s,
                        const dsl::ObjectRep& d) { return AtMostCodePoints(d, s.title, 72); }},
    {"short_description_length",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       return AtMostCodePoints(d, s.short_description, 1000);
     }},
    {"long_description_length",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       return AtMostCodePoints(d, s.long_description, 5000);
     }},
    {"support_description_length",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       return AtMostCodePoints(d, s.support_description, 2000);
     }},
    {"logo_url_https",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       const dsl::StringRep* url = StringField(d, s.logo_url);
       if (url == nullptr) return Outcome::kNotApplicable;
       return Verdict(std::string_view(url->data, url->bytes).starts_with("https://"));
     }},
    {"highlights_count",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       return ListSizeBetween(d, s.highlights, 1, 3);
     }},
    {"categories_count",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       return ListSizeBetween(d, s.categories, 1, 3);
     }},
    {"categories_known",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       const dsl::ListRep* l = ListField(d, s.categories);
       if (l == nullptr) return Outcome::kNotApplicable;
       for (uint32_t i = 0; i < l->size; ++i) {
         if (!OneOf(l->items[i].str(), kKnownCategories)) return Outcome::kFailed;
       }
       return Outcome::kPassed;
     }},
    {"categories_professional_services",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       const dsl::ListRep* l = ListField(d, s.categories);
       if (l == nullptr) return Outcome::kNotApplicable;
       for (uint32_t i = 0; i < l->size; ++i) {
         if (OneOf(l->items[i].str(), kProfessionalServices)) return Outcome::kPassed;
       }
       return Outcome::kFailed;
     }},
    {"search_keywords",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       const dsl::ListRep* l = ListField(d, s.search_keywords);
       if (l == nullptr) return Outcome::kNotApplicable;
       if (l->size < 1 || l->size > 15) return Outcome::kFailed;
       for (uint32_t i = 0; i < l->size; ++i) {
         if (l->items[i].s->code_points > 50) return Outcome::kFailed;
       }
       return Outcome::kPassed;
     }},
    {"search_keywords_combined",
     [](const DetailsSlots& s, const dsl::ObjectRep& d) {
       // join(k, "") has as many code points as its parts together; no need to build it.
       const dsl::ListRep* l = ListField(d, s.search_keywords);
       if (l == nullptr) return Outcome::kNotApplicable;
       uint64_t total = 0;
       for (uint32_t i = 0; i < l->size; ++i) total += l->items[i].s->code_points;
       return Verdict(total <= 250);
     }},
};

const NativeRule* FindNative(std::string_view name) {
  for (const NativeRule& r : kNativeRules) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

// ---- The data under test ----------------------------------------------------------------------

struct Options {
  std::string workload;
  std::string rules = SELLERFLOW_BENCH_DIR "/update_information.rules";
  std::string types = SELLERFLOW_BENCH_DIR "/update_information.types";
  size_t documents = 0;  // 0: all of them.
};

struct Fixture {
  std::vector<dsl::Source> sources;
  dsl::TypeEnv env;
  std::unique_ptr<dsl::Program> program;
  DetailsSlots slots;
  dsl::Arena arena{1 << 20};            // Owns the documents.
  std::vector<dsl::Value> documents;    // Each an object of the details type.
  std::vector<dsl::Bindings> bindings;  // One per document, built up front so Test allocates none.
};

void LoadTypesAndRules(const Options& options, Fixture* f) {
  dsl::Diagnostics diags;
  const dsl::Source types{options.types, ReadFile(options.types)};
  if (!dsl::ParseTypeDeclarations(types, &f->env, &diags)) Die("bad types:\n" + diags.ToText());
  auto details = f->env.find("details");
  if (details == f->env.end() || details->second->kind() != dsl::TypeKind::kObject) {
    Die(options.types + " must declare details as an object type");
  }
  f->slots = FindSlots(*details->second);

  f->sources.push_back({options.rules, ReadFile(options.rules)});
  f->program = dsl::Program::Build(f->sources, f->env, &diags);
  if (f->program == nullptr) Die("rules do not build:\n" + diags.ToText());
  if (diags.warning_count() > 0) std::fprintf(stderr, "%s", diags.ToText().c_str());
}

void LoadDocuments(const Options& options, Fixture* f) {
  const std::string path = options.workload + "/changesets.jsonl";
  simdjson::padded_string text;
  if (simdjson::padded_string::load(path).get(text) != simdjson::SUCCESS)
    Die("cannot read " + path);
  const dsl::TypePtr& type = f->env.find("details")->second;

  simdjson::ondemand::parser parser;
  simdjson::ondemand::document_stream lines;
  if (parser.iterate_many(text).get(lines) != simdjson::SUCCESS) Die("cannot parse " + path);
  size_t line = 0;
  for (auto doc : lines) {
    ++line;
    // The raw text of the details object goes to JsonToValue as is: the typed conversion is the
    // library's, the same as the engine would use.
    std::string_view details;
    simdjson::ondemand::object change;
    simdjson::ondemand::object details_object;
    if (doc["ChangeSet"].get_array().at(0).get_object().get(change) != simdjson::SUCCESS ||
        change["DetailsDocument"].get_object().get(details_object) != simdjson::SUCCESS ||
        details_object.raw_json().get(details) != simdjson::SUCCESS) {
      Die(path + ":" + std::to_string(line) + ": no ChangeSet[0].DetailsDocument object");
    }
    dsl::Value value;
    std::vector<dsl::JsonIssue> issues;
    if (!dsl::JsonToValue(details, type, "details", f->arena, &value, &issues)) {
      std::string message = path + ":" + std::to_string(line) + ": DetailsDocument does not fit:";
      for (const dsl::JsonIssue& issue : issues)
        message += "\n  " + issue.path + ": " + issue.message;
      Die(message);
    }
    f->documents.push_back(value);
    if (options.documents != 0 && f->documents.size() == options.documents) break;
  }
  if (f->documents.empty()) Die("no change sets in " + path);

  // The variables in TypeEnv order; only `details` is set, anything else declared stays null.
  dsl::Bindings vars(f->env.size());
  size_t details_slot = 0;
  for (const auto& [name, t] : f->env) {
    if (name == "details") break;
    ++details_slot;
  }
  f->bindings.reserve(f->documents.size());
  for (const dsl::Value& d : f->documents) {
    vars[details_slot] = d;
    f->bindings.push_back(vars);
  }
}

bool IsViolation(Outcome o) { return o == Outcome::kFailed; }

// Evaluates every rule on every document both ways before anything is timed: if the language and
// the hand-written checks disagree on a single document, they do not measure the same thing and
// the comparison is void. The failure counts go into the JSON context, where run.sh compares them
// with cel-js's.
void CrossCheck(const Fixture& f) {
  dsl::EvalContext ctx;
  std::string problems;
  for (size_t r = 0; r < f.program->rule_count(); ++r) {
    const std::string& name = f.program->rule(r).name;
    const NativeRule* native = FindNative(name);
    size_t failures = 0;
    size_t errors = 0;
    size_t disagreements = 0;
    for (size_t i = 0; i < f.documents.size(); ++i) {
      const Outcome o = f.program->Test(r, f.bindings[i], ctx);
      if (o == Outcome::kError) {
        if (errors++ == 0) {
          const dsl::RuleResult result = f.program->Evaluate(r, f.bindings[i], ctx);
          problems += "  " + name + ": document " + std::to_string(i) +
                      " ends in an error: " + result.error + "\n";
        }
        continue;
      }
      failures += IsViolation(o);
      if (native != nullptr &&
          IsViolation(o) != IsViolation(native->check(f.slots, *f.documents[i].obj))) {
        if (disagreements++ == 0) {
          problems += "  " + name + ": document " + std::to_string(i) + ": language says " +
                      dsl::OutcomeName(o) + ", hand-written says " +
                      dsl::OutcomeName(native->check(f.slots, *f.documents[i].obj)) + "\n";
        }
      }
    }
    if (errors > 1 || disagreements > 1) {
      problems += "  " + name + ": " + std::to_string(errors) + " errors, " +
                  std::to_string(disagreements) + " disagreements in all\n";
    }
    benchmark::AddCustomContext("failures/" + name, std::to_string(failures));
  }
  benchmark::AddCustomContext("documents", std::to_string(f.documents.size()));
  if (!problems.empty()) Die("the language and the hand-written checks disagree:\n" + problems);
}

// ---- Benchmarks -------------------------------------------------------------------------------

void ReportAllocations(benchmark::State& state, uint64_t before) {
  const uint64_t allocations = Allocations() - before;
  state.counters["allocs_per_eval"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
}

void BM_Rule(benchmark::State& state, const Fixture* f, size_t rule) {
  dsl::EvalContext ctx;
  const size_t n = f->bindings.size();
  // One untimed pass so the context's arena holds its first block: the steady state is measured.
  // It also measures what each evaluation takes from the arena, which the operator new count does
  // not see (arena blocks come from malloc): Test resets the arena on entry, so what is used after
  // it is that evaluation's.
  size_t arena_bytes = 0;
  for (size_t i = 0; i < n; ++i) {
    benchmark::DoNotOptimize(f->program->Test(rule, f->bindings[i], ctx));
    arena_bytes += ctx.arena().bytes_used();
  }
  size_t i = 0;
  const uint64_t before = Allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(f->program->Test(rule, f->bindings[i], ctx));
    if (++i == n) i = 0;
  }
  ReportAllocations(state, before);
  state.counters["arena_bytes_per_eval"] =
      static_cast<double>(arena_bytes) / static_cast<double>(n);
}

// The check is a template argument so that it inlines into the loop, as hand-written code would
// be called: a call through a pointer would charge the baseline a cost the language's own dispatch
// is being compared against.
template <NativeCheck kCheck>
void BM_Native(benchmark::State& state, const Fixture* f) {
  const size_t n = f->documents.size();
  size_t i = 0;
  const uint64_t before = Allocations();
  for (auto _ : state) {
    benchmark::DoNotOptimize(kCheck(f->slots, *f->documents[i].obj));
    if (++i == n) i = 0;
  }
  ReportAllocations(state, before);
}

using NativeBenchmark = void (*)(benchmark::State&, const Fixture*);

template <size_t... kIndex>
constexpr std::array<NativeBenchmark, sizeof...(kIndex)> NativeBenchmarks(
    std::index_sequence<kIndex...>) {
  return {&BM_Native<kNativeRules[kIndex].check>...};
}

// BM_Native instantiated for each hand-written check, in kNativeRules order.
constexpr auto kNativeBenchmarks =
    NativeBenchmarks(std::make_index_sequence<std::size(kNativeRules)>());

void BM_Build(benchmark::State& state, const Fixture* f) {
  const uint64_t before = Allocations();
  for (auto _ : state) {
    dsl::Diagnostics diags;
    std::unique_ptr<dsl::Program> program = dsl::Program::Build(f->sources, f->env, &diags);
    benchmark::DoNotOptimize(program.get());
  }
  ReportAllocations(state, before);
  // Time per rule is the time per iteration divided by this; sec_per_rule shows it (in CPU time).
  const double rules = static_cast<double>(f->program->rule_count());
  state.counters["rules"] = rules;
  state.counters["sec_per_rule"] = benchmark::Counter(
      rules, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

void Register(const Fixture& f) {
  for (size_t r = 0; r < f.program->rule_count(); ++r) {
    const std::string& name = f.program->rule(r).name;
    benchmark::RegisterBenchmark(("BM_Rule/" + name).c_str(), BM_Rule, &f, r);
    if (const NativeRule* native = FindNative(name)) {
      benchmark::RegisterBenchmark(("BM_Native/" + name).c_str(),
                                   kNativeBenchmarks[native - kNativeRules], &f);
    } else {
      std::fprintf(stderr, "rules_bench: warning: no hand-written check for rule %s\n",
                   name.c_str());
    }
  }
  for (const NativeRule& native : kNativeRules) {
    if (f.program->FindRule(native.name) < 0) {
      std::fprintf(stderr, "rules_bench: warning: hand-written %s has no rule in the file\n",
                   std::string(native.name).c_str());
    }
  }
  benchmark::RegisterBenchmark("BM_Build", BM_Build, &f)->Unit(benchmark::kMicrosecond);
}

// Our flags, once benchmark::Initialize has taken its own out of argv.
Options ParseOptions(int argc, char** argv) {
  Options o;
  if (const char* env = std::getenv("SELLERFLOW_BENCH_WORKLOAD")) o.workload = env;
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    const auto value = [&](std::string_view flag) -> const char* {
      return arg.starts_with(flag) ? argv[i] + flag.size() : nullptr;
    };
    if (const char* v = value("--workload=")) {
      o.workload = v;
    } else if (const char* v = value("--rules=")) {
      o.rules = v;
    } else if (const char* v = value("--types=")) {
      o.types = v;
    } else if (const char* v = value("--documents=")) {
      o.documents = std::strtoull(v, nullptr, 10);
    } else {
      Die("unknown argument " + std::string(arg) +
          "\nusage: rules_bench --workload=DIR [--rules=FILE] [--types=FILE] [--documents=N] "
          "[--benchmark_...]");
    }
  }
  if (o.workload.empty()) Die("--workload=DIR (a gen_workload.py output) is required");
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  const Options options = ParseOptions(argc, argv);
  // Lives until exit: the registered benchmarks point into it.
  static Fixture fixture;
  LoadTypesAndRules(options, &fixture);
  LoadDocuments(options, &fixture);
  CrossCheck(fixture);
  Register(fixture);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
