# models/local.mk -- the experiment catalogue ships with the sources.
EXTRA_DIST += $(wildcard $(srcdir)/models/*.moe)
