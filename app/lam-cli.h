/* lam-cli.h: the headless command line shared by the `lamina` verbs. */
#pragma once

#include <glib.h>

#include "lam-checkpoint.h"

G_BEGIN_DECLS

/* Exit codes, documented in `lamina --help`. */
enum
{
  LAM_EXIT_OK = 0,
  LAM_EXIT_FAILED = 1,   /* training diverged or an evaluation failed */
  LAM_EXIT_USAGE = 2,    /* bad command line */
  LAM_EXIT_DATA = 3,     /* dataset missing or unreadable */
  LAM_EXIT_MODEL = 4,    /* bad model spec or checkpoint */
  LAM_EXIT_DEVICE = 5,   /* the requested device is unavailable */
  LAM_EXIT_IO = 6,       /* could not write an output file */
};

/* Number parsing for option values: the whole text must be a number within
 * [min, max]; errors name the option and what was typed. */
gboolean lam_cli_parse_int (const char *option, const char *text, gint64 min, gint64 max,
                            gint64 *out, GError **error);
gboolean lam_cli_parse_double (const char *option, const char *text, double min, double max,
                               gboolean min_exclusive, double *out, GError **error);
/* "0.5" or "0.1307,0.3081"-style lists of up to 3 numbers; returns count. */
int lam_cli_parse_floats (const char *option, const char *text, float *out, int max_count,
                          GError **error);

int lam_cli_train (int argc, char **argv);
int lam_cli_eval (int argc, char **argv);
int lam_cli_info (int argc, char **argv);
int lam_cli_bench (int argc, char **argv);
/* `lamina bench --latency` (lam-cli-latency.c). */
int lam_cli_bench_latency (const char *data_dir, gboolean json);
int lam_cli_gui (int argc, char **argv);
int lam_cli_export (int argc, char **argv);
/* `lamina explain` (lam-cli-explain.c). */
int lam_cli_explain (int argc, char **argv);
/* `lamina lr-find` (lam-cli-lr-find.c). */
int lam_cli_lr_find (int argc, char **argv);

void lam_cli_print_error (const char *verb, const GError *error);
/* g_option_context_parse, printing what is wrong under verb: an option
 * whose value is not UTF-8 text is named. entries are the context's main
 * entries, which say which options take file names. */
gboolean lam_cli_parse_options (const char *verb, GOptionContext *context,
                                const GOptionEntry *entries, int *argc, char ***argv);

/* The weights --load names, as eval and explain read them: a project
 * (.lamina) brings its normalisation and dataset, a checkpoint its own.
 * Prints what is wrong, or what the load had to leave out, under verb;
 * returns LAM_EXIT_OK or LAM_EXIT_MODEL. */
int lam_cli_load_weights (const char *verb, const char *load_path, LamCheckpointInfo **info,
                          float **params);

/* A number for --json output with `decimals` places, or null where it is
 * not finite (a diverged loss), which JSON has no word for. */
void lam_cli_json_number (GString *s, double value, int decimals);

/* The files a command reads and those it will write: each a path, NULL
 * entries skipped. */
void lam_cli_add_path (GPtrArray *paths, const char *path);
/* A project's files: path itself and the weights, optimizer state and
 * snapshots saved beside it. */
void lam_cli_add_project_paths (GPtrArray *paths, const char *path);
/* A dataset's files: a table's file, or the files directly inside a
 * dataset folder. */
void lam_cli_add_dataset_paths (GPtrArray *paths, const char *dir);
/* FALSE, with an error naming both, when writing one of outputs would
 * overwrite one of inputs: the same existing file under any name or
 * link (a --save onto the training table, an export onto its weights). */
gboolean lam_cli_check_outputs (const char *option, GPtrArray *outputs, GPtrArray *inputs,
                                GError **error);
/* Whether a and b both exist and are the same file, under any name. */
gboolean lam_cli_same_file (const char *a, const char *b);
/* FALSE, with an error naming the option and the problem, where a file
 * could not be written at path: empty, a folder, in a folder that does
 * not exist or this user may not write in. Asked before minutes of
 * training, not after them. */
gboolean lam_cli_check_writable (const char *option, const char *path, GError **error);

G_END_DECLS
