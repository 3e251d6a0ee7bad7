// Replays one Chrome DevTools Recorder JSON file with @puppeteer/replay on puppeteer-core and
// the system Chromium, the way the Recorder's own "replay" does. Prints one JSON line:
// {"ok": bool, "steps_ms": N} (steps_ms: from the runner's start to its end, browser running).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRunner, PuppeteerRunnerExtension } from '@puppeteer/replay';
import puppeteer from 'puppeteer-core';

const file = process.argv[2];
const flow = JSON.parse(fs.readFileSync(file, 'utf8'));
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'pr-bench-'));
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  userDataDir: profile,
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update',
    '--disable-sync', '--no-first-run'],
});
let ok = false;
let stepsMs = 0;
let error = null;
try {
  const page = await browser.newPage();
  const t0 = performance.now();
  const runner = await createRunner(flow, new PuppeteerRunnerExtension(browser, page, { timeout: 5000 }));
  ok = await runner.run();
  stepsMs = performance.now() - t0;
} catch (e) {
  error = String(e && e.message || e);
} finally {
  await browser.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
console.log(JSON.stringify({ ok, steps_ms: Math.round(stepsMs), error }));
process.exit(ok ? 0 : 1);
