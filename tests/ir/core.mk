# tests/ir/core.mk -- tests of the IR core (ops, interpreter, autodiff).
