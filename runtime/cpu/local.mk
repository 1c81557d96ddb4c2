# runtime/cpu/local.mk -- the CPU backend's runtime: the thread pool and the
# executor of a kernel program (loop kernels through caller-supplied
# functions, products through CBLAS, templates in C). Its own library, so
# tests and tools link it without the commands; users add $(CPU_LIBS).
CPU_SOURCES = \
	runtime/cpu/pool.c runtime/cpu/pool.h \
	runtime/cpu/exec.c runtime/cpu/exec.h runtime/cpu/launch.h \
	runtime/cpu/gemm.c \
	runtime/cpu/templates.c

noinst_LIBRARIES += libmoec_cpu.a
libmoec_cpu_a_SOURCES = $(CPU_SOURCES)
libmoec_cpu_a_CPPFLAGS = $(AM_CPPFLAGS) $(BLAS_CFLAGS)
CPU_LIBS = libmoec_cpu.a libmoec_ir.a libmoec_support.a $(BLAS_LIBS) -lpthread -lm
