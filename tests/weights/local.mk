# tests/weights/local.mk -- safetensors, initialisation, upcycling, moec init.
