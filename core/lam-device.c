#include "lam-device.h"

#include <string.h>

#include <gmodule.h>

#include "lamina-config.h"

G_DEFINE_QUARK (lam-device-error-quark, lam_device_error)

void
lam_backend_free (LamBackend *backend)
{
  if (backend != NULL)
    backend->destroy (backend);
}

/* Where the CUDA module may live: an override for tests and development,
 * the build tree (so an uninstalled build finds its own module), then the
 * installed location. */
static GPtrArray *
module_candidates (void)
{
  GPtrArray *paths = g_ptr_array_new_with_free_func (g_free);
  const char *override = g_getenv ("LAMINA_BACKEND_DIR");
  if (override != NULL && *override != '\0')
    g_ptr_array_add (paths, g_build_filename (override, "liblamina-cuda.so", NULL));
  g_ptr_array_add (paths, g_build_filename (LAMINA_BUILD_MODULE_DIR, "liblamina-cuda.so", NULL));
  g_ptr_array_add (paths, g_build_filename (LAMINA_MODULE_DIR, "liblamina-cuda.so", NULL));
  return paths;
}

static LamBackend *
open_cuda (GError **error)
{
  g_autoptr (GPtrArray) paths = module_candidates ();
  g_autoptr (GString) tried = g_string_new (NULL);

  if (!g_module_supported ()) {
    g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE,
                 "this system cannot load modules, so the CUDA backend is unavailable");
    return NULL;
  }

  /* Without the NVIDIA driver no GPU can answer: say so before loading the
   * module, which would pull in cuBLAS (150 MB) for nothing. */
  GModule *driver = g_module_open ("libcuda.so.1", G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (driver == NULL) {
    g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE,
                 "no NVIDIA driver was found (libcuda.so.1 is missing)");
    return NULL;
  }
  g_module_close (driver);

  for (guint i = 0; i < paths->len; i++) {
    const char *path = g_ptr_array_index (paths, i);
    if (!g_file_test (path, G_FILE_TEST_EXISTS)) {
      g_string_append_printf (tried, "%s%s (absent)", tried->len ? ", " : "", path);
      continue;
    }
    /* Kept resident: the table's function pointers live in the module. */
    GModule *module = g_module_open (path, G_MODULE_BIND_LOCAL);
    if (module == NULL) {
      g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE,
                   "the CUDA backend %s could not be loaded: %s (are the CUDA libraries "
                   "installed?)", path, g_module_error ());
      return NULL;
    }
    g_module_make_resident (module);
    LamBackendModuleOpen open_fn = NULL;
    if (!g_module_symbol (module, LAM_BACKEND_MODULE_SYMBOL, (gpointer *) &open_fn) ||
        open_fn == NULL) {
      g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE,
                   "%s is not a Lamina backend (no %s)", path, LAM_BACKEND_MODULE_SYMBOL);
      return NULL;
    }
    char message[512] = "";
    LamBackend *backend = open_fn (LAM_BACKEND_ABI_VERSION, message, sizeof message);
    if (backend == NULL) {
      g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE, "%s",
                   message[0] ? message : "no CUDA device answered");
      return NULL;
    }
    if (backend->abi_version != LAM_BACKEND_ABI_VERSION) {
      g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE,
                   "%s was built for backend ABI %d, this Lamina needs %d", path,
                   backend->abi_version, LAM_BACKEND_ABI_VERSION);
      return NULL;
    }
    return backend;
  }

  g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNAVAILABLE,
               "this Lamina was built without the CUDA backend (looked for %s)", tried->str);
  return NULL;
}

LamBackend *
lam_device_open (const char *device, char **note, GError **error)
{
  if (note != NULL)
    *note = NULL;
  if (device == NULL || g_ascii_strcasecmp (device, "auto") == 0) {
    g_autoptr (GError) cuda_error = NULL;
    LamBackend *backend = open_cuda (&cuda_error);
    if (backend != NULL)
      return backend;
    if (note != NULL)
      *note = g_strdup_printf ("using the CPU: %s", cuda_error->message);
    return lam_backend_cpu_new ();
  }
  if (g_ascii_strcasecmp (device, "cpu") == 0)
    return lam_backend_cpu_new ();
  if (g_ascii_strcasecmp (device, "cuda") == 0 || g_ascii_strcasecmp (device, "gpu") == 0)
    return open_cuda (error);

  g_set_error (error, LAM_DEVICE_ERROR, LAM_DEVICE_ERROR_UNKNOWN,
               "unknown device \"%s\" (expected auto, cpu or cuda)", device);
  return NULL;
}

guint64
lam_device_host_memory_available (void)
{
  g_autofree char *meminfo = NULL;
  if (!g_file_get_contents ("/proc/meminfo", &meminfo, NULL, NULL))
    return 0;
  const char *line = strstr (meminfo, "MemAvailable:");
  if (line == NULL)
    return 0;
  guint64 kib = g_ascii_strtoull (line + strlen ("MemAvailable:"), NULL, 10);
  return kib * 1024;
}
