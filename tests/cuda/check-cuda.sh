#!/bin/sh
# tests/cuda/check-cuda.sh OUT -- the checks that need a GPU (`make
# check-cuda`, and scripts/gpu-check on a GPU machine), results in OUT:
#   backend.txt        what `moec eval --backend cuda` says (the GPU found)
#   test_templates.tap every CUDA template on the GPU against the CPU
#   test_shim.tap      every printed loop kernel (hand-built, 60 random, the
#                      tiny MoE model's training step) on the GPU against
#                      the reference evaluator with 32 lanes
#   test_nvrtc_cache.tap  NVRTC's PTX through the disk cache, on that machine
#   test_exec_emu.tap  whole training steps through the CUDA executor on the
#                      GPU (cuBLAS) against the CPU backend where built, and
#                      the interpreter (where the program was built)
#   summary.txt        one line per part and the verdict
# Where no GPU is present it says so, writes the reason and exits 0
# (skipped). Exit 1 when a check fails. The programs are found under
# $top_builddir (a build tree, or scripts/gpu-check's bundle), the models
# under $top_srcdir; $MOEC_RUN prefixes every program (the bundle's loader).
out=${1:-check-cuda-out}
build=${top_builddir:-.}
src=${top_srcdir:-.}
run=${MOEC_RUN:-}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
export XDG_CACHE_HOME="$out/cache"   # a fresh NVRTC cache: cold compiles are timed too
summary="$out/summary.txt"
: >"$summary"
say() { echo "check-cuda: $*"; echo "$*" >>"$summary"; }

# shellcheck disable=SC2086
$run "$build/moec" eval "$src/models/gpt2-moe-tiny.moe" --backend cuda >"$out/backend.txt" 2>&1
echo "exit $?" >>"$out/backend.txt"
say "moec eval --backend cuda: $(head -n 1 "$out/backend.txt")"

failed=0
part() {   # part NAME TIMEOUT: runs tests/cuda/NAME on the device, TAP into OUT/NAME.tap
    name=$1
    t0=$(date +%s)
    # shellcheck disable=SC2086
    MOEC_TEST_DEVICE=1 MOEC_TEST_MODELS="$src/models" timeout "$2" $run "$build/tests/cuda/$name" >"$out/$name.tap" 2>&1
    rc=$?
    secs=$(($(date +%s) - t0))
    if head -n 1 "$out/$name.tap" | grep -q '^1\.\.0 # SKIP'; then
        say "$name: SKIPPED: $(head -n 1 "$out/$name.tap" | sed 's/^1\.\.0 # SKIP //')"
        return 2
    fi
    n_ok=$(grep -c '^ok ' "$out/$name.tap")
    n_bad=$(grep -c '^not ok ' "$out/$name.tap")
    if [ $rc = 0 ] && [ "$n_bad" = 0 ]; then
        say "$name: PASS ($n_ok checks, ${secs} s)"
    else
        say "$name: FAIL (exit $rc$([ $rc = 124 ] && echo ': timed out'), $n_ok ok, $n_bad not ok, ${secs} s)"
        failed=1
    fi
    return 0
}
part test_templates 240
if [ $? = 2 ]; then
    # No device: NVRTC and its cache still run, so a bundle is rehearsed.
    part test_nvrtc_cache 120
    say "SKIPPED: no GPU here, nothing was run on a device$([ $failed = 0 ] || echo '; and a check without one FAILED')"
    exit $failed
fi
part test_shim 300
part test_nvrtc_cache 120
if [ -x "$build/tests/cuda/test_exec_emu" ]; then part test_exec_emu 300; else say "test_exec_emu: not built here"; fi
if [ $failed = 0 ]; then say "PASS"; else say "FAIL"; fi
exit $failed
