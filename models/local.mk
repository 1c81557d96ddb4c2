# models/local.mk -- the experiment catalogue ships with the sources.
EXTRA_DIST += models/catalogue.txt $(wildcard $(srcdir)/models/*.moe)
