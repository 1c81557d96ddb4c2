/* ir/kernel_math.h -- the kernel IR's exp and tanh in float32
 * (doc/kernels.md, "Scalars"). Each is one fixed sequence of IEEE float
 * operations, fused multiply-adds written out as fmaf (so no compiler may
 * contract or split them differently): the reference evaluator
 * (ir/kinterp.c) runs these functions, and the CPU code generator
 * (codegen/llvm_ops.c) writes the same operations as vector IR with the
 * constants below, so compiled kernels and the evaluator agree bit for bit,
 * and a kernel computes 8 exponentials with a few vector instructions
 * instead of 8 calls to libm's expf. Accuracy, checked by
 * tests/ir/test_kernel_math: within 1.5 ulp of exp and of tanh (measured
 * 1.01 and 1.30 over a sweep of 2·10^7 points), infinities, zeros and NaN as libm.
 *
 * exp(x): x > IR_KEXP_HI gives +inf, x < IR_KEXP_LO gives 0, NaN itself;
 * else n = x·log2(e) rounded to nearest (by adding and subtracting 1.5·2^23),
 * r = x − n·ln2 (ln2 in two parts), e^r ≈ 1 + r + r²·P(r) (P of degree 5,
 * Cephes' expf coefficients, Horner), scaled by 2^n as two powers of two
 * 2^(n/2) and 2^(n − n/2) (n/2 toward zero), so that a subnormal result is
 * rounded once.
 *
 * tanh(x): |x| > 0.625: 1 − 2/(exp(2|x|) + 1) with x's sign; else
 * x + x·x²·Q(x²) (Q of degree 4, Cephes' tanhf coefficients), ±0 itself. */
#ifndef MOEC_IR_KERNEL_MATH_H
#define MOEC_IR_KERNEL_MATH_H

#include <math.h>
#include <stdint.h>
#include <string.h>

/* exp's constants, in the order the code uses them. */
enum {
    IR_KEXP_LOG2E, IR_KEXP_ROUND, IR_KEXP_LN2_HI, IR_KEXP_LN2_LO,
    IR_KEXP_P0, IR_KEXP_P1, IR_KEXP_P2, IR_KEXP_P3, IR_KEXP_P4, IR_KEXP_P5,
    IR_KEXP_HI, IR_KEXP_LO, IR_KEXP_N
};
static const float ir_kexp_c[IR_KEXP_N] = {
    [IR_KEXP_LOG2E] = 0x1.715476p+0f,       /* log2(e) */
    [IR_KEXP_ROUND] = 0x1.8p+23f,           /* 1.5·2^23: adding it rounds to an integer */
    [IR_KEXP_LN2_HI] = 0x1.62e43p-1f,       /* ln 2 rounded to float */
    [IR_KEXP_LN2_LO] = -0x1.05c61p-29f,     /* ln 2 − IR_KEXP_LN2_HI */
    [IR_KEXP_P0] = 1.9875691500e-4f,        /* P(r) = ((((P0 r + P1) r + P2) r + P3) r + P4) r + P5 */
    [IR_KEXP_P1] = 1.3981999507e-3f,
    [IR_KEXP_P2] = 8.3334519073e-3f,
    [IR_KEXP_P3] = 4.1665795894e-2f,
    [IR_KEXP_P4] = 1.6666665459e-1f,
    [IR_KEXP_P5] = 5.0000001201e-1f,
    [IR_KEXP_HI] = 88.72283935546875f,      /* above: +inf */
    [IR_KEXP_LO] = -104.0f,                 /* below: 0 (e^-104 < 2^-150) */
};

/* tanh's constants. */
enum { IR_KTANH_SMALL, IR_KTANH_Q0, IR_KTANH_Q1, IR_KTANH_Q2, IR_KTANH_Q3, IR_KTANH_Q4, IR_KTANH_N };
static const float ir_ktanh_c[IR_KTANH_N] = {
    [IR_KTANH_SMALL] = 0.625f,              /* |x| above: through exp */
    [IR_KTANH_Q0] = -5.70498872745e-3f,     /* Q(s) = (((Q0 s + Q1) s + Q2) s + Q3) s + Q4 */
    [IR_KTANH_Q1] = 2.06390887954e-2f,
    [IR_KTANH_Q2] = -5.37397155531e-2f,
    [IR_KTANH_Q3] = 1.33314422036e-1f,
    [IR_KTANH_Q4] = -3.33332819422e-1f,
};

static inline float ir_kbits_float(int32_t bits)
{
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* exp of x in [IR_KEXP_LO, IR_KEXP_HI]. */
static inline float ir_kexpf_core(float x)
{
    const float *c = ir_kexp_c;
    float n = fmaf(x, c[IR_KEXP_LOG2E], c[IR_KEXP_ROUND]) - c[IR_KEXP_ROUND];
    float r = fmaf(n, -c[IR_KEXP_LN2_HI], x);
    r = fmaf(n, -c[IR_KEXP_LN2_LO], r);
    float p = c[IR_KEXP_P0];
    p = fmaf(p, r, c[IR_KEXP_P1]);
    p = fmaf(p, r, c[IR_KEXP_P2]);
    p = fmaf(p, r, c[IR_KEXP_P3]);
    p = fmaf(p, r, c[IR_KEXP_P4]);
    p = fmaf(p, r, c[IR_KEXP_P5]);
    float y = fmaf(p, r * r, r) + 1.0f;
    int32_t ni = (int32_t)n, n1 = ni / 2, n2 = ni - n1;
    return y * ir_kbits_float((n1 + 127) * (1 << 23)) * ir_kbits_float((n2 + 127) * (1 << 23));
}

static inline float ir_kexpf(float x)
{
    if (isnan(x)) return x;
    if (x > ir_kexp_c[IR_KEXP_HI]) return INFINITY;
    if (x < ir_kexp_c[IR_KEXP_LO]) return 0.0f;
    return ir_kexpf_core(x);
}

static inline float ir_ktanhf(float x)
{
    const float *c = ir_ktanh_c;
    float ax = fabsf(x);
    if (ax > c[IR_KTANH_SMALL]) {
        float z = 1.0f - 2.0f / (ir_kexpf(ax + ax) + 1.0f);
        return x < 0 ? -z : z;
    }
    float s = x * x, q = c[IR_KTANH_Q0];
    q = fmaf(q, s, c[IR_KTANH_Q1]);
    q = fmaf(q, s, c[IR_KTANH_Q2]);
    q = fmaf(q, s, c[IR_KTANH_Q3]);
    q = fmaf(q, s, c[IR_KTANH_Q4]);
    return x == 0 ? x : fmaf(q * s, x, x);   /* keeps the sign of a zero */
}

#endif
