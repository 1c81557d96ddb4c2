# bench/local.mk -- benchmarks, run by hand or with `make bench`; never in make check.
# bench_tokenizer: GPT-2 encode MB/s on one core over the demo corpus
# (scripts/setup-data builds it); doc/data.md records the figure.
# bench_codegen (with LLVM): make bench-codegen, below.
# ceilings + step_vs_torch.sh: a training step of moec against PyTorch at the
# same threads, and this machine's sgemm and memory-copy ceilings;
# doc/performance.md records the figures. `make bench BENCH_ARGS="--threads 1"`.
EXTRA_PROGRAMS = bench/bench_tokenizer bench/ceilings
bench_bench_tokenizer_SOURCES = bench/bench_tokenizer.c
bench_bench_tokenizer_LDADD = $(DATA_LIBS)
bench_ceilings_SOURCES = bench/ceilings.c
bench_ceilings_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS)
bench_ceilings_LDADD = $(BLAS_LIBS) $(LIBS)
CLEANFILES += bench/bench_tokenizer bench/ceilings
EXTRA_DIST += bench/step_vs_torch.sh bench/torch_step.py bench/bench_table.py bench/dist.sh bench/gpu_vs_torch.sh

BENCH_TEXTS = $(MOEC_DATA_DIR)/demo/text/code.txt $(MOEC_DATA_DIR)/demo/text/math.txt $(MOEC_DATA_DIR)/demo/text/prose.txt \
	$(MOEC_DATA_DIR)/demo-lang/text/de.txt $(MOEC_DATA_DIR)/demo-lang/text/en.txt \
	$(MOEC_DATA_DIR)/demo-lang/text/es.txt $(MOEC_DATA_DIR)/demo-lang/text/it.txt
BENCH_ARGS =

bench: bench/bench_tokenizer$(EXEEXT) bench/ceilings$(EXEEXT) moec$(EXEEXT)
	taskset -c 0 ./bench/bench_tokenizer --vocab $(MOEC_DATA_DIR)/gpt2 --runs 3 $(BENCH_TEXTS)
	$(SHELL) $(srcdir)/bench/step_vs_torch.sh --moec ./moec$(EXEEXT) --ceilings ./bench/ceilings$(EXEEXT) \
		--models $(srcdir)/models $(BENCH_ARGS)
.PHONY: bench

# bench_gemm: the CPU executor's products against raw cblas_sgemm, in
# GFLOP/s (make bench-gemm; doc/kernels.md records the figures).
EXTRA_PROGRAMS += bench/bench_gemm
bench_bench_gemm_SOURCES = bench/bench_gemm.c
bench_bench_gemm_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS)
bench_bench_gemm_LDADD = $(CPU_LIBS)
CLEANFILES += bench/bench_gemm

bench-gemm: bench/bench_gemm$(EXEEXT)
	./bench/bench_gemm --runs 5
.PHONY: bench-gemm

# bench_codegen: compile time of the CPU backend, per kernel and for a
# 500-kernel program cold and warm (doc/kernels.md records the figures).
if HAVE_LLVM
EXTRA_PROGRAMS += bench/bench_codegen
bench_bench_codegen_SOURCES = bench/bench_codegen.c
bench_bench_codegen_LDADD = $(CODEGEN_LIBS)
CLEANFILES += bench/bench_codegen

bench-codegen: bench/bench_codegen$(EXEEXT)
	./bench/bench_codegen --kernels 500
endif
.PHONY: bench-codegen

# dist.sh: data-parallel training, 1 process against mpirun -np 2 at the same
# global batch (make bench-dist; doc/distributed.md records the figures).
bench-dist: moec$(EXEEXT)
	$(SHELL) $(srcdir)/bench/dist.sh --moec ./moec$(EXEEXT) --models $(srcdir)/models --data $(MOEC_DATA_DIR)/demo/shards
.PHONY: bench-dist

# bench_pages: a large buffer's first touch and second pass, 4 KiB pages
# against support/pages.h's huge pages (make bench-pages; doc/performance.md).
EXTRA_PROGRAMS += bench/bench_pages
bench_bench_pages_SOURCES = bench/bench_pages.c
bench_bench_pages_LDADD = libmoec_support.a
CLEANFILES += bench/bench_pages

bench-pages: bench/bench_pages$(EXEEXT)
	./bench/bench_pages 1024
.PHONY: bench-pages
