# runtime/weights/local.mk -- safetensors reader/writer, named weights, init, upcycling.
# safetensors: the file format; weights: params bound to an fe_model (alloc,
# init, save); load: the name rules and upcycling (doc/weights.md). Errors go to the sink.
WEIGHTS_SOURCES = \
	runtime/weights/safetensors.c runtime/weights/safetensors.h \
	runtime/weights/weights.c runtime/weights/weights.h \
	runtime/weights/load.c
libmoec_runtime_a_SOURCES += $(WEIGHTS_SOURCES)
