# tests/cli/local.mk -- `moec bench` and `moec emit`: the commands on a small
# MoE model (their contracts, the kernel cache's second run, the files emit
# writes, bad usage), and bench's cost model on a hand-built program.
TESTS += tests/cli/bench.sh tests/cli/emit.sh
dist_check_SCRIPTS += tests/cli/bench.sh tests/cli/emit.sh

check_PROGRAMS += tests/cli/test_launch_cost
TESTS += tests/cli/test_launch_cost
tests_cli_test_launch_cost_SOURCES = tests/cli/test_launch_cost.c runtime/launch_cost.c runtime/launch_cost.h
tests_cli_test_launch_cost_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_cli_test_launch_cost_LDFLAGS = $(SANITIZE_CFLAGS)
tests_cli_test_launch_cost_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm
