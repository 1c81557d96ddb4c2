# ir/core.mk -- graph builders, ops table, interpreter, autodiff, printer (doc/ir.md).
IR_SOURCES += ir/ops.h ir/ops.c ir/dtype.c ir/shape.c ir/graph.c ir/print.c \
	ir/interp.h ir/interp.c ir/interp_kernels.c \
	ir/kernel.h ir/kernel_math.h ir/kernel.c ir/kernel_verify.c ir/kernel_listing.c ir/kinterp.h ir/kinterp.c ir/fuse.h ir/fuse.c ir/memplan.h ir/memplan.c \
	ir/autodiff.h ir/autodiff.c ir/vjp.c
