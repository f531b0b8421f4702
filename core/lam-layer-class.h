/* lam-layer-class.h: the table of layer kinds.
 *
 * Each kind is one file in core/layers/ that defines one const
 * LamLayerClass: its names, its typed arguments, planning, initialisation,
 * forward, backward and the PyTorch module it exports as. The spec readers
 * and writers, the exporter and the Model page walk these entries instead
 * of knowing the kinds, so a new kind is its file, its line in the registry
 * (lam-layer-table.c) and its backend ops.
 */
#pragma once

#include <glib.h>

#include "lam-layer.h"

G_BEGIN_DECLS

/* Sizes past this are typing mistakes, and keeping them small keeps every
 * product of sizes inside 64 bits. */
#define LAM_LAYER_MAX_SIZE (1 << 24)

typedef enum
{
  LAM_VALUE_INT,
  LAM_VALUE_FLOAT,  /* kept as a 32-bit float */
  LAM_VALUE_DOUBLE, /* kept as a double, as PyTorch keeps dropout's p */
  LAM_VALUE_BOOL,
} LamValueType;

typedef enum
{
  /* No default: JSON must name it and the text gives it in its position. */
  LAM_LAYER_ARG_REQUIRED = 1 << 0,
  /* 0, outside the range, means "left out": planning works the value out
   * (in from the previous layer, a pool's stride from its kernel). */
  LAM_LAYER_ARG_AUTO = 1 << 1,
  /* A square size, which the text may also write 3x3. */
  LAM_LAYER_ARG_SQUARE = 1 << 2,
  /* max itself lies outside the range (dropout's p is below 1). */
  LAM_LAYER_ARG_BELOW_MAX = 1 << 3,
  /* Its limit depends on other arguments (a pool's padding on its kernel):
   * the readers check min and max, planning leaves the check to the kind. */
  LAM_LAYER_ARG_LIMIT_IN_PLAN = 1 << 4,
} LamLayerArgFlags;

/* How the Model page edits an argument with a spin button (a bool gets a
 * check button). Its bounds are what a lesson needs, tighter than the
 * range the readers accept. */
typedef struct
{
  double start; /* what a layer added from the palette has */
  double lower, upper, step;
  int digits;
  int width_chars;
} LamLayerArgEditor;

typedef struct
{
  /* The JSON member, the text's key (in=784) and the Model page's caption. */
  const char *name;
  LamValueType type;
  LamLayerArgFlags flags;
  gsize offset; /* of its field in LamLayerSpec */
  /* 1-based position after the kind in the compact text (conv2d:OUT:K);
   * 0 for an option, written by its short form (s2), as key=value (in=784)
   * or, for a bool, as a word (nobias). */
  int position;
  char short_form; /* 's' lets the text write stride 2 as s2; 0 for none */
  const char *noun; /* a required argument's name in "needs its output size" */
  double value;     /* the default */
  double min, max;  /* ±INFINITY for none; a bool has no range */
  /* With LAM_LAYER_ARG_AUTO, the argument whose value "left out" takes,
   * which the writers then leave out too; NULL when planning takes it from
   * the input. */
  const char *auto_from;
  /* A further rule the readers apply to a number, or NULL. */
  gboolean (*check_value) (double value, const char *where, GError **error);
  /* The Model page: the tooltip of its editor, NULL for none. */
  const char *label;
  LamLayerArgEditor editor;
} LamLayerArg;

/* What a kind keeps between steps, as PyTorch's state dict names it after
 * the layer's index ("3.weight"). Parameters are trained; buffers (a batch
 * norm's running statistics) are saved and loaded but not trained. Both
 * live in the model's flat parameter buffer, buffers after every
 * parameter (LamLayer.buffer_offset). Forward sees ctx->training, so a
 * kind may behave differently in evaluation. */
typedef enum
{
  LAM_LAYER_STATE_PARAMETER,
  LAM_LAYER_STATE_BUFFER,
} LamLayerStateRole;

/* How a state is stored in a weights file; in the flat buffer every state
 * is floats. */
typedef enum
{
  LAM_LAYER_STATE_FLOAT32,
  LAM_LAYER_STATE_INT64, /* a count (num_batches_tracked) */
} LamLayerStateType;

typedef struct
{
  const char *name; /* "weight", "bias", "running_mean" */
  LamLayerStateRole role;
  LamLayerStateType type;
} LamLayerState;

typedef struct _LamLayerClass LamLayerClass;

struct _LamLayerClass
{
  LamLayerKind kind;
  const char *name;           /* as JSON and the text write it: "conv2d" */
  const char *const *aliases; /* NULL-terminated, or NULL; read in any case */
  const char *title;          /* as PyTorch spells the module: "Conv2d" */
  const char *description;    /* one line for the palette */
  /* The same when the input is a table's row of numbers, for a kind whose
   * line speaks of images; NULL: `description` fits a row too. */
  const char *description_table;
  const char *text_example;   /* for the text reader's messages; NULL: the name */

  /* In the order the text writes them and planning checks them; JSON
   * writes those with LAM_LAYER_ARG_AUTO and no auto_from first, as
   * PyTorch puts in_features before out_features. */
  const LamLayerArg *args;
  guint n_args;

  const LamLayerState *states; /* in state-dict order */
  guint n_states;
  /* Where state `i` of a planned layer lies and its shape as PyTorch has
   * it (rank 0 for a scalar); returns the offset into the flat buffer. A
   * numel of 0 means the layer has not got it (linear without bias). */
  gsize (*state_layout) (const LamLayer *layer, guint i, LamShape *shape);

  /* Shape inference once the arguments passed their ranges: sets
   * out_shape, parameter counts, FLOPs, saved bytes and scratch. `name` is
   * "layer 4 (linear)", `prev_name` "layer 3 (maxpool2d)" or "the input". */
  gboolean (*plan) (LamLayer *layer, const char *name, const char *prev_name, GError **error);
  /* NULL for kinds without parameters. */
  void (*init) (const LamLayer *layer, float *params, GRand *rng);
  void (*forward) (const LamLayer *layer, const LamLayerContext *ctx, const float *x, float *y);
  /* dx is NULL for the first layer; kinds without parameters are not
   * called then. */
  void (*backward) (const LamLayer *layer, const LamLayerContext *ctx, const float *x,
                    const float *y, const float *dy, float *dx);

  /* The module after "nn.", from the planned layer: "Linear(784, 256)". */
  void (*append_pytorch) (GString *s, const LamLayer *layer);
  /* What a view's title adds after the name (" 3×3"), or NULL. */
  void (*append_caption) (GString *s, const LamLayerSpec *spec);
};

/* NULL for a kind outside the table. */
const LamLayerClass *lam_layer_class (LamLayerKind kind);
/* By name or alias, in any case; NULL when none. */
const LamLayerClass *lam_layer_class_lookup (const char *name);

/* The argument called `name`, or NULL. */
const LamLayerArg *lam_layer_class_find_arg (const LamLayerClass *klass, const char *name);
gboolean lam_layer_class_has_state (const LamLayerClass *klass, LamLayerStateRole role);

/* Reads and writes an argument's field; an int is rounded, a float
 * narrowed. set returns whether the field changed. */
double lam_layer_arg_get (const LamLayerArg *arg, const LamLayerSpec *spec);
gboolean lam_layer_arg_set (const LamLayerArg *arg, LamLayerSpec *spec, double value);
/* A number's range in words: "at least 0 and below 1". */
char *lam_layer_arg_range_words (const LamLayerArg *arg);

G_END_DECLS
