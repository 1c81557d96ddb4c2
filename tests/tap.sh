# tests/tap.sh -- TAP for shell tests, sourced (". tests/tap.sh"):
#   ok STATUS NAME   one case: "ok N - NAME" when STATUS is 0, else "not ok N - NAME"
#   tap_done         prints the plan "1..N"; exits 1 if a case failed, else 0
# automake's TAP driver counts each "not ok" line, and the exit status is the
# verdict too (as tests/tap.h does for C tests; doc/architecture.md#tests).
n=0
failed=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
tap_done() {
    echo "1..$n"
    if [ "$failed" -gt 0 ]; then echo "# $failed of $n failed"; exit 1; fi
    exit 0
}
