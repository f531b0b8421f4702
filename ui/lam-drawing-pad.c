#include "lam-drawing-pad.h"
#include "lam-ui-util.h"

#include <math.h>
#include <string.h>

#include "lam-drawing.h"

#define RASTER LAM_DRAWING_PAD_RASTER_SIZE
#define INPUT LAM_DRAWING_PAD_INPUT_SIZE
#define MIN_SIDE 280
#define NATURAL_SIDE 360
#define CORNER_RADIUS 12
/* A marker on MNIST's scale: a digit as tall as the pad comes out with
 * strokes about two of its 28 pixels wide. */
#define STROKE_WIDTH (1.0 / 14)
/* Points closer than this to the previous one (pad units) add nothing. */
#define MIN_STEP 0.002
#define CHANGED_INTERVAL_US (G_USEC_PER_SEC / 30)

typedef enum
{
  SOURCE_NONE,
  SOURCE_DRAG, /* mouse, touch */
  SOURCE_STYLUS,
} StrokeSource;

typedef struct
{
  double x, y;  /* pad units, 0..1 */
  double width; /* pad units */
} PadPoint;

struct _LamDrawingPad
{
  GtkWidget parent_instance;

  GPtrArray *strokes; /* owned: GArray of PadPoint each */
  StrokeSource drawing; /* what grows the last stroke, if anything does */
  double drag_x, drag_y;

  cairo_surface_t *raster; /* owned, A8 RASTER×RASTER: ink in alpha */
  float *canvas;           /* owned, RASTER×RASTER, read from raster when stale */
  gboolean canvas_stale;
  float input[INPUT * INPUT];
  gboolean input_stale;
  gboolean has_input;

  char *hint; /* owned */
  LamDrawingFraming framing;
  char *dataset_name; /* owned: the last set_dataset's, NULL before one */

  guint changed_source;
  gint64 last_changed;
};

G_DEFINE_FINAL_TYPE (LamDrawingPad, lam_drawing_pad, GTK_TYPE_WIDGET)

G_DEFINE_ENUM_TYPE (LamDrawingFraming, lam_drawing_framing,
                    G_DEFINE_ENUM_VALUE (LAM_DRAWING_FRAMING_DIGIT, "digit"),
                    G_DEFINE_ENUM_VALUE (LAM_DRAWING_FRAMING_FILL, "fill"))

enum
{
  PROP_0,
  PROP_EMPTY,
  PROP_HINT,
  PROP_FRAMING,
  N_PROPS
};

enum
{
  CHANGED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The square the pad draws in, centred in the allocation. */
static void
pad_rect (LamDrawingPad *self, double *x, double *y, double *side)
{
  int width = gtk_widget_get_width (GTK_WIDGET (self));
  int height = gtk_widget_get_height (GTK_WIDGET (self));
  *side = MAX (MIN (width, height), 1);
  *x = floor ((width - *side) / 2);
  *y = floor ((height - *side) / 2);
}

/* One stroke as Cairo paths in a space where the pad is scale×scale: one
 * polyline when its width does not change (mouse, touch), else segment by
 * segment so that a pen's pressure shows. */
static void
stroke_path (cairo_t *cr, GArray *stroke, double scale)
{
  const PadPoint *p = (const PadPoint *) stroke->data;
  guint n = stroke->len;
  gboolean constant = TRUE;

  if (n == 0)
    return;
  for (guint i = 1; i < n && constant; i++)
    constant = p[i].width == p[0].width;

  if (constant || n == 1) {
    cairo_set_line_width (cr, p[0].width * scale);
    cairo_move_to (cr, p[0].x * scale, p[0].y * scale);
    for (guint i = (n == 1 ? 0 : 1); i < n; i++)
      cairo_line_to (cr, p[i].x * scale, p[i].y * scale);
    cairo_stroke (cr);
    return;
  }
  for (guint i = 1; i < n; i++) {
    cairo_set_line_width (cr, (p[i - 1].width + p[i].width) / 2 * scale);
    cairo_move_to (cr, p[i - 1].x * scale, p[i - 1].y * scale);
    cairo_line_to (cr, p[i].x * scale, p[i].y * scale);
    cairo_stroke (cr);
  }
}

static cairo_t *
raster_cairo (LamDrawingPad *self)
{
  cairo_t *cr = cairo_create (self->raster);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_source_rgba (cr, 0, 0, 0, 1);
  return cr;
}

static void
invalidate (LamDrawingPad *self)
{
  self->canvas_stale = TRUE;
  self->input_stale = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
}

static void
reraster (LamDrawingPad *self)
{
  cairo_t *cr = raster_cairo (self);
  cairo_save (cr);
  cairo_set_operator (cr, CAIRO_OPERATOR_CLEAR);
  cairo_paint (cr);
  cairo_restore (cr);
  for (guint i = 0; i < self->strokes->len; i++)
    stroke_path (cr, g_ptr_array_index (self->strokes, i), RASTER);
  cairo_destroy (cr);
  invalidate (self);
}

static void
update_actions (LamDrawingPad *self)
{
  gboolean empty = self->strokes->len == 0;
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "drawing-pad.undo", !empty);
  gtk_widget_action_set_enabled (GTK_WIDGET (self), "drawing-pad.clear", !empty);
}

static void
emit_changed (LamDrawingPad *self)
{
  g_clear_handle_id (&self->changed_source, g_source_remove);
  self->last_changed = g_get_monotonic_time ();
  g_signal_emit (self, signals[CHANGED], 0);
}

static gboolean
changed_timeout (gpointer data)
{
  LamDrawingPad *self = data;
  self->changed_source = 0;
  emit_changed (self);
  return G_SOURCE_REMOVE;
}

/* While drawing, listeners (a classifier running on every change) hear at
 * most about 30 changes a second; the last one is never lost. */
static void
queue_changed (LamDrawingPad *self)
{
  if (self->changed_source != 0)
    return;
  gint64 wait = self->last_changed + CHANGED_INTERVAL_US - g_get_monotonic_time ();
  if (wait <= 0)
    emit_changed (self);
  else
    self->changed_source = g_timeout_add ((guint) (wait / 1000) + 1, changed_timeout, self);
}

static void
set_n_strokes_changed (LamDrawingPad *self, gboolean was_empty)
{
  update_actions (self);
  if (was_empty != (self->strokes->len == 0))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EMPTY]);
}

static void
begin_stroke (LamDrawingPad *self, StrokeSource source, double x, double y, double width)
{
  gboolean was_empty = self->strokes->len == 0;
  GArray *stroke = g_array_new (FALSE, FALSE, sizeof (PadPoint));
  PadPoint point = { x, y, width };
  g_array_append_val (stroke, point);
  g_ptr_array_add (self->strokes, stroke);
  self->drawing = source;

  cairo_t *cr = raster_cairo (self);
  stroke_path (cr, stroke, RASTER);
  cairo_destroy (cr);
  invalidate (self);
  set_n_strokes_changed (self, was_empty);
}

static void
extend_stroke (LamDrawingPad *self, StrokeSource source, double x, double y, double width)
{
  if (self->drawing != source || self->strokes->len == 0)
    return;
  GArray *stroke = g_ptr_array_index (self->strokes, self->strokes->len - 1);
  PadPoint *last = &g_array_index (stroke, PadPoint, stroke->len - 1);
  if (hypot (x - last->x, y - last->y) < MIN_STEP)
    return;

  PadPoint segment[2] = { *last, { x, y, width } };
  g_array_append_val (stroke, segment[1]);

  g_autoptr (GArray) piece = g_array_new (FALSE, FALSE, sizeof (PadPoint));
  g_array_append_vals (piece, segment, 2);
  cairo_t *cr = raster_cairo (self);
  stroke_path (cr, piece, RASTER);
  cairo_destroy (cr);
  invalidate (self);
}

static void
end_stroke (LamDrawingPad *self, StrokeSource source)
{
  if (self->drawing != source)
    return;
  self->drawing = SOURCE_NONE;
  emit_changed (self);
}

static void
to_pad (LamDrawingPad *self, double wx, double wy, double *x, double *y)
{
  double ox, oy, side;
  pad_rect (self, &ox, &oy, &side);
  *x = (wx - ox) / side;
  *y = (wy - oy) / side;
}

/* Mouse and touch. */

static gboolean
tool_is_pen (GdkDeviceTool *tool)
{
  if (tool == NULL)
    return FALSE;
  switch (gdk_device_tool_get_tool_type (tool)) {
  case GDK_DEVICE_TOOL_TYPE_PEN:
  case GDK_DEVICE_TOOL_TYPE_BRUSH:
  case GDK_DEVICE_TOOL_TYPE_PENCIL:
  case GDK_DEVICE_TOOL_TYPE_AIRBRUSH:
    return TRUE;
  default:
    return FALSE;
  }
}

static gboolean
event_is_pen (GtkGesture *gesture)
{
  GdkEventSequence *sequence =
    gtk_gesture_single_get_current_sequence (GTK_GESTURE_SINGLE (gesture));
  GdkEvent *event = gtk_gesture_get_last_event (gesture, sequence);
  GdkDeviceTool *tool = event != NULL ? gdk_event_get_device_tool (event) : NULL;
  if (tool != NULL && gdk_device_tool_get_tool_type (tool) == GDK_DEVICE_TOOL_TYPE_ERASER)
    return TRUE;
  return tool_is_pen (tool);
}

static void
drag_begin (GtkGestureDrag *gesture, double x, double y, LamDrawingPad *self)
{
  /* The stylus gesture draws pens, with their pressure. */
  if (event_is_pen (GTK_GESTURE (gesture))) {
    gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_DENIED);
    return;
  }
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  self->drag_x = x;
  self->drag_y = y;
  double px, py;
  to_pad (self, x, y, &px, &py);
  begin_stroke (self, SOURCE_DRAG, px, py, STROKE_WIDTH);
  queue_changed (self);
}

static void
drag_update (GtkGestureDrag *gesture, double dx, double dy, LamDrawingPad *self)
{
  double px, py;
  to_pad (self, self->drag_x + dx, self->drag_y + dy, &px, &py);
  extend_stroke (self, SOURCE_DRAG, px, py, STROKE_WIDTH);
  queue_changed (self);
}

static void
drag_end (GtkGestureDrag *gesture, double dx, double dy, LamDrawingPad *self)
{
  end_stroke (self, SOURCE_DRAG);
}

static void
drag_cancel (GtkGesture *gesture, GdkEventSequence *sequence, LamDrawingPad *self)
{
  end_stroke (self, SOURCE_DRAG);
}

/* Pens: the width follows the pressure a little. */

static double
stylus_width (GtkGestureStylus *gesture)
{
  double pressure;
  if (!gtk_gesture_stylus_get_axis (gesture, GDK_AXIS_PRESSURE, &pressure))
    pressure = 0.5;
  return STROKE_WIDTH * (0.75 + 0.5 * CLAMP (pressure, 0, 1));
}

static void
stylus_down (GtkGestureStylus *gesture, double x, double y, LamDrawingPad *self)
{
  /* Mice that report a tool are the drag gesture's; an eraser draws nothing. */
  if (!tool_is_pen (gtk_gesture_stylus_get_device_tool (gesture)))
    return;
  gtk_gesture_set_state (GTK_GESTURE (gesture), GTK_EVENT_SEQUENCE_CLAIMED);
  gtk_widget_grab_focus (GTK_WIDGET (self));
  double px, py;
  to_pad (self, x, y, &px, &py);
  begin_stroke (self, SOURCE_STYLUS, px, py, stylus_width (gesture));
  queue_changed (self);
}

static void
stylus_motion (GtkGestureStylus *gesture, double x, double y, LamDrawingPad *self)
{
  double px, py;
  to_pad (self, x, y, &px, &py);
  extend_stroke (self, SOURCE_STYLUS, px, py, stylus_width (gesture));
  queue_changed (self);
}

static void
stylus_up (GtkGestureStylus *gesture, double x, double y, LamDrawingPad *self)
{
  end_stroke (self, SOURCE_STYLUS);
}

static void
action_undo (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  lam_drawing_pad_undo (LAM_DRAWING_PAD (widget));
}

static void
action_clear (GtkWidget *widget, const char *action_name, GVariant *parameter)
{
  lam_drawing_pad_clear (LAM_DRAWING_PAD (widget));
}

static void
draw_guide (cairo_t *cr, double side, LamDrawingFraming framing)
{
  /* Where MNIST's 20×20 box sits in its 28×28 field, and the centre;
   * filling the frame, the pad's edge is the frame. */
  double inset = side * 4 / 28;
  double arm = side / 28;
  cairo_set_source_rgba (cr, 1, 1, 1, 0.14);
  cairo_set_line_width (cr, 1.5);
  if (framing == LAM_DRAWING_FRAMING_DIGIT) {
    cairo_set_dash (cr, (double[]) { 6, 6 }, 2, 0);
    cairo_rectangle (cr, inset, inset, side - 2 * inset, side - 2 * inset);
    cairo_stroke (cr);
    cairo_set_dash (cr, NULL, 0, 0);
  }
  cairo_move_to (cr, side / 2 - arm, side / 2);
  cairo_line_to (cr, side / 2 + arm, side / 2);
  cairo_move_to (cr, side / 2, side / 2 - arm);
  cairo_line_to (cr, side / 2, side / 2 + arm);
  cairo_stroke (cr);
}

static void
draw_hint (LamDrawingPad *self, cairo_t *cr, double side)
{
  if (self->hint == NULL || *self->hint == '\0')
    return;
  g_autoptr (PangoLayout) layout = gtk_widget_create_pango_layout (GTK_WIDGET (self), self->hint);
  g_autoptr (PangoAttrList) attrs = pango_attr_list_new ();
  pango_attr_list_insert (attrs, pango_attr_size_new_absolute ((int) (side / 13 * PANGO_SCALE)));
  pango_layout_set_attributes (layout, attrs);
  int w, h;
  pango_layout_get_pixel_size (layout, &w, &h);
  cairo_set_source_rgba (cr, 1, 1, 1, 0.5);
  cairo_move_to (cr, (side - w) / 2, side * 0.62 - h / 2.0);
  pango_cairo_show_layout (cr, layout);
}

static void
lam_drawing_pad_snapshot (GtkWidget *widget, GtkSnapshot *snapshot)
{
  LamDrawingPad *self = LAM_DRAWING_PAD (widget);
  double ox, oy, side;
  pad_rect (self, &ox, &oy, &side);

  graphene_rect_t bounds = GRAPHENE_RECT_INIT (ox, oy, side, side);
  GskRoundedRect clip;
  gsk_rounded_rect_init_from_rect (&clip, &bounds, CORNER_RADIUS);
  gtk_snapshot_push_rounded_clip (snapshot, &clip);
  gtk_snapshot_append_color (snapshot, &(GdkRGBA) { 0, 0, 0, 1 }, &bounds);

  cairo_t *cr = gtk_snapshot_append_cairo (snapshot, &bounds);
  cairo_translate (cr, ox, oy);
  draw_guide (cr, side, self->framing);
  if (self->strokes->len == 0)
    draw_hint (self, cr, side);
  cairo_set_line_cap (cr, CAIRO_LINE_CAP_ROUND);
  cairo_set_line_join (cr, CAIRO_LINE_JOIN_ROUND);
  cairo_set_source_rgb (cr, 1, 1, 1);
  for (guint i = 0; i < self->strokes->len; i++)
    stroke_path (cr, g_ptr_array_index (self->strokes, i), side);
  cairo_destroy (cr);
  gtk_snapshot_pop (snapshot);

  GdkRGBA edge = { 0.5, 0.5, 0.5, 0.35 };
  if (gtk_widget_has_visible_focus (widget)) {
    GtkStyleContext *context = gtk_widget_get_style_context (widget);
    if (!gtk_style_context_lookup_color (context, "accent_color", &edge) &&
        !gtk_style_context_lookup_color (context, "theme_selected_bg_color", &edge))
      gdk_rgba_parse (&edge, "#3584e4");
  }
  float border = gtk_widget_has_visible_focus (widget) ? 2 : 1;
  gtk_snapshot_append_border (snapshot, &clip, (float[4]) { border, border, border, border },
                              (GdkRGBA[4]) { edge, edge, edge, edge });
}

static void
lam_drawing_pad_measure (GtkWidget *widget, GtkOrientation orientation, int for_size,
                         int *minimum, int *natural, int *minimum_baseline, int *natural_baseline)
{
  *minimum = MIN_SIDE;
  *natural = NATURAL_SIDE;
}

static void
lam_drawing_pad_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamDrawingPad *self = LAM_DRAWING_PAD (object);
  switch (prop_id) {
  case PROP_EMPTY:
    g_value_set_boolean (value, lam_drawing_pad_is_empty (self));
    break;
  case PROP_HINT:
    g_value_set_string (value, self->hint);
    break;
  case PROP_FRAMING:
    g_value_set_enum (value, self->framing);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_drawing_pad_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  LamDrawingPad *self = LAM_DRAWING_PAD (object);
  switch (prop_id) {
  case PROP_HINT:
    lam_drawing_pad_set_hint (self, g_value_get_string (value));
    break;
  case PROP_FRAMING:
    lam_drawing_pad_set_framing (self, g_value_get_enum (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_drawing_pad_dispose (GObject *object)
{
  LamDrawingPad *self = LAM_DRAWING_PAD (object);
  g_clear_handle_id (&self->changed_source, g_source_remove);
  G_OBJECT_CLASS (lam_drawing_pad_parent_class)->dispose (object);
}

static void
lam_drawing_pad_finalize (GObject *object)
{
  LamDrawingPad *self = LAM_DRAWING_PAD (object);
  g_clear_pointer (&self->strokes, g_ptr_array_unref);
  g_clear_pointer (&self->raster, cairo_surface_destroy);
  g_clear_pointer (&self->canvas, g_free);
  g_clear_pointer (&self->hint, g_free);
  g_clear_pointer (&self->dataset_name, g_free);
  G_OBJECT_CLASS (lam_drawing_pad_parent_class)->finalize (object);
}

static void
lam_drawing_pad_class_init (LamDrawingPadClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  object_class->get_property = lam_drawing_pad_get_property;
  object_class->set_property = lam_drawing_pad_set_property;
  object_class->dispose = lam_drawing_pad_dispose;
  object_class->finalize = lam_drawing_pad_finalize;

  widget_class->snapshot = lam_drawing_pad_snapshot;
  widget_class->measure = lam_drawing_pad_measure;

  properties[PROP_EMPTY] =
    g_param_spec_boolean ("empty", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_HINT] =
    g_param_spec_string ("hint", NULL, NULL, "Draw a digit",
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  properties[PROP_FRAMING] =
    g_param_spec_enum ("framing", NULL, NULL, LAM_TYPE_DRAWING_FRAMING, LAM_DRAWING_FRAMING_DIGIT,
                       G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                                   NULL, NULL, NULL, G_TYPE_NONE, 0);

  gtk_widget_class_install_action (widget_class, "drawing-pad.undo", NULL, action_undo);
  gtk_widget_class_install_action (widget_class, "drawing-pad.clear", NULL, action_clear);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_z, GDK_CONTROL_MASK,
                                       "drawing-pad.undo", NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_BackSpace, 0, "drawing-pad.undo",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_Delete, 0, "drawing-pad.clear",
                                       NULL);
  gtk_widget_class_add_binding_action (widget_class, GDK_KEY_KP_Delete, 0, "drawing-pad.clear",
                                       NULL);

  gtk_widget_class_set_css_name (widget_class, "drawing-pad");
  gtk_widget_class_set_accessible_role (widget_class, GTK_ACCESSIBLE_ROLE_IMG);
}

static void
lam_drawing_pad_init (LamDrawingPad *self)
{
  GtkWidget *widget = GTK_WIDGET (self);

  self->strokes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_array_unref);
  self->raster = cairo_image_surface_create (CAIRO_FORMAT_A8, RASTER, RASTER);
  self->canvas = g_new0 (float, RASTER * RASTER);
  self->canvas_stale = FALSE;
  self->input_stale = TRUE;
  self->hint = g_strdup ("Draw a digit");

  gtk_widget_set_focusable (widget, TRUE);
  gtk_widget_set_cursor_from_name (widget, "crosshair");

  GtkGesture *drag = gtk_gesture_drag_new ();
  gtk_gesture_single_set_button (GTK_GESTURE_SINGLE (drag), GDK_BUTTON_PRIMARY);
  g_signal_connect (drag, "drag-begin", G_CALLBACK (drag_begin), self);
  g_signal_connect (drag, "drag-update", G_CALLBACK (drag_update), self);
  g_signal_connect (drag, "drag-end", G_CALLBACK (drag_end), self);
  g_signal_connect (drag, "cancel", G_CALLBACK (drag_cancel), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (drag));

  GtkGesture *stylus = gtk_gesture_stylus_new ();
  g_signal_connect (stylus, "down", G_CALLBACK (stylus_down), self);
  g_signal_connect (stylus, "motion", G_CALLBACK (stylus_motion), self);
  g_signal_connect (stylus, "up", G_CALLBACK (stylus_up), self);
  gtk_widget_add_controller (widget, GTK_EVENT_CONTROLLER (stylus));

  lam_ui_set_accessible_label (GTK_WIDGET (self), "Drawing pad");
  update_actions (self);
}

GtkWidget *
lam_drawing_pad_new (void)
{
  return g_object_new (LAM_TYPE_DRAWING_PAD, NULL);
}

void
lam_drawing_pad_clear (LamDrawingPad *self)
{
  g_return_if_fail (LAM_IS_DRAWING_PAD (self));
  gboolean was_empty = self->strokes->len == 0;
  self->drawing = SOURCE_NONE;
  g_ptr_array_set_size (self->strokes, 0);
  reraster (self);
  set_n_strokes_changed (self, was_empty);
  emit_changed (self);
}

void
lam_drawing_pad_undo (LamDrawingPad *self)
{
  g_return_if_fail (LAM_IS_DRAWING_PAD (self));
  if (self->strokes->len == 0)
    return;
  self->drawing = SOURCE_NONE;
  g_ptr_array_remove_index (self->strokes, self->strokes->len - 1);
  reraster (self);
  set_n_strokes_changed (self, FALSE);
  emit_changed (self);
}

gboolean
lam_drawing_pad_is_empty (LamDrawingPad *self)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (self), TRUE);
  return self->strokes->len == 0;
}

guint
lam_drawing_pad_get_n_strokes (LamDrawingPad *self)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (self), 0);
  return self->strokes->len;
}

const float *
lam_drawing_pad_get_canvas (LamDrawingPad *self)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (self), NULL);
  if (self->canvas_stale) {
    cairo_surface_flush (self->raster);
    const guint8 *data = cairo_image_surface_get_data (self->raster);
    int stride = cairo_image_surface_get_stride (self->raster);
    for (int y = 0; y < RASTER; y++)
      for (int x = 0; x < RASTER; x++)
        self->canvas[y * RASTER + x] = data[(gsize) y * stride + x] / 255.0f;
    self->canvas_stale = FALSE;
  }
  return self->canvas;
}

gboolean
lam_drawing_pad_get_input (LamDrawingPad *self, float *out)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (self), FALSE);
  g_return_val_if_fail (out != NULL, FALSE);
  if (self->input_stale) {
    if (self->strokes->len == 0) {
      memset (self->input, 0, sizeof self->input);
      self->has_input = FALSE;
    } else {
      self->has_input = lam_drawing_frame (lam_drawing_pad_get_canvas (self), RASTER, RASTER,
                                           self->framing, INPUT, self->input);
    }
    self->input_stale = FALSE;
  }
  memcpy (out, self->input, sizeof self->input);
  return self->has_input;
}

void
lam_drawing_pad_add_stroke (LamDrawingPad *self, const double *xy, guint n_points)
{
  g_return_if_fail (LAM_IS_DRAWING_PAD (self));
  g_return_if_fail (xy != NULL || n_points == 0);
  if (n_points == 0)
    return;
  /* Whatever the pointer was drawing ends here. */
  self->drawing = SOURCE_NONE;
  begin_stroke (self, SOURCE_NONE, xy[0], xy[1], STROKE_WIDTH);
  for (guint i = 1; i < n_points; i++)
    extend_stroke (self, SOURCE_NONE, xy[2 * i], xy[2 * i + 1], STROKE_WIDTH);
  emit_changed (self);
}

void
lam_drawing_pad_set_hint (LamDrawingPad *self, const char *hint)
{
  g_return_if_fail (LAM_IS_DRAWING_PAD (self));
  if (g_strcmp0 (self->hint, hint) == 0)
    return;
  g_free (self->hint);
  self->hint = g_strdup (hint);
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_HINT]);
}

const char *
lam_drawing_pad_get_hint (LamDrawingPad *self)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (self), NULL);
  return self->hint;
}

void
lam_drawing_pad_set_framing (LamDrawingPad *self, LamDrawingFraming framing)
{
  g_return_if_fail (LAM_IS_DRAWING_PAD (self));
  g_return_if_fail (framing == LAM_DRAWING_FRAMING_DIGIT || framing == LAM_DRAWING_FRAMING_FILL);
  if (self->framing == framing)
    return;
  self->framing = framing;
  self->input_stale = TRUE;
  gtk_widget_queue_draw (GTK_WIDGET (self));
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMING]);
  /* The strokes are the same, the input is not: a listener classifies it
   * again. */
  emit_changed (self);
}

LamDrawingFraming
lam_drawing_pad_get_framing (LamDrawingPad *self)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (self), LAM_DRAWING_FRAMING_DIGIT);
  return self->framing;
}

void
lam_drawing_pad_set_dataset (LamDrawingPad *self, const char *name,
                             const char *const *class_names)
{
  g_return_if_fail (LAM_IS_DRAWING_PAD (self));
  if (self->dataset_name != NULL && g_strcmp0 (self->dataset_name, name) == 0)
    return;
  g_free (self->dataset_name);
  self->dataset_name = g_strdup (name != NULL ? name : "");
  lam_drawing_pad_set_framing (self, lam_drawing_framing_for_dataset (name, class_names));
}

/* The preview: a plain drawing area, so that it needs no class of its own. */

static void
draw_preview (GtkDrawingArea *area, cairo_t *cr, int width, int height, gpointer data)
{
  g_autoptr (LamDrawingPad) pad = g_weak_ref_get (data);
  float input[INPUT * INPUT] = { 0 };
  double side = floor (MIN (width, height) / (double) INPUT) * INPUT;
  if (side < INPUT)
    side = MIN (width, height);
  double ox = floor ((width - side) / 2), oy = floor ((height - side) / 2);

  if (pad != NULL)
    lam_drawing_pad_get_input (pad, input);

  cairo_surface_t *image = cairo_image_surface_create (CAIRO_FORMAT_RGB24, INPUT, INPUT);
  guint8 *data_out = cairo_image_surface_get_data (image);
  int stride = cairo_image_surface_get_stride (image);
  for (int y = 0; y < INPUT; y++) {
    guint32 *row = (guint32 *) (data_out + (gsize) y * stride);
    for (int x = 0; x < INPUT; x++) {
      guint32 v = (guint32) lround (CLAMP (input[y * INPUT + x], 0, 1) * 255);
      row[x] = 0xff000000u | v << 16 | v << 8 | v;
    }
  }
  cairo_surface_mark_dirty (image);

  cairo_save (cr);
  cairo_translate (cr, ox, oy);
  cairo_scale (cr, side / INPUT, side / INPUT);
  cairo_set_source_surface (cr, image, 0, 0);
  cairo_pattern_set_filter (cairo_get_source (cr), CAIRO_FILTER_NEAREST);
  cairo_rectangle (cr, 0, 0, INPUT, INPUT);
  cairo_fill (cr);
  cairo_restore (cr);
  cairo_surface_destroy (image);

  /* A faint pixel grid, when the pixels are big enough to carry it, says
   * "this is all the network sees". */
  double cell = side / INPUT;
  if (cell >= 6) {
    cairo_set_source_rgba (cr, 0.5, 0.5, 0.5, 0.18);
    cairo_set_line_width (cr, 1);
    for (int i = 1; i < INPUT; i++) {
      double p = floor (i * cell) + 0.5;
      cairo_move_to (cr, ox + p, oy);
      cairo_line_to (cr, ox + p, oy + side);
      cairo_move_to (cr, ox, oy + p);
      cairo_line_to (cr, ox + side, oy + p);
    }
    cairo_stroke (cr);
  }
  cairo_set_source_rgba (cr, 0.5, 0.5, 0.5, 0.45);
  cairo_rectangle (cr, ox + 0.5, oy + 0.5, side - 1, side - 1);
  cairo_stroke (cr);
}

static void
free_weak_ref (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static gboolean
framing_to_selected (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  g_value_set_uint (to, (guint) g_value_get_enum (from));
  return TRUE;
}

static gboolean
selected_to_framing (GBinding *binding, const GValue *from, GValue *to, gpointer data)
{
  guint selected = g_value_get_uint (from);
  if (selected > LAM_DRAWING_FRAMING_FILL)
    return FALSE;
  g_value_set_enum (to, (int) selected);
  return TRUE;
}

/* The choice of framing, in the order of LamDrawingFraming. */
static GtkWidget *
framing_chooser_new (LamDrawingPad *pad)
{
  static const char *const names[] = { "Digit style", "Fill the frame", NULL };
  GtkWidget *dropdown = gtk_drop_down_new_from_strings (names);
  gtk_widget_set_tooltip_text (dropdown,
                               "How your drawing is fitted into the 28 × 28 image.\n"
                               "Digit style: shrunk into the middle 20 × 20 and centred by its "
                               "weight, as MNIST's handwritten digits are.\n"
                               "Fill the frame: scaled to fill the whole image, as "
                               "Fashion-MNIST's pictures are.");
  lam_ui_set_accessible_label (dropdown, "Framing of the drawing");
  g_object_bind_property_full (pad, "framing", dropdown, "selected",
                               G_BINDING_BIDIRECTIONAL | G_BINDING_SYNC_CREATE,
                               framing_to_selected, selected_to_framing, NULL, NULL);
  return dropdown;
}

GtkWidget *
lam_drawing_pad_new_preview (LamDrawingPad *pad)
{
  g_return_val_if_fail (LAM_IS_DRAWING_PAD (pad), NULL);

  GtkWidget *area = gtk_drawing_area_new ();
  gtk_drawing_area_set_content_width (GTK_DRAWING_AREA (area), 4 * INPUT);
  gtk_drawing_area_set_content_height (GTK_DRAWING_AREA (area), 4 * INPUT);
  GWeakRef *ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, pad);
  gtk_drawing_area_set_draw_func (GTK_DRAWING_AREA (area), draw_preview, ref, free_weak_ref);
  g_signal_connect_object (pad, "changed", G_CALLBACK (gtk_widget_queue_draw), area,
                           G_CONNECT_SWAPPED);
  gtk_widget_add_css_class (area, "drawing-pad-preview");
  gtk_widget_set_vexpand (area, TRUE);
  lam_ui_set_accessible_label (area, "The 28×28 image the network receives");

  /* The framing decides what the preview shows, so it is chosen under it. */
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  /* The image takes the height the box is given; the box does not ask for
   * more than its parent offers. */
  gtk_widget_set_vexpand (box, FALSE);
  gtk_box_append (GTK_BOX (box), area);
  gtk_box_append (GTK_BOX (box), framing_chooser_new (pad));
  return box;
}
