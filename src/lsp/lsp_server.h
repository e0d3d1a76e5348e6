// `sellerflow lsp`: a Language Server Protocol server over stdio for rules files and workflow
// YAML files: diagnostics as `check` reports them, hover, completion and go to definition.
#ifndef SELLERFLOW_SRC_LSP_LSP_SERVER_H_
#define SELLERFLOW_SRC_LSP_LSP_SERVER_H_

#include <cstdio>

namespace sellerflow::lsp {

// Serves one client on `in` and `out` until it sends `exit` or the input ends. Returns the process
// exit code: 0 when `shutdown` came first, else 1 (as the protocol asks). Never throws.
int RunLanguageServer(std::FILE* in, std::FILE* out);

}  // namespace sellerflow::lsp

#endif  // SELLERFLOW_SRC_LSP_LSP_SERVER_H_
