/* lam-reflow-box.h: panels side by side while they fit, wrapped onto more
 * rows when they do not, so a page fits a projector's 1024 pixels (and
 * presentation mode's larger text) without cutting anything off.
 *
 * Children are laid out in order, each row taking as many as their minimum
 * widths allow; a row's spare width goes first to bring each child toward
 * its natural width, then to the children that expand horizontally. A row
 * is as tall as its tallest child. The height the box is given beyond what
 * the rows need goes to the rows holding main content (a child that
 * expands both ways), else to rows with a child that expands vertically:
 * a side panel that wraps onto a row of its own keeps its natural
 * height. The box's minimum width is its widest child's. Once wrapped,
 * the rows ask for their natural height: put the box in a vertically
 * scrolled window where they may not fit. In a .ui file children are
 * added as to a GtkBox. */
#pragma once

#include <gtk/gtk.h>

G_BEGIN_DECLS

#define LAM_TYPE_REFLOW_BOX (lam_reflow_box_get_type ())
G_DECLARE_FINAL_TYPE (LamReflowBox, lam_reflow_box, LAM, REFLOW_BOX, GtkWidget)

GtkWidget *lam_reflow_box_new (int spacing);
void lam_reflow_box_append (LamReflowBox *self, GtkWidget *child);
/* Pixels between children in a row and between rows (property
 * "spacing"). */
void lam_reflow_box_set_spacing (LamReflowBox *self, int spacing);
/* How many rows the last allocation used (1: all side by side). */
guint lam_reflow_box_get_n_rows (LamReflowBox *self);

G_END_DECLS
