# runtime/train/local.mk -- `moec train`'s modules (doc/training.md): batches
# from a data split at a saved position, the steps on either backend (engine),
# the host optimizer for gradient accumulation, the run directory's files,
# checkpoints, the progress line and the loop that ties them.
TRAIN_SOURCES = \
	runtime/train/batches.c runtime/train/batches.h \
	runtime/train/engine.c runtime/train/engine.h \
	runtime/train/adamw.c runtime/train/adamw.h \
	runtime/train/run_dir.c runtime/train/run_dir.h \
	runtime/train/checkpoint.c runtime/train/checkpoint.h \
	runtime/train/progress.c runtime/train/progress.h \
	runtime/train/loop.c runtime/train/loop.h
libmoec_runtime_a_SOURCES += $(TRAIN_SOURCES)
