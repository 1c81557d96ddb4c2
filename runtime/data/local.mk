# runtime/data/local.mk -- tokenizer, token shards, domains.
