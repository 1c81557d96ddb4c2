# tests/train/test_metrics.mk -- the training metrics (runtime/train/metrics.h):
# hand-computed and random batches against an independent Python reference
# (test_metrics_ref.py, standard library only), and the metrics of a compiled
# step on a real batch against the interpreter's (test_metrics_step, LLVM).
check_PROGRAMS += tests/train/test_metrics
TESTS += tests/train/test_metrics
EXTRA_DIST += tests/train/test_metrics_ref.py
tests_train_test_metrics_SOURCES = tests/train/test_metrics.c
tests_train_test_metrics_LDADD = libmoec_runtime.a libmoec_ir.a libmoec_frontend.a libmoec_support.a \
	$(UTF8PROC_LIBS) $(JANSSON_LIBS) $(BLAS_LIBS) $(LIBS) -lm

check_PROGRAMS += tests/train/test_metrics_step
TESTS += tests/train/test_metrics_step
tests_train_test_metrics_step_SOURCES = tests/train/test_metrics_step.c
tests_train_test_metrics_step_LDADD = libmoec_runtime.a $(CODEGEN_LIBS) libmoec_cpu.a libmoec_runtime.a libmoec_ir.a \
	libmoec_frontend.a libmoec_support.a $(UTF8PROC_LIBS) $(JANSSON_LIBS) $(BLAS_LIBS) $(LLVM_LIBS) $(CRYPTO_LIBS) \
	-lpthread $(LIBS) -lm

# The weight divergence between experts (runtime/train/divergence.h) on hand
# cases; divergence.sh checks what a run writes against a Python reference.
check_PROGRAMS += tests/train/test_divergence
TESTS += tests/train/test_divergence
tests_train_test_divergence_SOURCES = tests/train/test_divergence.c
tests_train_test_divergence_LDADD = libmoec_runtime.a libmoec_ir.a libmoec_frontend.a libmoec_support.a \
	$(UTF8PROC_LIBS) $(JANSSON_LIBS) $(BLAS_LIBS) $(LIBS) -lm
