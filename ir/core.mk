# ir/core.mk -- graph builders, ops table, interpreter, autodiff, composites, printer.
