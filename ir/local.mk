# ir/local.mk -- the graph IR: ops table, builders, interpreter, autodiff
# (core.mk) and the lowering of an elaborated model into a training step
# (lower.mk). Both append to IR_SOURCES.
IR_SOURCES = ir/ops.def ir/dtypes.def ir/graph.h ir/philox.c ir/philox.h
include ir/core.mk
include ir/lower.mk

noinst_LIBRARIES += libmoec_ir.a
libmoec_ir_a_SOURCES = $(IR_SOURCES)
