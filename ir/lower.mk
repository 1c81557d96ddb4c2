# ir/lower.mk -- fe_model -> forward graph (GPT-2 ops, MoE routers), training step graph.
IR_SOURCES += ir/composite.c ir/composite.h ir/moe.c ir/moe.h ir/moe_sparse.c ir/moe_sparse.h \
	ir/lower.c ir/lower.h ir/step.c ir/step.h ir/step_values.c ir/step_values.h \
	ir/simplify.c ir/simplify.h
