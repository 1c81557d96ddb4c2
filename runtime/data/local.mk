# runtime/data/local.mk -- tokenizer, token shards, domains.
# GPT-2 byte-level BPE (vocab, bpe), llm.c shards (shard), domains and the
# `moec data` build (corpus, build). Errors go to the sink, files are read
# and written through support/ (file, atomic).
libmoec_runtime_a_SOURCES += \
	runtime/data/vocab.c runtime/data/vocab.h \
	runtime/data/bpe.c runtime/data/bpe.h \
	runtime/data/shard.c runtime/data/shard.h \
	runtime/data/corpus.c runtime/data/corpus.h \
	runtime/data/build.c runtime/data/build.h \
	runtime/data/dataset.c runtime/data/dataset.h
AM_CPPFLAGS += $(UTF8PROC_CFLAGS) $(JANSSON_CFLAGS) $(CRYPTO_CFLAGS)
moec_LDADD += $(CRYPTO_LIBS)

# Everything that links the data pipeline needs these libraries.
DATA_LIBS = libmoec_runtime.a libmoec_support.a $(UTF8PROC_LIBS) $(JANSSON_LIBS) $(CRYPTO_LIBS) $(LIBS)
