# bench/local.mk -- benchmarks, run by hand or with `make bench`.
# bench_tokenizer: GPT-2 encode MB/s on one core over the demo corpus
# (scripts/setup-data builds it); doc/data.md records the figure.
# bench_codegen (with LLVM): make bench-codegen, below.
EXTRA_PROGRAMS = bench/bench_tokenizer
bench_bench_tokenizer_SOURCES = bench/bench_tokenizer.c
bench_bench_tokenizer_LDADD = $(DATA_LIBS)
CLEANFILES += bench/bench_tokenizer

BENCH_TEXTS = data/demo/text/code.txt data/demo/text/math.txt data/demo/text/prose.txt \
	data/demo-lang/text/de.txt data/demo-lang/text/en.txt data/demo-lang/text/es.txt data/demo-lang/text/it.txt

bench: bench/bench_tokenizer$(EXEEXT)
	taskset -c 0 ./bench/bench_tokenizer --vocab data/gpt2 --runs 3 $(BENCH_TEXTS)
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
