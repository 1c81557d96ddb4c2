/* runtime/cuda/backend.c -- `--backend cuda` for the commands that do not
 * use the CUDA executor yet (runtime/cuda/backend.h). */
#include "config.h"

#include "runtime/cuda/backend.h"

#include <stdio.h>

#include "runtime/cuda/driver.h"
#include "support/diag.h"

int rt_cuda_backend_refuse(const char *command)
{
    moec_diag d;
    moec_diag_init(&d, stderr, 5);
    rt_cuda *c = NULL;
    if (rt_cuda_open(&c, 0, &d) == 0) {
#ifdef HAVE_CUDA
        fprintf(stderr, "moec: %s --backend cuda: found %s (%s, a driver for CUDA %d.%d), but %s does not use the CUDA "
                        "executor yet (moec bench --backend cuda does); use --backend cpu\n", command, rt_cuda_name(c),
                rt_cuda_arch(c), rt_cuda_driver_version(c) / 1000, rt_cuda_driver_version(c) % 1000 / 10, command);
#else
        fprintf(stderr, "moec: %s --backend cuda: found %s (%s), but this moec is not built with CUDA (configure "
                        "found no CUDA toolkit, so no NVRTC); use --backend cpu\n", command, rt_cuda_name(c),
                rt_cuda_arch(c));
#endif
        rt_cuda_close(c);
    }
    moec_diag_free(&d);
    return 2;
}
