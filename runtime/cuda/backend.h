/* runtime/cuda/backend.h -- what `--backend cuda` does today for eval, grad
 * and train (bench runs the CUDA executor, runtime/cuda/bench.h): it opens the
 * CUDA driver (runtime/cuda/driver.h) and reports what it found. Without a
 * driver the message is RT_CUDA_NO_DRIVER; with one, that the executor
 * which runs a whole step on the GPU is not written yet. Either way the
 * command exits 2 rather than pretend to run (doc/kernels.md, "The CUDA
 * runtime"). */
#ifndef MOEC_RUNTIME_CUDA_BACKEND_H
#define MOEC_RUNTIME_CUDA_BACKEND_H

/* Says on stderr why `moec COMMAND --backend cuda` cannot run here and
 * returns its exit status, 2. */
int rt_cuda_backend_refuse(const char *command);

#endif
