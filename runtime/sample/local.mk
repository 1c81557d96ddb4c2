# runtime/sample/local.mk -- `moec sample`'s library: the sampling rule
# (temperature, top-k, top-p, greedy; Philox draws) and the generation loop on
# the compiled forward step. Errors go to the sink; cmd_sample.c prints.
SAMPLE_SOURCES = \
	runtime/sample/sampler.c runtime/sample/sampler.h
libmoec_runtime_a_SOURCES += $(SAMPLE_SOURCES) \
	runtime/sample/generate.c runtime/sample/generate.h \
	runtime/sample/expert_use.c runtime/sample/expert_use.h
