/* lam-backend-ref.h: the reference CPU backend.
 *
 * Every op of the table as the plain loops of its definition in
 * lam-backend.h: one thread, no SIMD, no BLAS, sums in double. It is slow
 * and meant to be read; the tests hold the fast backends to it op by op,
 * and a model trains on it like on any other backend.
 */
#pragma once

#include "lam-backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A new reference backend; free with its destroy op (lam_backend_free). */
LamBackend *lam_backend_ref_new (void);

#ifdef __cplusplus
}
#endif
