# runtime/weights/local.mk -- safetensors reader/writer, named weights, init, upcycling.
