#!/usr/bin/env python3
"""`sellerflow lsp` driven by a scripted JSON-RPC client, as an editor drives it.

usage: lsp_test.py SELLERFLOW SOURCE_DIR
The shipped rules/ and workflows/ are copied into a temporary workspace. The client initializes,
opens a rules file with a mistake typed in (after a character outside the BMP, so that UTF-16 and
code-point columns differ) and checks the published diagnostic's range and message, fixes it and
checks that the diagnostics clear; then hover, completion and definition at known places of the
shipped files; then what no editor sends (bad JSON, bad headers, an oversized message, unknown
methods, bad params) and the exit codes of the lifecycle.
"""
import json
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading

FAILURES = []


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else ": " + str(detail)))
    if not cond:
        FAILURES.append(what)


class Client:
    """One server process; messages read on a thread so that a silent server fails, not hangs."""

    def __init__(self, binary, cwd):
        self.proc = subprocess.Popen([binary, "lsp"], cwd=cwd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.inbox = queue.Queue()
        self.next_id = 1
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        out = self.proc.stdout
        while True:
            headers = {}
            while True:
                line = out.readline()
                if not line:
                    self.inbox.put(None)
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode().partition(":")
                headers[name.strip().lower()] = value.strip()
            body = out.read(int(headers["content-length"]))
            self.inbox.put(json.loads(body))

    def send_raw(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def send(self, message):
        body = json.dumps(message).encode()
        self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)

    def request(self, method, params=None):
        """Sends a request and returns (its response, the notifications that came before it)."""
        rid = self.next_id
        self.next_id += 1
        message = {"jsonrpc": "2.0", "id": rid, "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)
        return self.wait_for(lambda m: m.get("id") == rid)

    def wait_for(self, pred, timeout=20):
        seen = []
        while True:
            m = self.inbox.get(timeout=timeout)
            if m is None:
                raise RuntimeError("the server closed its output")
            if pred(m):
                return m, seen
            seen.append(m)

    def diagnostics(self, notes):
        """The last published diagnostics per URI among `notes`."""
        out = {}
        for m in notes:
            if m.get("method") == "textDocument/publishDiagnostics":
                out[m["params"]["uri"]] = m["params"]["diagnostics"]
        return out

    def sync(self):
        """Everything the server sent before answering a request sent now (it answers in order)."""
        _, seen = self.request("textDocument/hover", {"textDocument": {"uri": "file:///none"},
                                                      "position": {"line": 0, "character": 0}})
        return seen


def utf16_len(s):
    return len(s.encode("utf-16-le")) // 2


def position_of(text, needle, skip=0, nth=0):
    """The LSP position (0-based line, UTF-16 character) of `skip` characters into the nth `needle`."""
    at = -1
    for _ in range(nth + 1):
        at = text.index(needle, at + 1)
    at += skip
    line = text.count("\n", 0, at)
    start = text.rfind("\n", 0, at) + 1
    return {"line": line, "character": utf16_len(text[start:at])}


def main():
    binary, source = os.path.abspath(sys.argv[1]), sys.argv[2]
    work = tempfile.mkdtemp(prefix="sellerflow-lsp-")
    try:
        for folder in ("rules", "workflows"):
            shutil.copytree(os.path.join(source, folder), os.path.join(work, folder))
        run(binary, work)
        lifecycle(binary, work)
        project(binary, source, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print("%d failed: %s" % (len(FAILURES), ", ".join(FAILURES)))
        return 1
    print("all passed")
    return 0


def run(binary, work):
    c = Client(binary, work)
    root_uri = "file://" + work
    rules_path = os.path.join(work, "rules", "product_information.rules")
    rules_uri = "file://" + rules_path
    flow_path = os.path.join(work, "workflows", "update_information.yaml")
    flow_uri = "file://" + flow_path
    rules_text = open(rules_path, encoding="utf-8").read()
    flow_text = open(flow_path, encoding="utf-8").read()

    # Before initialize, requests are refused.
    r, _ = c.request("textDocument/hover", {})
    check("before initialize: ServerNotInitialized", r.get("error", {}).get("code") == -32002, r)

    r, notes = c.request("initialize", {"processId": None, "rootUri": root_uri, "capabilities": {}})
    caps = r["result"]["capabilities"]
    check("initialize: full text sync", caps["textDocumentSync"]["change"] == 1, caps)
    check("initialize: hover, definition", caps["hoverProvider"] and caps["definitionProvider"], caps)
    check("initialize: completion on '.'", caps["completionProvider"]["triggerCharacters"] == ["."],
          caps)
    diags = c.diagnostics(notes)
    check("initialize: the shipped policy is clean, every file published",
          len(diags) == 32 and all(v == [] for v in diags.values()),
          {k: v for k, v in diags.items() if v} or len(diags))
    c.notify("initialized", {})

    # A mistake typed after a character outside the BMP: 2 UTF-16 units, 1 code point, 4 bytes.
    broken = rules_text.replace("at most {MAX_TITLE} are allowed.", "at most \U0001F600 {MAX_TITEL} are allowed.")
    check("the broken text differs", broken != rules_text)
    c.notify("textDocument/didOpen", {"textDocument": {"uri": rules_uri, "languageId": "sellerflow-rules",
                                                       "version": 1, "text": broken}})
    diags = c.diagnostics(c.sync())
    mine = diags.get(rules_uri)
    expected = [{"range": {"start": {"line": 38, "character": 80}, "end": {"line": 38, "character": 89}},
                 "severity": 1, "source": "sellerflow",
                 "message": "unknown name 'MAX_TITEL'\nhint: did you mean 'MAX_TITLE'?"}]
    check("didOpen: the error's range (UTF-16) and message", mine == expected, mine)
    note = diags.get(flow_uri)
    check("didOpen: the note at the machine whose rules were checked",
          note and note[0]["severity"] == 3 and "while checking the rules of UpdateInformation" in note[0]["message"],
          note)
    check("didOpen: every file published", len(diags) == 32, len(diags))

    c.notify("textDocument/didChange", {"textDocument": {"uri": rules_uri, "version": 2},
                                        "contentChanges": [{"text": rules_text}]})
    diags = c.diagnostics(c.sync())
    check("didChange: fixed, the diagnostics clear",
          diags.get(rules_uri) == [] and diags.get(flow_uri) == [] and
          all(v == [] for v in diags.values()), {k: v for k, v in diags.items() if v})

    # A workflow file broken in its buffer: its diagnostic is there, at the state it names.
    flow_broken = flow_text.replace("- {from: Submitted, to: Validating}", "- {from: Submitted, to: Validatin}")
    c.notify("textDocument/didOpen", {"textDocument": {"uri": flow_uri, "languageId": "yaml",
                                                       "version": 1, "text": flow_broken}})
    diags = c.diagnostics(c.sync())
    errors = [d for d in diags.get(flow_uri, []) if d["severity"] == 1]
    at = position_of(flow_broken, "Validatin}")
    check("workflow buffer: the undefined state is reported at it",
          errors and errors[0]["range"]["start"] == at and "Validatin" in errors[0]["message"], errors)
    c.notify("textDocument/didChange", {"textDocument": {"uri": flow_uri, "version": 2},
                                        "contentChanges": [{"text": flow_text}]})
    diags = c.diagnostics(c.sync())
    check("workflow buffer fixed: clean", all(v == [] for v in diags.values()),
          {k: v for k, v in diags.items() if v})

    def hover(uri, pos):
        r, _ = c.request("textDocument/hover", {"textDocument": {"uri": uri}, "position": pos})
        res = r.get("result")
        return res["contents"]["value"] if res else None

    h = hover(rules_uri, position_of(rules_text, "rule title_length", skip=7))
    check("hover: a rule's code and message",
          h and "code `INVALID_INPUT`" in h and
          '"ProductTitle has {len(details.ProductTitle)} characters; at most {MAX_TITLE} are allowed."' in h, h)
    h = hover(rules_uri, position_of(rules_text, "<= MAX_TITLE", skip=5))
    check("hover: a constant's value", h == "const `MAX_TITLE` = `72`", h)
    h = hover(rules_uri, position_of(rules_text, "len(details.ProductTitle)", skip=14))
    check("hover: details.X and its type", h and h.startswith("`details.ProductTitle`: `string` (optional"), h)
    offer_path = os.path.join(work, "rules", "offer.rules")
    offer_text = open(offer_path, encoding="utf-8").read()
    h = hover("file://" + offer_path, position_of(offer_text, "entity.Document.ProductId", skip=18))
    check("hover: entity.Document.X and its type", h and h.startswith("`entity.Document.ProductId`: `string`"), h)
    h = hover(flow_uri, position_of(flow_text, "to: Validating}", skip=6))
    check("hover: a state's status", h and h.startswith("state `Validating` of UpdateInformation") and
          "status PREPARING" in h and "validates" in h, h)
    h = hover(rules_uri, position_of(rules_text, "require len(", skip=9))
    check("hover: a built-in function's signature", h == "`len(string | list | map | object)`", h)

    def complete(uri, pos):
        r, _ = c.request("textDocument/completion", {"textDocument": {"uri": uri}, "position": pos})
        return {i["label"]: i for i in r["result"]}

    items = complete(rules_uri, position_of(rules_text, "has(details.ProductTitle)", skip=12))
    check("completion after details.: the input's fields",
          "ProductTitle" in items and "ShortDescription" in items and "MAX_TITLE" not in items and
          items["ProductTitle"]["kind"] == 5, sorted(items)[:8])
    items = complete("file://" + offer_path, position_of(offer_text, "entity.Document.ProductId", skip=16))
    check("completion after entity.Document.: the document's fields",
          "ProductId" in items and "PositiveTargeting" in items, sorted(items)[:8])
    items = complete(rules_uri, position_of(rules_text, "require len(details) > 0", skip=8))
    check("completion elsewhere: rules, constants, functions, variables",
          all(n in items for n in ("title_length", "MAX_TITLE", "len", "matches", "details")), sorted(items)[:8])
    visibility_path = os.path.join(work, "workflows", "update_visibility.yaml")
    visibility_text = open(visibility_path, encoding="utf-8").read()
    items = complete("file://" + visibility_path, position_of(visibility_text, "states:"))
    check("completion in a workflow: its states and events",
          all(n in items for n in ("Submitted", "approve", "reject", "cancel")) and
          items["approve"]["kind"] == 23, sorted(items)[:8])

    def define(uri, pos):
        r, _ = c.request("textDocument/definition", {"textDocument": {"uri": uri}, "position": pos})
        return r.get("result")

    d = define(flow_uri, position_of(flow_text, "title_length,", skip=3))
    at = position_of(rules_text, "rule title_length", skip=5)
    check("definition: a rule named in a workflow",
          d == {"uri": rules_uri, "range": {"start": at, "end": {"line": at["line"], "character": at["character"] + 12}}}, d)
    d = define(rules_uri, position_of(rules_text, "<= MAX_TITLE", skip=4))
    check("definition: a constant",
          d == {"uri": rules_uri, "range": {"start": {"line": 4, "character": 6}, "end": {"line": 4, "character": 15}}}, d)
    d = define(flow_uri, position_of(flow_text, "to: Validating}", skip=5))
    at = position_of(flow_text, "  Validating:\n", skip=2)
    check("definition: a state named in a transition",
          d == {"uri": flow_uri, "range": {"start": at, "end": {"line": at["line"], "character": at["character"] + 10}}}, d)
    d = define(rules_uri, position_of(rules_text, "details.ProductTitle", skip=10))
    check("definition: nothing for a field", d is None, d)

    # What no editor sends: each answered, and the server still serves.
    c.send_raw(b"Content-Length: 9\r\n\r\n{not json")
    m, _ = c.wait_for(lambda m: "error" in m)
    check("malformed JSON: ParseError", m["error"]["code"] == -32700 and m["id"] is None, m)
    c.send_raw(b"Content-Type: nothing\r\n\r\n")
    m, _ = c.wait_for(lambda m: "error" in m)
    check("no Content-Length: ParseError", m["error"]["code"] == -32700, m)
    big = 5 * 1024 * 1024
    c.send_raw(b"Content-Length: %d\r\n\r\n" % big + b" " * big)
    m, _ = c.wait_for(lambda m: "error" in m)
    check("oversized message: refused, skipped", m["error"]["code"] == -32600, m)
    for body in (b"[1, 2]", b'"text"', b"null", b'{"jsonrpc": "2.0", "id": {"x": 1}, "method": "shutdown"}'):
        c.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        m, _ = c.wait_for(lambda m: "error" in m)
        check("not a request (%s): InvalidRequest" % body.decode()[:20], m["error"]["code"] == -32600, m)
    r, _ = c.request("workspace/frobnicate", {})
    check("unknown request: MethodNotFound", r.get("error", {}).get("code") == -32601, r)
    c.notify("$/cancelRequest", {"id": 1})
    r, _ = c.request("textDocument/hover", {"textDocument": {"uri": 7}, "position": "here"})
    check("bad params: InvalidParams", r.get("error", {}).get("code") == -32602, r)
    r, _ = c.request("textDocument/hover", {"textDocument": {"uri": rules_uri},
                                            "position": {"line": 100000, "character": 100000}})
    check("a position past the end: no hover", "result" in r and r["result"] is None, r)
    c.notify("textDocument/didChange", {"textDocument": {"uri": rules_uri, "version": 3},
                                        "contentChanges": [{"text": "\xff\x00rule {{{{ \U0001F600" * 50}]})
    r, _ = c.request("textDocument/completion", {"textDocument": {"uri": rules_uri},
                                                 "position": {"line": 0, "character": 3}})
    check("garbage buffer: still answers", "result" in r, r)

    r, _ = c.request("shutdown")
    check("shutdown: null result", "result" in r and r["result"] is None, r)
    r, _ = c.request("textDocument/hover", {})
    check("after shutdown: InvalidRequest", r.get("error", {}).get("code") == -32600, r)
    c.notify("exit")
    code = c.proc.wait(timeout=20)
    check("exit after shutdown: 0", code == 0, code)


def lifecycle(binary, work):
    c = Client(binary, work)
    c.request("initialize", {"rootPath": work, "capabilities": {}})
    c.notify("exit")
    code = c.proc.wait(timeout=20)
    check("exit without shutdown: 1", code == 1, code)
    c = Client(binary, work)
    c.proc.stdin.close()
    code = c.proc.wait(timeout=20)
    check("input ends without shutdown: 1", code == 1, code)


def project(binary, source, work):
    """A workspace whose folders a sellerflow.yaml names, as `check` finds them; then a broken one."""
    ws = os.path.join(work, "project")
    shutil.copytree(os.path.join(source, "rules"), os.path.join(ws, "policy", "our-rules"))
    shutil.copytree(os.path.join(source, "workflows"), os.path.join(ws, "policy", "our-flows"))
    with open(os.path.join(ws, "sellerflow.yaml"), "w") as f:
        f.write("workflows: policy/our-flows\nrules: [policy/our-rules]\n")
    c = Client(binary, "/")
    r, notes = c.request("initialize", {"rootUri": "file://" + ws, "capabilities": {}})
    diags = c.diagnostics(notes)
    rules_uri = "file://" + os.path.join(ws, "policy", "our-rules", "seller.rules")
    check("project file: its folders are the workspace's",
          len(diags) == 33 and rules_uri in diags and "file://" + os.path.join(ws, "sellerflow.yaml") in diags and
          all(v == [] for v in diags.values()),
          {k: v for k, v in diags.items() if v} or sorted(diags)[:3])
    c.request("shutdown")
    c.notify("exit")
    c.proc.wait(timeout=20)
    with open(os.path.join(ws, "sellerflow.yaml"), "w") as f:
        f.write("workflows: policy/our-flows\nrulez: [policy/our-rules]\n")
    c = Client(binary, "/")
    r, notes = c.request("initialize", {"rootUri": "file://" + ws, "capabilities": {}})
    project_diags = c.diagnostics(notes).get("file://" + os.path.join(ws, "sellerflow.yaml"))
    check("project file: its mistake is shown in it",
          project_diags and project_diags[0]["range"]["start"] == {"line": 1, "character": 0} and
          "rulez" in project_diags[0]["message"], project_diags)
    c.request("shutdown")
    c.notify("exit")
    c.proc.wait(timeout=20)


if __name__ == "__main__":
    sys.exit(main())
