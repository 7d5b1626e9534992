/* lib_math.c — the library routines that compute along an axis or a
 * matrix (see lib.h): CumSum and CumProd (one scan, along an axis given as
 * a run-time input) and Det (LU decomposition with partial pivoting). */
#include <math.h>
#include <stdlib.h>

#include "lib_impl.h"

/* ---- CumSum, CumProd (x, axis) -> y ------------------------------------------------------- */

typedef enum { SCAN_SUM, SCAN_PROD } scan_op;

/* acc op x: in double for floats, wrapping 64-bit arithmetic for integers
 * (the write wraps to the element width). */
static rt_slot scan_step(scan_op op, bool fl, rt_slot acc, rt_slot x) {
    if (fl) acc.f = op == SCAN_SUM ? acc.f + x.f : acc.f * x.f;
    else acc.u = op == SCAN_SUM ? acc.u + x.u : acc.u * x.u;
    return acc;
}

/* y[.., j, ..] = x[.., 0, ..] op .. op x[.., j, ..] (up to j - 1 when
 * exclusive, the identity for the first; from the end when reverse). */
static int scan_axis(rt_lib_call *c, scan_op op) {
    const rt_tensor *x = &c->in[0];
    int64_t a = 0, exclusive = 0, reverse = 0;
    int axis = 0;
    if (rt_lib_attr_int(c, "exclusive", &exclusive) || rt_lib_attr_int(c, "reverse", &reverse) ||
        rt_lib_scalar_int(c, 1, "axis", &a) || rt_lib_normalize_axis(c, a, x->rank, &axis))
        return -1;
    rt_tensor *y = c->output(c, 0, x->shape);
    if (!y) return -1;
    rt_axis_view v = rt_lib_around_axis(x, axis);
    bool fl = ir_dtype_is_float((ir_dtype)x->dtype);
    rt_slot identity = {.i = op == SCAN_SUM ? 0 : 1};
    if (fl) identity.f = op == SCAN_SUM ? 0 : 1;
    for (int64_t o = 0; o < v.outer; o++) {
        for (int64_t i = 0; i < v.inner; i++) {
            rt_slot acc = identity;
            for (int64_t step = 0; step < v.len; step++) {
                int64_t j = reverse ? v.len - 1 - step : step, at = (o * v.len + j) * v.inner + i;
                rt_slot xv = rt_tensor_read(x, at);
                if (!exclusive) acc = scan_step(op, fl, acc, xv);
                rt_tensor_write(y, at, acc);
                if (exclusive) acc = scan_step(op, fl, acc, xv);
            }
        }
    }
    return 0;
}

int rt_lib_cumsum(rt_lib_call *c) { return scan_axis(c, SCAN_SUM); }
int rt_lib_cumprod(rt_lib_call *c) { return scan_axis(c, SCAN_PROD); }

/* ---- Det(X (..., M, M)) -> Y (...) --------------------------------------------------------- */

/* The determinant of the m x m matrix a (row-major, overwritten): LU
 * decomposition with partial pivoting, in double. */
static double lu_determinant(double *a, int64_t m) {
    double det = 1;
    for (int64_t k = 0; k < m; k++) {
        int64_t piv = k;
        for (int64_t i = k + 1; i < m; i++)
            if (fabs(a[i * m + k]) > fabs(a[piv * m + k])) piv = i;
        if (a[piv * m + k] == 0) return 0;
        if (piv != k) {
            for (int64_t j = 0; j < m; j++) {
                double t = a[k * m + j];
                a[k * m + j] = a[piv * m + j];
                a[piv * m + j] = t;
            }
            det = -det;
        }
        det *= a[k * m + k];
        for (int64_t i = k + 1; i < m; i++) {
            double f = a[i * m + k] / a[k * m + k];
            for (int64_t j = k + 1; j < m; j++) a[i * m + j] -= f * a[k * m + j];
        }
    }
    return det;
}

int rt_lib_det(rt_lib_call *c) {
    const rt_tensor *x = &c->in[0];
    if (x->rank < 2 || x->shape[x->rank - 1] != x->shape[x->rank - 2])
        return rt_lib_error(c, "input must be a stack of square matrices");
    int64_t m = x->shape[x->rank - 1], count = 1;
    for (int i = 0; i < x->rank - 2; i++) count *= x->shape[i];
    rt_tensor *y = c->output(c, 0, x->shape);
    if (!y) return -1;
    if (count == 0) return 0;
    double *a = malloc((size_t)(m ? m * m : 1) * sizeof *a); /* m * m <= numel: it fits */
    if (!a) return rt_lib_error(c, "out of memory");
    for (int64_t b = 0; b < count; b++) {
        for (int64_t e = 0; e < m * m; e++) a[e] = rt_tensor_read_f(x, b * m * m + e);
        rt_tensor_write_f(y, b, lu_determinant(a, m));
    }
    free(a);
    return 0;
}
