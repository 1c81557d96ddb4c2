# tests/cuda/local.mk -- the CUDA backend without a GPU: every kernel of
# every catalogue model compiles with NVRTC for sm_80 and sm_90 (where the
# toolkit was found), a golden of `moec emit --target cuda`, the printed
# code and the templates run on the CPU through a shim against the
# reference, the NVRTC disk cache, `--backend cuda` without a driver; and
# `make check-cuda`, the same programs on a GPU where there is one.
TESTS += tests/cuda/compile.sh tests/cuda/golden.sh tests/cuda/no_driver.sh
dist_check_SCRIPTS += tests/cuda/compile.sh tests/cuda/golden.sh tests/cuda/no_driver.sh
EXTRA_DIST += tests/cuda/golden
if HAVE_CUDA
check_PROGRAMS += tests/cuda/nvrtc_compile
tests_cuda_nvrtc_compile_SOURCES = tests/cuda/nvrtc_compile.c
check_PROGRAMS += tests/cuda/test_nvrtc_cache
TESTS += tests/cuda/test_nvrtc_cache
tests_cuda_test_nvrtc_cache_SOURCES = tests/cuda/test_nvrtc_cache.c
tests_cuda_test_nvrtc_cache_LDADD = libmoec_cuda.a libmoec_cache.a libmoec_ir.a libmoec_support.a $(NVRTC_LIBS) $(CRYPTO_LIBS) -lm
tests_cuda_nvrtc_compile_LDADD = libmoec_cuda.a libmoec_cache.a libmoec_ir.a libmoec_support.a $(NVRTC_LIBS) $(CRYPTO_LIBS) -lm
endif

# The printed code run on the CPU behind a CUDA shim (the kernel harness of
# tests/codegen, whose LLVM parts it does not use; a C++ compiler at run time).
EXTRA_DIST += tests/cuda/shim.h
check_PROGRAMS += tests/cuda/test_shim
TESTS += tests/cuda/test_shim
tests_cuda_test_shim_SOURCES = tests/cuda/test_shim.c
tests_cuda_test_shim_CPPFLAGS = $(AM_CPPFLAGS) -DSHIM_H='"$(abs_top_srcdir)/tests/cuda/shim.h"' \
	-DMODELS_DIR='"$(abs_top_srcdir)/models"'
tests_cuda_test_shim_LDADD = $(moec_LDADD)

# The CUDA templates (codegen/cuda_templates.h): NVRTC for sm_80 and sm_90
# where the toolkit was found, and each template run behind the shim against
# the CPU backend, bit for bit.
check_PROGRAMS += tests/cuda/test_templates
TESTS += tests/cuda/test_templates
tests_cuda_test_templates_SOURCES = tests/cuda/test_templates.c tests/cpu/helpers.h
tests_cuda_test_templates_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS) -DSHIM_H='"$(abs_top_srcdir)/tests/cuda/shim.h"'
tests_cuda_test_templates_LDADD = $(moec_LDADD)

# The CUDA executor (runtime/cuda/exec.h) on the emulated device
# (tests/cuda/emu_device.h: host memory, the printed kernels and templates
# behind the shim, CBLAS column-major for cuBLAS) against the CPU backend on
# whole training steps of tiny models.
EXTRA_DIST += tests/cuda/shim_lib.h tests/cuda/emu_device.h
check_PROGRAMS += tests/cuda/test_exec_emu
TESTS += tests/cuda/test_exec_emu
tests_cuda_test_exec_emu_SOURCES = tests/cuda/test_exec_emu.c tests/cuda/emu_device.c tests/cuda/emu_device.h \
	tests/cuda/shim_lib.h
tests_cuda_test_exec_emu_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS) -DSHIM_H='"$(abs_top_srcdir)/tests/cuda/shim.h"'
tests_cuda_test_exec_emu_LDADD = $(moec_LDADD) -ldl

# `make check-cuda`: the checks that need a GPU (tests/cuda/check-cuda.sh),
# results in $(CHECK_CUDA_OUT); skipped, saying why, without a GPU or a
# toolkit. doc/kernels.md, "Tests on a GPU".
CHECK_CUDA_OUT = check-cuda-out
EXTRA_DIST += tests/cuda/check-cuda.sh
.PHONY: check-cuda
if HAVE_CUDA
check-cuda: moec tests/cuda/test_templates tests/cuda/test_shim tests/cuda/test_nvrtc_cache tests/cuda/test_exec_emu
	top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) \
	    $(SHELL) $(srcdir)/tests/cuda/check-cuda.sh $(CHECK_CUDA_OUT)
else
check-cuda:
	@echo "check-cuda: SKIPPED: moec is built without the CUDA toolkit (no NVRTC), nothing was run on a device"
endif
