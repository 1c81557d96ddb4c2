# runtime/dist/local.mk -- data-parallel training's runtime: NCCL for the
# GPU path, opened at run time (runtime/dist/nccl.h), so it builds on every
# machine whether or not NCCL is installed.
libmoec_runtime_a_SOURCES += runtime/dist/nccl.h runtime/dist/nccl.c
