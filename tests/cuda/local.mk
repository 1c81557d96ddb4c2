# tests/cuda/local.mk -- the CUDA C printer without a GPU: every kernel of
# every catalogue model compiles with NVRTC for sm_80 and sm_90 (where the
# toolkit was found), a golden of `moec emit --target cuda`, and the printed
# code run on the CPU through a shim against the reference evaluator.
TESTS += tests/cuda/compile.sh tests/cuda/golden.sh
dist_check_SCRIPTS += tests/cuda/compile.sh tests/cuda/golden.sh
EXTRA_DIST += tests/cuda/golden
if HAVE_CUDA
check_PROGRAMS += tests/cuda/nvrtc_compile
tests_cuda_nvrtc_compile_SOURCES = tests/cuda/nvrtc_compile.c
tests_cuda_nvrtc_compile_LDADD = libmoec_cuda.a libmoec_ir.a libmoec_support.a $(NVRTC_LIBS) -lm
endif
