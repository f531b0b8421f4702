/* lam-layer.h: the layer kinds of a sequential stack.
 *
 * Each kind is one file in core/layers/ with its entry in the layer table
 * (lam-layer-class.h): shape inference, parameter count, FLOPs,
 * initialisation, and forward / backward over the backend ops table. The
 * functions here dispatch to it. There is no general autograd: the model
 * is a stack and runs each layer's explicit forward and backward.
 */
#pragma once

#include <glib.h>

#include "lam-backend.h"
#include "lam-tensor.h"

G_BEGIN_DECLS

typedef enum
{
  LAM_LAYER_LINEAR,
  LAM_LAYER_CONV2D,
  LAM_LAYER_MAXPOOL2D,
  LAM_LAYER_AVGPOOL2D,
  LAM_LAYER_RELU,
  LAM_LAYER_LEAKY_RELU,
  LAM_LAYER_SIGMOID,
  LAM_LAYER_TANH,
  LAM_LAYER_FLATTEN,
  LAM_LAYER_DROPOUT,
  LAM_LAYER_SOFTMAX,
  LAM_LAYER_LOG_SOFTMAX,
  LAM_LAYER_BATCHNORM1D,
  LAM_LAYER_BATCHNORM2D,
  LAM_N_LAYER_KINDS
} LamLayerKind;

/* What the user wrote for one layer. Fields a kind does not use are 0; a
 * kind's table entry says which it uses, their names and ranges.
 * `in` (linear in_features, conv2d in_channels) is optional: 0 means "take
 * it from the previous layer"; when given it must match. */
typedef struct
{
  LamLayerKind kind;
  int in;
  int out;       /* linear out_features, conv2d out_channels */
  int kernel;    /* conv2d, pools: square kernel */
  int stride;    /* conv2d default 1; pools default = kernel */
  int padding;   /* conv2d, pools; default 0 */
  gboolean bias; /* linear, conv2d; default TRUE */
  double p;      /* dropout probability, default 0.5; double, as PyTorch keeps it, so
                  * that 1 / (1 - p) is 10 at p = 0.9, not 9.999998 */
  float slope;   /* leaky_relu negative slope, default 0.01 */
  double momentum; /* batchnorm: running statistics' update weight, default 0.1 */
  double eps;      /* batchnorm: added to the variance, default 1e-5 */
} LamLayerSpec;

/* A spec with the kind's defaults filled in. */
LamLayerSpec lam_layer_spec_default (LamLayerKind kind);

/* "linear", "conv2d", "maxpool2d", "avgpool2d", "relu", "leaky_relu",
 * "sigmoid", "tanh", "flatten", "dropout", "softmax", "log_softmax". */
const char *lam_layer_kind_to_string (LamLayerKind kind);
/* Accepts the names above plus aliases ("logsoftmax", "leakyrelu",
 * "maxpool", "avgpool", "conv", "fc", "dense"), case-insensitive. */
gboolean lam_layer_kind_from_string (const char *name, LamLayerKind *kind);
gboolean lam_layer_kind_has_params (LamLayerKind kind);

/* A layer placed in a model: its spec, shapes, and where its parameters,
 * saved state and scratch needs are. Filled by lam_layer_plan. */
typedef struct
{
  LamLayerSpec spec;
  int index;          /* position in the stack, also its PyTorch Sequential index */
  LamShape in_shape;  /* per sample */
  LamShape out_shape; /* per sample */
  gsize n_weights;    /* 0 for kinds without parameters */
  gsize n_bias;
  gsize weight_offset; /* into the model's flat parameter buffer (floats) */
  gsize bias_offset;
  /* Floats of state that is saved and loaded but not trained (a batch
   * norm's running statistics), in the same flat buffer after every
   * layer's parameters, so the optimizer never touches them. */
  gsize n_buffers;
  gsize buffer_offset;
  guint64 flops;       /* forward FLOPs per sample (multiply-add = 2) */
  /* Bytes per sample the layer keeps from forward for backward beyond its
   * input and output (maxpool argmax, dropout mask). */
  gsize saved_bytes_per_sample;
  /* Floats of scratch per sample the layer needs during forward or backward
   * (conv2d's im2col columns and transposed output); shared by all layers. */
  gsize scratch_floats_per_sample;
} LamLayer;

/* Shape inference for one layer. On failure sets LAM_MODEL_ERROR
 * LAM_MODEL_ERROR_SHAPE with a message that names the layer by index and
 * kind and says what it expected and what it got, e.g. "layer 4 (linear)
 * expects 3136 inputs, gets 1568 from layer 3 (maxpool2d)". `prev_name` is
 * "the input" or "layer 3 (maxpool2d)". Offsets are left at 0. */
gboolean lam_layer_plan (LamLayer *layer, const LamLayerSpec *spec, int index,
                         const LamShape *in_shape, const char *prev_name, GError **error);

/* PyTorch's default initialisation: weights kaiming-uniform with a=sqrt(5),
 * whose bound works out to 1/sqrt(fan_in); biases uniform ±1/sqrt(fan_in).
 * fan_in is in_features (linear) or in_channels*k*k (conv2d). `params` is
 * the host copy of the model's flat buffer. */
void lam_layer_init (const LamLayer *layer, float *params, GRand *rng);

/* State passed to forward/backward. Device pointers. */
typedef struct
{
  LamBackend *backend;
  int batch;
  gboolean training;   /* dropout active */
  guint64 seed;        /* per-step seed for dropout masks */
  float *params;       /* model's flat parameters */
  float *grads;        /* model's flat parameter gradients (+=) */
  void *saved;         /* this layer's saved state, saved_bytes_per_sample * max batch */
  float *scratch;      /* shared scratch, max over layers */
} LamLayerContext;

// y (batch, out_shape) = layer(x (batch, in_shape))
void lam_layer_forward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                        float *y);
/* From x and y of the forward and dy, adds parameter gradients to ctx->grads
 * and writes dx (batch, in_shape). dx is NULL for the first layer, whose
 * input gradient nobody needs. */
void lam_layer_backward (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                         const float *y, const float *dy, float *dx);

G_END_DECLS
