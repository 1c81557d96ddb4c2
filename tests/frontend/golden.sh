#!/bin/sh
# tests/frontend/golden.sh -- golden diagnostics for bad model files.
# Runs `moec check` (the sanitized driver) on every *.moe in tests/frontend/bad/
# and tests/elab/bad/, from $top_srcdir so paths print relative, and compares
# stderr with NAME.expected; NAME.args holds extra arguments (--set ...).
# One TAP case per file: exit status 1, the exact messages, no sanitizer report.
# Good files in tests/frontend/ast/ print their AST (`moec ir --stage ast`),
# compared with NAME.ast; those in tests/frontend/dumps/ their elaborated
# model, forward graph and whole training step (NAME.elab, NAME.graph,
# NAME.grad, with the MoE layers' dense oracle) and the forward graph in the
# sparse MoE form (NAME.sparse.graph): exit status 0, no diagnostics.
#   tests/frontend/golden.sh --update   rewrites tests/frontend's .expected and dumps
#                                       files (review them!); --update-all also tests/elab's
. "${top_srcdir:-.}/tests/frontend/sanitize.sh"
update=no
case "$1" in --update) update=frontend ;; --update-all) update=all ;; esac
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
cd "$top_srcdir" || exit 1
[ -x "$driver" ] || { echo "1..0 # SKIP $driver not built"; exit 0; }

for f in tests/frontend/bad/*.moe tests/elab/bad/*.moe; do
    [ -f "$f" ] || continue
    base=${f%.moe}
    args=
    [ -f "$base.args" ] && args=$(cat "$base.args")
    # shellcheck disable=SC2086  # the .args file is split into words on purpose
    timeout 20 "$driver" check $args "$f" > "$tmp/out" 2> "$tmp/err"
    status=$?
    if [ $update = all ] || { [ $update = frontend ] && [ "${f#tests/frontend/}" != "$f" ]; }; then
        cp "$tmp/err" "$base.expected"
        echo "# updated $base.expected (status $status)"
    fi
    why=
    [ $status = 1 ] || why="exit status $status, not 1"
    sanitizer_clean "$tmp/err" || why="sanitizer report"
    if [ -z "$why" ] && ! cmp -s "$tmp/err" "$base.expected"; then
        why="diagnostics differ from $base.expected"
        diff -u "$base.expected" "$tmp/err" 2>&1 | sed 's/^/# /' | head -40
    fi
    [ -z "$why" ]; ok $? "$f${why:+ ($why)}"
done
# dump_case FILE STAGE EXT [ARGS...]: `moec ir FILE --stage STAGE ARGS` must exit
# 0 with no diagnostics and print exactly FILE's .EXT next to it.
dump_case() {
    f=$1 stage=$2 ext=$3
    shift 3
    base=${f%.moe}
    timeout 20 "$driver" ir "$f" --stage "$stage" "$@" > "$tmp/out" 2> "$tmp/err"
    status=$?
    [ $update != no ] && cp "$tmp/out" "$base.$ext"
    why=
    [ $status = 0 ] || why="exit status $status, not 0"
    [ -s "$tmp/err" ] && why="diagnostics on a good file"
    if [ -z "$why" ] && ! cmp -s "$tmp/out" "$base.$ext"; then
        why="$stage dump differs from $base.$ext"
        diff -u "$base.$ext" "$tmp/out" 2>&1 | sed 's/^/# /' | head -40
    fi
    [ -z "$why" ]; ok $? "$f --stage $stage${why:+ ($why)}"
}
for f in tests/frontend/ast/*.moe; do
    [ -f "$f" ] && dump_case "$f" ast ast
done
# Whole-pipeline dumps of a tiny MoE model: what elaboration, lowering and the
# training step (autodiff, clipping, AdamW) make of it, so any change to names,
# shapes or the graph shows up as a diff. .graph and .grad hold the MoE layers'
# dense oracle (--moe dense); .sparse.graph the forward graph in the sparse
# form, the default (dispatch plan, grouped products, combine).
for f in tests/frontend/dumps/*.moe; do
    [ -f "$f" ] || continue
    dump_case "$f" elab elab
    dump_case "$f" graph graph --batch 1 --seq 3 --moe dense
    dump_case "$f" grad grad --batch 1 --seq 3 --moe dense
    dump_case "$f" graph sparse.graph --batch 1 --seq 3
done
tap_done
