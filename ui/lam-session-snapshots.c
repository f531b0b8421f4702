/* lam-session-snapshots.c: the session's training time machine — the
 * weights after each epoch of the run shown, and the epoch the Evaluate
 * page looks at. */
#include "lam-session-private.h"

static void
snapshot_free (gpointer data)
{
  LamSessionSnapshot *snapshot = data;
  g_free (snapshot->params);
  g_free (snapshot);
}

void
lam_session_init_snapshots (LamSession *self)
{
  self->snapshots = g_ptr_array_new_with_free_func (snapshot_free);
  self->snapshot_budget = LAM_SESSION_SNAPSHOT_BUDGET;
  self->save_snapshots = TRUE;
}

void
lam_session_finalize_snapshots (LamSession *self)
{
  g_clear_pointer (&self->snapshots, g_ptr_array_unref);
}

static void
set_view_epoch (LamSession *self, int epoch)
{
  if (self->view_epoch == epoch)
    return;
  self->view_epoch = epoch;
  lam_session_notify (self, LAM_SESSION_PROP_VIEW_EPOCH);
}

void
lam_session_clear_snapshots (LamSession *self)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  gboolean had = self->snapshots->len > 0;
  g_ptr_array_set_size (self->snapshots, 0);
  self->snapshot_bytes = 0;
  self->snapshots_thinned = FALSE;
  set_view_epoch (self, 0);
  if (had)
    g_signal_emit (self, lam_session_signals[LAM_SESSION_SIGNAL_SNAPSHOTS_CHANGED], 0);
}

/* Over the budget, every other snapshot goes, oldest side first, the
 * first and the newest staying: the epochs kept stay spread over the
 * whole run, as a slider wants them. A viewed epoch that went is left
 * for the newest weights. */
static void
thin (LamSession *self)
{
  while (self->snapshot_bytes > self->snapshot_budget && self->snapshots->len > 2) {
    for (guint i = 1; i + 1 < self->snapshots->len; i++) {
      LamSessionSnapshot *gone = g_ptr_array_index (self->snapshots, i);
      self->snapshot_bytes -= sizeof (float) * self->n_weights;
      if (gone->epoch == self->view_epoch)
        set_view_epoch (self, 0);
      g_ptr_array_remove_index (self->snapshots, i);
    }
    self->snapshots_thinned = TRUE;
  }
}

void
lam_session_add_snapshot (LamSession *self, int epoch, const float *params, gsize n)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  g_return_if_fail (params != NULL && n == self->n_weights);
  /* Weights of another size belong to another model: start again. */
  if (self->snapshots->len > 0 && self->snapshot_bytes / self->snapshots->len != n * sizeof (float))
    lam_session_clear_snapshots (self);
  /* An epoch published again (a run continued from an earlier save)
   * replaces it and whatever came after. */
  while (self->snapshots->len > 0) {
    LamSessionSnapshot *last = g_ptr_array_index (self->snapshots, self->snapshots->len - 1);
    if (last->epoch < epoch)
      break;
    if (last->epoch == self->view_epoch)
      set_view_epoch (self, 0);
    self->snapshot_bytes -= sizeof (float) * n;
    g_ptr_array_remove_index (self->snapshots, self->snapshots->len - 1);
  }
  LamSessionSnapshot *snapshot = g_new (LamSessionSnapshot, 1);
  snapshot->epoch = epoch;
  snapshot->params = g_memdup2 (params, sizeof (float) * MAX (n, 1));
  g_ptr_array_add (self->snapshots, snapshot);
  self->snapshot_bytes += sizeof (float) * n;
  thin (self);
  g_signal_emit (self, lam_session_signals[LAM_SESSION_SIGNAL_SNAPSHOTS_CHANGED], 0);
}

guint
lam_session_get_n_snapshots (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  return self->snapshots->len;
}

int
lam_session_get_snapshot_epoch (LamSession *self, guint index)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  g_return_val_if_fail (index < self->snapshots->len, 0);
  const LamSessionSnapshot *snapshot = g_ptr_array_index (self->snapshots, index);
  return snapshot->epoch;
}

const float *
lam_session_get_snapshot (LamSession *self, guint index, gsize *n_params)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  g_return_val_if_fail (index < self->snapshots->len, NULL);
  const LamSessionSnapshot *snapshot = g_ptr_array_index (self->snapshots, index);
  if (n_params != NULL)
    *n_params = self->n_weights;
  return snapshot->params;
}

int
lam_session_find_snapshot (LamSession *self, int epoch)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), -1);
  for (guint i = 0; i < self->snapshots->len; i++) {
    const LamSessionSnapshot *snapshot = g_ptr_array_index (self->snapshots, i);
    if (snapshot->epoch == epoch)
      return (int) i;
  }
  return -1;
}

gboolean
lam_session_get_snapshots_thinned (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), FALSE);
  return self->snapshots_thinned;
}

void
lam_session_set_snapshot_budget (LamSession *self, gsize bytes)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  self->snapshot_budget = bytes;
  gsize before = self->snapshots->len;
  thin (self);
  if (self->snapshots->len != before)
    g_signal_emit (self, lam_session_signals[LAM_SESSION_SIGNAL_SNAPSHOTS_CHANGED], 0);
}

void
lam_session_set_view_epoch (LamSession *self, int epoch)
{
  g_return_if_fail (LAM_IS_SESSION (self));
  int index = epoch > 0 ? lam_session_find_snapshot (self, epoch) : -1;
  /* The newest weights' own epoch is the newest view. */
  if (index < 0 || (index == (int) self->snapshots->len - 1 && epoch == self->weights_epoch))
    epoch = 0;
  set_view_epoch (self, epoch);
}

int
lam_session_get_view_epoch (LamSession *self)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), 0);
  return self->view_epoch;
}

const float *
lam_session_get_view_weights (LamSession *self, gsize *n_params, int *epoch)
{
  g_return_val_if_fail (LAM_IS_SESSION (self), NULL);
  int index = self->view_epoch > 0 ? lam_session_find_snapshot (self, self->view_epoch) : -1;
  if (n_params != NULL)
    *n_params = self->n_weights;
  if (index < 0) {
    if (epoch != NULL)
      *epoch = self->weights_epoch;
    return self->weights;
  }
  if (epoch != NULL)
    *epoch = self->view_epoch;
  return ((const LamSessionSnapshot *) g_ptr_array_index (self->snapshots, index))->params;
}
