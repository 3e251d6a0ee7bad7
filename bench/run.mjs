#!/usr/bin/env node
// Tabwright vs Playwright MCP benchmark.
//
// Runs both MCP servers side by side (stdio, @modelcontextprotocol/sdk client) on the same
// pages and measures: outline size, ref coverage, read latency, click latency, start-up and
// memory. Prints a table and writes bench/results/latest.json.
//
// Normally started by bench/run.sh, which builds tabwright, installs the npm peers and starts
// the fixture servers. Environment:
//   FIXTURES_URL   base URL of `tabwright serve-fixtures --dir fixtures` (required)
//   DOCS_URL       base URL of a server for /usr/share/doc/python3.11/html (optional; the
//                  stdtypes page is skipped when unset)
//   TABWRIGHT_BIN  default: <repo>/target/release/tabwright
//   CHROMIUM       default: /usr/bin/chromium
//   RUNS           repetitions of each read measurement (default 7)
//   CLICK_RUNS     timed clicks per tool (default 15)
//   STARTUP_RUNS   spawns per server for the start-up figure (default 7)
//   CALL_TIMEOUT_MS per MCP request (default 60000)
//   BENCH_PAGES    comma-separated subset of page names (stdtypes,large,large-static,forms,dashboard)

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';

const BENCH_DIR = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(BENCH_DIR, '..');
const RESULTS_DIR = path.join(BENCH_DIR, 'results');

const env = process.env;
const FIXTURES_URL = withSlash(env.FIXTURES_URL || '');
const DOCS_URL = env.DOCS_URL ? withSlash(env.DOCS_URL) : '';
const TABWRIGHT_BIN = env.TABWRIGHT_BIN || path.join(REPO, 'target/release/tabwright');
const CHROMIUM = env.CHROMIUM || '/usr/bin/chromium';
const RUNS = int(env.RUNS, 7);
const CLICK_RUNS = int(env.CLICK_RUNS, 15);
const STARTUP_RUNS = int(env.STARTUP_RUNS, 7);
const CALL_TIMEOUT_MS = int(env.CALL_TIMEOUT_MS, 60000);
const READ_MAX_CHARS = 5_000_000;
const PW_CLI = path.join(BENCH_DIR, 'node_modules/@playwright/mcp/cli.js');

const TARGETS = { outlineRatio: 0.5, readRatio: 0.33, clickRatio: 0.2 };

function withSlash(u) { return u && !u.endsWith('/') ? u + '/' : u; }
function int(v, d) { const n = parseInt(v ?? '', 10); return Number.isFinite(n) && n > 0 ? n : d; }

// ---------------------------------------------------------------------------------------------
// process bookkeeping: every server we start is closed on exit, and any process it leaves
// behind (Chromium) is killed by pid and reported.

const live = new Set(); // Server objects
const leftovers = [];   // {server, pid, comm}
const errors = [];      // {where, message}

function note(where, err) {
  const message = err instanceof Error ? err.message : String(err);
  if (exiting) return; // interrupted: calls fail because the servers are being closed
  errors.push({ where, message });
  console.error(`! ${where}: ${message}`);
}

function procStat(pid) {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const close = s.lastIndexOf(')');
    const comm = s.slice(s.indexOf('(') + 1, close);
    const f = s.slice(close + 2).split(' ');
    return { pid, comm, state: f[0], ppid: +f[1], start: f[19] };
  } catch { return null; }
}

function allProcs() {
  const out = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = procStat(+d);
    if (st) out.push(st);
  }
  return out;
}

function descendants(pid) {
  const procs = allProcs();
  const kids = new Map();
  for (const p of procs) {
    if (!kids.has(p.ppid)) kids.set(p.ppid, []);
    kids.get(p.ppid).push(p);
  }
  const out = [];
  const stack = [pid];
  while (stack.length) {
    for (const k of kids.get(stack.pop()) || []) { out.push(k); stack.push(k.pid); }
  }
  return out;
}

function rssKiB(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? +m[1] : null;
  } catch { return null; }
}

function pssKiB(pid) {
  try {
    const m = /Pss:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? +m[1] : null;
  } catch { return null; }
}

function alive(p) {
  const st = procStat(p.pid);
  return st && st.start === p.start && st.state !== 'Z';
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// MCP servers

// TABWRIGHT_EXTRA_ARGS (space-separated) is added to tabwright's command line, e.g.
// "--policy auto --allow-domain 127.0.0.1" to measure a run with the policy on.
const TW_ARGS = ['mcp', '--chrome', CHROMIUM, ...(process.env.TABWRIGHT_EXTRA_ARGS || '').split(/\s+/).filter(Boolean)];
function pwArgs(outDir) {
  return ['--headless', '--executable-path', CHROMIUM, '--no-sandbox', '--isolated', '--output-dir', outDir];
}

class Server {
  constructor(label, command, args, cwd) {
    this.label = label;
    this.command = command;
    this.args = args;
    this.cwd = cwd;
    this.stderr = '';
  }

  // Spawns the server and completes the MCP handshake. Returns ms from spawn to the
  // initialize response.
  async start() {
    this.transport = new StdioClientTransport({
      command: this.command, args: this.args, cwd: this.cwd, env: { ...process.env }, stderr: 'pipe',
    });
    this.client = new Client({ name: 'tabwright-bench', version: '1.0.0' });
    const t0 = performance.now();
    const connecting = this.client.connect(this.transport, { timeout: CALL_TIMEOUT_MS });
    live.add(this);
    // stderr is only available once the process exists (start() is called inside connect()).
    const errStream = this.transport.stderr;
    if (errStream) errStream.on('data', (d) => { this.stderr = (this.stderr + d).slice(-20000); });
    await connecting;
    this.initMs = performance.now() - t0;
    this.pid = this.transport.pid;
    return this.initMs;
  }

  async call(name, args, { timeout = CALL_TIMEOUT_MS } = {}) {
    const t0 = performance.now();
    let res;
    try {
      res = await this.client.callTool({ name, arguments: args }, undefined, { timeout, maxTotalTimeout: timeout });
    } catch (e) {
      const tail = this.stderr.trim().split('\n').slice(-5).join(' | ');
      throw new Error(`${this.label} ${name}: ${e.message}${tail ? ` (stderr: ${tail})` : ''}`);
    }
    const ms = performance.now() - t0;
    const text = (res.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
    if (res.isError) throw new Error(`${this.label} ${name} returned an error: ${text.slice(0, 500)}`);
    return { ms, text, res };
  }

  async close() {
    if (!this.transport) return;
    live.delete(this);
    const pid = this.transport.pid;
    const kids = pid ? descendants(pid) : [];
    const transport = this.transport;
    this.transport = null;
    try { await transport.close(); } catch { /* ignore */ }
    // Give the server a moment to take its browser down with it.
    const deadline = Date.now() + 5000;
    let left = kids.filter(alive);
    while (left.length && Date.now() < deadline) { await sleep(100); left = left.filter(alive); }
    for (const p of left) {
      leftovers.push({ server: this.label, pid: p.pid, comm: p.comm });
      try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ }
    }
  }
}

async function closeAll() {
  await Promise.all([...live].map((s) => s.close()));
}

let exiting = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.on(sig, async () => {
    if (exiting) return;
    exiting = true;
    console.error(`\n${sig}: stopping servers`);
    await closeAll();
    process.exit(130);
  });
}
process.on('uncaughtException', async (e) => {
  console.error('uncaught:', e);
  if (!exiting) { exiting = true; await closeAll(); }
  process.exit(1);
});

// ---------------------------------------------------------------------------------------------
// outline parsing

// Both outlines are parsed into trees of nodes {role, name, ref, inline, depth, parent, kids};
// `inline` is the text after "]: " on the line (for `- text: …` lines, the text). The parsers
// return the nodes that carry a ref.

function node(role, name, ref, inline, depth, stack) {
  while (stack.length && stack[stack.length - 1].depth >= depth) stack.pop();
  const parent = stack[stack.length - 1] || null;
  const e = { role, name, ref, inline, depth, parent, kids: [] };
  if (parent) parent.kids.push(e);
  stack.push(e);
  return e;
}

// Tabwright: `- role "name" [e12] [state]…: content` (name JSON-quoted, cut at 200 + "…"), where
// content is text with inline elements `[role "name" e13 state…: content]` (host/src/outline/
// GRAMMAR.md). Inline elements become child nodes, and the text around them `text` children, in
// order, as Playwright prints them on lines of their own.
const REF = /^(?:f\d+)?e\d+$/;
function parseTabwright(text) {
  const out = [];
  const stack = [];
  for (const line of text.split('\n')) {
    const m = /^(\s*)- ([A-Za-z][\w-]*)(.*)$/.exec(line);
    if (!m) continue;
    let rest = m[3];
    let name = '';
    if (rest.startsWith(' "')) {
      const q = readJsonString(rest, 1);
      if (!q) continue;
      name = q.value;
      rest = rest.slice(q.end);
    }
    const { attrs, tail } = readAttrs(rest);
    const ref = attrs.find((x) => REF.test(x));
    const e = node(m[2], name, ref || null, '', m[1].length, stack);
    if (tail.startsWith(': ')) setContent(e, parseFlow(tail, 2, false).items, out);
    if (e.ref) out.push(e);
  }
  return out;
}

// A node's content: plain text stays its `inline`; inline elements (and the text between them)
// become its children.
function setContent(e, items, out) {
  if (items.every((x) => x.text !== undefined)) {
    e.inline = items.map((x) => x.text).join(' ');
    return;
  }
  for (const x of items) {
    const k = { role: x.text !== undefined ? 'text' : x.role, name: x.name || '', ref: x.ref || null,
      inline: x.text !== undefined ? x.text : '', depth: e.depth + 1, parent: e, kids: [] };
    e.kids.push(k);
    if (x.kids) setContent(k, x.kids, out);
    if (k.ref) out.push(k);
  }
}

// Reads inline content from s[i]: text and `[role "name" ref state…: content]` elements, up to
// the end (or, when nested, the `]` that closes the element). Brackets in the text that do not
// open an element pair up among themselves.
const INLINE_START = /\[([a-z]+)(?: ("(?:[^"\\]|\\.)*"))? ((?:f\d+)?e\d+)(?=[ :\]])/y;
function parseFlow(s, i, nested) {
  const items = [];
  let text = '';
  let depth = 0;
  const flush = () => { const t = text.trim(); if (t) items.push({ text: t }); text = ''; };
  while (i < s.length) {
    const c = s[i];
    if (c === '[') {
      INLINE_START.lastIndex = i;
      const m = INLINE_START.exec(s);
      if (m) {
        flush();
        let j = INLINE_START.lastIndex;
        while (s[j] === ' ') {
          j++;
          while (j < s.length && s[j] !== ' ' && s[j] !== ']' && !(s[j] === ':' && s[j + 1] === ' ')) {
            const q = s[j] === '"' ? readJsonString(s, j) : null;
            j = q ? q.end : j + 1;
          }
        }
        let kids = [];
        if (s[j] === ':' && s[j + 1] === ' ') {
          const r = parseFlow(s, j + 2, true);
          kids = r.items;
          j = r.end;
        }
        if (s[j] === ']') j++;
        let name = '';
        if (m[2]) { try { name = JSON.parse(m[2]); } catch { name = m[2]; } }
        items.push({ role: m[1], name, ref: m[3], kids });
        i = j;
        continue;
      }
      depth++;
    } else if (c === ']') {
      if (nested && depth === 0) { flush(); return { items, end: i }; }
      if (depth) depth--;
    }
    text += c;
    i++;
  }
  flush();
  return { items, end: i };
}

// Playwright: YAML list items whose key is `role "name" [attrs] [ref=e5]`, the whole key
// single-quoted when YAML needs it; names are JSON-quoted (omitted when over 900 chars).
function parsePlaywright(text) {
  const out = [];
  const stack = [];
  for (const line of text.split('\n')) {
    const m = /^(\s*)- (.*)$/.exec(line);
    if (!m) continue;
    const body = m[2];
    let key;
    let value = '';
    if (body.startsWith("'")) {
      let i = 1; key = '';
      for (; i < body.length; i++) {
        if (body[i] === "'") {
          if (body[i + 1] === "'") { key += "'"; i++; continue; }
          break;
        }
        key += body[i];
      }
      const after = body.slice(i + 1);
      if (after.startsWith(': ')) value = after.slice(2);
    } else {
      // an unquoted YAML key never holds ": " nor ends with ":"
      const c = body.indexOf(': ');
      if (c >= 0) { key = body.slice(0, c); value = body.slice(c + 2); } else key = body.replace(/:$/, '');
    }
    const rm = /^([A-Za-z][\w-]*)(.*)$/.exec(key);
    if (!rm) continue; // `/url:` and other property lines
    let rest = rm[2];
    let name = '';
    if (rest.startsWith(' "')) {
      const q = readJsonString(rest, 1);
      if (!q) continue;
      name = q.value;
      rest = rest.slice(q.end);
    }
    const r = /\[ref=([^\]\s]+)\]/.exec(rest);
    const e = node(rm[1], name, r ? r[1] : null, yamlScalar(value), m[1].length, stack);
    if (e.ref) out.push(e);
  }
  return out;
}

function yamlScalar(v) {
  if (v.startsWith('"')) { try { return JSON.parse(v); } catch { return v.slice(1, -1); } }
  if (v.startsWith("'")) return v.slice(1, -1).replace(/''/g, "'");
  return v;
}

// ` [a] [b="x]y"]: tail` -> {attrs: ['a', 'b="x]y"'], tail: ': tail'}
function readAttrs(s) {
  const attrs = [];
  let i = 0;
  while (s.startsWith(' [', i)) {
    let j = i + 2;
    for (; j < s.length && s[j] !== ']'; j++) {
      if (s[j] === '"') { const q = readJsonString(s, j); if (q) j = q.end - 1; }
    }
    attrs.push(s.slice(i + 2, j));
    i = j + 1;
  }
  return { attrs, tail: s.slice(i) };
}

function readJsonString(s, start) {
  if (s[start] !== '"') return null;
  for (let i = start + 1; i < s.length; i++) {
    if (s[i] === '\\') { i++; continue; }
    if (s[i] === '"') {
      try { return { value: JSON.parse(s.slice(start, i + 1)), end: i + 1 }; } catch { return null; }
    }
  }
  return null;
}

// Playwright-only formatting of the snapshot text: the YAML block of the result.
function playwrightYaml(text) {
  const m = /```yaml\n([\s\S]*?)```/.exec(text);
  return m ? m[1] : text;
}

// Role names that are the same thing spelled differently. Documented in README; keep short.
const ROLE_SYNONYMS = {
  // ARIA 1.3 renamed img to image; treat them as one.
  image: 'img',
};
const TW_NAME_CUT = 200; // tabwright cuts names at 200 chars and appends "…"

function normRole(r) { return ROLE_SYNONYMS[r] || r; }
function ws(s) { return s.replace(/\s+/g, ' ').trim(); }
// letters and digits only, lower case: "Note:" (CSS ::after text) and "Note" compare equal
function loose(s) { return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, ''); }
function normName(n) {
  const s = ws(n);
  return s.length > TW_NAME_CUT ? s.slice(0, TW_NAME_CUT) : s;
}
function twName(n) {
  // "<200 chars>…" is tabwright's cut of a longer name: compare the first 200 chars.
  if (n.length === TW_NAME_CUT + 1 && n.endsWith('\u2026')) n = n.slice(0, TW_NAME_CUT);
  return normName(n);
}

// What a node says, for comparing nameless lines: its name if it has one (an accessible name
// from content is its text), else its inline text and its children's, letters and digits
// only, first CONTENT_CUT of them.
const CONTENT_CUT = 60;
function content(e) {
  if (e.content !== undefined) return e.content;
  let s = loose(e.name);
  if (!s) {
    s = loose(e.inline);
    for (const k of e.kids) {
      if (s.length >= CONTENT_CUT) break;
      s += content(k);
    }
  }
  e.content = s.slice(0, CONTENT_CUT);
  return e.content;
}

// Longest order-preserving matching of P to T where ok(i, j) says P[i] may take T[j].
function align(P, T, ok) {
  const n = P.length, m = T.length;
  const pairs = [];
  if (!n || !m) return pairs;
  if (n * m > 40e6 || Math.min(n, m) >= 65535) return null; // too big: caller falls back
  const W = m + 1;
  const dp = new Uint16Array((n + 1) * W);
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      const skip = Math.max(dp[(i + 1) * W + j], dp[i * W + j + 1]);
      dp[i * W + j] = ok(i, j) ? Math.max(skip, 1 + dp[(i + 1) * W + j + 1]) : skip;
    }
  }
  let i = 0, j = 0;
  while (i < n && j < m) {
    if (ok(i, j) && dp[i * W + j] === 1 + dp[(i + 1) * W + j + 1]) { pairs.push([i, j]); i++; j++; }
    else if (dp[(i + 1) * W + j] >= dp[i * W + j + 1]) i++;
    else j++;
  }
  return pairs;
}

// Coverage of Playwright's ref lines by tabwright's ref lines; each tabwright line is used once.
//  pass 1: a Playwright line with a name takes a tabwright line with the same role and name.
//  A Playwright line printed WITHOUT a name may still have one: Playwright's AI snapshot drops a
//  name computed from content when that content is shown below it (removeRedundantNames),
//  while tabwright always prints it. So nameless Playwright lines are compared by what they say:
//  pass 2: inline text (`- code [ref=e5]: None`) equal to a nameless tabwright line's of the same
//          role (2a exactly, 2b by letters and digits only: Playwright includes CSS
//          ::before/::after text, tabwright does not);
//  pass 3: the rest, per role, against the unused tabwright lines of that role, by what the
//          lines and their children say (content()): 3a equal content in any order; 3b one a
//          prefix of the other, as the longest order-preserving matching (empty only matches
//          empty).
function coverage(pwText, twText, { all = false } = {}) {
  const pw = parsePlaywright(playwrightYaml(pwText))
    .filter((e) => e.role !== 'text' && !(e.role === 'generic' && e.name === ''));
  const tw = parseTabwright(twText);
  const pools = new Map();
  const take = (k) => { const a = pools.get(k); if (!a) return null; while (a.length) { const e = a.pop(); if (!e.used) { e.used = true; return e; } } return null; };
  const put = (k, e) => { if (!pools.has(k)) pools.set(k, []); pools.get(k).push(e); };
  for (const e of [...tw].reverse()) { // pools pop from the end: take in document order
    const role = normRole(e.role);
    const name = twName(e.name);
    put('n\u0000' + role + '\u0000' + name, e);
    if (!name && e.inline) put('i\u0000' + role + '\u0000' + ws(e.inline), e);
    if (!name && e.inline) put('p\u0000' + role + '\u0000' + loose(e.inline), e);
  }
  let exact = 0, byInline = 0, byLoose = 0, byContent3a = 0, byOrder = 0, approx = 0;
  const open = [];
  for (const e of pw) {
    const role = normRole(e.role);
    const name = normName(e.name);
    if (name) { if (take('n\u0000' + role + '\u0000' + name)) { exact++; e.how = 'name'; } continue; }
    open.push(e);
  }
  for (const e of open) {
    if (e.inline && take('i\u0000' + normRole(e.role) + '\u0000' + ws(e.inline))) { byInline++; e.how = 'inline'; }
  }
  for (const e of open) {
    if (!e.how && e.inline && take('p\u0000' + normRole(e.role) + '\u0000' + loose(e.inline))) { byLoose++; e.how = 'loose'; }
  }
  const byRolePw = new Map();
  for (const e of open) if (!e.how) { const r = normRole(e.role); if (!byRolePw.has(r)) byRolePw.set(r, []); byRolePw.get(r).push(e); }
  for (const [role, P0] of byRolePw) {
    // 3a: equal content, in any order
    const T0 = tw.filter((e) => !e.used && normRole(e.role) === role);
    const byContent = new Map();
    for (const t of [...T0].reverse()) { const k = content(t); if (!byContent.has(k)) byContent.set(k, []); byContent.get(k).push(t); }
    for (const e of P0) {
      const a = byContent.get(content(e));
      const t = a && a.pop();
      if (t) { t.used = true; e.how = 'content'; byContent3a++; }
    }
    // 3b: content one a prefix of the other, in document order
    const P = P0.filter((e) => !e.how);
    const T = T0.filter((e) => !e.used);
    const pc = P.map(content);
    const tc = T.map(content);
    const ok = (i, j) => pc[i] === tc[j] || (pc[i] !== '' && tc[j] !== '' && (pc[i].startsWith(tc[j]) || tc[j].startsWith(pc[i])));
    let pairs = align(P, T, ok);
    if (!pairs) { // too large to align: count by role (reported as approximate)
      pairs = [];
      for (let k = 0; k < Math.min(P.length, T.length); k++) pairs.push([k, k]);
      approx += pairs.length;
    }
    for (const [i, j] of pairs) { P[i].how = 'order'; T[j].used = true; byOrder++; }
  }

  const wantCount = new Map();
  for (const e of pw) { const k = normRole(e.role) + '\u0000' + normName(e.name); wantCount.set(k, (wantCount.get(k) || 0) + 1); }
  const haveCount = new Map();
  for (const e of tw) { const k = normRole(e.role) + '\u0000' + twName(e.name); haveCount.set(k, (haveCount.get(k) || 0) + 1); }
  const groups = new Map();
  const missByRole = {};
  for (const e of pw) {
    if (e.how) continue;
    const k = normRole(e.role) + '\u0000' + normName(e.name);
    if (!groups.has(k)) groups.set(k, { role: e.role, name: e.name, missing: 0, playwright: wantCount.get(k), tabwright: haveCount.get(k) || 0, examples: [] });
    const g = groups.get(k);
    g.missing++;
    if (g.examples.length < 4) g.examples.push(describe(e));
    missByRole[e.role] = (missByRole[e.role] || 0) + 1;
  }
  const misses = [...groups.values()].sort((a, b) => b.missing - a.missing || a.role.localeCompare(b.role) || a.name.localeCompare(b.name));
  const covered = exact + byInline + byLoose + byContent3a + byOrder;
  const total = pw.length;
  const pct = (x) => (total ? (100 * x) / total : 100);
  return {
    playwrightRefs: total,
    playwrightNameless: pw.filter((e) => e.name === '').length,
    tabwrightRefs: tw.length,
    covered,
    percent: pct(covered),
    matchedByName: exact,
    matchedByInlineText: byInline,
    matchedByInlineTextLoosely: byLoose,
    matchedByContent: byContent3a,
    matchedByContentPrefixInOrder: byOrder,
    matchedByRoleCountOnly: approx,
    strictPercent: pct(exact + byInline),
    tabwrightOnly: tw.filter((e) => !e.used).length,
    missByRole: Object.fromEntries(Object.entries(missByRole).sort((a, b) => b[1] - a[1])),
    misses: all ? misses : misses.slice(0, 20),
    missKinds: misses.length,
    ...(all ? {
      missedLines: pw.filter((e) => !e.how).map(describe),
      tabwrightOnlyLines: tw.filter((e) => !e.used).map((e) => `${e.role}${e.name ? ' ' + JSON.stringify(e.name) : ''} [ref=${e.ref}]${e.inline ? ': ' + e.inline.slice(0, 60) : ''}`),
    } : {}),
  };
}

// A Playwright line for the miss report: `code [ref=e39]: repr()  (in link: repr)`.
function describe(e) {
  const cut = (t, n) => (t.length > n ? t.slice(0, n) + '…' : t);
  let s = e.role + (e.name ? ' ' + JSON.stringify(cut(e.name, 60)) : '') + ` [ref=${e.ref}]` + (e.inline ? ': ' + cut(e.inline, 60) : '');
  const p = e.parent;
  if (p) s += `  (in ${p.role}${p.name ? ' ' + JSON.stringify(cut(p.name, 40)) : ''}${p.inline ? ': ' + cut(p.inline, 30) : ''})`;
  return s;
}

// ---------------------------------------------------------------------------------------------
// stats / formatting

function median(a) {
  if (!a.length) return null;
  const s = [...a].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function min(a) { return a.length ? Math.min(...a) : null; }
function summary(a) { return { median: median(a), min: min(a), max: a.length ? Math.max(...a) : null, n: a.length, runs: a.map(r2) }; }
function r2(x) { return x == null ? null : Math.round(x * 100) / 100; }
function ms(x) { return x == null ? '—' : x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2); }
function ratio(a, b) { return a != null && b ? a / b : null; }
function fmtRatio(x, target) {
  if (x == null) return '—';
  return x.toFixed(3) + (target != null ? (x <= target ? '  ok' : '  MISS') : '');
}
function kib(x) { return x == null ? '—' : (x / 1024).toFixed(1) + ' MiB'; }
function pad(s, n) { s = String(s); return s.length >= n ? s : s + ' '.repeat(n - s.length); }
function lpad(s, n) { s = String(s); return s.length >= n ? s : ' '.repeat(n - s.length) + s; }
function table(head, rows) {
  const all = [head, ...rows].map((r) => r.map((c) => (c == null ? '—' : String(c))));
  const w = head.map((_, i) => Math.max(...all.map((r) => r[i].length)));
  const line = (r) => '  ' + r.map((c, i) => (i === 0 ? pad(c, w[i]) : lpad(c, w[i]))).join('  ');
  return [line(all[0]), '  ' + w.map((n) => '-'.repeat(n)).join('  '), ...all.slice(1).map(line)].join('\n');
}

// ---------------------------------------------------------------------------------------------
// page helpers

async function waitReady(server, kind, page) {
  if (!page.ready) return;
  const deadline = Date.now() + CALL_TIMEOUT_MS;
  while (Date.now() < deadline) {
    const r = kind === 'tw'
      ? await server.call('javascript_tool', { code: page.ready })
      : await server.call('browser_evaluate', { function: `() => (${page.ready})` });
    if (/\btrue\b/.test(r.text)) return;
    await sleep(100);
  }
  throw new Error(`${server.label}: ${page.name} never became ready (${page.ready})`);
}

function twRead(server) { return server.call('read_page', { max_chars: READ_MAX_CHARS }); }
function pwRead(server) { return server.call('browser_snapshot', {}); }

function checkWhole(kind, text) {
  if (kind === 'tw' && /larger than max_chars/.test(text)) throw new Error('tabwright outline did not fit in max_chars');
  if (kind === 'pw' && !/```yaml/.test(text)) throw new Error('playwright snapshot has no yaml block');
}

function refOf(kind, text, role, name) {
  const items = kind === 'tw' ? parseTabwright(text) : parsePlaywright(playwrightYaml(text));
  const e = items.find((x) => x.role === role && x.name === name);
  return e ? e.ref : null;
}

// ---------------------------------------------------------------------------------------------
// measurements

async function measureStartup(makeServer, label) {
  const init = [];
  const list = [];
  const spawnToList = [];
  let tools = null;
  for (let i = 0; i < STARTUP_RUNS; i++) {
    const s = makeServer();
    try {
      const t0 = performance.now();
      init.push(await s.start());
      const t1 = performance.now();
      const r = await s.client.listTools(undefined, { timeout: CALL_TIMEOUT_MS });
      const t2 = performance.now();
      list.push(t2 - t1);
      spawnToList.push(t2 - t0);
      tools = r.tools.length;
    } catch (e) {
      note(`start-up ${label}`, e);
    } finally {
      await s.close();
    }
  }
  return { initMs: summary(init), toolsListMs: summary(list), spawnToToolsListMs: summary(spawnToList), tools };
}

function memoryOf(server) {
  const kids = descendants(server.pid);
  let treeRss = 0;
  let treePss = 0;
  for (const k of kids) { treeRss += rssKiB(k.pid) || 0; treePss += pssKiB(k.pid) || 0; }
  return {
    serverRssKiB: rssKiB(server.pid),
    serverPssKiB: pssKiB(server.pid),
    childProcesses: kids.length,
    childRssSumKiB: treeRss,
    childPssSumKiB: treePss,
  };
}

async function measurePage(tw, pw, page) {
  const out = { url: page.url, tabwright: {}, playwright: {} };
  const nav = {};
  const t = await tw.call('navigate', { url: page.url });
  nav.tw = t.ms;
  await waitReady(tw, 'tw', page);
  const p = await pw.call('browser_navigate', { url: page.url });
  nav.pw = p.ms;
  await waitReady(pw, 'pw', page);
  out.tabwright.navigateMs = r2(nav.tw);
  out.playwright.navigateMs = r2(nav.pw);

  // First read on the loaded page (untimed in the figures; shown for information).
  const tFirst = await twRead(tw);
  checkWhole('tw', tFirst.text);
  const pFirst = await pwRead(pw);
  checkWhole('pw', pFirst.text);
  out.tabwright.firstReadMs = r2(tFirst.ms);
  out.playwright.firstReadMs = r2(pFirst.ms);

  const tMs = [], pMs = [], tChars = new Set(), pChars = new Set();
  let tText = tFirst.text, pText = pFirst.text;
  for (let i = 0; i < RUNS; i++) {
    // Alternate which tool goes first so drift hits both alike.
    const order = i % 2 ? ['pw', 'tw'] : ['tw', 'pw'];
    for (const k of order) {
      if (k === 'tw') {
        const r = await twRead(tw); checkWhole('tw', r.text);
        tMs.push(r.ms); tChars.add(r.text.length); tText = r.text;
      } else {
        const r = await pwRead(pw); checkWhole('pw', r.text);
        pMs.push(r.ms); pChars.add(r.text.length); pText = r.text;
      }
    }
  }
  out.tabwright.readMs = summary(tMs);
  out.playwright.readMs = summary(pMs);
  out.tabwright.chars = tText.length;
  out.playwright.chars = pText.length;
  out.tabwright.charsSeen = [...tChars];
  out.playwright.charsSeen = [...pChars];
  out.tabwright.lines = tText.split('\n').length;
  out.playwright.yamlChars = playwrightYaml(pText).length;
  out.playwright.lines = playwrightYaml(pText).split('\n').length;
  out.outlineRatio = ratio(out.tabwright.chars, out.playwright.chars);
  out.readRatio = ratio(out.tabwright.readMs.median, out.playwright.readMs.median);
  out.coverage = coverage(pText, tText);
  out.tabwright.charsByRole = charsByRole(tText);
  out.playwright.charsByRole = charsByRole(playwrightYaml(pText));
  return { result: out, tText, pText };
}

// Where the characters go: per role (whole lines, newline included; `/url` property lines
// separately), plus the leading indentation of all lines. Top 12.
function charsByRole(text) {
  const by = {};
  let indent = 0;
  for (const line of text.split('\n')) {
    const m = /^(\s*)- '?([A-Za-z/][\w-]*)/.exec(line);
    const role = m ? m[2] : '(other)';
    by[role] = (by[role] || 0) + line.length + 1;
    indent += /^\s*/.exec(line)[0].length;
  }
  const top = Object.entries(by).sort((a, b) => b[1] - a[1]).slice(0, 12);
  return { '(indentation)': indent, ...Object.fromEntries(top) };
}

async function measureClick(tw, pw) {
  const url = FIXTURES_URL + 'buttons.html';
  const reset = "document.getElementById('status').textContent = 'ready'";
  const read = "document.getElementById('status').textContent";
  const want = 'clicked: Save';
  await tw.call('navigate', { url });
  await pw.call('browser_navigate', { url });

  const clickArg = pw.toolArgs?.browser_click || {};
  const pwRefKey = 'ref' in clickArg ? 'ref' : 'target';

  async function once(kind) {
    let ref;
    if (kind === 'tw') {
      await tw.call('javascript_tool', { code: reset });
      ref = refOf('tw', (await tw.call('read_page', {})).text, 'button', 'Save');
      if (!ref) throw new Error('tabwright read_page has no button "Save"');
      const r = await tw.call('computer', { action: 'left_click', ref });
      const s = await tw.call('javascript_tool', { code: read });
      return { ms: r.ms, ok: s.text.includes(want), status: s.text };
    }
    await pw.call('browser_evaluate', { function: `() => { ${reset}; return 'ok'; }` });
    ref = refOf('pw', (await pw.call('browser_snapshot', {})).text, 'button', 'Save');
    if (!ref) throw new Error('playwright snapshot has no button "Save"');
    const r = await pw.call('browser_click', { element: 'Save', [pwRefKey]: ref });
    const s = await pw.call('browser_evaluate', { function: `() => ${read}` });
    return { ms: r.ms, ok: s.text.includes(want), status: s.text };
  }

  // One untimed warm-up click each.
  await once('tw');
  await once('pw');
  const tMs = [], pMs = [];
  const bad = { tw: [], pw: [] };
  for (let i = 0; i < CLICK_RUNS; i++) {
    const order = i % 2 ? ['pw', 'tw'] : ['tw', 'pw'];
    for (const k of order) {
      const r = await once(k);
      (k === 'tw' ? tMs : pMs).push(r.ms);
      if (!r.ok) bad[k].push(r.status.slice(0, 200));
    }
  }
  return {
    url,
    playwrightRefArg: pwRefKey,
    tabwright: { clickMs: summary(tMs), statusNotUpdated: bad.tw.length, badStatuses: bad.tw.slice(0, 5) },
    playwright: { clickMs: summary(pMs), statusNotUpdated: bad.pw.length, badStatuses: bad.pw.slice(0, 5) },
    ratio: ratio(median(tMs), median(pMs)),
  };
}

// ---------------------------------------------------------------------------------------------

function sh(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 20000 });
  return r.status === 0 ? (r.stdout || '').trim() : null;
}

function machine() {
  const cpus = os.cpus();
  let osName = os.type() + ' ' + os.release();
  try {
    const m = /PRETTY_NAME="([^"]+)"/.exec(fs.readFileSync('/etc/os-release', 'utf8'));
    if (m) osName = m[1] + ', kernel ' + os.release();
  } catch { /* ignore */ }
  return { cores: os.availableParallelism ? os.availableParallelism() : cpus.length, cpu: cpus[0]?.model, memGiB: +(os.totalmem() / 2 ** 30).toFixed(1), os: osName };
}

// The repo's HEAD (and whether host/ has uncommitted changes) when the bench ran.
function gitCommit() {
  const head = sh('git', ['-C', REPO, 'rev-parse', '--short', 'HEAD']);
  if (!head) return null;
  const dirty = sh('git', ['-C', REPO, 'status', '--porcelain', '--', 'host', 'Cargo.toml', 'Cargo.lock']);
  return head + (dirty ? '+dirty' : '');
}

function versionOf(pkg) {
  try { return JSON.parse(fs.readFileSync(path.join(BENCH_DIR, 'node_modules', pkg, 'package.json'), 'utf8')).version; } catch { return null; }
}

async function main() {
  const wall0 = performance.now();
  if (!FIXTURES_URL) throw new Error('FIXTURES_URL is not set: start `tabwright serve-fixtures` (bench/run.sh does) and pass its URL');
  if (!fs.existsSync(TABWRIGHT_BIN)) throw new Error(`no tabwright binary at ${TABWRIGHT_BIN}: cargo build --release -p tabwright`);
  if (!fs.existsSync(PW_CLI)) throw new Error(`no @playwright/mcp in ${BENCH_DIR}/node_modules: npm install --prefix bench`);

  const pwOut = fs.mkdtempSync(path.join(os.tmpdir(), 'tabwright-bench-pw-'));
  const twCwd = fs.mkdtempSync(path.join(os.tmpdir(), 'tabwright-bench-tw-'));
  const mkTw = () => new Server('tabwright', TABWRIGHT_BIN, TW_ARGS, twCwd);
  const mkPw = () => new Server('playwright', process.execPath, [PW_CLI, ...pwArgs(pwOut)], pwOut);
  // `--no --`: never fetch, and leave every later flag to playwright-mcp (npm would parse them).
  const mkPwNpx = () => new Server('playwright(npx)', 'npx', ['--no', '--', '@playwright/mcp', ...pwArgs(pwOut)], BENCH_DIR);

  const results = {
    date: new Date().toISOString(),
    machine: machine(),
    versions: {
      node: process.version,
      tabwright: sh(TABWRIGHT_BIN, ['--version']),
      tabwrightCommit: gitCommit(),
      playwrightMcp: versionOf('@playwright/mcp'),
      playwrightCore: versionOf('playwright-core'),
      mcpSdk: versionOf('@modelcontextprotocol/sdk'),
      chromium: sh(CHROMIUM, ['--version']),
    },
    config: {
      runs: RUNS, clickRuns: CLICK_RUNS, startupRuns: STARTUP_RUNS, callTimeoutMs: CALL_TIMEOUT_MS,
      readMaxChars: READ_MAX_CHARS, fixturesUrl: FIXTURES_URL, docsUrl: DOCS_URL || null,
      tabwright: [TABWRIGHT_BIN, ...TW_ARGS].join(' '),
      playwright: ['node', PW_CLI, ...pwArgs('<tmp>')].join(' '),
      targets: TARGETS,
    },
  };

  // 1. start-up, each server alone (nothing else running yet).
  console.error(`start-up: ${STARTUP_RUNS} spawns each …`);
  results.startup = {
    tabwright: await measureStartup(mkTw, 'tabwright'),
    playwright: await measureStartup(mkPw, 'playwright'),
    playwrightNpx: await measureStartup(mkPwNpx, 'playwright(npx)'),
  };

  // 2. the long-lived sessions, side by side.
  const tw = mkTw();
  const pw = mkPw();
  await tw.start();
  await pw.start();
  pw.toolArgs = Object.fromEntries((await pw.client.listTools()).tools.map((t) => [t.name, t.inputSchema?.properties || {}]));
  for (const n of ['browser_navigate', 'browser_snapshot', 'browser_click', 'browser_evaluate']) {
    if (!pw.toolArgs[n]) throw new Error(`Playwright MCP has no ${n} tool (tools: ${Object.keys(pw.toolArgs).join(', ')})`);
  }
  const twTools = (await tw.client.listTools()).tools.map((t) => t.name);
  for (const n of ['navigate', 'read_page', 'computer', 'javascript_tool']) {
    if (!twTools.includes(n)) throw new Error(`tabwright has no ${n} tool`);
  }

  const mem = { tabwright: {}, playwright: {} };
  mem.tabwright.idle = memoryOf(tw);
  mem.playwright.idle = memoryOf(pw);
  const firstNav = FIXTURES_URL + 'buttons.html';
  const tn = await tw.call('navigate', { url: firstNav });
  const pn = await pw.call('browser_navigate', { url: firstNav });
  // Let the servers' memory settle: poll until two readings 50 ms apart agree within 1 %
  // (bounded to 3 s), not a fixed pause.
  for (const server of [tw, pw]) {
    const settleBy = Date.now() + 3000;
    let last = rssKiB(server.pid) || 0;
    while (Date.now() < settleBy) {
      await sleep(50);
      const now = rssKiB(server.pid) || 0;
      if (Math.abs(now - last) <= last * 0.01) break;
      last = now;
    }
  }
  mem.tabwright.afterNavigate = memoryOf(tw);
  mem.playwright.afterNavigate = memoryOf(pw);
  mem.firstNavigateMs = { tabwright: r2(tn.ms), playwright: r2(pn.ms), note: 'includes the browser launch' };
  results.memory = mem;

  // 3. pages: outline size, coverage, read latency.
  const pages = [];
  if (DOCS_URL) pages.push({ name: 'stdtypes', url: DOCS_URL + 'library/stdtypes.html' });
  else note('pages', 'DOCS_URL not set: stdtypes.html skipped');
  pages.push({ name: 'large', url: FIXTURES_URL + 'large.html', ready: "document.body.dataset.ready === 'true'" });
  pages.push({ name: 'large-static', url: FIXTURES_URL + 'large-static.html' });
  pages.push({ name: 'forms', url: FIXTURES_URL + 'forms.html' });
  // An app-like page (nested div wrappers, icon buttons, cards), for information.
  pages.push({ name: 'dashboard', url: FIXTURES_URL + 'dashboard.html' });
  const only = env.BENCH_PAGES ? new Set(env.BENCH_PAGES.split(',')) : null;
  results.pages = {};
  const rawDir = path.join(RESULTS_DIR, 'outlines');
  fs.mkdirSync(rawDir, { recursive: true });
  for (const page of pages) {
    if (only && !only.has(page.name)) continue;
    console.error(`page ${page.name}: ${RUNS} reads each …`);
    try {
      const { result, tText, pText } = await measurePage(tw, pw, page);
      results.pages[page.name] = result;
      fs.writeFileSync(path.join(rawDir, `${page.name}.tabwright.txt`), tText);
      fs.writeFileSync(path.join(rawDir, `${page.name}.playwright.txt`), pText);
    } catch (e) {
      note(`page ${page.name}`, e);
      results.pages[page.name] = { url: page.url, error: e.message };
    }
  }

  // 4. click latency.
  console.error(`click: ${CLICK_RUNS} clicks each …`);
  try {
    results.click = await measureClick(tw, pw);
  } catch (e) {
    note('click', e);
    results.click = { error: e.message };
  }

  await tw.close();
  await pw.close();
  await closeAll();
  fs.rmSync(pwOut, { recursive: true, force: true });
  fs.rmSync(twCwd, { recursive: true, force: true });

  if (exiting) return 130;
  results.leftoverProcesses = leftovers;
  results.errors = errors;
  results.wallMs = r2(performance.now() - wall0);
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  fs.writeFileSync(path.join(RESULTS_DIR, 'latest.json'), JSON.stringify(results, null, 2) + '\n');
  console.log(report(results));
  return errors.length ? 1 : 0;
}

function report(R) {
  const o = [];
  const m = R.machine;
  o.push(`Tabwright vs Playwright MCP — ${R.date}`);
  o.push(`machine: ${m.cores} cores, ${m.cpu}, ${m.memGiB} GiB, ${m.os}`);
  o.push(`versions: tabwright ${R.versions.tabwright?.replace(/^tabwright /, '')} (${R.versions.tabwrightCommit}), @playwright/mcp ${R.versions.playwrightMcp} (playwright-core ${R.versions.playwrightCore}), sdk ${R.versions.mcpSdk}, ${R.versions.chromium}, node ${R.versions.node}`);
  o.push(`runs: reads ${R.config.runs}, clicks ${R.config.clickRuns}, start-ups ${R.config.startupRuns}; times are client-side MCP round trips in ms (median / min)`);
  o.push('');

  o.push('1. Outline size (characters of the whole tool result; target ratio ≤ ' + TARGETS.outlineRatio + ')');
  o.push(table(['page', 'tabwright', 'playwright', 'tw lines', 'pw lines', 'ratio tw/pw'],
    Object.entries(R.pages).map(([n, p]) => p.error ? [n, 'error', '', '', '', ''] :
      [n, p.tabwright.chars, p.playwright.chars, p.tabwright.lines, p.playwright.lines, fmtRatio(p.outlineRatio, TARGETS.outlineRatio)])));
  const k = (x) => (x >= 1000 ? Math.round(x / 1000) + 'k' : String(x));
  for (const [n, p] of Object.entries(R.pages)) {
    if (p.error || p.tabwright.chars < 10000) continue;
    const top = (c) => Object.entries(c).slice(0, 7).map(([r, x]) => `${r} ${k(x)}`).join(', ');
    o.push(`  ${n}, chars by line role: tabwright  ${top(p.tabwright.charsByRole)}`);
    o.push(`  ${' '.repeat(n.length)}                      playwright ${top(p.playwright.charsByRole)}`);
  }
  o.push('');

  o.push('2. Ref coverage: Playwright ref lines (role+name; nameless generic and text skipped) that tabwright also has as ref lines');
  o.push('   strict: same role and name (nameless lines: same inline text); coverage: also nameless Playwright lines (Playwright');
  o.push('   drops names that come from content) matched to a same-role tabwright line saying the same text (README)');
  o.push(table(['page', 'pw refs', 'pw nameless', 'tw refs', 'strict', 'coverage', 'missing', 'tw-only'],
    Object.entries(R.pages).filter(([, p]) => !p.error).map(([n, p]) => {
      const c = p.coverage;
      return [n, c.playwrightRefs, c.playwrightNameless, c.tabwrightRefs, c.strictPercent.toFixed(1) + '%', c.percent.toFixed(1) + '%', c.playwrightRefs - c.covered, c.tabwrightOnly];
    })));
  for (const [n, p] of Object.entries(R.pages)) {
    if (p.error || !p.coverage.misses.length) continue;
    const c = p.coverage;
    o.push(`  misses on ${n}: ${c.playwrightRefs - c.covered} lines in ${c.missKinds} role+name groups; by role: ${Object.entries(c.missByRole).slice(0, 10).map(([r, k]) => `${r} ${k}`).join(', ')}`);
    for (const x of c.misses) {
      o.push(`    ${x.role} ${JSON.stringify(x.name.length > 80 ? x.name.slice(0, 80) + '…' : x.name)}  ×${x.missing} (pw ${x.playwright}, tw ${x.tabwright})`);
      if (!x.name) for (const ex of x.examples.slice(0, 3)) o.push(`        e.g. ${ex}`);
    }
  }
  o.push('');

  o.push('3. read_page vs browser_snapshot latency, page loaded (ms; target ratio ≤ ' + TARGETS.readRatio + ' on large, large-static, stdtypes)');
  o.push(table(['page', 'tw median', 'tw min', 'pw median', 'pw min', 'ratio (median)', 'tw 1st', 'pw 1st'],
    Object.entries(R.pages).filter(([, p]) => !p.error).map(([n, p]) => [n,
      ms(p.tabwright.readMs.median), ms(p.tabwright.readMs.min), ms(p.playwright.readMs.median), ms(p.playwright.readMs.min),
      fmtRatio(p.readRatio, n === 'forms' ? null : TARGETS.readRatio), ms(p.tabwright.firstReadMs), ms(p.playwright.firstReadMs)])));
  o.push('');

  o.push(`4. Click button "Save" by ref on buttons.html (ms, ${R.config.clickRuns} clicks; target ratio ≤ ${TARGETS.clickRatio})`);
  if (R.click?.error) o.push('  error: ' + R.click.error);
  else if (R.click) {
    const c = R.click;
    o.push(table(['tool', 'median', 'min', 'max', 'status not updated'], [
      ['tabwright computer left_click', ms(c.tabwright.clickMs.median), ms(c.tabwright.clickMs.min), ms(c.tabwright.clickMs.max), c.tabwright.statusNotUpdated],
      ['playwright browser_click', ms(c.playwright.clickMs.median), ms(c.playwright.clickMs.min), ms(c.playwright.clickMs.max), c.playwright.statusNotUpdated],
    ]));
    o.push(`  ratio tw/pw (median): ${fmtRatio(c.ratio, TARGETS.clickRatio)}`);
  }
  o.push('');

  const s = R.startup;
  o.push(`5. Start-up (ms, ${R.config.startupRuns} spawns; no browser: both start it on the first tool call)`);
  const srow = (label, x) => [label, ms(x.initMs.median), ms(x.initMs.min), ms(x.toolsListMs.median), ms(x.spawnToToolsListMs.median), ms(x.spawnToToolsListMs.min), x.tools];
  o.push(table(['server', 'spawn→init median', 'min', 'tools/list', 'spawn→tools median', 'min', 'tools'], [
    srow('tabwright mcp', s.tabwright), srow('playwright-mcp (node cli.js)', s.playwright), srow('playwright-mcp (npx)', s.playwrightNpx),
  ]));
  o.push(`  ratio tw/pw spawn→init (median, node cli.js): ${fmtRatio(ratio(s.tabwright.initMs.median, s.playwright.initMs.median))}`);
  const M = R.memory;
  o.push('  memory of the server process alone (VmRSS; Chromium excluded), and of its descendants (the browser) for information:');
  o.push(table(['server', 'RSS idle (after init)', 'RSS after 1st navigate', 'browser procs', 'their RSS sum', 'their PSS sum'], [
    ['tabwright', kib(M.tabwright.idle.serverRssKiB), kib(M.tabwright.afterNavigate.serverRssKiB), M.tabwright.afterNavigate.childProcesses, kib(M.tabwright.afterNavigate.childRssSumKiB), kib(M.tabwright.afterNavigate.childPssSumKiB)],
    ['playwright (node)', kib(M.playwright.idle.serverRssKiB), kib(M.playwright.afterNavigate.serverRssKiB), M.playwright.afterNavigate.childProcesses, kib(M.playwright.afterNavigate.childRssSumKiB), kib(M.playwright.afterNavigate.childPssSumKiB)],
  ]));
  o.push(`  first navigate incl. browser launch: tabwright ${ms(M.firstNavigateMs.tabwright)} ms, playwright ${ms(M.firstNavigateMs.playwright)} ms`);
  o.push('');
  if (R.leftoverProcesses.length) {
    o.push(`left-behind processes killed after their server closed: ${R.leftoverProcesses.map((p) => `${p.server}:${p.comm}(${p.pid})`).join(', ')}`);
  }
  if (R.errors.length) {
    o.push('errors:');
    for (const e of R.errors) o.push(`  ${e.where}: ${e.message}`);
  }
  o.push(`whole run (run.mjs): ${(R.wallMs / 1000).toFixed(1)} s` + (env.BENCH_T0 ? `; run.sh incl. build/install: ${((Date.now() - +env.BENCH_T0) / 1000).toFixed(1)} s` : ''));
  o.push(`results: ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'latest.json'))} (outlines in ${path.relative(process.cwd(), path.join(RESULTS_DIR, 'outlines'))}/)`);
  return o.join('\n');
}

// `node bench/run.mjs --coverage PLAYWRIGHT.txt TABWRIGHT.txt`: recompute the coverage of two
// saved outlines (bench/results/outlines/) without running anything; lists every miss.
if (process.argv[2] === '--coverage') {
  const [pwFile, twFile] = process.argv.slice(3);
  const c = coverage(fs.readFileSync(pwFile, 'utf8'), fs.readFileSync(twFile, 'utf8'), { all: true });
  console.log(JSON.stringify(c, null, 2));
  process.exit(0);
}

main().then(async (code) => {
  await closeAll();
  process.exit(code);
}, async (e) => {
  console.error('bench failed:', e.message || e);
  exiting = true;
  await closeAll();
  process.exit(1);
});
