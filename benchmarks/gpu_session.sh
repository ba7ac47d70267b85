#!/usr/bin/env bash
# One lending of a CUDA GPU, run from the project root on the GPU machine:
#
#   bash benchmarks/gpu_session.sh          the tests with CUDA present, then benchmarks/gpu.py's presets, plane
#                                           sizes and stack (docs/benchmarks.md "GPU"; about 2 minutes on an H200)
#   bash benchmarks/gpu_session.sh train S  instead: train the shipped learned start further for about S seconds
#                                           (scripts/train_init.py --device cuda --workers 14; the step count is
#                                           fitted to S by a short probe) into $OUT/gpu_start.npz, then compare it
#                                           with the shipped start (gpu.py validate: the validation cases, generated
#                                           and real, and the quality cases beside default; about 2 minutes more)
#
# The GPU machine has torch, numpy, scipy, tifffile and scikit-image but not the wheels of the benchmark images, so
# prepare the data here first (`python benchmarks/gpu.py prepare` writes the ignored folder .gpu/, which must travel
# with the working tree). The log goes to $OUT (or /tmp/gpu-out).
set -uo pipefail
export PYTHONPATH="$PWD/src:$PWD/scripts" PYTHONUNBUFFERED=1
out="${OUT:-/tmp/gpu-out}"
mkdir -p "$out"
out="$(realpath "$out")"  # the validation reads the new start from benchmarks/
start=src/napari_zssr/weights/zssr_init.npz
# the second GPU stage's settings (docs/benchmarks.md, "How the start was made"); SEED picks new corpus images
training=(--conditioned --device cuda --workers 14 --batch 32 --crop 96 --tasks 256 --learning-rate 3e-4)

seconds_per_step() {  # a short run at a negligible rate, timed from its first 100 steps (workers started) to 700
  timeout 120 python3 scripts/train_init.py "${training[@]}" --start "$start" --learning-rate 1e-6 --steps 700 \
    --report-every 100 --generated 8 --no-pictures --out /tmp/probe.npz > /tmp/probe.txt
  python3 -c "
import re, sys
t = [float(x) for x in re.findall(r'held-out L1 .*, ([0-9.]+) s', open('/tmp/probe.txt').read())]
if len(t) < 8:
    sys.exit('the probe did not finish')
print((t[7] - t[1]) / 600)"
}

{
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  if [ "${1:-}" = train ]; then
    # corpus images are seed x 100,000 + index: seeds of 20 and more reach benchmarks/learned_start.py's validation
    [ "${SEED:-4}" -lt 20 ] || { echo "SEED ${SEED}: the corpus would hold validation images; use 4-19"; exit 1; }
    [ -f .gpu/validation_cases.npz ] || { echo "no .gpu/validation_cases.npz: run python benchmarks/gpu.py prepare"; exit 1; }
    per_step=$(seconds_per_step) || { echo "probe failed:"; tail -5 /tmp/probe.txt; exit 1; }
    steps=$(python3 -c "print(max(500, int(${2:-300} / $per_step) // 100 * 100))")
    echo "## training the start: $per_step s a step -> $steps steps"
    python3 scripts/train_init.py "${training[@]}" --start "$start" --generated 400 --seed "${SEED:-4}" \
      --steps "$steps" --report-every $(( steps / 10 )) --out "$out/gpu_start.npz" || exit 1
    echo "## the new start against the shipped one"
    (cd benchmarks && STARTS="learned $out/gpu_start.npz" timeout 300 python3 gpu.py validate)
  else
    echo "## tests with CUDA"
    # the napari, console and cluster tests need packages the GPU machine lacks
    timeout 300 python3 -m pytest -q -p no:cacheprovider -rfE --tb=short tests/test_noise.py tests/test_engine.py \
      tests/test_api.py tests/test_axial.py tests/test_cuda_graph.py tests/test_init_weights.py \
      tests/test_kernel_conditioning.py tests/test_precision.py tests/test_blind.py tests/test_resize.py \
      tests/test_kernels.py > "$out/pytest.log" 2>&1
    echo "pytest exit status $?"; tail -30 "$out/pytest.log"
    echo "## benchmarks"
    (cd benchmarks && timeout 300 python3 gpu.py env presets planes stack)
  fi
} 2>&1 | tee "$out/log.txt"
