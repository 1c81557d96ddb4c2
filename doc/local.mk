# doc/local.mk -- the documentation, shipped and installed.
dist_doc_DATA += $(wildcard $(srcdir)/doc/*.md)
dist_man1_MANS = doc/moec.1
# The plots doc/experiments.md shows (copies of the studies' reports).
experimentsdocdir = $(docdir)/experiments
dist_experimentsdoc_DATA = $(wildcard $(srcdir)/doc/experiments/*.png)
