/* A project file (.lamina). What loads is saved and must load back with the
 * same model, settings, dataset and history. */
#include "fuzz-util.h"

#include <math.h>
#include <string.h>

#include "lam-project-file.h"

static gboolean
same_double (double a, double b)
{
  return (isnan (a) && isnan (b)) || a == b;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("in/p.lamina", data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamProjectFile) file = lam_project_file_load (path, &error);
  if (file == NULL) {
    g_assert (error != NULL && error->domain == LAM_PROJECT_FILE_ERROR);
    return 0;
  }
  g_autofree char *out = fuzz_path ("out/p.lamina");
  g_autofree char *out_dir = fuzz_path ("out");
  g_mkdir_with_parents (out_dir, 0700);
  if (!lam_project_file_save (file, out, &error))
    g_error ("a loaded project does not save: %s", error->message);
  g_autoptr (LamProjectFile) back = lam_project_file_load (out, &error);
  if (back == NULL)
    g_error ("a saved project does not load: %s", error->message);
  g_autofree char *a = lam_model_spec_to_json (file->spec);
  g_autofree char *b = lam_model_spec_to_json (back->spec);
  FUZZ_CHECK (g_str_equal (a, b), "the spec changed");
  FUZZ_CHECK (g_strcmp0 (file->dataset_dir, back->dataset_dir) == 0, "dataset.dir changed");
  FUZZ_CHECK (g_strcmp0 (file->dataset_name, back->dataset_name) == 0, "dataset.name changed");
  FUZZ_CHECK (file->config.epochs == back->config.epochs &&
                file->config.batch_size == back->config.batch_size &&
                same_double (file->config.optimizer.lr, back->config.optimizer.lr) &&
                file->config.crop_padding == back->config.crop_padding &&
                file->config.padding_mode == back->config.padding_mode &&
                file->config.hflip == back->config.hflip,
              "the settings changed");
  FUZZ_CHECK (file->runs->len == back->runs->len, "runs changed");
  for (guint i = 0; i < file->runs->len; i++) {
    const LamProjectRun *r = g_ptr_array_index (file->runs, i);
    const LamProjectRun *s = g_ptr_array_index (back->runs, i);
    FUZZ_CHECK (g_strcmp0 (r->settings, s->settings) == 0 && r->epochs->len == s->epochs->len &&
                  r->steps->len == s->steps->len,
                "run %u changed", i);
  }
  FUZZ_CHECK ((file->params == NULL) == (back->params == NULL), "the weights changed");
  FUZZ_CHECK (file->n_snapshots == back->n_snapshots, "the snapshots changed");
  for (int i = 0; i < file->n_snapshots; i++)
    FUZZ_CHECK (file->snapshot_epochs[i] == back->snapshot_epochs[i] &&
                  memcmp (file->snapshots[i], back->snapshots[i],
                          file->n_params * sizeof (float)) == 0,
                "snapshot %d changed", i);
  fuzz_remove_tree (out_dir);
  return 0;
}
