#!/bin/sh
# tests/dist/two_ranks.sh -- data-parallel `moec train` across 2 (and 3) MPI
# ranks of 1 thread (doc/distributed.md, "Tests"):
#   - 50 steps of the tiny MoE on 2 ranks follow a single process with the
#     same global batch (accum=2) to 1e-5 relative, every metric of every
#     line (the sums differ only in order), and end with the same weights;
#   - 3 ranks of accum 2 follow one process of accum 6 (uneven blocks);
#   - the ranks' weights are compared at the start, every checkpoint and the
#     end: two ranks started from different --init files are stopped with a
#     clear message; ranks given different settings are refused;
#   - killing one rank stops the others within seconds, never a hang;
#   - resuming the killed run gives bit for bit the uninterrupted run;
#   - a resume with another number of processes is refused.
. "${top_srcdir:-.}/tests/train/corpus.sh"
if ! "$moec" --version | grep -q "^distributed: *MPI"; then
    echo "1..0 # SKIP moec was built without MPI"; exit 0
fi
if ! command -v mpirun >/dev/null 2>&1; then
    echo "1..0 # SKIP no mpirun on PATH"; exit 0
fi
# Open MPI on one machine: as root too, more ranks than cores allowed, shared
# memory between the ranks (no network, no ptrace-based single copy).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
export OMPI_MCA_btl=self,vader OMPI_MCA_btl_vader_single_copy_mechanism=none
model="$models/gpt2-moe-tiny.moe"
args="--set d=32 --batch 4 --seq 16 --threads 1 --set eval_every=10 --set eval_steps=3 --set collapse_stop=false --quiet"
mpi() { mpirun -np 2 "$@"; }

# shellcheck disable=SC2086 -- $args is a list of words
"$moec" train "$model" --data "$tmp/data" $args --steps 50 --set accum=2 --out "$tmp/one" 2>"$tmp/err"
ok $? "one process, accum 2, 50 steps"
mpi "$moec" train "$model" --data "$tmp/data" $args --steps 50 --out "$tmp/two" >"$tmp/err" 2>&1
ok $? "2 ranks, accum 1, 50 steps" || sed 's/^/# /' "$tmp/err"
grep -q '"world_size": 2' "$tmp/two/config.json" && grep -q '"global_batch": 8' "$tmp/two/config.json"
ok $? "config.json: world_size 2, global batch 8 (4 x 1 x 2)"
# Every key of every metrics line but perf/*, to 1e-5 relative; the same keys.
python3 - "$tmp/one/metrics.jsonl" "$tmp/two/metrics.jsonl" > "$tmp/cmp" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
bad = [] if len(a) == len(b) == 55 else ['%d and %d lines' % (len(a), len(b))]
worst = 0.0
for x, y in zip(a, b):
    kx = {k for k in x if not k.startswith('perf/')}
    ky = {k for k in y if not k.startswith('perf/')}
    if kx != ky: bad.append('step %s: keys %s' % (x.get('step'), sorted(kx ^ ky)))
    for k in kx & ky:
        if isinstance(x[k], (int, float)) and x[k] is not None and y[k] is not None:
            worst = max(worst, abs(x[k] - y[k]) / max(abs(x[k]), 1e-30))
if worst > 1e-5: bad.append('largest relative difference %g' % worst)
if not all('perf/allreduce_sec' in l for l in b if 'train/loss' in l): bad.append('no perf/allreduce_sec')
print('\n'.join(bad) if bad else 'largest relative difference %g' % worst)
sys.exit(1 if bad else 0)
PY
ok $? "2 ranks follow one process with the same global batch, every metric to 1e-5 ($(head -n 1 "$tmp/cmp"))"
cmp -s "$tmp/one/final-model.safetensors" "$tmp/two/final-model.safetensors"
ok $? "the same final weights"
ls "$tmp/two" | grep -q '^checkpoint-step-50$' && [ -f "$tmp/two/run_summary.json" ]
ok $? "rank 0 wrote the checkpoints and the summary"

# The sums through MPI's collectives (ranks on several machines take that way): the same bits.
mpirun -np 2 -x MOEC_NO_SHM=1 "$moec" train "$model" --data "$tmp/data" $args --steps 50 --out "$tmp/noshm" >"$tmp/err" 2>&1
ok $? "2 ranks, sums through MPI_Reduce_scatter_block and MPI_Allgather (MOEC_NO_SHM=1)" || sed 's/^/# /' "$tmp/err"
cmp -s "$tmp/one/final-model.safetensors" "$tmp/noshm/final-model.safetensors"
ok $? "the same final weights as one process"

# 3 ranks (the sum's blocks uneven) of accum 2 against one process of accum 6:
# the same blocks, sums in another order (1e-5).
mpirun -np 3 "$moec" train "$model" --data "$tmp/data" $args --steps 12 --set accum=2 --out "$tmp/three" >"$tmp/err" 2>&1
ok $? "3 ranks, accum 2, 12 steps" || sed 's/^/# /' "$tmp/err"
"$moec" train "$model" --data "$tmp/data" $args --steps 12 --set accum=6 --out "$tmp/six" 2>"$tmp/err"
ok $? "one process, accum 6, 12 steps"
python3 - "$tmp/six/metrics.jsonl" "$tmp/three/metrics.jsonl" > "$tmp/cmp" <<'PY'
import json, sys
a = [json.loads(l) for l in open(sys.argv[1])]
b = [json.loads(l) for l in open(sys.argv[2])]
worst = max(abs(x[k] - y[k]) / max(abs(x[k]), 1e-30) for x, y in zip(a, b) for k in x
            if not k.startswith('perf/') and isinstance(x[k], float))
print('largest relative difference %g over %d and %d lines' % (worst, len(a), len(b)))
sys.exit(0 if len(a) == len(b) == 14 and worst <= 1e-5 else 1)
PY
ok $? "3 ranks x accum 2 follow one process with accum 6 ($(cat "$tmp/cmp"))"

# Different weights on the ranks: the hash check stops both before any step.
"$moec" init "$model" --set d=32 --seed 1 -o "$tmp/w1.safetensors" >/dev/null 2>&1 &&
"$moec" init "$model" --set d=32 --seed 2 -o "$tmp/w2.safetensors" >/dev/null 2>&1
ok $? "two initial weight files"
start=$(date +%s)
mpirun -np 1 "$moec" train "$model" --data "$tmp/data" $args --steps 5 --init "$tmp/w1.safetensors" --out "$tmp/desync" : \
       -np 1 "$moec" train "$model" --data "$tmp/data" $args --steps 5 --init "$tmp/w2.safetensors" --out "$tmp/desync" \
       >"$tmp/err" 2>&1
st=$?
[ $st -ne 0 ] && grep -q "the ranks' weights differ at step 0: rank 1's state hashes to" "$tmp/err" &&
    [ $(($(date +%s) - start)) -lt 60 ]
ok $? "ranks with different weights are stopped with a clear message (exit $st)" || sed 's/^/# /' "$tmp/err"
! grep -q '"train/loss"' "$tmp/desync/metrics.jsonl" 2>/dev/null
ok $? "no step was taken"

# Ranks started with different settings are refused before the run directory is made.
mpirun -np 1 "$moec" train "$model" --data "$tmp/data" $args --steps 5 --out "$tmp/differ" : \
       -np 1 "$moec" train "$model" --data "$tmp/data" $args --steps 5 --set lr=1 --out "$tmp/differ" >"$tmp/err" 2>&1
st=$?
[ $st -ne 0 ] && grep -q "rank 1 was given another model file text or other --set" "$tmp/err" && ! [ -e "$tmp/differ" ]
ok $? "ranks given different --set values are refused, nothing written (exit $st)" || sed 's/^/# /' "$tmp/err"

# The interpreter runs whole steps: refused across ranks, nothing written.
mpi "$moec" train "$model" --data "$tmp/data" $args --steps 5 --backend interp --out "$tmp/interp" >"$tmp/err" 2>&1
st=$?
[ $st -ne 0 ] && grep -q "training across 2 processes needs --backend cpu" "$tmp/err" && ! [ -e "$tmp/interp" ]
ok $? "--backend interp on 2 ranks is refused before the run directory is made (exit $st)" || sed 's/^/# /' "$tmp/err"

# Kill rank 1 mid-run: mpirun ends within seconds, the checkpoints stay.
mpi "$moec" train "$model" --data "$tmp/data" $args --steps 60 --out "$tmp/cut" >"$tmp/cut.err" 2>&1 &
job=$!
i=0
while [ ! -d "$tmp/cut/checkpoint-step-10" ] && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
victim=""
for p in $(pgrep -x moec); do
    cat "/proc/$p/environ" 2>/dev/null | tr '\0' '\n' | grep -q '^OMPI_COMM_WORLD_RANK=1$' &&
        grep -q "$tmp/cut" "/proc/$p/cmdline" 2>/dev/null && victim=$p
done
[ -n "$victim" ] && kill -9 "$victim"
ok $? "rank 1 killed after checkpoint-step-10 (pid ${victim:-none})"
killed_at=$(date +%s)
i=0
while kill -0 "$job" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 "$job" 2>/dev/null; then alive=yes; kill -9 "$job"; pkill -9 -f "$tmp/cut"; else alive=no; fi
wait "$job"
st=$?
took=$(($(date +%s) - killed_at))
[ $alive = no ] && [ $st -ne 0 ] && grep -q "rank 1 .*exited on signal 9" "$tmp/cut.err"
ok $? "the other rank stopped within ${took} s (limit 30), exit $st, mpirun names the killed rank" || sed 's/^/# /' "$tmp/cut.err"
[ -d "$tmp/cut/checkpoint-step-10" ] && ! [ -f "$tmp/cut/final-model.safetensors" ]
ok $? "the run keeps its checkpoints and has no final model"

# A resume must use the run's number of processes.
"$moec" train --resume "$tmp/cut" --quiet >/dev/null 2>"$tmp/err"
st=$?
[ $st -eq 1 ] && grep -q "was trained by 2 processes" "$tmp/err"
ok $? "resuming a 2-rank run in one process is refused (exit $st)" || sed 's/^/# /' "$tmp/err"

# The resumed run is the uninterrupted one, bit for bit.
mpi "$moec" train --resume "$tmp/cut" --quiet >"$tmp/err" 2>&1
ok $? "the killed run resumes on 2 ranks" || sed 's/^/# /' "$tmp/err"
mpi "$moec" train "$model" --data "$tmp/data" $args --steps 60 --out "$tmp/whole" >"$tmp/err" 2>&1
ok $? "the same run without interruption"
cmp -s "$tmp/cut/final-model.safetensors" "$tmp/whole/final-model.safetensors"
ok $? "resumed and uninterrupted final weights are identical"
strip() { sed 's/,"perf\/[a-z_]*":[-0-9.eE+]*//g' "$1"; }
strip "$tmp/cut/metrics.jsonl" > "$tmp/a" && strip "$tmp/whole/metrics.jsonl" > "$tmp/b" && cmp -s "$tmp/a" "$tmp/b"
ok $? "and so are their metrics.jsonl (but the timings)"
tap_done
