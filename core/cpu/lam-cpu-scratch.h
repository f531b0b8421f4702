/* lam-cpu-scratch.h: room a kernel keeps per thread between calls. */
#pragma once

#include <stddef.h>

/* At least n_floats floats (no alignment promised), owned by the calling thread:
 * kept for its next call (a linear layer asks every step), grown when a
 * call needs more, and freed with the thread. Only valid until the same
 * thread asks again. */
float *lam_cpu_thread_scratch (size_t n_floats);
