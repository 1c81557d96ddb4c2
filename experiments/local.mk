# experiments/local.mk -- the four seed studies, one command each
# (doc/experiments.md): shell scripts over `moec train` and `moec report`.
EXTRA_DIST += experiments/lib.sh experiments/emergence experiments/efficiency experiments/chimera \
	experiments/routing
