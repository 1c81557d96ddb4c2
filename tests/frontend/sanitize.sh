# tests/frontend/sanitize.sh -- sourced by the front-end tests: where the sanitized
# driver is and how to tell its own exit status from a sanitizer's.
# ASan, UBSan and LeakSanitizer exit with codes of their own (86, 87, 88) and
# print "Sanitizer" or "runtime error:", so a clean run is easy to tell.
top_srcdir=${top_srcdir:-.}
top_builddir=${top_builddir:-.}
driver="$(cd "$top_builddir" && pwd)/tests/frontend/moec_asan"
ASAN_OPTIONS="exitcode=86:detect_leaks=1:abort_on_error=0:allocator_may_return_null=1"
UBSAN_OPTIONS="exitcode=87:print_stacktrace=1:halt_on_error=1"
LSAN_OPTIONS="exitcode=88"
export ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS

# sanitizer_clean FILE: true when FILE (a stderr log) holds no sanitizer report.
sanitizer_clean() {
    ! grep -q -e 'Sanitizer' -e 'runtime error:' "$1"
}

. "$top_srcdir/tests/tap.sh"
