#!/usr/bin/env python3
"""The console's Requests page over a store of 100,000 change sets: server time and page sizes.

usage: console_bench.py SELLERFLOW [--change-sets N] [--work DIR] [--runs R]
Writes N StartChangeSet commands (products created, then UpdateInformation on them from three seller
accounts, one in twenty refused by a rule so that FAILED is rare), replays them into a store with
`replay --commit batch`, serves it, signs in to the console and fetches each page R times. Prints,
per page, the median and the worst of the server's own time (its Server-Timing header: the store's
reads and the rendering, not the socket) and the client's time over loopback, and the page's size.
"""
import argparse
import http.cookiejar
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request

SELLERS = ["111122223333", "222233334444", "333344445555"]
KEYS = [{"AccessKeyId": "AKIDBENCH" + a, "SecretAccessKey": "s" + a, "Actor": "seller:" + a} for a in SELLERS]
KEYS.append({"AccessKeyId": "AKIDBENCHOPS", "SecretAccessKey": "ops", "Actor": "operations"})


def workload(path, n):
    products = max(1, n // 100)
    at = 1767600000  # 2026-01-05T08:00:00Z
    with open(path, "w") as f:
        def line(actor, changes, i):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at + i))
            f.write(json.dumps({"op": "start-change-set", "Actor": actor, "At": stamp,
                                "Catalog": "AWSMarketplace", "ChangeSetName": "bench %d" % i,
                                "ChangeSet": changes}) + "\n")
        for i in range(n):
            seller = "seller:" + SELLERS[i % len(SELLERS)]
            if i < products:
                line(seller, [{"ChangeType": "CreateProduct",
                               "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
                               "DetailsDocument": {"ProductTitle": "Bench product %d" % i}}], i)
                continue
            # A product of the same seller: products were created round-robin too.
            p = (i % products) - (i % products) % len(SELLERS) + i % len(SELLERS)
            categories = ["Assessments", "Migraton"] if i % 20 == 0 else ["Assessments"]
            line(seller, [{"ChangeType": "UpdateInformation",
                           "Entity": {"Type": "ProfessionalServicesProduct@1.0",
                                      "Identifier": "$product%d" % p},
                           "DetailsDocument": {"ShortDescription": "Revision %d" % i,
                                               "Categories": categories}}], i)
    return products


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sellerflow")
    ap.add_argument("--change-sets", type=int, default=100000)
    ap.add_argument("--work", default=os.path.join(os.environ.get("TMPDIR", "/tmp"), "sellerflow-console-bench"))
    ap.add_argument("--runs", type=int, default=30)
    a = ap.parse_args()
    os.makedirs(a.work, exist_ok=True)
    db = os.path.join(a.work, "store-%d.db" % a.change_sets)
    if not os.path.exists(db):
        # Product ids are the engine's (deterministic, unknown here): create the products first,
        # read their ids, then write the updates that name them.
        log = os.path.join(a.work, "workload-%d.jsonl" % a.change_sets)
        products = workload(log, a.change_sets)
        lines = open(log).read().splitlines()
        first = os.path.join(a.work, "products.jsonl")
        open(first, "w").write("\n".join(lines[:products]) + "\n")
        t = time.time()
        subprocess.run([a.sellerflow, "replay", first, "--db", db + ".tmp", "--commit", "batch",
                        "--output", "json", "--log-level", "off"], check=True, stdout=subprocess.DEVNULL)
        out = subprocess.run([a.sellerflow, "list-entities", "--db", db + ".tmp", "--output", "json"],
                             check=True, capture_output=True, text=True).stdout
        ids = [e["EntityId"] for e in json.loads(out)["EntitySummaryList"]
               if e["EntityType"].startswith("ProfessionalServicesProduct")]
        owners = {e["EntityId"]: e["Owner"] for e in json.loads(out)["EntitySummaryList"]}
        by_seller = {s: [i for i in ids if owners[i] == "seller:" + s] for s in SELLERS}
        rest = os.path.join(a.work, "updates.jsonl")
        with open(rest, "w") as f:
            for k, l in enumerate(lines[products:]):
                d = json.loads(l)
                seller = d["Actor"].split(":")[1]
                mine = by_seller[seller]
                d["ChangeSet"][0]["Entity"]["Identifier"] = mine[k % len(mine)]
                f.write(json.dumps(d) + "\n")
        subprocess.run([a.sellerflow, "replay", rest, "--db", db + ".tmp", "--commit", "batch",
                        "--append", "--output", "json", "--log-level", "off"], check=True,
                       stdout=subprocess.DEVNULL)
        os.rename(db + ".tmp", db)
        print("store: %d change sets replayed in %.1f s" % (a.change_sets, time.time() - t))
    creds = os.path.join(a.work, "creds.json")
    json.dump({"Keys": KEYS}, open(creds, "w"))
    errlog = os.path.join(a.work, "serve.log")
    proc = subprocess.Popen([a.sellerflow, "serve", "--listen", "127.0.0.1:0", "--db", db,
                             "--credentials", creds, "--clock", "manual", "--log-level", "warn"],
                            stderr=open(errlog, "w"))
    try:
        base = None
        for _ in range(400):
            m = re.search(r"http://127\.0\.0\.1:(\d+)", open(errlog).read())
            if m:
                base = "http://127.0.0.1:" + m.group(1)
                break
            time.sleep(0.05)
        assert base, open(errlog).read()

        def session(key):
            jar = http.cookiejar.CookieJar()
            opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
            opener.open(base + "/console/sign-in", data=urllib.parse.urlencode(
                {"AccessKeyId": key["AccessKeyId"], "SecretAccessKey": key["SecretAccessKey"]}).encode())
            return opener

        def measure(opener, url, label):
            server, client, size = [], [], 0
            body = b""
            for _ in range(a.runs):
                t = time.perf_counter()
                with opener.open(base + url) as r:
                    body = r.read()
                    timing = r.headers.get("Server-Timing", "")
                client.append((time.perf_counter() - t) * 1000)
                server.append(float(timing.split("dur=")[1]) if "dur=" in timing else float("nan"))
                size = len(body)
            print("| %s | `%s` | %.2f | %.2f | %.2f | %s |" % (
                label, url if len(url) < 70 else url[:67] + "...", statistics.median(server),
                max(server), statistics.median(client), "{:,}".format(size)))
            return body

        ops, seller = session(KEYS[-1]), session(KEYS[0])
        print("| page | URL | server ms (median) | server ms (max) | client ms (median) | bytes |")
        print("|---|---|---:|---:|---:|---:|")
        first = measure(ops, "/console/requests", "Requests, first page (operations)")
        measure(seller, "/console/requests", "Requests, first page (a seller: a third)")
        cursor = re.search(rb"cursor=(\d+)", first).group(1).decode()
        measure(ops, "/console/requests?cursor=" + cursor, "Requests, second page")
        measure(ops, "/console/requests?sort=oldest", "Requests, oldest first")
        measure(ops, "/console/requests?status=FAILED", "Requests, FAILED (1 in 20)")
        measure(ops, "/console/requests?change_type=CreateProduct", "Requests, CreateProduct (1 in 100)")
        measure(ops, "/console/requests?after=2026-01-05T20%3A00&before=2026-01-05T21%3A00",
                "Requests, one hour")
        cs = re.search(rb'href="/console/requests/(cs-[a-z0-9]+)"', first).group(1).decode()
        body = measure(ops, "/console/requests/" + cs, "a request")
        entity = re.search(rb'href="/console/entities/(prod-[a-z0-9]+)"', body).group(1).decode()
        measure(ops, "/console/requests?entity=" + entity, "Requests, one entity")
        measure(ops, "/console/entities?type=ProfessionalServicesProduct@1.0", "entities, first page")
        measure(ops, "/console/entities/" + entity, "an entity (its requests and history)")
        a.runs = max(1, min(a.runs, 3))
        measure(ops, "/console/policy", "the policy (counts over all history)")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)


if __name__ == "__main__":
    sys.exit(main())
