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

# Issue 12: a replay that was killed and run again without --resume accepted the request whose At equals the
# store's clock a second time. A plain replay into a store that holds commands is refused, pointing to --resume,
# and leaves the store as it was; --append adds to it on purpose.
test_replay_into_a_store_with_commands() {
  begin replay_into_a_store_with_commands
  python3 "$HERE/gen_mixed_log.py" "$T/log.jsonl" --commands 80 --seed 5
  head -30 "$T/log.jsonl" >"$T/head.jsonl"
  sf replay "$T/head.jsonl"
  rc 0 "the replay that was stopped"
  local digest before
  digest=$(j 'd["Digest"]')
  before=$(sha256sum <"$T/s.db")
  sf replay "$T/log.jsonl"
  rc 2 "the same replay again, without --resume"
  has "says why" "$ERR" "cannot replay $T/log.jsonl: the store already holds 30 commands"
  has "points to --resume" "$ERR" "run it again with --resume"
  eq "the file is unchanged" "$(sha256sum <"$T/s.db")" "$before"
  sf log export
  eq "the log is unchanged" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 30
  sf digest
  eq "the digest is unchanged" "$OUT" "$digest"
  sf replay "$T/log.jsonl" --resume --append
  rc 2 "--resume with --append"
  sf replay "$T/log.jsonl" --resume
  rc 0 "resumed"
  eq "skipped what the store held" "$(j 'd["Skipped"]')" 30
  "$BIN" import /dev/null --db "$T/s.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/out" 2>"$T/err"
  RC=$?
  rc 0 "import adds to a store that holds commands"
  end
}

# Issue 12: `log export` carries each command's outcome; a replay compares it and stops at the first line that
# differs, naming the line and both outcomes; with a transaction per command what ran stays in, in a batch nothing.
test_replay_outcomes() {
  begin replay_outcomes
  python3 "$HERE/gen_mixed_log.py" "$T/gen.jsonl" --commands 60 --seed 6
  sf replay "$T/gen.jsonl"
  rc 0 "replay"
  local want
  want=$(j 'd["Digest"]')
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  eq "every line has an outcome" "$(python3 -c '
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
print(all(set(l["Outcome"]) <= {"Result", "Error", "ChangeSetId", "Status", "TimersDeferred"} for l in lines),
      len(lines), sorted({l["Outcome"]["Result"] for l in lines}))' "$T/log.jsonl")" "True 60 ['AccessDenied', 'Ok']"
  has "a change set's outcome" "$OUT" '"Outcome":{"Result":"Ok","ChangeSetId":"cs-'
  has "a refusal's outcome" "$OUT" '"Outcome":{"Result":"AccessDenied","Error":"AccessDeniedException"}'
  "$BIN" replay "$T/log.jsonl" --db "$T/again.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  rc 0 "the export replays, its outcomes agreeing"
  eq "same digest" "$(j 'd["Digest"]' "$(cat "$T/out")")" "$want"
  # Line 5 recorded as something it is not.
  python3 - "$T/log.jsonl" "$T/edited.jsonl" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
lines[4]["Outcome"] = {"Result": "NotFound", "Error": "ResourceNotFoundException"}
with open(sys.argv[2], "w") as f:
    f.write("".join(json.dumps(l, separators=(",", ":")) + "\n" for l in lines))
PY
  local reached
  reached=$(sed -n 5p "$T/log.jsonl" | python3 -c 'import json, sys; print(json.dumps(json.loads(sys.stdin.read())["Outcome"], separators=(",", ":")))')
  "$BIN" replay "$T/edited.jsonl" --db "$T/edited.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 1 "an outcome that differs"
  eq "names the line, both outcomes and what went in" "$ERR" "sellerflow: $T/edited.jsonl:5: the log recorded the outcome {\"Result\":\"NotFound\",\"Error\":\"ResourceNotFoundException\"}, this replay reached $reached; stopped at $T/edited.jsonl:5: lines 1 to 5 went in (5 commands committed, line 5 with the outcome this replay reached), line 6 and those after it did not"
  "$BIN" log export --db "$T/edited.db" >"$T/out"
  eq "those five are in the store" "$(wc -l <"$T/out" | tr -d ' ')" 5
  "$BIN" replay "$T/edited.jsonl" --db "$T/batch.db" --commit batch --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 1 "in a batch"
  has "says none went in" "$ERR" "stopped at $T/edited.jsonl:5: nothing of $T/edited.jsonl went in (--commit batch)"
  "$BIN" log export --db "$T/batch.db" >"$T/out"
  eq "none of them in the store" "$(wc -l <"$T/out" | tr -d ' ')" 0
  # A malformed outcome is a malformed line, with its field path.
  printf '{"op":"tick","To":"2026-01-01T00:00:00Z","Outcome":{"Result":"Fine"}}\n' >"$T/bad.jsonl"
  "$BIN" replay "$T/bad.jsonl" --db "$T/bad.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 1 "a malformed outcome"
  has "names the field" "$ERR" "  Outcome.Result: must be one of Ok, Refused, Conflict, NotFound, AccessDenied"
  end
}

# Issue 12: --expect-digest compares the store's digest after the replay.
test_replay_expect_digest() {
  begin replay_expect_digest
  python3 "$HERE/gen_mixed_log.py" "$T/log.jsonl" --commands 40 --seed 7
  "$BIN" replay "$T/log.jsonl" --db "$T/first.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out"
  local want
  want=$(j 'd["Digest"]' "$(cat "$T/out")")
  sf replay "$T/log.jsonl" --expect-digest "$want"
  rc 0 "the digest expected"
  local other=0000000000000000000000000000000000000000000000000000000000000000
  "$BIN" replay "$T/log.jsonl" --db "$T/third.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --expect-digest $other >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 1 "another digest"
  eq "names both" "$ERR" "sellerflow: the store's digest after the replay is $want, not $other (--expect-digest)"
  "$BIN" replay "$T/log.jsonl" --db "$T/fourth.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --expect-digest abc >"$T/out" 2>"$T/err"
  RC=$?
  rc 2 "not a digest"
  [ ! -e "$T/fourth.db" ] || [ "$(sqlite3 "$T/fourth.db" 'SELECT count(*) FROM command_log')" = 0 ] || fail "a bad --expect-digest ran the replay"
  end
}

# Issue 12: digest --outcomes leaves out the definitions, so a policy that differs only in a comment gives
# another digest but the same outcome digest.
test_digest_outcomes() {
  begin digest_outcomes
  python3 "$HERE/gen_mixed_log.py" "$T/log.jsonl" --commands 60 --seed 8
  mkdir -p "$T/wf"
  cp "$SRC"/workflows/*.yaml "$T/wf/"
  for f in "$T"/wf/*.yaml; do printf '# a comment changes nothing the policy decides\n' >>"$f"; done
  "$BIN" replay "$T/log.jsonl" --db "$T/a.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >/dev/null
  "$BIN" replay "$T/log.jsonl" --db "$T/b.db" --workflows "$T/wf" --rules "$SRC/rules" >/dev/null
  local a b
  a=$("$BIN" digest --db "$T/a.db")
  b=$("$BIN" digest --db "$T/b.db")
  [ "$a" != "$b" ] || fail "the plain digests should differ (the definitions' hashes)"
  a=$("$BIN" digest --outcomes --db "$T/a.db")
  b=$("$BIN" digest --outcomes --db "$T/b.db")
  eq "an outcome digest" "${#a}" 64
  eq "the outcome digests" "$b" "$a"
  [ "$a" != "$("$BIN" digest --db "$T/a.db")" ] || fail "an outcome digest equals a full one"
  # A policy that decides otherwise gives another outcome digest.
  mkdir -p "$T/rules"
  cp "$SRC"/rules/*.rules "$T/rules/"
  sed -i 's/^const MAX_TITLE = .*/const MAX_TITLE = 8/' "$T/rules/"*.rules
  "$BIN" replay "$T/log.jsonl" --db "$T/c.db" --workflows "$T/wf" --rules "$T/rules" >/dev/null
  [ "$a" != "$("$BIN" digest --outcomes --db "$T/c.db")" ] || fail "another decision, the same outcome digest"
  end
}

# Issue 13 item 16: a byte-order mark before line 1 is skipped (it was a malformed line 1); --resume takes a log
# spaced otherwise than the store's; an endless line (/dev/zero) ends the replay promptly.
test_replay_input_forms() {
  begin replay_input_forms
  python3 "$HERE/gen_mixed_log.py" "$T/log.jsonl" --commands 30 --seed 9
  "$BIN" replay "$T/log.jsonl" --db "$T/plain.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out"
  local want
  want=$(j 'd["Digest"]' "$(cat "$T/out")")
  { printf '\357\273\277'; cat "$T/log.jsonl"; } >"$T/bom.jsonl"
  sf replay "$T/bom.jsonl"
  rc 0 "a log with a BOM"
  eq "line 1 ran" "$(j 'd.get("Malformed", 0)')" 0
  eq "same digest" "$(j 'd["Digest"]')" "$want"
  { printf '\357\273\277'; printf '{"EntityType":"%s","EntityIdentifier":"prod-bombombombombo","State":"Limited","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$SELLER"; } >"$T/bom-import.jsonl"
  "$BIN" import "$T/bom-import.jsonl" --db "$T/import.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  rc 0 "an import file with a BOM"
  "$BIN" describe-entity prod-bombombombombo --db "$T/import.db" >/dev/null 2>&1 || fail "line 1 of the import was dropped"
  # --resume: the same commands, spaced and ordered otherwise.
  head -12 "$T/log.jsonl" >"$T/head.jsonl"
  "$BIN" replay "$T/head.jsonl" --db "$T/resume.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >/dev/null
  python3 -c '
import json, sys
for l in open(sys.argv[1]):
    d = json.loads(l)
    print(json.dumps(dict(reversed(list(d.items()))), indent=None, separators=(" , ", " : ")))' "$T/log.jsonl" >"$T/spaced.jsonl"
  "$BIN" replay "$T/spaced.jsonl" --resume --db "$T/resume.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 0 "resume a log spaced otherwise"
  eq "skipped" "$(j 'd["Skipped"]' "$(cat "$T/out")")" 12
  eq "resumed digest" "$(j 'd["Digest"]' "$(cat "$T/out")")" "$want"
  # A line with NUL bytes is a malformed line, not the end of the input.
  { printf '{"op":"tick",\0"To":"2026-01-01T00:00:00Z"}\n'; sed -n 1p "$T/log.jsonl"; } >"$T/nul.jsonl"
  timeout 20 "$BIN" replay "$T/nul.jsonl" --db "$T/nul.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 1 "a line with a NUL byte"
  has "names it" "$ERR" "nul.jsonl:1 has 1 problem"
  eq "the next line ran" "$(j 'd["Ok"]' "$(cat "$T/out")")" 1
  # /dev/zero: one line without an end.
  timeout 20 "$BIN" replay /dev/zero --db "$T/zero.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 1 "replay /dev/zero returns"
  has "says why" "$ERR" "cannot read past /dev/zero:1, which has more than 1052672 bytes; at most 1052672 are allowed; stopped at /dev/zero:1: nothing of /dev/zero went in"
  end
}

# A body of the largest size a request may have is logged with op, Actor and At, and exported with its outcome:
# the exported line is longer than the body, and a replay must still read it.
test_replay_of_a_largest_body() {
  begin replay_of_a_largest_body
  python3 - "$T/body.json" "$PT" <<'PY'
import json, sys
path, pt = sys.argv[1], sys.argv[2]
def body(n):
    return json.dumps({"Catalog": "AWSMarketplace", "ChangeSet": [{"ChangeType": "UpdateInformation",
        "Entity": {"Type": pt, "Identifier": "prod-aaaaaaaaaaaaa"},
        "DetailsDocument": {"ShortDescription": "x" * n}}]}, separators=(",", ":"))
pad = (1 << 20) - len(body(0))
with open(path, "w") as f:
    f.write(body(pad))
PY
  eq "the body is the largest allowed" "$(wc -c <"$T/body.json" | tr -d ' ')" 1048576
  sf start-change-set --change-set "$T/body.json" --actor "$SELLER" --at 2026-01-01T00:00:00Z
  "$BIN" log export --db "$T/s.db" >"$T/log.jsonl"
  eq "it was logged" "$(wc -l <"$T/log.jsonl" | tr -d ' ')" 1
  "$BIN" replay "$T/log.jsonl" --db "$T/again.db" --workflows "$SRC/workflows" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
  rc 0 "its exported line replays"
  eq "the same digest" "$(j 'd["Digest"]')" "$("$BIN" digest --db "$T/s.db")"
  end
}

run_tests
