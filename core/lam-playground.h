/* lam-playground.h: the 2-D toy sets of the playground (as TensorFlow
 * Playground has them): points in the plane with a class or a value,
 * generated from a seed, and the grid over which a model's predictions are
 * drawn as a decision boundary or a fitted surface. Plain C over GLib. */
#pragma once

#include <glib.h>

#include "lam-dataset.h"

G_BEGIN_DECLS

#define LAM_PLAYGROUND_ERROR (lam_playground_error_quark ())
GQuark lam_playground_error_quark (void);

typedef enum
{
  LAM_PLAYGROUND_ERROR_INVALID, /* a parameter out of its range */
} LamPlaygroundError;

/* Every point lies in [-EXTENT, EXTENT]², the Playground's square. */
#define LAM_PLAYGROUND_EXTENT 6.0

/* The unit the classification sets are drawn in: the disc's radius, the
 * moons' radius, half a quadrant. noise is the standard deviation of the
 * jitter in this unit, so noise 0.1 means the same on every set, and moons
 * at noise 0.1 are sklearn's make_moons (noise=0.1) scaled by it. The
 * regression sets' values span [-1, 1], and their noise is in that unit. */
#define LAM_PLAYGROUND_SCALE 2.5

#define LAM_PLAYGROUND_MIN_POINTS 10
#define LAM_PLAYGROUND_MAX_POINTS 10000
#define LAM_PLAYGROUND_MIN_BLOBS 3
#define LAM_PLAYGROUND_MAX_BLOBS 6

/* The plane's slopes: value = A·x1 + B·x2 (+ noise), within ±0.96. */
#define LAM_PLAYGROUND_PLANE_A 0.1
#define LAM_PLAYGROUND_PLANE_B (-0.06)

/* The sets, with their geometry at noise 0 (S = LAM_PLAYGROUND_SCALE):
 * CIRCLE  "inside": uniform in the disc of radius S; "ring": uniform in the
 *         ring between 1.4 S and 2 S.
 * XOR     uniform in the four quadrants' squares from 0.3 to 2 S on each
 *         axis; "same signs" (class 1) where x1·x2 > 0, "opposite signs"
 *         (class 0) where x1·x2 < 0.
 * GAUSS   two round Gaussians of standard deviation 0.4 S (1.0) centred on
 *         (-2, -2) and (2, 2).
 * SPIRAL  two arms r = 2 S t, angle 3.5π t + cπ for arm c, t uniform in
 *         [0, 1]: 1.75 turns each, one the other turned half a turn.
 * MOONS   sklearn's make_moons scaled by S and centred: the upper moon
 *         S (cos θ - 1/2, sin θ - 1/4), the lower S (1/2 - cos θ, 1/4 -
 *         sin θ), θ uniform in [0, π].
 * BLOBS   n_classes round Gaussians of standard deviation 0.24 S (0.6),
 *         centres 1.4 S from the origin at angles π/2 + 2πc/n.
 * PLANE   inputs uniform in the square, value A·x1 + B·x2.
 * RIPPLE  inputs uniform in the square, value sin(π x1 / 6)·cos(π x2 / 6):
 *         a hill at (3, 0), a valley at (-3, 0), both turning over towards
 *         the top and bottom edges; smooth, for a small network to fit. */
typedef enum
{
  LAM_PLAYGROUND_CIRCLE,
  LAM_PLAYGROUND_XOR,
  LAM_PLAYGROUND_GAUSS,
  LAM_PLAYGROUND_SPIRAL,
  LAM_PLAYGROUND_MOONS,
  LAM_PLAYGROUND_BLOBS,
  LAM_PLAYGROUND_PLANE,
  LAM_PLAYGROUND_RIPPLE,
  LAM_PLAYGROUND_N_KINDS
} LamPlaygroundKind;

/* "circle", "xor", "gauss", "spiral", "moons", "blobs", "plane", "ripple";
 * NULL for a value out of range. */
const char *lam_playground_kind_to_string (LamPlaygroundKind kind);
/* FALSE, leaving kind, for a name that is none of those (exact, lower case). */
gboolean lam_playground_kind_from_string (const char *name, LamPlaygroundKind *kind);
/* "Circle", "XOR", "Gaussian", "Spiral", "Moons", "Blobs", "Plane", "Ripple". */
const char *lam_playground_kind_get_label (LamPlaygroundKind kind);
/* TRUE for PLANE and RIPPLE, whose points carry a value instead of a class. */
gboolean lam_playground_kind_is_regression (LamPlaygroundKind kind);

typedef struct
{
  LamPlaygroundKind kind;
  int n_points;  /* LAM_PLAYGROUND_MIN_POINTS … MAX_POINTS */
  double noise;  /* 0 … 1: jitter's standard deviation, in the set's unit */
  int n_classes; /* BLOBS only, MIN_BLOBS … MAX_BLOBS; ignored by the rest */
  guint64 seed;
} LamPlaygroundParams;

typedef struct
{
  int n;
  float *xy;          /* owned: (n, 2) = x1, x2 per point, in [-EXTENT, EXTENT] */
  guint8 *labels;     /* owned, classification: (n), each < n_classes; else NULL */
  float *values;      /* owned, regression: (n); else NULL */
  int n_classes;      /* 0 for regression */
  char **class_names; /* owned, NULL-terminated, n_classes names; NULL for regression */
  gboolean regression;
  char *name;         /* owned: "Spiral, 400 points, noise 0.1, seed 1" */
} LamPlaygroundSet;

/* A new set as params asks, or NULL with LAM_PLAYGROUND_ERROR_INVALID naming
 * the parameter, its value and its range.
 *
 * Classes are balanced: n_points / n_classes each, the first n_points %
 * n_classes classes one more. Points come in an order shuffled with the
 * seed. A classification point is its class's shape plus a Gaussian jitter
 * of standard deviation noise × LAM_PLAYGROUND_SCALE on each axis, drawn
 * again whenever it would leave the square; a regression point's value
 * gets a jitter of standard deviation noise instead (its inputs stay put).
 *
 * The same params give the same set, bit for bit, on every machine: the
 * random numbers are xoshiro256** seeded through splitmix64 (not GRand,
 * whose seeding G_RANDOM_VERSION can change), and the sines, cosines and
 * logarithms are computed here with + - × ÷ and sqrt only, which IEEE 754
 * rounds the same everywhere, instead of libm's, which differ in the last
 * bit between libraries. */
LamPlaygroundSet *lam_playground_generate (const LamPlaygroundParams *params, GError **error);
void lam_playground_set_free (LamPlaygroundSet *set);

/* The inputs of a width × height picture of [-extent, extent]², row-major
 * as images are: out_xy (height, width, 2) gets (x1, x2) at the centre of
 * pixel (row, column), row 0 the top one (x2 nearest +extent), column 0 the
 * left one (x1 nearest -extent), so a model's predictions over it, in
 * order, are the picture's pixels:
 *   x1 = -extent + (column + 1/2)·2 extent / width
 *   x2 = +extent - (row + 1/2)·2 extent / height */
void lam_playground_grid (int width, int height, double extent, float *out_xy);

/* A set named as a dataset is, so a project, the window and `lamina train
 * --data` can ask for it and get it again bit for bit:
 *   playground:KIND?points=N&noise=X&classes=K&seed=S
 * (the parameters optional, defaults: 400 points, noise 0.1, 4 classes,
 * seed 1). parse fails with LAM_PLAYGROUND_ERROR_INVALID naming what is
 * wrong: an unknown kind or parameter, a value that is not a number or out
 * of its range. */
#define LAM_PLAYGROUND_URI_PREFIX "playground:"
gboolean lam_playground_is_uri (const char *text);
gboolean lam_playground_params_parse (const char *uri, LamPlaygroundParams *params,
                                      GError **error);
char *lam_playground_params_to_uri (const LamPlaygroundParams *params);
void lam_playground_params_init (LamPlaygroundParams *params, LamPlaygroundKind kind);

/* The set a playground: name asks for, as table datasets: train holds its
 * points (inputs x1, x2; a class each, or a value y), standardised by
 * their own statistics; test (may be NULL) a fifth as many more of the
 * same shape from a seed of their own, scaled as train. */
gboolean lam_playground_load (const char *uri, LamDataset **train, LamDataset **test,
                              GError **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamPlaygroundSet, lam_playground_set_free)

G_END_DECLS
