/* lam-feature-map.h: a 2-D map of what a network learned.
 *
 * The features (for instance every test image's penultimate-layer output)
 * are projected onto their two principal axes: the map shows which images
 * the network holds to be alike. The map is recomputed every epoch, so a
 * new frame is turned to agree with the one before: an axis whose sign or
 * place flipped between two epochs would make the whole cloud jump for no
 * reason the network gave.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define LAM_FEATURE_MAP_ERROR (lam_feature_map_error_quark ())
GQuark lam_feature_map_error_quark (void);

typedef enum
{
  LAM_FEATURE_MAP_ERROR_INVALID,  /* too few rows or features, a value that is not finite */
  LAM_FEATURE_MAP_ERROR_MISMATCH, /* the previous frame has another number of features */
  LAM_FEATURE_MAP_ERROR_FAILED,   /* the eigensolver gave up */
} LamFeatureMapError;

/* The most features a map is made of. The covariance is d × d doubles:
 * 4096 features take 128 MB. A layer wider than that is no longer a
 * picture of anything a class can read. */
#define LAM_FEATURE_MAP_MAX_FEATURES 4096

/* A frame's axes: where the map's origin lies in feature space and the two
 * directions its x and y follow. */
typedef struct
{
  int n_features;   /* d */
  float *mean;      /* owned, d: the features' mean, the map's origin */
  float *axes;      /* owned, 2 × d: row k is axis k, of unit length */
  /* The variance of the features along each axis, and its share of the
   * total variance (the sum over all d directions). Axis 0 explains the
   * most unless keeping the previous frame's orientation swapped them. */
  double variance[2];
  double explained[2];
  double total_variance;
} LamFeatureMapAxes;

void lam_feature_map_axes_free (LamFeatureMapAxes *axes);
LamFeatureMapAxes *lam_feature_map_axes_copy (const LamFeatureMapAxes *axes);

/* PCA of features (n × d, row-major): the two leading eigenvectors of the
 * covariance, and every row's coordinates along them (coords_out, n × 2,
 * row-major; x = axis 0, y = axis 1).
 *
 * previous (may be NULL) is the last frame's axes: each new axis then
 * takes the sign that agrees with its predecessor (positive dot product),
 * and when the new axes lie closer to the old ones crosswise, they swap
 * places. Without it, each axis's largest component is made positive, so
 * the same features always give the same map.
 *
 * n must be at least 2 and d from 2 to LAM_FEATURE_MAP_MAX_FEATURES, every
 * value finite. Features that
 * do not vary at all (a network whose units all died) give a defined map:
 * every point at the origin, explained fractions 0, and the previous axes
 * (or the first two feature directions). */
LamFeatureMapAxes *lam_feature_map_compute (const float *features, int n, int d,
                                            const LamFeatureMapAxes *previous, float *coords_out,
                                            GError **error);

/* Places other rows (n × d, e.g. a drawing's features) on an existing map:
 * coords_out (n × 2) = (features − mean) · axesᵀ. */
void lam_feature_map_project (const LamFeatureMapAxes *axes, const float *features, int n,
                              float *coords_out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (LamFeatureMapAxes, lam_feature_map_axes_free)

G_END_DECLS
