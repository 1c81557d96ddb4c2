/* codegen/jit.c -- the host target machine, the optimisation pipeline,
 * object emission and ORC LLJIT (codegen/jit.h). Reads LLVM modules built
 * by codegen/llvm_kernel.c or object code from the cache; writes object
 * code and loaded, callable kernels. LLVM errors become sink messages. */
#include "codegen/jit.h"

#include <llvm-c/Analysis.h>
#include <llvm-c/Error.h>
#include <llvm-c/LLJIT.h>
#include <llvm-c/Orc.h>
#include <llvm-c/Target.h>
#include <llvm-c/Transforms/PassBuilder.h>
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct cg_jit {
    LLVMOrcLLJITRef jit;
    char reported[256];   /* the last error the execution session reported on its own */
};

/* Reports an LLVM error (consuming it) as "cpu backend: what: message". */
static int llvm_fail(moec_diag *d, const char *what, LLVMErrorRef err)
{
    char *msg = LLVMGetErrorMessage(err);
    moec_error(d, "cpu backend: %s: %s", what, msg);
    LLVMDisposeErrorMessage(msg);
    return -1;
}

static pthread_once_t llvm_once = PTHREAD_ONCE_INIT;
static int llvm_ready;   /* written once, under llvm_once */

static void init_llvm(void)
{
    llvm_ready = !LLVMInitializeNativeTarget() && !LLVMInitializeNativeAsmPrinter();
}

/* ---- the host ---- */

int cg_host_init(cg_host *h, int opt_level, moec_diag *d)
{
    memset(h, 0, sizeof *h);
    pthread_once(&llvm_once, init_llvm);
    if (!llvm_ready) return moec_error(d, "cpu backend: LLVM has no code generator for this machine"), -1;
    h->triple = LLVMGetDefaultTargetTriple();
    h->cpu = LLVMGetHostCPUName();
    h->features = LLVMGetHostCPUFeatures();
    LLVMTargetRef target;
    char *msg = NULL;
    if (LLVMGetTargetFromTriple(h->triple, &target, &msg)) {
        moec_error(d, "cpu backend: no LLVM target for %s: %s", h->triple, msg ? msg : "?");
        LLVMDisposeMessage(msg);
        cg_host_free(h);
        return -1;
    }
    /* JITDefault: the large code model (ORC may place code and data anywhere) */
    h->tm = LLVMCreateTargetMachine(target, h->triple, h->cpu, h->features,
                                    opt_level >= 3 ? LLVMCodeGenLevelAggressive : LLVMCodeGenLevelDefault,
                                    LLVMRelocDefault, LLVMCodeModelJITDefault);
    if (!h->tm) {
        moec_error(d, "cpu backend: LLVM cannot make a target machine for %s (%s)", h->triple, h->cpu);
        cg_host_free(h);
        return -1;
    }
    return 0;
}

void cg_host_free(cg_host *h)
{
    if (h->tm) LLVMDisposeTargetMachine(h->tm);
    LLVMDisposeMessage(h->triple);
    LLVMDisposeMessage(h->cpu);
    LLVMDisposeMessage(h->features);
    memset(h, 0, sizeof *h);
}

void cg_host_adopt(const cg_host *h, LLVMModuleRef m)
{
    LLVMSetTarget(m, h->triple);
    LLVMTargetDataRef layout = LLVMCreateTargetDataLayout(h->tm);
    LLVMSetModuleDataLayout(m, layout);
    LLVMDisposeTargetData(layout);
}

/* ---- optimising and emitting ---- */

int cg_llvm_optimise(LLVMModuleRef m, const cg_host *h, int opt_level, moec_diag *d)
{
    char *msg = NULL;
    if (LLVMVerifyModule(m, LLVMReturnStatusAction, &msg)) {
        moec_error(d, "cpu backend: internal error: generated LLVM IR is invalid: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    LLVMDisposeMessage(msg);
    LLVMPassBuilderOptionsRef o = LLVMCreatePassBuilderOptions();
    LLVMPassBuilderOptionsSetLoopVectorization(o, 1);
    LLVMPassBuilderOptionsSetSLPVectorization(o, 1);
    LLVMPassBuilderOptionsSetLoopInterleaving(o, 1);
    LLVMPassBuilderOptionsSetLoopUnrolling(o, 1);
    LLVMErrorRef err = LLVMRunPasses(m, opt_level >= 3 ? "default<O3>" : "default<O2>", h->tm, o);
    LLVMDisposePassBuilderOptions(o);
    return err ? llvm_fail(d, "optimising", err) : 0;
}

int cg_llvm_emit_object(LLVMModuleRef m, const cg_host *h, LLVMMemoryBufferRef *obj, moec_diag *d)
{
    char *msg = NULL;
    if (LLVMTargetMachineEmitToMemoryBuffer(h->tm, m, LLVMObjectFile, &msg, obj)) {
        moec_error(d, "cpu backend: emitting object code: %s", msg ? msg : "?");
        LLVMDisposeMessage(msg);
        return -1;
    }
    return 0;
}

/* ---- LLJIT ---- */

static void report_session_error(void *ctx, LLVMErrorRef err)
{
    cg_jit *j = ctx;
    char *msg = LLVMGetErrorMessage(err);
    snprintf(j->reported, sizeof j->reported, "%s", msg);
    LLVMDisposeErrorMessage(msg);
}

/* The C library functions generated code may call, defined by address so
 * that they resolve even where the process exports no symbol table. */
static int define_libm(cg_jit *j, moec_diag *d)
{
    static const struct { const char *name; void (*fn)(void); } syms[] = {
        { "expf", (void (*)(void))expf }, { "logf", (void (*)(void))logf }, { "tanhf", (void (*)(void))tanhf },
        { "erff", (void (*)(void))erff }, { "sqrtf", (void (*)(void))sqrtf }, { "log", (void (*)(void))log },
        { "cos", (void (*)(void))cos }, { "sqrt", (void (*)(void))sqrt }, { "memset", (void (*)(void))memset },
        { "memcpy", (void (*)(void))memcpy }, { "memmove", (void (*)(void))memmove },
    };
    enum { N = sizeof syms / sizeof syms[0] };
    LLVMJITCSymbolMapPair pairs[N];
    for (int i = 0; i < N; i++) {
        pairs[i].Name = LLVMOrcLLJITMangleAndIntern(j->jit, syms[i].name);
        pairs[i].Sym.Address = (LLVMOrcExecutorAddress)(uintptr_t)syms[i].fn;
        pairs[i].Sym.Flags = (LLVMJITSymbolFlags){ LLVMJITSymbolGenericFlagsExported | LLVMJITSymbolGenericFlagsCallable, 0 };
    }
    LLVMOrcMaterializationUnitRef mu = LLVMOrcAbsoluteSymbols(pairs, N);
    LLVMErrorRef err = LLVMOrcJITDylibDefine(LLVMOrcLLJITGetMainJITDylib(j->jit), mu);
    if (err) {
        LLVMOrcDisposeMaterializationUnit(mu);
        return llvm_fail(d, "defining libm for the JIT", err);
    }
    return 0;
}

/* Anything else generated code calls (compiler runtime helpers) from the process. */
static int add_process_symbols(cg_jit *j, moec_diag *d)
{
    LLVMOrcDefinitionGeneratorRef gen;
    LLVMErrorRef err = LLVMOrcCreateDynamicLibrarySearchGeneratorForProcess(&gen, LLVMOrcLLJITGetGlobalPrefix(j->jit),
                                                                            NULL, NULL);
    if (err) return llvm_fail(d, "reaching process symbols", err);
    LLVMOrcJITDylibAddGenerator(LLVMOrcLLJITGetMainJITDylib(j->jit), gen);
    return 0;
}

int cg_jit_new(cg_jit **out, moec_diag *d)
{
    pthread_once(&llvm_once, init_llvm);
    if (!llvm_ready) return moec_error(d, "cpu backend: LLVM has no code generator for this machine"), -1;
    cg_jit *j = calloc(1, sizeof *j);
    if (!j) return moec_error(d, "cpu backend: out of memory"), -1;
    LLVMErrorRef err = LLVMOrcCreateLLJIT(&j->jit, LLVMOrcCreateLLJITBuilder());
    if (err) {
        free(j);
        return llvm_fail(d, "starting ORC LLJIT", err);
    }
    LLVMOrcExecutionSessionSetErrorReporter(LLVMOrcLLJITGetExecutionSession(j->jit), report_session_error, j);
    if (define_libm(j, d) < 0 || add_process_symbols(j, d) < 0) {
        cg_jit_free(j);
        return -1;
    }
    *out = j;
    return 0;
}

int cg_jit_add_object(cg_jit *j, const void *data, size_t len, moec_diag *d)
{
    LLVMMemoryBufferRef buf = LLVMCreateMemoryBufferWithMemoryRangeCopy(data, len, "moec-kernels.o");
    if (!buf) return moec_error(d, "cpu backend: out of memory"), -1;
    LLVMErrorRef err = LLVMOrcLLJITAddObjectFile(j->jit, LLVMOrcLLJITGetMainJITDylib(j->jit), buf);
    return err ? llvm_fail(d, "loading object code", err) : 0;
}

void *cg_jit_lookup(cg_jit *j, const char *symbol, moec_diag *d)
{
    LLVMOrcExecutorAddress addr = 0;
    j->reported[0] = '\0';
    LLVMErrorRef err = LLVMOrcLLJITLookup(j->jit, &addr, symbol);
    if (err) {
        char what[320];
        snprintf(what, sizeof what, "looking up %s%s%s", symbol, j->reported[0] ? " (" : "", j->reported[0] ? j->reported : "");
        if (j->reported[0]) strcat(what, ")");
        llvm_fail(d, what, err);
        return NULL;
    }
    return (void *)(uintptr_t)addr;
}

void cg_jit_free(cg_jit *j)
{
    if (!j) return;
    if (j->jit) {
        LLVMErrorRef err = LLVMOrcDisposeLLJIT(j->jit);
        if (err) LLVMConsumeError(err);
    }
    free(j);
}
