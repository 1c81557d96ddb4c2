# runtime/weights/local.mk -- safetensors reader/writer, named weights, init, upcycling.
# werr: the error record; safetensors: the file format; weights: params bound
# to an fe_model (init, load with MODELS.md's name rules and upcycling, save).
libmoec_runtime_a_SOURCES += \
	runtime/weights/werr.h \
	runtime/weights/safetensors.h \
	runtime/weights/weights.h
