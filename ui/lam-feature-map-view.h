/* lam-feature-map-view.h: a map of what the network learned — every test
 * image as a dot at its 2-D place (its penultimate features projected
 * elsewhere, see lam-feature-map.h), coloured by its true class. Images the
 * network holds to be alike lie close together; the mistakes, ringed, show
 * where the clusters meet.
 *
 * The view zooms with the scroll wheel or a pinch (about the pointer), pans
 * by dragging, and keeps its zoom and pan across frames when asked, so
 * epochs can be compared. Hovering a dot shows its image, or a table
 * row's values; a lasso (Shift and drag, or every drag while lasso mode
 * is on) selects the dots inside it.
 * Keys: + and − zoom, 0 fits the map again, arrows pan, Escape clears the
 * selection.
 *
 * Signals: "selection-changed" (no arguments) when the selection is
 * replaced or cleared; "point-activated" (guint index) when a dot is
 * clicked. A click on no dot clears the selection. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LAM_TYPE_FEATURE_MAP_VIEW (lam_feature_map_view_get_type ())
G_DECLARE_FINAL_TYPE (LamFeatureMapView, lam_feature_map_view, LAM, FEATURE_MAP_VIEW, GtkWidget)

/* The image of point index for the hover card, or NULL for none; the view
 * takes the reference. Called once each time the pointer reaches another
 * dot. */
typedef GdkTexture *(*LamFeatureMapThumbnailFunc) (guint index, gpointer user_data);

/* The lines of point index's hover card above its title, e.g. a table
 * row's values: at most max_lines of them, each max_width pixels wide at
 * most in measure's font (measure's text may be replaced); NULL or empty
 * for none. Called each time the card is drawn. */
typedef char **(*LamFeatureMapCardLinesFunc) (guint index, int max_lines, PangoLayout *measure,
                                              int max_width, gpointer user_data);

GtkWidget *lam_feature_map_view_new (void);

/* The points, copied: n pairs (x, y) in xy, the true class of each in
 * labels (0 ≤ label < n_classes; others are drawn grey), class_names
 * n_classes strings (may be NULL: the classes are then numbered). Points
 * with a coordinate that is not finite are left out. keep_view keeps the
 * zoom and pan (a fitted view keeps fitting the previous frame's points),
 * so a frame recomputed with the same axes lands where the last one was;
 * FALSE fits the new points. The selection is kept while the number of
 * points stays the same and keep_view is TRUE (the same images, moved);
 * otherwise it is cleared. Predictions are cleared. */
void lam_feature_map_view_set_points (LamFeatureMapView *self, int n, const float *xy,
                                      const gint32 *labels, int n_classes,
                                      const char *const *class_names, gboolean keep_view);
int lam_feature_map_view_get_n_points (LamFeatureMapView *self);
/* The class the network gives each point (n of the last set_points,
 * copied), or NULL: misclassified points are ringed and the hover card
 * names what they were taken for. */
void lam_feature_map_view_set_predictions (LamFeatureMapView *self, const gint32 *predicted);

/* A line above the map ("PCA of the penultimate layer · axes explain 31%
 * and 18%"); NULL for none. */
void lam_feature_map_view_set_caption (LamFeatureMapView *self, const char *caption);
const char *lam_feature_map_view_get_caption (LamFeatureMapView *self);

/* Whether the points are a table's rows: the hover card and the name a
 * screen reader hears then say "row" where they say "image". */
void lam_feature_map_view_set_speaks_of_rows (LamFeatureMapView *self, gboolean rows);
/* The first line of point index's hover card ("cat · test image 12"), or
 * NULL past the points. */
char *lam_feature_map_view_dup_card_title (LamFeatureMapView *self, int index);

/* All that point index's hover card says, a line each: its lines (see
 * lam_feature_map_view_set_card_lines_func), its title and what it was
 * taken for; NULL past the points. */
char *lam_feature_map_view_dup_card_text (LamFeatureMapView *self, int index);

/* A symbol at (x, y) in map coordinates, drawn above the dots with label
 * beside it (may be NULL): where the current drawing lands. */
void lam_feature_map_view_set_marker (LamFeatureMapView *self, gboolean shown, float x, float y,
                                      const char *label);
/* Whether the marker is shown, and where (x, y may be NULL). */
gboolean lam_feature_map_view_get_marker (LamFeatureMapView *self, float *x, float *y);

void lam_feature_map_view_set_thumbnail_func (LamFeatureMapView *self,
                                              LamFeatureMapThumbnailFunc func, gpointer user_data,
                                              GDestroyNotify destroy);
void lam_feature_map_view_set_card_lines_func (LamFeatureMapView *self,
                                               LamFeatureMapCardLinesFunc func, gpointer user_data,
                                               GDestroyNotify destroy);
/* Shows point index with its card as if hovered (-1: none), e.g. the image
 * chosen in a gallery; the pointer moving over the map replaces it. */
void lam_feature_map_view_set_highlighted (LamFeatureMapView *self, int index);
int lam_feature_map_view_get_highlighted (LamFeatureMapView *self);

/* Lasso mode: every primary-button drag draws a lasso instead of panning
 * (Shift does so at any time). */
void lam_feature_map_view_set_lasso (LamFeatureMapView *self, gboolean lasso);
gboolean lam_feature_map_view_get_lasso (LamFeatureMapView *self);

/* The view. Widget coordinates are those of the allocation; before the
 * widget has one, the conversions answer FALSE. zoom() multiplies the
 * scale by factor keeping the map point under (x, y) in place; pan() moves
 * the map by (dx, dy) pixels. */
void lam_feature_map_view_reset_view (LamFeatureMapView *self);
void lam_feature_map_view_zoom (LamFeatureMapView *self, double factor, double x, double y);
void lam_feature_map_view_pan (LamFeatureMapView *self, double dx, double dy);
gboolean lam_feature_map_view_map_to_widget (LamFeatureMapView *self, double x, double y,
                                             double *wx, double *wy);
gboolean lam_feature_map_view_widget_to_map (LamFeatureMapView *self, double wx, double wy,
                                             double *x, double *y);
/* The point whose dot is nearest to (x, y) within a few pixels, or -1. */
int lam_feature_map_view_get_point_at (LamFeatureMapView *self, double x, double y);

/* Selects the points inside the polygon of n_vertices (x, y) pairs in map
 * coordinates (even-odd rule), replacing the selection; emits
 * "selection-changed". Fewer than 3 vertices select nothing. */
void lam_feature_map_view_select_polygon (LamFeatureMapView *self, int n_vertices,
                                          const double *xy);
void lam_feature_map_view_clear_selection (LamFeatureMapView *self);
guint lam_feature_map_view_get_n_selected (LamFeatureMapView *self);
/* The selected points' indices (guint), in increasing order. */
GArray *lam_feature_map_view_dup_selection (LamFeatureMapView *self);

G_END_DECLS
