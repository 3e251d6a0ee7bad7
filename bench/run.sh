#!/usr/bin/env bash
# Tabwright vs Playwright MCP benchmark: builds tabwright (release) if needed, installs the npm
# peers into bench/node_modules, starts the fixture servers, runs bench/run.mjs, stops the
# servers. Output: a table on stdout and bench/results/latest.json.
#
#   bench/run.sh                 # everything
#   SKIP_BUILD=1 bench/run.sh    # use the existing target/release/tabwright
#   RUNS=3 CLICK_RUNS=5 bench/run.sh   # quicker, noisier (see run.mjs for all knobs)
set -euo pipefail

export BENCH_T0=$(date +%s%3N)
BENCH="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH/.." && pwd)"
cd "$ROOT"
export TABWRIGHT_BIN="${TABWRIGHT_BIN:-$ROOT/target/release/tabwright}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
DOCS_DIR="${DOCS_DIR:-/usr/share/doc/python3.11/html}"

say() { echo "bench: $*" >&2; }
die() { echo "bench: error: $*" >&2; exit 1; }

command -v node >/dev/null || die "node is not installed (node 20+ needed)"
command -v npm >/dev/null || die "npm is not installed"
[ -x "$CHROMIUM" ] || die "no Chromium at $CHROMIUM (apt-get install -y chromium, or set CHROMIUM)"

# 1. tabwright, release build (cargo does nothing when it is up to date).
if [ "${SKIP_BUILD:-}" != 1 ]; then
  say "cargo build --release -p tabwright"
  cargo build --release -p tabwright --quiet || die "cargo build failed"
fi
[ -x "$TABWRIGHT_BIN" ] || die "no tabwright binary at $TABWRIGHT_BIN"

# 2. the npm peers (bench/package.json), into bench/node_modules.
say "npm install --prefix bench"
npm_log="$(mktemp)"
if ! npm install --prefix "$BENCH" --no-audit --no-fund --loglevel=error >"$npm_log" 2>&1; then
  cat "$npm_log" >&2
  rm -f "$npm_log"
  die "npm install --prefix bench failed (see above). It needs the npm registry; check the network/proxy and npm config, then run it by hand."
fi
rm -f "$npm_log"
[ -f "$BENCH/node_modules/@playwright/mcp/cli.js" ] || die "npm install finished but @playwright/mcp is missing from bench/node_modules"
[ -d "$BENCH/node_modules/@modelcontextprotocol/sdk" ] || die "npm install finished but @modelcontextprotocol/sdk is missing from bench/node_modules"

# 3. the python docs page (Debian's python3.11-doc), served over http for both tools
#    (Playwright MCP blocks file:// URLs by default).
if [ ! -f "$DOCS_DIR/library/stdtypes.html" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing python3.11-doc for stdtypes.html"
    (apt-get install -y -q python3.11-doc >/dev/null 2>&1 || { apt-get update -q >/dev/null 2>&1 && apt-get install -y -q python3.11-doc >/dev/null 2>&1; }) \
      || say "could not install python3.11-doc: stdtypes.html will be skipped"
  else
    say "no $DOCS_DIR/library/stdtypes.html (apt-get install python3.11-doc): it will be skipped"
  fi
fi

# 4. fixture servers (port 0 = any free port; the URL is the first line on stdout).
PIDS=()
LOGS=()
NODE_PID=""
cleanup() {
  local pid
  # run.mjs closes its MCP servers (and their browsers) on SIGTERM
  if [ -n "$NODE_PID" ] && kill -0 "$NODE_PID" 2>/dev/null; then
    kill -TERM "$NODE_PID" 2>/dev/null || true
    wait "$NODE_PID" 2>/dev/null || true
  fi
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && wait "$pid" 2>/dev/null || true
  done
  rm -f "${LOGS[@]:-}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_server DIR VAR: starts a server for DIR in this shell (so cleanup knows its pid) and
# stores its URL in VAR.
start_server() {
  local dir="$1" var="$2" log pid url=""
  log="$(mktemp)"
  LOGS+=("$log")
  "$TABWRIGHT_BIN" serve-fixtures --port 0 --dir "$dir" >"$log" 2>&1 &
  pid=$!
  PIDS+=("$pid")
  local i
  for i in $(seq 1 100); do
    url="$(grep -m1 '^http' "$log" || true)"
    [ -n "$url" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if [ -z "$url" ]; then cat "$log" >&2; return 1; fi
  printf -v "$var" '%s' "$url"
}

start_server "$ROOT/fixtures" FIXTURES_URL || die "the fixture server did not start"
export FIXTURES_URL
say "fixtures at $FIXTURES_URL"
if [ -f "$DOCS_DIR/library/stdtypes.html" ]; then
  start_server "$DOCS_DIR" DOCS_URL || die "the docs server did not start"
  export DOCS_URL
  say "python docs at $DOCS_URL"
fi

# 5. the benchmark.
node "$BENCH/run.mjs" &
NODE_PID=$!
set +e
wait "$NODE_PID"
rc=$?
set -e
NODE_PID=""
exit $rc
