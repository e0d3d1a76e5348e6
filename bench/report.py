#!/usr/bin/env python3
"""Joins rules_bench's JSON and cel_bench.mjs's JSON lines into one table, as text and Markdown.

usage: report.py [--clock cpu|real] RULES_BENCH_JSON CEL_BENCH_JSONL

Times are CPU time by default (Google Benchmark's cpu_time, cel_bench's CPU time), which other load
on the machine does not inflate; --clock real takes wall-clock times instead.

Per rule: median ns per evaluation of the rule language (sellerflow), the hand-written C++ and
cel-js, the ratios sellerflow/hand and cel-js/sellerflow, and heap allocations per evaluation of
the rule language; then Program::Build time per rule, and the targets: every rule at least 10x
faster than cel-js, the title rule at most 100 ns, no heap allocation per evaluation. (The
hand-written C++ is shown for scale only: the target of at most 2x its time was withdrawn.)
Violation counts of the two sides are compared: when they differ, the two did not check the same
thing and the line says so.
"""
import datetime
import json
import os
import platform
import sys

TO_NS = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def load_rules_bench(path):
    """{run_name: entry}, preferring the median aggregate when repetitions were asked for."""
    with open(path) as f:
        data = json.load(f)
    runs, medians = {}, {}
    for b in data["benchmarks"]:
        if b.get("run_type") == "aggregate":
            if b.get("aggregate_name") == "median":
                medians[b["run_name"]] = b
        else:
            runs.setdefault(b["run_name"], b)  # The first repetition, if no aggregate comes.
    runs.update(medians)
    return data.get("context", {}), runs


CLOCK = "cpu"


def ns(entry):
    key = "cpu_time" if CLOCK == "cpu" else "real_time"
    return entry[key] * TO_NS[entry.get("time_unit", "ns")]


def cel_ns(record):
    return record["ns"] if CLOCK == "cpu" else record.get("wall_ns")


def fmt(x, digits=1):
    if x is None:
        return "n/a"
    return f"{x:,.{digits}f}"


def ratio(a, b):
    return a / b if a is not None and b else None


def main():
    global CLOCK
    args = sys.argv[1:]
    if len(args) >= 2 and args[0] == "--clock":
        CLOCK = args[1]
        args = args[2:]
    if len(args) != 2 or CLOCK not in ("cpu", "real"):
        sys.exit(__doc__)
    context, runs = load_rules_bench(args[0])
    cel = {}
    with open(args[1]) as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                cel[r["rule"]] = r

    names = [n[len("BM_Rule/"):] for n in runs if n.startswith("BM_Rule/")]
    header = ["rule", "sellerflow ns", "hand C++ ns", "cel-js ns", "sf/hand", "cel/sf",
              "allocs/eval", "arena B/eval", "violations sf, cel"]
    rows, problems = [], []
    sums = [0.0, 0.0, 0.0]
    complete = [True, True, True]
    for name in names:
        sf = runs[f"BM_Rule/{name}"]
        hand = runs.get(f"BM_Native/{name}")
        c = cel.get(name)
        t = [ns(sf), ns(hand) if hand else None, cel_ns(c) if c else None]
        for i, v in enumerate(t):
            if v is None:
                complete[i] = False
            else:
                sums[i] += v
        sf_fail = context.get(f"failures/{name}")
        cel_fail = c.get("failures") if c else None
        if c is not None and sf_fail is not None and int(sf_fail) != cel_fail:
            problems.append(f"{name}: sellerflow finds {sf_fail} violations, cel-js {cel_fail}: "
                            "the two do not check the same thing")
        if c is None:
            problems.append(f"{name}: no cel-js figure (no rule of that name in cel_bench.mjs)")
        rows.append([name, fmt(t[0]), fmt(t[1]), fmt(t[2]), fmt(ratio(t[0], t[1]), 2),
                     fmt(ratio(t[2], t[0]), 2), fmt(sf.get("allocs_per_eval"), 2),
                     fmt(sf.get("arena_bytes_per_eval"), 0),
                     f"{sf_fail if sf_fail is not None else '?'}, {cel_fail if c else '?'}"])
    for name in cel:
        if name not in names:
            problems.append(f"{name}: cel-js rule with no sellerflow rule of that name")
    total = [s if ok else None for s, ok in zip(sums, complete)]
    rows.append([f"all {len(names)} (sum)", fmt(total[0]), fmt(total[1]), fmt(total[2]),
                 fmt(ratio(total[0], total[1]), 2), fmt(ratio(total[2], total[0]), 2), "", "", ""])

    build = runs.get("BM_Build")
    build_line = "build: n/a"
    if build:
        rules = build.get("rules") or len(names)
        build_line = (f"Program::Build (parse+check+compile) of the whole file: "
                      f"{fmt(ns(build) / 1e3)} µs, {fmt(ns(build) / 1e3 / rules, 2)} µs/rule "
                      f"({int(rules)} rules), {fmt(build.get('allocs_per_eval'), 0)} allocations")
    # The targets: at least 10x cel-js on every rule, the title rule at most 100 ns, no
    # allocation per evaluation.
    targets = []
    speedups = {name: ratio(cel_ns(cel[name]), ns(runs[f"BM_Rule/{name}"]))
                for name in names if name in cel}
    slowest = min(speedups.items(), key=lambda kv: kv[1] if kv[1] is not None else 0, default=None)
    if slowest:
        ok = all(v is not None and v >= 10 for v in speedups.values())
        targets.append(f"{'met' if ok else 'NOT met'}: every rule at least 10x faster than cel-js "
                       f"(slowest: {slowest[0]} {fmt(slowest[1], 2)}x)")
    title = runs.get("BM_Rule/title_length")
    if title:
        targets.append(f"{'met' if ns(title) <= 100 else 'NOT met'}: title_length at most 100 ns "
                       f"({fmt(ns(title))} ns)")
    allocs = [runs[f"BM_Rule/{name}"].get("allocs_per_eval") for name in names]
    if allocs and all(a is not None for a in allocs):
        targets.append(f"{'met' if max(allocs) == 0 else 'NOT met'}: no heap allocation per "
                       f"evaluation (most: {fmt(max(allocs), 2)})")
    docs = context.get("documents", "?")
    machine = (f"{os.cpu_count()} CPUs, {cpu_model()}, {platform.system()} {platform.release()}; "
               f"{datetime.datetime.now().strftime('%Y-%m-%d %H:%M')}")
    reps = runs[f"BM_Rule/{names[0]}"].get("repetitions", 1) if names else 1
    cel_meta = next(iter(cel.values()), {})
    note = (f"{docs} DetailsDocuments round-robin; {CLOCK} time per evaluation, medians of {reps} "
            f"repetitions (cel-js {cel_meta.get('cel_js', '?')}: of {cel_meta.get('batches', '?')} "
            "batches)")

    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    print(machine)
    print(note)
    print()
    for r in [header] + rows:
        print("  ".join(r[i].ljust(widths[i]) if i == 0 else r[i].rjust(widths[i])
                        for i in range(len(r))))
    print()
    print(build_line)
    for t in targets:
        print(f"target {t}")
    for p in problems:
        print(f"WARNING: {p}")

    print()
    print("Markdown:")
    print()
    print(f"Machine: {machine}. {note}.")
    print()
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    print()
    print(build_line + ".")
    if targets:
        print()
        print("Targets: " + "; ".join(targets) + ".")
    for p in problems:
        print(f"\n**Warning:** {p}.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
