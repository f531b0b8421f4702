/* lamina: the command-line entry point. */
#include <errno.h>
#include <glib/gi18n.h>
#include <glib/gstdio.h>
#include <limits.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lam-application.h"
#include "lam-checkpoint.h"
#include "lam-project-file.h"
#include "lam-cli.h"
#include "lam-dataset.h"
#include "lam-device.h"
#include "lam-help.h"
#include "lam-image-decoder.h"
#include "lam-metrics.h"
#include "lam-model.h"
#include "lam-predict.h"
#include "lam-table-dialog.h"
#include "lam-trainer.h"
#include "lamina-config.h"

static const char usage_text[] =
  "Usage: lamina [COMMAND [OPTIONS]]\n"
  "       lamina PROJECT.lamina\n"
  "\n"
  "Build, train and inspect small neural networks on image datasets and\n"
  "tables of numbers (CSV files).\n"
  "Without a command, opens the window on the default dataset; given a\n"
  "project, opens the window on it.\n"
  "\n"
  "Commands:\n"
  "  gui     Open the window (--data DIR to start on another dataset, or a project)\n"
  "  train   Train a model on a dataset and report per-epoch figures\n"
  "  eval    Evaluate saved weights on a dataset's test images\n"
  "  info    Show a model's layers (output shape, parameters, FLOPs), presets and devices\n"
  "  bench   Time training and evaluation of the standard workloads\n"
  "  export  Write a PyTorch script that rebuilds a saved model (--pytorch)\n"
  "  explain Show why saved weights classified an image: a heat map, top classes, look-alikes\n"
  "  lr-find Sweep the learning rate on a copy of a model and suggest one\n"
  "  help    Show this text\n"
  "\n"
  "Run 'lamina COMMAND --help' for a command's options.\n"
  "\n"
  "Exit codes: 0 success, 1 training diverged or failed, 2 bad command line,\n"
  "3 dataset missing or unreadable, 4 bad model spec, checkpoint or project,\n"
  "5 device unavailable, 6 could not write an output file.\n";

void
lam_cli_print_error (const char *verb, const GError *error)
{
  g_printerr ("lamina %s: %s\n", verb, error->message);
}

void
lam_cli_json_number (GString *s, double value, int decimals)
{
  if (isfinite (value))
    g_string_append_printf (s, "%.*f", decimals, value);
  else
    g_string_append (s, "null");
}

void
lam_cli_add_path (GPtrArray *paths, const char *path)
{
  if (path != NULL)
    g_ptr_array_add (paths, g_strdup (path));
}

void
lam_cli_add_project_paths (GPtrArray *paths, const char *path)
{
  lam_cli_add_path (paths, path);
  g_ptr_array_add (paths, lam_project_file_weights_path (path));
  g_ptr_array_add (paths, lam_project_file_optimizer_path (path));
  g_ptr_array_add (paths, lam_project_file_snapshots_path (path));
}

void
lam_cli_add_dataset_paths (GPtrArray *paths, const char *dir)
{
  if (dir == NULL)
    return;
  if (!g_file_test (dir, G_FILE_TEST_IS_DIR)) {
    lam_cli_add_path (paths, dir);
    return;
  }
  g_autoptr (GDir) folder = g_dir_open (dir, 0, NULL);
  const char *name;
  while (folder != NULL && (name = g_dir_read_name (folder)) != NULL) {
    g_autofree char *path = g_build_filename (dir, name, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      g_ptr_array_add (paths, g_steal_pointer (&path));
  }
}

int
lam_cli_load_weights (const char *verb, const char *load_path, LamCheckpointInfo **info,
                      float **params)
{
  g_autoptr (GError) error = NULL;
  if (!g_str_has_suffix (load_path, LAM_PROJECT_FILE_SUFFIX)) {
    if (!lam_checkpoint_load (load_path, info, params, &error)) {
      lam_cli_print_error (verb, error);
      return LAM_EXIT_MODEL;
    }
    if ((*info)->note != NULL)
      g_printerr ("lamina %s: %s\n", verb, (*info)->note);
    return LAM_EXIT_OK;
  }
  g_autoptr (LamProjectFile) project = lam_project_file_load (load_path, &error);
  if (project == NULL) {
    lam_cli_print_error (verb, error);
    return LAM_EXIT_MODEL;
  }
  if (project->note != NULL)
    g_printerr ("lamina %s: %s\n", verb, project->note);
  if (project->params == NULL) {
    g_printerr ("lamina %s: %s has no trained weights: train it first ('lamina train --load "
                "%s')\n",
                verb, load_path, load_path);
    return LAM_EXIT_MODEL;
  }
  /* A project keeps no table columns, standardisation or test split, and
   * nor do its weights: only a checkpoint of a table does. The window
   * names a table with its columns ("t.csv?inputs=...&targets=..."). */
  if (lam_table_name_is_table (project->dataset_dir)) {
    g_printerr ("lamina %s: %s was trained on a table of numbers%s\n", verb, load_path,
                g_str_equal (verb, "explain")
                  ? "; explain draws maps over images"
                  : ", and a project does not keep the table's columns and standardisation that "
                    "reading it needs; weights saved by 'lamina train --data FILE.csv --save "
                    "FILE.safetensors' do");
    return LAM_EXIT_MODEL;
  }
  *info = lam_project_file_dup_checkpoint_info (project);
  *params = g_steal_pointer (&project->params);
  return LAM_EXIT_OK;
}

gboolean
lam_cli_same_file (const char *a, const char *b)
{
  GStatBuf a_stat, b_stat;
  return a != NULL && b != NULL && g_stat (a, &a_stat) == 0 && g_stat (b, &b_stat) == 0 &&
         a_stat.st_dev == b_stat.st_dev && a_stat.st_ino == b_stat.st_ino;
}

gboolean
lam_cli_check_outputs (const char *option, GPtrArray *outputs, GPtrArray *inputs, GError **error)
{
  for (guint o = 0; o < outputs->len; o++) {
    const char *output = g_ptr_array_index (outputs, o);
    for (guint i = 0; i < inputs->len; i++) {
      const char *input = g_ptr_array_index (inputs, i);
      if (lam_cli_same_file (output, input)) {
        g_autofree char *same =
          g_str_equal (output, input) ? g_strdup ("") : g_strdup_printf (" (%s)", input);
        g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                     "%s: writing %s would overwrite a file this command reads%s; choose "
                     "another name",
                     option, output, same);
        return FALSE;
      }
    }
  }
  return TRUE;
}

gboolean
lam_cli_check_writable (const char *option, const char *path, GError **error)
{
  if (path == NULL || *path == '\0') {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s: expected a file name",
                 option);
    return FALSE;
  }
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: %s is a folder; name a file in it", option, path);
    return FALSE;
  }
  g_autofree char *folder = g_path_get_dirname (path);
  /* The write itself would say only "File name too long", after the work. */
  g_autofree char *name = g_path_get_basename (path);
  long name_max = pathconf (g_file_test (folder, G_FILE_TEST_IS_DIR) ? folder : "/", _PC_NAME_MAX);
  if (name_max <= 0)
    name_max = NAME_MAX;
  if (strlen (name) > (gsize) name_max) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: cannot write %s: its name is %" G_GSIZE_FORMAT " bytes long, and a file "
                 "name there may be at most %ld",
                 option, path, strlen (name), name_max);
    return FALSE;
  }
  if (!g_file_test (folder, G_FILE_TEST_IS_DIR)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: cannot write %s: the folder %s does not exist", option, path, folder);
    return FALSE;
  }
  if (g_access (folder, W_OK) != 0) {
    int saved = errno;
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: cannot write %s: the folder %s is not writable (%s)", option, path, folder,
                 g_strerror (saved));
    return FALSE;
  }
  return TRUE;
}

gboolean
lam_cli_parse_int (const char *option, const char *text, gint64 min, gint64 max, gint64 *out,
                   GError **error)
{
  gint64 value;
  g_autoptr (GError) local = NULL;
  if (text == NULL || !g_ascii_string_to_signed (text, 10, min, max, &value, &local)) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: expected a whole number from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                 ", got \"%s\"", option, min, max, text ? text : "");
    return FALSE;
  }
  *out = value;
  return TRUE;
}

/* Whether GLib converts the value of the option typed as `option` to
 * UTF-8: a file name it keeps as bytes, and a flag takes no value. */
static gboolean
takes_text (const GOptionEntry *entries, const char *option)
{
  for (const GOptionEntry *e = entries; e->long_name != NULL; e++) {
    gboolean named = g_str_has_prefix (option, "--")
                       ? g_str_equal (option + 2, e->long_name)
                       : e->short_name != 0 && option[1] == e->short_name && option[2] == '\0';
    if (named)
      return e->arg != G_OPTION_ARG_NONE && e->arg != G_OPTION_ARG_FILENAME &&
             e->arg != G_OPTION_ARG_FILENAME_ARRAY;
  }
  return FALSE;
}

gboolean
lam_cli_parse_options (const char *verb, GOptionContext *context, const GOptionEntry *entries,
                       int *argc, char ***argv)
{
  /* Parsing rearranges argv: the arguments as typed, to name one. */
  g_auto (GStrv) typed = g_strdupv (*argv);
  g_autoptr (GError) error = NULL;
  if (g_option_context_parse (context, argc, argv, &error))
    return TRUE;
  if (error->domain != G_CONVERT_ERROR) {
    lam_cli_print_error (verb, error);
    return FALSE;
  }
  /* GLib says only "Invalid byte sequence": say which option's value. A
   * file name, or an argument after a flag, may be any bytes: GLib's
   * complaint is about another. */
  const char *charset;
  g_get_charset (&charset);
  for (int i = 1; typed[i] != NULL; i++) {
    /* As GLib converts a text option's value: from the locale's charset
     * (ASCII under LC_ALL=C, where "é" is no text either). */
    g_autofree char *converted = g_locale_to_utf8 (typed[i], -1, NULL, NULL, NULL);
    if (converted != NULL)
      continue;
    const char *equals = strchr (typed[i], '=');
    g_autofree char *option = g_str_has_prefix (typed[i], "--") && equals != NULL
                                ? g_strndup (typed[i], equals - typed[i])
                              : i > 1 && typed[i - 1][0] == '-' ? g_strdup (typed[i - 1])
                                                                : NULL;
    if (option != NULL && takes_text (entries, option)) {
      gboolean ascii = g_str_equal (charset, "ANSI_X3.4-1968") || g_str_equal (charset, "ASCII");
      g_printerr ("lamina %s: %s: the value is not text in this locale's character set (%s); "
                  "only file and folder names may be other bytes\n",
                  verb, option, ascii ? "ASCII: LANG or LC_ALL set to C?" : charset);
      return FALSE;
    }
  }
  lam_cli_print_error (verb, error);
  return FALSE;
}

gboolean
lam_cli_parse_double (const char *option, const char *text, double min, double max,
                      gboolean min_exclusive, double *out, GError **error)
{
  char *end = NULL;
  double value = 0;
  gboolean ok = text != NULL && *text != '\0';
  /* 1e-400 is a number above 0 all the same: what is wrong is that a
   * double cannot hold it. */
  const char *why = "";
  if (ok) {
    errno = 0;
    value = g_ascii_strtod (text, &end);
    gboolean unheld = errno == ERANGE && (value == 0 || isinf (value));
    ok = !unheld && end != text && *end == '\0' && isfinite (value) &&
         (min_exclusive ? value > min : value >= min) && value <= max;
    if (unheld && end != text && *end == '\0')
      why = value == 0 ? " (too close to 0 for a number to hold: it would read as 0)"
                       : " (too large for a number to hold)";
  }
  if (!ok) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: expected a number %s %g and at most %g, got \"%s\"%s", option,
                 min_exclusive ? "above" : "from", min, max, text ? text : "", why);
    return FALSE;
  }
  /* -0 reads as 0: it would print as "-0%". */
  *out = value + 0.0;
  return TRUE;
}

int
lam_cli_parse_floats (const char *option, const char *text, float *out, int max_count,
                      GError **error)
{
  g_auto (GStrv) parts = g_strsplit (text, ",", -1);
  int n = (int) g_strv_length (parts);
  if (n < 1 || n > max_count) {
    g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                 "%s: expected 1 to %d comma-separated numbers, got \"%s\"", option, max_count,
                 text);
    return -1;
  }
  for (int i = 0; i < n; i++) {
    double value;
    g_strstrip (parts[i]);
    if (!lam_cli_parse_double (option, parts[i], -LAM_NORMALIZATION_MAX_SETTING,
                               LAM_NORMALIZATION_MAX_SETTING, FALSE, &value, error))
      return -1;
    out[i] = (float) value;
  }
  return n;
}

/* lamina info */

static void
print_devices (void)
{
  g_autoptr (GError) error = NULL;
  LamBackend *cpu = lam_backend_cpu_new ();
  g_print ("Devices:\n  cpu   %s\n", cpu->device_name);
  lam_backend_free (cpu);
  LamBackend *cuda = lam_device_open ("cuda", NULL, &error);
  if (cuda != NULL) {
    g_print ("  cuda  %s\n", cuda->device_name);
    lam_backend_free (cuda);
  } else {
    g_print ("  cuda  unavailable: %s\n", error->message);
  }
}

static char *
format_count (guint64 value)
{
  g_autofree char *digits = g_strdup_printf ("%" G_GUINT64_FORMAT, value);
  GString *out = g_string_new (NULL);
  int len = (int) strlen (digits);
  for (int i = 0; i < len; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      g_string_append_c (out, ',');
    g_string_append_c (out, digits[i]);
  }
  return g_string_free (out, FALSE);
}

/* lamina info --data DIR: what a dataset folder holds, read as training
 * reads it, so that a damaged file is found before a run. */
static int
print_dataset_info (const char *dir, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  if (!lam_dataset_load_dir (dir, &train, &test, &error)) {
    lam_cli_print_error ("info", error);
    return LAM_EXIT_DATA;
  }
  g_autofree int *counts = g_new0 (int, train->n_classes);
  for (int i = 0; i < train->n; i++)
    counts[train->labels[i]]++;
  if (json) {
    g_autoptr (GString) s = g_string_new ("{\"dataset\": ");
    lam_json_append_string (s, train->name);
    g_string_append_printf (s,
                            ", \"train\": %d, \"test\": %d, \"shape\": [%d, %d, %d], "
                            "\"classes\": [",
                            train->n, test ? test->n : 0, train->channels, train->height,
                            train->width);
    for (int c = 0; c < train->n_classes; c++) {
      g_string_append (s, c ? ", {\"name\": " : "{\"name\": ");
      lam_json_append_string (s, train->class_names[c]);
      g_string_append_printf (s, ", \"train\": %d}", counts[c]);
    }
    g_string_append (s, "]}\n");
    g_print ("%s", s->str);
    return LAM_EXIT_OK;
  }
  g_autofree char *shown = g_filename_display_name (dir);
  g_print ("Dataset: %s (%s)\n  %d training images and %d test images of %d×%d×%d, "
           "%d classes\n\n  %-20s %s\n",
           train->name, shown, train->n, test ? test->n : 0, train->channels, train->height,
           train->width, train->n_classes, "class", "training images");
  for (int c = 0; c < train->n_classes; c++)
    g_print ("  %-20s %d\n", train->class_names[c], counts[c]);
  g_print ("\nPlan a model on it with: lamina info --data %s --model SPEC\n", shown);
  return LAM_EXIT_OK;
}

/* lamina info --data FILE.csv: the columns of a table, with the
 * statistics of those that hold numbers. */
static int
print_table_info (const char *path, gboolean json)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamCsvSummary) summary = lam_csv_summary_load (path, &error);
  if (summary == NULL) {
    lam_cli_print_error ("info", error);
    return LAM_EXIT_DATA;
  }
  const char *separators[] = { ",", "comma", ";", "semicolon", "\t", "tab" };
  const char *separator = "comma";
  for (guint i = 0; i < G_N_ELEMENTS (separators); i += 2)
    if (summary->delimiter == separators[i][0])
      separator = separators[i + 1];
  if (json) {
    g_autoptr (GString) s = g_string_new ("{\"table\": ");
    lam_json_append_string (s, path);
    g_string_append_printf (s, ", \"rows\": %d, \"separator\": \"%s\", \"columns\": [",
                            summary->n_rows, separator);
    for (int k = 0; k < summary->n_columns; k++) {
      const LamCsvColumn *c = &summary->columns[k];
      g_string_append (s, k ? ", {\"name\": " : "{\"name\": ");
      lam_json_append_string (s, c->name);
      g_string_append_printf (s, ", \"kind\": \"%s\"",
                              c->integer ? "integer" : c->numeric ? "number" : "text");
      const char *keys[] = { "mean", "std", "min", "max" };
      double values[] = { c->mean, c->std, c->min, c->max };
      for (guint i = 0; c->numeric && i < G_N_ELEMENTS (keys); i++) {
        g_string_append_printf (s, ", \"%s\": ", keys[i]);
        lam_json_append_double (s, values[i]);
      }
      g_string_append_printf (s, ", \"distinct\": %d, \"example\": ", c->n_distinct);
      lam_json_append_string (s, c->example);
      g_string_append_c (s, '}');
    }
    g_string_append (s, "]}\n");
    g_print ("%s", s->str);
    return LAM_EXIT_OK;
  }
  g_print ("Table: %s, %d rows of %d columns separated by a %s\n\n", path, summary->n_rows,
           summary->n_columns, separator);
  g_print ("  %-18s %-8s %12s %12s %12s %12s %9s  %s\n", "column", "kind", "mean", "std", "min",
           "max", "distinct", "first value");
  for (int k = 0; k < summary->n_columns; k++) {
    const LamCsvColumn *c = &summary->columns[k];
    char v[4][G_ASCII_DTOSTR_BUF_SIZE] = { "", "", "", "" };
    double values[] = { c->mean, c->std, c->min, c->max };
    for (int i = 0; c->numeric && i < 4; i++)
      g_ascii_formatd (v[i], sizeof v[i], "%.6g", values[i]);
    g_autofree char *distinct = c->n_distinct > LAM_CSV_MAX_CLASSES
                                  ? g_strdup_printf (">%d", LAM_CSV_MAX_CLASSES)
                                  : g_strdup_printf ("%d", c->n_distinct);
    g_print ("  %-18s %-8s %12s %12s %12s %12s %9s  %s\n", c->name,
             c->integer ? "integer" : c->numeric ? "number" : "text", v[0], v[1], v[2], v[3],
             distinct, c->example);
  }
  g_print ("\nTrain on it with: lamina train --data %s --targets COLUMN[,COLUMN...]\n"
           "(numbers to predict make a regression; text, or a few whole numbers, classes)\n",
           path);
  return LAM_EXIT_OK;
}

int
lam_cli_info (int argc, char **argv)
{
  g_autofree char *model_text = NULL;
  g_autofree char *input_text = NULL;
  g_autofree char *data_dir = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "model", 'm', 0, G_OPTION_ARG_FILENAME, &model_text,
      "Model: a preset name, a .json file, inline JSON or text like "
      "'flatten,linear:256,relu,linear:10'",
      "SPEC" },
    { "input", 'i', 0, G_OPTION_ARG_STRING, &input_text,
      "Input shape per image, e.g. 1x28x28 (default: the spec's, else 1x28x28)", "CxHxW" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Take the input shape from a dataset folder; or, for a table (FILE.csv), show its columns",
      "DIR|FILE.csv" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the plan as JSON", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("- show a model's layers");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context,
                                "Without --model, lists the presets and the devices.");
  if (!lam_cli_parse_options ("info", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina info: unexpected argument \"%s\"\n", argv[1]);
    return LAM_EXIT_USAGE;
  }

  /* A table (a file, or the name of one Lamina comes with): its columns. */
  if (data_dir != NULL && !g_file_test (data_dir, G_FILE_TEST_EXISTS)) {
    char *bundled = lam_dataset_find_bundled_table (data_dir);
    if (bundled != NULL) {
      g_free (data_dir);
      data_dir = bundled;
    }
  }
  if (data_dir != NULL && g_file_test (data_dir, G_FILE_TEST_IS_REGULAR)) {
    if (model_text != NULL) {
      g_printerr ("lamina info: --data %s is a table: plan a model on it with --input N (its "
                  "number of input columns) instead\n", data_dir);
      return LAM_EXIT_USAGE;
    }
    return print_table_info (data_dir, json);
  }
  if (data_dir != NULL && !g_file_test (data_dir, G_FILE_TEST_EXISTS)) {
    g_printerr ("lamina info: --data: %s does not exist\n", data_dir);
    return LAM_EXIT_DATA;
  }

  if (model_text == NULL && data_dir != NULL)
    return print_dataset_info (data_dir, json);
  if (model_text == NULL) {
    g_auto (GStrv) presets = lam_model_spec_list_presets ();
    g_print ("Lamina %s\n\nPresets:\n", LAMINA_VERSION);
    for (int i = 0; presets[i] != NULL; i++) {
      g_autoptr (LamModelSpec) spec = lam_model_spec_preset (presets[i], NULL);
      g_autofree char *text = spec ? lam_model_spec_to_text (spec) : NULL;
      g_print ("  %-20s %s\n", presets[i], text ? text : "");
    }
    g_print ("\n");
    print_devices ();
    return LAM_EXIT_OK;
  }

  g_autoptr (LamModelSpec) spec = lam_model_spec_from_string (model_text, &error);
  if (spec == NULL) {
    lam_cli_print_error ("info", error);
    return LAM_EXIT_MODEL;
  }
  if (data_dir != NULL) {
    g_autoptr (LamDataset) train = NULL;
    if (!lam_dataset_load_dir (data_dir, &train, NULL, &error)) {
      lam_cli_print_error ("info", error);
      return LAM_EXIT_DATA;
    }
    spec->has_input = TRUE;
    spec->input = lam_shape_chw (train->channels, train->height, train->width);
  } else if (input_text != NULL) {
    gint64 dims[3];
    g_auto (GStrv) parts = g_strsplit_set (input_text, "x×,", -1);
    guint n = g_strv_length (parts);
    if (n != 1 && n != 3) {
      g_printerr ("lamina info: --input: expected CxHxW or a feature count, got \"%s\"\n",
                  input_text);
      return LAM_EXIT_USAGE;
    }
    for (guint i = 0; i < n; i++)
      if (!lam_cli_parse_int ("--input", parts[i], 1, 100000, &dims[i], &error)) {
        lam_cli_print_error ("info", error);
        return LAM_EXIT_USAGE;
      }
    spec->has_input = TRUE;
    spec->input = n == 1 ? lam_shape_flat ((int) dims[0])
                         : lam_shape_chw ((int) dims[0], (int) dims[1], (int) dims[2]);
  } else if (!spec->has_input) {
    spec->has_input = TRUE;
    spec->input = lam_shape_chw (1, 28, 28);
  }

  g_autoptr (LamModelPlan) plan = lam_model_plan_new (spec, &error);
  if (plan == NULL) {
    lam_cli_print_error ("info", error);
    return LAM_EXIT_MODEL;
  }

  if (json) {
    g_autoptr (GString) out = g_string_new ("{\"layers\": [");
    for (int i = 0; i < plan->n_layers; i++) {
      const LamLayer *layer = &plan->layers[i];
      g_autofree char *shape = lam_shape_to_string (&layer->out_shape);
      g_string_append_printf (out,
                              "%s{\"index\": %d, \"type\": \"%s\", \"output\": \"%s\", "
                              "\"params\": %" G_GSIZE_FORMAT ", \"flops\": %" G_GUINT64_FORMAT "}",
                              i ? ", " : "", i, lam_layer_kind_to_string (layer->spec.kind),
                              shape, layer->n_weights + layer->n_bias, layer->flops);
    }
    g_string_append_printf (out, "], \"params\": %" G_GSIZE_FORMAT ", \"flops\": %" G_GUINT64_FORMAT
                            ", \"loss\": \"%s\"}\n", plan->n_trainable, plan->flops,
                            lam_loss_kind_to_string (lam_model_spec_get_loss (spec)));
    g_print ("%s", out->str);
    return LAM_EXIT_OK;
  }

  g_autofree char *input_shape = lam_shape_to_string (&plan->input);
  g_print ("Model: %s (loss: %s)\n\n", spec->name ? spec->name : "custom",
           lam_loss_kind_to_string (lam_model_spec_get_loss (spec)));
  g_print ("%5s  %-12s %-14s %14s %16s\n", "layer", "type", "output", "parameters",
           "FLOPs/image");
  g_print ("%5s  %-12s %-14s %14s %16s\n", "", "input", input_shape, "", "");
  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    g_autofree char *shape = lam_shape_to_string (&layer->out_shape);
    g_autofree char *params = format_count (layer->n_weights + layer->n_bias);
    g_autofree char *flops = format_count (layer->flops);
    g_print ("%5d  %-12s %-14s %14s %16s\n", i + 1, lam_layer_kind_to_string (layer->spec.kind),
             shape, params, flops);
  }
  g_autofree char *total_params = format_count (plan->n_trainable);
  g_autofree char *total_flops = format_count (plan->flops);
  g_print ("%5s  %-12s %-14s %14s %16s\n", "", "total", "", total_params, total_flops);
  g_print ("\nWeights: %.2f MB in float32; training memory per image: %.1f KB of activations\n",
           plan->n_params * 4.0 / 1e6, plan->activation_floats_per_sample * 4.0 / 1e3);
  return LAM_EXIT_OK;
}

/* lamina eval */

/* A regression's evaluation: the loss (on standardised targets), then MSE,
 * MAE and R² in the targets' units, overall and per target. */
static void
print_regression_eval (const LamDataset *dataset, const LamPrediction *p, double seconds,
                       LamBackend *backend, const char *note, gboolean json)
{
  if (json) {
    g_autoptr (GString) s = g_string_new ("{\"event\": \"eval\"");
    g_string_append_printf (s, ", \"rows\": %d, \"loss\": ", dataset->n);
    lam_json_append_double (s, p->mean_loss);
    const char *keys[] = { "mse", "mae", "r2" };
    double values[] = { p->mse, p->mae, p->r2 };
    for (int i = 0; i < 3; i++) {
      g_string_append_printf (s, ", \"%s\": ", keys[i]);
      lam_json_append_double (s, values[i]);
    }
    g_string_append (s, ", \"seconds\": ");
    lam_json_append_double (s, seconds);
    g_string_append_printf (s, ", \"device\": \"%s\", \"targets\": [", backend->name);
    for (int j = 0; j < p->n_targets; j++) {
      g_string_append (s, j ? ", {\"name\": " : "{\"name\": ");
      lam_json_append_string (s, dataset->target_names[j]);
      double per[] = { p->target_mse[j], p->target_mae[j], p->target_r2[j] };
      for (int i = 0; i < 3; i++) {
        g_string_append_printf (s, ", \"%s\": ", keys[i]);
        lam_json_append_double (s, per[i]);
      }
      g_string_append_c (s, '}');
    }
    g_string_append (s, "]}\n");
    g_print ("%s", s->str);
    return;
  }
  char a[G_ASCII_DTOSTR_BUF_SIZE], b[G_ASCII_DTOSTR_BUF_SIZE], c[G_ASCII_DTOSTR_BUF_SIZE];
  if (note != NULL)
    g_print ("(%s)\n", note);
  g_print ("%s: %d rows, MSE %s, MAE %s, R² %s (%.2f s on %s)\n\nPer target:\n", dataset->name,
           dataset->n, g_ascii_formatd (a, sizeof a, "%.4g", p->mse),
           g_ascii_formatd (b, sizeof b, "%.4g", p->mae),
           g_ascii_formatd (c, sizeof c, "%.4f", p->r2), seconds, backend->device_name);
  for (int j = 0; j < p->n_targets; j++)
    g_print ("  %-14s MSE %s  MAE %s  R² %s\n", dataset->target_names[j],
             g_ascii_formatd (a, sizeof a, "%.4g", p->target_mse[j]),
             g_ascii_formatd (b, sizeof b, "%.4g", p->target_mae[j]),
             g_ascii_formatd (c, sizeof c, "%.4f", p->target_r2[j]));
}

int
lam_cli_eval (int argc, char **argv)
{
  g_autofree char *load_path = NULL;
  g_autofree char *data_dir = NULL;
  g_autofree char *device = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "load", 'l', 0, G_OPTION_ARG_FILENAME, &load_path,
      "A project (.lamina), or weights saved by 'lamina train --save' (.safetensors, or its "
      ".json)",
      "FILE" },
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder (default: the one the weights were trained on, where it still is; else "
      LAM_DATASET_DEFAULT_DIR ")", "DIR" },
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "auto, cpu or cuda (default auto)", "DEVICE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print the result as one JSON object", NULL },
    { NULL }
  };
  g_autoptr (GOptionContext) context =
    g_option_context_new ("- evaluate saved weights on a dataset's test images");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  if (!lam_cli_parse_options ("eval", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  if (argc > 1) {
    g_printerr ("lamina eval: unexpected argument \"%s\"\n", argv[1]);
    return LAM_EXIT_USAGE;
  }
  if (load_path == NULL) {
    g_printerr ("lamina eval: --load FILE is required (weights saved by 'lamina train --save')\n");
    return LAM_EXIT_USAGE;
  }

  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *params = NULL;
  int status = lam_cli_load_weights ("eval", load_path, &info, &params);
  if (status != LAM_EXIT_OK)
    return status;

  g_autoptr (LamDataset) train = NULL;
  g_autoptr (LamDataset) test = NULL;
  /* Unless told otherwise, the dataset the weights were trained on, as
   * explain takes it, while it is there. */
  gboolean trained_on_here = info->dataset != NULL && g_file_test (info->dataset,
                                                                   G_FILE_TEST_IS_DIR);
  const char *dir = data_dir                               ? data_dir
                    : info->table != NULL || trained_on_here ? info->dataset
                                                             : LAM_DATASET_DEFAULT_DIR;
  /* A table is read as the model was trained on it: its columns, test
   * rows and standardisation come from the checkpoint. */
  if (info->table != NULL && dir == NULL) {
    g_printerr ("lamina eval: %s does not say which table it was trained on: give --data "
                "FILE.csv\n", load_path);
    return LAM_EXIT_USAGE;
  }
  if (info->table != NULL
        ? !lam_table_info_load (info->table, dir, (const char *const *) info->class_names, &train,
                                &test, &error)
        : !lam_dataset_load_dir (dir, &train, &test, &error)) {
    lam_cli_print_error ("eval", error);
    return LAM_EXIT_DATA;
  }
  LamDataset *dataset = test != NULL ? test : train;
  LamShape data_shape = lam_dataset_get_input_shape (dataset);
  if (!lam_shape_equal (&data_shape, &info->spec->input)) {
    g_autofree char *a = lam_shape_to_string (&data_shape);
    g_autofree char *b = lam_shape_to_string (&info->spec->input);
    g_printerr ("lamina eval: %s has %s of %s but the model expects %s\n", dataset->name,
                lam_dataset_is_table (dataset) ? "rows" : "images", a, b);
    return LAM_EXIT_DATA;
  }

  g_autofree char *note = NULL;
  LamBackend *backend = lam_device_open (device, &note, &error);
  if (backend == NULL) {
    lam_cli_print_error ("eval", error);
    return LAM_EXIT_DEVICE;
  }
  LamModel *model = lam_model_new (info->spec, backend, 256, 0, &error);
  if (model == NULL) {
    lam_cli_print_error ("eval", error);
    lam_backend_free (backend);
    return LAM_EXIT_MODEL;
  }
  lam_model_set_params_host (model, params);
  gboolean regression = dataset->task == LAM_TASK_REGRESSION;
  LamPredictRequest request = LAM_PREDICT_REQUEST_INIT;
  request.what = regression ? 0 : LAM_PREDICT_CONFUSION;
  gint64 start = g_get_monotonic_time ();
  g_autoptr (LamPrediction) prediction =
    lam_model_predict (model, dataset, NULL, 0, info->mean, info->std, &request, NULL, &error);
  double seconds = (g_get_monotonic_time () - start) / 1e6;
  if (prediction == NULL) {
    lam_cli_print_error ("eval", error);
    lam_model_free (model);
    lam_backend_free (backend);
    return LAM_EXIT_DATA;
  }
  if (regression) {
    print_regression_eval (dataset, prediction, seconds, backend, note, json);
    lam_model_free (model);
    lam_backend_free (backend);
    return isnan (prediction->mse) ? LAM_EXIT_FAILED : LAM_EXIT_OK;
  }
  LamConfusion *confusion = prediction->confusion;
  double accuracy = prediction->accuracy, loss = prediction->mean_loss;

  if (json) {
    g_autoptr (GString) out = g_string_new (NULL);
    g_string_append_printf (out,
                            "{\"event\": \"eval\", \"images\": %d, \"accuracy\": ", dataset->n);
    lam_cli_json_number (out, accuracy, 6);
    g_string_append (out, ", \"loss\": ");
    lam_cli_json_number (out, loss, 6);
    g_string_append_printf (out, ", \"seconds\": %.4f, \"device\": \"%s\", \"per_class\": [",
                            seconds, backend->name);
    for (int c = 0; c < dataset->n_classes; c++) {
      g_string_append (out, c ? ", " : "");
      lam_cli_json_number (out, lam_confusion_class_accuracy (confusion, c), 6);
    }
    g_string_append (out, "], \"confusion\": [");
    for (int r = 0; r < dataset->n_classes; r++) {
      g_string_append (out, r ? ", [" : "[");
      for (int c = 0; c < dataset->n_classes; c++)
        g_string_append_printf (out, "%s%" G_GUINT64_FORMAT, c ? ", " : "",
                                lam_confusion_get (confusion, r, c));
      g_string_append (out, "]");
    }
    g_string_append (out, "]}\n");
    g_print ("%s", out->str);
  } else {
    if (note != NULL)
      g_print ("(%s)\n", note);
    g_print ("%s: %d images, accuracy %.2f%%, loss %.4f (%.2f s on %s)\n\nPer class:\n",
             dataset->name, dataset->n, accuracy * 100, loss, seconds, backend->device_name);
    for (int c = 0; c < dataset->n_classes; c++)
      g_print ("  %-14s %6.2f%%\n", dataset->class_names[c],
               lam_confusion_class_accuracy (confusion, c) * 100);
    g_print ("\nConfusion matrix (rows: true class, columns: predicted):\n");
    for (int r = 0; r < dataset->n_classes; r++) {
      g_print ("  %-14s", dataset->class_names[r]);
      for (int c = 0; c < dataset->n_classes; c++)
        g_print (" %5" G_GUINT64_FORMAT, lam_confusion_get (confusion, r, c));
      g_print ("\n");
    }
  }
  lam_model_free (model);
  lam_backend_free (backend);
  return isnan (accuracy) ? LAM_EXIT_FAILED : LAM_EXIT_OK;
}

/* lamina gui */

int
lam_cli_gui (int argc, char **argv)
{
  g_autofree char *data_dir = NULL;
  GOptionEntry entries[] = {
    { "data", 'd', 0, G_OPTION_ARG_FILENAME, &data_dir,
      "Dataset folder to open (default: " LAM_DATASET_DEFAULT_DIR ")", "DIR" },
    { NULL }
  };
  g_autoptr (GOptionContext) context = g_option_context_new ("[PROJECT.lamina…] - open the window");
  g_autoptr (GError) error = NULL;
  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_summary (context, "Given projects, opens them: the first in the window, "
                                "any others in windows of their own.");
  if (argc > 1 && !lam_cli_parse_options ("gui", context, entries, &argc, &argv))
    return LAM_EXIT_USAGE;
  /* What is left are projects; a name that is not there is said here, with
   * no window to open for it. The window explains a file that is there but
   * does not open. */
  g_autoptr (GPtrArray) run_args = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (run_args, g_strdup (argv[0]));
  for (int i = 1; i < argc; i++) {
    if (i == 1 && g_str_equal (argv[i], "--"))
      continue;
    g_autoptr (GFile) file = g_file_new_for_commandline_arg (argv[i]);
    if (!g_file_query_exists (file, NULL)) {
      g_printerr ("lamina: %s: no such project file\n", argv[i]);
      return LAM_EXIT_MODEL;
    }
    /* As URIs, so GApplication never takes a name for one of its options. */
    g_ptr_array_add (run_args, g_file_get_uri (file));
  }
  g_ptr_array_add (run_args, NULL);
  if (!gtk_init_check ()) {
    g_printerr ("lamina: cannot open a window (no display?); the commands train, eval and info "
                "work without one\n");
    return LAM_EXIT_FAILED;
  }
  g_autoptr (LamApplication) application = lam_application_new (data_dir);
  int status = g_application_run (G_APPLICATION (application), (int) run_args->len - 1,
                                  (char **) run_args->pdata);
  if (status == 0 && lam_application_get_open_failed (application))
    return LAM_EXIT_MODEL;
  return status;
}

/* A first argument that names a file rather than a command: a project
 * given as a file manager gives it (`lamina lesson.lamina`). */
static gboolean
looks_like_file (const char *arg)
{
  if (arg[0] == '-')
    return FALSE;
  return g_str_has_suffix (arg, ".lamina") || strchr (arg, '/') != NULL ||
         g_file_test (arg, G_FILE_TEST_EXISTS);
}

/* Without a GPU driver (no DRI render node: a virtual machine, a remote
 * desktop) GTK's GL renderer runs on a software rasteriser, which draws
 * this window's frames two to three times slower than Cairo does, and
 * merely probing GL (loading Mesa and LLVM) adds about 170 ms to the start
 * (lamina bench --latency). GSK_RENDERER, when set, still decides; so
 * does GDK_DEBUG. Nothing in the window draws with GL itself. */
static void
prefer_cairo_without_gpu (void)
{
  if (g_getenv ("GSK_RENDERER") != NULL)
    return;
  g_autoptr (GDir) dri = g_dir_open ("/dev/dri", 0, NULL);
  const char *name;
  while (dri != NULL && (name = g_dir_read_name (dri)) != NULL)
    if (g_str_has_prefix (name, "renderD"))
      return;
  g_setenv ("GSK_RENDERER", "cairo", FALSE);
  g_setenv ("GDK_DEBUG", "gl-disable", FALSE);
}

int
main (int argc, char **argv)
{
  prefer_cairo_without_gpu ();
  setlocale (LC_ALL, "");
  lam_help_init_translations ();
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname ("lamina");
  /* Image folders open in the window and on the command line alike. */
  lam_image_decoder_register ();

  if (argc < 2)
    return lam_cli_gui (argc, argv);
  if (g_str_equal (argv[1], "help") || g_str_equal (argv[1], "--help") ||
      g_str_equal (argv[1], "-h")) {
    g_print ("%s", usage_text);
    return LAM_EXIT_OK;
  }
  if (g_str_equal (argv[1], "--version")) {
    g_print ("lamina %s\n", LAMINA_VERSION);
    return LAM_EXIT_OK;
  }

  static const char *const verbs[] = { "gui", "train", "eval", "info", "export", "bench", "lr-find",
                                       "explain", NULL };
  if (!g_strv_contains (verbs, argv[1]) && looks_like_file (argv[1]))
    return lam_cli_gui (argc, argv);

  const char *verb = argv[1];
  /* Options of a verb are parsed with the verb as argv[0]. */
  argv[1] = g_strdup_printf ("lamina %s", verb);
  int verb_argc = argc - 1;
  char **verb_argv = argv + 1;

  if (g_str_equal (verb, "gui"))
    return lam_cli_gui (verb_argc, verb_argv);
  /* The verbs below print numbers for programs to read (--json, CSV
   * curves) with printf: under a locale whose decimal mark is a comma
   * (de_DE) their JSON read "accuracy": 0,856900, which no parser takes.
   * Their messages stay in the user's language. */
  setlocale (LC_NUMERIC, "C");
  if (g_str_equal (verb, "train"))
    return lam_cli_train (verb_argc, verb_argv);
  if (g_str_equal (verb, "eval"))
    return lam_cli_eval (verb_argc, verb_argv);
  if (g_str_equal (verb, "info"))
    return lam_cli_info (verb_argc, verb_argv);
  if (g_str_equal (verb, "export"))
    return lam_cli_export (verb_argc, verb_argv);
  if (g_str_equal (verb, "explain"))
    return lam_cli_explain (verb_argc, verb_argv);
  if (g_str_equal (verb, "bench"))
    return lam_cli_bench (verb_argc, verb_argv);
  if (g_str_equal (verb, "lr-find"))
    return lam_cli_lr_find (verb_argc, verb_argv);

  g_printerr ("lamina: unknown command \"%s\"\n\n%s", verb, usage_text);
  return LAM_EXIT_USAGE;
}
