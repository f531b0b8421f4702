/* lam-cpu-split-tuner.h: which products a training step splits over
 * cores of its own, chosen by timing steps both ways (lam-cpu-split-tuner.c).
 */
#pragma once

#include <glib.h>

typedef enum
{
  /* Products from a quarter of a MFLOP (GEMM_PARALLEL_FLOPS_OWN_CORES):
   * every layer of an MLP at batch 32. */
  CPU_SPLIT_WIDE,
  /* Products from 4 MFLOP (GEMM_PARALLEL_FLOPS_NARROW): its first layer. */
  CPU_SPLIT_NARROW,
} CpuSplit;

/* Steps between the starts of two trials. */
#define SPLIT_TUNER_PERIOD 512
/* Steps of each policy in a trial before its timing starts: the caches
 * settle into the new split. */
#define SPLIT_TUNER_SETTLE 4
/* Steps of each policy timed in a trial. */
#define SPLIT_TUNER_TIMED 16
/* The other policy is taken where its median step is shorter by this
 * share at least. */
#define SPLIT_TUNER_MARGIN 0.03

typedef struct
{
  CpuSplit split;  /* in force for the ops until the next step */
  CpuSplit chosen; /* outside trials */
  guint64 steps;   /* steps noted */
  gint64 last_us;  /* when the last step was noted; 0 before the first */
  gint64 times[2][SPLIT_TUNER_TIMED];
  int n_times[2];
} SplitTuner;

void lam_cpu_split_tuner_init (SplitTuner *tuner, CpuSplit start);
/* Notes that a training step ended at now_us (its optimizer update) and
 * returns the split for the ops of the next one. */
CpuSplit lam_cpu_split_tuner_step (SplitTuner *tuner, gint64 now_us);
