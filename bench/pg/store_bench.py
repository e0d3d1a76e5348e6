#!/usr/bin/env python3
"""The shared workload on PostgreSQL with 1, 2 and 4 engine processes beside SQLite in the same run.

Each process replays its share of the workload's change sets (`replay --append --commit each
--ack`) into one store; disjoint shares touch only their own products, overlapping ones are dealt
round robin so that every process writes every product. Throughput is the commands of all
processes over the wall time from the first start to the last exit; latency is the time between
one process's consecutive acknowledgements (a command's run and commit, waits for the write lock
included), p50 and p99 over every process. Lines run without their At (at the store's clock), since
processes that interleave would otherwise be refused for moving time backwards. Run it beside a
cluster: tests/store/pg_harness.sh python3 bench/pg/store_bench.py BIN WORKLOAD_DIR.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
POLICY = ["--workflows", os.path.join(ROOT, "bench/workload/workflows"),
          "--rules", os.path.join(ROOT, "bench/workload/rules")]


def new_pg_database(n):
    admin = os.environ["SELLERFLOW_TEST_PG"]
    name = "sf_bench_%d_%d" % (os.getpid(), n)
    subprocess.run(["psql", admin, "-qAtc", "CREATE DATABASE " + name], check=True)
    return "postgresql://sellerflow@/%s?host=%s" % (name, os.environ["PG_HARNESS_DIR"])


def shares(lines, processes, layout):
    out = [[] for _ in range(processes)]
    if layout == "overlapping":
        for i, line in enumerate(lines):
            out[i % processes].append(line)
        return out
    products = sorted({json.loads(l)["ChangeSet"][0]["Entity"]["Identifier"] for l in lines})
    owner = {p: i % processes for i, p in enumerate(products)}
    for line in lines:
        out[owner[json.loads(line)["ChangeSet"][0]["Entity"]["Identifier"]]].append(line)
    return out


def run(binary, db, entities, parts, tmp):
    subprocess.run([binary, "import", entities, "--db", db, "--output", "json"] + POLICY,
                   check=True, stdout=subprocess.DEVNULL)
    files = []
    for i, part in enumerate(parts):
        path = os.path.join(tmp, "part-%d.jsonl" % i)
        with open(path, "w") as f:
            f.writelines(part)
        files.append(path)
    gaps, results, errors = [], [], []
    lock = threading.Lock()

    def one(path):
        p = subprocess.Popen([binary, "replay", path, "--append", "--commit", "each", "--ack",
                              "--db", db, "--output", "json"] + POLICY,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        last, mine, summary = None, [], None
        for line in p.stdout:
            now = time.monotonic()
            if line.startswith('{"Ack"'):
                if last is not None:
                    mine.append(now - last)
                last = now
            else:
                summary = line
        err = p.stderr.read()
        code = p.wait()
        with lock:
            gaps.extend(mine)
            results.append(summary)
            if code != 0:
                errors.append("exit %d: %s" % (code, err.strip()[:300]))

    threads = [threading.Thread(target=one, args=(f,)) for f in files]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - start
    commands = sum(len(p) for p in parts)
    gaps.sort()
    p99 = gaps[min(len(gaps) - 1, int(len(gaps) * 0.99))] if gaps else 0.0
    return {"commands": commands, "wall": wall, "per_second": commands / wall,
            "p50_ms": 1000 * statistics.median(gaps) if gaps else 0.0, "p99_ms": 1000 * p99,
            "errors": errors}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("workload", help="a folder with entities.jsonl and changesets.jsonl")
    ap.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    ap.add_argument("--stores", nargs="+", default=["sqlite", "postgresql"])
    args = ap.parse_args()
    with open(os.path.join(args.workload, "changesets.jsonl")) as f:
        lines = []
        for line in f:
            d = json.loads(line)
            d.pop("At", None)
            lines.append(json.dumps(d) + "\n")
    entities = os.path.join(args.workload, "entities.jsonl")
    rows, n = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for layout in ["disjoint", "overlapping"]:
            for store in args.stores:
                for processes in args.processes:
                    n += 1
                    db = (new_pg_database(n) if store == "postgresql"
                          else os.path.join(tmp, "s%d.db" % n))
                    r = run(args.binary, db, entities, shares(lines, processes, layout), tmp)
                    r.update(store=store, processes=processes, layout=layout)
                    rows.append(r)
                    print("%-11s %-10s %d processes: %7.0f commands/s, p50 %.2f ms, p99 %.2f ms%s"
                          % (layout, store, processes, r["per_second"], r["p50_ms"], r["p99_ms"],
                             "  ERRORS: %s" % r["errors"] if r["errors"] else ""),
                          file=sys.stderr, flush=True)
    print("| layout | store | processes | commands/s | vs 1 process | p50 ms | p99 ms |")
    print("|---|---|---:|---:|---:|---:|---:|")
    for r in rows:
        base = next(x for x in rows if x["layout"] == r["layout"] and x["store"] == r["store"]
                    and x["processes"] == min(args.processes))
        print("| %s | %s | %d | %.0f | %.2fx | %.2f | %.2f |" % (
            r["layout"], r["store"], r["processes"], r["per_second"],
            r["per_second"] / base["per_second"], r["p50_ms"], r["p99_ms"]))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
