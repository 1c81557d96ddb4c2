/* tests/ir/test_kernel_math.c -- the kernel IR's own exp and tanh
 * (ir/kernel_math.h) against double-precision exp and tanh: the error in
 * ulps of the float result over a dense sweep of each function's range
 * (2·10^6 points, and every power of two for tanh's tiny arguments), and
 * the special values (infinities, signed zeros, NaN, the overflow and
 * underflow thresholds, subnormal results). That the CPU code generator
 * computes the same bits is checked by tests/codegen (compiled kernels
 * against the reference evaluator, which calls these functions). */
#include "ir/kernel_math.h"
#include "tests/tap.h"

#include <float.h>
#include <math.h>
#include <stdbool.h>

/* |got - want| in units of the last place of want as a float (subnormal spacing below FLT_MIN). */
static double ulps(float got, double want)
{
    if (want > FLT_MAX) return isinf(got) && got > 0 ? 0 : INFINITY;
    if (isnan(got)) return INFINITY;
    double unit = want == 0 ? 0x1p-149 : fmax(0x1p-149, ldexp(1.0, ilogb(want) - 23));
    return fabs((double)got - want) / unit;
}

static bool same_bits(float a, float b) { return memcmp(&a, &b, sizeof a) == 0; }

int main(void)
{
    enum { POINTS = 2000000 };
    double worst_exp = 0, worst_tanh = 0;
    float at_exp = 0, at_tanh = 0;
    for (int i = 0; i <= POINTS; i++) {
        float x = (float)(-105.0 + 195.0 * i / POINTS);
        double e = ulps(ir_kexpf(x), exp((double)x));
        if (e > worst_exp) worst_exp = e, at_exp = x;
        float y = (float)(-12.0 + 24.0 * i / POINTS);
        double t = ulps(ir_ktanhf(y), tanh((double)y));
        if (t > worst_tanh) worst_tanh = t, at_tanh = y;
    }
    for (int k = -149; k < 4; k++)
        for (int sign = -1; sign <= 1; sign += 2) {
            float y = sign * ldexpf(1.0f, k);
            double t = ulps(ir_ktanhf(y), tanh((double)y));
            if (t > worst_tanh) worst_tanh = t, at_tanh = y;
        }
    tap_ok(worst_exp <= 1.5, "exp: worst %.3f ulp (at %.9g) over [-105, 90]", worst_exp, (double)at_exp);
    tap_ok(worst_tanh <= 1.5, "tanh: worst %.3f ulp (at %.9g) over [-12, 12] and tiny arguments", worst_tanh,
           (double)at_tanh);
    tap_ok(isinf(ir_kexpf(INFINITY)) && ir_kexpf(-INFINITY) == 0 && isnan(ir_kexpf(NAN)) && ir_kexpf(0.0f) == 1.0f &&
               ir_kexpf(-0.0f) == 1.0f,
           "exp: infinities, NaN and zeros");
    tap_ok(isinf(ir_kexpf(88.8f)) && ir_kexpf(88.72f) < FLT_MAX && ir_kexpf(-104.5f) == 0 &&
               ir_kexpf(-100.0f) > 0 && ir_kexpf(-100.0f) < FLT_MIN && ulps(ir_kexpf(-100.0f), exp(-100.0)) <= 1,
           "exp: overflow to +inf past ln(FLT_MAX), subnormal results rounded once, 0 below e^-104");
    tap_ok(ir_ktanhf(INFINITY) == 1 && ir_ktanhf(-INFINITY) == -1 && isnan(ir_ktanhf(NAN)) &&
               same_bits(ir_ktanhf(-0.0f), -0.0f) && same_bits(ir_ktanhf(0.0f), 0.0f) && ir_ktanhf(50.0f) == 1,
           "tanh: infinities, NaN, signed zeros, saturation");
    return tap_done();
}
