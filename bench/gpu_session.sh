#!/usr/bin/env bash
# Everything this project measures on a lent GPU, in one command that ends inside the
# device tool's 10-minute limit (a session gets 15 minutes of device time, start included):
#   1. the environment, and the `test` preset end to end on CUDA (stop here if it breaks);
#   2. training throughput of three model sizes alone on the GPU (bench/flops.py), and
#      labelling speed ours vs generate() on the reference checkpoint (bench/label_speed.py);
#   3. `sector run` with the default preset as shipped, the same with one micro-batch a step
#      (fewer kernel launches), and the 4x wider model with one micro-batch: the three at once
#      on the one GPU, seed 0, each starting no round after RUN_MIN minutes.
# Results land flat in $OUT: gpu.txt (1 and 2), RUN.log per run, and runs.tgz (each run
# directory without its checkpoints). Run from the repository root:
#     OUT=/tmp/gpu bash bench/gpu_session.sh
set -u
OUT=${OUT:-/tmp/gpu_session}
PY=${PY:-python3}
RUN_MIN=${RUN_MIN:-5}
RUN_TIMEOUT=${RUN_TIMEOUT:-400}
DEVICE=${DEVICE:-cuda}  # cpu: a dry run of the script's mechanics
FLOPS_MODELS=${FLOPS_MODELS:-scratch scratch-wide byt5-small}
rm -rf /tmp/smoke /tmp/runs  # a rerun on the same machine starts clean
mkdir -p /tmp/runs
. bench/gpu_common.sh
say "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"

say "1. smoke: sector run --preset test --device $DEVICE"
if ! timeout 120 $PY -m sector run --preset test --device "$DEVICE" --out /tmp/smoke > /tmp/smoke.log 2>&1; then
    tail -40 /tmp/smoke.log | tee -a "$OUT/gpu.txt"
    say "smoke failed: stopping"
    exit 1
fi
tail -2 /tmp/smoke.log | tee -a "$OUT/gpu.txt"

say "2. throughput, alone on the $DEVICE"
# shellcheck disable=SC2086
timeout 80 $PY bench/flops.py --model $FLOPS_MODELS --precisions bf16 fp32 \
    --micro-batches 1 3 --batch 64 --steps 10 --device "$DEVICE" 2>&1 | tee -a "$OUT/gpu.txt"
timeout 40 $PY bench/label_speed.py docs/reach/checkpoint --digits 20 --problems 100 --repeats 1 \
    --device "$DEVICE" 2>&1 | tee -a "$OUT/gpu.txt"

say "3. runs, three at once on the GPU, rounds start until $RUN_MIN min"
declare -A RUNS=([default]="" [default_mb1]="--set train.micro_batches=1"
                 [wide_mb1]="--model scratch-wide --set train.micro_batches=1")
for name in "${!RUNS[@]}"; do
    # shellcheck disable=SC2086
    timeout "$RUN_TIMEOUT" $PY -m sector run --device "$DEVICE" --seed 0 --out "/tmp/runs/$name" ${RUNS[$name]} \
        --set time_budget_min="$RUN_MIN" > "$OUT/$name.log" 2>&1 &
done
wait
say "runs ended"
for name in "${!RUNS[@]}"; do
    echo "== $name: $(cat "/tmp/runs/$name/summary.json" 2>/dev/null || echo 'no summary (stopped by timeout?)')" | tee -a "$OUT/gpu.txt"
done
tar czf "$OUT/runs.tgz" -C /tmp/runs --exclude=checkpoints .
say "done"
