/* lam-explain.h: why a model said what it said, for one image at a time.
 *
 * Three answers a lesson gives after "it said 7":
 *  - saliency: which pixels the score of a class is most sensitive to (the
 *    gradient of the score w.r.t. the input, or that times the input);
 *  - Grad-CAM: for a CNN, which regions the last convolution's channels
 *    that matter for the class fire on;
 *  - nearest training images: which images the model sees as most alike,
 *    by the cosine of their features at the layer before the last linear
 *    one (a table's rows: by the distance between them).
 * All of it goes through lam_model_predict, so it runs on any backend; the
 * maps and the search itself are computed on the host.
 */
#pragma once

#include <gio/gio.h>

#include "lam-dataset.h"
#include "lam-model.h"

G_BEGIN_DECLS

#define LAM_EXPLAIN_ERROR (lam_explain_error_quark ())
GQuark lam_explain_error_quark (void);

typedef enum
{
  LAM_EXPLAIN_ERROR_INVALID,  /* an image, class, layer or count that is not there */
  LAM_EXPLAIN_ERROR_NO_CLASS, /* a regression model or table: no class score to explain */
  LAM_EXPLAIN_ERROR_NO_CONV,  /* Grad-CAM asked of a model without a convolution */
  LAM_EXPLAIN_ERROR_MEMORY,   /* a buffer could not be allocated */
} LamExplainError;

typedef enum
{
  LAM_EXPLAIN_GRADIENT,         /* per pixel, max over channels of |d score / d input| */
  LAM_EXPLAIN_GRADIENT_X_INPUT, /* per pixel, max over channels of |d score / d input × input| */
  LAM_EXPLAIN_GRAD_CAM,         /* ReLU(Σ_k α_k A_k) at a convolution's output, upsampled */
} LamExplainMethod;

/* "saliency", "gradient-x-input", "gradcam". */
const char *lam_explain_method_to_string (LamExplainMethod method);
/* Also "gradient", "grad-cam", "grad_cam", "gxi". */
gboolean lam_explain_method_from_string (const char *name, LamExplainMethod *method);

/* The class to explain: a class index, or this for each image's predicted
 * class. */
#define LAM_EXPLAIN_CLASS_PREDICTED (-1)
/* The layer Grad-CAM looks at: a layer index, or this for the one
 * lam_explain_grad_cam_layer picks. */
#define LAM_EXPLAIN_LAYER_AUTO (-2)

typedef struct
{
  LamExplainMethod method;
  int n_images;
  int height, width; /* of the input */
  /* (n_images, height, width): each image's map in [0, 1], divided by its
   * largest value; a map with no positive value stays all zero. */
  float *maps;
  gint32 *classes; /* (n_images): the class each map explains */
  float *scores;   /* (n_images): that class's score (the last layer's output) */
  gint32 *predicted; /* (n_images): the predicted class */
  /* A flat input's (a table's row: an input that is not channels × height
   * × width) saliency before its sign is dropped, else NULL: (n_images,
   * width) d score / d input, times the input for gradient × input,
   * unscaled. Positive: raising that value raises the class's score. */
  float *signed_values;

  /* Grad-CAM only (else -1, 0 and NULL): the layer, its output's shape,
   * each image's channel weights α_k (the spatial mean of d score / d A_k),
   * and its map at the layer's resolution, ReLU(Σ_k α_k A_k), before
   * upsampling and normalising. */
  int layer;
  int n_channels, layer_height, layer_width;
  float *weights; /* (n_images, n_channels) */
  float *coarse;  /* (n_images, layer_height, layer_width) */
} LamExplanation;

void lam_explanation_free (LamExplanation *explanation);

/* The layer Grad-CAM uses by default: the last convolution's output after
 * what follows it element by element (a batch norm, an activation), or -1
 * when the model has no convolution. */
int lam_explain_grad_cam_layer (const LamModelPlan *plan);

/* Maps for the images of dataset listed in indices (n_indices of them),
 * normalised with mean and std as lam_model_predict does, of the score of
 * klass (or LAM_EXPLAIN_CLASS_PREDICTED). For LAM_EXPLAIN_GRAD_CAM, layer
 * is the layer to look at (LAM_EXPLAIN_LAYER_AUTO for the usual one; its
 * output must be channels × height × width); the saliency methods ignore
 * it. Errors name the image index, class or layer that is not there, a
 * regression model or table (LAM_EXPLAIN_ERROR_NO_CLASS), and a model
 * without a convolution asked for Grad-CAM (LAM_EXPLAIN_ERROR_NO_CONV);
 * LAM_PREDICT_ERROR for images that do not fit the model, G_IO_ERROR_CANCELLED
 * when cancelled. */
LamExplanation *lam_explain_images (LamModel *model, const LamDataset *dataset,
                                    const guint32 *indices, gsize n_indices, const float *mean,
                                    const float *std, LamExplainMethod method, int klass,
                                    int layer, GCancellable *cancellable, GError **error);

/* The same for n prepared inputs (n × the model's input numel floats,
 * already normalised, as the model sees them: a drawing, say). */
LamExplanation *lam_explain_inputs (LamModel *model, const float *inputs, int n,
                                    LamExplainMethod method, int klass, int layer,
                                    GError **error);

/* Bilinear resampling of a (src_h, src_w) map to (dst_h, dst_w), pixel
 * centres aligned (PyTorch's interpolate with align_corners=False, edges
 * clamped). */
void lam_explain_upsample (const float *src, int src_h, int src_w, float *dst, int dst_h,
                           int dst_w);

/* ---- nearest training images ---- */

/* How an index judges two feature rows alike. */
typedef enum
{
  /* The cosine of the angle between them (rows scaled to length 1), most
   * alike first: 1 the same direction. Images: how bright a picture is
   * does not change what it shows. */
  LAM_FEATURE_COSINE,
  /* The Euclidean distance between them, nearest first: 0 the same. A
   * table's rows: a row twice as far from the centre as another along the
   * same direction is another row, which cosine would score 1. */
  LAM_FEATURE_DISTANCE,
} LamFeatureMetric;

/* The features of a set of images, L2-normalised row by row, searched by
 * cosine similarity (or kept as they are and searched by distance, see
 * lam_feature_index_new_with_metric). Built once per set of weights and
 * queried many times; it keeps no reference to the model or dataset. A
 * build may run on a
 * worker thread with a model of its own (a copy of the weights): it runs
 * that model, which nothing else may use meanwhile. */
typedef struct _LamFeatureIndex LamFeatureIndex;

/* The features of the images of dataset listed in indices (all of them
 * when NULL) at `layer` (-1 the input; LAM_EXPLAIN_LAYER_AUTO: the layer
 * before the last linear one, lam_model_plan_penultimate_layer), as the
 * rows (n, *dim) of an owned array. Runs the model in slices, so memory
 * beyond the result stays bounded. */
float *lam_explain_features (LamModel *model, const LamDataset *dataset, const guint32 *indices,
                             gsize n_indices, const float *mean, const float *std, int layer,
                             gsize *dim, GCancellable *cancellable, GError **error);
/* The same for n prepared inputs. */
float *lam_explain_features_inputs (LamModel *model, const float *inputs, int n, int layer,
                                    gsize *dim, GError **error);

/* An index of every image of dataset (its position in the dataset being
 * what a query returns), features taken at `layer` as above. Checks
 * cancellable between slices. */
LamFeatureIndex *lam_feature_index_new (LamModel *model, const LamDataset *dataset,
                                        const float *mean, const float *std, int layer,
                                        GCancellable *cancellable, GError **error);
/* An index of n given feature rows (n, dim), copied and normalised; row i
 * is returned as i. A row of zeros (or one that is not finite) is alike to
 * nothing: its similarity is 0. */
LamFeatureIndex *lam_feature_index_new_from_features (const float *features, gsize n, gsize dim,
                                                      GError **error);
/* The same, rows compared by metric: LAM_FEATURE_COSINE is
 * lam_feature_index_new_from_features; LAM_FEATURE_DISTANCE keeps the rows
 * as given, and a row with a value that is not finite is infinitely far
 * from everything. */
LamFeatureIndex *lam_feature_index_new_with_metric (const float *features, gsize n, gsize dim,
                                                    LamFeatureMetric metric, GError **error);
void lam_feature_index_free (LamFeatureIndex *index);

gsize lam_feature_index_get_n (const LamFeatureIndex *index);
gsize lam_feature_index_get_dim (const LamFeatureIndex *index);
/* The layer its features come from; -2 for given features. */
int lam_feature_index_get_layer (const LamFeatureIndex *index);
LamFeatureMetric lam_feature_index_get_metric (const LamFeatureIndex *index);

/* For each of n_queries feature rows (n_queries, dim; need not be
 * normalised), the k rows of the index most cosine-similar to it, most
 * similar first (equal similarities: lower row first), into indices and
 * similarities (n_queries, k each; similarities may be NULL). An index by
 * LAM_FEATURE_DISTANCE gives the k nearest, nearest first, and their
 * distances in similarities (equal distances: lower row first). Returns how
 * many each query got, MIN (k, n): the places past them hold G_MAXUINT32
 * and NaN. -1 with the error set for a dim that is not the index's or
 * k < 1. Only reads the index: threads may query one index at once. */
int lam_feature_index_query (const LamFeatureIndex *index, const float *queries, gsize n_queries,
                             gsize dim, int k, guint32 *indices, float *similarities,
                             GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamExplanation, lam_explanation_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamFeatureIndex, lam_feature_index_free)

G_END_DECLS
