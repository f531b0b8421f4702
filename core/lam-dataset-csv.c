/* lam-dataset-csv.c: tables of numbers from CSV files, for the lessons that
 * come before images (linear regression on a small table, then
 * classification of its rows).
 *
 * The whole file is read into memory (at most LAM_CSV_MAX_BYTES, checked
 * against its size first) and parsed in one pass; only the columns asked
 * for are stored. Every error names the file, the line and the column. */
#include "lam-dataset.h"

#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lam-file.h"
#include "lam-model.h"
#include "lam-playground.h"
#include "lamina-config.h"

/* Whole numbers past this are no longer exact as a double's text, and no
 * class column holds them. */
#define MAX_INTEGER 1e15

static float *
dup_or_null (const float *values, int n)
{
  return values != NULL ? g_memdup2 (values, sizeof (float) * MAX (n, 1)) : NULL;
}

void
lam_csv_options_init (LamCsvOptions *options)
{
  g_return_if_fail (options != NULL);
  memset (options, 0, sizeof *options);
  options->task = LAM_TASK_REGRESSION;
  options->test_fraction = 0.2;
  options->split_seed = 0;
  options->standardize = TRUE;
}

guint64
lam_csv_row_hash (guint64 seed, guint64 index)
{
  /* splitmix64's finaliser, as lam_hash_uniform mixes, but all 64 bits:
   * a 24-bit key would tie often in a table of a million rows. */
  guint64 z = seed ^ (index * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

gboolean
lam_dataset_is_csv (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_autofree char *lower = g_ascii_strdown (path, -1);
  return g_str_has_suffix (lower, ".csv") || g_str_has_suffix (lower, ".tsv") ||
         g_str_has_suffix (lower, ".txt");
}

char *
lam_dataset_find_bundled_table (const char *name)
{
  g_return_val_if_fail (name != NULL, NULL);
  if (*name == '\0' || strchr (name, '/') != NULL || g_str_has_prefix (name, "."))
    return NULL;
  g_autofree char *file = g_str_has_suffix (name, ".csv") ? g_strdup (name)
                                                          : g_strconcat (name, ".csv", NULL);
  const char *dirs[] = { LAMINA_TABLES_DIR, LAMINA_SOURCE_TABLES_DIR };
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++) {
    g_autofree char *path = g_build_filename (dirs[i], file, NULL);
    if (g_file_test (path, G_FILE_TEST_IS_REGULAR))
      return g_steal_pointer (&path);
  }
  return NULL;
}

/* ---- reading the file ---- */

static char *
read_file (const char *path, gsize *length, GError **error)
{
  g_autoptr (GFile) file = g_file_new_for_path (path);
  g_autoptr (GError) local = NULL;
  g_autoptr (GFileInputStream) stream = g_file_read (file, NULL, &local);
  if (stream == NULL) {
    if (g_error_matches (local, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: no such file", path);
    else
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_NOT_FOUND, "%s: cannot open (%s)",
                   path, local->message);
    return NULL;
  }
  g_autoptr (GFileInfo) info =
    g_file_input_stream_query_info (stream, G_FILE_ATTRIBUTE_STANDARD_SIZE, NULL, NULL);
  goffset size = info != NULL ? g_file_info_get_size (info) : 0;
  if (size < 0 || (guint64) size > LAM_CSV_MAX_BYTES) {
    g_autofree char *have = g_format_size ((guint64) MAX (size, 0));
    g_autofree char *limit = g_format_size (LAM_CSV_MAX_BYTES);
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                 "%s: the file is %s; a table may be at most %s", path, have, limit);
    return NULL;
  }
  /* The size is a hint (a pipe has none, a file may grow): read in chunks
   * and stop at the limit whatever it said. */
  GByteArray *bytes = g_byte_array_sized_new ((guint) size + 1);
  guint8 chunk[65536];
  for (;;) {
    gssize got = g_input_stream_read (G_INPUT_STREAM (stream), chunk, sizeof chunk, NULL, &local);
    if (got < 0) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TRUNCATED, "%s: cannot read (%s)",
                   path, local->message);
      g_byte_array_free (bytes, TRUE);
      return NULL;
    }
    if (got == 0)
      break;
    if (bytes->len + (gsize) got > LAM_CSV_MAX_BYTES) {
      g_autofree char *limit = g_format_size (LAM_CSV_MAX_BYTES);
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                   "%s: the file is larger than %s, the most a table may be", path, limit);
      g_byte_array_free (bytes, TRUE);
      return NULL;
    }
    g_byte_array_append (bytes, chunk, (guint) got);
  }
  *length = bytes->len;
  g_byte_array_append (bytes, (const guint8 *) "", 1);
  return (char *) g_byte_array_free (bytes, FALSE);
}

/* ---- records ---- */

typedef struct
{
  const char *path; /* for messages */
  const char *data; /* borrowed */
  gsize size;
  gsize pos;
  int line;         /* 1-based line of pos */
  char delimiter;
  int record_line;  /* the line the last record began on */
  GString *text;    /* the last record's fields, each followed by a NUL */
  GArray *starts;   /* gsize: where each field begins in text */
  GArray *quoted;   /* guint8: whether each field was in quotes */
} Reader;

static void
reader_clear (Reader *r)
{
  if (r->text != NULL)
    g_string_free (r->text, TRUE);
  if (r->starts != NULL)
    g_array_unref (r->starts);
  if (r->quoted != NULL)
    g_array_unref (r->quoted);
}

static gboolean
is_space (const Reader *r, char c)
{
  return c == ' ' || (c == '\t' && r->delimiter != '\t');
}

static const char *
delimiter_name (char delimiter)
{
  switch (delimiter) {
  case ';':
    return "a semicolon";
  case '\t':
    return "a tab";
  default:
    return "a comma";
  }
}

/* The separator the header line uses most, outside quotes: commas first,
 * then semicolons, then tabs, on a tie. A header with none is one column. */
static char
sniff_delimiter (const char *data, gsize size)
{
  gsize counts[3] = { 0 };
  const char candidates[3] = { ',', ';', '\t' };
  gboolean quoted = FALSE;
  for (gsize i = 0; i < size; i++) {
    char c = data[i];
    if (c == '"')
      quoted = !quoted;
    else if (!quoted && (c == '\n' || c == '\r'))
      break;
    else if (!quoted)
      for (int k = 0; k < 3; k++)
        counts[k] += c == candidates[k];
  }
  int best = 0;
  for (int k = 1; k < 3; k++)
    if (counts[k] > counts[best])
      best = k;
  return candidates[best];
}

static void
reader_init (Reader *r, const char *path, const char *data, gsize size)
{
  memset (r, 0, sizeof *r);
  r->path = path;
  r->data = data;
  r->size = size;
  r->line = 1;
  /* A UTF-8 byte-order mark, as spreadsheets write it, is not part of the
   * first column's name. */
  if (size >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    r->pos = 3;
  r->delimiter = sniff_delimiter (data + r->pos, size - r->pos);
  r->text = g_string_new (NULL);
  r->starts = g_array_new (FALSE, FALSE, sizeof (gsize));
  r->quoted = g_array_new (FALSE, FALSE, sizeof (guint8));
}

static guint
record_width (const Reader *r)
{
  return r->starts->len;
}

static const char *
record_field (const Reader *r, guint k)
{
  return r->text->str + g_array_index (r->starts, gsize, k);
}

/* Moves past a line end at pos ("\n", "\r\n" or a lone "\r"). */
static void
skip_line_end (Reader *r)
{
  if (r->data[r->pos] == '\r' && r->pos + 1 < r->size && r->data[r->pos + 1] == '\n')
    r->pos++;
  r->pos++;
  r->line++;
}

static gboolean
at_line_end (const Reader *r)
{
  return r->pos >= r->size || r->data[r->pos] == '\n' || r->data[r->pos] == '\r';
}

static void
nul_error (Reader *r, GError **error)
{
  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
               "%s, line %d: a NUL byte: this is not a text file", r->path, r->line);
}

/* Reads the next record, skipping blank lines. 1: a record; 0: the end of
 * the file; -1: an error. */
static int
read_record (Reader *r, GError **error)
{
  g_string_truncate (r->text, 0);
  g_array_set_size (r->starts, 0);
  g_array_set_size (r->quoted, 0);

  /* Blank lines (nothing but spaces) are not rows. */
  for (;;) {
    gsize look = r->pos;
    while (look < r->size && is_space (r, r->data[look]))
      look++;
    if (look >= r->size) {
      r->pos = r->size;
      return 0;
    }
    if (r->data[look] != '\n' && r->data[look] != '\r')
      break;
    r->pos = look;
    skip_line_end (r);
  }

  r->record_line = r->line;
  for (;;) {
    while (r->pos < r->size && is_space (r, r->data[r->pos]))
      r->pos++;
    gsize start = r->text->len;
    g_array_append_val (r->starts, start);
    guint8 quoted = r->pos < r->size && r->data[r->pos] == '"';
    g_array_append_val (r->quoted, quoted);
    if (record_width (r) > LAM_CSV_MAX_COLUMNS) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
                   "%s, line %d: more than %d columns, the most a table may have", r->path,
                   r->record_line, LAM_CSV_MAX_COLUMNS);
      return -1;
    }

    if (quoted) {
      int quote_line = r->line;
      r->pos++;
      for (;;) {
        if (r->pos >= r->size) {
          g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                       "%s, line %d: the quoted field %u begun here is never closed (a \" is "
                       "missing)", r->path, quote_line, record_width (r));
          return -1;
        }
        char c = r->data[r->pos++];
        if (c == '"') {
          if (r->pos < r->size && r->data[r->pos] == '"') {
            g_string_append_c (r->text, '"');
            r->pos++;
            continue;
          }
          break;
        }
        if (c == '\0') {
          nul_error (r, error);
          return -1;
        }
        if (c == '\n' || (c == '\r' && !(r->pos < r->size && r->data[r->pos] == '\n')))
          r->line++;
        g_string_append_c (r->text, c);
      }
      while (r->pos < r->size && is_space (r, r->data[r->pos]))
        r->pos++;
      if (!at_line_end (r) && r->data[r->pos] != r->delimiter) {
        char c = r->data[r->pos];
        g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                     "%s, line %d: after the closing quote of field %u, expected %s or the end "
                     "of the line, found '%c'%s", r->path, r->line, record_width (r),
                     delimiter_name (r->delimiter), g_ascii_isprint (c) ? c : '?',
                     c == '"' ? " (a quote inside a quoted field is written twice: \"\")" : "");
        return -1;
      }
    } else {
      while (!at_line_end (r) && r->data[r->pos] != r->delimiter) {
        if (r->data[r->pos] == '\0') {
          nul_error (r, error);
          return -1;
        }
        g_string_append_c (r->text, r->data[r->pos++]);
      }
      while (r->text->len > start && is_space (r, r->text->str[r->text->len - 1]))
        g_string_truncate (r->text, r->text->len - 1);
    }
    g_string_append_c (r->text, '\0');

    if (r->pos >= r->size)
      return 1;
    if (r->data[r->pos] == r->delimiter) {
      r->pos++;
      continue;
    }
    skip_line_end (r);
    return 1;
  }
}

/* ---- cells ---- */

/* A number as the tables write them: optional sign, digits with an
 * optional decimal point, an optional exponent; finite and within a
 * float's range. Anything else (hex, "inf", "1,5", "12 kg") is not. */
static gboolean
parse_number (const char *text, double *value, gboolean *integer)
{
  const char *p = text;
  int digits = 0;
  gboolean whole = TRUE;
  if (*p == '+' || *p == '-')
    p++;
  while (g_ascii_isdigit (*p)) {
    p++;
    digits++;
  }
  if (*p == '.') {
    whole = FALSE;
    p++;
    while (g_ascii_isdigit (*p)) {
      p++;
      digits++;
    }
  }
  if (digits == 0)
    return FALSE;
  if (*p == 'e' || *p == 'E') {
    whole = FALSE;
    p++;
    if (*p == '+' || *p == '-')
      p++;
    if (!g_ascii_isdigit (*p))
      return FALSE;
    while (g_ascii_isdigit (*p))
      p++;
  }
  if (*p != '\0')
    return FALSE;
  double v = g_ascii_strtod (text, NULL);
  if (!isfinite (v) || fabs (v) > FLT_MAX)
    return FALSE;
  *value = v;
  if (integer != NULL)
    *integer = whole && fabs (v) < MAX_INTEGER;
  return TRUE;
}

/* A name or cell as a message shows it: in double quotes, valid UTF-8,
 * with quotes, backslashes, line breaks and other control characters
 * written as escapes, so that a quoted field holding a line break keeps
 * the message on one line and "a\nb" cannot be mistaken for two names.
 * After max_chars characters (0: no limit) it is cut and ends in "...". */
static char *
quote_text (const char *text, glong max_chars)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);
  GString *s = g_string_new ("\"");
  glong n = 0;
  for (const char *p = valid; *p != '\0'; p = g_utf8_next_char (p), n++) {
    if (max_chars > 0 && n == max_chars - 3 && g_utf8_strlen (p, -1) > 3) {
      g_string_append (s, "...");
      break;
    }
    gunichar c = g_utf8_get_char (p);
    if (c == '"' || c == '\\')
      g_string_append_printf (s, "\\%c", (char) c);
    else if (c == '\n')
      g_string_append (s, "\\n");
    else if (c == '\r')
      g_string_append (s, "\\r");
    else if (c == '\t')
      g_string_append (s, "\\t");
    else if (c < 0x20 || c == 0x7f)
      g_string_append_printf (s, "\\x%02x", c);
    /* NEL and the Unicode line and paragraph separators break lines too. */
    else if (c == 0x85 || c == 0x2028 || c == 0x2029)
      g_string_append_printf (s, "\\u%04x", c);
    else
      g_string_append_len (s, p, g_utf8_next_char (p) - p);
  }
  g_string_append_c (s, '"');
  return g_string_free (s, FALSE);
}

/* A column name as a message shows it. */
static char *
quote_name (const char *name)
{
  return quote_text (name, 0);
}

/* Names as a message lists them: each quoted, separated by commas. */
static char *
quote_list (const char *const *names)
{
  GString *s = g_string_new (NULL);
  for (int k = 0; names[k] != NULL; k++) {
    g_autofree char *quoted = quote_name (names[k]);
    g_string_append_printf (s, k > 0 ? ", %s" : "%s", quoted);
  }
  return g_string_free (s, FALSE);
}

/* A cell as a message shows it: at most 40 characters. */
static char *
describe_cell (const char *text)
{
  if (*text == '\0')
    return g_strdup ("an empty cell (missing values are not supported)");
  return quote_text (text, 40);
}

static void
set_not_a_number (GError **error, const Reader *r, const char *column, const char *text,
                  const char *why)
{
  g_autofree char *found = describe_cell (text);
  g_autofree char *quoted = quote_name (column);
  const char *hint = "";
  if (*text != '\0' && strchr (text, ',') != NULL && r->delimiter != ',')
    hint = " (decimal commas are not read: write 1.5, not 1,5)";
  else if (*text != '\0') {
    char *end = NULL;
    errno = 0;
    double v = g_ascii_strtod (text, &end);
    if (end != text && *end == '\0' && (errno == ERANGE || (isfinite (v) && fabs (v) > FLT_MAX)))
      hint = " (beyond the range of 32-bit floats)";
  }
  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
               "%s, line %d, column %s: expected a number, found %s%s%s", r->path, r->record_line,
               quoted, found, hint, why ? why : "");
}

/* ---- the header ---- */

static char *
header_list (char **names)
{
  g_autoptr (GString) s = g_string_new (NULL);
  for (int k = 0; names[k] != NULL; k++) {
    if (k > 0)
      g_string_append (s, ", ");
    if (k == 30) {
      g_string_append_printf (s, "... (%u in all)", g_strv_length (names));
      break;
    }
    g_autofree char *quoted = quote_name (names[k]);
    g_string_append (s, quoted);
  }
  return g_string_free (g_steal_pointer (&s), FALSE);
}

/* Reads the header into an owned, NULL-terminated list of names: valid
 * UTF-8, an empty one named "column N". */
static char **
read_header (Reader *r, GError **error)
{
  int got = read_record (r, error);
  if (got < 0)
    return NULL;
  if (got == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: the file is empty; expected a header line naming the columns, then a row "
                 "of numbers per line", r->path);
    return NULL;
  }
  guint n = record_width (r);
  gboolean all_numbers = TRUE;
  /* A quoted name is a name, whatever it reads like. */
  for (guint k = 0; k < n; k++) {
    double v;
    if (g_array_index (r->quoted, guint8, k) || !parse_number (record_field (r, k), &v, NULL))
      all_numbers = FALSE;
  }
  if (all_numbers) {
    g_autofree char *first = describe_cell (record_field (r, 0));
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s, line %d: expected a header line naming the columns, found numbers (%s...): "
                 "add a first line such as x1,x2,y", r->path, r->record_line, first);
    return NULL;
  }
  char **names = g_new0 (char *, n + 1);
  for (guint k = 0; k < n; k++) {
    const char *field = record_field (r, k);
    names[k] = *field != '\0' ? g_utf8_make_valid (field, -1)
                              : g_strdup_printf ("column %u", k + 1);
  }
  for (guint k = 0; k < n; k++)
    for (guint j = 0; j < k; j++)
      if (g_str_equal (names[j], names[k])) {
        g_autofree char *quoted = quote_name (names[k]);
        g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                     "%s, line %d: columns %u and %u are both named %s; column names must "
                     "differ",
                     r->path, r->record_line, j + 1, k + 1, quoted);
        g_strfreev (names);
        return NULL;
      }
  return names;
}

static int
find_column (char **names, const char *name)
{
  for (int k = 0; names[k] != NULL; k++)
    if (g_str_equal (names[k], name))
      return k;
  /* Spaces around a name on the command line are not meant. */
  g_autofree char *trimmed = g_strstrip (g_strdup (name));
  for (int k = 0; names[k] != NULL; k++)
    if (g_str_equal (names[k], trimmed))
      return k;
  return -1;
}

static gboolean
check_ragged (const Reader *r, guint n_columns, GError **error)
{
  if (record_width (r) == n_columns)
    return TRUE;
  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
               "%s, line %d: %u field%s, but the header names %u column%s (fields are separated "
               "by %s)", r->path, r->record_line, record_width (r),
               record_width (r) == 1 ? "" : "s", n_columns, n_columns == 1 ? "" : "s",
               delimiter_name (r->delimiter));
  return FALSE;
}

static gboolean
check_rows (const Reader *r, gsize rows, GError **error)
{
  if (rows < LAM_CSV_MAX_ROWS)
    return TRUE;
  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_TOO_LARGE,
               "%s, line %d: more than %d rows, the most a table may have", r->path,
               r->record_line, LAM_CSV_MAX_ROWS);
  return FALSE;
}

/* ---- a single target column: numbers or classes ---- */

typedef struct
{
  gboolean numeric;     /* every cell so far a number */
  gboolean integer;     /* every cell so far a whole number */
  gboolean overflow;    /* more than LAM_CSV_MAX_CLASSES distinct texts */
  GHashTable *ids;      /* text -> id + 1 */
  GPtrArray *texts;     /* id -> text (owned) */
  GArray *row_ids;      /* guint32 per row, until overflow */
} ClassColumn;

static void
class_column_init (ClassColumn *c)
{
  c->numeric = c->integer = TRUE;
  c->texts = g_ptr_array_new_with_free_func (g_free);
  c->ids = g_hash_table_new (g_str_hash, g_str_equal);
  c->row_ids = g_array_new (FALSE, FALSE, sizeof (guint32));
}

static void
class_column_clear (ClassColumn *c)
{
  g_clear_pointer (&c->ids, g_hash_table_unref);
  g_clear_pointer (&c->texts, g_ptr_array_unref);
  g_clear_pointer (&c->row_ids, g_array_unref);
}

static void
class_column_add (ClassColumn *c, const char *text)
{
  if (c->overflow)
    return;
  /* Classes are told apart by the names they are shown with. */
  g_autofree char *valid = NULL;
  if (!g_utf8_validate (text, -1, NULL))
    text = valid = g_utf8_make_valid (text, -1);
  gpointer found = g_hash_table_lookup (c->ids, text);
  guint32 id;
  if (found != NULL) {
    id = GPOINTER_TO_UINT (found) - 1;
  } else {
    if (c->texts->len >= LAM_CSV_MAX_CLASSES) {
      c->overflow = TRUE;
      g_array_set_size (c->row_ids, 0);
      return;
    }
    id = c->texts->len;
    char *copy = g_strdup (text);
    g_ptr_array_add (c->texts, copy);
    g_hash_table_insert (c->ids, copy, GUINT_TO_POINTER (id + 1));
  }
  g_array_append_val (c->row_ids, id);
}

typedef struct
{
  const char *text;
  double value;
  guint32 id;
} ClassKey;

static int
compare_text (const void *a, const void *b)
{
  return strcmp (((const ClassKey *) a)->text, ((const ClassKey *) b)->text);
}

static int
compare_value (const void *a, const void *b)
{
  double x = ((const ClassKey *) a)->value, y = ((const ClassKey *) b)->value;
  return x < y ? -1 : x > y;
}

/* Classes from the column's distinct values: by value for whole numbers
 * ("7" and "007" are one class, named "7"), else by text byte-wise. Fills
 * labels (one per row) and returns the owned class names. */
static char **
class_column_classes (const ClassColumn *c, guint8 *labels, int *n_classes)
{
  guint n = c->texts->len;
  g_autofree ClassKey *keys = g_new0 (ClassKey, MAX (n, 1));
  for (guint i = 0; i < n; i++) {
    keys[i].text = g_ptr_array_index (c->texts, i);
    keys[i].id = i;
    if (c->integer)
      parse_number (keys[i].text, &keys[i].value, NULL);
  }
  qsort (keys, n, sizeof (ClassKey), c->integer ? compare_value : compare_text);
  g_autofree guint8 *class_of = g_new0 (guint8, MAX (n, 1));
  GPtrArray *names = g_ptr_array_new ();
  for (guint i = 0; i < n; i++) {
    gboolean same = i > 0 && (c->integer ? keys[i].value == keys[i - 1].value
                                         : strcmp (keys[i].text, keys[i - 1].text) == 0);
    if (!same)
      g_ptr_array_add (names, c->integer
                                ? g_strdup_printf ("%" G_GINT64_FORMAT, (gint64) keys[i].value)
                                : g_strdup (keys[i].text));
    class_of[keys[i].id] = (guint8) (names->len - 1);
  }
  for (guint r = 0; r < c->row_ids->len; r++)
    labels[r] = class_of[g_array_index (c->row_ids, guint32, r)];
  *n_classes = (int) names->len;
  g_ptr_array_add (names, NULL);
  return (char **) g_ptr_array_free (names, FALSE);
}

/* ---- scaling ---- */

void
lam_dataset_table_set_scaling (LamDataset *table, const guint32 *indices, gsize n,
                               gboolean standardize)
{
  g_return_if_fail (table != NULL && table->features != NULL);
  if (indices == NULL)
    n = (gsize) table->n;

  struct
  {
    const float *values;
    int width;
    float **mean, **std;
  } parts[2] = {
    { table->features, table->n_features, &table->feature_mean, &table->feature_std },
    { table->targets, table->n_targets, &table->target_mean, &table->target_std },
  };
  for (int p = 0; p < 2; p++) {
    int width = parts[p].width;
    if (parts[p].values == NULL || width == 0)
      continue;
    g_free (*parts[p].mean);
    g_free (*parts[p].std);
    float *mean = *parts[p].mean = g_new (float, width);
    float *std = *parts[p].std = g_new (float, width);
    for (int j = 0; j < width; j++) {
      mean[j] = 0;
      std[j] = 1;
    }
    if (!standardize || n == 0)
      continue;
    /* Two passes in double: the mean, then the spread about it, which
     * keeps a column of large values with a small spread exact. */
    g_autofree double *sum = g_new0 (double, width);
    g_autofree double *sq = g_new0 (double, width);
    for (gsize i = 0; i < n; i++) {
      guint32 row = indices ? indices[i] : (guint32) i;
      g_return_if_fail (row < (guint32) table->n);
      const float *x = parts[p].values + (gsize) row * width;
      for (int j = 0; j < width; j++)
        sum[j] += x[j];
    }
    for (int j = 0; j < width; j++)
      sum[j] /= (double) n;
    for (gsize i = 0; i < n; i++) {
      guint32 row = indices ? indices[i] : (guint32) i;
      const float *x = parts[p].values + (gsize) row * width;
      for (int j = 0; j < width; j++)
        sq[j] += (x[j] - sum[j]) * (x[j] - sum[j]);
    }
    for (int j = 0; j < width; j++) {
      double sd = sqrt (sq[j] / (double) n);
      mean[j] = (float) sum[j];
      /* A constant column (or one whose spread a float cannot hold) is
       * only shifted, as scikit-learn's StandardScaler does. */
      std[j] = sd > 1e-12 * MAX (1.0, fabs (sum[j])) && (float) sd > 0 ? (float) sd : 1.0f;
    }
  }
}

void
lam_dataset_table_copy_scaling (LamDataset *dst, const LamDataset *src)
{
  g_return_if_fail (dst != NULL && src != NULL);
  g_return_if_fail (dst->n_features == src->n_features && dst->n_targets == src->n_targets);
  g_free (dst->feature_mean);
  g_free (dst->feature_std);
  g_free (dst->target_mean);
  g_free (dst->target_std);
  dst->feature_mean = dup_or_null (src->feature_mean, src->n_features);
  dst->feature_std = dup_or_null (src->feature_std, src->n_features);
  dst->target_mean = dup_or_null (src->target_mean, src->n_targets);
  dst->target_std = dup_or_null (src->target_std, src->n_targets);
}

/* ---- a table from the file ---- */

typedef struct
{
  LamTask task;
  gsize rows;
  int n_inputs;
  int n_targets;   /* regression */
  GArray *features; /* float, rows × n_inputs */
  GArray *targets;  /* float, rows × n_targets */
  guint8 *labels;   /* classification, rows */
  int n_classes;
  char **class_names;
  char **feature_names;
  char **target_names;
} Table;

static void
table_clear (Table *t)
{
  g_clear_pointer (&t->features, g_array_unref);
  g_clear_pointer (&t->targets, g_array_unref);
  g_clear_pointer (&t->labels, g_free);
  g_clear_pointer (&t->class_names, g_strfreev);
  g_clear_pointer (&t->feature_names, g_strfreev);
  g_clear_pointer (&t->target_names, g_strfreev);
}

static void
set_empty_cell (GError **error, const Reader *r, const char *column)
{
  g_autofree char *quoted = quote_name (column);
  g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
               "%s, line %d, column %s: an empty cell (missing values are not supported)", r->path,
               r->record_line, quoted);
}

/* Resolves the columns asked for: role[k] 1 for an input, 2 for a target. */
static gboolean
select_columns (const Reader *r, char **names, const LamCsvOptions *options, int *role,
                GArray *inputs, GArray *targets, GError **error)
{
  g_autofree char *listed = header_list (names);
  for (int t = 0; options->targets[t] != NULL; t++) {
    int k = find_column (names, options->targets[t]);
    if (k < 0) {
      g_autofree char *asked = quote_name (options->targets[t]);
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                   "%s: no column named %s for a target; the header has: %s", r->path, asked,
                   listed);
      return FALSE;
    }
    g_autofree char *quoted = quote_name (names[k]);
    if (role[k] == 2) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                   "%s: column %s is named twice among the targets", r->path, quoted);
      return FALSE;
    }
    role[k] = 2;
    g_array_append_val (targets, k);
  }
  if (options->inputs != NULL) {
    for (int i = 0; options->inputs[i] != NULL; i++) {
      int k = find_column (names, options->inputs[i]);
      if (k < 0) {
        g_autofree char *asked = quote_name (options->inputs[i]);
        g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                     "%s: no column named %s for an input; the header has: %s", r->path, asked,
                     listed);
        return FALSE;
      }
      g_autofree char *quoted = quote_name (names[k]);
      if (role[k] == 2) {
        g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                     "%s: column %s is both an input and a target: a model shown the answer "
                     "learns nothing",
                     r->path, quoted);
        return FALSE;
      }
      if (role[k] == 1) {
        g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                     "%s: column %s is named twice among the inputs", r->path, quoted);
        return FALSE;
      }
      role[k] = 1;
      g_array_append_val (inputs, k);
    }
    if (inputs->len == 0) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                   "%s: no input columns were named; the header has: %s", r->path, listed);
      return FALSE;
    }
  } else {
    for (int k = 0; names[k] != NULL; k++)
      if (role[k] == 0) {
        role[k] = 1;
        g_array_append_val (inputs, k);
      }
    if (inputs->len == 0) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                   "%s: every column is a target, so none is left for the inputs; the header "
                   "has: %s", r->path, listed);
      return FALSE;
    }
  }
  return TRUE;
}

static char **
names_of (char **names, GArray *columns)
{
  char **out = g_new0 (char *, columns->len + 1);
  for (guint i = 0; i < columns->len; i++)
    out[i] = g_strdup (names[g_array_index (columns, int, i)]);
  return out;
}

static gboolean
read_table (Reader *r, const LamCsvOptions *options, Table *t, GError **error)
{
  g_auto (GStrv) names = read_header (r, error);
  if (names == NULL)
    return FALSE;
  guint n_columns = g_strv_length (names);
  g_autofree int *role = g_new0 (int, n_columns);
  g_autoptr (GArray) inputs = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr (GArray) targets = g_array_new (FALSE, FALSE, sizeof (int));
  if (!select_columns (r, names, options, role, inputs, targets, error))
    return FALSE;

  gboolean force_classes = options->task_set && options->task == LAM_TASK_CLASSIFICATION;
  gboolean force_values = options->task_set && options->task == LAM_TASK_REGRESSION;
  if (force_classes && targets->len > 1) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                 "%s: classification takes one target column (its values are the classes); %u "
                 "were named", r->path, targets->len);
    return FALSE;
  }
  /* Only a single target column may turn out to be classes. */
  gboolean maybe_classes = targets->len == 1 && !force_values;
  const char *why = targets->len > 1 ? " (several target columns make a regression task, which "
                                       "needs numbers)"
                                     : " (a regression target holds numbers)";

  t->n_inputs = (int) inputs->len;
  t->n_targets = (int) targets->len;
  t->features = g_array_new (FALSE, FALSE, sizeof (float));
  t->targets = g_array_new (FALSE, FALSE, sizeof (float));
  ClassColumn classes = { 0 };
  if (maybe_classes)
    class_column_init (&classes);
  gboolean ok = FALSE;

  for (;;) {
    int got = read_record (r, error);
    if (got < 0)
      goto out;
    if (got == 0)
      break;
    if (!check_ragged (r, n_columns, error) || !check_rows (r, t->rows, error))
      goto out;
    for (guint i = 0; i < inputs->len; i++) {
      int k = g_array_index (inputs, int, i);
      const char *field = record_field (r, k);
      double value;
      if (!parse_number (field, &value, NULL)) {
        set_not_a_number (error, r, names[k], field,
                          options->inputs == NULL ? " (inputs are numbers: name the input "
                                                    "columns to leave this one out)"
                                                  : " (inputs are numbers)");
        goto out;
      }
      float v = (float) value;
      g_array_append_val (t->features, v);
    }
    for (guint i = 0; i < targets->len; i++) {
      int k = g_array_index (targets, int, i);
      const char *field = record_field (r, k);
      double value;
      gboolean integer;
      if (*field == '\0') {
        set_empty_cell (error, r, names[k]);
        goto out;
      }
      if (maybe_classes) {
        class_column_add (&classes, field);
        if (classes.numeric && parse_number (field, &value, &integer)) {
          float v = (float) value;
          g_array_append_val (t->targets, v);
          classes.integer = classes.integer && integer;
        } else {
          classes.numeric = classes.integer = FALSE;
        }
        continue;
      }
      if (!parse_number (field, &value, NULL)) {
        set_not_a_number (error, r, names[k], field, why);
        goto out;
      }
      float v = (float) value;
      g_array_append_val (t->targets, v);
    }
    t->rows++;
  }
  if (t->rows == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: a header line but no rows of data after it", r->path);
    goto out;
  }

  if (!maybe_classes)
    t->task = LAM_TASK_REGRESSION;
  else if (force_classes || !classes.numeric)
    t->task = LAM_TASK_CLASSIFICATION;
  else
    t->task = classes.integer && !classes.overflow && classes.texts->len >= 2 &&
                  classes.texts->len <= LAM_CSV_AUTO_CLASSES
                ? LAM_TASK_CLASSIFICATION
                : LAM_TASK_REGRESSION;

  int target = g_array_index (targets, int, 0);
  if (t->task == LAM_TASK_CLASSIFICATION) {
    if (classes.overflow) {
      g_autofree char *target_name = quote_name (names[target]);
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL,
                   "%s: column %s has more than %d distinct values, too many to be the "
                   "classes%s",
                   r->path, target_name, LAM_CSV_MAX_CLASSES,
                   classes.numeric ? " (it holds numbers: make it a regression target)" : "");
      goto out;
    }
    t->labels = g_new (guint8, t->rows);
    t->class_names = class_column_classes (&classes, t->labels, &t->n_classes);
    if (t->n_classes < 2) {
      g_autofree char *target_name = quote_name (names[target]);
      g_autofree char *only = quote_name (t->class_names[0]);
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL,
                   "%s: column %s holds one value only (%s): classification needs at "
                   "least two classes",
                   r->path, target_name, only);
      goto out;
    }
    t->n_targets = 0;
    g_array_set_size (t->targets, 0);
  }
  t->feature_names = names_of (names, inputs);
  t->target_names = names_of (names, targets);
  ok = TRUE;

out:
  if (maybe_classes)
    class_column_clear (&classes);
  return ok;
}

typedef struct
{
  guint64 key;
  guint32 row;
} RankKey;

static int
compare_rank (const void *a, const void *b)
{
  const RankKey *x = a, *y = b;
  if (x->key != y->key)
    return x->key < y->key ? -1 : 1;
  return x->row < y->row ? -1 : x->row > y->row;
}

/* The rows of t marked `which` in part (all when part is NULL). */
static LamDataset *
table_take (const Table *t, const guint8 *part, guint8 which, gsize count, char *name)
{
  LamDataset *ds = g_new0 (LamDataset, 1);
  ds->name = name;
  ds->n = (int) count;
  ds->channels = 1;
  ds->height = 1;
  ds->width = t->n_inputs;
  ds->task = t->task;
  ds->n_features = t->n_inputs;
  ds->feature_names = g_strdupv (t->feature_names);
  ds->target_names = g_strdupv (t->target_names);
  ds->features = g_new (float, MAX (count * t->n_inputs, 1));
  if (t->task == LAM_TASK_REGRESSION) {
    ds->n_targets = t->n_targets;
    ds->targets = g_new (float, MAX (count * t->n_targets, 1));
  } else {
    ds->n_classes = t->n_classes;
    ds->class_names = g_strdupv (t->class_names);
    ds->labels = g_new (guint8, MAX (count, 1));
  }
  const float *features = (const float *) t->features->data;
  const float *targets = (const float *) t->targets->data;
  gsize at = 0;
  for (gsize i = 0; i < t->rows; i++) {
    if (part != NULL && part[i] != which)
      continue;
    memcpy (ds->features + at * t->n_inputs, features + i * t->n_inputs,
            sizeof (float) * t->n_inputs);
    if (ds->targets != NULL)
      memcpy (ds->targets + at * t->n_targets, targets + i * t->n_targets,
              sizeof (float) * t->n_targets);
    else
      ds->labels[at] = t->labels[i];
    at++;
  }
  g_assert (at == count);
  return ds;
}

gboolean
lam_dataset_load_csv (const char *path, const LamCsvOptions *options, LamDataset **train,
                      LamDataset **test, GError **error)
{
  g_return_val_if_fail (path != NULL && options != NULL && train != NULL, FALSE);
  g_return_val_if_fail (options->targets != NULL && options->targets[0] != NULL, FALSE);
  g_return_val_if_fail (options->test_fraction >= 0 && options->test_fraction < 1, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  *train = NULL;
  if (test != NULL)
    *test = NULL;

  gsize size = 0;
  g_autofree char *data = read_file (path, &size, error);
  if (data == NULL)
    return FALSE;
  Reader reader;
  reader_init (&reader, path, data, size);
  Table table = { 0 };
  gboolean ok = read_table (&reader, options, &table, error);
  reader_clear (&reader);
  if (!ok) {
    table_clear (&table);
    return FALSE;
  }

  gsize rows = table.rows, n_test = 0;
  if (test != NULL && options->test_fraction > 0) {
    n_test = (gsize) (rows * options->test_fraction + 0.5);
    if (n_test >= rows)
      n_test = rows - 1;
  }
  g_autofree guint8 *in_test = g_new0 (guint8, rows);
  if (n_test > 0) {
    g_autofree RankKey *keys = g_new (RankKey, rows);
    for (gsize i = 0; i < rows; i++) {
      keys[i].key = lam_csv_row_hash (options->split_seed, i);
      keys[i].row = (guint32) i;
    }
    qsort (keys, rows, sizeof (RankKey), compare_rank);
    for (gsize i = 0; i < n_test; i++)
      in_test[keys[i].row] = 1;
  }

  g_autofree char *base = g_path_get_basename (path);
  *train = table_take (&table, in_test, 0, rows - n_test,
                       n_test > 0 ? g_strdup_printf ("%s (train)", base) : g_strdup (base));
  lam_dataset_table_set_scaling (*train, NULL, 0, options->standardize);
  if (n_test > 0) {
    *test = table_take (&table, in_test, 1, n_test, g_strdup_printf ("%s (test)", base));
    lam_dataset_table_copy_scaling (*test, *train);
  }
  table_clear (&table);
  return TRUE;
}

/* ---- summary ---- */

void
lam_csv_summary_free (LamCsvSummary *summary)
{
  if (summary == NULL)
    return;
  for (int k = 0; k < summary->n_columns; k++) {
    g_free (summary->columns[k].name);
    g_free (summary->columns[k].example);
  }
  g_free (summary->columns);
  g_free (summary->path);
  g_free (summary);
}

LamCsvSummary *
lam_csv_summary_load (const char *path, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  gsize size = 0;
  g_autofree char *data = read_file (path, &size, error);
  if (data == NULL)
    return NULL;
  Reader r;
  reader_init (&r, path, data, size);
  g_auto (GStrv) names = read_header (&r, error);
  if (names == NULL) {
    reader_clear (&r);
    return NULL;
  }
  int n = (int) g_strv_length (names);
  g_autoptr (LamCsvSummary) summary = g_new0 (LamCsvSummary, 1);
  summary->path = g_strdup (path);
  summary->delimiter = r.delimiter;
  summary->n_columns = n;
  summary->columns = g_new0 (LamCsvColumn, n);
  g_autofree double *m2 = g_new0 (double, n);
  g_autofree GHashTable **seen = g_new0 (GHashTable *, n);
  for (int k = 0; k < n; k++) {
    LamCsvColumn *c = &summary->columns[k];
    c->name = g_strdup (names[k]);
    c->numeric = c->integer = TRUE;
    c->min = INFINITY;
    c->max = -INFINITY;
    seen[k] = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  }
  gboolean ok = TRUE;
  for (;;) {
    int got = read_record (&r, error);
    if (got == 0)
      break;
    if (got < 0 || !check_ragged (&r, (guint) n, error) ||
        !check_rows (&r, (gsize) summary->n_rows, error)) {
      ok = FALSE;
      break;
    }
    summary->n_rows++;
    for (int k = 0; k < n; k++) {
      LamCsvColumn *c = &summary->columns[k];
      const char *field = record_field (&r, k);
      if (c->example == NULL)
        c->example = g_utf8_make_valid (field, -1);
      if (g_hash_table_size (seen[k]) <= LAM_CSV_MAX_CLASSES &&
          !g_hash_table_contains (seen[k], field))
        g_hash_table_add (seen[k], g_strdup (field));
      double v;
      gboolean integer;
      if (!c->numeric)
        continue;
      if (!parse_number (field, &v, &integer)) {
        c->numeric = c->integer = FALSE;
        continue;
      }
      c->integer = c->integer && integer;
      /* Welford's running mean and spread. */
      double delta = v - c->mean;
      c->mean += delta / summary->n_rows;
      m2[k] += delta * (v - c->mean);
      c->min = MIN (c->min, v);
      c->max = MAX (c->max, v);
    }
  }
  if (ok && summary->n_rows == 0) {
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_FORMAT,
                 "%s: a header line but no rows of data after it", path);
    ok = FALSE;
  }
  for (int k = 0; k < n; k++) {
    LamCsvColumn *c = &summary->columns[k];
    c->n_distinct = (int) g_hash_table_size (seen[k]);
    g_hash_table_unref (seen[k]);
    if (c->numeric && summary->n_rows > 0) {
      c->std = sqrt (m2[k] / summary->n_rows);
    } else {
      c->mean = c->std = c->min = c->max = NAN;
    }
  }
  reader_clear (&r);
  return ok ? g_steal_pointer (&summary) : NULL;
}

/* ---- writing ---- */

static void
append_field (GString *s, const char *text, gboolean quote_numbers)
{
  gsize len = strlen (text);
  double v;
  /* Quoted: what a reader would split, trim or take for a number, and a
   * leading byte-order mark, which would be taken for the file's. */
  gboolean quote = len == 0 || strpbrk (text, ",;\t\"\r\n") != NULL || text[0] == ' ' ||
                   text[len - 1] == ' ' || g_str_has_prefix (text, "\xEF\xBB\xBF") ||
                   (quote_numbers && parse_number (text, &v, NULL));
  if (!quote) {
    g_string_append (s, text);
    return;
  }
  g_string_append_c (s, '"');
  for (const char *p = text; *p != '\0'; p++) {
    if (*p == '"')
      g_string_append_c (s, '"');
    g_string_append_c (s, *p);
  }
  g_string_append_c (s, '"');
}

gboolean
lam_dataset_save_csv (const LamDataset *dataset, const char *path, GError **error)
{
  g_return_val_if_fail (dataset != NULL && dataset->features != NULL && path != NULL, FALSE);
  gboolean regression = dataset->task == LAM_TASK_REGRESSION;
  g_autoptr (GString) s = g_string_new (NULL);
  for (int j = 0; j < dataset->n_features; j++) {
    if (j > 0)
      g_string_append_c (s, ',');
    append_field (s, dataset->feature_names[j], TRUE);
  }
  int n_targets = regression ? dataset->n_targets : 1;
  for (int j = 0; j < n_targets; j++) {
    g_string_append_c (s, ',');
    const char *name = dataset->target_names && dataset->target_names[0] ? dataset->target_names[j]
                                                                         : "class";
    append_field (s, name, TRUE);
  }
  g_string_append_c (s, '\n');
  for (int i = 0; i < dataset->n; i++) {
    const float *row = lam_dataset_get_row (dataset, i);
    for (int j = 0; j < dataset->n_features; j++) {
      if (j > 0)
        g_string_append_c (s, ',');
      lam_json_append_float (s, row[j]);
    }
    for (int j = 0; j < n_targets; j++) {
      g_string_append_c (s, ',');
      if (regression)
        lam_json_append_float (s, dataset->targets[(gsize) i * dataset->n_targets + j]);
      else
        append_field (s, dataset->class_names[dataset->labels[i]], FALSE);
    }
    g_string_append_c (s, '\n');
  }
  return lam_file_replace_contents (path, s->str, s->len, error);
}

/* ---- a model's table ---- */

LamTableInfo *
lam_table_info_new (const LamDataset *train, double test_fraction, guint64 split_seed)
{
  g_return_val_if_fail (train != NULL && train->features != NULL, NULL);
  LamTableInfo *info = g_new0 (LamTableInfo, 1);
  gboolean regression = train->task == LAM_TASK_REGRESSION;
  info->task = train->task;
  info->n_inputs = train->n_features;
  info->inputs = g_strdupv (train->feature_names);
  info->input_mean = dup_or_null (train->feature_mean, train->n_features);
  info->input_std = dup_or_null (train->feature_std, train->n_features);
  info->n_targets = regression ? train->n_targets : 1;
  info->targets = g_strdupv (train->target_names);
  if (regression) {
    info->target_mean = dup_or_null (train->target_mean, train->n_targets);
    info->target_std = dup_or_null (train->target_std, train->n_targets);
  }
  info->test_fraction = test_fraction;
  info->split_seed = split_seed;
  return info;
}

LamTableInfo *
lam_table_info_copy (const LamTableInfo *info)
{
  g_return_val_if_fail (info != NULL, NULL);
  LamTableInfo *copy = g_new0 (LamTableInfo, 1);
  *copy = *info;
  copy->inputs = g_strdupv (info->inputs);
  copy->targets = g_strdupv (info->targets);
  copy->input_mean = dup_or_null (info->input_mean, info->n_inputs);
  copy->input_std = dup_or_null (info->input_std, info->n_inputs);
  copy->target_mean = dup_or_null (info->target_mean, info->n_targets);
  copy->target_std = dup_or_null (info->target_std, info->n_targets);
  return copy;
}

void
lam_table_info_free (LamTableInfo *info)
{
  if (info == NULL)
    return;
  g_strfreev (info->inputs);
  g_strfreev (info->targets);
  g_free (info->input_mean);
  g_free (info->input_std);
  g_free (info->target_mean);
  g_free (info->target_std);
  g_free (info);
}

static void
set_scaling_from_info (LamDataset *ds, const LamTableInfo *info)
{
  g_free (ds->feature_mean);
  g_free (ds->feature_std);
  ds->feature_mean = dup_or_null (info->input_mean, info->n_inputs);
  ds->feature_std = dup_or_null (info->input_std, info->n_inputs);
  if (ds->task == LAM_TASK_REGRESSION) {
    g_free (ds->target_mean);
    g_free (ds->target_std);
    ds->target_mean = dup_or_null (info->target_mean, info->n_targets);
    ds->target_std = dup_or_null (info->target_std, info->n_targets);
  }
}

gboolean
lam_table_info_load (const LamTableInfo *info, const char *path, const char *const *class_names,
                     LamDataset **train, LamDataset **test, GError **error)
{
  g_return_val_if_fail (info != NULL && path != NULL && train != NULL, FALSE);
  g_return_val_if_fail (info->inputs != NULL && info->targets != NULL, FALSE);
  g_return_val_if_fail (info->input_mean != NULL && info->input_std != NULL, FALSE);
  g_return_val_if_fail (info->task != LAM_TASK_REGRESSION ||
                          (info->target_mean != NULL && info->target_std != NULL),
                        FALSE);
  LamCsvOptions options;
  lam_csv_options_init (&options);
  options.inputs = (const char *const *) info->inputs;
  options.targets = (const char *const *) info->targets;
  options.task_set = TRUE;
  options.task = info->task;
  options.test_fraction = info->test_fraction;
  options.split_seed = info->split_seed;
  g_autoptr (LamDataset) a = NULL;
  g_autoptr (LamDataset) b = NULL;
  if (lam_playground_is_uri (path)) {
    /* A playground set is made again from its name, with its own test
     * points; its columns must still be the ones the model learned. */
    if (!lam_playground_load (path, &a, test != NULL ? &b : NULL, error))
      return FALSE;
    if (a->task != info->task || !g_strv_equal ((const char *const *) a->feature_names,
                                                (const char *const *) info->inputs) ||
        !g_strv_equal ((const char *const *) a->target_names,
                       (const char *const *) info->targets)) {
      g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_COLUMN,
                   "%s: its columns are not the ones the model was trained on", path);
      return FALSE;
    }
  } else if (!lam_dataset_load_csv (path, &options, &a, test != NULL ? &b : NULL, error)) {
    return FALSE;
  }
  if (class_names != NULL && info->task == LAM_TASK_CLASSIFICATION &&
      !g_strv_equal ((const char *const *) a->class_names, class_names)) {
    g_autofree char *column = quote_name (info->targets[0]);
    g_autofree char *have = quote_list ((const char *const *) a->class_names);
    g_autofree char *want = quote_list (class_names);
    g_set_error (error, LAM_DATASET_ERROR, LAM_DATASET_ERROR_LABEL,
                 "%s: the classes of column %s are %s; the model's are %s", path, column, have,
                 want);
    return FALSE;
  }
  set_scaling_from_info (a, info);
  if (b != NULL)
    set_scaling_from_info (b, info);
  *train = g_steal_pointer (&a);
  if (test != NULL)
    *test = g_steal_pointer (&b);
  return TRUE;
}

static void
append_csv_field (GString *s, const char *text)
{
  if (strpbrk (text, ",\"\r\n") == NULL) {
    g_string_append (s, text);
    return;
  }
  g_string_append_c (s, '"');
  for (const char *c = text; *c != '\0'; c++) {
    if (*c == '"')
      g_string_append_c (s, '"');
    g_string_append_c (s, *c);
  }
  g_string_append_c (s, '"');
}

static void
append_csv_rows (GString *s, const LamDataset *table, const char *split)
{
  char number[G_ASCII_DTOSTR_BUF_SIZE];
  for (gsize i = 0; i < (gsize) table->n; i++) {
    for (int j = 0; j < table->n_features; j++) {
      float v = table->features[i * (gsize) table->n_features + (gsize) j];
      g_string_append (s, g_ascii_formatd (number, sizeof number, "%.9g", v));
      g_string_append_c (s, ',');
    }
    if (table->task == LAM_TASK_REGRESSION) {
      for (int t = 0; t < table->n_targets; t++) {
        float v = table->targets[i * (gsize) table->n_targets + (gsize) t];
        g_string_append (s, g_ascii_formatd (number, sizeof number, "%.9g", v));
        g_string_append_c (s, ',');
      }
    } else {
      append_csv_field (s, table->class_names[table->labels[i]]);
      g_string_append_c (s, ',');
    }
    g_string_append (s, split);
    g_string_append_c (s, '\n');
  }
}

gboolean
lam_dataset_table_write_csv (const LamDataset *train, const LamDataset *test,
                             const char *split_column, const char *path, GError **error)
{
  g_return_val_if_fail (train != NULL && lam_dataset_is_table (train), FALSE);
  g_return_val_if_fail (test == NULL || test->n_features == train->n_features, FALSE);
  g_return_val_if_fail (split_column != NULL && path != NULL, FALSE);

  g_autoptr (GString) s = g_string_new (NULL);
  for (int j = 0; j < train->n_features; j++) {
    append_csv_field (s, train->feature_names[j]);
    g_string_append_c (s, ',');
  }
  for (int t = 0; train->target_names[t] != NULL; t++) {
    append_csv_field (s, train->target_names[t]);
    g_string_append_c (s, ',');
  }
  append_csv_field (s, split_column);
  g_string_append_c (s, '\n');
  append_csv_rows (s, train, "train");
  if (test != NULL)
    append_csv_rows (s, test, "test");
  return lam_file_replace_contents (path, s->str, s->len, error);
}
