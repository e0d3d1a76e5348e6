// Programs and expressions: the stages in order (parse, check, compile), then evaluation and
// explain.
#include "dsl/program.h"

#include <algorithm>
#include <deque>
#include <map>
#include <mutex>
#include <set>

#include "dsl/ast.h"
#include "dsl/check.h"
#include "dsl/eval.h"
#include "dsl/limits.h"

namespace sellerflow::dsl {

EvalContext::EvalContext() : arena_(16 * 1024) {
  arena_.set_limit(kMaxEvalBytes);
  Reset();
}
EvalContext::~EvalContext() = default;

void EvalContext::Reset() {
  if (arena_.bytes_used() > 0) arena_.Reset();
  steps_left = kMaxMacroSteps;
  trace = nullptr;
}

namespace {

// The message of an evaluation that reached its arena's limit (kMaxEvalBytes).
std::string BuiltTooMuch(size_t limit) {
  return "evaluation limit reached: an evaluation may build at most " +
         std::to_string(limit >> 20) + " MiB of strings, lists and maps";
}

// The arena of a program's constants and folded values.
std::unique_ptr<Arena> LimitedArena() {
  auto arena = std::make_unique<Arena>();
  arena->set_limit(kMaxConstantBytes);
  return arena;
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPassed:
      return "passed";
    case Outcome::kFailed:
      return "failed";
    case Outcome::kNotApplicable:
      return "not applicable";
    case Outcome::kError:
      return "could not be evaluated";
  }
  return "?";
}

struct CompiledRule {
  RuleInfo info;
  bool compiled = false;
  const RuleAst* ast = nullptr;
  const Source* source = nullptr;
  uint32_t expr_count = 0;
  NodePtr when, require;
  NodePtr when_traced, require_traced;
  std::vector<std::pair<std::string, NodePtr>> message;  // text, or a node to fill in
};

struct ProgramData {
  std::deque<Source> sources;  // Stable addresses: the ASTs point into them.
  std::deque<FileAst> files;
  TypeEnv env;
  std::vector<ConstantInfo> constants;
  std::vector<Value> constant_values;
  // Constants and the values folded from them: at most kMaxConstantBytes.
  std::unique_ptr<Arena> arena = LimitedArena();
  std::vector<CompiledRule> rules;
  size_t max_locals = 0;

  void PrepareContext(EvalContext& ctx) const {
    ctx.Reset();
    if (ctx.locals.size() < max_locals) ctx.locals.resize(max_locals);
  }
};

namespace {

uint32_t OffsetLine(const Source& s, uint32_t offset, uint32_t* column) {
  uint32_t line = 0;
  std::string_view text;
  LocateOffset(s.text, offset, &line, column, &text);
  return line;
}

std::string Where(const Source& s, uint32_t offset) {
  uint32_t column = 0;
  uint32_t line = OffsetLine(s, offset, &column);
  return s.name + ":" + std::to_string(line) + ":" + std::to_string(column);
}

bool ReadsOnlyConstants(const Expr& e) {
  if (e.kind == ExprKind::kName) return e.resolution != Resolution::kVariable;
  for (const auto& a : e.args)
    if (!ReadsOnlyConstants(*a)) return false;
  return true;
}

// Checks constants on demand, in dependency order, and evaluates each once.
class ConstantEvaluator {
 public:
  ConstantEvaluator(ProgramData& data, Diagnostics* diags) : data_(data), diags_(diags) {}

  bool Ensure(size_t i) {
    ConstantInfo& c = data_.constants[i];
    switch (c.status) {
      case ConstantInfo::Status::kDone:
        return true;
      case ConstantInfo::Status::kBroken:
        return false;
      case ConstantInfo::Status::kChecking:
        diags_->Add(Severity::kError, *c.source, c.ast->name_offset,
                    "constant '" + c.name + "' depends on itself");
        c.status = ConstantInfo::Status::kBroken;
        return false;
      case ConstantInfo::Status::kPending:
        break;
    }
    c.status = ConstantInfo::Status::kChecking;
    static const TypeEnv kNoVariables;
    Checker checker(
        *c.source, kNoVariables, &data_.constants, [this](size_t j) { return Ensure(j); }, diags_);
    TypePtr t = checker.Check(*c.ast->value, {});
    if (c.status == ConstantInfo::Status::kBroken) return false;  // A cycle through it.
    if (!t) {
      c.status = ConstantInfo::Status::kBroken;
      return false;
    }
    data_.max_locals = std::max(data_.max_locals, checker.max_locals());
    Compiler compiler(*c.source, &data_.constant_values, data_.arena.get(), false);
    NodePtr node = compiler.CompileNoFold(*c.ast->value);
    EvalContext ctx;
    ctx.locals.resize(checker.max_locals());
    std::string error;
    Value v;
    try {
      v = node->Eval(nullptr, ctx);
    } catch (const ArenaLimitReached& full) {
      error = BuiltTooMuch(full.limit);
    }
    if (error.empty() && v.is_error()) error = std::string(v.error_message());
    if (error.empty()) {
      try {
        c.value = DeepCopy(v, *data_.arena);
      } catch (const ArenaLimitReached& full) {
        error = "the constants of these files may take at most " +
                std::to_string(full.limit >> 20) + " MiB together";
      }
    }
    if (!error.empty()) {
      diags_->Add(Severity::kError, *c.source, c.ast->value->begin,
                  "constant '" + c.name + "' could not be evaluated: " + error);
      c.status = ConstantInfo::Status::kBroken;
      return false;
    }
    c.type = t;
    data_.constant_values[i] = c.value;
    c.status = ConstantInfo::Status::kDone;
    return true;
  }

 private:
  ProgramData& data_;
  Diagnostics* diags_;
};

NodePtr CompileFor(const CompiledRule&, Compiler& compiler, const ExprPtr& e) {
  return e ? compiler.Compile(*e) : nullptr;
}

std::string RenderMessage(const CompiledRule& r, const Value* vars, EvalContext& ctx) {
  std::string out;
  for (const auto& [text, node] : r.message) {
    if (!node) {
      out += text;
      continue;
    }
    Value v = node->Eval(vars, ctx);
    if (v.is_error()) {
      out += "<" + std::string(v.error_message()) + ">";
    } else {
      AppendDisplay(v, &out);
    }
  }
  return out;
}

void FillError(const Value& v, RuleResult* r) {
  r->outcome = Outcome::kError;
  r->error = std::string(v.error_message());
  r->error_pos = v.err->pos;
  r->message = "could not be evaluated: " + r->error;
  if (v.err->pos.line)
    r->message +=
        " (at " + std::to_string(v.err->pos.line) + ":" + std::to_string(v.err->pos.column) + ")";
}

}  // namespace

Program::Program(std::unique_ptr<ProgramData> data) : data_(std::move(data)) {}
Program::~Program() = default;

std::unique_ptr<Program> Program::Build(const std::vector<Source>& sources, const TypeEnv& env,
                                        Diagnostics* diags, const BuildOptions& options) {
  auto selected = [&options](const std::string& rule) {
    return !options.only_rules || std::find(options.only_rules->begin(), options.only_rules->end(),
                                            rule) != options.only_rules->end();
  };
  auto data = std::make_unique<ProgramData>();
  data->env = env;
  const size_t errors_before = diags->error_count();

  // Parse every file.
  for (const Source& s : sources) {
    data->sources.push_back(s);
    data->files.push_back(ParseRulesFile(data->sources.back(), diags));
  }

  // One namespace for rules and constants across files.
  struct Decl {
    const Source* source;
    uint32_t offset;
    const char* kind;
  };
  std::map<std::string, Decl> seen;
  auto declare = [&](const std::string& name, const Source* s, uint32_t offset, const char* kind) {
    auto [it, inserted] = seen.insert({name, {s, offset, kind}});
    if (inserted) return;
    const Decl& first = it->second;
    diags->Add(Severity::kError, *s, offset,
               "duplicate name '" + name + "': a " + first.kind + " of that name is defined at " +
                   Where(*first.source, first.offset));
    diags->Add(
        Severity::kError, *first.source, first.offset,
        "duplicate name '" + name + "': defined again (as a " + kind + ") at " + Where(*s, offset));
  };
  for (auto& f : data->files) {
    for (auto& c : f.constants) {
      declare(c.name, f.source, c.name_offset, "constant");
      ConstantInfo info;
      info.name = c.name;
      info.source = f.source;
      info.ast = &c;
      if (c.broken || !c.value) info.status = ConstantInfo::Status::kBroken;
      data->constants.push_back(std::move(info));
    }
    for (auto& r : f.rules) declare(r.name, f.source, r.name_offset, "rule");
  }
  data->constant_values.resize(data->constants.size());

  // Check constants (in dependency order) and rules. A rule is left uncompiled when its check
  // reports an error, or types nothing without one (it reads a constant whose error was reported
  // where the constant stands).
  ConstantEvaluator constants(*data, diags);
  for (size_t i = 0; i < data->constants.size(); ++i) constants.Ensure(i);
  std::set<const RuleAst*> failed;
  for (auto& f : data->files) {
    for (auto& r : f.rules) {
      if (r.broken) continue;
      const Source& s = *f.source;
      const size_t rule_errors_before = diags->error_count();
      bool typed = true;
      auto missing = [&](const char* clause, const char* example) {
        diags->Add(Severity::kError, s, r.name_offset,
                   "rule '" + r.name + "' has no '" + clause + "' clause", example);
      };
      if (r.code.empty()) missing("code", "add a line such as: code INVALID_INPUT");
      if (!r.require) missing("require", "add the condition that must hold: require <bool>");
      if (!r.has_message) missing("message", "add: message \"what is wrong, with {values}\"");
      if (!selected(r.name)) {
        if (diags->error_count() > rule_errors_before) failed.insert(&r);
        continue;
      }
      Checker checker(
          s, data->env, &data->constants, [&constants](size_t j) { return constants.Ensure(j); },
          diags);
      Facts facts;
      // What `when` proves holds even when it has a mistake elsewhere: the require clause must
      // not report as absent a field the when clause does guard.
      if (r.when) {
        typed = checker.CheckCondition(*r.when, {}, "the when condition") && typed;
        facts = checker.WhenTrue(*r.when);
      }
      if (r.require)
        typed = checker.CheckCondition(*r.require, facts, "the require condition") && typed;
      for (auto& part : r.message)
        if (part.expr) typed = checker.Check(*part.expr, facts) != nullptr && typed;
      data->max_locals = std::max(data->max_locals, checker.max_locals());
      if (!typed || diags->error_count() > rule_errors_before) failed.insert(&r);
    }
  }
  // Constants no rule or constant reads are likely leftovers (unless an error hid their use).
  const bool clean = diags->error_count() == errors_before;
  for (const auto& c : data->constants) {
    if (!clean || !options.warn_unused_constants) break;
    if (!c.used && c.status == ConstantInfo::Status::kDone)
      diags->Add(Severity::kWarning, *c.source, c.ast->name_offset,
                 "constant '" + c.name + "' is never used");
  }
  if (diags->error_count() > errors_before && !options.keep_going) return nullptr;

  // Compile: a plain tree for speed and a traced one for explain.
  for (auto& f : data->files) {
    for (auto& r : f.rules) {
      CompiledRule cr;
      cr.ast = &r;
      cr.source = f.source;
      cr.expr_count = f.expr_count;
      uint32_t column = 0;
      uint32_t line = OffsetLine(*f.source, r.name_offset, &column);
      cr.info = {r.name, r.code, f.source->name, {line, column}};
      cr.compiled = selected(r.name) && !r.broken && !failed.count(&r);
      if (!cr.compiled) {
        data->rules.push_back(std::move(cr));
        continue;
      }
      Compiler plain(*f.source, &data->constant_values, data->arena.get(), false);
      Compiler traced(*f.source, &data->constant_values, data->arena.get(), true);
      cr.when = CompileFor(cr, plain, r.when);
      cr.require = CompileFor(cr, plain, r.require);
      cr.when_traced = CompileFor(cr, traced, r.when);
      cr.require_traced = CompileFor(cr, traced, r.require);
      for (auto& part : r.message)
        cr.message.push_back({part.text, part.expr ? plain.Compile(*part.expr) : nullptr});
      data->rules.push_back(std::move(cr));
    }
  }
  return std::unique_ptr<Program>(new Program(std::move(data)));
}

std::shared_ptr<const Program> Program::BuildShared(const std::vector<Source>& sources,
                                                    const TypeEnv& env, Diagnostics* diags,
                                                    const BuildOptions& options) {
  // The key spells out everything Build reads: the variables with their types, the rules asked
  // for, the options and the texts (last, as they are long and mostly the same, so that keys
  // differ early).
  std::string key;
  for (const auto& [name, type] : env) key += name + ':' + (type ? type->ToString() : "?") + ';';
  key += '\0';
  if (options.only_rules) {
    std::vector<std::string> rules = *options.only_rules;
    std::sort(rules.begin(), rules.end());
    for (const std::string& r : rules) key += r + ',';
  } else {
    key += "*";
  }
  key += options.warn_unused_constants ? "+w" : "-w";
  for (const Source& s : sources)
    key += '\0' + s.name + '\0' + std::to_string(s.text.size()) + '\0' + s.text;

  struct Built {
    std::shared_ptr<const Program> program;  // Built with keep_going.
    std::vector<Diagnostic> diagnostics;
    bool errors = false;
  };
  static std::mutex mu;
  static std::map<std::string, Built> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto it = cache.find(key);
  if (it == cache.end()) {
    Diagnostics local;
    Built built;
    BuildOptions keep_going = options;
    keep_going.keep_going = true;
    built.program = Build(sources, env, &local, keep_going);
    built.diagnostics = local.items();
    built.errors = local.has_errors();
    it = cache.emplace(std::move(key), std::move(built)).first;
  }
  for (const Diagnostic& d : it->second.diagnostics) diags->Append(d);
  if (it->second.errors && !options.keep_going) return nullptr;
  return it->second.program;
}

const TypeEnv& Program::env() const { return data_->env; }
size_t Program::rule_count() const { return data_->rules.size(); }
const RuleInfo& Program::rule(size_t i) const { return data_->rules[i].info; }

int Program::FindRule(std::string_view name) const {
  for (size_t i = 0; i < data_->rules.size(); ++i)
    if (data_->rules[i].info.name == name) return static_cast<int>(i);
  return -1;
}

std::vector<RuleInfo> Program::Constants() const {
  std::vector<RuleInfo> out;
  for (const auto& c : data_->constants) {
    uint32_t column = 0;
    uint32_t line = OffsetLine(*c.source, c.ast->name_offset, &column);
    out.push_back({c.name, "", c.source->name, {line, column}});
  }
  return out;
}

std::vector<std::string> Program::UsedConstants() const {
  std::vector<std::string> out;
  for (const auto& c : data_->constants)
    if (c.used) out.push_back(c.name);
  return out;
}

bool Program::IsCompiled(size_t rule) const { return data_->rules[rule].compiled; }

std::vector<std::string> Program::NamesIn(size_t rule) const {
  std::vector<std::string> out;
  auto walk = [&out](const Expr* e, const auto& self) -> void {
    if (!e) return;
    if (e->kind == ExprKind::kName && std::find(out.begin(), out.end(), e->text) == out.end())
      out.push_back(e->text);
    for (const auto& a : e->args) self(a.get(), self);
  };
  const RuleAst& r = *data_->rules[rule].ast;
  walk(r.when.get(), walk);
  walk(r.require.get(), walk);
  for (const auto& part : r.message) walk(part.expr.get(), walk);
  return out;
}

std::vector<std::string> Program::ConstantNames() const {
  std::vector<std::string> names;
  for (const auto& c : data_->constants) names.push_back(c.name);
  return names;
}

Outcome Program::Test(size_t rule, const Bindings& vars, EvalContext& ctx) const {
  const CompiledRule& r = data_->rules[rule];
  if (!r.compiled) return Outcome::kError;
  data_->PrepareContext(ctx);
  const Value* v = vars.data();
  try {
    if (r.when) {
      Value w = r.when->Eval(v, ctx);
      if (w.kind != ValueKind::kBool) return Outcome::kError;
      if (!w.b) return Outcome::kNotApplicable;
    }
    Value c = r.require->Eval(v, ctx);
    if (c.kind != ValueKind::kBool) return Outcome::kError;
    return c.b ? Outcome::kPassed : Outcome::kFailed;
  } catch (const ArenaLimitReached&) {
    ctx.arena().Reset();
    return Outcome::kError;
  }
}

RuleResult Program::Evaluate(size_t rule, const Bindings& vars, EvalContext& ctx) const {
  try {
    return EvaluateUnbounded(rule, vars, ctx);
  } catch (const ArenaLimitReached& full) {
    // Everything the evaluation built goes; the error is at the rule.
    ctx.arena().Reset();
    const CompiledRule& r = data_->rules[rule];
    RuleResult result;
    result.outcome = Outcome::kError;
    result.error = BuiltTooMuch(full.limit);
    result.error_pos = r.info.pos;
    result.message = "could not be evaluated: " + result.error + " (at " +
                     std::to_string(r.info.pos.line) + ":" + std::to_string(r.info.pos.column) +
                     ")";
    return result;
  }
}

RuleResult Program::EvaluateUnbounded(size_t rule, const Bindings& vars, EvalContext& ctx) const {
  const CompiledRule& r = data_->rules[rule];
  data_->PrepareContext(ctx);
  const Value* v = vars.data();
  RuleResult result;
  if (!r.compiled) {
    result.outcome = Outcome::kError;
    result.message = result.error = "rule " + r.info.name + " was not compiled for these variables";
    return result;
  }
  if (r.when) {
    Value w = r.when->Eval(v, ctx);
    if (w.is_error()) {
      FillError(w, &result);
      return result;
    }
    if (!w.b) {
      result.outcome = Outcome::kNotApplicable;
      return result;
    }
  }
  Value c = r.require->Eval(v, ctx);
  if (c.is_error()) {
    FillError(c, &result);
    return result;
  }
  if (c.b) return result;
  result.outcome = Outcome::kFailed;
  result.message = RenderMessage(r, v, ctx);
  return result;
}

Explanation Program::Explain(size_t rule, const Bindings& vars, EvalContext& ctx) const {
  try {
    return ExplainUnbounded(rule, vars, ctx);
  } catch (const ArenaLimitReached&) {
    ctx.arena().Reset();
    ctx.trace = nullptr;
    Explanation ex;
    ex.rule = data_->rules[rule].info.name;
    ex.file = data_->rules[rule].source->name;
    ex.outcome = Outcome::kError;
    return ex;
  }
}

Explanation Program::ExplainUnbounded(size_t rule, const Bindings& vars, EvalContext& ctx) const {
  const CompiledRule& r = data_->rules[rule];
  data_->PrepareContext(ctx);
  Trace trace;
  trace.Clear(r.expr_count);
  ctx.trace = &trace;
  const Value* v = vars.data();
  Explanation ex;
  ex.rule = r.info.name;
  ex.file = r.source->name;
  ex.outcome = Outcome::kPassed;
  if (!r.compiled) {
    ex.outcome = Outcome::kError;
    ctx.trace = nullptr;
    return ex;
  }
  if (r.when_traced) {
    Value w = r.when_traced->Eval(v, ctx);
    if (w.is_error()) {
      ex.outcome = Outcome::kError;
      ExplainExpr(*r.source, *r.ast->when, trace, &ex.clauses);
    } else if (!w.b) {
      ex.outcome = Outcome::kNotApplicable;
    }
  }
  if (ex.outcome == Outcome::kPassed) {
    Value c = r.require_traced->Eval(v, ctx);
    if (c.is_error() || !c.b) {
      ex.outcome = c.is_error() ? Outcome::kError : Outcome::kFailed;
      ExplainExpr(*r.source, *r.ast->require, trace, &ex.clauses);
    }
  }
  ctx.trace = nullptr;
  return ex;
}

// ---- Expressions ---

struct Expression::Impl {
  Source source;
  ExprPtr expr;
  uint32_t expr_count = 0;
  TypePtr type;
  size_t max_locals = 0;
  std::vector<ConstantInfo> constants;  // Copies of the program's, all evaluated.
  std::vector<Value> constant_values;
  std::unique_ptr<Arena> arena = LimitedArena();  // Values folded at compile time.
  NodePtr node, traced;
};

std::unique_ptr<Expression> Expression::Compile(const Source& source, const TypeEnv& env,
                                                Diagnostics* diags, const Program* constants) {
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  const size_t errors_before = diags->error_count();
  impl->expr = ParseExpression(impl->source, diags, &impl->expr_count);
  if (!impl->expr) return nullptr;
  return Finish(std::move(impl), env, diags, constants, errors_before);
}

std::unique_ptr<Expression> Expression::CompileTemplate(const Source& source, const TypeEnv& env,
                                                        Diagnostics* diags,
                                                        const Program* constants) {
  auto impl = std::make_unique<Impl>();
  impl->source = source;
  const size_t errors_before = diags->error_count();
  impl->expr = ParseTemplate(impl->source, diags, &impl->expr_count);
  if (!impl->expr) return nullptr;
  return Finish(std::move(impl), env, diags, constants, errors_before);
}

std::unique_ptr<Expression> Expression::Finish(std::unique_ptr<Impl> impl, const TypeEnv& env,
                                               Diagnostics* diags, const Program* constants,
                                               size_t errors_before) {
  if (constants) {
    // A constant with an error (in a program built with keep_going) is kept, so that a name
    // reading it is not reported as unknown: its error was reported where it stands.
    for (const auto& c : constants->data_->constants) {
      if (c.status != ConstantInfo::Status::kDone && c.status != ConstantInfo::Status::kBroken)
        continue;
      impl->constants.push_back(c);
      impl->constants.back().used = false;
      impl->constant_values.push_back(c.value);
    }
  }
  Checker checker(
      impl->source, env, &impl->constants,
      [&impl](size_t j) { return impl->constants[j].status == ConstantInfo::Status::kDone; },
      diags);
  impl->type = checker.Check(*impl->expr, {});
  if (!impl->type || diags->error_count() > errors_before) return nullptr;
  impl->max_locals = checker.max_locals();
  Compiler plain(impl->source, &impl->constant_values, impl->arena.get(), false);
  Compiler traced(impl->source, &impl->constant_values, impl->arena.get(), true);
  impl->node = plain.Compile(*impl->expr);
  impl->traced = traced.Compile(*impl->expr);
  return std::unique_ptr<Expression>(new Expression(std::move(impl)));
}

const Value* Expression::ConstantValue() const { return impl_->node->Constant(); }

std::vector<std::pair<std::string, std::string>> Expression::Equalities() const {
  std::vector<const Expr*> clauses = {impl_->expr.get()};
  std::vector<std::pair<std::string, std::string>> out;
  auto is_literal = [](const Expr& e) {
    return e.kind == ExprKind::kString || e.kind == ExprKind::kInt || e.kind == ExprKind::kBool ||
           e.kind == ExprKind::kDecimal;
  };
  while (!clauses.empty()) {
    const Expr* e = clauses.back();
    clauses.pop_back();
    if (e->kind != ExprKind::kBinary) continue;
    if (e->op == Op::kAnd) {
      clauses.push_back(e->args[0].get());
      clauses.push_back(e->args[1].get());
    } else if (e->op == Op::kEq) {
      const Expr& a = *e->args[0];
      const Expr& b = *e->args[1];
      if (is_literal(b) && !is_literal(a))
        out.push_back({std::string(ExprText(impl_->source, a)), DumpExpr(b)});
      else if (is_literal(a) && !is_literal(b))
        out.push_back({std::string(ExprText(impl_->source, b)), DumpExpr(a)});
    }
  }
  return out;
}

std::vector<std::string> Expression::UsedConstants() const {
  std::vector<std::string> out;
  for (const auto& c : impl_->constants)
    if (c.used) out.push_back(c.name);
  return out;
}

Expression::Expression(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Expression::~Expression() = default;
const TypePtr& Expression::type() const { return impl_->type; }

Value Expression::Evaluate(const Bindings& vars, EvalContext& ctx) const {
  ctx.Reset();
  if (ctx.locals.size() < impl_->max_locals) ctx.locals.resize(impl_->max_locals);
  try {
    return impl_->node->Eval(vars.data(), ctx);
  } catch (const ArenaLimitReached& full) {
    ctx.arena().Reset();
    return ErrorValue(ctx.arena(), ErrorKind::kLimit, impl_->node->pos(), BuiltTooMuch(full.limit));
  }
}

Explanation Expression::Explain(const Bindings& vars, EvalContext& ctx) const {
  try {
    return ExplainUnbounded(vars, ctx);
  } catch (const ArenaLimitReached&) {
    ctx.arena().Reset();
    ctx.trace = nullptr;
    Explanation ex;
    ex.file = impl_->source.name;
    ex.outcome = Outcome::kError;
    return ex;
  }
}

Explanation Expression::ExplainUnbounded(const Bindings& vars, EvalContext& ctx) const {
  ctx.Reset();
  if (ctx.locals.size() < impl_->max_locals) ctx.locals.resize(impl_->max_locals);
  Trace trace;
  trace.Clear(impl_->expr_count);
  ctx.trace = &trace;
  Value v = impl_->traced->Eval(vars.data(), ctx);
  ctx.trace = nullptr;
  Explanation ex;
  ex.file = impl_->source.name;
  if (v.is_error()) {
    ex.outcome = Outcome::kError;
  } else if (v.kind == ValueKind::kBool) {
    ex.outcome = v.b ? Outcome::kPassed : Outcome::kFailed;
  }
  if (ex.outcome != Outcome::kPassed) ExplainExpr(impl_->source, *impl_->expr, trace, &ex.clauses);
  return ex;
}

}  // namespace sellerflow::dsl
