/* lam-checkpoint.c: safetensors reading and writing, and checkpoints made
 * of a .safetensors file of weights plus a .json description beside it.
 *
 * Safetensors layout: an 8-byte little-endian header length N, N bytes of
 * JSON ({"__metadata__": {...}, "NAME": {"dtype", "shape", "data_offsets"}}),
 * then the data buffer, which the offsets index from its start.
 */
#include "lam-checkpoint.h"

#include "lam-file.h"
#include "lam-layer-class.h"
#include "lam-loader.h"

#include <math.h>
#include <string.h>

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "lamina-config.h"

G_DEFINE_QUARK (lam-checkpoint-error-quark, lam_checkpoint_error)

/* A header past this is not a weights file we wrote or want to parse. */
#define MAX_HEADER_BYTES (100 * 1024 * 1024)
#define CHECKPOINT_VERSION 1

void
lam_checkpoint_info_free (LamCheckpointInfo *info)
{
  if (info == NULL)
    return;
  g_free (info->note);
  lam_model_spec_free (info->spec);
  g_free (info->dataset);
  g_strfreev (info->class_names);
  lam_table_info_free (info->table);
  g_free (info);
}

void
lam_named_tensor_free (LamNamedTensor *tensor)
{
  if (tensor == NULL)
    return;
  g_free (tensor->name);
  g_free (tensor->data);
  g_free (tensor);
}

/* A tensor to write whose data is borrowed. */
typedef struct
{
  const char *name;
  int rank;
  gint64 dims[4];
  const float *data;
  gboolean int64; /* written as I64 (a count kept as a float in the buffer) */
} TensorRef;

static gint64
dims_numel (const gint64 *dims, int rank)
{
  gint64 n = 1;
  for (int i = 0; i < rank; i++)
    n *= dims[i];
  return n;
}

static char *
dims_to_string (const gint64 *dims, int rank)
{
  if (rank == 0)
    return g_strdup ("a scalar");
  GString *s = g_string_new (NULL);
  for (int i = 0; i < rank; i++)
    g_string_append_printf (s, i ? "×%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, dims[i]);
  return g_string_free (s, FALSE);
}

static int
compare_refs (gconstpointer a, gconstpointer b)
{
  const TensorRef *x = a, *y = b;
  return strcmp (x->name, y->name);
}

static int
compare_strings (gconstpointer a, gconstpointer b)
{
  return strcmp (*(const char *const *) a, *(const char *const *) b);
}

static gboolean
write_file (const char *path, const void *data, gsize length, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  if (!lam_file_replace_contents (path, data, length, &local_error)) {
    g_set_error_literal (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO,
                         local_error->message);
    return FALSE;
  }
  return TRUE;
}

/* Sorts `refs` by name and writes them. */
static gboolean
write_safetensors (const char *path, GArray *refs, GHashTable *metadata, GError **error)
{
  g_array_sort (refs, compare_refs);

  guint64 data_bytes = 0;
  for (guint i = 0; i < refs->len; i++) {
    const TensorRef *t = &g_array_index (refs, TensorRef, i);
    if (t->name == NULL || *t->name == '\0' || g_str_equal (t->name, "__metadata__") ||
        (i > 0 && g_str_equal (t->name, g_array_index (refs, TensorRef, i - 1).name))) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "cannot write %s: tensor name \"%s\" is empty, reserved or used twice", path,
                   t->name ? t->name : "");
      return FALSE;
    }
    if (t->rank < 0 || t->rank > 4) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "cannot write %s: tensor \"%s\" has rank %d (at most 4)", path, t->name,
                   t->rank);
      return FALSE;
    }
    for (int d = 0; d < t->rank; d++) {
      if (t->dims[d] < 0 || t->dims[d] > G_MAXINT32) {
        g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                     "cannot write %s: tensor \"%s\" has a bad dimension %" G_GINT64_FORMAT, path,
                     t->name, t->dims[d]);
        return FALSE;
      }
    }
    data_bytes += (t->int64 ? 8 : 4) * (guint64) dims_numel (t->dims, t->rank);
  }

  GString *header = g_string_new ("{");
  if (metadata != NULL && g_hash_table_size (metadata) > 0) {
    guint n_keys;
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array (metadata, &n_keys);
    qsort (keys, n_keys, sizeof (gpointer), compare_strings);
    g_string_append (header, "\"__metadata__\":{");
    for (guint i = 0; i < n_keys; i++) {
      if (i > 0)
        g_string_append_c (header, ',');
      lam_json_append_string (header, keys[i]);
      g_string_append_c (header, ':');
      lam_json_append_string (header, g_hash_table_lookup (metadata, keys[i]));
    }
    g_string_append_c (header, '}');
  }
  guint64 offset = 0;
  for (guint i = 0; i < refs->len; i++) {
    const TensorRef *t = &g_array_index (refs, TensorRef, i);
    guint64 bytes = (t->int64 ? 8 : 4) * (guint64) dims_numel (t->dims, t->rank);
    if (header->len > 1)
      g_string_append_c (header, ',');
    lam_json_append_string (header, t->name);
    g_string_append_printf (header, ":{\"dtype\":\"%s\",\"shape\":[", t->int64 ? "I64" : "F32");
    for (int d = 0; d < t->rank; d++)
      g_string_append_printf (header, d ? ",%" G_GINT64_FORMAT : "%" G_GINT64_FORMAT, t->dims[d]);
    g_string_append_printf (header,
                            "],\"data_offsets\":[%" G_GUINT64_FORMAT ",%" G_GUINT64_FORMAT "]}",
                            offset, offset + bytes);
    offset += bytes;
  }
  g_string_append_c (header, '}');
  /* Padding keeps the data buffer 8-byte aligned, as the format suggests. */
  while (header->len % 8 != 0)
    g_string_append_c (header, ' ');

  gsize total = 8 + header->len + (gsize) data_bytes;
  g_autofree guint8 *buf = g_try_malloc (total);
  if (buf == NULL) {
    g_string_free (header, TRUE);
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO,
                 "cannot write %s: out of memory for %" G_GSIZE_FORMAT " bytes", path, total);
    return FALSE;
  }
  guint64 n_le = GUINT64_TO_LE ((guint64) header->len);
  memcpy (buf, &n_le, 8);
  memcpy (buf + 8, header->str, header->len);
  guint8 *data = buf + 8 + header->len;
  g_string_free (header, TRUE);

  for (guint i = 0; i < refs->len; i++) {
    const TensorRef *t = &g_array_index (refs, TensorRef, i);
    gsize n = (gsize) dims_numel (t->dims, t->rank);
    if (t->int64) {
      for (gsize j = 0; j < n; j++) {
        guint64 bits = GUINT64_TO_LE ((guint64) (gint64) llround (t->data[j]));
        memcpy (data + 8 * j, &bits, 8);
      }
      data += n * 8;
      continue;
    }
#if G_BYTE_ORDER == G_LITTLE_ENDIAN
    if (n > 0)
      memcpy (data, t->data, n * 4);
#else
    for (gsize j = 0; j < n; j++) {
      guint32 bits;
      memcpy (&bits, &t->data[j], 4);
      bits = GUINT32_TO_LE (bits);
      memcpy (data + 4 * j, &bits, 4);
    }
#endif
    data += n * 4;
  }

  return write_file (path, buf, total, error);
}

gboolean
lam_safetensors_write (const char *path, GPtrArray *tensors, GHashTable *metadata, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (tensors != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GArray) refs = g_array_sized_new (FALSE, TRUE, sizeof (TensorRef), tensors->len);
  for (guint i = 0; i < tensors->len; i++) {
    const LamNamedTensor *t = g_ptr_array_index (tensors, i);
    TensorRef ref = { .name = t->name, .rank = t->rank, .data = t->data };
    g_return_val_if_fail (t->rank >= 0 && t->rank <= 4, FALSE);
    for (int d = 0; d < t->rank; d++)
      ref.dims[d] = t->dims[d];
    g_return_val_if_fail (t->data != NULL || dims_numel (ref.dims, t->rank) == 0, FALSE);
    g_array_append_val (refs, ref);
  }
  return write_safetensors (path, refs, metadata, error);
}

/* Reading */

typedef struct
{
  guint64 begin, end;
  const char *name;
} Extent;

static int
compare_extents (gconstpointer a, gconstpointer b)
{
  const Extent *x = a, *y = b;
  if (x->begin != y->begin)
    return x->begin < y->begin ? -1 : 1;
  if (x->end != y->end)
    return x->end < y->end ? -1 : 1;
  return 0;
}

static int
compare_tensors (gconstpointer a, gconstpointer b)
{
  const LamNamedTensor *x = *(LamNamedTensor *const *) a, *y = *(LamNamedTensor *const *) b;
  return strcmp (x->name, y->name);
}

/* A JSON integer >= 0, or -1. */
static gint64
json_uint (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_INT64)
    return -1;
  gint64 v = json_node_get_int (node);
  return v >= 0 ? v : -1;
}

static gboolean
read_tensor_entry (const char *path, const char *name, JsonNode *node, guint64 buffer_bytes,
                   LamNamedTensor **out, Extent *extent, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\": the header entry is not an object", path, name);
    return FALSE;
  }
  JsonObject *obj = json_node_get_object (node);

  JsonNode *dtype = json_object_get_member (obj, "dtype");
  if (dtype == NULL || !JSON_NODE_HOLDS_VALUE (dtype) ||
      json_node_get_value_type (dtype) != G_TYPE_STRING) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\" has no dtype", path, name);
    return FALSE;
  }
  /* I64 holds counts (a batch norm's num_batches_tracked); they are read
   * into floats like everything else. */
  guint64 element_bytes = g_str_equal (json_node_get_string (dtype), "F32")   ? 4
                          : g_str_equal (json_node_get_string (dtype), "I64") ? 8
                                                                              : 0;
  if (element_bytes == 0) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_DTYPE,
                 "%s: tensor \"%s\" is %s; only F32 (and I64 for counts) is supported", path,
                 name, json_node_get_string (dtype));
    return FALSE;
  }

  JsonNode *shape = json_object_get_member (obj, "shape");
  if (shape == NULL || !JSON_NODE_HOLDS_ARRAY (shape)) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\" has no shape array", path, name);
    return FALSE;
  }
  JsonArray *dims = json_node_get_array (shape);
  guint rank = json_array_get_length (dims);
  if (rank > 4) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\" has %u dimensions (at most 4)", path, name, rank);
    return FALSE;
  }
  gint64 tdims[4] = { 0 };
  guint64 numel = 1;
  for (guint i = 0; i < rank; i++) {
    gint64 d = json_uint (json_array_get_element (dims, i));
    if (d < 0) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: tensor \"%s\": shape entries must be non-negative integers", path, name);
      return FALSE;
    }
    tdims[i] = d;
    if (!g_uint64_checked_mul (&numel, numel, (guint64) d) || numel > G_MAXUINT64 / 8) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: tensor \"%s\": the shape's element count overflows", path, name);
      return FALSE;
    }
  }

  JsonNode *offsets = json_object_get_member (obj, "data_offsets");
  JsonArray *pair = offsets && JSON_NODE_HOLDS_ARRAY (offsets) ? json_node_get_array (offsets)
                                                                : NULL;
  gint64 begin = -1, end = -1;
  if (pair != NULL && json_array_get_length (pair) == 2) {
    begin = json_uint (json_array_get_element (pair, 0));
    end = json_uint (json_array_get_element (pair, 1));
  }
  if (begin < 0 || end < 0) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\": data_offsets must be two non-negative integers", path, name);
    return FALSE;
  }
  if (end < begin || (guint64) end > buffer_bytes) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\": data_offsets [%" G_GINT64_FORMAT ", %" G_GINT64_FORMAT
                 "] lie outside the %" G_GUINT64_FORMAT "-byte data buffer",
                 path, name, begin, end, buffer_bytes);
    return FALSE;
  }
  if ((guint64) (end - begin) != numel * element_bytes) {
    g_autofree char *s = dims_to_string (tdims, (int) rank);
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: tensor \"%s\" of shape %s needs %" G_GUINT64_FORMAT
                 " bytes, its data_offsets give %" G_GINT64_FORMAT,
                 path, name, s, numel * element_bytes, end - begin);
    return FALSE;
  }

  LamNamedTensor *t = g_new0 (LamNamedTensor, 1);
  t->name = g_strdup (name);
  t->rank = (int) rank;
  memcpy (t->dims, tdims, sizeof tdims);
  extent->begin = (guint64) begin;
  extent->end = (guint64) end;
  extent->name = t->name;
  *out = t;
  return TRUE;
}

static gboolean
read_metadata (const char *path, JsonNode *node, GHashTable *table, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node)) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: __metadata__ is not an object", path);
    return FALSE;
  }
  JsonObject *obj = json_node_get_object (node);
  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    JsonNode *value = json_object_get_member (obj, l->data);
    if (!JSON_NODE_HOLDS_VALUE (value) || json_node_get_value_type (value) != G_TYPE_STRING) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: __metadata__ entry \"%s\" is not a string", path, (const char *) l->data);
      return FALSE;
    }
    g_hash_table_replace (table, g_strdup (l->data), g_strdup (json_node_get_string (value)));
  }
  return TRUE;
}

GPtrArray *
lam_safetensors_read (const char *path, GHashTable **metadata, GError **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  g_autoptr (GError) local_error = NULL;
  g_autoptr (GMappedFile) mapped = g_mapped_file_new (path, FALSE, &local_error);
  if (mapped == NULL) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO, "cannot read %s: %s", path,
                 local_error->message);
    return NULL;
  }
  const guint8 *bytes = (const guint8 *) g_mapped_file_get_contents (mapped);
  guint64 size = g_mapped_file_get_length (mapped);

  if (size < 8) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the file is %" G_GUINT64_FORMAT
                 " bytes long, too short for a safetensors header",
                 path, size);
    return NULL;
  }
  guint64 n;
  memcpy (&n, bytes, 8);
  n = GUINT64_FROM_LE (n);
  if (n > size - 8) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the header length %" G_GUINT64_FORMAT " runs past the end of the %"
                 G_GUINT64_FORMAT "-byte file",
                 path, n, size);
    return NULL;
  }
  if (n > MAX_HEADER_BYTES) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the header length %" G_GUINT64_FORMAT " is over the %d-byte limit", path, n,
                 MAX_HEADER_BYTES);
    return NULL;
  }
  const guint8 *buffer = bytes + 8 + n;
  guint64 buffer_bytes = size - 8 - n;

  g_autoptr (JsonParser) parser = json_parser_new ();
  if (n == 0 || !lam_json_load_data (parser, (const char *) bytes + 8, (gssize) n, &local_error)) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the header is not JSON: %s", path,
                 local_error ? local_error->message : "it is empty");
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root)) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the header is not a JSON object", path);
    return NULL;
  }
  g_autofree char *bad_text = lam_json_find_bad_text (root);
  if (bad_text != NULL) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: \"%s\" in the header is not valid UTF-8 text", path, bad_text);
    return NULL;
  }
  JsonObject *obj = json_node_get_object (root);

  g_autoptr (GPtrArray) tensors = g_ptr_array_new_with_free_func (
    (GDestroyNotify) lam_named_tensor_free);
  g_autoptr (GHashTable) meta = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autoptr (GArray) extents = g_array_new (FALSE, FALSE, sizeof (Extent));

  g_autoptr (GList) members = json_object_get_members (obj);
  for (GList *l = members; l != NULL; l = l->next) {
    const char *name = l->data;
    JsonNode *node = json_object_get_member (obj, name);
    if (g_str_equal (name, "__metadata__")) {
      if (!read_metadata (path, node, meta, error))
        return NULL;
      continue;
    }
    LamNamedTensor *t = NULL;
    Extent extent;
    if (!read_tensor_entry (path, name, node, buffer_bytes, &t, &extent, error))
      return NULL;
    g_ptr_array_add (tensors, t);
    if (extent.end > extent.begin)
      g_array_append_val (extents, extent);
  }

  g_array_sort (extents, compare_extents);
  for (guint i = 1; i < extents->len; i++) {
    const Extent *a = &g_array_index (extents, Extent, i - 1);
    const Extent *b = &g_array_index (extents, Extent, i);
    if (b->begin < a->end) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: the data of tensors \"%s\" and \"%s\" overlap", path, a->name, b->name);
      return NULL;
    }
  }

  /* Every range is checked; now copy the data. */
  for (guint i = 0; i < tensors->len; i++) {
    LamNamedTensor *t = g_ptr_array_index (tensors, i);
    gsize numel = (gsize) dims_numel (t->dims, t->rank);
    JsonObject *entry = json_object_get_object_member (obj, t->name);
    guint64 begin = (guint64) json_array_get_int_element (
      json_object_get_array_member (entry, "data_offsets"), 0);
    t->data = g_try_new (float, MAX (numel, 1));
    if (t->data == NULL) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO,
                   "%s: out of memory for tensor \"%s\"", path, t->name);
      return NULL;
    }
    if (g_str_equal (json_object_get_string_member (entry, "dtype"), "I64")) {
      for (gsize j = 0; j < numel; j++) {
        guint64 bits;
        memcpy (&bits, buffer + begin + 8 * j, 8);
        t->data[j] = (float) (gint64) GUINT64_FROM_LE (bits);
      }
      continue;
    }
    if (numel > 0)
      memcpy (t->data, buffer + begin, numel * 4);
#if G_BYTE_ORDER != G_LITTLE_ENDIAN
    for (gsize j = 0; j < numel; j++) {
      guint32 bits;
      memcpy (&bits, &t->data[j], 4);
      bits = GUINT32_FROM_LE (bits);
      memcpy (&t->data[j], &bits, 4);
    }
#endif
  }
  g_ptr_array_sort (tensors, compare_tensors);

  if (metadata != NULL)
    *metadata = g_steal_pointer (&meta);
  return g_steal_pointer (&tensors);
}

/* Checkpoints */

/* x.safetensors → x.json; anything else gets ".json" added. */
char *
lam_checkpoint_spec_path (const char *path)
{
  if (g_str_has_suffix (path, ".safetensors")) {
    g_autofree char *base = g_strndup (path, strlen (path) - strlen (".safetensors"));
    return g_strconcat (base, ".json", NULL);
  }
  return g_strconcat (path, ".json", NULL);
}

/* The weights a checkpoint's .json names ("weights": a file beside it),
 * or NULL where it names none that could be: then they are found by the
 * name lam_checkpoint_save gives (x.json beside x.safetensors), which a
 * --save of another suffix (x.bin, described in x.bin.json) does not. */
static char *
weights_named_in (const char *json_path)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  if (!lam_json_load_file (parser, json_path, NULL))
    return NULL;
  JsonNode *root = json_parser_get_root (parser);
  if (root == NULL || !JSON_NODE_HOLDS_OBJECT (root))
    return NULL;
  JsonNode *node = json_object_get_member (json_node_get_object (root), "weights");
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  const char *name = json_node_get_string (node);
  if (*name == '\0' || strchr (name, G_DIR_SEPARATOR) != NULL || g_str_equal (name, ".") ||
      g_str_equal (name, ".."))
    return NULL;
  g_autofree char *dir = g_path_get_dirname (json_path);
  return g_build_filename (dir, name, NULL);
}

char *
lam_checkpoint_weights_path (const char *path)
{
  if (!g_str_has_suffix (path, ".json"))
    return g_strdup (path);
  char *named = weights_named_in (path);
  if (named != NULL)
    return named;
  g_autofree char *base = g_strndup (path, strlen (path) - strlen (".json"));
  if (g_str_has_suffix (base, ".safetensors"))
    return g_steal_pointer (&base);
  return g_strconcat (base, ".safetensors", NULL);
}

static char *
floats_to_list (const float *values, int n)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < n; i++) {
    if (i > 0)
      g_string_append_c (s, ',');
    lam_json_append_float (s, values[i]);
  }
  return g_string_free (s, FALSE);
}

static void
append_columns (GString *s, char **names, const float *mean, const float *std)
{
  g_string_append_c (s, '[');
  for (int j = 0; names[j] != NULL; j++) {
    g_string_append (s, j ? ", {\"name\": " : "{\"name\": ");
    lam_json_append_string (s, names[j]);
    if (mean != NULL) {
      g_string_append (s, ", \"mean\": ");
      lam_json_append_float (s, mean[j]);
      g_string_append (s, ", \"std\": ");
      lam_json_append_float (s, std[j]);
    }
    g_string_append_c (s, '}');
  }
  g_string_append_c (s, ']');
}

/* A model's table as one JSON object (the .json's "table" and the
 * __metadata__'s). */
static char *
table_json (const LamTableInfo *t)
{
  GString *s = g_string_new ("{\"task\": ");
  lam_json_append_string (s, lam_task_to_string (t->task));
  g_string_append (s, ", \"inputs\": ");
  append_columns (s, t->inputs, t->input_mean, t->input_std);
  g_string_append (s, ", \"targets\": ");
  append_columns (s, t->targets, t->target_mean, t->target_std);
  g_string_append (s, ", \"test_fraction\": ");
  lam_json_append_double (s, t->test_fraction);
  g_string_append_printf (s, ", \"split_seed\": %" G_GUINT64_FORMAT "}", t->split_seed);
  return g_string_free (s, FALSE);
}

/* The checkpoint's .json: the spec under "model", indented to sit there. */
static char *
checkpoint_json (const char *spec_json, const LamCheckpointInfo *info, const char *weights_name,
                 const char *save_id)
{
  GString *s = g_string_new ("{\n  \"lamina_checkpoint\": 1,\n");
  g_string_append_printf (s, "  \"lamina_version\": \"%s\",\n", LAMINA_VERSION);
  g_string_append_printf (s, "  \"save_id\": \"%s\",\n", save_id);
  g_string_append (s, "  \"weights\": ");
  lam_json_append_string (s, weights_name);
  g_string_append (s, ",\n  \"model\": ");
  g_autofree char *trimmed = g_strchomp (g_strdup (spec_json));
  g_auto (GStrv) lines = g_strsplit (trimmed, "\n", -1);
  g_autofree char *indented = g_strjoinv ("\n  ", lines);
  g_string_append (s, indented);

  int n = CLAMP (info->n_channels, 0, 3);
  g_string_append (s, ",\n  \"normalization\": {\"mean\": [");
  for (int i = 0; i < n; i++) {
    if (i > 0)
      g_string_append (s, ", ");
    lam_json_append_float (s, info->mean[i]);
  }
  g_string_append (s, "], \"std\": [");
  for (int i = 0; i < n; i++) {
    if (i > 0)
      g_string_append (s, ", ");
    lam_json_append_float (s, info->std[i]);
  }
  g_string_append (s, "]}");

  if (info->dataset != NULL) {
    g_string_append (s, ",\n  \"dataset\": ");
    lam_json_append_string (s, info->dataset);
    g_autofree char *uri = lam_file_path_to_uri (info->dataset);
    if (uri != NULL) {
      g_string_append (s, ",\n  \"dataset_uri\": ");
      lam_json_append_string (s, uri);
    }
  }
  if (info->class_names != NULL) {
    g_string_append (s, ",\n  \"classes\": [");
    for (int i = 0; info->class_names[i] != NULL; i++) {
      if (i > 0)
        g_string_append (s, ", ");
      lam_json_append_string (s, info->class_names[i]);
    }
    g_string_append_c (s, ']');
  }
  if (info->table != NULL) {
    g_autofree char *table = table_json (info->table);
    g_string_append (s, ",\n  \"table\": ");
    g_string_append (s, table);
  }
  g_string_append (s, "\n}\n");
  return g_string_free (s, FALSE);
}

/* The tensors of layer's state i as PyTorch's state dict has them, "3.weight";
 * FALSE when the layer has not got it (a linear layer without bias). */
static gboolean
layer_state_tensor (const LamLayer *layer, guint i, TensorRef *ref, char **name, gsize *offset)
{
  const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
  LamShape shape;
  *offset = klass->state_layout (layer, i, &shape);
  if (lam_shape_numel (&shape) == 0)
    return FALSE;
  *ref = (TensorRef){ .rank = shape.rank, .int64 = klass->states[i].type == LAM_LAYER_STATE_INT64 };
  for (int d = 0; d < shape.rank; d++)
    ref->dims[d] = shape.dims[d];
  *name = g_strdup_printf ("%d.%s", layer->index, klass->states[i].name);
  ref->name = *name;
  return TRUE;
}

static gboolean save_weights (const char *path, const LamModelPlan *plan,
                              const LamCheckpointInfo *info, const float *params,
                              GHashTable *extra_metadata, const char *json_path, GError **error);

gboolean
lam_checkpoint_save (const char *path, const LamModelPlan *plan, const LamCheckpointInfo *info,
                     const float *params, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_autofree char *json_path = lam_checkpoint_spec_path (path);
  return save_weights (path, plan, info, params, NULL, json_path, error);
}

gboolean
lam_checkpoint_save_weights (const char *path, const LamModelPlan *plan,
                             const LamCheckpointInfo *info, const float *params,
                             GHashTable *extra_metadata, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  return save_weights (path, plan, info, params, extra_metadata, NULL, error);
}

/* Writes the .json description too when json_path is given. */
static gboolean
save_weights (const char *path, const LamModelPlan *plan, const LamCheckpointInfo *info,
              const float *params, GHashTable *extra_metadata, const char *json_path,
              GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (plan != NULL, FALSE);
  g_return_val_if_fail (info != NULL && info->spec != NULL, FALSE);
  g_return_val_if_fail (info->spec->n_layers == plan->n_layers, FALSE);
  g_return_val_if_fail (params != NULL || plan->n_params == 0, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  /* The spec on disk always carries the input shape the plan was made for. */
  g_autoptr (LamModelSpec) spec = lam_model_spec_copy (info->spec);
  spec->has_input = TRUE;
  spec->input = plan->input;
  g_autofree char *spec_json = lam_model_spec_to_json (spec);

  g_autoptr (GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr (GArray) refs = g_array_new (FALSE, TRUE, sizeof (TensorRef));
  for (int i = 0; i < plan->n_layers; i++) {
    const LamLayer *layer = &plan->layers[i];
    const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
    for (guint s = 0; s < klass->n_states; s++) {
      TensorRef ref;
      char *name;
      gsize offset;
      if (!layer_state_tensor (layer, s, &ref, &name, &offset))
        continue;
      g_ptr_array_add (names, name);
      ref.data = params + offset;
      g_array_append_val (refs, ref);
    }
  }

  g_autoptr (GHashTable) metadata = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, g_free);
  int n_channels = CLAMP (info->n_channels, 0, 3);
  g_hash_table_insert (metadata, "format", g_strdup ("pt"));
  g_hash_table_insert (metadata, "lamina_version", g_strdup (LAMINA_VERSION));
  g_hash_table_insert (metadata, "lamina_spec", g_strdup (spec_json));
  g_hash_table_insert (metadata, "mean", floats_to_list (info->mean, n_channels));
  g_hash_table_insert (metadata, "std", floats_to_list (info->std, n_channels));
  if (info->dataset != NULL) {
    g_hash_table_insert (metadata, "dataset", g_utf8_make_valid (info->dataset, -1));
    char *uri = lam_file_path_to_uri (info->dataset);
    if (uri != NULL)
      g_hash_table_insert (metadata, "dataset_uri", uri);
  }
  if (info->class_names != NULL) {
    GString *classes = g_string_new ("[");
    for (int i = 0; info->class_names[i] != NULL; i++) {
      if (i > 0)
        g_string_append (classes, ", ");
      lam_json_append_string (classes, info->class_names[i]);
    }
    g_string_append_c (classes, ']');
    g_hash_table_insert (metadata, "classes", g_string_free (classes, FALSE));
  }

  if (info->table != NULL)
    g_hash_table_insert (metadata, "table", table_json (info->table));

  if (extra_metadata != NULL) {
    GHashTableIter iter;
    gpointer key, value;
    g_hash_table_iter_init (&iter, extra_metadata);
    while (g_hash_table_iter_next (&iter, &key, &value))
      g_hash_table_insert (metadata, key, g_strdup (value));
  }

  /* Two files cannot be replaced at once. The weights carry everything the
   * description says, so they are the commit point: written first, and the
   * description after them carries the same save id. A load that finds the
   * ids differ (a save stopped between the two) trusts the weights. */
  g_autofree char *save_id = NULL;
  if (json_path != NULL && !lam_file_check_replaceable (path, NULL)) {
    /* Weights written through a device (--save /dev/null) or refused for
     * what is there get no description beside them. */
    json_path = NULL;
  }
  if (json_path != NULL) {
    g_autoptr (GError) local_error = NULL;
    if (!lam_file_check_replaceable (json_path, &local_error)) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO,
                   "%s was not saved (the files already there are unchanged): %s", path,
                   local_error->message);
      return FALSE;
    }
    save_id = g_uuid_string_random ();
    g_hash_table_insert (metadata, "lamina_save_id", g_strdup (save_id));
  }
  if (!write_safetensors (path, refs, metadata, error))
    return FALSE;
  if (json_path != NULL) {
    g_autofree char *weights_name = g_path_get_basename (path);
    g_autofree char *json = checkpoint_json (spec_json, info, weights_name, save_id);
    if (!write_file (json_path, json, strlen (json), error))
      return FALSE;
  }
  return TRUE;
}

/* Loading */

/* Reads mean/std arrays of 1 to 3 numbers each into info. */
static gboolean
read_normalization (const char *path, JsonNode *node, LamCheckpointInfo *info, GError **error)
{
  if (!JSON_NODE_HOLDS_OBJECT (node))
    goto bad;
  JsonObject *obj = json_node_get_object (node);
  JsonNode *mean = json_object_get_member (obj, "mean");
  JsonNode *std = json_object_get_member (obj, "std");
  if (mean == NULL || std == NULL || !JSON_NODE_HOLDS_ARRAY (mean) || !JSON_NODE_HOLDS_ARRAY (std))
    goto bad;
  JsonArray *m = json_node_get_array (mean), *s = json_node_get_array (std);
  guint n = json_array_get_length (m);
  if (n > 3 || json_array_get_length (s) != n)
    goto bad;
  for (guint i = 0; i < n; i++) {
    JsonNode *a = json_array_get_element (m, i), *b = json_array_get_element (s, i);
    if (!JSON_NODE_HOLDS_VALUE (a) || !JSON_NODE_HOLDS_VALUE (b))
      goto bad;
    GType ta = json_node_get_value_type (a), tb = json_node_get_value_type (b);
    if ((ta != G_TYPE_INT64 && ta != G_TYPE_DOUBLE) || (tb != G_TYPE_INT64 && tb != G_TYPE_DOUBLE))
      goto bad;
    info->mean[i] = (float) json_node_get_double (a);
    info->std[i] = (float) json_node_get_double (b);
  }
  info->n_channels = (int) n;
  return TRUE;

bad:
  g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
               "%s: normalization must hold \"mean\" and \"std\" arrays of 1 to 3 numbers each",
               path);
  return FALSE;
}

/* Without the mean and std it was trained with, a model would be fed
 * pixels on another scale and its accuracy would mean nothing. */
static gboolean
check_normalization (const char *path, const LamCheckpointInfo *info, GError **error)
{
  if (info->n_channels < 1 || info->n_channels > 3) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s has no normalisation (the mean and std of each channel the model was "
                 "trained with): it cannot be evaluated or exported faithfully", path);
    return FALSE;
  }
  for (int c = 0; c < info->n_channels; c++) {
    if (!lam_normalization_is_valid (info->mean[c], info->std[c])) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: normalisation of channel %d is mean %g, std %g; expected finite "
                   "numbers and a std above 0 (at least %g, so that 1/std is finite)",
                   path, c + 1, info->mean[c], info->std[c], LAM_NORMALIZATION_MIN_STD);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
read_classes (const char *path, JsonNode *node, LamCheckpointInfo *info, GError **error)
{
  if (JSON_NODE_HOLDS_ARRAY (node)) {
    JsonArray *array = json_node_get_array (node);
    guint n = json_array_get_length (array);
    g_auto (GStrv) names = g_new0 (char *, n + 1);
    for (guint i = 0; i < n; i++) {
      JsonNode *e = json_array_get_element (array, i);
      if (!JSON_NODE_HOLDS_VALUE (e) || json_node_get_value_type (e) != G_TYPE_STRING)
        goto bad;
      names[i] = g_strdup (json_node_get_string (e));
    }
    g_strfreev (info->class_names);
    info->class_names = g_steal_pointer (&names);
    return TRUE;
  }

bad:
  g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
               "%s: classes must be an array of strings", path);
  return FALSE;
}

/* One column list of a "table": names, and for standardised columns finite
 * means and stds above 0. */
static gboolean
read_table_columns (JsonObject *table, const char *key, gboolean scaled, char ***names,
                    float **mean, float **std, int *n)
{
  JsonNode *node = json_object_get_member (table, key);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;
  JsonArray *array = json_node_get_array (node);
  guint count = json_array_get_length (array);
  if (count == 0 || count > LAM_CSV_MAX_COLUMNS)
    return FALSE;
  *n = (int) count;
  *names = g_new0 (char *, count + 1);
  if (scaled) {
    *mean = g_new0 (float, count);
    *std = g_new0 (float, count);
  }
  for (guint i = 0; i < count; i++) {
    JsonNode *e = json_array_get_element (array, i);
    if (!JSON_NODE_HOLDS_OBJECT (e))
      return FALSE;
    JsonObject *column = json_node_get_object (e);
    JsonNode *name = json_object_get_member (column, "name");
    if (name == NULL || !JSON_NODE_HOLDS_VALUE (name) ||
        json_node_get_value_type (name) != G_TYPE_STRING)
      return FALSE;
    (*names)[i] = g_strdup (json_node_get_string (name));
    if (!scaled)
      continue;
    JsonNode *m = json_object_get_member (column, "mean");
    JsonNode *s = json_object_get_member (column, "std");
    if (m == NULL || s == NULL || !JSON_NODE_HOLDS_VALUE (m) || !JSON_NODE_HOLDS_VALUE (s))
      return FALSE;
    GType tm = json_node_get_value_type (m), ts = json_node_get_value_type (s);
    if ((tm != G_TYPE_INT64 && tm != G_TYPE_DOUBLE) || (ts != G_TYPE_INT64 && ts != G_TYPE_DOUBLE))
      return FALSE;
    (*mean)[i] = (float) json_node_get_double (m);
    (*std)[i] = (float) json_node_get_double (s);
    if (!isfinite ((*mean)[i]) || !isfinite ((*std)[i]) || !((*std)[i] > 0))
      return FALSE;
  }
  return TRUE;
}

static LamTableInfo *
read_table (const char *path, JsonNode *node, GError **error)
{
  g_autoptr (LamTableInfo) t = g_new0 (LamTableInfo, 1);
  const char *problem = NULL;
  JsonObject *obj = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  JsonNode *task = obj ? json_object_get_member (obj, "task") : NULL;
  const char *task_name = task && JSON_NODE_HOLDS_VALUE (task) &&
                              json_node_get_value_type (task) == G_TYPE_STRING
                            ? json_node_get_string (task)
                            : "";
  JsonNode *fraction = obj ? json_object_get_member (obj, "test_fraction") : NULL;
  JsonNode *seed = obj ? json_object_get_member (obj, "split_seed") : NULL;
  if (obj == NULL)
    problem = "must be an object";
  else if (g_str_equal (task_name, "regression"))
    t->task = LAM_TASK_REGRESSION;
  else if (g_str_equal (task_name, "classification"))
    t->task = LAM_TASK_CLASSIFICATION;
  else
    problem = "task must be \"regression\" or \"classification\"";
  gboolean regression = t->task == LAM_TASK_REGRESSION;
  if (problem == NULL && !read_table_columns (obj, "inputs", TRUE, &t->inputs, &t->input_mean,
                                              &t->input_std, &t->n_inputs))
    problem = "inputs must be a list of {\"name\", \"mean\", \"std\"} with finite means and "
              "stds above 0";
  else if (problem == NULL &&
           !read_table_columns (obj, "targets", regression, &t->targets, &t->target_mean,
                                &t->target_std, &t->n_targets))
    problem = regression ? "targets must be a list of {\"name\", \"mean\", \"std\"} with finite "
                           "means and stds above 0"
                         : "targets must be a list of {\"name\"}";
  else if (problem == NULL && !regression && t->n_targets != 1)
    problem = "a classification has one target column";
  else if (problem == NULL &&
           (fraction == NULL || !JSON_NODE_HOLDS_VALUE (fraction) ||
            (json_node_get_value_type (fraction) != G_TYPE_DOUBLE &&
             json_node_get_value_type (fraction) != G_TYPE_INT64) ||
            !(json_node_get_double (fraction) >= 0 && json_node_get_double (fraction) < 1)))
    problem = "test_fraction must be a number from 0 to below 1";
  else if (problem == NULL &&
           (seed == NULL || !JSON_NODE_HOLDS_VALUE (seed) ||
            json_node_get_value_type (seed) != G_TYPE_INT64 || json_node_get_int (seed) < 0))
    problem = "split_seed must be a whole number of 0 or more";
  if (problem != NULL) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT, "%s: table: %s", path,
                 problem);
    return NULL;
  }
  t->test_fraction = json_node_get_double (fraction);
  t->split_seed = (guint64) json_node_get_int (seed);
  return g_steal_pointer (&t);
}

static LamModelSpec *
spec_from_json_text (const char *path, const char *what, const char *json, GError **error)
{
  g_autoptr (GError) local_error = NULL;
  LamModelSpec *spec = lam_model_spec_from_json (json, -1, &local_error);
  if (spec == NULL)
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT, "%s: %s: %s", path,
                 what, local_error->message);
  return spec;
}

/* The description in a checkpoint's .json. */
static LamCheckpointInfo *
read_checkpoint_json (const char *path, char **save_id, GError **error)
{
  g_autoptr (JsonParser) parser = json_parser_new ();
  g_autoptr (GError) local_error = NULL;
  if (!lam_json_load_file (parser, path, &local_error)) {
    gboolean io = local_error->domain == G_FILE_ERROR;
    g_set_error (error, LAM_CHECKPOINT_ERROR,
                 io ? LAM_CHECKPOINT_ERROR_IO : LAM_CHECKPOINT_ERROR_FORMAT,
                 io ? "cannot read %s: %s" : "%s is not JSON: %s", path, local_error->message);
    return NULL;
  }
  JsonNode *root = json_parser_get_root (parser);
  g_autofree char *bad_text = lam_json_find_bad_text (root);
  if (bad_text != NULL) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: \"%s\" is not valid UTF-8 text", path, bad_text);
    return NULL;
  }
  JsonObject *obj = root && JSON_NODE_HOLDS_OBJECT (root) ? json_node_get_object (root) : NULL;
  JsonNode *version = obj ? json_object_get_member (obj, "lamina_checkpoint") : NULL;
  if (version == NULL || !JSON_NODE_HOLDS_VALUE (version) ||
      json_node_get_value_type (version) != G_TYPE_INT64) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s is not a Lamina checkpoint (no \"lamina_checkpoint\" field)", path);
    return NULL;
  }
  if (json_node_get_int (version) != CHECKPOINT_VERSION) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: checkpoint version %" G_GINT64_FORMAT " is not supported (this Lamina "
                 "reads version %d)",
                 path, json_node_get_int (version), CHECKPOINT_VERSION);
    return NULL;
  }

  JsonNode *model = json_object_get_member (obj, "model");
  if (model == NULL || !JSON_NODE_HOLDS_OBJECT (model)) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the \"model\" object is missing", path);
    return NULL;
  }
  g_autofree char *model_json = json_to_string (model, FALSE);

  JsonNode *id = json_object_get_member (obj, "save_id");
  if (id != NULL && JSON_NODE_HOLDS_VALUE (id) && json_node_get_value_type (id) == G_TYPE_STRING)
    *save_id = g_strdup (json_node_get_string (id));

  g_autoptr (LamCheckpointInfo) info = g_new0 (LamCheckpointInfo, 1);
  info->spec = spec_from_json_text (path, "model", model_json, error);
  if (info->spec == NULL)
    return NULL;

  JsonNode *node = json_object_get_member (obj, "normalization");
  if (node != NULL && !read_normalization (path, node, info, error))
    return NULL;
  node = json_object_get_member (obj, "dataset");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node)) {
    if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_STRING) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: dataset must be a string", path);
      return NULL;
    }
    node = json_object_get_member (obj, "dataset_uri");
    const char *uri = node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
                          json_node_get_value_type (node) == G_TYPE_STRING
                        ? json_node_get_string (node)
                        : NULL;
    g_autoptr (GError) uri_error = NULL;
    info->dataset = lam_file_path_from_stored (
      json_node_get_string (json_object_get_member (obj, "dataset")), uri, &uri_error);
    if (info->dataset == NULL) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT, "%s: dataset_uri: %s",
                   path, uri_error->message);
      return NULL;
    }
  }
  node = json_object_get_member (obj, "classes");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) && !read_classes (path, node, info, error))
    return NULL;
  node = json_object_get_member (obj, "table");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
      (info->table = read_table (path, node, error)) == NULL)
    return NULL;
  return g_steal_pointer (&info);
}

/* The same from the safetensors __metadata__, for weights whose .json was
 * lost. */
static LamCheckpointInfo *
read_checkpoint_metadata (const char *path, GHashTable *metadata, GError **error)
{
  const char *spec_json = g_hash_table_lookup (metadata, "lamina_spec");
  if (spec_json == NULL) {
    g_autofree char *json_path = lam_checkpoint_spec_path (path);
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s has no model spec: %s is missing and the file has no lamina_spec metadata",
                 path, json_path);
    return NULL;
  }
  g_autoptr (LamCheckpointInfo) info = g_new0 (LamCheckpointInfo, 1);
  info->spec = spec_from_json_text (path, "lamina_spec", spec_json, error);
  if (info->spec == NULL)
    return NULL;

  const char *mean = g_hash_table_lookup (metadata, "mean");
  const char *std = g_hash_table_lookup (metadata, "std");
  if (mean != NULL && std != NULL && *mean != '\0') {
    g_auto (GStrv) m = g_strsplit (mean, ",", -1);
    g_auto (GStrv) s = g_strsplit (std, ",", -1);
    guint n = g_strv_length (m);
    if (n <= 3 && g_strv_length (s) == n) {
      for (guint i = 0; i < n; i++) {
        info->mean[i] = (float) g_ascii_strtod (m[i], NULL);
        info->std[i] = (float) g_ascii_strtod (s[i], NULL);
      }
      info->n_channels = (int) n;
    }
  }
  /* A URI that is not one leaves the name as shown: the weights are sound. */
  const char *dataset_uri = g_hash_table_lookup (metadata, "dataset_uri");
  info->dataset = dataset_uri ? lam_file_path_from_stored (NULL, dataset_uri, NULL) : NULL;
  if (info->dataset == NULL)
    info->dataset = g_strdup (g_hash_table_lookup (metadata, "dataset"));
  const char *classes = g_hash_table_lookup (metadata, "classes");
  if (classes != NULL) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    if (lam_json_load_data (parser, classes, -1, NULL) && json_parser_get_root (parser) != NULL &&
        !read_classes (path, json_parser_get_root (parser), info, error))
      return NULL;
  }
  const char *table = g_hash_table_lookup (metadata, "table");
  if (table != NULL) {
    g_autoptr (JsonParser) parser = json_parser_new ();
    if (!lam_json_load_data (parser, table, -1, NULL) || json_parser_get_root (parser) == NULL) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                   "%s: the table metadata is not JSON", path);
      return NULL;
    }
    if ((info->table = read_table (path, json_parser_get_root (parser), error)) == NULL)
      return NULL;
  }
  return g_steal_pointer (&info);
}

static const LamNamedTensor *
find_tensor (GPtrArray *tensors, const char *name, gboolean *used)
{
  for (guint i = 0; i < tensors->len; i++) {
    const LamNamedTensor *t = g_ptr_array_index (tensors, i);
    if (g_str_equal (t->name, name)) {
      used[i] = TRUE;
      return t;
    }
  }
  return NULL;
}

/* Copies the tensor want names into dst; with dst NULL, only checks that
 * it is there with its shape. */
static gboolean
take_tensor (const char *path, GPtrArray *tensors, gboolean *used, const TensorRef *want,
             float *dst, GError **error)
{
  const LamNamedTensor *t = find_tensor (tensors, want->name, used);
  g_autofree char *want_shape = dims_to_string (want->dims, want->rank);
  if (t == NULL) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_MISMATCH,
                 "%s: tensor \"%s\" is missing; the model needs one of shape %s", path,
                 want->name, want_shape);
    return FALSE;
  }
  gboolean same = t->rank == want->rank;
  for (int d = 0; same && d < t->rank; d++)
    same = t->dims[d] == want->dims[d];
  if (!same) {
    g_autofree char *got_shape = dims_to_string (t->dims, t->rank);
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_MISMATCH,
                 "%s: tensor \"%s\" has shape %s; the model needs %s", path, want->name,
                 got_shape, want_shape);
    return FALSE;
  }
  gsize n = (gsize) dims_numel (want->dims, want->rank);
  if (dst == NULL)
    return TRUE;
  gsize first;
  gsize bad = lam_count_not_finite (t->data, n, &first);
  if (bad > 0) {
    g_autofree char *which = lam_describe_not_finite (t->data, bad, first);
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_NOT_FINITE,
                 "%s: tensor \"%s\" holds %s: the run that saved these weights diverged, and "
                 "they cannot predict anything; train again, at a lower learning rate",
                 path, want->name, which);
    return FALSE;
  }
  if (n > 0)
    memcpy (dst, t->data, n * sizeof (float));
  return TRUE;
}

char *
lam_describe_not_finite (const float *values, gsize bad, gsize first)
{
  if (bad == 1)
    return g_strdup_printf ("a value that is %s (at index %" G_GSIZE_FORMAT ")",
                            isnan (values[first]) ? "NaN" : "infinite", first);
  return g_strdup_printf ("%" G_GSIZE_FORMAT " values that are NaN or infinite (the first at "
                          "index %" G_GSIZE_FORMAT ")",
                          bad, first);
}

gsize
lam_count_not_finite (const float *values, gsize n, gsize *first)
{
  gsize bad = 0;
  for (gsize i = 0; i < n; i++) {
    if (!isfinite (values[i])) {
      if (bad == 0 && first != NULL)
        *first = i;
      bad++;
    }
  }
  return bad;
}

/* The flat parameter buffer for plan from tensors read from path: every
 * tensor the plan needs, with its shape, and nothing else. */
static float *
match_tensors (const char *weights_path, GPtrArray *tensors, const LamModelPlan *plan,
               GError **error)
{
  g_autofree gboolean *used = g_new0 (gboolean, MAX (tensors->len, 1));
  g_autofree float *values = NULL;
  /* Shapes first: a description that names a far larger model than its
   * weights is a mismatch, not a lack of memory for it. */
  for (int pass = 0; pass < 2; pass++) {
    if (pass == 1) {
      values = g_try_new0 (float, MAX (plan->n_params, 1));
      if (values == NULL) {
        g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_IO,
                     "%s: out of memory for %" G_GSIZE_FORMAT " parameters", weights_path,
                     plan->n_params);
        return NULL;
      }
    }
    for (int i = 0; i < plan->n_layers; i++) {
      const LamLayer *layer = &plan->layers[i];
      const LamLayerClass *klass = lam_layer_class (layer->spec.kind);
      for (guint s = 0; s < klass->n_states; s++) {
        TensorRef ref;
        g_autofree char *name = NULL;
        gsize offset;
        if (!layer_state_tensor (layer, s, &ref, &name, &offset))
          continue;
        if (!take_tensor (weights_path, tensors, used, &ref, values ? values + offset : NULL,
                          error))
          return NULL;
      }
    }
    for (guint i = 0; pass == 0 && i < tensors->len; i++) {
      if (!used[i]) {
        const LamNamedTensor *t = g_ptr_array_index (tensors, i);
        g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_MISMATCH,
                     "%s: tensor \"%s\" is not part of the model", weights_path, t->name);
        return NULL;
      }
    }
  }

  return g_steal_pointer (&values);
}

gboolean
lam_checkpoint_load_weights (const char *path, const LamModelPlan *plan, float **params,
                             GHashTable **metadata, GError **error)
{
  g_return_val_if_fail (path != NULL && plan != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autoptr (GHashTable) meta = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (path, &meta, error);
  if (tensors == NULL)
    return FALSE;
  g_autofree float *values = match_tensors (path, tensors, plan, error);
  if (values == NULL)
    return FALSE;
  if (params != NULL)
    *params = g_steal_pointer (&values);
  if (metadata != NULL)
    *metadata = g_steal_pointer (&meta);
  return TRUE;
}

gboolean
lam_checkpoint_load (const char *path, LamCheckpointInfo **info, float **params, GError **error)
{
  g_return_val_if_fail (path != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  g_autofree char *weights_path = NULL;
  g_autofree char *json_path = NULL;
  gboolean json_given = g_str_has_suffix (path, ".json");
  if (json_given) {
    json_path = g_strdup (path);
    weights_path = lam_checkpoint_weights_path (path);
  } else {
    weights_path = g_strdup (path);
    json_path = lam_checkpoint_spec_path (path);
  }

  g_autoptr (GHashTable) metadata = NULL;
  g_autoptr (GPtrArray) tensors = lam_safetensors_read (weights_path, &metadata, error);
  if (tensors == NULL)
    return FALSE;

  gboolean use_json = json_given || g_file_test (json_path, G_FILE_TEST_EXISTS);
  g_autoptr (LamCheckpointInfo) result = NULL;
  g_autofree char *note = NULL;
  if (use_json) {
    g_autofree char *json_id = NULL;
    result = read_checkpoint_json (json_path, &json_id, error);
    if (result == NULL)
      return FALSE;
    /* A save writes the weights first, then the description with the same
     * id: ids that differ mean a save stopped between the two, and the
     * weights (which carry the description too) are the newer, whole save. */
    const char *weights_id = metadata ? g_hash_table_lookup (metadata, "lamina_save_id") : NULL;
    if (g_strcmp0 (json_id, weights_id) != 0) {
      g_clear_pointer (&result, lam_checkpoint_info_free);
      note = g_strdup_printf ("%s is from another save than %s (a save was interrupted); "
                              "used the description stored in %s", json_path, weights_path,
                              weights_path);
      use_json = FALSE;
    }
  }
  if (!use_json) {
    result = read_checkpoint_metadata (weights_path, metadata, error);
    if (result == NULL)
      return FALSE;
  }
  result->note = g_steal_pointer (&note);

  const char *spec_source = use_json ? json_path : weights_path;
  if (!check_normalization (spec_source, result, error))
    return FALSE;

  if (!result->spec->has_input) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT,
                 "%s: the model has no input shape", spec_source);
    return FALSE;
  }
  g_autoptr (GError) plan_error = NULL;
  g_autoptr (LamModelPlan) plan = lam_model_plan_new (result->spec, &plan_error);
  if (plan == NULL) {
    g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_FORMAT, "%s: %s", spec_source,
                 plan_error->message);
    return FALSE;
  }

  /* A table's columns must fit the model they were read for. */
  const LamTableInfo *table = result->table;
  if (table != NULL) {
    gsize outputs = lam_shape_numel (&plan->output);
    if (plan->input.rank != 1 || plan->input.dims[0] != table->n_inputs) {
      g_autofree char *shape = lam_shape_to_string (&plan->input);
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_MISMATCH,
                   "%s: the table has %d input columns but the model's input is %s",
                   spec_source, table->n_inputs, shape);
      return FALSE;
    }
    if (table->task == LAM_TASK_REGRESSION && outputs != (gsize) table->n_targets) {
      g_set_error (error, LAM_CHECKPOINT_ERROR, LAM_CHECKPOINT_ERROR_MISMATCH,
                   "%s: the table has %d target columns but the model gives %" G_GSIZE_FORMAT
                   " outputs", spec_source, table->n_targets, outputs);
      return FALSE;
    }
  }

  g_autofree float *values = match_tensors (weights_path, tensors, plan, error);
  if (values == NULL)
    return FALSE;

  /* What saves of these files that were interrupted left beside them. */
  lam_file_remove_temporaries (weights_path);
  lam_file_remove_temporaries (json_path);
  if (info != NULL)
    *info = g_steal_pointer (&result);
  if (params != NULL)
    *params = g_steal_pointer (&values);
  return TRUE;
}
