# doc/local.mk -- the documentation, shipped and installed.
dist_doc_DATA += $(wildcard $(srcdir)/doc/*.md)
dist_man1_MANS = doc/moec.1
