#include "lam-help.h"
#include "lam-ui-util.h"

#include <glib/gi18n.h>

#include "lamina-config.h"

/* Each text says what the app does, in its own numbers: when the app
 * changes how it computes something, the text here changes with it. */
typedef struct
{
  const char *topic;
  const char *title;
  const char *text;
} HelpEntry;

static const HelpEntry entries[] = {
  { "loss", N_ ("Loss"),
    N_ ("How wrong the network is, as one number. For every image the network gives each class "
        "a probability; the loss is −log of the probability it gave the right class "
        "(cross-entropy, also after LogSoftmax with NLL). Certain and right gives 0; confident "
        "and wrong gives a large number. With MSE it is the average squared difference between "
        "the outputs and the right answers.\n\nThe line is the average over the batches trained "
        "since the last point, smoothed by the slider; the dots are the loss on the validation "
        "images after each epoch. Training lowers the line.") },
  { "accuracy", N_ ("Accuracy"),
    N_ ("The share of images whose highest-scoring class is the right one: 90% means 9 images "
        "in 10 are classified right.\n\nThe line is measured on the batches as they are trained, "
        "the dots on the validation images after each epoch. The Evaluate page measures it on "
        "the test images.") },
  { "r2", N_ ("R²"),
    N_ ("How much of the targets' spread the predictions explain: 1 − (sum of squared errors) / "
        "(sum of squared distances from the targets' mean). 1 is a perfect fit, 0 is no better "
        "than always guessing the mean, and below 0 is worse than that.\n\nThe line is "
        "measured on the training rows and the dots on the validation rows, both after each "
        "epoch; with several targets it is the average of their R². The Evaluate page measures "
        "it on the test rows.") },
  { "epoch", N_ ("Epoch"),
    N_ ("One pass over all the training images, in a new shuffled order each time. After every "
        "epoch the network is scored on the validation images and the table gets a row.") },
  { "batch", N_ ("Batch size"),
    N_ ("The network learns from a few images at a time: a batch. For each batch it computes "
        "the loss, works out which way each weight should move to lower it (the gradient), and "
        "takes one step. Bigger batches give smoother steps but fewer of them per epoch.") },
  { "optimizer", N_ ("Optimizer"),
    N_ ("The rule that turns gradients into changes of the weights. SGD moves every weight by "
        "learning rate × gradient. Adam adapts each weight's step from the averages of its "
        "recent gradients and their squares, and is a good first choice. AdamW is Adam with "
        "weight decay taken straight off the weights.") },
  { "learning-rate", N_ ("Learning rate"),
    N_ ("How big a step the weights take after every batch. Too small and the network learns "
        "slowly; too big and the loss jumps around or grows (Lamina stops a run whose loss "
        "explodes and keeps the last good weights). You may change it while training: the "
        "change is marked on the charts.") },
  { "momentum", N_ ("Momentum"),
    N_ ("For SGD: each step adds the new gradient to a share of the previous step, like a ball "
        "that keeps rolling downhill. 0.9 keeps 90% of the last step; 0 is plain SGD.") },
  { "validation", N_ ("Validation"),
    N_ ("A share of the training images set aside and never learned from. After every epoch the "
        "network is scored on them: if it does well on images it has not seen, it has learned "
        "something general rather than memorised its training images.") },
  { "overfitting", N_ ("Overfitting"),
    N_ ("When the training loss keeps falling but the validation loss stops falling or rises, "
        "the network is memorising its training images instead of learning what holds for new "
        "ones. More images, augmentation, weight decay, a smaller model or fewer epochs "
        "help.") },
  { "seed", N_ ("Seed"),
    N_ ("The starting number for everything random: the first weights, which images go to "
        "validation, the order of the batches and the augmentation. The same seed and settings "
        "give exactly the same run again.") },
  { "device", N_ ("Device"),
    N_ ("Where the arithmetic runs: the computer's processor (CPU), or an NVIDIA graphics card "
        "(GPU) when there is one. Both give the same numbers up to rounding; the GPU is faster "
        "for larger models.") },
  { "weight-decay", N_ ("Weight decay and L1 penalty"),
    N_ ("Both pull every weight toward 0 at each step, so the network does not lean on a few "
        "huge weights; they often reduce overfitting. Weight decay (an L2 penalty) pulls in "
        "proportion to the weight, so big weights shrink fast and small ones barely move. The "
        "L1 penalty adds its number times the sum of all the weights' sizes to the loss: it "
        "pulls every weight by the same amount, so weights the data does not need end at "
        "exactly 0. The loss on the charts leaves the penalty out. 0 turns either off.") },
  { "schedule", N_ ("Learning-rate schedule"),
    N_ ("How the learning rate changes from epoch to epoch. Constant keeps it. Step multiplies "
        "it by gamma every few epochs. Cosine lowers it along a cosine curve to the minimum by "
        "the last epoch. Big steps early, small steps to settle at the end.") },
  { "normalization", N_ ("Normalisation"),
    N_ ("Pixels come as 0 to 255. The network gets each pixel p as (p / 255 − mean) / std, so "
        "the average pixel becomes 0 and the usual spread 1; inputs around 0 make training "
        "faster and steadier. By default the mean and std are measured on the training "
        "images.") },
  { "augmentation", N_ ("Augmentation"),
    N_ ("Small random changes to the training images, new every epoch: shifted by up to a few "
        "pixels (a crop of the original size from the image with a border added) and mirrored "
        "left to right half of the time. The network sees more variety, which usually helps on "
        "new images. Validation and test images are never changed.") },
  { "table-normalization", N_ ("Normalisation"),
    N_ ("A table's columns come in their own units and scales. The network gets each input x as "
        "(x − mean) / std, with the mean and std of its column measured on the rows kept for "
        "training, so every column is centred on 0 with a spread of 1. A regression's targets "
        "are scaled the same way, and its predictions are turned back into the targets' units. "
        "The pixel settings here apply to images only.") },
  { "table-augmentation", N_ ("Augmentation"),
    N_ ("Augmentation makes small random changes to training images: shifted a few pixels, or "
        "mirrored. A table's rows are numbers that each mean something, and shifting or "
        "mirroring them would change what they say: rows are never augmented, and these "
        "settings apply to images only.") },
  { "pace", N_ ("Speed"),
    N_ ("Slows training down so a class can watch the curves form and see each batch. It "
        "changes nothing in the numbers: a slow run ends exactly where a fast one does.") },
  { "test-accuracy", N_ ("Test accuracy"),
    N_ ("The share of the test images the network classifies right. The test images were kept "
        "apart: never trained on, never used to choose settings. That makes this the fairest "
        "guess of how the network does on images it has never seen.") },
  { "table-test-accuracy", N_ ("Test accuracy"),
    N_ ("The share of the test rows the network classifies right. The test rows were kept "
        "apart: never trained on, never used to choose settings. That makes this the fairest "
        "guess of how the network does on rows it has never seen.") },
  { "class-accuracy", N_ ("Accuracy per class"),
    N_ ("For each class, the share of its test images the network gets right. A class far "
        "below the others is one the network confuses with something else: the confusion "
        "matrix shows with what.") },
  { "table-class-accuracy", N_ ("Accuracy per class"),
    N_ ("For each class, the share of its test rows the network gets right. A class far below "
        "the others is one the network confuses with something else: the confusion matrix "
        "shows with what.") },
  { "confusion-matrix", N_ ("Confusion matrix"),
    N_ ("Rows are the true classes, columns the classes the network predicted. The diagonal "
        "(green) counts the right answers; every other cell counts one kind of mistake: row "
        "Shirt, column T-shirt/top counts shirts taken for T-shirts. Click a cell to see those "
        "images.") },
  { "table-confusion-matrix", N_ ("Confusion matrix"),
    N_ ("The matrix's rows are the true classes, its columns the classes the network "
        "predicted. The diagonal (green) counts the right answers; every other cell counts one "
        "kind of mistake: the cell in row A, column B counts test rows of class A taken for "
        "class B. Click a cell to see those rows of the table.") },
  { "gallery", N_ ("Predictions"),
    N_ ("Test images with what the network said. A red frame marks a mistake. “Most confident "
        "first” puts first the mistakes the network was surest about, which are often the "
        "most telling.") },
  { "table-gallery", N_ ("Predictions"),
    N_ ("Test rows with what the network said: each box lists the row's first values, then "
        "the class it predicted and how sure it was. A mistake is marked in red, with the true "
        "class under it. “Most confident first” puts first the mistakes the network was surest "
        "about, which are often the most telling.") },
  { "probability", N_ ("Probabilities"),
    N_ ("The last layer gives one score per class; softmax turns the scores into probabilities "
        "that are all positive and add up to 100%. The prediction is the class with the highest "
        "probability. A high probability is no guarantee: a network can be confidently "
        "wrong.") },
  { "activation", N_ ("Inside the network"),
    N_ ("What each layer gives out for this image, every value coloured from low to high on "
        "the layer's own scale. Early layers respond to simple patterns such as edges, later "
        "ones to combinations of them; after ReLU every negative value is 0.") },
  { "table-activation", N_ ("Inside the network"),
    N_ ("What each layer gives out for this row, every value coloured from low to high on the "
        "layer's own scale. Each layer mixes the columns into new numbers; after ReLU every "
        "negative value is 0.") },
  { "weights", N_ ("What it learned"),
    N_ ("The weights of a layer drawn as pictures: for a Linear layer after the input, how much "
        "each pixel pushes one unit up (light) or down (dark); for Conv2d, its filters. They "
        "start as random noise and take shape as the network trains.") },
  { "table-weights", N_ ("What it learned"),
    N_ ("The weights of a layer: for a Linear layer after the input, how much each column "
        "pushes one unit up (positive) or down (negative). They start as random numbers and "
        "take shape as the network trains.") },
  { "draw", N_ ("Draw"),
    N_ ("Draw something: it is shrunk to the size of the dataset's images and framed like "
        "them, and the network classifies it as you draw, with the same weights the Evaluate "
        "page shows.") },
  { "table-draw", N_ ("Draw"),
    N_ ("The pad is for datasets of drawings such as handwritten digits: what you draw is "
        "shrunk to their size and classified as you draw. A model of a table's rows reads "
        "numbers, so there is nothing here for it to classify.") },
  { "time-machine", N_ ("Going back in epochs"),
    N_ ("Lamina keeps the network's weights as they were after every epoch. Slide back to an "
        "epoch and every panel of this page shows that epoch: the accuracy, the matrix, the "
        "gallery, the probabilities and the explanations. The ✓ and ✗ marks show where the "
        "selected image became right or wrong. Large networks keep fewer epochs, to save "
        "memory.") },
  { "table-time-machine", N_ ("Going back in epochs"),
    N_ ("Lamina keeps the network's weights as they were after every epoch. Slide back to an "
        "epoch and every panel of this page shows that epoch: the accuracy, the matrix, the "
        "predictions and the explanations. The ✓ and ✗ marks show where the selected row "
        "became right or wrong. Large networks keep fewer epochs, to save memory.") },
  { "saliency", N_ ("Why it said that"),
    N_ ("A heat map over the image: the brighter a pixel, the more a small change there would "
        "change the score of the class shown. Saliency measures this pixel by pixel. Grad-CAM "
        "looks at the last convolution instead and shows which regions its filters found "
        "important. Neither proves why the network decided; both show where it looked.") },
  { "table-saliency", N_ ("Why it said that"),
    N_ ("One bar per column of the row: the longer it is, the more a small change in that "
        "column would change the score of the class shown. A bar right of the centre line "
        "(orange) pushes towards the class, one left of it (blue) away. Gradient measures "
        "just that; "
        "Gradient × input multiplies it by the column's value, so a column near its average "
        "counts little. Neither proves why the network decided; both show which columns it "
        "leaned on.") },
  { "nearest", N_ ("Looks like these"),
    N_ ("The training images the network finds most alike, judged by what the layer before "
        "the last one makes of them. If they share the image's class, the network has learned "
        "what that class looks like; if not, they show what it confuses the image with.") },
  { "table-nearest", N_ ("Looks like these"),
    N_ ("The training rows nearest to this one, judged by what the layer before the last one "
        "makes of them, nearest first; the distance is 0 for a row just the same. If they "
        "share the row's class, the network has learned what that class is like; if not, they "
        "show what it confuses the row with.") },
  { "feature-map", N_ ("Map of what it learned"),
    N_ ("Each dot is a test image, placed by what the layer before the last one makes of it, "
        "flattened to two directions (the two along which the dots spread most). Colours are "
        "the true classes. Classes the network tells apart form separate clouds; clouds that "
        "overlap are the classes it confuses. Draw a loop around dots to see those images.") },
  { "table-feature-map", N_ ("Map of what it learned"),
    N_ ("Each dot is a test row, placed by what the layer before the last one makes of it, "
        "flattened to two directions (the two along which the dots spread most). Colours are "
        "the true classes. Classes the network tells apart form separate clouds; clouds that "
        "overlap are the classes it confuses. Draw a loop around dots to see those rows.") },
  { "lr-finder", N_ ("Finding a learning rate"),
    N_ ("Tries a copy of the network for a hundred small steps, raising the learning rate a "
        "little at each, and plots the loss. Too small a rate barely moves the loss; too large "
        "a rate makes it explode. The suggestion is where the loss falls fastest. The network "
        "itself is not touched.") },
};

const char *const *
lam_help_get_topics (void)
{
  static const char *topics[G_N_ELEMENTS (entries) + 1];
  if (topics[0] == NULL)
    for (guint i = 0; i < G_N_ELEMENTS (entries); i++)
      topics[i] = entries[i].topic;
  return topics;
}

static const HelpEntry *
find_entry (const char *topic)
{
  for (guint i = 0; topic != NULL && i < G_N_ELEMENTS (entries); i++)
    if (g_str_equal (entries[i].topic, topic))
      return &entries[i];
  return NULL;
}

const char *
lam_help_get_title (const char *topic)
{
  const HelpEntry *entry = find_entry (topic);
  return entry != NULL ? _(entry->title) : NULL;
}

const char *
lam_help_get_text (const char *topic)
{
  const HelpEntry *entry = find_entry (topic);
  return entry != NULL ? _(entry->text) : NULL;
}

static void
speak_of (GtkWidget *widget, gboolean rows)
{
  if (LAM_IS_HELP_BUTTON (widget)) {
    const char *topic = lam_help_button_get_topic (LAM_HELP_BUTTON (widget));
    const char *base = topic != NULL && g_str_has_prefix (topic, "table-") ? topic + 6 : topic;
    g_autofree char *table = base != NULL ? g_strconcat ("table-", base, NULL) : NULL;
    if (find_entry (table) != NULL)
      lam_help_button_set_topic (LAM_HELP_BUTTON (widget), rows ? table : base);
  }
  for (GtkWidget *child = gtk_widget_get_first_child (widget); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    speak_of (child, rows);
}

/* A page's .ui names the image topics; walking it keeps the templates as
 * they are, and a "?" added later switches without a line of its own. */
void
lam_help_speak_of_rows (GtkWidget *root, gboolean rows)
{
  g_return_if_fail (GTK_IS_WIDGET (root));
  speak_of (root, rows);
}

void
lam_help_init_translations (void)
{
  bindtextdomain (GETTEXT_PACKAGE, LAMINA_LOCALE_DIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
}

/* The button */

struct _LamHelpButton
{
  GtkWidget parent_instance;
  GtkWidget *button; /* a GtkMenuButton */
  GtkWidget *title_label;
  GtkWidget *text_label;
  char *topic;
};

G_DEFINE_FINAL_TYPE (LamHelpButton, lam_help_button, GTK_TYPE_WIDGET)

enum
{
  PROP_0,
  PROP_TOPIC,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
lam_help_button_dispose (GObject *object)
{
  LamHelpButton *self = LAM_HELP_BUTTON (object);
  g_clear_pointer (&self->button, gtk_widget_unparent);
  G_OBJECT_CLASS (lam_help_button_parent_class)->dispose (object);
}

static void
lam_help_button_finalize (GObject *object)
{
  LamHelpButton *self = LAM_HELP_BUTTON (object);
  g_free (self->topic);
  G_OBJECT_CLASS (lam_help_button_parent_class)->finalize (object);
}

static void
lam_help_button_get_property (GObject *object, guint prop_id, GValue *value, GParamSpec *pspec)
{
  LamHelpButton *self = LAM_HELP_BUTTON (object);
  switch (prop_id) {
  case PROP_TOPIC:
    g_value_set_string (value, self->topic);
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_help_button_set_property (GObject *object, guint prop_id, const GValue *value,
                              GParamSpec *pspec)
{
  LamHelpButton *self = LAM_HELP_BUTTON (object);
  switch (prop_id) {
  case PROP_TOPIC:
    lam_help_button_set_topic (self, g_value_get_string (value));
    break;
  default:
    G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
}

static void
lam_help_button_class_init (LamHelpButtonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);
  object_class->dispose = lam_help_button_dispose;
  object_class->finalize = lam_help_button_finalize;
  object_class->get_property = lam_help_button_get_property;
  object_class->set_property = lam_help_button_set_property;

  properties[PROP_TOPIC] =
    g_param_spec_string ("topic", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS | G_PARAM_EXPLICIT_NOTIFY);
  g_object_class_install_properties (object_class, N_PROPS, properties);
  gtk_widget_class_set_layout_manager_type (widget_class, GTK_TYPE_BIN_LAYOUT);
  gtk_widget_class_set_css_name (widget_class, "helpbutton");
}

static void
lam_help_button_init (LamHelpButton *self)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 6);
  gtk_widget_set_margin_start (box, 6);
  gtk_widget_set_margin_end (box, 6);
  gtk_widget_set_margin_top (box, 6);
  gtk_widget_set_margin_bottom (box, 6);
  self->title_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->title_label), 0);
  gtk_widget_add_css_class (self->title_label, "heading");
  gtk_box_append (GTK_BOX (box), self->title_label);
  self->text_label = gtk_label_new (NULL);
  gtk_label_set_xalign (GTK_LABEL (self->text_label), 0);
  gtk_label_set_wrap (GTK_LABEL (self->text_label), TRUE);
  gtk_label_set_max_width_chars (GTK_LABEL (self->text_label), 44);
  gtk_label_set_width_chars (GTK_LABEL (self->text_label), 30);
  gtk_box_append (GTK_BOX (box), self->text_label);
  GtkWidget *popover = gtk_popover_new ();
  gtk_popover_set_child (GTK_POPOVER (popover), box);

  self->button = gtk_menu_button_new ();
  /* A child of its own rather than a label: no dropdown arrow beside it. */
  GtkWidget *mark = gtk_label_new ("?");
  gtk_widget_add_css_class (mark, "heading");
  gtk_menu_button_set_child (GTK_MENU_BUTTON (self->button), mark);
  gtk_menu_button_set_popover (GTK_MENU_BUTTON (self->button), popover);
  gtk_widget_add_css_class (self->button, "circular");
  gtk_widget_add_css_class (self->button, "flat");
  gtk_widget_add_css_class (self->button, "lam-help");
  gtk_widget_set_valign (GTK_WIDGET (self), GTK_ALIGN_CENTER);
  gtk_widget_set_halign (GTK_WIDGET (self), GTK_ALIGN_START);
  gtk_widget_set_parent (self->button, GTK_WIDGET (self));
}

GtkWidget *
lam_help_button_new (const char *topic)
{
  return g_object_new (LAM_TYPE_HELP_BUTTON, "topic", topic, NULL);
}

const char *
lam_help_button_get_topic (LamHelpButton *self)
{
  g_return_val_if_fail (LAM_IS_HELP_BUTTON (self), NULL);
  return self->topic;
}

void
lam_help_button_set_topic (LamHelpButton *self, const char *topic)
{
  g_return_if_fail (LAM_IS_HELP_BUTTON (self));
  if (g_strcmp0 (self->topic, topic) == 0)
    return;
  if (topic != NULL && find_entry (topic) == NULL)
    g_critical ("no help on \"%s\"", topic);
  /* topic may point into the name it replaces ("table-gallery" → "gallery"). */
  char *old = self->topic;
  self->topic = g_strdup (topic);
  topic = self->topic;
  g_free (old);
  const char *title = lam_help_get_title (topic);
  gtk_label_set_text (GTK_LABEL (self->title_label), title != NULL ? title : "");
  const char *text = lam_help_get_text (topic);
  gtk_label_set_text (GTK_LABEL (self->text_label), text != NULL ? text : "");
  g_autofree char *tooltip = title != NULL ? g_strdup_printf (_("What is “%s”?"), title) : NULL;
  gtk_widget_set_tooltip_text (self->button, tooltip);
  lam_ui_set_accessible_label (self->button, tooltip != NULL ? tooltip : "?");
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_TOPIC]);
}

void
lam_help_button_popup (LamHelpButton *self)
{
  g_return_if_fail (LAM_IS_HELP_BUTTON (self));
  gtk_menu_button_popup (GTK_MENU_BUTTON (self->button));
}

GtkPopover *
lam_help_button_get_popover (LamHelpButton *self)
{
  g_return_val_if_fail (LAM_IS_HELP_BUTTON (self), NULL);
  return gtk_menu_button_get_popover (GTK_MENU_BUTTON (self->button));
}
