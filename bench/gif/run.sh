#!/usr/bin/env bash
# GIF encoder benchmark: Tabwright's encoder vs gifski (npm package, AGPL: installed here at
# bench time into bench/gif/node_modules, run as a separate program, never committed or linked)
# on the same recording: FRAMES real 1280x800 screenshots of fixture pages taken in Chromium.
#
#   bench/gif/run.sh                      # capture, encode with both, print the table
#   KEEP_FRAMES=1 bench/gif/run.sh        # reuse bench/gif/results/frames from the last run
#   RUNS=5 WIDTH=800 bench/gif/run.sh     # more runs (best of RUNS is reported), other width
#
# Output: a table on stdout and bench/gif/results/latest.json.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"
FRAMES="${FRAMES:-60}"
WIDTH="${WIDTH:-1280}"
QUALITY="${QUALITY:-10}"
RUNS="${RUNS:-3}"
RES="$HERE/results"
DIR="$RES/frames"
BIN="$ROOT/target/release/examples/gif_bench"
GIFSKI="$HERE/node_modules/gifski/bin/debian/gifski"

say() { echo "gif-bench: $*" >&2; }
die() { echo "gif-bench: error: $*" >&2; exit 1; }
now_ms() { date +%s%3N; }

command -v npm >/dev/null || die "npm is not installed"
[ -x /usr/bin/chromium ] || [ -n "${CHROME:-}" ] || die "no Chromium at /usr/bin/chromium"

say "cargo build --release --example gif_bench"
cargo build --release -p tabwright --example gif_bench --quiet || die "cargo build failed"

if [ ! -x "$GIFSKI" ]; then
  say "npm install gifski (into bench/gif/node_modules)"
  (cd "$HERE" && npm install --no-audit --no-fund --silent) || die "npm install failed"
fi
[ -x "$GIFSKI" ] || die "the gifski package has no Linux binary at $GIFSKI"

mkdir -p "$RES"
if [ "${KEEP_FRAMES:-}" != 1 ] || [ ! -f "$DIR/times.txt" ]; then
  rm -rf "$DIR"
  say "capturing $FRAMES frames in Chromium"
  "$BIN" capture "$DIR" "$FRAMES" >&2
fi
N=$(ls "$DIR"/frame-*.png | wc -l)
read -r W H < <(python3 - "$DIR/frame-000.png" <<'EOF'
import struct, sys
b = open(sys.argv[1], 'rb').read(24)
print(*struct.unpack('>II', b[16:24]))
EOF
)
LAST_MS=$(tail -1 "$DIR/times.txt")
# gifski takes one frame rate: the recording's mean (frames over its real length).
FPS=$(python3 -c "print(max(1, round(($N - 1) * 1000 / max(1, $LAST_MS))))")
OUT_H=$(( H * WIDTH / W ))
say "$N frames of ${W}x${H}, ${LAST_MS} ms; output ${WIDTH}x${OUT_H}; gifski --fps $FPS"

best_tw=""; best_gs=""; tw_json=""
for i in $(seq 1 "$RUNS"); do
  t0=$(now_ms)
  tw_json=$("$BIN" encode "$DIR" "$RES/tabwright.gif" "$WIDTH" "$QUALITY")
  t1=$(now_ms)
  "$GIFSKI" --quiet --fps "$FPS" --width "$WIDTH" --height "$OUT_H" -o "$RES/gifski.gif" "$DIR"/frame-*.png
  t2=$(now_ms)
  tw=$((t1 - t0)); gs=$((t2 - t1))
  say "run $i: tabwright ${tw} ms, gifski ${gs} ms"
  if [ -z "$best_tw" ] || [ "$tw" -lt "$best_tw" ]; then best_tw=$tw; fi
  if [ -z "$best_gs" ] || [ "$gs" -lt "$best_gs" ]; then best_gs=$gs; fi
done

tw_q=$("$BIN" compare "$RES/tabwright.gif" "$DIR")
gs_q=$("$BIN" compare "$RES/gifski.gif" "$DIR")
tw_size=$(stat -c %s "$RES/tabwright.gif")
gs_size=$(stat -c %s "$RES/gifski.gif")

python3 - "$best_tw" "$best_gs" "$tw_size" "$gs_size" "$tw_json" "$tw_q" "$gs_q" "$N" "$WIDTH" "$OUT_H" "$FPS" "$RES/latest.json" <<'EOF'
import json, sys, subprocess, datetime, platform
tw_ms, gs_ms, tw_b, gs_b = map(int, sys.argv[1:5])
tw, twq, gsq = (json.loads(a) for a in sys.argv[5:8])
n, w, h, fps, out = sys.argv[8], sys.argv[9], sys.argv[10], sys.argv[11], sys.argv[12]
def ver(cmd):
    try: return subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()[0]
    except Exception: return "?"
cpu = "?"
try:
    cpu = next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
except Exception: pass
rows = [
    ("tabwright", tw_ms, tw_b, twq["mean_psnr_db"], twq["worst_psnr_db"], twq["gif_frames"]),
    ("gifski", gs_ms, gs_b, gsq["mean_psnr_db"], gsq["worst_psnr_db"], gsq["gif_frames"]),
]
print(f"{n} frames -> {w}x{h} GIF (gifski --fps {fps}); best of runs, wall clock incl. reading PNGs")
print(f"{'encoder':<10} {'time':>9} {'size':>11} {'PSNR mean':>10} {'PSNR min':>9} {'frames':>7}")
for name, ms, b, pm, pw, fr in rows:
    print(f"{name:<10} {ms/1000:>8.2f}s {b/1024:>9.1f}KB {pm:>9.2f}dB {pw:>8.2f}dB {fr:>7}")
print(f"ratios tabwright/gifski: time {tw_ms/max(gs_ms,1):.3f}x (target <= 0.5), size {tw_b/max(gs_b,1):.3f}x (target <= 1.5)")
json.dump({
    "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    "machine": {"cpu": cpu, "cores": __import__("os").cpu_count(), "kernel": platform.release()},
    "versions": {"rustc": ver(["rustc", "--version"]), "chromium": ver(["/usr/bin/chromium", "--version"]),
                 "gifski": ver(["bench/gif/node_modules/gifski/bin/debian/gifski", "--version"])},
    "frames": int(n), "width": int(w), "height": int(h), "gifski_fps": int(fps),
    "tabwright": {"ms": tw_ms, "bytes": tw_b, **twq, "encoder": tw},
    "gifski": {"ms": gs_ms, "bytes": gs_b, **gsq},
    "ratio_time": round(tw_ms / max(gs_ms, 1), 4), "ratio_size": round(tw_b / max(gs_b, 1), 4),
}, open(out, "w"), indent=2)
EOF
