#!/usr/bin/env bash
# The reviewers' ablations of the loop, each arm forked from one finished phase 1 (same
# model, same pools, a fresh AdamW) and run for the same round budget:
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
# Ground truth scores the labels and the models afterwards (labels/*.eval.jsonl, the
# final evaluation); it chooses nothing.
#
#   bash bench/ablations.sh SOURCE_RUN OUT_DIR [ARM ...]    (default: all arms, in that order)
#   EXTRA="seed=1" bash bench/ablations.sh ...    (settings added to every arm: here the
#                                                  rounds draw other problems and batches)
# Each arm: OUT_DIR/ARM (a run directory) and OUT_DIR/ARM.log. Summarise with
#   python bench/ablation_table.py OUT_DIR/*/   and   python bench/round_table.py OUT_DIR/ARM
set -euo pipefail
SOURCE=$1 OUT=$2; shift 2
ARMS=("$@"); [ ${#ARMS[@]} -gt 0 ] || ARMS=(control nocheck fast fast_nocheck k1 oneshot)
ROUNDS=${ROUNDS:-8}          # rounds an arm may run (lengths 7..6+ROUNDS)
ROUND_MIN=${ROUND_MIN:-14}   # and minutes of rounds it may start (the run's clock includes phase 1)
common=(--set max_rounds=$ROUNDS --set time_budget_min=0 --set anneal_steps=0 --set final_eval_problems=500)
declare -A SETTINGS=(
  [control]=""
  [nocheck]="filters=[]"
  [fast]="labeller=fast"
  [fast_nocheck]="labeller=fast filters=[]"
  [fast_nostop]="labeller=fast stop_acceptance=0"
  [k1]="sng_k=1"
  [k3]="sng_k=3"
  [oneshot]="labeller=chain round_lengths=$ROUNDS max_rounds=1 stop_acceptance=0 round_max_steps=1600"
)
mkdir -p "$OUT"
for arm in "${ARMS[@]}"; do
  sets=("${common[@]}")
  for s in ${SETTINGS[$arm]} ${EXTRA:-}; do sets+=(--set "$s"); done
  rm -rf "${OUT:?}/$arm"
  python bench/fork_after_phase1.py "$SOURCE" "$OUT/$arm" "${sets[@]}" > "$OUT/$arm.log"
  # The time budget is a resume setting; the fork's clock starts at the source's phase-1 time.
  budget=$(python -c "import json, sys; print(json.load(open(sys.argv[1]))['wall_s'] / 60 + $ROUND_MIN)" \
    "$OUT/$arm/state.json")
  python -m sector.cli run --resume "$OUT/$arm" --set time_budget_min=$budget >> "$OUT/$arm.log" 2>&1
  echo "$arm done $(date -u +%T)"
done
