#!/usr/bin/env bash
# One `sector run --preset gpu` from scratch that outlives a single device command: the
# device tool stops a command after 10 minutes, a session has 15 minutes of device time,
# and a run to 30 digits on an H200 takes about 12. So the run starts in its own process
# session (it lives on while the machine stays warm) and two commands watch it:
#
#     OUT=$OUT bash bench/gpu_reach30.sh start     # starts the run, watches for WATCH_S seconds
#     OUT=$OUT bash bench/gpu_reach30.sh collect   # the next call, at once: watches until it ends
#
# Every SNAP_S seconds the run directory (without data and checkpoints) and its log land in
# $OUT/run.tgz, so what a command's limit cuts off still comes back; once the run has
# ended, its final model too ($OUT/model.tgz). RUN_MIN is the run's time budget: no round
# starts that would end after it, at the last round's pace (then the anneal and the final
# evaluation). ARGS adds flags to `sector run` (say ARGS="--model scratch-wide"). DEVICE=cpu
# PRESET=test is a dry run of the mechanics.
set -u
MODE=${1:?start or collect}
OUT=${OUT:-/tmp/gpu_reach30}
PY=${PY:-python3}
PRESET=${PRESET:-gpu}
DEVICE=${DEVICE:-cuda}
SEED=${SEED:-0}
ARGS=${ARGS:-}
RUN_MIN=${RUN_MIN:-10.5}
WATCH_S=${WATCH_S:-570}
SNAP_S=${SNAP_S:-15}
W=${W:-/tmp/reach30}  # the run directory, its log and a frozen copy of the code, outside the synced tree
. bench/gpu_common.sh

snapshot() {
    tar czf "$OUT/run.tgz.part" -C "$W" --exclude=run/data --exclude=run/checkpoints run run.log 2>/dev/null &&
        mv "$OUT/run.tgz.part" "$OUT/run.tgz" || rm -f "$OUT/run.tgz.part"
}
running() { [ -f "$W/pid" ] && kill -0 "$(cat "$W/pid")" 2>/dev/null; }

if [ "$MODE" = start ]; then
    rm -rf "$W" && mkdir -p "$W/src"
    cp -r sector "$W/src/"  # the next call re-syncs the repository under the running process
    say "start: sector run --preset $PRESET --device $DEVICE --seed $SEED $ARGS, rounds until $RUN_MIN min"
    # The pid is written from inside the new session: a wrapper's pid dies with the command
    # that started it (session 23's first try read that as the run's end).
    (cd "$W/src" && PYTHONPATH="$W/src" setsid sh -c 'echo $$ > "$0"; exec "$@"' "$W/pid" \
        $PY -m sector.cli run --preset "$PRESET" --device "$DEVICE" --seed "$SEED" --out "$W/run" \
        --set time_budget_min="$RUN_MIN" $ARGS > "$W/run.log" 2>&1 < /dev/null &)
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
