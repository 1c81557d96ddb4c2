# tests/model/local.mk -- lowering, training step, moec eval/grad, PyTorch reference.
