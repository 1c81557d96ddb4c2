# tests/model/local.mk -- lowering, training step, moec eval/grad, PyTorch reference.
MODEL_TEST_LIBS = libmoec_runtime.a libmoec_ir.a libmoec_frontend.a libmoec_support.a $(UTF8PROC_LIBS) $(JANSSON_LIBS) $(BLAS_LIBS) $(LIBS) -lm

check_PROGRAMS += tests/model/test_composite
TESTS += tests/model/test_composite
tests_model_test_composite_SOURCES = tests/model/test_composite.c tests/model/fd.h
tests_model_test_composite_LDADD = $(MODEL_TEST_LIBS)

check_PROGRAMS += tests/model/test_moe
TESTS += tests/model/test_moe
tests_model_test_moe_SOURCES = tests/model/test_moe.c tests/model/fd.h
tests_model_test_moe_LDADD = $(MODEL_TEST_LIBS)

check_PROGRAMS += tests/model/test_model
TESTS += tests/model/test_model
tests_model_test_model_SOURCES = tests/model/test_model.c tests/model/fd.h
tests_model_test_model_LDADD = $(MODEL_TEST_LIBS)

check_PROGRAMS += tests/model/test_sparse
TESTS += tests/model/test_sparse
tests_model_test_sparse_SOURCES = tests/model/test_sparse.c tests/model/fd.h
tests_model_test_sparse_LDADD = $(MODEL_TEST_LIBS)
EXTRA_DIST += tests/model/sparse_moe.moe

# moec eval/grad on every tiny model of the catalogue, and the commands' contract.
TESTS += tests/model/tiny_models.sh
dist_check_SCRIPTS += tests/model/tiny_models.sh

# The independent PyTorch reference (skipped without /usr/bin/python3 + torch).
TESTS += tests/model/torch_ref.sh
dist_check_SCRIPTS += tests/model/torch_ref.sh
EXTRA_DIST += tests/model/torch_ref.py
