/* Safetensors reading and writing, malformed files, and checkpoints. */
#include <math.h>
#include <string.h>
#include <unistd.h>

#include <glib.h>
#include <glib/gstdio.h>

#include "lam-checkpoint.h"
#include "lam-project-file.h"
#include "lam-layer.h"
#include "lam-model.h"

typedef struct
{
  char *dir;
} Fixture;

static void
fixture_setup (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  f->dir = g_dir_make_tmp ("lamina-checkpoint-XXXXXX", &error);
  g_assert_no_error (error);
}

static void
remove_tree (const char *path)
{
  if (g_file_test (path, G_FILE_TEST_IS_DIR)) {
    g_chmod (path, 0700);
    g_autoptr (GDir) dir = g_dir_open (path, 0, NULL);
    const char *name;
    while (dir && (name = g_dir_read_name (dir))) {
      g_autofree char *child = g_build_filename (path, name, NULL);
      remove_tree (child);
    }
    g_rmdir (path);
  } else {
    g_remove (path);
  }
}

static void
fixture_teardown (Fixture *f, gconstpointer data)
{
  remove_tree (f->dir);
  g_free (f->dir);
}

static char *
fixture_path (Fixture *f, const char *name)
{
  return g_build_filename (f->dir, name, NULL);
}

static LamNamedTensor *
tensor_new (const char *name, int rank, const gint64 *dims)
{
  LamNamedTensor *t = g_new0 (LamNamedTensor, 1);
  t->name = g_strdup (name);
  t->rank = rank;
  gsize n = 1;
  for (int i = 0; i < rank; i++) {
    t->dims[i] = dims[i];
    n *= (gsize) dims[i];
  }
  t->data = g_new0 (float, MAX (n, 1));
  return t;
}

static gsize
tensor_numel (const LamNamedTensor *t)
{
  gsize n = 1;
  for (int i = 0; i < t->rank; i++)
    n *= (gsize) t->dims[i];
  return n;
}

static const LamNamedTensor *
find (GPtrArray *tensors, const char *name)
{
  for (guint i = 0; i < tensors->len; i++) {
    const LamNamedTensor *t = g_ptr_array_index (tensors, i);
    if (g_str_equal (t->name, name))
      return t;
  }
  return NULL;
}

static const LamNamedTensor *
find_or_die (GPtrArray *tensors, const char *name)
{
  const LamNamedTensor *t = find (tensors, name);
  if (t == NULL)
    g_error ("no tensor \"%s\"", name);
  return t;
}

/* Writes an 8-byte little-endian length, `header` and `data_len` bytes of
 * data (zeros when `data` is NULL). `header_len` overrides the length
 * written when non-negative. */
static void
write_raw (const char *path, gint64 header_len, const char *header, gsize data_len,
           const void *data)
{
  gsize n = strlen (header);
  guint64 len_le = GUINT64_TO_LE (header_len >= 0 ? (guint64) header_len : n);
  GByteArray *bytes = g_byte_array_new ();
  g_byte_array_append (bytes, (const guint8 *) &len_le, 8);
  g_byte_array_append (bytes, (const guint8 *) header, (guint) n);
  g_autofree guint8 *zeros = g_malloc0 (MAX (data_len, 1));
  g_byte_array_append (bytes, data ? data : zeros, (guint) data_len);
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, (const char *) bytes->data, bytes->len, &error));
  g_assert_no_error (error);
  g_byte_array_unref (bytes);
}

/* Reads `path` expecting `code`, with the file name and every word in the
 * NULL-terminated list in the message. */
static void
assert_read_fails (const char *path, int code, ...)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &metadata, &error);
  g_assert_null (tensors);
  g_assert_null (metadata);
  g_assert_error (error, LAM_CHECKPOINT_ERROR, code);
  if (strstr (error->message, path) == NULL)
    g_error ("\"%s\" does not name the file", error->message);
  va_list ap;
  va_start (ap, code);
  for (const char *word = va_arg (ap, const char *); word; word = va_arg (ap, const char *))
    if (strstr (error->message, word) == NULL)
      g_error ("error message \"%s\" does not contain \"%s\"", error->message, word);
  va_end (ap);
}

/* Safetensors */

static void
test_safetensors_round_trip (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "t.safetensors");
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func (
    (GDestroyNotify) lam_named_tensor_free);

  static const gint64 conv_dims[] = { 4, 3, 2, 2 };
  static const gint64 mat_dims[] = { 5, 7 };
  static const gint64 vec_dims[] = { 3 };
  static const gint64 empty_dims[] = { 0, 6 };
  LamNamedTensor *conv = tensor_new ("b.conv", 4, conv_dims);
  LamNamedTensor *mat = tensor_new ("a.matrix", 2, mat_dims);
  LamNamedTensor *vec = tensor_new ("c.special", 1, vec_dims);
  LamNamedTensor *empty = tensor_new ("d.empty", 2, empty_dims);
  LamNamedTensor *scalar = tensor_new ("e.scalar", 0, NULL);
  g_autoptr (GRand) rng = g_rand_new_with_seed (7);
  for (gsize i = 0; i < tensor_numel (conv); i++)
    conv->data[i] = (float) g_rand_double_range (rng, -1, 1);
  for (gsize i = 0; i < tensor_numel (mat); i++)
    mat->data[i] = (float) g_rand_double_range (rng, -1e30, 1e30);
  /* Bit patterns that a text round trip or a conversion would change. */
  guint32 bits[3] = { 0x7fc01234u, 0x80000000u, 0x00000001u };
  memcpy (vec->data, bits, sizeof bits);
  scalar->data[0] = INFINITY;
  g_ptr_array_add (tensors, conv);
  g_ptr_array_add (tensors, mat);
  g_ptr_array_add (tensors, vec);
  g_ptr_array_add (tensors, empty);
  g_ptr_array_add (tensors, scalar);

  g_autoptr (GHashTable) metadata = g_hash_table_new (g_str_hash, g_str_equal);
  g_hash_table_insert (metadata, "format", "pt");
  g_hash_table_insert (metadata, "note", "quotes \" and\nnewlines and ünïcode");

  g_autoptr (GError) error = NULL;
  g_assert_true (lam_safetensors_write (path, tensors, metadata, &error));
  g_assert_no_error (error);

  g_autoptr (GHashTable) meta_back = NULL;
  g_autoptr (GPtrArray) back = lam_safetensors_read (path, &meta_back, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, tensors->len);
  for (guint i = 0; i < tensors->len; i++) {
    const LamNamedTensor *t = g_ptr_array_index (tensors, i);
    const LamNamedTensor *b = find_or_die (back, t->name);
    g_assert_cmpint (b->rank, ==, t->rank);
    for (int d = 0; d < t->rank; d++)
      g_assert_cmpint (b->dims[d], ==, t->dims[d]);
    g_assert_cmpmem (b->data, tensor_numel (b) * 4, t->data, tensor_numel (t) * 4);
  }
  g_assert_cmpuint (g_hash_table_size (meta_back), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (meta_back, "format"), ==, "pt");
  g_assert_cmpstr (g_hash_table_lookup (meta_back, "note"), ==,
                   "quotes \" and\nnewlines and ünïcode");

  /* The layout: header length a multiple of 8, data sorted by name and
   * packed, little-endian. */
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  guint64 n;
  memcpy (&n, contents, 8);
  n = GUINT64_FROM_LE (n);
  g_assert_cmpuint (n % 8, ==, 0);
  gsize data_bytes = 4 * (5 * 7 + 4 * 3 * 2 * 2 + 3 + 0 + 1);
  g_assert_cmpuint (length, ==, 8 + n + data_bytes);
  g_assert_true (g_str_has_prefix (contents + 8, "{\"__metadata__\":{"));
  const char *first = strstr (contents + 8, "\"a.matrix\"");
  const char *second = strstr (contents + 8, "\"b.conv\"");
  g_assert_true (first != NULL && second != NULL && first < second);
  float first_value;
  memcpy (&first_value, contents + 8 + n, 4);
  g_assert_cmpmem (&first_value, 4, &mat->data[0], 4);
}

static void
test_safetensors_no_metadata (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "plain.safetensors");
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func (
    (GDestroyNotify) lam_named_tensor_free);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_safetensors_write (path, tensors, NULL, &error));
  g_autoptr (GHashTable) meta = NULL;
  g_autoptr (GPtrArray) back = lam_safetensors_read (path, &meta, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (back->len, ==, 0);
  g_assert_cmpuint (g_hash_table_size (meta), ==, 0);

  /* Written by another tool: no padding, no metadata, metadata pointer NULL. */
  float values[2] = { 1.5f, -2.0f };
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
             values);
  g_autoptr (GPtrArray) other = lam_safetensors_read (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (other->len, ==, 1);
  g_assert_cmpmem (((LamNamedTensor *) other->pdata[0])->data, 8, values, 8);
}

static void
test_safetensors_header_too_long (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "long.safetensors");
  write_raw (path, 1000, "{}", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "1000", NULL);
  write_raw (path, G_MAXINT64, "{}", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "header length", NULL);
}

static void
test_safetensors_header_not_json (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "notjson.safetensors");
  write_raw (path, -1, "{\"w\": {\"dtype\": \"F32\", ", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "JSON", NULL);
  write_raw (path, -1, "[1, 2, 3]", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "object", NULL);
  write_raw (path, -1, "", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "JSON", NULL);
  write_raw (path, -1, "{\"__metadata__\": {\"n\": 3}}", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "__metadata__", "\"n\"", NULL);
  write_raw (path, -1, "{\"w\": [1, 2]}", 0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", NULL);
}

static void
test_safetensors_offsets_beyond_end (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "beyond.safetensors");
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[8,24]}}", 16,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "24", NULL);
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 16,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", NULL);
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 16,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", NULL);
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 16,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "data_offsets", NULL);
}

static void
test_safetensors_offsets_overlap (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "overlap.safetensors");
  write_raw (path, -1,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
             16, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"a\"", "\"b\"", "overlap", NULL);

  /* Adjacent ranges are fine. */
  write_raw (path, -1,
             "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
             "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
             16, NULL);
  g_autoptr (GError) error = NULL;
  g_autoptr (GPtrArray) ok = lam_safetensors_read (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ok->len, ==, 2);
}

static void
test_safetensors_dtype (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "f16.safetensors");
  write_raw (path, -1, "{\"half\":{\"dtype\":\"F16\",\"shape\":[4],\"data_offsets\":[0,8]}}", 8,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_DTYPE, "\"half\"", "F16", NULL);
  write_raw (path, -1, "{\"w\":{\"shape\":[4],\"data_offsets\":[0,16]}}", 16, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "dtype", NULL);
}

static void
test_safetensors_shape_overflow (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "overflow.safetensors");
  /* 2^32 · 2^32 wraps to 0 in 64 bits, which would match empty offsets. */
  write_raw (path, -1,
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],"
             "\"data_offsets\":[0,0]}}",
             0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "overflow", NULL);
  /* numel · 4 overflowing. */
  write_raw (path, -1,
             "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904],"
             "\"data_offsets\":[0,0]}}",
             0, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", NULL);
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,0]}}", 0,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "shape", NULL);
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1],\"data_offsets\":[0,4]}}",
             4, NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "dimensions", NULL);
}

static void
test_safetensors_lying_offsets (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "lying.safetensors");
  write_raw (path, -1, "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,16]}}", 24,
             NULL);
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", "24", "16", NULL);
}

static void
test_safetensors_truncated (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "truncated.safetensors");
  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func (
    (GDestroyNotify) lam_named_tensor_free);
  static const gint64 dims[] = { 16, 16 };
  g_ptr_array_add (tensors, tensor_new ("w", 2, dims));
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_safetensors_write (path, tensors, NULL, &error));

  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_true (g_file_set_contents (path, contents, (gssize) length - 5, &error));
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "\"w\"", NULL);

  /* Cut inside the header. */
  g_assert_true (g_file_set_contents (path, contents, 20, &error));
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "header length", NULL);
}

static void
test_safetensors_tiny (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "tiny.safetensors");
  g_autoptr (GError) error = NULL;
  g_assert_true (g_file_set_contents (path, "", 0, &error));
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "0 bytes", NULL);
  g_assert_true (g_file_set_contents (path, "\x02\0\0\0\0\0\0", 7, &error));
  assert_read_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "7 bytes", NULL);
  g_autofree char *missing = fixture_path (f, "missing.safetensors");
  assert_read_fails (missing, LAM_CHECKPOINT_ERROR_IO, NULL);
}

/* Checkpoints */

static LamModelPlan *
plan_for (const char *text)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (LamModelSpec) spec = lam_model_spec_from_string (text, &error);
  g_assert_no_error (error);
  LamModelPlan *plan = lam_model_plan_new (spec, &error);
  g_assert_no_error (error);
  return plan;
}

static float *
init_params (const LamModelPlan *plan, guint32 seed)
{
  float *params = g_new0 (float, plan->n_params);
  g_autoptr (GRand) rng = g_rand_new_with_seed (seed);
  for (int i = 0; i < plan->n_layers; i++)
    lam_layer_init (&plan->layers[i], params, rng);
  return params;
}

static LamCheckpointInfo *
info_for (const char *text)
{
  LamCheckpointInfo *info = g_new0 (LamCheckpointInfo, 1);
  info->spec = lam_model_spec_from_string (text, NULL);
  g_assert_nonnull (info->spec);
  info->n_channels = 1;
  info->mean[0] = 0.2860f;
  info->std[0] = 0.3530f;
  info->dataset = g_strdup ("/data/fashion-mnist");
  info->class_names = g_strsplit ("T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,"
                                  "Bag,Ankle \"boot\"",
                                  ",", -1);
  return info;
}

static void
save_or_die (const char *path, const char *text, guint32 seed, float **params_out)
{
  g_autoptr (LamModelPlan) plan = plan_for (text);
  g_autoptr (LamCheckpointInfo) info = info_for (text);
  g_autofree float *params = init_params (plan, seed);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  g_assert_no_error (error);
  if (params_out)
    *params_out = g_steal_pointer (&params);
}

static void
assert_load_fails (const char *path, int code, ...)
{
  g_autoptr (GError) error = NULL;
  LamCheckpointInfo *info = NULL;
  float *params = NULL;
  g_assert_false (lam_checkpoint_load (path, &info, &params, &error));
  g_assert_null (info);
  g_assert_null (params);
  g_assert_error (error, LAM_CHECKPOINT_ERROR, code);
  va_list ap;
  va_start (ap, code);
  for (const char *word = va_arg (ap, const char *); word; word = va_arg (ap, const char *))
    if (strstr (error->message, word) == NULL)
      g_error ("error message \"%s\" does not contain \"%s\"", error->message, word);
  va_end (ap);
}

static void
test_checkpoint_round_trip (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "model.safetensors");
  g_autofree char *json_path = fixture_path (f, "model.json");
  g_autoptr (LamModelPlan) plan = plan_for ("small-cnn");
  g_autoptr (LamCheckpointInfo) info = info_for ("small-cnn");
  g_autofree float *params = init_params (plan, 1234);
  g_autoptr (GError) error = NULL;

  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  g_assert_no_error (error);
  g_assert_true (g_file_test (json_path, G_FILE_TEST_IS_REGULAR));

  const char *const load_paths[] = { path, json_path };
  for (gsize k = 0; k < G_N_ELEMENTS (load_paths); k++) {
    g_autoptr (LamCheckpointInfo) back = NULL;
    g_autofree float *back_params = NULL;
    g_assert_true (lam_checkpoint_load (load_paths[k], &back, &back_params, &error));
    g_assert_no_error (error);

    g_autofree char *text = lam_model_spec_to_text (info->spec);
    g_autofree char *text_back = lam_model_spec_to_text (back->spec);
    g_assert_cmpstr (text, ==, text_back);
    g_autofree char *json = lam_model_spec_to_json (info->spec);
    g_autofree char *json_back = lam_model_spec_to_json (back->spec);
    g_assert_cmpstr (json, ==, json_back);
    g_assert_cmpmem (params, plan->n_params * 4, back_params, plan->n_params * 4);

    g_assert_cmpint (back->n_channels, ==, 1);
    g_assert_cmpfloat (back->mean[0], ==, 0.2860f);
    g_assert_cmpfloat (back->std[0], ==, 0.3530f);
    g_assert_cmpstr (back->dataset, ==, info->dataset);
    g_assert_nonnull (back->class_names);
    g_assert_cmpuint (g_strv_length (back->class_names), ==, 10);
    for (int i = 0; i < 10; i++)
      g_assert_cmpstr (back->class_names[i], ==, info->class_names[i]);
  }

  /* PyTorch's names and shapes, and the spec in the metadata. */
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &metadata, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tensors->len, ==, 8);
  const LamNamedTensor *conv = find_or_die (tensors, "0.weight");
  g_assert_cmpint (conv->rank, ==, 4);
  g_assert_cmpint (conv->dims[0], ==, 32);
  g_assert_cmpint (conv->dims[1], ==, 1);
  g_assert_cmpint (conv->dims[2], ==, 3);
  g_assert_cmpint (conv->dims[3], ==, 3);
  const LamNamedTensor *fc = find_or_die (tensors, "7.weight");
  g_assert_cmpint (fc->rank, ==, 2);
  g_assert_cmpint (fc->dims[0], ==, 128);
  g_assert_cmpint (fc->dims[1], ==, 3136);
  g_assert_cmpmem (fc->data, 128 * 3136 * 4, params + plan->layers[7].weight_offset,
                   128 * 3136 * 4);
  const LamNamedTensor *bias = find_or_die (tensors, "9.bias");
  g_assert_cmpint (bias->rank, ==, 1);
  g_assert_cmpint (bias->dims[0], ==, 10);
  g_assert_cmpstr (g_hash_table_lookup (metadata, "format"), ==, "pt");
  g_assert_nonnull (g_hash_table_lookup (metadata, "lamina_spec"));

  g_autofree char *desc = NULL;
  g_assert_true (g_file_get_contents (json_path, &desc, NULL, &error));
  g_assert_nonnull (strstr (desc, "\"lamina_checkpoint\": 1"));
  g_assert_nonnull (strstr (desc, "\"mean\": [0.286]"));
  /* The .json is also a spec wherever one is expected. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_load (json_path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (spec->n_layers, ==, 10);

  /* No temporary files are left behind. */
  g_autoptr (GDir) dir = g_dir_open (f->dir, 0, &error);
  int n_files = 0;
  while (g_dir_read_name (dir))
    n_files++;
  g_assert_cmpint (n_files, ==, 2);
}

static void
test_checkpoint_no_bias_and_rgb (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "weights");
  const char *text = "input=3x8x8,conv2d:4:3:p1:nobias,relu,maxpool2d:2,flatten,dropout:0.2,"
                     "linear:5:nobias,log_softmax";
  g_autoptr (LamModelPlan) plan = plan_for (text);
  g_autoptr (LamCheckpointInfo) info = info_for (text);
  info->n_channels = 3;
  info->mean[1] = 0.5f;
  info->mean[2] = 0.25f;
  info->std[1] = 0.125f;
  info->std[2] = 1.0f / 3.0f;
  g_clear_pointer (&info->dataset, g_free);
  g_clear_pointer (&info->class_names, g_strfreev);
  g_autofree float *params = init_params (plan, 9);
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  g_assert_no_error (error);

  /* Without the suffix, the description is the path plus ".json". */
  g_autofree char *json_path = fixture_path (f, "weights.json");
  g_assert_true (g_file_test (json_path, G_FILE_TEST_IS_REGULAR));

  g_autoptr (LamCheckpointInfo) back = NULL;
  g_autofree float *back_params = NULL;
  g_assert_true (lam_checkpoint_load (path, &back, &back_params, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (params, plan->n_params * 4, back_params, plan->n_params * 4);
  g_assert_cmpint (back->n_channels, ==, 3);
  for (int i = 0; i < 3; i++) {
    g_assert_cmpfloat (back->mean[i], ==, info->mean[i]);
    g_assert_cmpfloat (back->std[i], ==, info->std[i]);
  }
  g_assert_null (back->dataset);
  g_assert_null (back->class_names);
  g_autofree char *a = lam_model_spec_to_text (info->spec);
  g_autofree char *b = lam_model_spec_to_text (back->spec);
  g_assert_cmpstr (a, ==, b);

  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tensors->len, ==, 2);
  g_assert_nonnull (find (tensors, "0.weight"));
  g_assert_nonnull (find (tensors, "5.weight"));
  g_assert_null (find (tensors, "0.bias"));
}

/* A batch norm's state goes out under PyTorch's names, the count as an
 * I64 scalar, and comes back exactly; a file whose count is F32 (as a
 * tool might write it) reads too. */
static void
test_checkpoint_batchnorm (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "bn.safetensors");
  g_autoptr (LamModelPlan) plan = plan_for ("small-cnn-bn");
  g_autoptr (LamCheckpointInfo) info = info_for ("small-cnn-bn");
  g_autofree float *params = init_params (plan, 77);
  const LamLayer *bn = &plan->layers[1];
  g_assert_cmpint (bn->spec.kind, ==, LAM_LAYER_BATCHNORM2D);
  g_assert_cmpuint (bn->n_buffers, ==, 2 * 32 + 1);
  /* The initial state is PyTorch's: weight 1, bias 0, mean 0, var 1. */
  g_assert_cmpfloat (params[bn->weight_offset + 5], ==, 1);
  g_assert_cmpfloat (params[bn->bias_offset + 5], ==, 0);
  g_assert_cmpfloat (params[bn->buffer_offset + 5], ==, 0);
  g_assert_cmpfloat (params[bn->buffer_offset + 32 + 5], ==, 1);
  for (int c = 0; c < 32; c++) {
    params[bn->buffer_offset + c] = 0.01f * c - 0.1f;
    params[bn->buffer_offset + 32 + c] = 0.5f + 0.03f * c;
  }
  params[bn->buffer_offset + 64] = 844;
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  g_assert_no_error (error);

  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
  static const char count_entry[] = "\"1.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[]";
  g_assert_nonnull (memmem (contents, length, count_entry, strlen (count_entry)));
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, NULL, &error);
  g_assert_no_error (error);
  const LamNamedTensor *mean = find (tensors, "1.running_mean");
  const LamNamedTensor *var = find (tensors, "5.running_var");
  const LamNamedTensor *count = find (tensors, "1.num_batches_tracked");
  g_assert_nonnull (mean);
  g_assert_nonnull (var);
  g_assert_nonnull (count);
  g_assert_cmpint (mean->rank, ==, 1);
  g_assert_cmpint (mean->dims[0], ==, 32);
  g_assert_cmpint (var->dims[0], ==, 64);
  g_assert_cmpint (count->rank, ==, 0);
  g_assert_cmpfloat (count->data[0], ==, 844);
  g_assert_cmpfloat (mean->data[31], ==, params[bn->buffer_offset + 31]);
  g_assert_nonnull (find (tensors, "10.weight")); /* BatchNorm1d after the linear layer */
  g_assert_null (find (tensors, "0.bias"));      /* convolutions without bias */

  g_autoptr (LamCheckpointInfo) back = NULL;
  g_autofree float *back_params = NULL;
  g_assert_true (lam_checkpoint_load (path, &back, &back_params, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (params, plan->n_params * 4, back_params, plan->n_params * 4);

  /* The count as F32 and the whole file rewritten by the generic writer. */
  for (guint i = 0; i < tensors->len; i++) {
    LamNamedTensor *t = g_ptr_array_index (tensors, i);
    if (g_str_has_suffix (t->name, "num_batches_tracked"))
      t->data[0] = 12;
  }
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) again = lam_safetensors_read (path, &metadata, &error);
  g_assert_no_error (error);
  g_assert_true (lam_safetensors_write (path, tensors, metadata, &error));
  g_assert_no_error (error);
  g_clear_pointer (&back_params, g_free);
  g_clear_pointer (&back, lam_checkpoint_info_free);
  g_assert_true (lam_checkpoint_load (path, &back, &back_params, &error));
  g_assert_no_error (error);
  g_assert_cmpfloat (back_params[bn->buffer_offset + 64], ==, 12);
  g_assert_cmpfloat (back_params[bn->buffer_offset + 31], ==, params[bn->buffer_offset + 31]);
}

static void
test_checkpoint_metadata_fallback (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "model.safetensors");
  g_autofree char *json_path = fixture_path (f, "model.json");
  g_autofree float *params = NULL;
  save_or_die (path, "mlp", 5, &params);
  g_assert_cmpint (g_remove (json_path), ==, 0);

  g_autoptr (GError) error = NULL;
  g_autoptr (LamCheckpointInfo) back = NULL;
  g_autofree float *back_params = NULL;
  g_assert_true (lam_checkpoint_load (path, &back, &back_params, &error));
  g_assert_no_error (error);
  g_autoptr (LamModelSpec) mlp = lam_model_spec_preset ("mlp", NULL);
  g_autofree char *a = lam_model_spec_to_text (mlp);
  g_autofree char *b = lam_model_spec_to_text (back->spec);
  g_assert_cmpstr (a, ==, b);
  g_assert_cmpmem (params, 242762 * 4, back_params, 242762 * 4);
  g_assert_cmpfloat (back->mean[0], ==, 0.2860f);
  g_assert_cmpuint (g_strv_length (back->class_names), ==, 10);

  /* Given the missing .json explicitly, that is an error. */
  assert_load_fails (json_path, LAM_CHECKPOINT_ERROR_IO, "model.json", NULL);
}

/* Rewrites the weights of a saved checkpoint through `edit`. */
static void
edit_weights (const char *path, void (*edit) (GPtrArray *tensors), gboolean keep_metadata)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &metadata, &error);
  g_assert_no_error (error);
  edit (tensors);
  g_assert_true (lam_safetensors_write (path, tensors, keep_metadata ? metadata : NULL, &error));
  g_assert_no_error (error);
}

static void
drop_bias (GPtrArray *tensors)
{
  for (guint i = 0; i < tensors->len; i++)
    if (g_str_equal (((LamNamedTensor *) tensors->pdata[i])->name, "2.bias"))
      g_ptr_array_remove_index (tensors, i);
}

static void
reshape_weight (GPtrArray *tensors)
{
  for (guint i = 0; i < tensors->len; i++) {
    LamNamedTensor *t = tensors->pdata[i];
    if (g_str_equal (t->name, "0.weight")) {
      /* (3, 4) read as (4, 3): same size, wrong shape. */
      gint64 d = t->dims[0];
      t->dims[0] = t->dims[1];
      t->dims[1] = d;
    }
  }
}

static void
add_tensor (GPtrArray *tensors)
{
  static const gint64 dims[] = { 2 };
  g_ptr_array_add (tensors, tensor_new ("5.weight", 1, dims));
}

static void
nothing (GPtrArray *tensors)
{
}

/* The save id a checkpoint's weights carry (owned). */
static char *
weights_save_id (const char *path)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &metadata, &error);
  g_assert_no_error (error);
  const char *id = g_hash_table_lookup (metadata, "lamina_save_id");
  g_assert_nonnull (id);
  return g_strdup (id);
}

/* Writes json_start (an object without its closing brace) plus the save id. */
static void
write_json_with_id (const char *json_path, const char *json_start, const char *id)
{
  g_autofree char *json = g_strdup_printf ("%s, \"save_id\": \"%s\"}", json_start, id);
  g_assert_true (g_file_set_contents (json_path, json, -1, NULL));
}

static void
test_checkpoint_mismatch (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "m.safetensors");
  const char *text = "input=4,linear:3,relu,linear:2";

  save_or_die (path, text, 1, NULL);
  edit_weights (path, drop_bias, TRUE);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_MISMATCH, "\"2.bias\"", "missing", "2", NULL);

  save_or_die (path, text, 1, NULL);
  edit_weights (path, reshape_weight, TRUE);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_MISMATCH, "\"0.weight\"", "4×3", "3×4", NULL);

  save_or_die (path, text, 1, NULL);
  edit_weights (path, add_tensor, TRUE);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_MISMATCH, "\"5.weight\"", NULL);

  /* The spec in the .json disagrees with the weights of another model. */
  g_autofree char *other = fixture_path (f, "other.safetensors");
  save_or_die (other, "input=4,linear:5,relu,linear:2", 1, NULL);
  g_autofree char *contents = NULL;
  gsize length;
  g_assert_true (g_file_get_contents (other, &contents, &length, NULL));
  g_assert_true (g_file_set_contents (path, contents, (gssize) length, NULL));
  /* The weights come from another save than the .json (their save ids
   * differ): the weights, written first, carry the newer description. */
  {
    g_autoptr (GError) error = NULL;
    g_autoptr (LamCheckpointInfo) info = NULL;
    g_autofree float *params = NULL;
    g_assert_true (lam_checkpoint_load (path, &info, &params, &error));
    g_assert_no_error (error);
    g_assert_nonnull (strstr (info->note, "another save"));
    g_autofree char *loaded = lam_model_spec_to_text (info->spec);
    g_assert_nonnull (strstr (loaded, "linear:5"));
  }
  /* A .json of the same save whose spec disagrees with the weights. */
  g_autofree char *json_path = fixture_path (f, "m.json");
  save_or_die (path, text, 1, NULL);
  g_autofree char *weights_id = weights_save_id (path);
  write_json_with_id (json_path, "{\"lamina_checkpoint\": 1, \"model\": {\"input\": [5], "
                      "\"layers\": [{\"type\": \"linear\", \"out\": 3}, {\"type\": \"relu\"}, "
                      "{\"type\": \"linear\", \"out\": 2}]}, \"normalization\": {\"mean\": [0.5], "
                      "\"std\": [0.25]}", weights_id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_MISMATCH, "\"0.weight\"", "3×4", "3×5", NULL);
  /* One that names a model of 2^24 × 4096 weights (256 GiB) is a
   * mismatch too, not a lack of memory. */
  write_json_with_id (
    json_path,
    "{\"lamina_checkpoint\": 1, \"model\": {\"input\": [4096], "
    "\"layers\": [{\"type\": \"linear\", \"out\": 16777216}, {\"type\": \"relu\"}, "
    "{\"type\": \"linear\", \"out\": 2}]}, \"normalization\": {\"mean\": [0.5], "
    "\"std\": [0.25]}",
    weights_id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_MISMATCH, "\"0.weight\"", "3×4", "16777216×4096",
                     NULL);
}

static void
test_checkpoint_not_lamina (Fixture *f, gconstpointer data)
{
  g_autofree char *path = fixture_path (f, "c.safetensors");
  g_autofree char *json_path = fixture_path (f, "c.json");
  save_or_die (path, "input=4,linear:3,relu,linear:2", 1, NULL);

  g_assert_true (g_file_set_contents (json_path, "{\"layers\": []}", -1, NULL));
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "c.json", "not a Lamina checkpoint", NULL);
  assert_load_fails (json_path, LAM_CHECKPOINT_ERROR_FORMAT, "not a Lamina checkpoint", NULL);
  g_assert_true (g_file_set_contents (json_path, "[1, 2", -1, NULL));
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "c.json", NULL);
  g_assert_true (g_file_set_contents (json_path, "{\"lamina_checkpoint\": 99, \"model\": {}}", -1,
                                      NULL));
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "99", NULL);
  g_autofree char *id = weights_save_id (path);
  write_json_with_id (json_path, "{\"lamina_checkpoint\": 1, \"model\": {\"layers\": "
                      "[{\"type\": \"linear\", \"out\": 2}]}, \"normalization\": {\"mean\": "
                      "[0.5], \"std\": [0.25]}", id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "input", NULL);
  write_json_with_id (json_path, "{\"lamina_checkpoint\": 1, \"model\": {\"layers\": "
                      "[{\"type\": \"conv3d\"}]}", id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "conv3d", NULL);
  /* Normalisation missing, or a std that would divide by zero. */
  write_json_with_id (json_path, "{\"lamina_checkpoint\": 1, \"model\": {\"input\": [4], "
                      "\"layers\": [{\"type\": \"linear\", \"out\": 3}, {\"type\": \"relu\"}, "
                      "{\"type\": \"linear\", \"out\": 2}]}", id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "c.json", "no normalisation", NULL);
  write_json_with_id (json_path, "{\"lamina_checkpoint\": 1, \"model\": {\"input\": [4], "
                      "\"layers\": [{\"type\": \"linear\", \"out\": 3}, {\"type\": \"relu\"}, "
                      "{\"type\": \"linear\", \"out\": 2}]}, \"normalization\": {\"mean\": "
                      "[0.5], \"std\": [0]}", id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "std 0", "above 0", NULL);
  /* Above 0 but subnormal: 1/std is infinite, and so would every pixel
   * above the mean be. */
  write_json_with_id (json_path,
                      "{\"lamina_checkpoint\": 1, \"model\": {\"input\": [4], "
                      "\"layers\": [{\"type\": \"linear\", \"out\": 3}, {\"type\": \"relu\"}, "
                      "{\"type\": \"linear\", \"out\": 2}]}, \"normalization\": {\"mean\": "
                      "[0.5], \"std\": [1e-45]}",
                      id);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "std 1.4013e-45", "at least 1.17549e-38",
                     NULL);

  /* No .json and no spec in the metadata. */
  g_assert_cmpint (g_remove (json_path), ==, 0);
  edit_weights (path, nothing, FALSE);
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, "no model spec", NULL);

  g_autofree char *missing = fixture_path (f, "missing.safetensors");
  assert_load_fails (missing, LAM_CHECKPOINT_ERROR_IO, "missing.safetensors", NULL);
}

static void
test_checkpoint_failed_save (Fixture *f, gconstpointer data)
{
  g_autoptr (LamModelPlan) plan = plan_for ("input=4,linear:3");
  g_autoptr (LamCheckpointInfo) info = info_for ("input=4,linear:3");
  g_autofree float *params = init_params (plan, 3);
  g_autoptr (GError) error = NULL;

  g_autofree char *nowhere = g_build_filename (f->dir, "no-such-dir", "m.safetensors", NULL);
  g_assert_false (lam_checkpoint_save (nowhere, plan, info, params, &error));
  g_assert_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "no-such-dir"));
  g_clear_error (&error);
  g_autofree char *nowhere_dir = g_path_get_dirname (nowhere);
  g_assert_false (g_file_test (nowhere_dir, G_FILE_TEST_EXISTS));

  /* A successful save over an existing checkpoint replaces it. */
  g_autofree char *path = fixture_path (f, "m.safetensors");
  g_assert_true (g_file_set_contents (path, "old", -1, NULL));
  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  g_assert_no_error (error);
  g_autofree float *back = NULL;
  g_assert_true (lam_checkpoint_load (path, NULL, &back, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (back, plan->n_params * 4, params, plan->n_params * 4);

  /* A failed save leaves the old files as they were. */
  g_autofree char *before = NULL;
  gsize before_len;
  g_assert_true (g_file_get_contents (path, &before, &before_len, NULL));
  /* The description is written first: a folder in its place stops the
   * save before the weights are touched. */
  g_autofree char *json_path = fixture_path (f, "m.json");
  g_autofree char *json_before = NULL;
  g_assert_true (g_file_get_contents (json_path, &json_before, NULL, NULL));
  g_assert_cmpint (g_remove (json_path), ==, 0);
  g_assert_cmpint (g_mkdir (json_path, 0700), ==, 0);
  g_autofree float *other = init_params (plan, 4);
  g_assert_false (lam_checkpoint_save (path, plan, info, other, &error));
  g_assert_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO);
  g_assert_nonnull (strstr (error->message, "m.json"));
  g_clear_error (&error);
  g_assert_cmpint (g_rmdir (json_path), ==, 0);
  g_assert_true (g_file_set_contents (json_path, json_before, -1, NULL));

  if (geteuid () == 0) {
    g_test_message ("running as root: a read-only folder would not stop the write");
  } else {
    g_assert_cmpint (g_chmod (f->dir, 0500), ==, 0);
    g_assert_false (lam_checkpoint_save (path, plan, info, other, &error));
    g_assert_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO);
    g_clear_error (&error);
    g_assert_cmpint (g_chmod (f->dir, 0700), ==, 0);
  }
  g_autofree char *after = NULL;
  gsize after_len;
  g_assert_true (g_file_get_contents (path, &after, &after_len, NULL));
  g_assert_cmpmem (before, before_len, after, after_len);
  g_assert_true (lam_checkpoint_load (path, NULL, NULL, &error));
  g_assert_no_error (error);
}

/* A model trained on a table: its columns, task, test split and
 * standardisation come back from the .json and, without it, from the
 * weights' own metadata; a table that does not fit the model is refused. */
static LamCheckpointInfo *
table_info_for (const char *text, LamTask task)
{
  LamCheckpointInfo *info = g_new0 (LamCheckpointInfo, 1);
  info->spec = lam_model_spec_from_string (text, NULL);
  g_assert_nonnull (info->spec);
  info->n_channels = 1;
  info->std[0] = 1;
  info->dataset = g_strdup ("/data/crop-yields.csv");
  LamTableInfo *t = info->table = g_new0 (LamTableInfo, 1);
  t->task = task;
  t->n_inputs = 3;
  t->inputs = g_strsplit ("temperature,rain \"mm\",humidity", ",", -1);
  t->input_mean = g_memdup2 ((float[]) { 82.5975f, 91.4183f, 53.7375f }, 3 * sizeof (float));
  t->input_std = g_memdup2 ((float[]) { 13.5268f, 27.7478f, 1.0f }, 3 * sizeof (float));
  if (task == LAM_TASK_REGRESSION) {
    t->n_targets = 2;
    t->targets = g_strsplit ("apples,oranges", ",", -1);
    t->target_mean = g_memdup2 ((float[]) { 80.0558f, 94.6246f }, 2 * sizeof (float));
    t->target_std = g_memdup2 ((float[]) { 25.4348f, 25.291f }, 2 * sizeof (float));
  } else {
    t->n_targets = 1;
    t->targets = g_strsplit ("kind", ",", -1);
    info->class_names = g_strsplit ("a,b,c", ",", -1);
  }
  t->test_fraction = 0.25;
  t->split_seed = 7;
  return info;
}

static void
assert_same_table (const LamTableInfo *a, const LamTableInfo *b)
{
  g_assert_nonnull (b);
  g_assert_cmpint (a->task, ==, b->task);
  g_assert_true (g_strv_equal ((const char *const *) a->inputs, (const char *const *) b->inputs));
  g_assert_true (g_strv_equal ((const char *const *) a->targets, (const char *const *) b->targets));
  g_assert_cmpint (a->n_inputs, ==, b->n_inputs);
  g_assert_cmpint (a->n_targets, ==, b->n_targets);
  g_assert_cmpmem (a->input_mean, a->n_inputs * sizeof (float), b->input_mean,
                   b->n_inputs * sizeof (float));
  g_assert_cmpmem (a->input_std, a->n_inputs * sizeof (float), b->input_std,
                   b->n_inputs * sizeof (float));
  if (a->task == LAM_TASK_REGRESSION) {
    g_assert_cmpmem (a->target_mean, a->n_targets * sizeof (float), b->target_mean,
                     b->n_targets * sizeof (float));
    g_assert_cmpmem (a->target_std, a->n_targets * sizeof (float), b->target_std,
                     b->n_targets * sizeof (float));
  } else {
    g_assert_null (b->target_mean);
  }
  g_assert_cmpfloat (a->test_fraction, ==, b->test_fraction);
  g_assert_cmpuint (a->split_seed, ==, b->split_seed);
}

static void
test_checkpoint_table (Fixture *f, gconstpointer data)
{
  struct
  {
    const char *spec;
    LamTask task;
  } cases[] = {
    { "input=3,linear:2,loss=mse", LAM_TASK_REGRESSION },
    { "input=3,linear:4,relu,linear:3", LAM_TASK_CLASSIFICATION },
  };
  for (guint i = 0; i < G_N_ELEMENTS (cases); i++) {
    g_autofree char *path = fixture_path (f, "table.safetensors");
    g_autofree char *json_path = fixture_path (f, "table.json");
    g_autoptr (LamModelPlan) plan = plan_for (cases[i].spec);
    g_autoptr (LamCheckpointInfo) info = table_info_for (cases[i].spec, cases[i].task);
    g_autofree float *params = init_params (plan, 77);
    g_autoptr (GError) error = NULL;
    g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
    g_assert_no_error (error);

    g_autoptr (LamCheckpointInfo) back = NULL;
    g_autofree float *loaded = NULL;
    g_assert_true (lam_checkpoint_load (path, &back, &loaded, &error));
    g_assert_no_error (error);
    assert_same_table (info->table, back->table);
    g_assert_cmpmem (loaded, plan->n_params * sizeof (float), params,
                     plan->n_params * sizeof (float));

    /* Without the .json, from the weights' metadata. */
    g_assert_cmpint (g_unlink (json_path), ==, 0);
    g_autoptr (LamCheckpointInfo) meta = NULL;
    g_assert_true (lam_checkpoint_load (path, &meta, NULL, &error));
    g_assert_no_error (error);
    assert_same_table (info->table, meta->table);
    g_assert_cmpstr (meta->dataset, ==, "/data/crop-yields.csv");
    g_unlink (path);
  }

  /* Four input columns for a model of three inputs. */
  g_autofree char *path = fixture_path (f, "wide.safetensors");
  g_autoptr (LamModelPlan) plan = plan_for ("input=3,linear:2,loss=mse");
  g_autoptr (LamCheckpointInfo) info = table_info_for ("input=3,linear:2,loss=mse",
                                                       LAM_TASK_REGRESSION);
  g_autofree float *params = init_params (plan, 1);
  LamTableInfo *t = info->table;
  g_strfreev (t->inputs);
  t->inputs = g_strsplit ("a,b,c,d", ",", -1);
  t->n_inputs = 4;
  g_free (t->input_mean);
  g_free (t->input_std);
  t->input_mean = g_new0 (float, 4);
  t->input_std = g_memdup2 ((float[]) { 1, 1, 1, 1 }, 4 * sizeof (float));
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  assert_load_fails (path, LAM_CHECKPOINT_ERROR_MISMATCH, "the table has 4 input columns",
                     "the model's input is 3", NULL);

  /* A table whose description is broken, field by field. */
  g_autofree char *json_path = fixture_path (f, "wide.json");
  const char *broken[][2] = {
    { "\"task\": \"regression\"", "\"task\": \"sorting\"" },
    { "\"std\": 1}", "\"std\": 0}" },
    { "\"test_fraction\": 0.25", "\"test_fraction\": 1.5" },
    { "\"split_seed\": 7", "\"split_seed\": -1" },
  };
  const char *says[] = { "table: task must be", "table: inputs must be", "table: test_fraction",
                         "table: split_seed" };
  g_autofree char *original = NULL;
  g_assert_true (g_file_get_contents (json_path, &original, NULL, NULL));
  for (guint i = 0; i < G_N_ELEMENTS (broken); i++) {
    g_assert_nonnull (strstr (original, broken[i][0]));
    g_autoptr (GString) text = g_string_new (original);
    g_string_replace (text, broken[i][0], broken[i][1], 1);
    g_assert_true (g_file_set_contents (json_path, text->str, -1, NULL));
    assert_load_fails (path, LAM_CHECKPOINT_ERROR_FORMAT, says[i], NULL);
  }
}

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

/* A dataset whose folder name is not UTF-8 is found again from the .json
 * and from the weights alone: JSON keeps it as a file URI. */
static void
test_checkpoint_dataset_bytes (Fixture *f, gconstpointer data)
{
  const char *text = "input=4,linear:3,relu,linear:2";
  const char *dir = "/data/caf\xe9 images"; /* Latin-1, as an old disk may hold */
  g_autoptr (LamModelPlan) plan = plan_for (text);
  g_autoptr (LamCheckpointInfo) info = info_for (text);
  g_free (info->dataset);
  info->dataset = g_strdup (dir);
  g_autofree float *params = init_params (plan, 3);
  g_autofree char *path = fixture_path (f, "bytes.safetensors");
  g_autoptr (GError) error = NULL;
  g_assert_true (lam_checkpoint_save (path, plan, info, params, &error));
  g_assert_no_error (error);
  g_autofree char *json_path = lam_checkpoint_spec_path (path);
  g_autofree char *json = NULL;
  g_assert_true (g_file_get_contents (json_path, &json, NULL, NULL));
  g_assert_true (g_utf8_validate (json, -1, NULL));
  g_assert_nonnull (strstr (json, "\"dataset_uri\": \"file:///data/caf%E9%20images\""));

  for (int from_weights = 0; from_weights < 2; from_weights++) {
    if (from_weights)
      g_assert_cmpint (g_remove (json_path), ==, 0);
    g_autoptr (LamCheckpointInfo) back = NULL;
    g_autofree float *loaded = NULL;
    g_assert_true (lam_checkpoint_load (path, &back, &loaded, &error));
    g_assert_no_error (error);
    g_assert_cmpstr (back->dataset, ==, dir);
  }
}

/* Weights saved under a name that does not end in .safetensors load from
 * their .json (which names them), and a project's loader takes them for
 * the checkpoint they are. */
static void
test_checkpoint_any_suffix (Fixture *f, gconstpointer data)
{
  const char *text = "input=4,linear:3,relu,linear:2";
  g_autofree float *params = NULL;
  g_autofree char *path = fixture_path (f, "x.bin");
  save_or_die (path, text, 5, &params);
  g_autofree char *json_path = lam_checkpoint_spec_path (path);
  g_assert_true (g_str_has_suffix (json_path, "x.bin.json"));
  g_autofree char *named = lam_checkpoint_weights_path (json_path);
  g_assert_cmpstr (named, ==, path);
  g_autoptr (GError) error = NULL;
  g_autoptr (LamCheckpointInfo) info = NULL;
  g_autofree float *loaded = NULL;
  g_assert_true (lam_checkpoint_load (json_path, &info, &loaded, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (loaded, 4 * (4 * 3 + 3 + 3 * 2 + 2), params, 4 * (4 * 3 + 3 + 3 * 2 + 2));

  g_autoptr (LamProjectFile) project = lam_project_file_load (path, &error);
  g_assert_no_error (error);
  g_assert_cmpint (project->version, ==, 0);
  g_assert_cmpmem (project->params, project->n_params * 4, params, project->n_params * 4);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  ADD ("/checkpoint/safetensors/round-trip", test_safetensors_round_trip);
  ADD ("/checkpoint/safetensors/no-metadata", test_safetensors_no_metadata);
  ADD ("/checkpoint/safetensors/header-too-long", test_safetensors_header_too_long);
  ADD ("/checkpoint/safetensors/header-not-json", test_safetensors_header_not_json);
  ADD ("/checkpoint/safetensors/offsets-beyond-end", test_safetensors_offsets_beyond_end);
  ADD ("/checkpoint/safetensors/offsets-overlap", test_safetensors_offsets_overlap);
  ADD ("/checkpoint/safetensors/dtype-f16", test_safetensors_dtype);
  ADD ("/checkpoint/safetensors/shape-overflow", test_safetensors_shape_overflow);
  ADD ("/checkpoint/safetensors/lying-offsets", test_safetensors_lying_offsets);
  ADD ("/checkpoint/safetensors/truncated", test_safetensors_truncated);
  ADD ("/checkpoint/safetensors/empty-and-7-bytes", test_safetensors_tiny);
  ADD ("/checkpoint/round-trip", test_checkpoint_round_trip);
  ADD ("/checkpoint/no-bias-and-rgb", test_checkpoint_no_bias_and_rgb);
  ADD ("/checkpoint/batchnorm", test_checkpoint_batchnorm);
  ADD ("/checkpoint/metadata-fallback", test_checkpoint_metadata_fallback);
  ADD ("/checkpoint/mismatch", test_checkpoint_mismatch);
  ADD ("/checkpoint/not-lamina", test_checkpoint_not_lamina);
  ADD ("/checkpoint/failed-save", test_checkpoint_failed_save);
  ADD ("/checkpoint/table", test_checkpoint_table);
  ADD ("/checkpoint/dataset-name-bytes", test_checkpoint_dataset_bytes);
  ADD ("/checkpoint/any-suffix", test_checkpoint_any_suffix);

  return g_test_run ();
}
