#!/usr/bin/env bash
# The GPU path in one run of about 5 minutes on one card (no snakemake, no gensim: the package is called
# directly). Needs the demo corpus split (results/corpus/enwiki/*.parquet) next to it. Writes under
# ${OUT:-benchmarks/measurements/gpu_check}:
#   1. the throughput benchmark of every family of configs/full.yaml at 8192-byte windows, 4 per
#      micro-batch and 8 micro-batches per step (256 KiB per optimizer step), bf16, eager; then the flat
#      byte transformer and HAT again compiled, where compilation should pay; and the collation alone of
#      every family at configs/full.yaml's shape, on one thread of the host;
#   2. a short bf16 training of the byte transformer and HAT through the real training loop: killed once
#      its first rolling checkpoint is on disk, then rerun, which must resume from it and finish.
# Usage: bash benchmarks/gpu_check.sh   (PYTHON=... the interpreter; DEVICE=cpu CONFIG=tests/tiny_config.yaml
# CONTEXT=64 rehearses part 2 on a CPU, without part 1)
set -euo pipefail
PY=${PYTHON:-python3}
OUT=${OUT:-benchmarks/measurements/gpu_check}
CORPUS=${CORPUS:-results/corpus/enwiki}
DEVICE=${DEVICE:-cuda}
CONFIG=${CONFIG:-configs/full.yaml}
CONTEXT=${CONTEXT:-8192}
export PYTHONPATH=src${PYTHONPATH:+:$PYTHONPATH}
mkdir -p "$OUT"
if [ "$DEVICE" = cuda ]; then
nvidia-smi --query-gpu=name,memory.total --format=csv | tee "$OUT/gpu.txt"
echo "== 1. throughput, 8192-byte windows, 256 KiB per step"
$PY -m byteword.bench --gpu --corpus "$CORPUS/train.parquet" --config configs/full.yaml --context-bytes 8192 \
    --batch-size 4 --accum-steps 8 --blocks 2 --steps 1 --generate-bytes 16 --out "$OUT" 2>&1 | tee "$OUT/bench.log"
$PY -m byteword.bench --gpu --corpus "$CORPUS/train.parquet" --config configs/full.yaml --context-bytes 8192 \
    --batch-size 4 --accum-steps 8 --blocks 2 --steps 1 --generate-bytes 4 --families bytes hat --compile \
    --out "$OUT" 2>&1 | tee "$OUT/bench_compile.log"
$PY -m byteword.bench --collation-only --corpus "$CORPUS/train.parquet" --config configs/full.yaml --out "$OUT" \
    2>&1 | tee "$OUT/collation.log"
fi

echo "== 2. bf16 training with a checkpoint and a resume"
for model in bytes hat; do
  # 20 steps of 16 windows (2 micro-batches of 8), a checkpoint every 4 steps, validation twice
  spec=$($PY - "$CONFIG" "$model" "$CONTEXT" <<'PYTHON'
import json, sys, yaml
config, name, context = sys.argv[1], sys.argv[2], int(sys.argv[3])
entry = yaml.safe_load(open(config))["models"][name]
training = {"context_bytes": context, "batch_size": 16, "grad_accum_steps": 2, "train_bytes": 20 * 16 * context,
            "eval_every_bytes": 10 * 16 * context, "eval_bytes": 8 * context, "checkpoint_every_steps": 4,
            "precision": "bf16", "lr": 0.001}
print(json.dumps({"experiment": "gpu_check", "corpus": "enwiki", "model_name": name, "model": entry,
                  "training": training}))
PYTHON
)
  args=(train --spec "$spec" --seed 0 --corpus-dir "$CORPUS" --out-dir "$OUT/train/$model"
        --checkpoint-dir "$OUT/checkpoints/$model" --device "$DEVICE")
  rm -rf "$OUT/checkpoints/$model" "$OUT/train/$model"  # a checkpoint left by an earlier try would fake the resume
  $PY -m byteword "${args[@]}" > "$OUT/train_${model}_first.log" 2>&1 &
  pid=$!
  for _ in $(seq 600); do  # kill the first run once a checkpoint has been written (or it has ended)
    [ -f "$OUT/checkpoints/$model/model.safetensors" ] && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.2
  done
  kill -9 $pid 2>/dev/null || true
  wait $pid 2>/dev/null || true
  $PY -m byteword "${args[@]}" > "$OUT/train_${model}_resumed.log" 2>&1
  grep -E "resumed from|valid_bpb" "$OUT/train_${model}_resumed.log" | tail -4
done
echo "== done"
