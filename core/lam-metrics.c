#include "lam-metrics.h"
#include "lam-file.h"

#include <math.h>
#include <string.h>

LamConfusion *
lam_confusion_new (int n_classes)
{
  g_return_val_if_fail (n_classes > 0 && n_classes <= 4096, NULL);
  LamConfusion *confusion = g_new0 (LamConfusion, 1);
  confusion->n_classes = n_classes;
  confusion->counts = g_new0 (guint64, (gsize) n_classes * n_classes);
  return confusion;
}

void
lam_confusion_free (LamConfusion *confusion)
{
  if (confusion == NULL)
    return;
  g_free (confusion->counts);
  g_free (confusion);
}

void
lam_confusion_reset (LamConfusion *confusion)
{
  memset (confusion->counts, 0, sizeof (guint64) * confusion->n_classes * confusion->n_classes);
  confusion->total = 0;
}

void
lam_confusion_add (LamConfusion *confusion, int true_class, int predicted)
{
  g_return_if_fail (true_class >= 0 && true_class < confusion->n_classes);
  g_return_if_fail (predicted >= 0 && predicted < confusion->n_classes);
  confusion->counts[(gsize) true_class * confusion->n_classes + predicted]++;
  confusion->total++;
}

guint64
lam_confusion_get (const LamConfusion *confusion, int true_class, int predicted)
{
  g_return_val_if_fail (true_class >= 0 && true_class < confusion->n_classes, 0);
  g_return_val_if_fail (predicted >= 0 && predicted < confusion->n_classes, 0);
  return confusion->counts[(gsize) true_class * confusion->n_classes + predicted];
}

double
lam_confusion_accuracy (const LamConfusion *confusion)
{
  if (confusion->total == 0)
    return NAN;
  guint64 correct = 0;
  for (int c = 0; c < confusion->n_classes; c++)
    correct += lam_confusion_get (confusion, c, c);
  return (double) correct / (double) confusion->total;
}

double
lam_confusion_class_accuracy (const LamConfusion *confusion, int c)
{
  guint64 row = 0;
  for (int p = 0; p < confusion->n_classes; p++)
    row += lam_confusion_get (confusion, c, p);
  if (row == 0)
    return NAN;
  return (double) lam_confusion_get (confusion, c, c) / (double) row;
}

int
lam_argmax (const float *scores, int n)
{
  int best = 0;
  for (int i = 1; i < n; i++)
    if (scores[i] > scores[best])
      best = i;
  return best;
}

gboolean
lam_in_top_k (const float *scores, int n, int label, int k)
{
  g_return_val_if_fail (label >= 0 && label < n, FALSE);
  /* The label's rank is the number of classes that beat it, a tie going to
   * the lower index as argmax does. */
  int better = 0;
  for (int i = 0; i < n; i++)
    if (scores[i] > scores[label] || (scores[i] == scores[label] && i < label))
      better++;
  return better < k;
}

void
lam_csv_append_field (GString *out, const char *field)
{
  if (field == NULL)
    field = "";
  gsize len = strlen (field);
  gboolean quote = strpbrk (field, ",\"\r\n") != NULL
                   || (len > 0 && (field[0] == ' ' || field[len - 1] == ' '));
  if (!quote) {
    g_string_append (out, field);
    return;
  }
  g_string_append_c (out, '"');
  for (const char *p = field; *p != '\0'; p++) {
    if (*p == '"')
      g_string_append_c (out, '"');
    g_string_append_c (out, *p);
  }
  g_string_append_c (out, '"');
}

static void
append_class_name (GString *out, const char *const *class_names, int c)
{
  if (class_names != NULL && class_names[c] != NULL) {
    lam_csv_append_field (out, class_names[c]);
    return;
  }
  g_string_append_printf (out, "%d", c);
}

char *
lam_confusion_to_csv (const LamConfusion *confusion, const char *const *class_names)
{
  g_return_val_if_fail (confusion != NULL, NULL);
  int n = confusion->n_classes;
  GString *out = g_string_new ("true\\predicted");
  for (int p = 0; p < n; p++) {
    g_string_append_c (out, ',');
    append_class_name (out, class_names, p);
  }
  g_string_append (out, "\r\n");
  for (int t = 0; t < n; t++) {
    append_class_name (out, class_names, t);
    for (int p = 0; p < n; p++)
      g_string_append_printf (out, ",%" G_GUINT64_FORMAT, lam_confusion_get (confusion, t, p));
    g_string_append (out, "\r\n");
  }
  return g_string_free (out, FALSE);
}

gboolean
lam_confusion_write_csv (const LamConfusion *confusion, const char *const *class_names,
                         const char *path, GError **error)
{
  g_return_val_if_fail (confusion != NULL, FALSE);
  g_return_val_if_fail (path != NULL, FALSE);
  g_autofree char *csv = lam_confusion_to_csv (confusion, class_names);
  g_autoptr (GError) local_error = NULL;
  /* Atomic, and written through devices and symlinks: lam-file.h. */
  if (!lam_file_replace_contents (path, csv, strlen (csv), &local_error)) {
    g_set_error (error, G_IO_ERROR, g_io_error_from_file_error (local_error->code), "%s",
                 local_error->message);
    return FALSE;
  }
  return TRUE;
}
