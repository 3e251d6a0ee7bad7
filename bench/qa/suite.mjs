// Builds a suite of FLOWS copies of the demo shortcut, replays it with `tabwright replay DIR
// --jobs N` (N = 1, 2, 4) and the Recorder JSON export of the same flow with @puppeteer/replay
// one file after another, and prints wall times, ratios and memory. Results also go to
// bench/qa/results.json (git-ignored).
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = process.env.TABWRIGHT_BIN;
const flows = Number(process.env.FLOWS || 40);
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tw-bench-qa-'));
const say = (m) => process.stderr.write(`bench/qa: ${m}\n`);

// The fixture server: its first stdout line is its URL.
const server = spawn(bin, ['serve-fixtures', '--port', '0', '--dir', path.join(root, 'fixtures')], { stdio: ['ignore', 'pipe', 'inherit'] });
const base = await new Promise((ok, fail) => {
  let buf = '';
  server.stdout.on('data', (d) => { buf += d; const l = buf.split('\n'); if (l.length > 1) ok(l[0].trim().replace(/\/$/, '')); });
  server.on('exit', () => fail(new Error('serve-fixtures exited')));
});
const cleanup = () => { try { server.kill(); } catch { /* gone */ } fs.rmSync(work, { recursive: true, force: true }); };
process.on('exit', cleanup);
process.on('SIGINT', () => process.exit(130));

// The suite: FLOWS shortcuts, and the same flow exported as Recorder JSON FLOWS times.
const demo = JSON.parse(fs.readFileSync(path.join(root, 'fixtures/shortcuts/demo.json'), 'utf8'));
const suite = path.join(work, 'suite');
const recorder = path.join(work, 'recorder');
fs.mkdirSync(suite); fs.mkdirSync(recorder);
const exported = path.join(work, 'demo.recorder.json');
const ex = spawnSync(bin, ['replay', path.join(root, 'fixtures/shortcuts/demo.json'), '--export-recorder', exported, '--var', `base_url=${base}`], { encoding: 'utf8' });
if (ex.status !== 0) throw new Error(`export failed: ${ex.stderr}`);
for (let i = 1; i <= flows; i++) {
  const n = String(i).padStart(3, '0');
  fs.writeFileSync(path.join(suite, `demo-${n}.json`), JSON.stringify({ ...demo, id: `demo-${n}`, name: `${demo.name} #${i}` }));
  fs.copyFileSync(exported, path.join(recorder, `demo-${n}.json`));
}

// PSS (kB) of a process tree, from /proc.
function tree(pid) {
  const kids = new Map();
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!kids.has(ppid)) kids.set(ppid, []);
      kids.get(ppid).push(Number(d));
    } catch { /* gone */ }
  }
  const out = []; const todo = [pid];
  while (todo.length) { const p = todo.pop(); out.push(p); todo.push(...(kids.get(p) || [])); }
  return out;
}
function pssOf(pid) {
  let kb = 0;
  for (const p of tree(pid)) {
    try { const m = fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+)/m); if (m) kb += Number(m[1]); } catch { /* gone */ }
  }
  return kb;
}

// Runs a command, sampling its tree's memory every 200 ms; returns wall ms and peak PSS.
function run(cmd, args) {
  return new Promise((ok) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', peak = 0;
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    const timer = setInterval(() => { peak = Math.max(peak, pssOf(child.pid)); }, 200);
    child.on('exit', (code) => { clearInterval(timer); ok({ ms: performance.now() - t0, code, out, err, peakKb: peak }); });
  });
}

const results = { date: new Date().toISOString(), flows, cores: os.cpus().length, runs: {} };
for (const jobs of [1, 2, 4]) {
  say(`tabwright replay ${flows} flows --jobs ${jobs}`);
  const r = await run(bin, ['replay', suite, '--jobs', String(jobs), '--var', `base_url=${base}`]);
  const line = r.out.split('\n').find((l) => / flows: /.test(l)) || '';
  if (r.code !== 0) throw new Error(`tabwright --jobs ${jobs} failed (${r.code}):\n${r.out.slice(-2000)}\n${r.err.slice(-2000)}`);
  results.runs[`tabwright_jobs_${jobs}`] = { wall_ms: Math.round(r.ms), peak_pss_mb: +(r.peakKb / 1024).toFixed(1), summary: line };
}
say(`@puppeteer/replay ${flows} files one after another`);
const t0 = performance.now();
let ppFailed = 0;
for (const f of fs.readdirSync(recorder).sort()) {
  const r = spawnSync(process.execPath, [path.join(root, 'bench/replay/puppeteer-run.mjs'), path.join(recorder, f)], { encoding: 'utf8', cwd: path.join(root, 'bench/replay') });
  let j = null; try { j = JSON.parse(r.stdout.trim().split('\n').pop()); } catch { /* below */ }
  if (!j || !j.ok) ppFailed++;
}
results.runs.puppeteer_replay_sequential = { wall_ms: Math.round(performance.now() - t0), failed: ppFailed };

const w = (k) => results.runs[k].wall_ms;
const mem = (k) => results.runs[k].peak_pss_mb;
results.speedup_jobs2 = +(w('tabwright_jobs_1') / w('tabwright_jobs_2')).toFixed(2);
results.speedup_jobs4 = +(w('tabwright_jobs_1') / w('tabwright_jobs_4')).toFixed(2);
results.ratio_jobs1_vs_puppeteer = +(w('tabwright_jobs_1') / w('puppeteer_replay_sequential')).toFixed(2);
results.ratio_jobs4_vs_puppeteer = +(w('tabwright_jobs_4') / w('puppeteer_replay_sequential')).toFixed(2);
results.mb_per_extra_parallel_flow = +((mem('tabwright_jobs_4') - mem('tabwright_jobs_1')) / 3).toFixed(1);
fs.writeFileSync(path.join(here, 'results.json'), JSON.stringify(results, null, 2));

console.log(`${flows} flows (fixtures/shortcuts/demo.json, ${demo.steps.length} steps each), ${results.cores} cores`);
console.log('run                                  wall ms   peak PSS MB');
for (const [k, v] of Object.entries(results.runs)) console.log(`${k.padEnd(36)} ${String(v.wall_ms).padStart(7)}   ${v.peak_pss_mb ?? '-'}`);
console.log(`speed-up --jobs 2: ${results.speedup_jobs2}x, --jobs 4: ${results.speedup_jobs4}x (target >= 2.5x on 4 cores)`);
console.log(`tabwright --jobs 1 / puppeteer sequential: ${results.ratio_jobs1_vs_puppeteer}; --jobs 4 / puppeteer: ${results.ratio_jobs4_vs_puppeteer}`);
console.log(`browser memory per extra parallel flow: ${results.mb_per_extra_parallel_flow} MB`);
if (ppFailed) console.log(`note: ${ppFailed} @puppeteer/replay runs failed`);
