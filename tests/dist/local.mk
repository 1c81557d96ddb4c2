# tests/dist/local.mk -- data-parallel training (doc/distributed.md).
# two_ranks.sh: 2 MPI ranks against one process with the same global batch,
# the weight and settings checks, a killed rank, resume (skips without MPI).
TESTS += tests/dist/two_ranks.sh
dist_check_SCRIPTS += tests/dist/two_ranks.sh

# NCCL through dlopen (runtime/dist/nccl.h): a missing library and one that
# is not NCCL give -1 and a message naming the file, never a crash; an
# installed NCCL is NCCL 2, and without a GPU its communicator fails with
# NCCL's words (with one, a one-rank all-reduce in place).
check_PROGRAMS += tests/dist/test_nccl
TESTS += tests/dist/test_nccl
tests_dist_test_nccl_SOURCES = tests/dist/test_nccl.c
tests_dist_test_nccl_LDADD = libmoec_runtime.a libmoec_support.a $(LIBS)

# runtime/dist/comm.h alone on 2 and 3 ranks, both ways of summing (comm.sh
# runs comm_main under mpirun).
check_PROGRAMS += tests/dist/comm_main
tests_dist_comm_main_SOURCES = tests/dist/comm_main.c
tests_dist_comm_main_CPPFLAGS = $(AM_CPPFLAGS) $(MPI_CFLAGS)
tests_dist_comm_main_LDADD = libmoec_runtime.a libmoec_support.a $(MPI_LIBS) $(CRYPTO_LIBS) -lm $(LIBS)
TESTS += tests/dist/comm.sh
dist_check_SCRIPTS += tests/dist/comm.sh
