// The engine's log through spdlog: text or JSON lines on stderr, no wall-clock time in them.
#include "engine/base/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "dsl/utf8.h"

namespace sellerflow::engine {
namespace {

LogFormat g_format = LogFormat::kText;

spdlog::level::level_enum ToSpd(LogLevel level) {
  switch (level) {
    case LogLevel::kTrace:
      return spdlog::level::trace;
    case LogLevel::kDebug:
      return spdlog::level::debug;
    case LogLevel::kInfo:
      return spdlog::level::info;
    case LogLevel::kWarn:
      return spdlog::level::warn;
    case LogLevel::kError:
      return spdlog::level::err;
    case LogLevel::kOff:
      return spdlog::level::off;
  }
  return spdlog::level::off;
}

std::shared_ptr<spdlog::logger> Logger() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    auto l = spdlog::stderr_logger_mt("sellerflow");
    l->set_level(spdlog::level::warn);
    l->set_pattern("%l: %v");
    return l;
  }();
  return logger;
}

}  // namespace

bool ConfigureLog(std::string_view level, LogFormat format) {
  static const std::pair<const char*, LogLevel> kLevels[] = {
      {"trace", LogLevel::kTrace}, {"debug", LogLevel::kDebug}, {"info", LogLevel::kInfo},
      {"warn", LogLevel::kWarn},   {"error", LogLevel::kError}, {"off", LogLevel::kOff}};
  for (const auto& [name, value] : kLevels) {
    if (level != name) continue;
    g_format = format;
    Logger()->set_level(ToSpd(value));
    // JSON lines are whole objects built by LogEvent; text lines get the level in front.
    Logger()->set_pattern(format == LogFormat::kJson ? "%v" : "%l: %v");
    return true;
  }
  return false;
}

bool LogEnabled(LogLevel level) { return Logger()->should_log(ToSpd(level)); }

void LogEvent(LogLevel level,
              std::initializer_list<std::pair<std::string_view, std::string_view>> fields) {
  if (!LogEnabled(level)) return;
  std::string line;
  if (g_format == LogFormat::kJson) {
    line = "{\"level\":";
    dsl::AppendJsonString(spdlog::level::to_string_view(ToSpd(level)).data(), &line);
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;
      line += ',';
      dsl::AppendJsonString(key, &line);
      line += ':';
      dsl::AppendJsonString(value, &line);
    }
    line += '}';
  } else {
    for (const auto& [key, value] : fields) {
      if (value.empty()) continue;
      if (!line.empty()) line += ' ';
      line.append(key).append("=");
      if (value.find(' ') != std::string_view::npos)
        dsl::AppendJsonString(value, &line);
      else
        line.append(value);
    }
  }
  Logger()->log(ToSpd(level), "{}", line);
}

}  // namespace sellerflow::engine
