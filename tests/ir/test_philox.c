/* tests/ir/test_philox.c -- Philox4x32-10 against the published known-answer
 * vectors, and the statistics of the uniform and normal draws. */
#include <math.h>
#include <stdint.h>

#include "ir/philox.h"
#include "tests/tap.h"

static bool block_is(const uint32_t ctr[4], const uint32_t key[2], const uint32_t want[4])
{
    uint32_t got[4];
    ir_philox4x32_10(ctr, key, got);
    for (int i = 0; i < 4; i++)
        if (got[i] != want[i]) {
            tap_diag("word %d: got %08x want %08x", i, got[i], want[i]);
            return false;
        }
    return true;
}

int main(void)
{
    /* Known-answer vectors of Philox4x32-10 (Random123's kat_vectors). */
    const uint32_t zero_ctr[4] = {0, 0, 0, 0}, zero_key[2] = {0, 0};
    const uint32_t zero_out[4] = {0x6627e8d5u, 0xe169c58du, 0xbc57ac4cu, 0x9b00dbd8u};
    tap_ok(block_is(zero_ctr, zero_key, zero_out), "KAT: counter 0, key 0");
    const uint32_t ones_ctr[4] = {~0u, ~0u, ~0u, ~0u}, ones_key[2] = {~0u, ~0u};
    const uint32_t ones_out[4] = {0x408f276du, 0x41c83b0eu, 0xa20bc7c6u, 0x6d5451fdu};
    tap_ok(block_is(ones_ctr, ones_key, ones_out), "KAT: counter and key all ones");
    const uint32_t pi_ctr[4] = {0x243f6a88u, 0x85a308d3u, 0x13198a2eu, 0x03707344u};
    const uint32_t pi_key[2] = {0xa4093822u, 0x299f31d0u};
    const uint32_t pi_out[4] = {0xd16cfe09u, 0x94fdccebu, 0x5001e420u, 0x24126ea1u};
    tap_ok(block_is(pi_ctr, pi_key, pi_out), "KAT: digits of pi");

    enum { N = 200000 };
    double su = 0, sn = 0, sn2 = 0, umin = 1, umax = 0;
    for (uint64_t i = 0; i < N; i++) {
        double u = ir_philox_uniform(1337, 7, 3, i);
        double z = ir_philox_normal(1337, 7, 3, i);
        su += u; sn += z; sn2 += z * z;
        if (u < umin) umin = u;
        if (u > umax) umax = u;
    }
    double mean_n = sn / N, var_n = sn2 / N - mean_n * mean_n;
    tap_ok(umin >= 0.0 && umax < 1.0, "uniform draws lie in [0, 1)");
    /* Statistical bounds for N = 200000 fixed draws (deterministic, never
     * flaky): the standard error of a uniform mean is sqrt(1/12/N) = 6.5e-4
     * (0.005 is ~8 sigma), of a normal mean 1/sqrt(N) = 2.2e-3 (0.01 ~4.5
     * sigma), of a normal variance sqrt(2/N) = 3.2e-3 (0.02 ~6 sigma). */
    tap_ok(fabs(su / N - 0.5) < 0.005, "uniform mean %.4f is 0.5 within 0.005", su / N);
    tap_ok(fabs(mean_n) < 0.01, "normal mean %.4f is 0 within 0.01", mean_n);
    tap_ok(fabs(var_n - 1.0) < 0.02, "normal variance %.4f is 1 within 0.02", var_n);
    tap_ok(ir_philox_normal(1, 2, 3, 4) == ir_philox_normal(1, 2, 3, 4), "a draw is a pure function of its key");
    tap_ok(ir_philox_normal(1, 2, 3, 4) != ir_philox_normal(1, 3, 3, 4), "a different step draws differently");
    tap_ok(ir_philox_normal(1, 2, 3, 4) != ir_philox_normal(1, 2, 4, 4), "a different stream draws differently");
    return tap_done();
}
