/* lam-backend-cuda.cu: the CUDA backend's table, its memory and stream, and
 * the module's entry point.
 *
 * The engine loads this module with GModule (core/lam-device.c) and calls
 * lam_backend_module_open; everything else here is hidden. The CUDA runtime
 * is linked in statically, so where the module runs it needs only the
 * NVIDIA driver (libcuda.so.1) and cuBLAS, and a machine without a driver
 * or a GPU gets NULL and a sentence saying which.
 */
#include <cmath>
#include <cstdarg>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "lam-backend-cuda-private.h"

#define LAM_CUDA_EXPORT extern "C" __attribute__ ((visibility ("default")))

/* Two halves of 4 MiB: a batch of images fits one, and larger uploads
 * stream through both. */
#define STAGING_BYTES ((size_t) 4 << 20)

/* Every op up to the last one of the table is a function pointer filled
 * below; a header that grew an op this file does not know stops the build
 * here rather than leaving a NULL in the table. */
static_assert (sizeof (LamBackend) ==
                 offsetof (LamBackend, linear_activation_backward) +
                   sizeof (((LamBackend *) 0)->linear_activation_backward),
               "core/lam-backend.h has ops this CUDA module does not fill: add them to gpu/");

/* ---- errors ---- */

static void
record_failure (LamBackend *self, const char *message)
{
  CudaContext *ctx = lam_cuda_context (self);
  if (ctx->n_errors++ > 0)
    return;
  snprintf (ctx->first_error, sizeof ctx->first_error, "%s", message);
  fprintf (stderr, "lamina-cuda: %s (later CUDA errors are not logged)\n", message);
}

bool
lam_cuda_ok (LamBackend *self, cudaError_t status, const char *what)
{
  if (status == cudaSuccess)
    return true;
  char message[256];
  snprintf (message, sizeof message, "%s failed: %s (%s)", what, cudaGetErrorName (status),
            cudaGetErrorString (status));
  record_failure (self, message);
  return false;
}

bool
lam_cuda_blas_ok (LamBackend *self, cublasStatus_t status, const char *what)
{
  if (status == CUBLAS_STATUS_SUCCESS)
    return true;
  char message[256];
  snprintf (message, sizeof message, "%s failed: %s (%s)", what, cublasGetStatusName (status),
            cublasGetStatusString (status));
  record_failure (self, message);
  return false;
}

void
lam_cuda_fail (LamBackend *self, const char *format, ...)
{
  char message[256];
  va_list args;
  va_start (args, format);
  vsnprintf (message, sizeof message, format, args);
  va_end (args);
  record_failure (self, message);
}

unsigned
lam_cuda_blocks (LamBackend *self, size_t n)
{
  /* Enough blocks to fill every SM several times over; a grid-stride loop
   * covers the rest. */
  size_t cap = (size_t) lam_cuda_context (self)->sm_count * 32;
  size_t blocks = (n + LAM_CUDA_THREADS - 1) / LAM_CUDA_THREADS;
  if (blocks > cap)
    blocks = cap;
  return blocks > 0 ? (unsigned) blocks : 1u;
}

bool
lam_cuda_fits_32_bits (LamBackend *self, size_t n)
{
  return n + (size_t) lam_cuda_blocks (self, n) * LAM_CUDA_THREADS <= UINT32_MAX;
}

/* ---- memory ---- */

static void *
cuda_alloc (LamBackend *self, size_t bytes)
{
  CudaContext *ctx = lam_cuda_context (self);
  // More than the GPU has is refused here, whatever cudaMalloc would say.
  if (bytes > ctx->total_memory)
    return NULL;
  /* cudaMalloc gives NULL for zero bytes, which would read as "out of
   * memory"; every allocation is 256-byte aligned anyway. */
  size_t size = bytes < 256 ? 256 : bytes;
  void *ptr = NULL;
  cudaError_t status = cudaMalloc (&ptr, size);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError ();
    return NULL;
  }
  if (!lam_cuda_ok (self, status, "cudaMalloc"))
    return NULL;
  if (!lam_cuda_ok (self, cudaMemsetAsync (ptr, 0, size, ctx->stream), "cudaMemsetAsync")) {
    cudaFree (ptr);
    return NULL;
  }
  return ptr;
}

static void
cuda_free (LamBackend *self, void *ptr)
{
  if (ptr != NULL)
    lam_cuda_ok (self, cudaFree (ptr), "cudaFree");
}

// src_host (bytes) -> dst_device (bytes); src_host may be reused on return
static void
cuda_upload (LamBackend *self, void *dst_device, const void *src_host, size_t bytes)
{
  CudaContext *ctx = lam_cuda_context (self);
  if (bytes == 0)
    return;
  if (ctx->staging[0] == NULL) {
    lam_cuda_ok (self,
                 cudaMemcpyAsync (dst_device, src_host, bytes, cudaMemcpyHostToDevice,
                                  ctx->stream),
                 "upload");
    lam_cuda_ok (self, cudaStreamSynchronize (ctx->stream), "upload");
    return;
  }
  for (size_t done = 0; done < bytes;) {
    int half = ctx->staging_next;
    ctx->staging_next ^= 1;
    size_t part = bytes - done < ctx->staging_bytes ? bytes - done : ctx->staging_bytes;
    // The copy out of this half, two parts ago, must be over before it is refilled.
    if (!lam_cuda_ok (self, cudaEventSynchronize (ctx->staging_free[half]), "upload"))
      return;
    memcpy (ctx->staging[half], (const unsigned char *) src_host + done, part);
    if (!lam_cuda_ok (self,
                      cudaMemcpyAsync ((unsigned char *) dst_device + done, ctx->staging[half],
                                       part, cudaMemcpyHostToDevice, ctx->stream),
                      "upload") ||
        !lam_cuda_ok (self, cudaEventRecord (ctx->staging_free[half], ctx->stream), "upload"))
      return;
    done += part;
  }
}

// src_device (bytes) -> dst_host (bytes), after every op queued before
static void
cuda_download (LamBackend *self, void *dst_host, const void *src_device, size_t bytes)
{
  CudaContext *ctx = lam_cuda_context (self);
  if (bytes == 0)
    return;
  if (lam_cuda_ok (self,
                   cudaMemcpyAsync (dst_host, src_device, bytes, cudaMemcpyDeviceToHost,
                                    ctx->stream),
                   "download"))
    lam_cuda_ok (self, cudaStreamSynchronize (ctx->stream), "download");
}

// src_device (bytes) -> dst_device (bytes)
static void
cuda_copy (LamBackend *self, void *dst_device, const void *src_device, size_t bytes)
{
  CudaContext *ctx = lam_cuda_context (self);
  if (bytes == 0 || dst_device == src_device)
    return;
  lam_cuda_ok (self,
               cudaMemcpyAsync (dst_device, src_device, bytes, cudaMemcpyDeviceToDevice,
                                ctx->stream),
               "copy");
}

static void
cuda_synchronize (LamBackend *self)
{
  lam_cuda_ok (self, cudaStreamSynchronize (lam_cuda_context (self)->stream), "synchronize");
}

static void
context_free (CudaContext *ctx)
{
  if (ctx->stream != NULL)
    cudaStreamSynchronize (ctx->stream);
  for (int i = 0; i < 2; i++) {
    if (ctx->staging_free[i] != NULL)
      cudaEventDestroy (ctx->staging_free[i]);
    if (ctx->staging[i] != NULL)
      cudaFreeHost (ctx->staging[i]);
  }
  if (ctx->partials != NULL)
    cudaFree (ctx->partials);
  if (ctx->blas != NULL)
    cublasDestroy (ctx->blas);
  if (ctx->stream != NULL)
    cudaStreamDestroy (ctx->stream);
  free (ctx);
}

static void
cuda_destroy (LamBackend *self)
{
  context_free (lam_cuda_context (self));
  free (self);
}

// x (n) = value
static __global__ void
fill_kernel (float *x, size_t n, float value)
{
  LAM_CUDA_FOR_EACH (i, n)
    x[i] = value;
}

// x (n) = value
void
lam_cuda_fill (LamBackend *self, float *x, size_t n, float value)
{
  if (n == 0)
    return;
  // +0.0 is all zero bits, which the copy engine writes fastest.
  if (value == 0.0f && !std::signbit (value)) {
    lam_cuda_ok (self, cudaMemsetAsync (x, 0, n * sizeof (float), lam_cuda_context (self)->stream),
                 "fill");
    return;
  }
  fill_kernel<<<lam_cuda_blocks (self, n), LAM_CUDA_THREADS, 0,
                lam_cuda_context (self)->stream>>> (x, n, value);
  LAM_CUDA_LAUNCHED (self, "fill");
}

/* ---- opening ---- */

static void
set_message (char *error_message, size_t size, const char *format, ...)
  __attribute__ ((format (printf, 3, 4)));

static void
set_message (char *error_message, size_t size, const char *format, ...)
{
  if (error_message == NULL || size == 0)
    return;
  va_list args;
  va_start (args, format);
  vsnprintf (error_message, size, format, args);
  va_end (args);
}

/* Why cudaGetDeviceCount found nothing, in a sentence. */
static void
describe_no_device (cudaError_t status, char *error_message, size_t size)
{
  int driver = 0;
  cudaDriverGetVersion (&driver);
  cudaGetLastError ();

  if (status == cudaSuccess || status == cudaErrorNoDevice) {
    set_message (error_message, size, "no NVIDIA GPU answered (cudaErrorNoDevice)");
  } else if (status == cudaErrorInsufficientDriver && driver == 0) {
    set_message (error_message, size,
                 "no NVIDIA driver was found (libcuda.so.1 is missing: "
                 "cudaErrorInsufficientDriver)");
  } else if (status == cudaErrorInsufficientDriver) {
    set_message (error_message, size,
                 "the NVIDIA driver is too old for this CUDA build: it supports CUDA %d.%d, "
                 "this module was built with CUDA %d.%d (cudaErrorInsufficientDriver)",
                 driver / 1000, driver % 1000 / 10, CUDART_VERSION / 1000,
                 CUDART_VERSION % 1000 / 10);
  } else {
    set_message (error_message, size, "CUDA did not start: %s (%s)", cudaGetErrorName (status),
                 cudaGetErrorString (status));
  }
}

/* "NVIDIA H100 80GB HBM3 (79 GiB, compute 9.0)" */
static void
describe_device (const cudaDeviceProp *prop, char *out, size_t size)
{
  unsigned long long gib = ((unsigned long long) prop->totalGlobalMem + (1ull << 29)) >> 30;
  char text[sizeof prop->name + 64];
  snprintf (text, sizeof text, "%s (%llu GiB, compute %d.%d)", prop->name, gib, prop->major,
            prop->minor);
  size_t len = strlen (text) < size ? strlen (text) : size - 1;
  memcpy (out, text, len);
  out[len] = '\0';
}

/* Runs one kernel and reads its result, so that a GPU for which this
 * module carries no code (or a driver that cannot compile its PTX) is
 * refused here, with the reason, instead of failing every op later. */
static bool
probe_kernels (LamBackend *self, char *error_message, size_t size)
{
  CudaContext *ctx = lam_cuda_context (self);
  float *x = (float *) cuda_alloc (self, 4 * sizeof (float));
  float back[4] = { 0 };
  if (x != NULL) {
    fill_kernel<<<1, LAM_CUDA_THREADS, 0, ctx->stream>>> (x, 4, 2.5f);
    LAM_CUDA_LAUNCHED (self, "a first kernel");
    cuda_download (self, back, x, sizeof back);
    cuda_free (self, x);
  }
  if (ctx->n_errors > 0 || back[3] != 2.5f) {
    set_message (error_message, size, "the GPU did not run this module's code: %s",
                 ctx->n_errors > 0 ? ctx->first_error : "a test kernel gave a wrong answer");
    return false;
  }
  return true;
}

static bool
context_init (LamBackend *self, char *error_message, size_t size)
{
  CudaContext *ctx = lam_cuda_context (self);
  cudaError_t status;
  cublasStatus_t blas_status;

  if ((status = cudaStreamCreateWithFlags (&ctx->stream, cudaStreamNonBlocking)) != cudaSuccess) {
    set_message (error_message, size, "could not create a CUDA stream: %s (%s)",
                 cudaGetErrorName (status), cudaGetErrorString (status));
    return false;
  }
  if ((blas_status = cublasCreate (&ctx->blas)) != CUBLAS_STATUS_SUCCESS ||
      (blas_status = cublasSetStream (ctx->blas, ctx->stream)) != CUBLAS_STATUS_SUCCESS) {
    set_message (error_message, size, "cuBLAS did not start: %s (%s)",
                 cublasGetStatusName (blas_status), cublasGetStatusString (blas_status));
    return false;
  }
  /* Plain FP32 products (no TF32), so results agree with the CPU backend
   * to float rounding. */
  cublasSetMathMode (ctx->blas, CUBLAS_DEFAULT_MATH);

  if ((status = cudaMalloc ((void **) &ctx->partials, LAM_CUDA_PARTIALS * sizeof (float))) !=
      cudaSuccess) {
    set_message (error_message, size, "could not allocate %zu bytes on the GPU: %s (%s)",
                 LAM_CUDA_PARTIALS * sizeof (float), cudaGetErrorName (status),
                 cudaGetErrorString (status));
    return false;
  }

  /* Without pinned memory uploads are plain synchronous copies. */
  ctx->staging_bytes = STAGING_BYTES;
  for (int i = 0; i < 2; i++) {
    if (cudaHostAlloc ((void **) &ctx->staging[i], ctx->staging_bytes, cudaHostAllocDefault) !=
          cudaSuccess ||
        cudaEventCreateWithFlags (&ctx->staging_free[i], cudaEventDisableTiming) != cudaSuccess) {
      cudaGetLastError ();
      for (int j = 0; j <= i; j++) {
        if (ctx->staging[j] != NULL)
          cudaFreeHost (ctx->staging[j]);
        if (ctx->staging_free[j] != NULL)
          cudaEventDestroy (ctx->staging_free[j]);
        ctx->staging[j] = NULL;
        ctx->staging_free[j] = NULL;
      }
      break;
    }
  }

  return probe_kernels (self, error_message, size);
}

/* The ops; lam_backend_module_open copies them into each backend and
 * fills in the instance part. */
static const LamBackend cuda_template = {
  .abi_version = LAM_BACKEND_ABI_VERSION,
  .name = "cuda",
  .device_name = "",
  .context = NULL,
  .alloc = cuda_alloc,
  .free = cuda_free,
  .upload = cuda_upload,
  .download = cuda_download,
  .copy = cuda_copy,
  .synchronize = cuda_synchronize,
  .destroy = cuda_destroy,
  .fill = lam_cuda_fill,
  .gemm = lam_cuda_gemm,
  .bias_add = lam_cuda_bias_add,
  .bias_backward = lam_cuda_bias_backward,
  .activation_forward = lam_cuda_activation_forward,
  .activation_backward = lam_cuda_activation_backward,
  .conv2d_forward = lam_cuda_conv2d_forward,
  .conv2d_backward = lam_cuda_conv2d_backward,
  .conv2d_maxpool2_forward = lam_cuda_conv2d_maxpool2_forward,
  .conv2d_maxpool2_backward = lam_cuda_conv2d_maxpool2_backward,
  .maxpool_forward = lam_cuda_maxpool_forward,
  .maxpool_backward = lam_cuda_maxpool_backward,
  .avgpool_forward = lam_cuda_avgpool_forward,
  .avgpool_backward = lam_cuda_avgpool_backward,
  .softmax_forward = lam_cuda_softmax_forward,
  .softmax_backward = lam_cuda_softmax_backward,
  .dropout_forward = lam_cuda_dropout_forward,
  .dropout_backward = lam_cuda_dropout_backward,
  .batchnorm_forward = lam_cuda_batchnorm_forward,
  .batchnorm_backward = lam_cuda_batchnorm_backward,
  .softmax_xent = lam_cuda_softmax_xent,
  .nll = lam_cuda_nll,
  .mse = lam_cuda_mse,
  .mse_targets = lam_cuda_mse_targets,
  .l1_targets = lam_cuda_l1_targets,
  .argmax_rows = lam_cuda_argmax_rows,
  .count_correct = lam_cuda_count_correct,
  .sgd_update = lam_cuda_sgd_update,
  .adam_update = lam_cuda_adam_update,
  .l1_penalty = lam_cuda_l1_penalty,
  .linear_activation_forward = lam_cuda_linear_activation_forward,
  .linear_activation_backward = lam_cuda_linear_activation_backward,
};

/* The index of the first op left NULL, or -1. The ops are the function
 * pointers from `alloc` to the end of the table. */
static int
first_missing_op (const LamBackend *backend)
{
  typedef void (*AnyOp) (void);
  const size_t first = offsetof (LamBackend, alloc);
  size_t n = (sizeof (LamBackend) - first) / sizeof (AnyOp);
  for (size_t i = 0; i < n; i++) {
    AnyOp op;
    memcpy (&op, (const char *) backend + first + i * sizeof (AnyOp), sizeof op);
    if (op == NULL)
      return (int) i;
  }
  return -1;
}

LAM_CUDA_EXPORT LamBackend *
lam_backend_module_open (int abi_version, char *error_message, size_t size)
{
  set_message (error_message, size, "%s", "");
  if (abi_version != LAM_BACKEND_ABI_VERSION) {
    set_message (error_message, size,
                 "this CUDA module implements backend ABI %d but the program needs ABI %d "
                 "(rebuild the module with the program)",
                 LAM_BACKEND_ABI_VERSION, abi_version);
    return NULL;
  }

  int count = 0;
  cudaError_t status = cudaGetDeviceCount (&count);
  if (status != cudaSuccess || count == 0) {
    describe_no_device (status, error_message, size);
    return NULL;
  }

  const int device = 0;
  cudaDeviceProp prop;
  if ((status = cudaGetDeviceProperties (&prop, device)) != cudaSuccess ||
      (status = cudaSetDevice (device)) != cudaSuccess) {
    set_message (error_message, size, "GPU %d did not answer: %s (%s)", device,
                 cudaGetErrorName (status), cudaGetErrorString (status));
    cudaGetLastError ();
    return NULL;
  }
  /* The module carries code for compute capability 7.5 and newer. */
  if (prop.major * 10 + prop.minor < 75) {
    char name[160];
    describe_device (&prop, name, sizeof name);
    set_message (error_message, size,
                 "%s is too old for this CUDA module, which needs compute capability 7.5 or "
                 "newer",
                 name);
    return NULL;
  }

  LamBackend *backend = (LamBackend *) calloc (1, sizeof (LamBackend));
  CudaContext *ctx = (CudaContext *) calloc (1, sizeof (CudaContext));
  if (backend == NULL || ctx == NULL) {
    free (backend);
    free (ctx);
    set_message (error_message, size, "out of host memory opening the CUDA backend");
    return NULL;
  }
  *backend = cuda_template;
  backend->context = ctx;
  ctx->device = device;
  ctx->sm_count = prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1;
  ctx->total_memory = prop.totalGlobalMem;
  describe_device (&prop, backend->device_name, sizeof backend->device_name);

  int missing = first_missing_op (backend);
  if (missing >= 0) {
    set_message (error_message, size,
                 "this CUDA module leaves op %d of the backend table (ABI %d) empty; rebuild "
                 "it from a source tree that implements every op",
                 missing, LAM_BACKEND_ABI_VERSION);
    context_free (ctx);
    free (backend);
    return NULL;
  }

  if (!context_init (backend, error_message, size)) {
    context_free (ctx);
    free (backend);
    return NULL;
  }
  return backend;
}

/* For `lamina info`: one line "cuda:N  NAME (M GiB, compute X.Y)" per GPU
 * into out (size bytes, NUL-terminated); returns how many GPUs, or -1 with
 * the reason in out. Not part of the ops table: the engine may look it up
 * by name, as it does lam_backend_module_open. */
LAM_CUDA_EXPORT int
lam_backend_module_list_devices (char *out, size_t size)
{
  set_message (out, size, "%s", "");
  int count = 0;
  cudaError_t status = cudaGetDeviceCount (&count);
  if (status != cudaSuccess || count == 0) {
    describe_no_device (status, out, size);
    return -1;
  }
  size_t used = 0;
  for (int i = 0; i < count && used < size; i++) {
    cudaDeviceProp prop;
    char line[192];
    if (cudaGetDeviceProperties (&prop, i) == cudaSuccess)
      describe_device (&prop, line, sizeof line);
    else
      snprintf (line, sizeof line, "did not answer");
    int written = snprintf (out + used, size - used, "cuda:%d  %s\n", i, line);
    if (written < 0)
      break;
    used += (size_t) written;
  }
  cudaGetLastError ();
  return count;
}
