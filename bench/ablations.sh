#!/usr/bin/env bash
# The reviewers' ablations of the method, each arm forked from one finished phase 1
# (bench/fork_after_phase1.py: same model, same pools, a fresh AdamW) and run for the same
# round budget:
#   control        S&G (K=5) + commutativity + split check: the default preset
#   nocheck        S&G alone: no filter
#   fast           FAST's own answer as the label (no chain of thought), with the filters
#   fast_nocheck   FAST's own answer, no filter: plain self-distillation
#   fast_nostop    FAST's own answer with the filters, trained on whatever they accept,
#                  however little (the stop rule off)
#   k1             S&G with K=1: one SLOW step, then FAST
#   k3             S&G with K=3
#   oneshot        no rounds: the phase-1 model labels 7..(6+ROUNDS) digits at once with the
#                  whole SLOW chain (the chain labeller), the filters on, and trains once
# Ground truth scores the labels and the models afterwards (labels/*.eval.jsonl, the final
# evaluation); it chooses nothing.
#
#   bash bench/ablations.sh SOURCE_RUN OUT_DIR [ARM ...]   (default: control nocheck fast
#                                                           fast_nocheck k1 oneshot, in turn)
#   EXTRA="seed=1" bash bench/ablations.sh ...   settings (KEY=VALUE) added to every arm: here
#                                                the rounds draw other problems and batches
#   ROUNDS=8 ROUND_MIN=14 PY=python              rounds an arm may run (lengths 7..6+ROUNDS),
#                                                minutes of rounds it may start, the Python
# SOURCE_RUN is a run directory of the default preset with its checkpoints/phase1. Each arm:
# OUT_DIR/ARM (a run directory) and OUT_DIR/ARM.log. Summarise with
#   python bench/ablation_table.py OUT_DIR/*/   and   python bench/round_table.py OUT_DIR/ARM
# Results: docs/RESULTS.md, "The reviewers' ablations"; records in docs/runs/ablations.
set -euo pipefail
usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
case "${1:-}" in -h|--help) usage; exit 0 ;; esac
[ $# -ge 2 ] || { usage >&2; exit 2; }
SOURCE=$1 OUT=$2; shift 2
ARMS=("$@"); [ ${#ARMS[@]} -gt 0 ] || ARMS=(control nocheck fast fast_nocheck k1 oneshot)
ROUNDS=${ROUNDS:-8}
ROUND_MIN=${ROUND_MIN:-14}
PY=${PY:-python}
common=(--set rounds.max_rounds="$ROUNDS" --set rounds.time_budget_min=0 --set anneal.steps=0
        --set eval.final_problems=500)
declare -A SETTINGS=(
  [control]=""
  [nocheck]="rounds.filters=[]"
  [fast]="rounds.labeller=fast"
  [fast_nocheck]="rounds.labeller=fast rounds.filters=[]"
  [fast_nostop]="rounds.labeller=fast rounds.stop_acceptance=0"
  [k1]="rounds.sng_k=1"
  [k3]="rounds.sng_k=3"
  [oneshot]="rounds.labeller=chain rounds.lengths=$ROUNDS rounds.max_rounds=1 rounds.stop_acceptance=0 rounds.max_steps=1600"
)
for arm in "${ARMS[@]}"; do
  [ -n "${SETTINGS[$arm]+set}" ] || { echo "unknown arm $arm (${!SETTINGS[*]})" >&2; exit 2; }
done
mkdir -p "$OUT"
for arm in "${ARMS[@]}"; do
  sets=("${common[@]}")
  for s in ${SETTINGS[$arm]} ${EXTRA:-}; do sets+=(--set "$s"); done
  rm -rf "${OUT:?}/$arm"
  $PY bench/fork_after_phase1.py "$SOURCE" "$OUT/$arm" "${sets[@]}" > "$OUT/$arm.log"
  # The time budget may change on resume; the fork's clock starts at the source's phase-1 time.
  budget=$($PY -c "import json, sys; print(json.load(open(sys.argv[1]))['wall_s'] / 60 + $ROUND_MIN)" \
    "$OUT/$arm/state.json")
  $PY -m sector run --resume "$OUT/$arm" --set rounds.time_budget_min="$budget" >> "$OUT/$arm.log" 2>&1
  echo "$arm done $(date -u +%T)"
done
