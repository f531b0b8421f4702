/* lam-tensor.h: shapes and host tensors (float32, NCHW, contiguous). */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LAM_MAX_DIMS 4

/* The shape of one sample (no batch dimension): rank 1 (features) or
 * rank 3 (channels, height, width). A batch of them is NCHW / NF. */
typedef struct
{
  int rank;
  int dims[LAM_MAX_DIMS];
} LamShape;

LamShape lam_shape_flat (int features);
LamShape lam_shape_chw (int channels, int height, int width);
gsize lam_shape_numel (const LamShape *shape);
gboolean lam_shape_equal (const LamShape *a, const LamShape *b);
/* "1×28×28" or "784": owned string. */
char *lam_shape_to_string (const LamShape *shape);

/* A host tensor: `shape` is the full shape including the batch dimension
 * when there is one (rank up to 4). `data` is owned. */
typedef struct
{
  int rank;
  int dims[LAM_MAX_DIMS];
  float *data;
} LamTensor;

LamTensor *lam_tensor_new (int rank, const int *dims);
LamTensor *lam_tensor_new_batch (int batch, const LamShape *sample);
void lam_tensor_free (LamTensor *tensor);
gsize lam_tensor_numel (const LamTensor *tensor);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamTensor, lam_tensor_free)

G_END_DECLS
