// The engine's log: one line per command (info) and per transition (debug), as text or JSON, on
// stderr.
#ifndef SELLERFLOW_ENGINE_BASE_LOG_H_
#define SELLERFLOW_ENGINE_BASE_LOG_H_

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

namespace sellerflow::engine {

enum class LogLevel { kTrace, kDebug, kInfo, kWarn, kError, kOff };
enum class LogFormat { kText, kJson };

// Sends the log to stderr at `level` and above, in `format`. Level names: trace, debug, info,
// warn, error, off; returns false for another name (and changes nothing).
bool ConfigureLog(std::string_view level, LogFormat format);

bool LogEnabled(LogLevel level);

// One log line made of fields: `key=value key=value` as text (values with spaces quoted), or one
// JSON object for log collectors. Fields come out in the order given; no wall-clock time is added
// (the commands' own times are fields), so logs of a replay are the same every time.
void LogEvent(LogLevel level,
              std::initializer_list<std::pair<std::string_view, std::string_view>> fields);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_BASE_LOG_H_
