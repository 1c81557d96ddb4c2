# frontend/elab.mk -- elaboration: AST -> flat model (model.h), and its printer.
libmoec_frontend_a_SOURCES += frontend/elab_pending.c
