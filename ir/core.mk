# ir/core.mk -- graph builders, ops table, interpreter, autodiff, composites, printer.
IR_SOURCES += ir/ops.h ir/ops.c ir/shape.c ir/graph.c ir/print.c \
	ir/interp.h ir/interp.c ir/interp_kernels.c \
	ir/kernel.h ir/kernel.c ir/kernel_verify.c ir/kinterp.h ir/kinterp.c \
	ir/autodiff.h ir/autodiff.c ir/vjp.c
