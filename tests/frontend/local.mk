# tests/frontend/local.mk -- tests of this module.
