# bench/local.mk -- benchmarks, run by hand or with `make bench`.
bench:
	@echo "no benchmarks yet"
.PHONY: bench
