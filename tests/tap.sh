# tests/tap.sh -- TAP for shell tests, sourced (". tests/tap.sh"):
#   ok STATUS NAME   one case: "ok N - NAME" when STATUS is 0, else "not ok N - NAME"
#   tap_done         prints the plan "1..N" and exits 0
# Failed cases are counted by automake's TAP driver from the "not ok" lines;
# the exit status stays 0 so that a non-zero one means the script itself broke
# (as tests/tap.h does for C tests).
n=0
failed=0
ok() {
    n=$((n + 1))
    if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
tap_done() {
    echo "1..$n"
    exit 0
}
