# frontend/elab.mk -- elaboration: AST -> flat model (model.h), and its printer.
FRONTEND_SOURCES += frontend/elab_pending.c
