/* lam-layer-private.h: what the layer files share — their table entries and
 * the helpers of kinds that are alike (the pools, softmax and
 * log-softmax). */
#pragma once

#include <glib.h>

#include "lam-layer-class.h"
#include "lam-model.h"

G_BEGIN_DECLS

extern const LamLayerClass lam_layer_class_linear;
extern const LamLayerClass lam_layer_class_conv2d;
extern const LamLayerClass lam_layer_class_maxpool2d;
extern const LamLayerClass lam_layer_class_avgpool2d;
extern const LamLayerClass lam_layer_class_relu;
extern const LamLayerClass lam_layer_class_leaky_relu;
extern const LamLayerClass lam_layer_class_sigmoid;
extern const LamLayerClass lam_layer_class_tanh;
extern const LamLayerClass lam_layer_class_flatten;
extern const LamLayerClass lam_layer_class_dropout;
extern const LamLayerClass lam_layer_class_softmax;
extern const LamLayerClass lam_layer_class_log_softmax;
extern const LamLayerClass lam_layer_class_batchnorm1d;
extern const LamLayerClass lam_layer_class_batchnorm2d;

/* Output size of a sliding window along one axis, or 0 if it does not fit. */
int lam_layer_window_out (int size, int kernel, int stride, int padding);

/* PyTorch's default initialisation for a layer with a weight and a bias:
 * kaiming-uniform with a=sqrt(5), whose bound works out to 1/sqrt(fan_in),
 * for both. */
void lam_layer_init_uniform (const LamLayer *layer, float *params, GRand *rng, double fan_in);

/* The weight (first) and bias (second) state of linear and conv2d. */
extern const LamLayerState lam_layer_weight_and_bias[2];

/* Maxpool2d and avgpool2d: the same arguments and planning. */
extern const LamLayerArg lam_layer_pool2d_args[3];
gboolean lam_layer_pool2d_plan (LamLayer *layer, const char *name, const char *prev_name,
                                GError **error);
void lam_layer_pool2d_append_pytorch (GString *s, const LamLayer *layer, const char *module);
void lam_layer_pool2d_append_caption (GString *s, const LamLayerSpec *spec);

/* Softmax and log-softmax over a flat input. */
gboolean lam_layer_softmax_plan (LamLayer *layer, const char *name, const char *prev_name,
                                 GError **error);

G_END_DECLS
