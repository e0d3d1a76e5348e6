#!/usr/bin/env python3
"""A scripted language-server client: plays a session file to `sellerflow lsp`, prints the answers.

usage: client.py SESSION [SELLERFLOW]

SESSION holds one JSON-RPC message per line (blank lines and lines starting with # are skipped);
the client adds "jsonrpc" and the Content-Length framing. In a message, "$ROOT" stands for the file
URI of the current directory (the workspace), and a "text" given as {"file": PATH, "replace": [OLD,
NEW]} is that file's text with OLD replaced by NEW, as an editor's unsaved buffer. Every message the
server sends is printed as one line of JSON with sorted keys, the workspace's URI shown as $ROOT, and
then the server's exit code.
"""
import json
import os
import subprocess
import sys
import threading


def expand(value, root):
    if isinstance(value, str):
        return value.replace("$ROOT", root)
    if isinstance(value, list):
        return [expand(v, root) for v in value]
    if isinstance(value, dict):
        if set(value) >= {"file"} and set(value) <= {"file", "replace"}:
            with open(value["file"], encoding="utf-8") as f:
                text = f.read()
            if "replace" in value:
                old, new = value["replace"]
                text = text.replace(old, new)
            return text
        return {k: expand(v, root) for k, v in value.items()}
    return value


def main():
    session = sys.argv[1]
    binary = sys.argv[2] if len(sys.argv) > 2 else "sellerflow"
    root = "file://" + os.getcwd()
    messages = []
    with open(session, encoding="utf-8") as f:
        for line in f:
            if line.strip() and not line.lstrip().startswith("#"):
                messages.append(dict(jsonrpc="2.0", **expand(json.loads(line), root)))
    server = subprocess.Popen([binary, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def write():
        for m in messages:
            body = json.dumps(m).encode()
            server.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        server.stdin.close()

    threading.Thread(target=write, daemon=True).start()
    while True:
        length = None
        while True:
            line = server.stdout.readline()
            if not line or line in (b"\r\n", b"\n"):
                break
            name, _, value = line.decode().partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        if length is None:
            break
        message = json.loads(server.stdout.read(length))
        print(json.dumps(message, sort_keys=True, ensure_ascii=False).replace(root, "$ROOT"))
    print("exit", server.wait())


if __name__ == "__main__":
    main()
