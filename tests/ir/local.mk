# tests/ir/local.mk -- tests of the graph IR. core.mk: ops, interpreter and
# gradient checks; the Philox known answers are here.
check_PROGRAMS += tests/ir/test_philox
TESTS += tests/ir/test_philox
tests_ir_test_philox_SOURCES = tests/ir/test_philox.c
tests_ir_test_philox_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm
include tests/ir/core.mk

# Graph builders must not be sibling call arguments (C leaves their order to the compiler).
TESTS += tests/ir/eval_order.sh
dist_check_SCRIPTS += tests/ir/eval_order.sh
EXTRA_DIST += tests/ir/eval_order.py

# The kernel program: builders, printer, checker.
check_PROGRAMS += tests/ir/test_kernel
TESTS += tests/ir/test_kernel
tests_ir_test_kernel_SOURCES = tests/ir/test_kernel.c
tests_ir_test_kernel_LDADD = libmoec_ir.a libmoec_support.a -lm

# The reference evaluator of loop kernels against the graph interpreter.
check_PROGRAMS += tests/ir/test_kinterp
TESTS += tests/ir/test_kinterp
tests_ir_test_kinterp_SOURCES = tests/ir/test_kinterp.c tests/ir/helpers.h
tests_ir_test_kinterp_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm

check_PROGRAMS += tests/ir/test_kernel_math
TESTS += tests/ir/test_kernel_math
tests_ir_test_kernel_math_SOURCES = tests/ir/test_kernel_math.c
tests_ir_test_kernel_math_LDADD = libmoec_support.a -lm
