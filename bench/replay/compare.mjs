// Runs the same Recorder JSON N times with `tabwright replay` and with @puppeteer/replay
// (alternating, so drift hits both), timing each whole process (browser start included) and
// the steps alone, and prints medians and the ratio tabwright / puppeteer (lower is better).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const [flowFile, runsArg] = process.argv.slice(2);
const runs = Number(runsArg || process.env.RUNS || 10);
const bin = process.env.TABWRIGHT_BIN;

function timed(cmd, args) {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  return { ms: performance.now() - t0, code: r.status, out: r.stdout || '', err: r.stderr || '' };
}

function tabwright() {
  const r = timed(bin, ['replay', flowFile]);
  const m = r.out.match(/PASSED: .* in (\d+) ms/);
  if (r.code !== 0 || !m) throw new Error(`tabwright replay failed (${r.code}):\n${r.out}\n${r.err}`);
  return { whole: r.ms, steps: Number(m[1]) };
}

function puppeteer() {
  const r = timed(process.execPath, [path.join(here, 'puppeteer-run.mjs'), flowFile]);
  let j = null;
  try { j = JSON.parse(r.out.trim().split('\n').pop()); } catch { /* below */ }
  if (r.code !== 0 || !j || !j.ok) throw new Error(`@puppeteer/replay failed (${r.code}):\n${r.out}\n${r.err}`);
  return { whole: r.ms, steps: j.steps_ms };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

// One warm-up each (page cache, binaries in the OS cache), not counted.
tabwright();
puppeteer();
const tw = [], pp = [];
for (let i = 0; i < runs; i++) {
  if (i % 2) { pp.push(puppeteer()); tw.push(tabwright()); } else { tw.push(tabwright()); pp.push(puppeteer()); }
  process.stderr.write(`run ${i + 1}/${runs}: tabwright ${Math.round(tw.at(-1).whole)} ms (steps ${tw.at(-1).steps}), puppeteer ${Math.round(pp.at(-1).whole)} ms (steps ${pp.at(-1).steps})\n`);
}
const steps = JSON.parse(fs.readFileSync(flowFile, 'utf8')).steps.length;
const res = {
  date: new Date().toISOString(),
  flow: path.basename(flowFile),
  recorder_steps: steps,
  runs,
  tabwright: { whole_ms: Math.round(median(tw.map((r) => r.whole))), steps_ms: Math.round(median(tw.map((r) => r.steps))) },
  puppeteer_replay: { whole_ms: Math.round(median(pp.map((r) => r.whole))), steps_ms: Math.round(median(pp.map((r) => r.steps))) },
};
res.ratio_whole = +(res.tabwright.whole_ms / res.puppeteer_replay.whole_ms).toFixed(2);
res.ratio_steps = +(res.tabwright.steps_ms / res.puppeteer_replay.steps_ms).toFixed(2);
console.log(`flow: ${res.flow} (${steps} Recorder steps), ${runs} runs each, medians`);
console.log(`                      whole process   steps only`);
console.log(`tabwright replay      ${String(res.tabwright.whole_ms).padStart(8)} ms   ${String(res.tabwright.steps_ms).padStart(7)} ms`);
console.log(`@puppeteer/replay     ${String(res.puppeteer_replay.whole_ms).padStart(8)} ms   ${String(res.puppeteer_replay.steps_ms).padStart(7)} ms`);
console.log(`ratio (tabwright / puppeteer): whole ${res.ratio_whole}x, steps ${res.ratio_steps}x`);
fs.writeFileSync(path.join(here, 'results.json'), JSON.stringify(res, null, 2) + '\n');
