#!/usr/bin/env bash
# End-to-end checks of recovery and robustness: replay --resume and --ack, and regressions the crash, load and hostile-input tests found.
# usage: run_proof_e2e.sh SELLERFLOW_BINARY SOURCE_DIR
set -u
BIN=$1
SRC=$2
HERE=$(cd "$(dirname "$0")" && pwd)
SELLER=seller:111122223333
PT=ProfessionalServicesProduct@1.0

SF_ARGS="--output json"
source "$(cd "$(dirname "$0")/.." && pwd)/e2e_lib.sh"

# ---- tests -----------------------------------------------------------------------------------------
# A replay stopped part way resumes where the store's command log ends, and ends where a whole run does.
test_replay_resume() {
  begin replay_resume
  python3 "$HERE/gen_mixed_log.py" "$T/log.jsonl" --commands 400 --seed 3
  "$BIN" replay "$T/log.jsonl" --db "$T/whole.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/whole.out"
  local want
  want=$(j 'd["Digest"]' "$(cat "$T/whole.out")")
  head -150 "$T/log.jsonl" >"$T/head.jsonl"
  sf replay "$T/head.jsonl"
  rc 0 "first part"
  sf replay "$T/log.jsonl" --resume
  rc 0 "resume"
  eq "skipped" "$(j 'd["Skipped"]')" 150
  eq "ran the rest" "$(j 'd["Lines"] - d["Skipped"]')" 250
  eq "digest" "$(j 'd["Digest"]')" "$want"
  sf log export
  eq "the log once" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 400
  sf replay "$T/log.jsonl" --resume
  rc 0 "resume when nothing is left"
  eq "all skipped" "$(j 'd["Skipped"]')" 400
  eq "digest unchanged" "$(j 'd["Digest"]')" "$want"
  # Another log is not resumed into this store.
  { sed -n 2p "$T/log.jsonl"; sed -n 1p "$T/log.jsonl"; } >"$T/other.jsonl"
  sf replay "$T/other.jsonl" --resume
  rc 2 "another log"
  has "says which line" "$ERR" "other.jsonl:1 is not the command the store's log holds"
  sf replay "$T/head.jsonl" --resume
  rc 2 "a shorter log"
  has "says why" "$ERR" "holds more commands than"
  sf digest
  eq "refusals leave the store" "$OUT" "$want"
  end
}

# --ack acknowledges each command after its commit, by line number; it needs --commit each.
test_replay_ack() {
  begin replay_ack
  python3 "$HERE/gen_mixed_log.py" "$T/log.jsonl" --commands 60 --seed 4
  local n
  n=$(wc -l <"$T/log.jsonl" | tr -d ' ')
  printf '\n' >>"$T/log.jsonl"  # a blank line is not a command
  sf replay "$T/log.jsonl" --ack
  rc 0 "replay"
  eq "one ack per command, in order" "$(printf '%s\n' "$OUT" | python3 -c '
import json, sys
acks = [json.loads(l)["Ack"] for l in sys.stdin if l.startswith("{\"Ack\"")]
print(acks == list(range(1, int(sys.argv[1]) + 1)))' "$n")" True
  sf replay "$T/log.jsonl" --ack --commit batch
  rc 2 "ack with batch"
  has "says why" "$ERR" "--ack needs --commit each"
  end
}

# Regression: a timer that came due on the command after a VALIDATE request was deleted without
# firing, but only when both ran in one process (a replay): the engine kept VALIDATE's "do not
# persist" for the next command's timers, so a replay and the same commands one by one disagreed.
test_timer_after_validate() {
  begin timer_after_validate
  cat >"$T/log.jsonl" <<JSONL
{"op":"import","EntityType":"Seller@1.0","EntityIdentifier":"111122223333","State":"Active","Owner":"$SELLER","DetailsDocument":{}}
{"op":"import","EntityType":"$PT","EntityIdentifier":"prod-aaaaaaaaaaaaa","State":"Limited","Owner":"$SELLER","DetailsDocument":{}}
{"op":"import","EntityType":"$PT","EntityIdentifier":"prod-bbbbbbbbbbbbb","State":"Limited","Owner":"$SELLER","DetailsDocument":{}}
{"op":"start-change-set","Actor":"$SELLER","At":"2026-01-01T00:00:00Z","Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"UpdateVisibility","Entity":{"Type":"$PT","Identifier":"prod-aaaaaaaaaaaaa"},"DetailsDocument":{"TargetVisibility":"Restricted"}}]}
{"op":"start-change-set","Actor":"$SELLER","At":"2026-01-01T01:00:00Z","Catalog":"AWSMarketplace","Intent":"VALIDATE","ChangeSet":[{"ChangeType":"UpdateInformation","Entity":{"Type":"$PT","Identifier":"prod-bbbbbbbbbbbbb"},"DetailsDocument":{"ProductTitle":"Checked only"}}]}
{"op":"tick","Actor":"operations","To":"2026-01-02T01:00:00Z"}
JSONL
  sf replay "$T/log.jsonl"
  rc 0 "replay"
  sf list-change-sets --status APPLYING
  eq "the window ended: in review" "$(j 'len(d["ChangeSetSummaryList"])')" 1
  sf list-change-sets --status PREPARING
  eq "nothing left in the window" "$(j 'len(d["ChangeSetSummaryList"])')" 0
  end
}

# A store written by a newer sellerflow, and one damaged inside (not in its header), are refused
# with the path and what to do, and left as they were.
test_refused_stores() {
  begin refused_stores
  printf '{"op":"import","EntityType":"%s","EntityIdentifier":"prod-aaaaaaaaaaaaa","State":"Limited","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$SELLER" >"$T/i.jsonl"
  sf replay "$T/i.jsonl"
  rc 0 "setup"
  local version before
  version=$(sqlite3 "$T/s.db" "PRAGMA user_version")
  sqlite3 "$T/s.db" "PRAGMA user_version = 99"
  before=$(sha256sum <"$T/s.db")
  sf list-entities
  rc 74 "newer schema"
  has "names the path and the versions" "$ERR" "sellerflow: $T/s.db was written by a newer sellerflow (schema 99, this one knows $version)"
  has "says what to do" "$ERR" "; upgrade sellerflow"
  eq "left as it was" "$(sha256sum <"$T/s.db")" "$before"
  # Damage the first page of the entities table, past the header.
  sqlite3 "$T/s.db" "PRAGMA user_version = $version"
  python3 - "$T/s.db" <<'PY'
import sqlite3, sys
path = sys.argv[1]
con = sqlite3.connect(path)
page = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'entities'").fetchone()[0]
size = con.execute("PRAGMA page_size").fetchone()[0]
con.close()
with open(path, "r+b") as f:
    f.seek((page - 1) * size)
    f.write(b"\xff" * 64)
PY
  sf list-entities
  rc 74 "damaged"
  has "names the path" "$ERR" "$T/s.db is damaged"
  has "says what to do" "$ERR" "restore it from a backup or replay its command log"
  end
}

# sfdb DB ARGS...: the binary on another store than the test's; sets RC, OUT, ERR.
sfdb() {
  local db=$1
  shift
  "$BIN" "$@" --db "$db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
# products N FILE: N import lines of Limited products, each a few hundred bytes.
products() {
  python3 - "$1" "$2" "$PT" "$SELLER" <<'PY'
import json, sys
n, path, pt, seller = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
with open(path, "w") as f:
    for i in range(n):
        f.write(json.dumps({"EntityType": pt, "EntityIdentifier": "prod-%013d" % i, "State": "Limited",
                            "Owner": seller, "DetailsDocument": {"ProductTitle": "Product %d" % i,
                                                                 "ShortDescription": "x" * 300}}) + "\n")
PY
}

# A store on read-only media (a read-only bind mount, as root) is read and exported; writing it is
# refused, and nothing is left beside it. Skipped where mounts are not allowed.
test_read_only_media() {
  begin read_only_media
  mkdir -p "$T/media" "$T/ro"
  products 5 "$T/p.jsonl"
  sfdb "$T/media/s.db" import "$T/p.jsonl"
  rc 0 "import"
  sfdb "$T/media/s.db" digest
  local want=$OUT before
  before=$(sha256sum <"$T/media/s.db")
  if ! mount --bind "$T/media" "$T/ro" 2>/dev/null; then
    echo "  skip [$NAME]: no bind mounts here"
    end
    return
  fi
  if mount -o remount,ro,bind "$T/ro" 2>/dev/null; then
    sfdb "$T/ro/s.db" digest
    rc 0 "digest"
    eq "the same digest" "$OUT" "$want"
    sfdb "$T/ro/s.db" log export
    rc 0 "log export"
    eq "the whole log" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 5
    sfdb "$T/ro/s.db" describe-entity prod-0000000000003
    rc 0 "describe-entity"
    sfdb "$T/ro/s.db" tick --to 2026-01-01T00:00:00Z --actor operations
    rc 74 "a write"
    eq "nothing beside it" "$(ls "$T/ro")" "s.db"
  else
    echo "  skip [$NAME]: no read-only remount here"
  fi
  umount "$T/ro"
  eq "left as it was" "$(sha256sum <"$T/media/s.db")" "$before"
  end
}

# On a full disk (a small tmpfs, as root) a read says disk full, and an import that fills the disk
# says how many of its lines went in: exactly those are in the store. Skipped where mounts are not
# allowed.
test_full_disk() {
  begin full_disk
  mkdir -p "$T/full"
  if ! mount -t tmpfs -o size=1m tmpfs "$T/full" 2>/dev/null; then
    echo "  skip [$NAME]: no tmpfs mounts here"
    end
    return
  fi
  products 3 "$T/p.jsonl"
  sfdb "$T/full/s.db" import "$T/p.jsonl"
  rc 0 "import"
  dd if=/dev/zero of="$T/full/fill" bs=4k 2>/dev/null
  sfdb "$T/full/s.db" digest
  rc 74 "a read on the full disk"
  eq "says disk full" "$ERR" "sellerflow: disk full writing $T/full/s.db (reading its schema: SQLite grows $T/full/s.db-shm even to read); free space on its disk, then retry"
  rm -f "$T/full/fill" "$T/full/s.db" "$T/full/s.db-wal" "$T/full/s.db-shm"
  dd if=/dev/zero of="$T/full/fill" bs=4k count=150 2>/dev/null
  products 400 "$T/p.jsonl"
  sfdb "$T/full/s.db" import "$T/p.jsonl"
  rc 74 "import past the end of the disk"
  has "disk full" "$ERR" "sellerflow: disk full writing $T/full/s.db ("
  local n
  n=$(printf '%s' "$ERR" | sed -n 's/.*; stopped at .*p\.jsonl:\([0-9]*\): lines 1 to \([0-9]*\) went in (\2 commands committed), line \1 and those after it did not$/\2/p')
  rm -f "$T/full/fill"
  if [ -z "$n" ]; then
    fail "says how many lines went in: <$ERR>"
  else
    sfdb "$T/full/s.db" list-entities
    rc 0 "list-entities"
    eq "those lines are in the store" "$(j 'len(d["EntitySummaryList"])')" "$n"
  fi
  # In one transaction, none of them.
  rm -f "$T/full/s.db" "$T/full/s.db-wal" "$T/full/s.db-shm"
  dd if=/dev/zero of="$T/full/fill" bs=4k count=150 2>/dev/null
  sed 's/^{/{"op":"import",/' "$T/p.jsonl" >"$T/log.jsonl"
  sfdb "$T/full/s.db" replay "$T/log.jsonl" --commit batch
  rc 74 "a batch past the end of the disk"
  has "says none went in" "$ERR" "; nothing of $T/log.jsonl went in"
  rm -f "$T/full/fill"
  sfdb "$T/full/s.db" list-entities
  eq "none of them in the store" "$(j 'len(d["EntitySummaryList"])')" 0
  umount "$T/full"
  end
}

run_tests
