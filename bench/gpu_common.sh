# Sourced by the bench/gpu_*.sh scripts, after they set OUT, PY and perhaps THREADS (CPU
# threads a process, default 4): makes $OUT, defines `say` (a timestamped line, also
# appended to $OUT/gpu.txt), and logs the GPU and the library versions first.
mkdir -p "$OUT"
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1 OMP_NUM_THREADS=${THREADS:-4}
say() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/gpu.txt"; }

say "start"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv 2>&1 | tee -a "$OUT/gpu.txt"
$PY -c "import torch, transformers; print('torch', torch.__version__, '| transformers', transformers.__version__)" \
    2>&1 | tee -a "$OUT/gpu.txt"
