# runtime/dist/local.mk -- data-parallel training's runtime: the processes of
# a run and their sums (runtime/dist/comm.h; MPI when configure found it), and
# NCCL for the GPU path, opened at run time (runtime/dist/nccl.h), so that it
# builds on every machine whether or not NCCL is installed.
libmoec_runtime_a_SOURCES += runtime/dist/comm.h runtime/dist/comm.c
libmoec_runtime_a_SOURCES += runtime/dist/nccl.h runtime/dist/nccl.c
