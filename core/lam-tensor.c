#include "lam-tensor.h"

LamShape
lam_shape_flat (int features)
{
  LamShape shape = { .rank = 1, .dims = { features, 0, 0, 0 } };
  return shape;
}

LamShape
lam_shape_chw (int channels, int height, int width)
{
  LamShape shape = { .rank = 3, .dims = { channels, height, width, 0 } };
  return shape;
}

gsize
lam_shape_numel (const LamShape *shape)
{
  gsize n = 1;
  for (int i = 0; i < shape->rank; i++)
    n *= (gsize) shape->dims[i];
  return n;
}

gboolean
lam_shape_equal (const LamShape *a, const LamShape *b)
{
  if (a->rank != b->rank)
    return FALSE;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i])
      return FALSE;
  return TRUE;
}

char *
lam_shape_to_string (const LamShape *shape)
{
  GString *s = g_string_new (NULL);
  for (int i = 0; i < shape->rank; i++)
    g_string_append_printf (s, i ? "×%d" : "%d", shape->dims[i]);
  return g_string_free (s, FALSE);
}

LamTensor *
lam_tensor_new (int rank, const int *dims)
{
  g_return_val_if_fail (rank >= 1 && rank <= LAM_MAX_DIMS, NULL);
  LamTensor *t = g_new0 (LamTensor, 1);
  t->rank = rank;
  for (int i = 0; i < rank; i++) {
    g_return_val_if_fail (dims[i] > 0, NULL);
    t->dims[i] = dims[i];
  }
  t->data = g_new0 (float, lam_tensor_numel (t));
  return t;
}

LamTensor *
lam_tensor_new_batch (int batch, const LamShape *sample)
{
  int dims[LAM_MAX_DIMS] = { batch };
  for (int i = 0; i < sample->rank; i++)
    dims[i + 1] = sample->dims[i];
  return lam_tensor_new (sample->rank + 1, dims);
}

void
lam_tensor_free (LamTensor *tensor)
{
  if (tensor == NULL)
    return;
  g_free (tensor->data);
  g_free (tensor);
}

gsize
lam_tensor_numel (const LamTensor *tensor)
{
  gsize n = 1;
  for (int i = 0; i < tensor->rank; i++)
    n *= (gsize) tensor->dims[i];
  return n;
}
