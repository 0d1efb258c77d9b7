#!/usr/bin/env bash
# Two jobs side by side in one device command on a lent GPU (10 minutes a command):
#   continue  a finished run (RUN_TGZ: a tarball holding its run directory as run/) resumed
#             on the GPU for more rounds, starting none after BUDGET_MIN minutes of the run's
#             own clock (which includes its earlier wall time), on DEVICE with the batch
#             BATCH, the device's own micro-batching (one slice on a GPU) and no torch.compile.
#             (Session 15 ran it before `--resume` took these settings: the script then wrote
#             the same values into the run's config.json.)
#   lr arms   phase 1 of the default preset alone (no rounds, no anneal), one run per
#             learning rate in LRS, each cut at ARM_TIMEOUT seconds: at which step each
#             stage of the curriculum passes its gate (the CPU default's phase 1 is 40% of
#             its 2-hour budget; a step count carries over between devices, a time does not).
# Results land flat in $OUT: gpu.txt, continue.log, continue.tgz (the continued run's rows,
# summary, report and latest model, without the optimizer), lr_arms.tgz, one log per arm.
# From the repository root:
#     OUT=/tmp/gpu RUN_TGZ=.gpu/main14.tgz BUDGET_MIN=119 bash bench/gpu_continue_and_lr.sh
# A dry run of the mechanics on a CPU: DEVICE=cpu ARM_EXTRA="--preset test" ... (with a
# small run's tarball and a budget past its clock).
set -u
OUT=$(realpath -m "${OUT:-/tmp/gpu_continue}")
RUN_TGZ=$(realpath "${RUN_TGZ:?a tarball of a finished run directory, stored as run/}")
PY=${PY:-python3}
BUDGET_MIN=${BUDGET_MIN:?minutes on the run\'s own clock after which no round starts}
BATCH=${BATCH:-256}
LRS=${LRS:-0.001 0.002 0.003}
CONT_TIMEOUT=${CONT_TIMEOUT:-560}
ARM_TIMEOUT=${ARM_TIMEOUT:-330}
DEVICE=${DEVICE:-cuda}
ARM_EXTRA=${ARM_EXTRA:-}
WORK=$(mktemp -d)
THREADS=2  # four processes share 16 cores
. bench/gpu_common.sh

tar xzf "$RUN_TGZ" -C "$WORK"
say "continue: rounds start until $BUDGET_MIN min on the run's clock, batch $BATCH, cut at $CONT_TIMEOUT s"
timeout "$CONT_TIMEOUT" $PY -m sector run --resume "$WORK/run" --time-budget "$BUDGET_MIN" --device "$DEVICE" \
    --set train.batch_size="$BATCH" --set train.micro_batches=0 --set train.compile=false \
    > "$OUT/continue.log" 2>&1 &
say "lr arms: $LRS, phase 1 only, cut at $ARM_TIMEOUT s"
for lr in $LRS; do
    # shellcheck disable=SC2086
    timeout "$ARM_TIMEOUT" $PY -m sector run --device "$DEVICE" --seed 0 --out "$WORK/lr$lr" $ARM_EXTRA \
        --max-rounds 0 --set anneal_steps=0 --set final_eval_problems=100 --set train.compile=false \
        --set train.lr="$lr" > "$OUT/lr$lr.log" 2>&1 &
done
wait
say "jobs ended"
echo "== continue: $(cat "$WORK/run/summary.json" 2>/dev/null)" | tee -a "$OUT/gpu.txt"
latest=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['checkpoint'])" "$WORK/run/state.json")
# shellcheck disable=SC2046
(cd "$WORK" && tar czf "$OUT/continue.tgz" --exclude=optimizer.safetensors \
    $(ls -d run/{config.json,metrics.jsonl,progress.jsonl,summary.json,state.json} run/report 2>/dev/null) \
    "run/checkpoints/$latest")
(cd "$WORK" && tar czf "$OUT/lr_arms.tgz" $(ls -d lr*/{config.json,progress.jsonl,metrics.jsonl,summary.json} 2>/dev/null))
say "done"
