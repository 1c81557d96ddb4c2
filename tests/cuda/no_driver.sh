#!/bin/sh
# tests/cuda/no_driver.sh -- `--backend cuda` where no CUDA driver can be
# loaded: eval, grad, train and bench exit 2 with the one clear message,
# never "not built" or a crash; a driver library that does not start (the
# toolkit's stub libcuda.so, where present) is named with cuInit's error.
# On a machine with a GPU the first part is skipped (a driver is there).
moec="${top_builddir:-.}/moec"
model="${top_srcdir:-.}/models/gpt2-moe-tiny.moe"
. "${top_srcdir:-.}/tests/tap.sh"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/moec-cuda-nodrv-XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
msg="moec: error: no CUDA driver (libcuda.so.1 not found): this machine has no NVIDIA GPU"
if ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 ' || [ -e /dev/nvidia0 ]; then
    echo "# a CUDA driver is installed here: the no-driver message is not checked"
else
    for cmd in "eval $model --weights w --data d --batch 1 --seq 4" "grad $model --weights w --data d -o g" \
               "train $model --data d" "bench $model"; do
        # shellcheck disable=SC2086
        "$moec" $cmd --backend cuda >"$tmp/out" 2>"$tmp/err"
        rc=$?
        [ $rc = 2 ] && [ "$(cat "$tmp/err")" = "$msg" ] && [ ! -s "$tmp/out" ]
        ok $? "${cmd%% *} --backend cuda without a driver: exit 2 ($rc), the message alone"
        [ $rc = 2 ] || sed 's/^/# /' "$tmp/err"
    done
fi
MOEC_CUDA_DRIVER="$tmp/no-such-libcuda.so" "$moec" eval "$model" --backend cuda >/dev/null 2>"$tmp/err"
[ $? = 2 ] && grep -q "no CUDA driver ($tmp/no-such-libcuda.so cannot be loaded" "$tmp/err"
ok $? "MOEC_CUDA_DRIVER naming a missing file: exit 2, the file named"
stub=""
for d in /usr/local/cuda/lib64/stubs /usr/local/cuda/targets/x86_64-linux/lib/stubs; do
    [ -f "$d/libcuda.so" ] && stub="$d/libcuda.so" && break
done
if [ -n "$stub" ]; then
    MOEC_CUDA_DRIVER="$stub" "$moec" eval "$model" --backend cuda >/dev/null 2>"$tmp/err"
    [ $? = 2 ] && grep -q "the CUDA driver $stub does not start (cuInit: .*): no usable NVIDIA GPU" "$tmp/err"
    ok $? "the toolkit's stub driver: every entry point resolves, cuInit's failure is named, exit 2"
    sed 's/^/# /' "$tmp/err"
else
    echo "# no stub libcuda.so in the toolkit: the resolving of entry points is not checked"
fi
tap_done
