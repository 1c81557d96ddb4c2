/* support/assert.h -- internal invariants (bugs in moec, never user input).
 * MOEC_ASSERT(cond) prints the file, line and condition and aborts;
 * MOEC_UNREACHABLE() marks a place control can never reach, such as the
 * default of a switch that lists every op, dtype or router kind: reaching
 * it means a table grew without its code. User mistakes go to the error
 * sink (support/diag.h) instead. */
#ifndef MOEC_SUPPORT_ASSERT_H
#define MOEC_SUPPORT_ASSERT_H

#define MOEC_ASSERT(cond) \
    ((cond) ? (void)0 : moec_assert_fail(#cond, __FILE__, __LINE__))
#define MOEC_UNREACHABLE() moec_assert_fail("unreachable", __FILE__, __LINE__)

_Noreturn void moec_assert_fail(const char *cond, const char *file, int line);

#endif
