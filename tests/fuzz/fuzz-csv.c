/* A CSV table: the file is summarised, then read with its last column as
 * the target and every other as an input. What loads is written back as
 * CSV and must read back the same: values bit for bit, names, and each
 * row's class. A read with a test part must cover every row once. */
#include "fuzz-util.h"

#include <string.h>

#include "lam-dataset.h"

static void
round_trip (const LamDataset *ds, const LamCsvOptions *options)
{
  g_autofree char *out = fuzz_path ("saved.csv");
  g_autoptr (GError) error = NULL;
  if (!lam_dataset_save_csv (ds, out, &error))
    g_error ("a loaded table does not save: %s", error->message);
  LamCsvOptions again = *options;
  again.task_set = TRUE;
  again.task = ds->task;
  g_autoptr (LamDataset) back = NULL;
  if (!lam_dataset_load_csv (out, &again, &back, NULL, &error))
    g_error ("a saved table does not load: %s", error->message);
  FUZZ_CHECK (back->n == ds->n && back->n_features == ds->n_features &&
                back->n_targets == ds->n_targets && back->task == ds->task,
              "shape or task differ");
  FUZZ_CHECK (memcmp (back->features, ds->features,
                      sizeof (float) * (gsize) ds->n * ds->n_features) == 0,
              "features differ");
  for (int j = 0; j < ds->n_features; j++)
    FUZZ_CHECK (g_str_equal (back->feature_names[j], ds->feature_names[j]),
                "name %d differs: \"%s\", then \"%s\"", j, ds->feature_names[j],
                back->feature_names[j]);
  FUZZ_CHECK (g_str_equal (back->target_names[0], ds->target_names[0]), "target name differs");
  if (ds->task == LAM_TASK_REGRESSION) {
    FUZZ_CHECK (memcmp (back->targets, ds->targets,
                        sizeof (float) * (gsize) ds->n * ds->n_targets) == 0,
                "targets differ");
  } else {
    for (int i = 0; i < ds->n; i++)
      FUZZ_CHECK (g_str_equal (back->class_names[back->labels[i]], ds->class_names[ds->labels[i]]),
                  "the class of row %d differs", i);
  }
  fuzz_remove_tree (out);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  g_autofree char *path = fuzz_write ("table.csv", data, size);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamCsvSummary) summary = lam_csv_summary_load (path, &error);
  if (summary == NULL) {
    g_assert (error != NULL && error->domain == LAM_DATASET_ERROR);
    return 0;
  }
  g_assert (summary->n_columns >= 1 && summary->n_rows >= 1);

  const char *targets[] = { summary->columns[summary->n_columns - 1].name, NULL };
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.targets = targets;
  options.test_fraction = 0;
  g_autoptr (LamDataset) ds = NULL;
  if (!lam_dataset_load_csv (path, &options, &ds, NULL, &error)) {
    g_assert (error != NULL && error->domain == LAM_DATASET_ERROR);
    return 0;
  }
  FUZZ_CHECK (ds->n == summary->n_rows, "the summary counts %d rows, the table %d",
              summary->n_rows, ds->n);
  for (int j = 0; j < ds->n_features; j++)
    FUZZ_CHECK (ds->feature_std[j] > 0, "feature %d has std %g", j, ds->feature_std[j]);
  round_trip (ds, &options);

  options.test_fraction = 0.3;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (!lam_dataset_load_csv (path, &options, &train, &test, &error))
    g_error ("the table loads once but not with a test part: %s", error->message);
  FUZZ_CHECK (train->n + (test ? test->n : 0) == ds->n, "the split loses rows");
  return 0;
}
