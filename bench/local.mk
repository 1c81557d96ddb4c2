# bench/local.mk -- this stage has no sources yet.
