# codegen/local.mk -- code generators. The CPU backend (kernel IR -> LLVM IR
# -> ORC LLJIT, with a disk cache) is built when configure found LLVM.
if HAVE_LLVM
noinst_LIBRARIES += libmoec_codegen.a
libmoec_codegen_a_SOURCES = \
	codegen/cpu.h codegen/cpu.c \
	codegen/llvm_kernel.h codegen/llvm_gen.h codegen/llvm_kernel.c codegen/llvm_ops.c \
	codegen/jit.h codegen/jit.c \
	codegen/cache.h codegen/cache.c
libmoec_codegen_a_CPPFLAGS = $(AM_CPPFLAGS) $(LLVM_CFLAGS) $(CRYPTO_CFLAGS)
# What a program using codegen/cpu.h links, after the library itself.
CODEGEN_LIBS = libmoec_codegen.a libmoec_ir.a libmoec_support.a $(LLVM_LIBS) $(CRYPTO_LIBS) -lm
endif
