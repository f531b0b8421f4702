/* A checkpoint's .json description beside weights it must fit (a small MLP
 * saved without a save id, so the description is the one read), a table's
 * description included. What loads is saved as a checkpoint and must load
 * back the same. */
#include "fuzz-util.h"

#include <string.h>

#include "lam-checkpoint.h"

#define WEIGHTS_SPEC "input=4,linear:3,relu,linear:2"

static void
write_weights (const char *path)
{
  g_autoptr (LamCheckpointInfo) info = g_new0 (LamCheckpointInfo, 1);
  info->spec = lam_model_spec_from_text (WEIGHTS_SPEC, NULL);
  info->n_channels = 1;
  info->mean[0] = 0.5f;
  info->std[0] = 0.25f;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (info->spec, NULL);
  g_autofree float *params = g_new0 (float, plan->n_params);
  for (gsize i = 0; i < plan->n_params; i++)
    params[i] = (float) i / 8.0f;
  g_autoptr (GError) error = NULL;
  if (!lam_checkpoint_save_weights (path, plan, info, params, NULL, &error))
    g_error ("%s", error->message);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *weights = fuzz_path ("c.safetensors");
  if (!g_file_test (weights, G_FILE_TEST_EXISTS))
    write_weights (weights);
  g_autofree char *json = fuzz_write ("c.json", data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  if (!lam_checkpoint_load (json, &info, &params, &error)) {
    g_assert (error != NULL && error->domain == LAM_CHECKPOINT_ERROR);
    return 0;
  }
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (info->spec, &error);
  FUZZ_CHECK (plan != NULL, "a loaded spec does not plan");
  g_autofree char *out = fuzz_path ("out.safetensors");
  if (!lam_checkpoint_save (out, plan, info, params, &error))
    g_error ("a loaded checkpoint does not save: %s", error->message);
  g_autoptr (LamCheckpointInfo) back = NULL;
  g_autofree float *back_params = NULL;
  if (!lam_checkpoint_load (out, &back, &back_params, &error))
    g_error ("a saved checkpoint does not load: %s", error->message);
  g_autofree char *a = lam_model_spec_to_json (info->spec);
  g_autofree char *b = lam_model_spec_to_json (back->spec);
  FUZZ_CHECK (g_str_equal (a, b), "the spec changed");
  FUZZ_CHECK (memcmp (params, back_params, plan->n_params * sizeof (float)) == 0,
              "the weights changed");
  FUZZ_CHECK (back->n_channels == info->n_channels, "the channels changed");
  for (int c = 0; c < info->n_channels; c++)
    FUZZ_CHECK (back->mean[c] == info->mean[c] && back->std[c] == info->std[c],
                "the normalisation changed");
  FUZZ_CHECK (g_strcmp0 (back->dataset, info->dataset) == 0, "the dataset changed");
  guint n_classes = info->class_names ? g_strv_length (info->class_names) : 0;
  guint n_back = back->class_names ? g_strv_length (back->class_names) : 0;
  FUZZ_CHECK (n_classes == n_back, "the classes changed");
  for (guint i = 0; i < n_classes; i++)
    FUZZ_CHECK (g_str_equal (info->class_names[i], back->class_names[i]), "class %u changed", i);
  FUZZ_CHECK ((info->table == NULL) == (back->table == NULL), "the table came or went");
  if (info->table != NULL) {
    const LamTableInfo *t = info->table, *u = back->table;
    FUZZ_CHECK (t->task == u->task && t->n_inputs == u->n_inputs && t->n_targets == u->n_targets,
                "the table's task or columns changed");
    FUZZ_CHECK (g_strv_equal ((const char *const *) t->inputs, (const char *const *) u->inputs) &&
                  g_strv_equal ((const char *const *) t->targets, (const char *const *) u->targets),
                "the table's column names changed");
    FUZZ_CHECK (memcmp (t->input_mean, u->input_mean, sizeof (float) * t->n_inputs) == 0 &&
                  memcmp (t->input_std, u->input_std, sizeof (float) * t->n_inputs) == 0,
                "the inputs' standardisation changed");
    FUZZ_CHECK ((t->target_mean == NULL) == (u->target_mean == NULL) &&
                  (t->target_mean == NULL ||
                   (memcmp (t->target_mean, u->target_mean, sizeof (float) * t->n_targets) == 0 &&
                    memcmp (t->target_std, u->target_std, sizeof (float) * t->n_targets) == 0)),
                "the targets' standardisation changed");
    FUZZ_CHECK (t->test_fraction == u->test_fraction && t->split_seed == u->split_seed,
                "the test split changed");
  }
  return 0;
}
