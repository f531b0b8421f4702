#include "lam-reflow-box.h"

struct _LamReflowBox
{
  GtkWidget parent_instance;
  int spacing;
  guint n_rows;
};

static void lam_reflow_box_buildable_init (GtkBuildableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (LamReflowBox, lam_reflow_box, GTK_TYPE_WIDGET,
                               G_IMPLEMENT_INTERFACE (GTK_TYPE_BUILDABLE,
                                                      lam_reflow_box_buildable_init))

enum
{
  PROP_0,
  PROP_SPACING,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];
static GtkBuildableIface *parent_buildable_iface;

/* One shown child and the width it gets in its row. */
typedef struct
{
  GtkWidget *widget;
  int min_width, nat_width;
  int width;
  int row;
} Item;

/* The shown children with their widths. */
static GArray *
collect_items (LamReflowBox *self)
{
  GArray *items = g_array_new (FALSE, TRUE, sizeof (Item));
  for (GtkWidget *child = gtk_widget_get_first_child (GTK_WIDGET (self)); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    if (!gtk_widget_should_layout (child))
      continue;
    Item item = { child, 0, 0, 0, 0 };
    gtk_widget_measure (child, GTK_ORIENTATION_HORIZONTAL, -1, &item.min_width, &item.nat_width,
                        NULL, NULL);
    g_array_append_val (items, item);
  }
  return items;
}

/* Gives each row's children their widths within `width`, the rows filled
 * in order by minimum width; returns the number of rows. */
static guint
plan_rows (LamReflowBox *self, GArray *items, int width)
{
  guint n_rows = 0;
  guint first = 0;
  while (first < items->len) {
    /* As many as fit side by side, at least one. */
    guint end = first + 1;
    int used = g_array_index (items, Item, first).min_width;
    while (end < items->len &&
           used + self->spacing + g_array_index (items, Item, end).min_width <= width) {
      used += self->spacing + g_array_index (items, Item, end).min_width;
      end++;
    }
    int extra = MAX (0, width - used);
    int wanted = 0, n_expand = 0;
    for (guint i = first; i < end; i++) {
      Item *item = &g_array_index (items, Item, i);
      wanted += item->nat_width - item->min_width;
      n_expand += gtk_widget_compute_expand (item->widget, GTK_ORIENTATION_HORIZONTAL);
    }
    /* Toward natural widths first, in proportion to what each wants. */
    int toward_natural = MIN (extra, wanted);
    int given = 0;
    for (guint i = first; i < end; i++) {
      Item *item = &g_array_index (items, Item, i);
      int share = wanted > 0 ? (int) ((gint64) toward_natural * (item->nat_width - item->min_width) /
                                      wanted)
                             : 0;
      item->width = item->min_width + share;
      item->row = (int) n_rows;
      given += share;
    }
    /* The rest to those that expand, or to a child wrapped onto a row
     * alone: it has the row's width, and its halign says how much of it
     * it fills (a button set to start keeps its own width). */
    int rest = extra - given;
    if (n_expand == 0 && end - first == 1)
      g_array_index (items, Item, first).width += rest;
    for (guint i = first; i < end && rest > 0 && n_expand > 0; i++) {
      Item *item = &g_array_index (items, Item, i);
      if (!gtk_widget_compute_expand (item->widget, GTK_ORIENTATION_HORIZONTAL))
        continue;
      int share = n_expand == 1 ? rest : rest / n_expand;
      item->width += share;
      rest -= share;
      n_expand--;
    }
    n_rows++;
    first = end;
  }
  return n_rows;
}

/* Each row's minimum and natural height, for the planned widths, and
 * whether it expands: 2 when it holds main content (a child expanding
 * both ways), 1 when only something that grows tall. */
static void
row_heights (GArray *items, guint n_rows, int *min_heights, int *nat_heights,
             gboolean *expands)
{
  for (guint r = 0; r < n_rows; r++)
    min_heights[r] = nat_heights[r] = expands[r] = 0;
  for (guint i = 0; i < items->len; i++) {
    Item *item = &g_array_index (items, Item, i);
    int min = 0, nat = 0;
    gtk_widget_measure (item->widget, GTK_ORIENTATION_VERTICAL, item->width, &min, &nat, NULL,
                        NULL);
    min_heights[item->row] = MAX (min_heights[item->row], min);
    nat_heights[item->row] = MAX (nat_heights[item->row], nat);
    /* The main content expands both ways; a side panel that only grows
     * tall takes the row's height when beside it, but no spare height
     * of its own once it wraps onto a row alone. */
    if (gtk_widget_compute_expand (item->widget, GTK_ORIENTATION_VERTICAL))
      expands[item->row] |= gtk_widget_compute_expand (item->widget, GTK_ORIENTATION_HORIZONTAL)
                              ? 2
                              : 1;
  }
}

static void
lam_reflow_box_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                        int *minimum, int *natural, int *minimum_baseline,
                        int *natural_baseline)
{
  LamReflowBox *self = LAM_REFLOW_BOX (widget);
  g_autoptr (GArray) items = collect_items (self);
  *minimum = *natural = 0;
  if (items->len == 0)
    return;

  if (orientation == GTK_ORIENTATION_HORIZONTAL) {
    /* At the least one child a row; at best all side by side. */
    for (guint i = 0; i < items->len; i++) {
      Item *item = &g_array_index (items, Item, i);
      *minimum = MAX (*minimum, item->min_width);
      *natural += item->nat_width + (i > 0 ? self->spacing : 0);
    }
    return;
  }

  /* Without a width, the rows of the natural one. */
  int width = for_size;
  if (width < 0)
    for (guint i = 0; i < items->len; i++)
      width += g_array_index (items, Item, i).nat_width + self->spacing;
  guint n_rows = plan_rows (self, items, MAX (width, 0));
  g_autofree int *min_heights = g_new (int, n_rows);
  g_autofree int *nat_heights = g_new (int, n_rows);
  g_autofree gboolean *expands = g_new (gboolean, n_rows);
  row_heights (items, n_rows, min_heights, nat_heights, expands);
  for (guint r = 0; r < n_rows; r++) {
    *minimum += min_heights[r] + (r > 0 ? self->spacing : 0);
    *natural += nat_heights[r] + (r > 0 ? self->spacing : 0);
  }
  /* Wrapped rows are shown whole (a scrolled page around the box scrolls
   * them): a panel squeezed to its minimum beneath another would be a
   * sliver. Side by side, the row may shrink and the panels scroll
   * inside. */
  if (n_rows > 1)
    *minimum = *natural;
}

static void
lam_reflow_box_size_allocate (GtkWidget *widget, int width, int height, int baseline)
{
  LamReflowBox *self = LAM_REFLOW_BOX (widget);
  g_autoptr (GArray) items = collect_items (self);
  if (items->len == 0) {
    self->n_rows = 0;
    return;
  }
  guint n_rows = plan_rows (self, items, width);
  self->n_rows = n_rows;
  g_autofree int *min_heights = g_new (int, n_rows);
  g_autofree int *nat_heights = g_new (int, n_rows);
  g_autofree gboolean *expands = g_new (gboolean, n_rows);
  row_heights (items, n_rows, min_heights, nat_heights, expands);

  /* Natural heights when they fit, else minimum ones; what is left over
   * goes to the rows whose children expand. */
  int total_min = self->spacing * (int) (n_rows - 1), total_nat = total_min;
  gboolean main_content = FALSE;
  for (guint r = 0; r < n_rows; r++) {
    total_min += min_heights[r];
    total_nat += nat_heights[r];
    main_content |= expands[r] == 2;
  }
  guint n_expanding = 0;
  for (guint r = 0; r < n_rows; r++) {
    expands[r] = main_content ? expands[r] == 2 : expands[r] != 0;
    n_expanding += expands[r];
  }
  g_autofree int *heights = g_new (int, n_rows);
  gboolean natural = total_nat <= height;
  int spare = height - (natural ? total_nat : total_min);
  for (guint r = 0; r < n_rows; r++) {
    heights[r] = natural ? nat_heights[r] : min_heights[r];
    if (spare > 0 && expands[r]) {
      int share = spare / (int) n_expanding--;
      heights[r] += share;
      spare -= share;
    }
  }
  /* A single row fills the box. */
  if (n_rows == 1)
    heights[0] = MAX (heights[0], height);

  int y = 0, x = 0, row = 0;
  for (guint i = 0; i < items->len; i++) {
    Item *item = &g_array_index (items, Item, i);
    while (item->row != row) {
      y += heights[row] + self->spacing;
      row++;
      x = 0;
    }
    GtkAllocation allocation = { x, y, item->width, heights[row] };
    gtk_widget_size_allocate (item->widget, &allocation, -1);
    x += item->width + self->spacing;
  }
}

/* The box expands as its children do. */
static void
lam_reflow_box_compute_expand (GtkWidget *widget, gboolean *hexpand, gboolean *vexpand)
{
  *hexpand = *vexpand = FALSE;
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child)) {
    *hexpand |= gtk_widget_compute_expand (child, GTK_ORIENTATION_HORIZONTAL);
    *vexpand |= gtk_widget_compute_expand (child, GTK_ORIENTATION_VERTICAL);
  }
}

static GtkSizeRequestMode
lam_reflow_box_get_request_mode (GtkWidget *widget)
{
  return GTK_SIZE_REQUEST_HEIGHT_FOR_WIDTH;
}

static void
lam_reflow_box_dispose (GObject *object)
{
  GtkWidget *child;
  while ((child = gtk_widget_get_first_child (GTK_WIDGET (object))) != NULL)
    gtk_widget_unparent (child);
  G_OBJECT_CLASS (lam_reflow_box_parent_class)->dispose (object);
}

static void
lam_reflow_box_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamReflowBox *self = LAM_REFLOW_BOX (object);
  switch (prop_id) {
  case PROP_SPACING:
    g_value_set_int (value, self->spacing);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_reflow_box_set_property (GObject *object, guint prop_id, const GValue *value,
                             GParamSpec *pspec)
{
  LamReflowBox *self = LAM_REFLOW_BOX (object);
  switch (prop_id) {
  case PROP_SPACING:
    lam_reflow_box_set_spacing (self, g_value_get_int (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_reflow_box_buildable_add_child (GtkBuildable *buildable, GtkBuilder *builder,
                                    GObject *child, const char *type)
{
  if (GTK_IS_WIDGET (child))
    lam_reflow_box_append (LAM_REFLOW_BOX (buildable), GTK_WIDGET (child));
  else
    parent_buildable_iface->add_child (buildable, builder, child, type);
}

static void
lam_reflow_box_buildable_init (GtkBuildableIface *iface)
{
  parent_buildable_iface = g_type_interface_peek_parent (iface);
  iface->add_child = lam_reflow_box_buildable_add_child;
}

static void
lam_reflow_box_class_init (LamReflowBoxClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = lam_reflow_box_dispose;
  object_class->get_property = lam_reflow_box_get_property;
  object_class->set_property = lam_reflow_box_set_property;
  widget_class->measure = lam_reflow_box_measure;
  widget_class->size_allocate = lam_reflow_box_size_allocate;
  widget_class->get_request_mode = lam_reflow_box_get_request_mode;
  widget_class->compute_expand = lam_reflow_box_compute_expand;

  properties[PROP_SPACING] =
    g_param_spec_int ("spacing", NULL, NULL, 0, G_MAXINT, 0,
                      G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_css_name (widget_class, "reflowbox");
}

static void
lam_reflow_box_init (LamReflowBox *self)
{
}

GtkWidget *
lam_reflow_box_new (int spacing)
{
  return g_object_new (LAM_TYPE_REFLOW_BOX, "spacing", spacing, NULL);
}

void
lam_reflow_box_append (LamReflowBox *self, GtkWidget *child)
{
  g_return_if_fail (LAM_IS_REFLOW_BOX (self));
  g_return_if_fail (GTK_IS_WIDGET (child));
  gtk_widget_set_parent (child, GTK_WIDGET (self));
}

void
lam_reflow_box_set_spacing (LamReflowBox *self, int spacing)
{
  g_return_if_fail (LAM_IS_REFLOW_BOX (self));
  if (self->spacing == spacing)
    return;
  self->spacing = spacing;
  gtk_widget_queue_resize (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SPACING]);
}

guint
lam_reflow_box_get_n_rows (LamReflowBox *self)
{
  g_return_val_if_fail (LAM_IS_REFLOW_BOX (self), 0);
  return self->n_rows;
}
