#!/usr/bin/env python3
"""A deterministic replay log that walks the shipped policy's paths, for the crash and load tests.

Unlike the benchmark workload (one UpdateInformation after another), the log mixes what an operator
sees: imports of sellers and products, UpdateInformation that succeeds or FAILS, seller profiles,
UpdateVisibility that waits in review (approved or rejected) or in its 24-hour cancel window
(cancelled, or moved on by the clock), two-change sets, ClientRequestToken retries (same body: the
original change set; another body: a conflict), VALIDATE runs, conflicts on held entities, clock
ticks and refusals. Reviews and cancels name change sets by the identifiers the engine will give
them, which the generator predicts from their order (engine.cc: MakeSortedId over their number);
the expectations it writes (--expect FILE) let a test confirm the log did what it says.

usage: gen_mixed_log.py OUT.jsonl [--commands N] [--seed S] [--expect FILE]
"""
import argparse
import datetime
import hashlib
import json
import random

PT = "ProfessionalServicesProduct@1.0"
ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
CATEGORIES = ["Assessments", "Implementation", "Managed Services", "Premium Support", "Training"]
WORDS = ["audit", "cloud", "review", "plan", "data", "secure", "move", "build", "tune", "lake"]


SORTED = "234567abcdefghijklmnopqrstuvwxyz"


def change_set_id(n):
    """engine.cc's MakeSortedId: the number in 7 base-32 digits, then 18 hashed characters."""
    h = hashlib.sha256(("change_set:%d" % n).encode()).hexdigest()
    number = "".join(SORTED[(n >> (5 * i)) & 31] for i in range(6, -1, -1))
    return "cs-" + number + "".join(ALPHABET[int(h[i * 2:i * 2 + 2], 16) % 32] for i in range(18))


def product_id(i):
    return "prod-" + format(i, "013d").translate(str.maketrans("0123456789", "abcdefghij"))


class Gen:
    def __init__(self, rng, commands):
        self.rng = rng
        self.commands = commands
        self.lines = []
        self.t = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
        self.accepted = 0  # change sets the engine will keep
        self.numbered = 0  # ids the engine will hand out: a VALIDATE's too, never given again
        self.expect = {"conflicts": 0, "accepted": 0, "retries": 0}
        self.sellers = ["111122223333", "444455556666", "777788889999"]
        self.public_profile = {s: False for s in self.sellers}
        self.products = {}  # id -> {"owner", "held_by": cs id or None}
        self.open = []  # [cs id, product, kind ("review" | "window"), ready time, start time, target]

    def at(self):
        self.t += datetime.timedelta(minutes=self.rng.choice([1, 2, 5, 10]))
        return self.t.strftime("%Y-%m-%dT%H:%M:%SZ")

    def emit(self, obj):
        self.lines.append(json.dumps(obj, separators=(",", ":"), ensure_ascii=False))

    def start(self, actor, changes, accepted, **extra):
        body = {"op": "start-change-set", "Actor": actor, "At": self.at(), "Catalog": "AWSMarketplace"}
        body.update(extra)
        body["ChangeSet"] = changes
        self.emit(body)
        if accepted or extra.get("Intent") == "VALIDATE":
            self.numbered += 1
        if accepted:
            self.accepted += 1
            return change_set_id(self.numbered)
        return None

    def details(self):
        r = self.rng
        d = {"ProductTitle": " ".join(r.choice(WORDS) for _ in range(r.randint(1, 5))).title()}
        if r.random() < 0.5:
            d["Categories"] = [r.choice(CATEGORIES)]
        if r.random() < 0.3:
            d["Highlights"] = ["%s \"quoted\" 'x' ; -- %d" % (r.choice(WORDS), r.randint(0, 99))]
        if r.random() < 0.1:
            d["ProductTitle"] = "Ünïcödé ✓ " + d["ProductTitle"]
        if r.random() < 0.12:
            d["Categories"] = ["Not A Category"]  # the rules FAIL it: accepted, FAILED
        return d

    def ui(self, pid, details):
        return {"ChangeType": "UpdateInformation", "Entity": {"Type": PT, "Identifier": pid},
                "DetailsDocument": details}

    def free_products(self):
        return [p for p, v in self.products.items() if v["held_by"] is None]

    def run(self):
        r = self.rng
        for s in self.sellers:
            self.emit({"op": "import", "EntityType": "Seller@1.0", "EntityIdentifier": s, "State": "Active",
                       "Owner": "seller:" + s, "DetailsDocument": {"PublicProfile": False}})
        for i in range(30):
            owner = self.sellers[i % 3]
            pid = product_id(i)
            self.products[pid] = {"owner": owner, "held_by": None, "visibility": "Limited"}
            self.emit({"op": "import", "EntityType": PT, "EntityIdentifier": pid, "State": "Limited",
                       "Owner": "seller:" + owner, "DetailsDocument": {"ProductTitle": "Product %d" % i}})
        token = 0
        while len(self.lines) < self.commands:
            # Change sets whose wait is over are decided first (a review or a cancel).
            due = [o for o in self.open if o[3] <= self.t]
            if due and r.random() < 0.6:
                o = r.choice(due)
                cs, pid, kind = o[0], o[1], o[2]
                self.open.remove(o)
                in_window = kind == "window" and self.t < o[4] + datetime.timedelta(hours=23)
                if in_window and r.random() < 0.5:
                    self.emit({"op": "cancel-change-set", "Actor": "seller:" + self.products[pid]["owner"],
                               "At": self.at(), "ChangeSetId": cs})
                else:
                    if kind == "window":
                        # Past 24 hours the timer has moved it to review; let the clock pass it.
                        self.t = max(self.t, o[3] + datetime.timedelta(hours=24))
                    decision = r.choice(["approve", "approve", "reject"])
                    if kind == "window" and decision == "approve":
                        # Restricting removes the product (a final state): nothing more for it.
                        del self.products[pid]
                    elif decision == "approve":
                        self.products[pid]["visibility"] = o[5]
                    line = {"op": "review", "Actor": "operations", "At": self.at(), "ChangeSetId": cs,
                            "Decision": decision}
                    if decision == "reject":
                        line["Reason"] = "not yet; see \"policy\" §4"
                    self.emit(line)
                if pid in self.products:
                    self.products[pid]["held_by"] = None
                continue
            x = r.random()
            free = self.free_products()
            if x < 0.40 and free:
                pid = r.choice(free)
                self.start("seller:" + self.products[pid]["owner"], [self.ui(pid, self.details())], True)
            elif x < 0.48 and len(free) >= 2:
                a, b = r.sample(free, 2)
                if self.products[a]["owner"] == self.products[b]["owner"]:
                    self.start("seller:" + self.products[a]["owner"],
                               [dict(self.ui(a, self.details()), ChangeName="First"),
                                dict(self.ui(b, self.details()), ChangeName="Second")], True)
            elif x < 0.53:
                s = r.choice(self.sellers)
                self.public_profile[s] = True
                self.start("seller:" + s, [{"ChangeType": "UpdateSellerProfile",
                                            "Entity": {"Type": "Seller@1.0", "Identifier": s},
                                            "DetailsDocument": {"PublicProfile": True}}], True)
            elif x < 0.68 and free:
                pid = r.choice(free)
                owner = self.products[pid]["owner"]
                # The policy FAILS a target equal to the product's visibility.
                target = r.choice([t for t in ("Public", "Limited", "Restricted")
                                   if t != self.products[pid]["visibility"]])
                cs = self.start("seller:" + owner, [{"ChangeType": "UpdateVisibility",
                                                     "Entity": {"Type": PT, "Identifier": pid},
                                                     "DetailsDocument": {"TargetVisibility": target}}], True)
                if target == "Public" and not self.public_profile[owner]:
                    continue  # FAILED at once: nothing to decide later
                kind = "window" if target == "Restricted" else "review"
                self.products[pid]["held_by"] = cs
                self.open.append([cs, pid, kind, self.t + datetime.timedelta(minutes=r.randint(0, 60)), self.t,
                                  target])
            elif x < 0.74:
                held = [p for p, v in self.products.items() if v["held_by"]]
                if held:  # ResourceInUseException: refused, no change set
                    pid = r.choice(held)
                    self.start("seller:" + self.products[pid]["owner"], [self.ui(pid, self.details())], False)
                    self.expect["conflicts"] += 1
            elif x < 0.80 and free:
                pid = r.choice(free)
                token += 1
                change = [self.ui(pid, self.details())]
                owner = "seller:" + self.products[pid]["owner"]
                self.start(owner, change, True, ClientRequestToken="tok-%d" % token)
                self.start(owner, change, False, ClientRequestToken="tok-%d" % token)  # the same one
                self.expect["retries"] += 1
                if r.random() < 0.3:
                    self.start(owner, [self.ui(pid, {"ProductTitle": "Other"})], False,
                               ClientRequestToken="tok-%d" % token)
                    self.expect["conflicts"] += 1
            elif x < 0.84 and free:
                pid = r.choice(free)
                self.start("seller:" + self.products[pid]["owner"], [self.ui(pid, self.details())], False,
                           Intent="VALIDATE")
            elif x < 0.88:
                self.t += datetime.timedelta(hours=r.choice([1, 6, 25]))
                self.emit({"op": "tick", "Actor": "operations", "To": self.t.strftime("%Y-%m-%dT%H:%M:%SZ")})
            elif x < 0.91 and free:
                pid = r.choice(free)  # another seller's product: AccessDenied, no change set
                other = [s for s in self.sellers if s != self.products[pid]["owner"]][0]
                self.start("seller:" + other, [self.ui(pid, self.details())], False)
            elif free:
                pid = r.choice(free)
                self.start("seller:" + self.products[pid]["owner"],
                           [self.ui(pid, {"ProductTitle": "x" * 100})], True)  # FAILED: too long
        self.expect["accepted"] = self.accepted
        self.expect["commands"] = len(self.lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--commands", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--expect")
    a = ap.parse_args()
    g = Gen(random.Random(a.seed), a.commands)
    g.run()
    with open(a.out, "w", encoding="utf-8") as f:
        f.write("\n".join(g.lines) + "\n")
    if a.expect:
        with open(a.expect, "w") as f:
            json.dump(g.expect, f)


if __name__ == "__main__":
    main()
