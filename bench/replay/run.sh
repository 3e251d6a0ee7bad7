#!/usr/bin/env bash
# Replay benchmark: the same Chrome DevTools Recorder JSON (fixtures/recorder/todo-flow.json, a
# 27-step sign-in + todo flow on the fixture app) replayed by `tabwright replay` and by
# @puppeteer/replay on puppeteer-core, both on /usr/bin/chromium headless with a fresh profile.
#
#   bench/replay/run.sh               # build (release), install the npm peers, 10 runs each
#   RUNS=20 bench/replay/run.sh       # more runs
#   SKIP_BUILD=1 bench/replay/run.sh  # use the existing target/release/tabwright
#
# The npm packages go to bench/replay/node_modules (git-ignored), installed at bench time.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
export TABWRIGHT_BIN="${TABWRIGHT_BIN:-$ROOT/target/release/tabwright}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
RUNS="${RUNS:-10}"
FLOW="${FLOW:-fixtures/recorder/todo-flow.json}"

say() { echo "bench/replay: $*" >&2; }
die() { echo "bench/replay: error: $*" >&2; exit 1; }

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
if ! npm install --prefix "$HERE" --no-audit --no-fund --no-package-lock --loglevel=error >"$log" 2>&1; then
  cat "$log" >&2; rm -f "$log"
  die "npm install failed (it needs the npm registry)"
fi
rm -f "$log"
[ -d "$HERE/node_modules/@puppeteer/replay" ] || die "@puppeteer/replay is missing after npm install"
[ -d "$HERE/node_modules/puppeteer-core" ] || die "puppeteer-core is missing after npm install"

work="$(mktemp -d)"
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

# The fixture server: its first stdout line is its URL.
"$TABWRIGHT_BIN" serve-fixtures --port 0 --dir fixtures >"$work/serve.out" 2>"$work/serve.err" &
server_pid=$!
for _ in $(seq 1 100); do
  [ -s "$work/serve.out" ] && break
  kill -0 "$server_pid" 2>/dev/null || die "serve-fixtures exited: $(cat "$work/serve.err")"
  sleep 0.05
done
base="$(head -n1 "$work/serve.out")"
base="${base%/}"
[ -n "$base" ] || die "serve-fixtures printed no URL"
say "fixtures at $base"

# The same concrete Recorder JSON for both (Recorder JSON has no variables).
sed "s#{{base_url}}#$base#g" "$FLOW" >"$work/flow.json"

say "versions: $("$TABWRIGHT_BIN" --version), @puppeteer/replay $(node -p "require('$HERE/node_modules/@puppeteer/replay/package.json').version"), puppeteer-core $(node -p "require('$HERE/node_modules/puppeteer-core/package.json').version"), $("$CHROMIUM" --version 2>/dev/null | head -n1), node $(node --version)"
node "$HERE/compare.mjs" "$work/flow.json" "$RUNS"
