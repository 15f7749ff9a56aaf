#!/usr/bin/env bash
# The prepared GPU check of issue 21 (item 5): spectra per second of the shipped models on
# the device tool's GPU machine, Gaia XP and APOGEE, by batch size, through Model.predict.
#
# Here, once per machine:   bash benchmarks/gpu/fetch_wheels.sh        (fills .whl/, ~23 MB)
# Then one device call:     run(command="bash benchmarks/gpu/check.sh", carry=[".whl"],
#                               timeout_s=480)
# It takes about 3-5 minutes there. Its tables come back under $OUT (xp/, apogee/):
# copy them to benchmarks/results/ as shipped_throughput_cuda_xp.* and _apogee.* and commit
# them with the command. Every step runs even if one before it failed; see $OUT/*.log.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
OUT=${OUT:-/tmp/specfm-gpu-check}
mkdir -p "$OUT/xp" "$OUT/apogee"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl || { echo "check.sh: installing the wheels failed"; exit 1; }
export PYTHONPATH="/tmp/site:$PWD" PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv | tee "$OUT/gpu.txt"
python3 -c "import torch, specfm; print('torch', torch.__version__, 'cuda',
torch.cuda.is_available(), 'specfm', specfm.__version__)" 2>&1 | tee "$OUT/versions.log"
threads=$(nproc)
# Gaia XP (343 pixels, with colours for specfm-xp): the network is most of the work.
timeout 200 python3 benchmarks/speed.py shipped --device cuda --sizes xp \
    --batch 256 1024 4096 --n-spectra 32768 --repeats 3 --threads "$threads" \
    --output-dir "$OUT/xp" 2>&1 | tee "$OUT/xp.log"
# APOGEE apStar (8575 pixels): fewer spectra, since tokenising runs on the CPU.
timeout 200 python3 benchmarks/speed.py shipped --device cuda --sizes apogee \
    --batch 64 256 1024 --n-spectra 2048 --repeats 2 --threads "$threads" \
    --output-dir "$OUT/apogee" 2>&1 | tee "$OUT/apogee.log"
ls -lR "$OUT"
