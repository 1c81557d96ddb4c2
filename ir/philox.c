/* ir/philox.c -- Philox4x32-10 (10 rounds of the Philox S-box), and the
 * uniform and normal draws built on it. Written from the published
 * algorithm; tests/ir/test_philox.c checks the known-answer vectors. */
#include "ir/philox.h"

#include <math.h>

enum {
    PHILOX_M0 = 0xD2511F53u,  /* round multipliers */
    PHILOX_M1 = 0xCD9E8D57u,
    PHILOX_W0 = 0x9E3779B9u,  /* key schedule (golden ratio, sqrt(3)-1) */
    PHILOX_W1 = 0xBB67AE85u,
};

/* 32x32 -> 64-bit product split into high and low words. */
static void mulhilo(uint32_t a, uint32_t b, uint32_t *hi, uint32_t *lo)
{
    uint64_t p = (uint64_t)a * b;
    *hi = (uint32_t)(p >> 32);
    *lo = (uint32_t)p;
}

static void philox_round(uint32_t x[4], const uint32_t k[2])
{
    uint32_t hi0, lo0, hi1, lo1;
    mulhilo(PHILOX_M0, x[0], &hi0, &lo0);
    mulhilo(PHILOX_M1, x[2], &hi1, &lo1);
    uint32_t y0 = hi1 ^ x[1] ^ k[0];
    uint32_t y1 = lo1;
    uint32_t y2 = hi0 ^ x[3] ^ k[1];
    uint32_t y3 = lo0;
    x[0] = y0; x[1] = y1; x[2] = y2; x[3] = y3;
}

void ir_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4])
{
    uint32_t x[4] = {ctr[0], ctr[1], ctr[2], ctr[3]};
    uint32_t k[2] = {key[0], key[1]};
    for (int round = 0; round < 10; round++) {
        if (round > 0) {
            k[0] += PHILOX_W0;
            k[1] += PHILOX_W1;
        }
        philox_round(x, k);
    }
    for (int i = 0; i < 4; i++) out[i] = x[i];
}

void ir_philox_draw(uint64_t seed, uint64_t step, uint32_t stream, uint64_t element, uint32_t out[4])
{
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    uint32_t ctr[4] = {(uint32_t)element, (uint32_t)(element >> 32), stream, (uint32_t)step};
    ir_philox4x32_10(ctr, key, out);
}

/* 24 high bits of a word as a float32-exact value in [0, 1). */
static double unit24(uint32_t w) { return (double)(w >> 8) * (1.0 / 16777216.0); }

double ir_philox_uniform(uint64_t seed, uint64_t step, uint32_t stream, uint64_t element)
{
    uint32_t r[4];
    ir_philox_draw(seed, step, stream, element, r);
    return unit24(r[0]);
}

double ir_philox_normal(uint64_t seed, uint64_t step, uint32_t stream, uint64_t element)
{
    uint32_t r[4];
    ir_philox_draw(seed, step, stream, element, r);
    double u1 = unit24(r[0]) + 1.0 / 16777216.0;   /* (0, 1]: log is finite */
    double u2 = unit24(r[1]);
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}
