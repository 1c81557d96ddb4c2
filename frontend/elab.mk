# frontend/elab.mk -- elaboration: AST -> flat model (model.h), and its printer.
FRONTEND_SOURCES += \
	frontend/elab_internal.h \
	frontend/elab.c \
	frontend/elab_value.c \
	frontend/elab_names.c \
	frontend/elab_expr.c \
	frontend/elab_call.c \
	frontend/elab_tensor.c \
	frontend/elab_builtins.c \
	frontend/elab_moe.c \
	frontend/elab_router.c \
	frontend/elab_unused.c \
	frontend/model_names.c \
	frontend/model_print.c
