/* lam-cpu-split-tuner.c: which products a training step splits over two
 * cores of their own, chosen by timing steps both ways.
 *
 * Split over both cores, every layer of an MLP at batch 32 hands its
 * outputs, its input gradients and half of its weights' lines to the
 * other core each step. Where the host places the two vCPUs near each
 * other (a cache line's round trip of 80-100 ns on Zen 4) that is cheap,
 * and splitting everything wins: mlp-b32's epoch 0.39-0.41 s, against
 * 0.43-0.46 s with only its first layer split. Where it places them far
 * apart (330-380 ns), each line handed over costs four times as much and
 * the split of the small layers loses all the second core gives: 0.65-0.69
 * s, the time of one thread, against 0.51-0.53 s with only the first
 * layer split. The placement is the host's, changes between runs and
 * sometimes within one, and no interface tells it; a step's time does.
 * So every SPLIT_TUNER_PERIOD steps the tuner times SPLIT_TUNER_TIMED
 * steps of each split and keeps the faster one. Which split runs never
 * changes a result: each product's element is the same sum either way
 * (lam_cpu_gemm_split), and the optimizer's split only moves work between
 * threads.
 */
#include "lam-cpu-split-tuner.h"

#include <stdlib.h>
#include <string.h>

void
lam_cpu_split_tuner_init (SplitTuner *tuner, CpuSplit start)
{
  *tuner = (SplitTuner){ .split = start, .chosen = start };
}

static CpuSplit
other_split (CpuSplit split)
{
  return split == CPU_SPLIT_WIDE ? CPU_SPLIT_NARROW : CPU_SPLIT_WIDE;
}

static int
compare_times (const void *a, const void *b)
{
  gint64 x = *(const gint64 *) a, y = *(const gint64 *) b;
  return x < y ? -1 : x > y;
}

static gint64
median_time (const gint64 *times, int n)
{
  gint64 sorted[SPLIT_TUNER_TIMED];
  memcpy (sorted, times, (size_t) n * sizeof *times);
  qsort (sorted, (size_t) n, sizeof *sorted, compare_times);
  return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

/* A trial is the first 2 × (SETTLE + TIMED) steps of a period: the chosen
 * split's, then the other's; each one's first SETTLE steps are not timed.
 * A step's time runs from the last step's optimizer update to this one's,
 * so that it holds all of its ops and the update of the split before. */
CpuSplit
lam_cpu_split_tuner_step (SplitTuner *tuner, gint64 now_us)
{
  const guint64 half = SPLIT_TUNER_SETTLE + SPLIT_TUNER_TIMED;
  guint64 at = tuner->steps % SPLIT_TUNER_PERIOD;
  guint64 into_half = at < half ? at : at - half;
  if (tuner->last_us != 0 && at < 2 * half && into_half >= SPLIT_TUNER_SETTLE) {
    int *n = &tuner->n_times[tuner->split];
    if (*n < SPLIT_TUNER_TIMED)
      tuner->times[tuner->split][(*n)++] = now_us - tuner->last_us;
  }
  tuner->last_us = now_us;
  tuner->steps++;

  guint64 next = tuner->steps % SPLIT_TUNER_PERIOD;
  if (next == 2 * half) {
    CpuSplit other = other_split (tuner->chosen);
    if (tuner->n_times[other] == SPLIT_TUNER_TIMED &&
        tuner->n_times[tuner->chosen] == SPLIT_TUNER_TIMED &&
        median_time (tuner->times[other], SPLIT_TUNER_TIMED) <
          (1.0 - SPLIT_TUNER_MARGIN) * median_time (tuner->times[tuner->chosen], SPLIT_TUNER_TIMED))
      tuner->chosen = other;
    tuner->n_times[0] = tuner->n_times[1] = 0;
  }
  tuner->split = next >= half && next < 2 * half ? other_split (tuner->chosen) : tuner->chosen;
  return tuner->split;
}
