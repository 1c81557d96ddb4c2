# codegen/local.mk -- code generators. The CPU backend (kernel IR -> LLVM IR
# -> ORC LLJIT, with a disk cache) is built when configure found LLVM.
if HAVE_LLVM
noinst_LIBRARIES += libmoec_codegen.a
libmoec_codegen_a_SOURCES = \
	codegen/cpu.h codegen/cpu.c \
	codegen/kernels.h codegen/kernels.c \
	codegen/llvm_kernel.h codegen/llvm_gen.h codegen/llvm_kernel.c codegen/llvm_ops.c \
	codegen/jit.h codegen/jit.c
nodist_libmoec_codegen_a_SOURCES = codegen/source_hash.h
libmoec_codegen_a_CPPFLAGS = $(AM_CPPFLAGS) $(LLVM_CFLAGS) $(CRYPTO_CFLAGS)
# What a program using codegen/cpu.h links, after the library itself.
CODEGEN_LIBS = libmoec_codegen.a libmoec_cache.a libmoec_ir.a libmoec_support.a $(LLVM_LIBS) $(CRYPTO_LIBS) -lm

# The cache key includes a hash of the sources that decide the object code
# (the code generator, the kernel IR headers, its exp and tanh, Philox), so that objects of
# another version of them are never loaded (doc/kernels.md, "The kernel cache").
CODEGEN_HASHED = $(libmoec_codegen_a_SOURCES) codegen/cache.h codegen/cache.c ir/kernel.h ir/kernel_math.h ir/philox.c
codegen/source_hash.h: $(CODEGEN_HASHED)
	$(AM_V_GEN)$(MKDIR_P) codegen && \
	hash=`cd $(srcdir) && cat $(CODEGEN_HASHED) | sha256sum | cut -c1-16` && \
	echo "#define CG_SOURCE_HASH \"$$hash\"" > $@
BUILT_SOURCES += codegen/source_hash.h
CLEANFILES += codegen/source_hash.h
endif

# The disk cache of compiled kernels, shared by the CPU backend (LLVM
# objects) and the CUDA one (NVRTC's PTX): doc/kernels.md, "The kernel cache".
noinst_LIBRARIES += libmoec_cache.a
libmoec_cache_a_SOURCES = codegen/cache.h codegen/cache.c
libmoec_cache_a_CPPFLAGS = $(AM_CPPFLAGS) $(CRYPTO_CFLAGS)

# The CUDA C printer (no CUDA dependency: `moec emit --target cuda` prints
# everywhere) and, where configure found the toolkit, NVRTC (doc/kernels.md, "CUDA C").
noinst_LIBRARIES += libmoec_cuda.a
libmoec_cuda_a_SOURCES = codegen/cuda_print.h codegen/cuda_print.c codegen/cuda_templates.h codegen/cuda_templates.c
libmoec_cuda_a_CPPFLAGS = $(AM_CPPFLAGS) $(CUDA_CFLAGS) $(CRYPTO_CFLAGS)
if HAVE_CUDA
libmoec_cuda_a_SOURCES += codegen/nvrtc.h codegen/nvrtc.c
endif
