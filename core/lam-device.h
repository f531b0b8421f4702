/* lam-device.h: choosing the backend a model runs on. The CPU backend is
 * always there; the CUDA backend is a module loaded at run time with GModule
 * when it was built and a device answers. */
#pragma once

#include <glib.h>

#include "lam-backend.h"

G_BEGIN_DECLS

#define LAM_DEVICE_ERROR (lam_device_error_quark ())
GQuark lam_device_error_quark (void);

typedef enum
{
  LAM_DEVICE_ERROR_UNKNOWN,     /* not "auto", "cpu" or "cuda" */
  LAM_DEVICE_ERROR_UNAVAILABLE, /* the module is missing or no device answers */
} LamDeviceError;

/* The CPU backend (OpenBLAS). Free with lam_backend_free. */
LamBackend *lam_backend_cpu_new (void);
/* The threads a backend from lam_backend_cpu_new computes on (they spin
 * between the ops of a training step, so they keep their cores busy); 0
 * for any other backend. */
int lam_backend_cpu_threads (LamBackend *backend);
/* The floats a vector of such a backend's kernels holds: 16 (AVX-512) or
 * 8 (AVX2 and FMA) as the CPU and LAMINA_CPU_ISA allow; 0 for its plain
 * loops or any other backend. */
int lam_backend_cpu_vector_floats (LamBackend *backend);
/* Runs func over [0, n) in contiguous ranges (one per thread, rounded up to
 * 16 items; one range below 32 items) on the threads of such a backend,
 * which are free between the ops of a step; on the calling thread alone
 * while another thread's op holds them, or for any other backend. Each
 * call must write its own part. */
typedef void (*LamRangeFunc) (size_t lo, size_t hi, void *data);
void lam_backend_cpu_run_ranges (LamBackend *backend, size_t n, LamRangeFunc func, void *data);

/* "cpu", "cuda" or "auto" (the GPU when it answers, else the CPU). For
 * "auto", a GPU that does not answer is not an error: *note (may be NULL)
 * receives the reason the CPU was chosen, owned. */
LamBackend *lam_device_open (const char *device, char **note, GError **error);

void lam_backend_free (LamBackend *backend);
/* Bytes of main memory a process may still use without swapping
 * (MemAvailable), or 0 when unknown. */
guint64 lam_device_host_memory_available (void);

G_END_DECLS
