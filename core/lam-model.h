/* lam-model.h: model specs (JSON and compact text), shape inference, and
 * the runtime model: a flat parameter buffer, a flat gradient buffer and an
 * activation arena sized once per batch size, so a training step allocates
 * nothing.
 */
#pragma once

#include <glib.h>

#include "lam-backend.h"
#include "lam-layer.h"
#include "lam-tensor.h"

G_BEGIN_DECLS

#define LAM_MODEL_ERROR (lam_model_error_quark ())
GQuark lam_model_error_quark (void);

typedef enum
{
  LAM_MODEL_ERROR_PARSE,   /* not JSON / not the text grammar */
  LAM_MODEL_ERROR_INVALID, /* unknown layer, bad or missing field, non-positive size */
  LAM_MODEL_ERROR_SHAPE,   /* layers do not fit together or with the input */
  LAM_MODEL_ERROR_MEMORY,  /* the backend could not allocate the buffers */
  LAM_MODEL_ERROR_NOT_FOUND, /* no such preset or file */
} LamModelError;

typedef enum
{
  LAM_LOSS_CROSS_ENTROPY, /* on logits */
  LAM_LOSS_NLL,           /* on log-probabilities */
  LAM_LOSS_MSE,           /* against one-hot targets, or a regression's real targets */
  LAM_LOSS_L1,            /* mean absolute error against a regression's real targets */
} LamLossKind;

/* "cross_entropy", "nll", "mse", "l1". */
const char *lam_loss_kind_to_string (LamLossKind kind);
/* Also "ce", "crossentropy", "mae" (for l1). */
gboolean lam_loss_kind_from_string (const char *name, LamLossKind *kind);
/* Whether the loss compares outputs with real-valued targets (mse, l1);
 * cross_entropy and nll compare them with classes. */
gboolean lam_loss_kind_is_regression (LamLossKind kind);

typedef struct
{
  char *name;          /* owned; may be NULL */
  gboolean has_input;  /* FALSE until the dataset gives it */
  LamShape input;
  gboolean has_loss;   /* FALSE: nll after log_softmax, else cross_entropy */
  LamLossKind loss;
  int n_layers;
  LamLayerSpec *layers; /* owned, n_layers */
} LamModelSpec;

LamModelSpec *lam_model_spec_new (void);
void lam_model_spec_free (LamModelSpec *spec);
LamModelSpec *lam_model_spec_copy (const LamModelSpec *spec);
void lam_model_spec_append (LamModelSpec *spec, const LamLayerSpec *layer);
/* The loss the spec names, or the default for its last layer. */
LamLossKind lam_model_spec_get_loss (const LamModelSpec *spec);

/* JSON: {"name": "...", "input": [1,28,28], "loss": "nll",
 *        "layers": [{"type": "conv2d", "out": 32, "kernel": 3, "padding": 1},
 *                   {"type": "relu"}, {"type": "linear", "out": 10}, ...]}
 * Text: "flatten,linear:256,relu,linear:10,logsoftmax"; arguments after ':'
 * separated by ':' or 'x' as documented in lam-model-spec.c
 * (conv2d:32:3 = 32 filters 3×3; conv2d:32:3:s1:p1; maxpool2d:2; dropout:0.25;
 * leaky_relu:0.1). Errors name the layer (by position and text) and the
 * field. */
LamModelSpec *lam_model_spec_from_json (const char *json, gssize length, GError **error);
LamModelSpec *lam_model_spec_from_text (const char *text, GError **error);
/* Decides between a preset name, a path to a .json file, inline JSON and
 * the compact text. */
LamModelSpec *lam_model_spec_from_string (const char *spec_or_path, GError **error);
LamModelSpec *lam_model_spec_load (const char *path, GError **error);
char *lam_model_spec_to_json (const LamModelSpec *spec); /* pretty-printed, owned */

/* "an object", "an array", "null", "a string", "a boolean", "a number" or
 * (NULL) "nothing": what a JSON reader found, for its error messages. */
typedef struct _JsonNode JsonNode;
const char *lam_json_node_describe (JsonNode *node);
/* NULL when every string and member name under node is valid UTF-8 and
 * holds no NUL; otherwise the first field that is not, as an owned path
 * ("model.name", "layers[2].type", "classes[3]"). json-glib passes escapes
 * such as "\214" through as raw bytes, so readers check this before using
 * any text, and a loaded file always saves into a loadable one. */
char *lam_json_find_bad_text (JsonNode *node);
/* json-glib reads each nested array or object with a call of its own, so
 * a file of a hundred thousand '[' overflows the stack. Lamina's files
 * nest a few levels deep; every reader refuses more than this. */
#define LAM_JSON_MAX_DEPTH 64
gboolean lam_json_nests_too_deep (const char *json, gssize length);
/* json_parser_load_from_data, or from the file at path, after that check:
 * text nested too deep is a JSON_PARSER_ERROR saying so, and a number
 * json-glib would change without a word (a whole number past 64 bits,
 * 1e-400, 1e400) a LAM_JSON_NUMBER_ERROR naming its member: the JSON is
 * well formed, the number is what is wrong. */
#define LAM_JSON_NUMBER_ERROR (lam_json_number_error_quark ())
GQuark lam_json_number_error_quark (void);
typedef struct _JsonParser JsonParser;
gboolean lam_json_load_data (JsonParser *parser, const char *json, gssize length, GError **error);
gboolean lam_json_load_file (JsonParser *parser, const char *path, GError **error);
/* What every Lamina JSON writer appends: a string made valid UTF-8 (bytes
 * that are not become U+FFFD), and a float in the fewest digits that read
 * back the same, or null when it is not finite (JSON has no inf or nan). */
void lam_json_append_string (GString *s, const char *value);
void lam_json_append_float (GString *s, float value);
void lam_json_append_double (GString *s, double value);
/* The fewest digits that read back as VALUE ("1.0000001", not "1"). */
char *lam_format_double (double value);
char *lam_model_spec_to_text (const LamModelSpec *spec); /* owned */
/* Whether two specs build the same model: the same input, layers and loss,
 * as their text says them. */
gboolean lam_model_spec_equal (const LamModelSpec *a, const LamModelSpec *b);

/* Presets are JSON files compiled into the library (resources/presets). */
LamModelSpec *lam_model_spec_preset (const char *name, GError **error);
/* NULL-terminated owned list of preset names, in menu order. */
char **lam_model_spec_list_presets (void);

/* The stack with every layer planned (shapes, offsets, FLOPs). */
typedef struct
{
  LamShape input;
  int n_layers;
  LamLayer *layers; /* owned */
  /* Floats in the flat parameter buffer: the trained parameters, then the
   * buffers (running statistics); n_params counts both. */
  gsize n_params;
  gsize n_trainable;
  guint64 flops;    /* forward, per sample */
  LamShape output;
  gsize saved_bytes_per_sample;
  gsize scratch_floats_per_sample;
  gsize activation_floats_per_sample; /* input + every layer's output */
} LamModelPlan;

/* Shape inference over the whole stack; the first layer that does not fit
 * is reported (LAM_MODEL_ERROR_SHAPE) with both shapes. The spec must have
 * its input set. The last layer's output must be flat. */
LamModelPlan *lam_model_plan_new (const LamModelSpec *spec, GError **error);
void lam_model_plan_free (LamModelPlan *plan);
/* Bytes lam_model_new allocates for this plan at max_batch: parameters,
 * their gradients, activations and their gradients, saved state, scratch. */
guint64 lam_model_plan_estimate_bytes (const LamModelPlan *plan, int max_batch);

/* The model on a backend. */
typedef struct _LamModel LamModel;

/* Allocates parameters, gradients, activations, saved state and scratch for
 * up to max_batch samples, and initialises the parameters from seed. */
LamModel *lam_model_new (const LamModelSpec *spec, LamBackend *backend, int max_batch,
                         guint64 seed, GError **error);
/* The same with the parameters set to params (n_params of them, which must
 * be the plan's count: LAM_MODEL_ERROR_SHAPE otherwise) instead of drawn:
 * for weights that are about to be used, the draw is wasted (5 ms for the
 * MLP's 242,762). */
LamModel *lam_model_new_with_params (const LamModelSpec *spec, LamBackend *backend, int max_batch,
                                     const float *params, gsize n_params, GError **error);
void lam_model_free (LamModel *model);

const LamModelSpec *lam_model_get_spec (LamModel *model);
const LamModelPlan *lam_model_get_plan (LamModel *model);
LamBackend *lam_model_get_backend (LamModel *model);
int lam_model_get_max_batch (LamModel *model);
int lam_model_get_n_classes (LamModel *model); /* numel of the output */
gsize lam_model_get_n_params (LamModel *model);
float *lam_model_get_params (LamModel *model); /* device */
float *lam_model_get_grads (LamModel *model);  /* device */
/* Device buffer for the input batch (max_batch, input shape): upload here. */
float *lam_model_get_input (LamModel *model);
/* The same buffer where it is main memory (a backend from
 * lam_backend_cpu_new), for a loader to write batches into
 * (lam_loader_next_into); NULL elsewhere. */
float *lam_model_get_input_in_memory (LamModel *model);
/* Device buffer of the last forward's output (batch, n_classes). */
float *lam_model_get_output (LamModel *model);
/* Device buffer of layer `layer`'s output (batch, its out_shape) from the
 * last forward; -1 gives the input. For showing activations: only a model
 * set unfused writes the outputs of every layer (training fuses a
 * convolution, its activation and a 2×2 max pool into one op that writes
 * only the pool's output). */
float *lam_model_get_layer_output (LamModel *model, int layer);
/* Device buffer for the gradient of the loss w.r.t. the output. */
float *lam_model_get_output_grad (LamModel *model);

/* Unfused, forward and backward run every layer on its own and every
 * layer's output is kept; the results are the same. For views of
 * activations; training leaves it off. */
void lam_model_set_unfused (LamModel *model, gboolean unfused);
/* The steps forward runs, as the planning pass made them for the current
 * setting: "conv2d+relu+maxpool2d, linear, log_softmax" (a flatten is no
 * step). Owned. */
char *lam_model_describe_steps (LamModel *model);
gboolean lam_model_get_unfused (LamModel *model);
/* Runs forward on the first `batch` samples of the input buffer. */
void lam_model_forward (LamModel *model, int batch, gboolean training, guint64 seed);
/* Zeroes the gradients, then runs backward from the output gradient. */
void lam_model_backward (LamModel *model, int batch);
/* The same, and the gradient reaches the input: lam_model_get_input_grad
 * then holds d(loss or score)/d(input), (batch, input shape), on the device.
 * For saliency maps; costs the first layer's input gradient, which training
 * skips. */
void lam_model_backward_to_input (LamModel *model, int batch);
float *lam_model_get_input_grad (LamModel *model);
/* Device buffer of d(loss or score)/d(output of layer `layer`), (batch, its
 * out_shape), from the last lam_model_backward_to_input; -1 gives the input
 * gradient. Every layer's is the true one only in a model set unfused: a
 * fused step writes none for the layers inside it. For Grad-CAM. */
float *lam_model_get_layer_output_grad (LamModel *model, int layer);
/* Sets the output gradient to d(score of class klass)/d(output): 1 at that
 * class for each of the batch's samples, 0 elsewhere. Followed by
 * lam_model_backward_to_input, gives the gradient of that class's score
 * (the logit, or whatever the last layer outputs) w.r.t. the input. */
void lam_model_set_output_grad_class (LamModel *model, int batch, int klass);

/* Host copies of the parameters (n_params floats). */
void lam_model_get_params_host (LamModel *model, float *dst);
void lam_model_set_params_host (LamModel *model, const float *src);

/* Loss over the model's output against labels (device int32, batch):
 * writes the output gradient for a mean over the batch and adds the sum of
 * per-sample losses to *loss_acc (device float). */
void lam_model_loss (LamModel *model, LamLossKind kind, const int32_t *labels, int batch,
                     float *loss_acc);
/* The same with the output gradient that of (loss sum × scale): scale 1
 * gives each image's own d(loss)/d(output), for input gradients. */
void lam_model_loss_scaled (LamModel *model, LamLossKind kind, const int32_t *labels, int batch,
                            float scale, float *loss_acc);

/* Loss over the model's output against real-valued targets (device floats,
 * batch × n_outputs), for regression: kind mse or l1. The output gradient
 * and *loss_acc as lam_model_loss gives them. */
void lam_model_loss_targets (LamModel *model, LamLossKind kind, const float *targets, int batch,
                             float *loss_acc);
void lam_model_loss_targets_scaled (LamModel *model, LamLossKind kind, const float *targets,
                                    int batch, float scale, float *loss_acc);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamModelSpec, lam_model_spec_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamModelPlan, lam_model_plan_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamModel, lam_model_free)

G_END_DECLS
