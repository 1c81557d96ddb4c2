/* ir/philox.h -- Philox4x32-10, the counter-based generator behind every
 * random number moec draws (initialisation, router noise, dropout).
 * A number is a pure function of (seed, step, stream, element), so the
 * interpreter, the CPU and the GPU backends draw the same values and a run
 * resumes bit-exactly (doc/architecture.md#philox-determinism). Salmon et al., SC'11. */
#ifndef MOEC_IR_PHILOX_H
#define MOEC_IR_PHILOX_H

#include <stdint.h>

/* One Philox4x32-10 block: 4 counter words, 2 key words -> 4 random words. */
void ir_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The counter and key moec uses for one element:
 *   key     = (seed low 32 bits, seed high 32 bits)
 *   counter = (element low, element high, stream, step)
 * where `stream` tells draws of different ops (or parameters) apart. */
void ir_philox_draw(uint64_t seed, uint64_t step, uint32_t stream, uint64_t element, uint32_t out[4]);

/* Uniform in [0, 1) with 24 random bits, exactly representable in float32. */
double ir_philox_uniform(uint64_t seed, uint64_t step, uint32_t stream, uint64_t element);
/* Standard normal by Box-Muller on the block's first two words. */
double ir_philox_normal(uint64_t seed, uint64_t step, uint32_t stream, uint64_t element);

#endif
