#!/usr/bin/env bash
# Builds (release) and runs the CDP transport comparison: chromiumoxide 0.9.1 vs a bare
# tokio-tungstenite client, on one headless Chromium, 300 small and 30 1-MB evaluations each.
set -euo pipefail
cd "$(dirname "$0")"
command -v chromium >/dev/null || { echo "bench/cdp: chromium is not installed" >&2; exit 1; }
cargo build --release -q
./target/release/cdp-transport-bench
