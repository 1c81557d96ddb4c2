# tests/elab/local.mk -- tests of this module.
