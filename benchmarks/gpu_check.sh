#!/usr/bin/env bash
# The whole GPU check in one run: the gpu-marked tests, then the GPU benchmarks, then
# a Markdown summary (summary.md) with the logs beside it.
#
#   bash benchmarks/gpu_check.sh [OUTPUT_FOLDER]      # from the repository root
#
# OUTPUT_FOLDER defaults to $OUT, else ./gpu_check_out. Nothing is installed: the
# machine needs Python with numpy, scipy, pytest, hypothesis, torch and CuPy; the
# project runs from this checkout (PYTHONPATH=.). PYTHON picks the interpreter
# (default python3). The tests get at most 240 s, the experiments 90 s and the
# benchmarks 140 s, so the whole check ends within 8 minutes.
set -u
OUT_DIR="${1:-${OUT:-gpu_check_out}}"
mkdir -p "$OUT_DIR"
PY="${PYTHON:-python3}"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export PYTHONUNBUFFERED=1
export HYPOTHESIS_PROFILE=ci
start=$(date +%s)

# the gpu tests: the sweep in tests/gpu and the gpu-marked tests of the other folders
GPU_TEST_FILES="tests/gpu tests/optim/test_optimizer_base.py tests/optim/test_fast_path.py
 tests/optim/test_torch_parity_variants.py tests/engine/test_nn.py tests/models/test_lstm.py
 tests/models/test_transformer.py tests/models/test_tree2seq.py tests/models/test_treelstm.py
 tests/models/test_mlp.py"

"$PY" - >"$OUT_DIR/device.txt" 2>&1 <<'PYEOF'
import minigrad
info = minigrad.cuda.device_info()
for key, value in info.items():
    print(f"{key}: {value}")
PYEOF

# shellcheck disable=SC2086
timeout 240 "$PY" -m pytest -q -p no:cacheprovider -m gpu -rfE $GPU_TEST_FILES \
    --ignore=tests/gpu/test_gpu_experiments.py \
    >"$OUT_DIR/gpu_tests.log" 2>&1
tests_rc=$?
# every experiment on the GPU (quick setting), with its own time limit
timeout 90 "$PY" -m pytest -q -p no:cacheprovider -m gpu -rfE tests/gpu/test_gpu_experiments.py \
    >"$OUT_DIR/gpu_experiments.log" 2>&1
experiments_rc=$?
tests_end=$(date +%s)

timeout 140 "$PY" benchmarks/bench_gpu.py --out "$OUT_DIR" >"$OUT_DIR/bench_gpu.log" 2>&1
bench_rc=$?
end=$(date +%s)

{
    echo "# minigrad GPU check"
    echo
    echo "Run $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD 2>/dev/null || echo unknown)," \
         "$((end - start)) s in all (tests $((tests_end - start)) s, benchmarks $((end - tests_end)) s)."
    echo
    echo '```'
    cat "$OUT_DIR/device.txt"
    echo '```'
    echo
    note=""
    [ "$tests_rc" -eq 124 ] && note=", timed out"
    echo "## gpu tests (exit status $tests_rc$note)"
    echo
    echo '```'
    tail -n 1 "$OUT_DIR/gpu_tests.log"
    tail -n 1 "$OUT_DIR/gpu_tests.log" | grep -q ' passed' || echo "NO gpu TEST RAN (no usable GPU?)"
    grep -E '^(FAILED|ERROR) ' "$OUT_DIR/gpu_tests.log" | head -n 60
    echo '```'
    echo
    note=""
    [ "$experiments_rc" -eq 124 ] && note=", timed out"
    echo "## every experiment with --device cuda, quick (exit status $experiments_rc$note)"
    echo
    echo '```'
    tail -n 1 "$OUT_DIR/gpu_experiments.log"
    grep -E '^(FAILED|ERROR) ' "$OUT_DIR/gpu_experiments.log" | head -n 20
    echo '```'
    echo
    note=""
    [ "$bench_rc" -eq 124 ] && note=", timed out: the sections that finished are below"
    echo "## benchmarks (exit status $bench_rc$note)"
    echo
    if [ -f "$OUT_DIR/bench_gpu.md" ]; then
        sed -e '1d' "$OUT_DIR/bench_gpu.md"
    else
        echo '```'
        tail -n 30 "$OUT_DIR/bench_gpu.log"
        echo '```'
    fi
} >"$OUT_DIR/summary.md"
cat "$OUT_DIR/summary.md"
[ "$tests_rc" -eq 0 ] && [ "$experiments_rc" -eq 0 ] && [ "$bench_rc" -eq 0 ]
