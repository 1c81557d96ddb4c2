# bench/local.mk -- benchmarks, run by hand or with `make bench`; never in make check.
# bench_tokenizer: GPT-2 encode MB/s on one core over the demo corpus
# (scripts/setup-data builds it); doc/data.md records the figure.
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
EXTRA_DIST += bench/step_vs_torch.sh bench/torch_step.py bench/bench_table.py

BENCH_TEXTS = $(MOEC_DATA_DIR)/demo/text/code.txt $(MOEC_DATA_DIR)/demo/text/math.txt $(MOEC_DATA_DIR)/demo/text/prose.txt \
	$(MOEC_DATA_DIR)/demo-lang/text/de.txt $(MOEC_DATA_DIR)/demo-lang/text/en.txt \
	$(MOEC_DATA_DIR)/demo-lang/text/es.txt $(MOEC_DATA_DIR)/demo-lang/text/it.txt
BENCH_ARGS =

bench: bench/bench_tokenizer$(EXEEXT) bench/ceilings$(EXEEXT) moec$(EXEEXT)
	taskset -c 0 ./bench/bench_tokenizer --vocab $(MOEC_DATA_DIR)/gpt2 --runs 3 $(BENCH_TEXTS)
	$(SHELL) $(srcdir)/bench/step_vs_torch.sh --moec ./moec$(EXEEXT) --ceilings ./bench/ceilings$(EXEEXT) \
		--models $(srcdir)/models $(BENCH_ARGS)
.PHONY: bench
