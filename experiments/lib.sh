# experiments/lib.sh -- what the four studies share, sourced by each
# experiments/NAME script (doc/experiments.md):
#
#   experiments/NAME [--quick] [--out DIR] [--seeds N] [--threads N]
#
# writes each run as DIR/RUN/ (a `moec train` run directory), the report as
# DIR/report/ (report.md, report.html, the PNGs) and DIR/results.json. The
# default DIR is runs/experiments/NAME. A study that is cut off continues
# where it stopped when run again with the same options: a finished run is
# kept, a cut-off one resumes from its last checkpoint (`moec train
# --resume`). A DIR that holds the study at another size or seed count is
# refused rather than mixed.
#
# POSIX sh. Paths: $MOEC (default: the moec built in this tree), $MOEC_DATA
# (default: data/ of this tree, made by scripts/setup-data).

EX_ROOT=$(cd "$(dirname "$0")/.." && pwd)
MOEC=${MOEC:-$EX_ROOT/moec}
MOEC_DATA=${MOEC_DATA:-$EX_ROOT/data}

ex_usage() {
    echo "usage: experiments/$EX_NAME [--quick] [--out DIR] [--seeds N] [--threads N]" >&2
    exit 2
}

ex_die() {
    echo "experiments/$EX_NAME: $*" >&2
    exit 1
}

# ex_init NAME "$@": the options; sets EX_QUICK (0/1), EX_OUT, EX_SEEDS, EX_THREADS.
ex_init() {
    EX_NAME=$1
    shift
    EX_QUICK=0
    EX_OUT=runs/experiments/$EX_NAME
    EX_SEEDS=1
    EX_THREADS=
    while [ $# -gt 0 ]; do
        case $1 in
            --quick) EX_QUICK=1 ;;
            --out) [ $# -ge 2 ] || ex_usage; EX_OUT=$2; shift ;;
            --seeds) [ $# -ge 2 ] || ex_usage; EX_SEEDS=$2; shift ;;
            --threads) [ $# -ge 2 ] || ex_usage; EX_THREADS=$2; shift ;;
            -h|--help) ex_usage ;;
            *) echo "experiments/$EX_NAME: unknown option '$1'" >&2; ex_usage ;;
        esac
        shift
    done
    case $EX_SEEDS in
        ''|*[!0-9]*|0) ex_die "--seeds expects a whole number from 1, got '$EX_SEEDS'" ;;
    esac
    [ "$EX_SEEDS" -le 20 ] || ex_die "--seeds at most 20"
    [ -x "$MOEC" ] || ex_die "no moec at $MOEC: build it first (scripts/setup, or make)"
    # Everything below runs from the tree's root, so that a run records its
    # model as models/NAME.moe; DIR and the paths of the environment are
    # made absolute first.
    mkdir -p "$EX_OUT" || ex_die "cannot make $EX_OUT"
    EX_OUT=$(cd "$EX_OUT" && pwd)
    MOEC=$(cd "$(dirname "$MOEC")" && pwd)/$(basename "$MOEC")
    MOEC_DATA=$(cd "$MOEC_DATA" 2>/dev/null && pwd) || ex_die "no data folder $MOEC_DATA (scripts/setup-data)"
    cd "$EX_ROOT" || ex_die "cannot enter $EX_ROOT"
    EX_SIZE=full
    [ "$EX_QUICK" = 1 ] && EX_SIZE=quick
    stamp="study $EX_NAME size $EX_SIZE seeds $EX_SEEDS"
    if [ -f "$EX_OUT/study.txt" ]; then
        [ "$(cat "$EX_OUT/study.txt")" = "$stamp" ] ||
            ex_die "$EX_OUT holds another size or seed count ($(cat "$EX_OUT/study.txt")); use --out DIR or remove it"
    else
        echo "$stamp" > "$EX_OUT/study.txt"
    fi
    EX_RUNS=
    EX_T0=$(date +%s)
    echo "experiments/$EX_NAME: $EX_SIZE size, $EX_SEEDS seed(s), into $EX_OUT"
}

# ex_data NAME: the shards of a demo corpus (demo: code/math/prose; demo-lang: en/de/it/es).
ex_data() {
    d=$MOEC_DATA/$1/shards
    [ -f "$d/domains.json" ] || ex_die "no $d/domains.json: build the demo corpora with scripts/setup-data"
    echo "$d"
}

# ex_train RUN MODEL [moec train options...]: trains DIR/RUN once. A finished
# run (run_summary.json) is kept; a cut-off one resumes. A run that stops
# for collapse (exit 1, stopped_reason "collapse") is a result, not a failure.
ex_train() {
    run=$1
    model=$2
    shift 2
    dir=$EX_OUT/$run
    threads=
    [ -n "$EX_THREADS" ] && threads="--threads $EX_THREADS"
    t0=$(date +%s)
    if [ -f "$dir/run_summary.json" ] && ! grep -q '"stopped_reason": *"interrupted"' "$dir/run_summary.json"; then
        echo "  $run: done before, kept"
        return 0
    elif [ -f "$dir/config.json" ] && ls -d "$dir"/checkpoint-step-* >/dev/null 2>&1; then
        echo "  $run: resuming"
        # shellcheck disable=SC2086
        "$MOEC" train --resume "$dir" $threads --quiet && status=0 || status=$?
    else
        rm -rf "$dir"
        echo "  $run: $model $*"
        # shellcheck disable=SC2086
        "$MOEC" train "models/$model" --out "$dir" $threads --quiet "$@" && status=0 || status=$?
    fi
    if [ "$status" != 0 ]; then
        grep -q '"stopped_reason": *"collapse"' "$dir/run_summary.json" 2>/dev/null ||
            ex_die "moec train for $run failed (exit $status); rerun the study to resume it"
        echo "  $run: stopped for collapse (a result of this run)"
    fi
    echo "  $run: $(($(date +%s) - t0)) s"
}

# ex_config NAME MODEL [options...]: one configuration of the study, run
# once per seed: NAME itself for one seed; NAME-s1 ... NAME-sN with
# train seeds 1 ... N for several. Its runs join the report.
ex_config() {
    name=$1
    shift
    if [ "$EX_SEEDS" = 1 ]; then
        ex_train "$name" "$@"
        EX_RUNS="$EX_RUNS $EX_OUT/$name"
    else
        s=1
        while [ "$s" -le "$EX_SEEDS" ]; do
            ex_train "$name-s$s" "$@" --set seed="$s"
            EX_RUNS="$EX_RUNS $EX_OUT/$name-s$s"
            s=$((s + 1))
        done
    fi
}

# ex_report [moec report options...]: the report of every configuration's
# runs into DIR/report, DIR/results.json; prints the results table.
ex_report() {
    # shellcheck disable=SC2086
    "$MOEC" report $EX_RUNS -o "$EX_OUT/report" --results "$EX_OUT/results.json" "$@" ||
        ex_die "moec report failed"
    echo
    ex_print_table "$EX_OUT/report/report.md"
    echo
    echo "experiments/$EX_NAME: done in $(($(date +%s) - EX_T0)) s; report: $EX_OUT/report/report.html" \
         "(and report.md), results: $EX_OUT/results.json"
}

# ex_print_table FILE: the tables of a report.md's sections "Evaluation
# loss" and "Evaluation loss per domain", with their headings.
ex_print_table() {
    awk '/^## / { show = ($0 == "## Evaluation loss" || $0 == "## Evaluation loss per domain")
                  if (show) print (done++ ? "\n" : "") substr($0, 4); next }
         show && /^\|/ { print }' "$1"
}

# ex_first NAME: the first run of configuration NAME (NAME, or NAME-s1).
ex_first() {
    if [ "$EX_SEEDS" = 1 ]; then echo "$1"; else echo "$1-s1"; fi
}
