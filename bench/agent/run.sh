#!/usr/bin/env bash
# Agent loop benchmark: loop overhead per step (model and tool time excluded) and tokens sent
# per step on a multi-step form task versus a full page snapshot after every action.
# Needs cargo and Chromium (/usr/bin/chromium or on PATH); no network, no API key: the model
# is the scripted server of tabwright::testing on 127.0.0.1, speaking Anthropic's SSE format.
#
#   bench/agent/run.sh            # build (release) and run
#   STEPS=1000 bench/agent/run.sh # more steps for the overhead figure
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
cargo build --release -p tabwright --example agent_bench --features test-support --quiet
exec "$ROOT/target/release/examples/agent_bench"
