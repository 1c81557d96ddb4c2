# runtime/local.mk -- the `moec` command and its runtime library.
noinst_LIBRARIES += libmoec_runtime.a
libmoec_runtime_a_SOURCES = \
	runtime/commands.h \
	runtime/cli_args.c runtime/cli_args.h \
	runtime/json_file.c runtime/json_file.h \
	runtime/cmd_frontend.c \
	runtime/pipeline.c runtime/pipeline.h runtime/passes.c \
	runtime/cmd_data.c \
	runtime/cmd_init.c \
	runtime/cmd_eval.c \
	runtime/cpu_step.c runtime/cpu_step.h \
	runtime/launch_cost.c runtime/launch_cost.h \
	runtime/cmd_bench.c \
	runtime/cmd_emit.c \
	runtime/cmd_sample.c \
	runtime/cmd_train.c \
	runtime/cmd_report.c \
	runtime/cuda/driver.h runtime/cuda/driver.c \
	runtime/cuda/backend.h runtime/cuda/backend.c \
	runtime/cuda/device.h runtime/cuda/device_gpu.c \
	runtime/cuda/gemm.h runtime/cuda/gemm.c \
	runtime/cuda/exec.h runtime/cuda/exec.c \
	runtime/cuda/bench.h runtime/cuda/bench.c
libmoec_runtime_a_CPPFLAGS = $(AM_CPPFLAGS) $(MPI_CFLAGS)

bin_PROGRAMS += moec
moec_SOURCES = runtime/main.c
moec_LDADD = libmoec_runtime.a
if HAVE_LLVM
moec_LDADD += libmoec_codegen.a
endif
moec_LDADD += libmoec_cuda.a libmoec_cache.a libmoec_cpu.a libmoec_ir.a libmoec_frontend.a libmoec_support.a \
	$(UTF8PROC_LIBS) $(JANSSON_LIBS) $(BLAS_LIBS) $(LLVM_LIBS) $(CRYPTO_LIBS) $(NVRTC_LIBS) $(MPI_LIBS) -lpthread $(LIBS)

# Training metrics from a step's kept values (runtime/train/metrics.h).
libmoec_runtime_a_SOURCES += runtime/train/metrics.c runtime/train/metrics.h
# The weight divergence between experts, written with the metrics of an evaluation.
libmoec_runtime_a_SOURCES += runtime/train/divergence.c runtime/train/divergence.h

# The data pipeline (tokenizer, shards, `moec data`) keeps its own list.
include runtime/data/local.mk

# moec train's modules: the loop, the run directory, checkpoints, batches.
include runtime/train/local.mk

# Weights: safetensors, initialisation, upcycling.
include runtime/weights/local.mk

# The sampling rule and generation (`moec sample`).
include runtime/sample/local.mk

# `moec report`: tables and plots from run directories.
include runtime/report/local.mk

# The CPU backend's runtime: thread pool, kernel-program executor.
include runtime/cpu/local.mk

# Data-parallel training: the MPI world, NCCL through dlopen (runtime/dist/).
include runtime/dist/local.mk
