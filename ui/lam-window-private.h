/* lam-window-private.h: the window's state, shared by lam-window.c (the
 * pages, projects, title, recent files) and lam-window-actions.c (its
 * actions, their shortcuts, the file choosers and the "save changes?"
 * prompt). */
#pragma once

#include "lam-window.h"

#define MAX_RECENT_PROJECTS 8

/* What waits on the answer to "save changes?". */
typedef enum
{
  PENDING_NONE,
  PENDING_CLOSE,
  PENDING_OPEN_DIALOG,
  PENDING_OPEN_PATH,
  PENDING_NEW,
} Pending;

/* The project file being written or read on a thread. */
typedef enum
{
  FILE_JOB_NONE,
  FILE_JOB_SAVING,
  FILE_JOB_OPENING,
} FileJob;

struct _LamWindow
{
  GtkApplicationWindow parent_instance;

  LamSession *session; /* owned */

  GtkStack *stack;
  GtkWidget *switcher;
  GtkWidget *opening_page; /* in the stack while a fresh window opens a project */
  GtkLabel *opening_label;
  /* The page to show when opening_page goes; NULL while it is not shown. */
  GtkWidget *page_after_open;
  GtkLabel *dataset_label;
  GtkSpinner *file_spinner;
  GtkLabel *file_status; /* "Saving “name.lamina”…" while a file job runs */
  GtkWidget *data_page;
  GtkWidget *model_page;
  GtkWidget *train_page;
  GtkWidget *evaluate_page;
  GtkToggleButton *presentation_button;
  gboolean presentation;
  GSettings *settings; /* owned, NULL when the schema is not installed */
  GMenu *recent_section;

  char *spec_signature;      /* owned: the layers last seen, to tell edits from input changes */
  char *opening_dataset_dir; /* owned: the dataset an opened project is loading */
  GtkWidget *prompt;         /* the "save changes?" dialog while it shows */
  Pending pending;
  char *pending_path;        /* owned */
  gboolean close_confirmed;
  GtkNativeDialog *chooser;  /* owned while it shows */

  FileJob file_job;
  GCancellable *job_cancellable;  /* owned while an open runs: cancelled on dispose */
  GApplication *held_application; /* owned: held while a file job runs */
  gboolean close_after_job;       /* the window was closed during the job */
  gboolean disposed;
};

/* lam-window-actions.c */
void lam_window_class_add_actions (GtkWidgetClass *widget_class);
void lam_window_add_shortcuts (LamWindow *self);
void lam_window_update_file_actions (LamWindow *self);
/* Runs `pending` now when nothing is unsaved, else after the user has
 * answered Save, Discard or Cancel. */
void lam_window_confirm_then (LamWindow *self, Pending pending, const char *path);
void lam_window_show_message (LamWindow *self, const char *primary, const char *secondary);
