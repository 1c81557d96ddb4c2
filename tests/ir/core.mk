# tests/ir/core.mk -- tests of the IR core (ops, interpreter, autodiff).
IR_CORE_TESTS = tests/ir/test_graph tests/ir/test_interp tests/ir/test_grad
check_PROGRAMS += $(IR_CORE_TESTS)
TESTS += $(IR_CORE_TESTS)
tests_ir_test_graph_SOURCES = tests/ir/test_graph.c tests/ir/helpers.h
tests_ir_test_graph_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm
tests_ir_test_interp_SOURCES = tests/ir/test_interp.c tests/ir/helpers.h
tests_ir_test_interp_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm
tests_ir_test_grad_SOURCES = tests/ir/test_grad.c tests/ir/helpers.h
tests_ir_test_grad_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm
