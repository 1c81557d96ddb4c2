# tests/pipeline/local.mk -- the pass pipeline (runtime/pipeline.h, runtime/passes.c).
# test_pipeline runs the table on a tiny model, checks its graph against
# ir_step_build and that the verifier catches and names a pass that breaks the
# graph (a test-only row); pipeline.sh checks `moec ir`'s pipeline options and
# that doc/ir.md and doc/architecture.md show the table `--list-stages` prints.
check_PROGRAMS += tests/pipeline/test_pipeline
TESTS += tests/pipeline/test_pipeline tests/pipeline/pipeline.sh
dist_check_SCRIPTS += tests/pipeline/pipeline.sh
tests_pipeline_test_pipeline_SOURCES = tests/pipeline/test_pipeline.c \
	runtime/pipeline.c runtime/pipeline.h runtime/passes.c runtime/cli_args.c runtime/cli_args.h
tests_pipeline_test_pipeline_CFLAGS = $(AM_CFLAGS) -g $(SANITIZE_CFLAGS)
tests_pipeline_test_pipeline_LDFLAGS = $(SANITIZE_CFLAGS)
tests_pipeline_test_pipeline_LDADD = libmoec_ir.a libmoec_frontend.a libmoec_support.a -lm $(LIBS)
