# tests/data/local.mk -- tests of this module.
