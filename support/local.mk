# support/local.mk -- the layer below every stage: the arena, internal
# assertions, the error sink (diagnostics with model-file places), checked
# file reading and all-or-nothing file writes. Nothing here knows about
# models, graphs or kernels.
SUPPORT_SOURCES = \
	support/arena.c support/arena.h \
	support/assert.c support/assert.h \
	support/diag.c support/diag.h \
	support/file.c support/file.h \
	support/atomic.c support/atomic.h \
	support/pages.c support/pages.h

noinst_LIBRARIES += libmoec_support.a
libmoec_support_a_SOURCES = $(SUPPORT_SOURCES)
