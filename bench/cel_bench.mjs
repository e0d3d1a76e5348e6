// cel-js side of the rules benchmark: the peer's twelve UpdateInformation checks, timed per rule.
//
// usage: node bench/cel_bench.mjs WORKLOAD_DIR [--batches N] [--batch-ms MS]
//
// Evaluates each rule the way ../shared/peer/peer.mjs does (parse(expr) once, then check(ctx))
// over the DetailsDocuments of WORKLOAD_DIR/changesets.jsonl, round-robin, and prints one JSON
// line per rule: {"rule", "ns" (median CPU time per evaluation over the timed batches), "wall_ns"
// (the same in wall-clock time), "failures" (over one pass of the documents), "documents", ...}.
// rules_bench reports the same failure counts, so run.sh can tell when the two sides do not check
// the same thing.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

function usage(msg) {
  process.stderr.write(`cel_bench: ${msg}\nusage: node cel_bench.mjs WORKLOAD_DIR [--batches N] [--batch-ms MS]\n`);
  process.exit(2);
}

const args = process.argv.slice(2);
let dir = null;
let batches = 7;
let batchMs = 20;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--batches') batches = Number(args[++i]);
  else if (args[i] === '--batch-ms') batchMs = Number(args[++i]);
  else if (!args[i].startsWith('--') && dir === null) dir = args[i];
  else usage(`unknown argument ${args[i]}`);
}
if (dir === null) usage('missing WORKLOAD_DIR');
if (!(batches >= 1) || !(batchMs > 0)) usage('--batches and --batch-ms must be positive');

// cel-js lives in bench/.peer (gitignored, installed by run.sh); CEL_JS_PREFIX points elsewhere.
const prefix = process.env.CEL_JS_PREFIX || path.join(here, '.peer');
let celEntry;
try {
  celEntry = createRequire(path.join(prefix, 'package.json')).resolve('@marcbachmann/cel-js');
} catch {
  usage(`@marcbachmann/cel-js not found under ${prefix}; run: npm install --prefix ${prefix} @marcbachmann/cel-js@8.0.0`);
}
const celPackage = JSON.parse(fs.readFileSync(
  path.join(prefix, 'node_modules', '@marcbachmann', 'cel-js', 'package.json'), 'utf8'));
if (celPackage.version !== '8.0.0') {
  process.stderr.write(`cel_bench: warning: cel-js ${celPackage.version}, the peer pins 8.0.0\n`);
}
const { parse } = await import(pathToFileURL(celEntry).href);

// The peer's rules, in the peer's order, under the snake_case names rules_bench uses. The CEL text
// must stay byte-identical to peer.mjs; the check against peer.mjs below catches drift.
const PS = ['Assessments', 'Implementation', 'Managed Services', 'Premium Support', 'Training'];
const KNOWN = PS.concat(['Security', 'Migration', 'Data Analytics', 'DevOps', 'Machine Learning', 'Storage']);
const RULES = [
  ['missing_data', 'size(d) > 0'],
  ['title_length', '!has(d.ProductTitle) || size(d.ProductTitle) <= 72'],
  ['short_description_length', '!has(d.ShortDescription) || size(d.ShortDescription) <= 1000'],
  ['long_description_length', '!has(d.LongDescription) || size(d.LongDescription) <= 5000'],
  ['support_description_length', '!has(d.SupportDescription) || size(d.SupportDescription) <= 2000'],
  ['logo_url_https', '!has(d.LogoUrl) || d.LogoUrl.startsWith("https://")'],
  ['highlights_count', '!has(d.Highlights) || (size(d.Highlights) >= 1 && size(d.Highlights) <= 3)'],
  ['categories_count', '!has(d.Categories) || (size(d.Categories) >= 1 && size(d.Categories) <= 3)'],
  ['categories_known', '!has(d.Categories) || d.Categories.all(c, c in known)'],
  ['categories_professional_services', '!has(d.Categories) || d.Categories.exists(c, c in ps)'],
  ['search_keywords', '!has(d.SearchKeywords) || (size(d.SearchKeywords) >= 1 && size(d.SearchKeywords) <= 15 && d.SearchKeywords.all(k, size(k) <= 50))'],
  ['search_keywords_combined', '!has(d.SearchKeywords) || size(d.SearchKeywords.join("")) <= 250'],
];

const peerFile = process.env.PEER_MJS || path.join(here, '..', '..', 'shared', 'peer', 'peer.mjs');
if (fs.existsSync(peerFile)) {
  const peerText = fs.readFileSync(peerFile, 'utf8');
  const missing = RULES.filter(([, expr]) => !peerText.includes(`'${expr}'`)).map(([name]) => name);
  if (missing.length > 0) {
    process.stderr.write(`cel_bench: rules differ from ${peerFile}: ${missing.join(', ')}\n`);
    process.exit(1);
  }
} else {
  process.stderr.write(`cel_bench: warning: ${peerFile} not found; rules not checked against the peer\n`);
}

const lines = fs.readFileSync(path.join(dir, 'changesets.jsonl'), 'utf8').split('\n').filter(Boolean);
// The peer builds this context per change set; here it is built once per document so that only
// the evaluation is timed, as on the C++ side.
const contexts = lines.map((l) => ({ d: JSON.parse(l).ChangeSet[0].DetailsDocument, known: KNOWN, ps: PS }));
if (contexts.length === 0) usage(`no change sets in ${dir}/changesets.jsonl`);

// Runs `check` over `n` documents from `start`, round-robin; returns the failures seen, so the
// work cannot be optimised away.
function run(check, start, n) {
  let failures = 0;
  let j = start % contexts.length;
  for (let i = 0; i < n; i++) {
    if (check(contexts[j]) !== true) failures++;
    if (++j === contexts.length) j = 0;
  }
  return failures;
}

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

for (const [name, expr] of RULES) {
  const check = parse(expr);
  // One untimed pass: warms the JIT and counts failures over exactly the documents once.
  const failures = run(check, 0, contexts.length);
  // Untimed warm-up for a few batches' worth of time, so the JIT has settled before timing; the
  // last pass sizes a batch to about batchMs.
  let t0;
  let passNs;
  const warmUntil = process.hrtime.bigint() + BigInt(Math.round(3 * batchMs * 1e6));
  do {
    t0 = process.hrtime.bigint();
    run(check, 0, contexts.length);
    passNs = Number(process.hrtime.bigint() - t0);
  } while (process.hrtime.bigint() < warmUntil);
  const perBatch = Math.max(contexts.length,
    Math.round((batchMs * 1e6 / Math.max(passNs, 1)) * contexts.length));
  // CPU time is the figure (other work on the machine inflates wall time, not this); wall time
  // comes along for comparison. cpuUsage counts microseconds, a batch tens of milliseconds.
  const cpuSamples = [];
  const wallSamples = [];
  let start = 0;
  for (let b = 0; b < batches; b++) {
    const cpu0 = process.cpuUsage();
    t0 = process.hrtime.bigint();
    run(check, start, perBatch);
    const wall = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    wallSamples.push(wall / perBatch);
    cpuSamples.push(((cpu.user + cpu.system) * 1e3) / perBatch);
    start += perBatch;
  }
  console.log(JSON.stringify({ rule: name, ns: +median(cpuSamples).toFixed(1),
    wall_ns: +median(wallSamples).toFixed(1), failures, documents: contexts.length,
    evaluations_per_batch: perBatch, batches, cel_js: celPackage.version }));
}
