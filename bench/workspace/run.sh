#!/usr/bin/env bash
# Workspace tools vs their peers (ripgrep, plain bash) and WebFetch's conversion time.
# Installs ripgrep and python3.11-doc (the large docs page) when missing and running as root.
set -euo pipefail
cd "$(dirname "$0")/../.."
need=()
command -v rg >/dev/null 2>&1 || need+=(ripgrep)
[ -f /usr/share/doc/python3.11/html/library/stdtypes.html ] || need+=(python3.11-doc)
command -v bwrap >/dev/null 2>&1 || need+=(bubblewrap)
if ((${#need[@]})) && [ "$(id -u)" -eq 0 ]; then
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
cargo build --release -q -p tabwright
cargo run --release -q -p tabwright-e2e --example workspace_bench
# The same `true` under the fallback used where bubblewrap cannot run.
TABWRIGHT_SANDBOX_BACKEND=landlock ONLY=bash \
  cargo run --release -q -p tabwright-e2e --example workspace_bench
