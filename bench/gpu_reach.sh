#!/usr/bin/env bash
# How far `sector run` gets from scratch on a lent GPU: one run (the gpu preset by default)
# that outlives a single device command. The device tool stops a command after 10 minutes,
# a lease has 15 minutes of device time, and a run to 30 digits on an H200 takes about 12.
# So the run starts detached with setsid (it lives on while the machine stays warm)
# and two commands watch it:
#
#   OUT=DIR bash bench/gpu_reach.sh start     # starts the run, watches it for WATCH_S seconds
#   OUT=DIR bash bench/gpu_reach.sh collect   # the next command, at once: watches until it ends
#
# Every SNAP_S seconds the run directory (without data and checkpoints) and its log land in
# OUT/run.tgz, so what a command's limit cuts off still comes back; once the run has ended,
# its final model too (OUT/model.tgz). OUT/gpu.txt logs the GPU, the library versions and
# each step; OUT/smi.csv the GPU's utilisation every 10 s.
#
#   RUN_MIN=10.5    the run's time budget: it passes --set rounds.time_budget_min=RUN_MIN, so
#                   no round starts that would end after it (then the anneal and the final
#                   evaluation)
#   ARGS="..."      more flags for `sector run`, e.g. ARGS="--model scratch-wide --set train.lr=3e-4"
#   PRESET=gpu DEVICE=cuda SEED=0 PY=python3 THREADS=4 (CPU threads) WATCH_S=570 SNAP_S=15
#   W=/tmp/gpu_reach  the run directory, its log and a frozen copy of the code, outside the
#                   synced tree (the next command re-syncs the repository under the run)
# A dry run of the mechanics on a CPU: DEVICE=cpu PRESET=test OUT=/tmp/dry bash bench/gpu_reach.sh start
# Results: docs/RESULTS.md, "GPU"; records in docs/runs/gpu_h200_from_scratch.
set -u
usage() { sed -n '2,/^set -u/{/^set -u/d;s/^# \{0,1\}//;p}' "$0"; }
case "${1:-}" in
  start | collect) MODE=$1 ;;
  -h | --help) usage; exit 0 ;;
  *) usage >&2; exit 2 ;;
esac
OUT=$(realpath -m "${OUT:-/tmp/gpu_reach_out}")
PY=${PY:-python3}
PRESET=${PRESET:-gpu}
DEVICE=${DEVICE:-cuda}
SEED=${SEED:-0}
ARGS=${ARGS:-}
RUN_MIN=${RUN_MIN:-10.5}
WATCH_S=${WATCH_S:-570}
SNAP_S=${SNAP_S:-15}
W=${W:-/tmp/gpu_reach}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${THREADS:-4}
say() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/gpu.txt"; }
snapshot() {
  tar czf "$OUT/run.tgz.part" -C "$W" --exclude=run/data --exclude=run/checkpoints run run.log 2>/dev/null &&
    mv "$OUT/run.tgz.part" "$OUT/run.tgz" || rm -f "$OUT/run.tgz.part"
}
running() { [ -f "$W/pid" ] && kill -0 "$(cat "$W/pid")" 2>/dev/null; }

say "$MODE"
if [ "$MODE" = start ]; then
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$OUT/gpu.txt"
  $PY -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__)" \
    2>&1 | tee -a "$OUT/gpu.txt"
  rm -rf "$W" && mkdir -p "$W/src"
  cp -r sector "$W/src/"
  say "sector run --preset $PRESET --device $DEVICE --seed $SEED $ARGS, rounds until $RUN_MIN min"
  # The pid is written from inside the detached process group: a wrapper's pid dies with the command
  # that started it, which would read as the run's end.
  # shellcheck disable=SC2086
  (cd "$W/src" && PYTHONPATH="$W/src" setsid sh -c 'echo $$ > "$0"; exec "$@"' "$W/pid" \
    $PY -m sector run --preset "$PRESET" --device "$DEVICE" --seed "$SEED" --out "$W/run" \
    --set rounds.time_budget_min="$RUN_MIN" $ARGS > "$W/run.log" 2>&1 < /dev/null &)
  for _ in $(seq 100); do [ -s "$W/pid" ] && break; sleep 0.1; done
  nohup nvidia-smi --query-gpu=timestamp,utilization.gpu,memory.used --format=csv -l 10 \
    > "$W/smi.csv" 2>/dev/null < /dev/null &
fi

begun=$SECONDS
while running && [ $((SECONDS - begun)) -lt "$WATCH_S" ]; do
  sleep "$SNAP_S"
  snapshot
  tail -1 "$W/run.log" | cut -c1-200
done
snapshot
cp "$W/smi.csv" "$OUT/" 2>/dev/null
if running; then
  say "$MODE: the run goes on ($((SECONDS - begun)) s watched)"
else
  say "$MODE: the run has ended"
  tail -5 "$W/run.log"
  cat "$W/run/summary.json" 2>/dev/null
  final=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['checkpoint'])" "$W/run/summary.json" 2>/dev/null)
  [ -n "$final" ] && tar czf "$OUT/model.tgz" -C "$W/run/$final" --exclude='optimizer*' .
fi
ls -la "$OUT"
