# tests/dist/local.mk -- data-parallel training (doc/distributed.md).
TESTS += tests/dist/two_ranks.sh
dist_check_SCRIPTS += tests/dist/two_ranks.sh
