#!/usr/bin/env bash
# QA-at-scale benchmark: a suite of 40 flows (the shipped demo shortcut, with variables,
# repeated) replayed by `tabwright replay DIR` with --jobs 1, 2 and 4 on one browser (a
# context per flow), and the same flows as Recorder JSON replayed by @puppeteer/replay one file
# after another (the peer has no suite runner). Prints wall times, ratios and the browser
# memory per parallel flow.
#
#   bench/qa/run.sh                 # build (release), install the npm peers, run
#   FLOWS=20 bench/qa/run.sh        # a smaller suite
#   SKIP_BUILD=1 bench/qa/run.sh    # use the existing target/release/tabwright
#
# The npm packages go to bench/replay/node_modules (git-ignored), installed at bench time.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
export TABWRIGHT_BIN="${TABWRIGHT_BIN:-$ROOT/target/release/tabwright}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
export FLOWS="${FLOWS:-40}"

say() { echo "bench/qa: $*" >&2; }
die() { echo "bench/qa: error: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (node 20+ needed)"
command -v npm >/dev/null || die "npm is not installed"
[ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM"
if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "cargo build --release -p tabwright"
  cargo build --release -p tabwright --quiet || die "cargo build failed"
fi
[ -x "$TABWRIGHT_BIN" ] || die "no tabwright binary at $TABWRIGHT_BIN"
say "npm install --prefix bench/replay"
log="$(mktemp)"
if ! npm install --prefix "$ROOT/bench/replay" --no-audit --no-fund --no-package-lock --loglevel=error >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  die "npm install failed (it needs the npm registry)"
fi
rm -f "$log"
node "$HERE/suite.mjs"
