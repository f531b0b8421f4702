/* lam-cache.h: asking for cache lines ahead of writing them, ordering the
 * stores made around the caches, and room on large pages.
 *
 * A buffer that two cores take turns at (a batch's images, which one core
 * fills and both read; a layer's weights, which one core updates and the
 * other reads) is in both caches when the writer comes back to it, and
 * each line it stores to must first be taken from the other core. Taken
 * as each store reaches it, the lines come one round trip at a time; asked
 * for ahead, many are under way at once.
 */
#pragma once

#include <glib.h>

/* Asks the CPU for the cache lines of [start, start + bytes) for writing,
 * without waiting for them: PREFETCHW on CPUs that have it, else nothing.
 * Changes no value, and faults on no address. */
void lam_cache_claim_for_writing (const void *start, gsize bytes);

/* Orders the streamed (non-temporal) stores this thread has made before
 * the stores it makes next, such as a thread pool's word that its task is
 * done: streamed stores are not ordered with the others. SFENCE on x86,
 * else nothing (nothing else streams). */
void lam_cache_streamed_stores_done (void);

/* From this size, room is worth the kernel's large pages. */
#define LAM_CACHE_LARGE_PAGES_FROM ((gsize) 4 << 20)

/* Room for bytes, freed with g_free, or NULL when out of memory; not
 * zero-filled. From LAM_CACHE_LARGE_PAGES_FROM on Linux, it starts on a
 * 2 MiB boundary and is marked for the kernel's large pages (transparent
 * huge pages, which Debian lends where asked): a buffer read from anywhere
 * at once, a dataset's images or a convolution's scratch, then costs the
 * CPU a walk of the page tables per 2 MiB rather than per 4 KiB. */
void *lam_cache_large_pages_try_alloc (gsize bytes);
