# tests/local.mk -- the test suite: `make check` (or scripts/test) runs it.
# Each module adds its own tests below; every test prints TAP.
EXTRA_DIST += tests/tap.h

# The CLI contract: --help lists every subcommand, --version names the backends.
TESTS += tests/cli.sh
dist_check_SCRIPTS += tests/cli.sh
