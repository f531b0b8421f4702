#include "lam-scrollable-grid.h"

void
lam_scrollable_grid_install_properties (GObjectClass *object_class, guint first_prop_id)
{
  g_object_class_override_property (object_class,
                                    first_prop_id + LAM_SCROLLABLE_GRID_PROP_HADJUSTMENT,
                                    "hadjustment");
  g_object_class_override_property (object_class,
                                    first_prop_id + LAM_SCROLLABLE_GRID_PROP_VADJUSTMENT,
                                    "vadjustment");
  g_object_class_override_property (object_class,
                                    first_prop_id + LAM_SCROLLABLE_GRID_PROP_HSCROLL_POLICY,
                                    "hscroll-policy");
  g_object_class_override_property (object_class,
                                    first_prop_id + LAM_SCROLLABLE_GRID_PROP_VSCROLL_POLICY,
                                    "vscroll-policy");
}

static void
value_changed (GtkAdjustment *adjustment, LamScrollableGrid *self)
{
  gtk_widget_queue_draw (self->widget);
}

static void
set_adjustment (LamScrollableGrid *self, GtkAdjustment **slot, GtkAdjustment *adjustment)
{
  if (*slot != NULL) {
    g_signal_handlers_disconnect_by_func (*slot, value_changed, self);
    g_clear_object (slot);
  }
  if (adjustment == NULL)
    adjustment = gtk_adjustment_new (0, 0, 0, 0, 0, 0);
  *slot = g_object_ref_sink (adjustment);
  g_signal_connect (adjustment, "value-changed", G_CALLBACK (value_changed), self);
}

void
lam_scrollable_grid_init (LamScrollableGrid *self, GtkWidget *widget,
                          LamScrollableGridRelayout relayout)
{
  self->widget = widget;
  self->relayout = relayout;
  set_adjustment (self, &self->hadjustment, NULL);
  set_adjustment (self, &self->vadjustment, NULL);
}

void
lam_scrollable_grid_clear (LamScrollableGrid *self)
{
  if (self->hadjustment != NULL)
    g_signal_handlers_disconnect_by_func (self->hadjustment, value_changed, self);
  if (self->vadjustment != NULL)
    g_signal_handlers_disconnect_by_func (self->vadjustment, value_changed, self);
  g_clear_object (&self->hadjustment);
  g_clear_object (&self->vadjustment);
}

gboolean
lam_scrollable_grid_get_property (LamScrollableGrid *self, guint first_prop_id, guint prop_id,
                                  GValue *value)
{
  if (prop_id < first_prop_id)
    return FALSE;
  switch (prop_id - first_prop_id) {
  case LAM_SCROLLABLE_GRID_PROP_HADJUSTMENT:
    g_value_set_object (value, self->hadjustment);
    return TRUE;
  case LAM_SCROLLABLE_GRID_PROP_VADJUSTMENT:
    g_value_set_object (value, self->vadjustment);
    return TRUE;
  case LAM_SCROLLABLE_GRID_PROP_HSCROLL_POLICY:
    g_value_set_enum (value, self->hscroll_policy);
    return TRUE;
  case LAM_SCROLLABLE_GRID_PROP_VSCROLL_POLICY:
    g_value_set_enum (value, self->vscroll_policy);
    return TRUE;
  default:
    return FALSE;
  }
}

static void
set_policy (LamScrollableGrid *self, guint *policy, const GValue *value, GParamSpec *pspec)
{
  if (*policy == (guint) g_value_get_enum (value))
    return;
  *policy = g_value_get_enum (value);
  gtk_widget_queue_resize (self->widget);
  g_object_notify_by_pspec (G_OBJECT (self->widget), pspec);
}

gboolean
lam_scrollable_grid_set_property (LamScrollableGrid *self, guint first_prop_id, guint prop_id,
                                  const GValue *value, GParamSpec *pspec)
{
  GtkAdjustment **slot = NULL;
  guint policy;

  if (prop_id < first_prop_id)
    return FALSE;
  switch (prop_id - first_prop_id) {
  case LAM_SCROLLABLE_GRID_PROP_HADJUSTMENT:
    slot = &self->hadjustment;
    break;
  case LAM_SCROLLABLE_GRID_PROP_VADJUSTMENT:
    slot = &self->vadjustment;
    break;
  case LAM_SCROLLABLE_GRID_PROP_HSCROLL_POLICY:
    policy = self->hscroll_policy;
    set_policy (self, &policy, value, pspec);
    self->hscroll_policy = policy;
    return TRUE;
  case LAM_SCROLLABLE_GRID_PROP_VSCROLL_POLICY:
    policy = self->vscroll_policy;
    set_policy (self, &policy, value, pspec);
    self->vscroll_policy = policy;
    return TRUE;
  default:
    return FALSE;
  }

  GtkAdjustment *adjustment = g_value_get_object (value);
  if (adjustment != NULL && adjustment == *slot)
    return TRUE;
  set_adjustment (self, slot, adjustment);
  if (self->relayout != NULL)
    self->relayout (self->widget);
  g_object_notify_by_pspec (G_OBJECT (self->widget), pspec);
  return TRUE;
}

void
lam_scrollable_grid_configure (LamScrollableGrid *self, int width, int height,
                               double content_height, double row_height, double value)
{
  double upper = MAX (content_height, height);
  value = CLAMP (value, 0, upper - height);
  gtk_adjustment_configure (self->vadjustment, value, 0, upper, row_height,
                            MAX (height * 0.9, 1), height);
  gtk_adjustment_configure (self->hadjustment, 0, 0, width, width * 0.1, width * 0.9, width);
}

double
lam_scrollable_grid_value_showing (LamScrollableGrid *self, double top, double bottom,
                                   double margin)
{
  double value = gtk_adjustment_get_value (self->vadjustment);
  double page = gtk_adjustment_get_page_size (self->vadjustment);
  if (top - margin < value)
    return top - margin;
  if (bottom + margin > value + page)
    return bottom + margin - page;
  return value;
}
