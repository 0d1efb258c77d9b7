#!/usr/bin/env bash
# How far `sector run` gets from scratch on a lent GPU in one device command (the device
# tool allows 10 minutes a command and 15 minutes a session, start included). Three runs at
# once on the one GPU, seed 0, each starting no round after BUDGET_MIN minutes (a step waits
# on kernel launches: shared three ways it slows from 26 to about 47 ms, but three runs
# still do more a minute than one):
#   default    the default preset as shipped (on CUDA: fp32, one micro-batch a step)
#   batch256   the same with 4x the batch: a launch-bound step costs about the same
#   wide       the 4x wider model (9.5M parameters) at a learning rate of 3e-4 (it did not
#              learn at the default 1e-3 in session 10)
# Results land flat in $OUT: gpu.txt, and per run NAME.log and NAME.tgz (the run directory
# with its latest model, without the other checkpoints, optimizer, labels and data: about
# 9 MB for the default model; a model over 15 MB is left out). From the repository root:
#     OUT=/tmp/gpu bash bench/gpu_reach.sh
# A dry run of the mechanics on a CPU: DEVICE=cpu EXTRA="--preset test" BUDGET_MIN=0.1 ...
set -u
OUT=$(realpath -m "${OUT:-/tmp/gpu_reach}")
PY=${PY:-python3}
BUDGET_MIN=${BUDGET_MIN:-7.5}
RUN_TIMEOUT=${RUN_TIMEOUT:-560}
DEVICE=${DEVICE:-cuda}
EXTRA=${EXTRA:-}
WORK=$(mktemp -d)  # the run directories
. bench/gpu_common.sh

declare -A RUNS=([default]="" [batch256]="--set train.batch_size=256"
                 [wide]="--model scratch-wide --set train.lr=3e-4")
say "runs: ${!RUNS[*]}, rounds start until $BUDGET_MIN min, cut at $RUN_TIMEOUT s"
for name in "${!RUNS[@]}"; do
    # shellcheck disable=SC2086
    timeout "$RUN_TIMEOUT" $PY -m sector run --device "$DEVICE" --seed 0 --out "$WORK/$name" $EXTRA \
        ${RUNS[$name]} --set time_budget_min="$BUDGET_MIN" > "$OUT/$name.log" 2>&1 &
done
wait
say "runs ended"
for name in "${!RUNS[@]}"; do
    echo "== $name: $(cat "$WORK/$name/summary.json" 2>/dev/null || echo 'no summary (cut by the timeout?)')" \
        | tee -a "$OUT/gpu.txt"
    latest=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['checkpoint'])" \
             "$WORK/$name/state.json" 2>/dev/null)
    model="$WORK/$name/checkpoints/$latest/model.safetensors"
    if [ -n "$latest" ] && [ -f "$model" ] && [ "$(stat -c%s "$model")" -gt 15000000 ]; then
        say "$name: model over 15 MB (a returned file may hold 16 MiB), left out"
        latest=
    fi
    # shellcheck disable=SC2046
    (cd "$WORK" && tar czf "$OUT/$name.tgz" --exclude=optimizer.safetensors \
        $(ls -d "$name"/{config.json,metrics.jsonl,progress.jsonl,summary.json,state.json} "$name"/report 2>/dev/null) \
        ${latest:+"$name/checkpoints/$latest"})
done
say "done"
