/* lam-scrollable-grid.h: the GtkScrollable half of a view that scrolls its
 * own rows of cells (the sample grid, the prediction gallery): the two
 * adjustments and scroll policies behind the interface's properties, a
 * redraw when the value changes, and the adjustments configured for a
 * column of rows. A plain struct inside the widget's instance, not a class,
 * so each widget keeps its own parent type and properties. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

typedef void (*LamScrollableGridRelayout) (GtkWidget *widget);

typedef struct
{
  GtkWidget *widget;          /* borrowed: the widget this is part of */
  GtkAdjustment *hadjustment; /* owned */
  GtkAdjustment *vadjustment; /* owned */
  guint hscroll_policy : 1;
  guint vscroll_policy : 1;
  LamScrollableGridRelayout relayout; /* called when an adjustment is replaced */
} LamScrollableGrid;

/* The interface's four properties, numbered from the widget's first. */
enum
{
  LAM_SCROLLABLE_GRID_PROP_HADJUSTMENT,
  LAM_SCROLLABLE_GRID_PROP_VADJUSTMENT,
  LAM_SCROLLABLE_GRID_PROP_HSCROLL_POLICY,
  LAM_SCROLLABLE_GRID_PROP_VSCROLL_POLICY,
  LAM_SCROLLABLE_GRID_N_PROPS,
};

/* In class_init: overrides hadjustment, vadjustment, hscroll-policy and
 * vscroll-policy as first_prop_id and the three ids after it. */
void lam_scrollable_grid_install_properties (GObjectClass *object_class, guint first_prop_id);

/* In init, and in dispose. */
void lam_scrollable_grid_init (LamScrollableGrid *self, GtkWidget *widget,
                               LamScrollableGridRelayout relayout);
void lam_scrollable_grid_clear (LamScrollableGrid *self);

/* From get_property / set_property: TRUE when prop_id was one of the four. */
gboolean lam_scrollable_grid_get_property (LamScrollableGrid *self, guint first_prop_id,
                                           guint prop_id, GValue *value);
gboolean lam_scrollable_grid_set_property (LamScrollableGrid *self, guint first_prop_id,
                                           guint prop_id, const GValue *value,
                                           GParamSpec *pspec);

/* Vertical: content_height tall (at least a page), scrolled to value
 * (clamped), a step of one row; horizontal: exactly the width. */
void lam_scrollable_grid_configure (LamScrollableGrid *self, int width, int height,
                                    double content_height, double row_height, double value);

/* The value that shows [top, bottom] with margin around it, moving as
 * little as possible from the current one. */
double lam_scrollable_grid_value_showing (LamScrollableGrid *self, double top, double bottom,
                                          double margin);

G_END_DECLS
