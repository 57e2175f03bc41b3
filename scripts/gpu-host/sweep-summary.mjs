// The issue-18 read-out of a serve-slo sweep (`serve-slo --sweep ... --json-out FILE`): per mode,
// the largest camera count holding the SLO, and at that count F1 against the offline reference,
// the inference worker's (GPU's) time per frame, the decoders' and the main thread's CPU and what
// limits it; then the issue's three targets, each PASS, FAIL or OPEN (not decided by the runs).
// Usage: node scripts/gpu-host/sweep-summary.mjs FILE.json [--f1 0.95] [--target-n 64]
// The modes are found by name: `full` (unbatched), the first `full@...` (batched) and the first
// `arac...` (arac with a budget, batched). Plain Node, no project imports: it runs on the GPU host
// as it is and here on any sweep's JSON.
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, dflt) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const file = args.find((a, i) => !a.startsWith('--') && !(i > 0 && args[i - 1].startsWith('--')));
if (!file) {
  console.error('usage: node scripts/gpu-host/sweep-summary.mjs FILE.json [--f1 0.95] [--target-n 64]');
  process.exit(2);
}
const minF1 = Number(opt('--f1', '0.95'));
const targetN = Number(opt('--target-n', '64'));
const sweep = JSON.parse(readFileSync(file, 'utf8'));
const pct = (v) => (Number.isFinite(v) ? `${(100 * v).toFixed(1)}%` : '-');
const num = (v, d = 2) => (v !== undefined && v !== null && Number.isFinite(v) ? v.toFixed(d) : '-');
const counts = [...new Set(sweep.runs.map((r) => r.cameras))].sort((a, b) => a - b);
const top = counts[counts.length - 1];

console.log(`sweep of ${file}: ${sweep.provider}, ${sweep.fps} fps, ${sweep.seconds} s per run after ${sweep.warmup} s, target ${pct(sweep.target)} SLO, ${sweep.cpus} CPUs, ${sweep.date}`);
console.log('mode                            largest N  missed at  stats at  F1 mean  F1 min  worker ms/f  calls ms/f  items/call  decode cores  main thread  limit');
const byMode = new Map();
for (const s of sweep.summary) {
  const at = sweep.runs.find((r) => r.mode === s.mode && r.cameras === s.largestHeld);
  const miss = sweep.runs.find((r) => r.mode === s.mode && r.cameras === s.firstMissed);
  // The largest count run that held is a lower bound when nothing above it missed.
  const bound = s.firstMissed === undefined && s.largestHeld > 0 && s.largestHeld === top ? '>=' : '';
  byMode.set(s.mode, { ...s, at, bound });
  // The figures at the largest count that held; where none held, at the first that missed.
  const row = at ?? miss;
  const x = row?.resources;
  const limit = (miss ?? at)?.limit;
  console.log(
    [
      s.mode.slice(0, 30).padEnd(30),
      `${bound}${s.largestHeld}`.padStart(11),
      String(s.firstMissed ?? '-').padStart(10),
      String(row?.cameras ?? '-').padStart(9),
      num(row?.meanF1, 3).padStart(8),
      num(row?.minF1, 3).padStart(7),
      num(x?.workerMsPerFrame).padStart(12),
      num(x?.callMsPerFrame).padStart(11),
      num(x?.itemsPerCall, 1).padStart(11),
      num(x?.cpu.childrenCores).padStart(13),
      pct(x?.cpu.mainThreadCores).padStart(12),
      `  ${limit ? `${limit.by}${miss ? ` (at ${miss.cameras})` : ''}` : '-'}`,
    ].join(' '),
  );
}
if (sweep.skipped?.length) console.log(`not run (time budget): ${sweep.skipped.join(', ')}`);

const find = (test) => [...byMode.values()].find((m) => test(m.mode));
const full = find((m) => m === 'full');
const batched = find((m) => m.startsWith('full@'));
const arac = find((m) => m.startsWith('arac'));
/** PASS / FAIL / OPEN for n >= k * base, where a count at the top of the sweep is only a lower bound. */
function ratio(a, b, k) {
  if (!a || !b) return 'OPEN (mode not in the sweep)';
  // No ratio to a base that held nothing: the sweep must start lower (or the base fails outright).
  if (b.largestHeld === 0) return `OPEN (${b.mode} held no count run; ${a.mode} held ${a.bound}${a.largestHeld})`;
  const need = k * b.largestHeld;
  if (a.largestHeld >= need) return `PASS (${a.bound}${a.largestHeld} >= ${k} x ${b.bound}${b.largestHeld})`;
  if (a.bound) return `OPEN (${a.mode} held every count up to ${a.largestHeld}; needs ${need})`;
  if (b.bound) return `OPEN (${b.mode} held every count run, up to ${b.largestHeld})`;
  return `FAIL (${a.largestHeld} < ${k} x ${b.largestHeld} = ${need})`;
}
console.log('\ntargets (issue 18):');
console.log(`  full with batching >= 3x the cameras of full without: ${ratio(batched, full, 3)}`);
const f1 = arac?.at?.meanF1;
const f1ok = f1 !== undefined && f1 >= minF1;
const aracRatio = ratio(arac, batched, 2);
console.log(`  arac >= 2x the cameras of full with batching, at F1 >= ${minF1}: ${aracRatio}; F1 ${num(f1, 3)} at its largest N${arac?.at ? (f1ok ? ' (ok)' : ' (below)') : ''}${aracRatio.startsWith('PASS') && !f1ok ? ' => FAIL on F1' : ''}`);
const best = [...byMode.values()].sort((a, b) => b.largestHeld - a.largestHeld)[0];
console.log(`  >= ${targetN} cameras at the SLO with one mode: ${best && best.largestHeld >= targetN ? `PASS (${best.mode}: ${best.bound}${best.largestHeld})` : `FAIL (best: ${best ? `${best.mode} ${best.largestHeld}` : 'none'})`}`);
