#!/usr/bin/env python3
"""Fit every polynomial / rational used by src/fastgelu/kernels/fg_math.h and write
src/fastgelu/kernels/fg_coeffs.h.

    python3 tools/fit_coefficients.py            # rewrite the header (~1 min, one core)
    python3 tools/fit_coefficients.py --stdout   # print it instead
    python3 tools/fit_coefficients.py --check    # exit 1, with a diff, if the committed
                                                 # header is not what this writes
    python3 tools/fit_coefficients.py --reference /tmp/ref64.bin
        # instead: the float64 mpmath reference sample (195k points, ~1 min on 2 cores)
        # read by `tools/kernel_harness.c f64 FILE`

Method: a genuine minimax fit by the Remez exchange, done in mpmath at 50 digits, on
the weighted error w(x)*(f(x) - P(x)/Q(x)) (w = 1/f: relative error, unless noted).
The linearised step solves  P(x_i) - f_i Q(x_i) = (-1)^i E Q_old(x_i)/w_i  on n+m+2
reference points (Chebyshev basis in the scaled variable), re-solves until Q is stable,
then exchanges the reference for the alternating extrema of the error on a dense grid
(refined by golden-section search).  The coefficients are converted to the monomial
basis of the kernel's variable, rounded to binary64 and written as exact C99 hex
literals; the error reported in the header is re-measured AFTER that rounding (exact
mpmath evaluation of the rounded coefficients on a dense grid), so it is the error of
the table the C code actually uses (C-side rounding errors of the evaluation are
measured separately by tools/kernel_harness.c).

Only mpmath is needed (numpy is not used).
"""
import argparse
import difflib
import os
import sys
import time

import mpmath as mp

mp.mp.dps = 50

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "src", "fastgelu", "kernels", "fg_coeffs.h")


# --------------------------------------------------------------------------- Remez
def _basis(s, deg):
    out = [mp.mpf(1), s]
    for _ in range(2, deg + 1):
        out.append(2 * s * out[-1] - out[-2])
    return out[: deg + 1]


def remez(f, a, b, n, m, w=None, iters=40, grid=2000, tol=mp.mpf("1e-4"), log=None, mobius=None):
    """Minimax P_n/Q_m (Q(0)=1 after conversion) to f on [a, b] for the weighted error
    w*(f - P/Q).  Returns (P, Q, E): monomial coefficients in x (low degree first) and
    the levelled error of the last reference.

    mobius=c (a = 0 only): do the exchange in y = x/(x+c) in [0, b/(b+c)], where the
    extrema of a rational in x spread evenly (much better conditioned on long intervals
    with 1/x behaviour); a degree-(n, n) rational in y is converted exactly to one in x."""
    if mobius is not None:
        c = mp.mpf(mobius)
        assert a == 0 and n == m
        fy = lambda y: f(c * y / (1 - y))
        wy = None if w is None else (lambda y: w(c * y / (1 - y)))
        Py, Qy, E = remez(fy, 0, mp.mpf(b) / (mp.mpf(b) + c), n, m, w=wy, iters=iters, grid=grid, tol=tol, log=log)
        # P(y) with y = x/(x+c):  (x+c)^n P(y) = sum_i p_i x^i (x+c)^(n-i)
        def conv(cy):
            out = [mp.mpf(0)] * (n + 1)
            for i, pi in enumerate(cy):
                for j in range(n - i + 1):  # (x+c)^(n-i) = sum_j binom x^j c^(n-i-j)
                    out[i + j] += pi * mp.binomial(n - i, j) * c ** (n - i - j)
            return out
        P, Q = conv(Py), conv(Qy)
        q0 = Q[0]
        return [v / q0 for v in P], [v / q0 for v in Q], E
    a = mp.mpf(a)
    b = mp.mpf(b)
    mid, half = (a + b) / 2, (b - a) / 2
    if w is None:
        w = lambda x: 1 / abs(f(x))
    N = n + m + 2
    D = max(n, m, 1)
    gs = [mp.cos(mp.pi * (grid - 1 - i) / (grid - 1)) for i in range(grid)]
    gs = [s + (mp.mpf(1) - s * s) * mp.mpf("0.001") for s in gs]
    gf = [f(mid + half * s) for s in gs]
    gw = [w(mid + half * s) for s in gs]
    ref = [mp.cos(mp.pi * (N - 1 - i) / (N - 1)) for i in range(N)]
    # keep the initial reference off the centre (a weight may vanish there, e.g. at v = 0)
    ref = [s + (mp.mpf(1) - s * s) * mp.mpf("0.01") for s in ref]
    p = q = None
    E = mp.mpf(0)

    def R(s):
        B = _basis(s, D)
        return sum(p[k] * B[k] for k in range(n + 1)) / sum(q[k] * B[k] for k in range(m + 1))

    def err(s):
        x = mid + half * s
        return w(x) * (f(x) - R(s))

    for it in range(iters):
        fx = [f(mid + half * s) for s in ref]
        wx = [w(mid + half * s) for s in ref]
        Bn = [_basis(s, D) for s in ref]
        qold = [mp.mpf(1)] * N if q is None else [sum(q[k] * Bn[i][k] for k in range(m + 1)) for i in range(N)]
        for _inner in range(30):
            A = mp.matrix(N, N)
            rhs = mp.matrix(N, 1)
            for i in range(N):
                for k in range(n + 1):
                    A[i, k] = Bn[i][k]
                for k in range(1, m + 1):
                    A[i, n + k] = -fx[i] * Bn[i][k]
                A[i, N - 1] = (-1) ** i * qold[i] / wx[i]
                rhs[i] = fx[i]
            sol = mp.lu_solve(A, rhs)
            p = [sol[k] for k in range(n + 1)]
            q = [mp.mpf(1)] + [sol[n + k] for k in range(1, m + 1)]
            E = sol[N - 1]
            qnew = [sum(q[k] * Bn[i][k] for k in range(m + 1)) for i in range(N)]
            d = max(abs(qnew[i] - qold[i]) / abs(qnew[i]) for i in range(N))
            qold = qnew
            if m == 0 or d < mp.mpf(10) ** (-35):
                break
        ge = []
        for i, s in enumerate(gs):
            B = _basis(s, D)
            P = sum(p[k] * B[k] for k in range(n + 1))
            Q = sum(q[k] * B[k] for k in range(m + 1))
            ge.append(gw[i] * (gf[i] - P / Q))
        ext = []
        for i in range(grid):
            v = ge[i]
            l = ge[i - 1] if i > 0 else None
            r = ge[i + 1] if i < grid - 1 else None
            okl = l is None or mp.sign(l) != mp.sign(v) or abs(v) >= abs(l)
            okr = r is None or mp.sign(r) != mp.sign(v) or abs(v) >= abs(r)
            if okl and okr:
                ext.append(i)
        pts = []
        g = (mp.sqrt(5) - 1) / 2
        for i in ext:
            if i == 0 or i == grid - 1:
                pts.append((gs[i], ge[i]))
                continue
            lo, hi = gs[i - 1], gs[i + 1]
            x1 = hi - g * (hi - lo)
            x2 = lo + g * (hi - lo)
            f1, f2 = abs(err(x1)), abs(err(x2))
            for _ in range(30):
                if f1 > f2:
                    hi, x2, f2 = x2, x1, f1
                    x1 = hi - g * (hi - lo)
                    f1 = abs(err(x1))
                else:
                    lo, x1, f1 = x1, x2, f2
                    x2 = lo + g * (hi - lo)
                    f2 = abs(err(x2))
            s = (lo + hi) / 2
            pts.append((s, err(s)))
        alt = []
        for s, e in pts:
            if e == 0:
                continue
            if alt and mp.sign(alt[-1][1]) == mp.sign(e):
                if abs(e) > abs(alt[-1][1]):
                    alt[-1] = (s, e)
            else:
                alt.append((s, e))
        while len(alt) > N:
            if abs(alt[0][1]) < abs(alt[-1][1]):
                alt.pop(0)
            else:
                alt.pop()
        maxerr = max(abs(e) for _, e in pts)
        if log:
            log(f"    remez it {it}: levelled {mp.nstr(abs(E), 4)}  max {mp.nstr(maxerr, 4)}")
        if len(alt) < N:
            break
        ref = [s for s, _ in alt]
        if abs(maxerr - abs(E)) <= tol * maxerr:
            break

    def to_mono(c):
        deg = len(c) - 1
        polys = [[mp.mpf(1)], [mp.mpf(0), mp.mpf(1)]]
        for k in range(2, deg + 1):
            nxt = [mp.mpf(0)] * (k + 1)
            for j, v in enumerate(polys[-1]):
                nxt[j + 1] += 2 * v
            for j, v in enumerate(polys[-2]):
                nxt[j] -= v
            polys.append(nxt)
        mono = [mp.mpf(0)] * (deg + 1)
        for k in range(deg + 1):
            for j, v in enumerate(polys[k]):
                mono[j] += c[k] * v
        out = [mp.mpf(0)] * (deg + 1)
        for j in range(deg + 1):
            for i in range(j + 1):
                out[i] += mono[j] * mp.binomial(j, i) * (-mid) ** (j - i) / half ** j
        return out

    P, Q = to_mono(p), to_mono(q)
    q0 = Q[0]
    return [c / q0 for c in P], [c / q0 for c in Q], abs(E)


# --------------------------------------------------------------------------- helpers
def d(x):
    """Round an mpf to the nearest binary64 (as an mpf)."""
    return mp.mpf(float(x))


def hexlit(x):
    x = float(x)
    if x == 0:
        return "0.0"
    return x.hex().replace("0x1.0000000000000p", "0x1p").replace("0000000000000p", "p")


def split2(x):
    """x ~= hi + lo, both binary64 (double-double constant)."""
    hi = d(x)
    lo = d(x - hi)
    return hi, lo


def horner_text(var, coefs):
    """C text of a Horner evaluation with fg__ma(a,b,c) = a*b+c (fma when available)."""
    s = hexlit(coefs[-1])
    for c in reversed(coefs[:-1]):
        s = f"fg__ma({var}, {s}, {hexlit(c)})"
    return s


def _estrin(var, coefs):
    if len(coefs) == 1:
        return hexlit(coefs[0])
    h = 1 << ((len(coefs) - 1).bit_length() - 1)
    p = var
    while h > 1 and p.count("*") + 1 < h:  # x^h as repeated squaring
        p = f"({p} * {p})"
    return f"fg__ma({p}, {_estrin(var, coefs[h:])}, {_estrin(var, coefs[:h])})"


def estrin_text(var, coefs):
    """C text of (c0 + c1 x) + x^2 E(x), E the rest by Estrin's scheme (c_low(x) + x^(2^j)
    c_high(x)): FMA chains of ~log2(degree) instead of degree, and, as in Horner's scheme,
    the low terms added last (plain Estrin would round the sum ~log2(degree) times over at
    small x; here E's roundings are damped by x^2)."""
    if len(coefs) <= 2:
        return _estrin(var, coefs)
    return f"fg__ma(({var} * {var}), {_estrin(var, coefs[2:])}, {_estrin(var, coefs[:2])})"


def eval_poly(c, x):
    r = mp.mpf(0)
    for v in reversed(c):
        r = r * x + v
    return r


def measure(fn_exact, fn_approx, a, b, npts=3000, rel=True, extra=()):
    """Max |approx/exact - 1| (or abs error) over a dense Chebyshev+uniform grid."""
    a, b = mp.mpf(a), mp.mpf(b)
    xs = [a + (b - a) * (1 - mp.cos(mp.pi * i / (npts - 1))) / 2 for i in range(npts)]
    xs += [a + (b - a) * i / (npts - 1) for i in range(npts)]
    xs += [mp.mpf(v) for v in extra]
    worst, at = mp.mpf(0), None
    for x in xs:
        ex = fn_exact(x)
        ap = fn_approx(x)
        e = abs(ap / ex - 1) if rel else abs(ap - ex)
        if e > worst:
            worst, at = e, x
    return worst, at


# --------------------------------------------------------------------------- functions
SQRT2PI = mp.sqrt(2 * mp.pi)
C_TANH = mp.sqrt(2 / mp.pi)          # sqrt(2/pi), exact
A_TANH = mp.mpf("0.044715")          # the exact decimal constant


def mills_m(t):
    """m(t) = Phi(-t) exp(t^2/2) = erfcx(t/sqrt2)/2."""
    return mp.erfc(t / mp.sqrt(2)) * mp.exp(t * t / 2) / 2


T0 = mp.findroot(lambda x: mp.ncdf(x) + x * mp.npdf(x), mp.mpf("-0.7518"))
T0 = -T0  # t0 > 0: gelu_grad(-t0) = 0


def tanh_grad(x):
    z = C_TANH * (x + A_TANH * x ** 3)
    s = 1 / (1 + mp.exp(-2 * z))
    return s + x * s * (1 - s) * 2 * C_TANH * (1 + 3 * A_TANH * x * x)


T1 = -mp.findroot(tanh_grad, mp.mpf("-0.7525"))  # t1 > 0: gelu_tanh_grad(-t1) = 0
E0 = mp.exp(-2 * C_TANH * (T1 + A_TANH * T1 ** 3))  # e(t1) = exp(-2 z(t1))


def kfun(t):
    """k(t) = (m(t) - t/sqrt(2 pi)) / (t0 - t), smooth and > 0 on [0, inf)."""
    with mp.workdps(mp.mp.dps + 30):
        if abs(t - T0) < mp.mpf(10) ** (-(mp.mp.dps + 5)):
            return t0_limit()
        return (mills_m(t) - t / SQRT2PI) / (T0 - t)


def t0_limit():
    # k(t0) = -(m'(t0) - 1/sqrt(2pi)) with m'(t) = t m(t) - 1/sqrt(2pi)
    return -(T0 * mills_m(T0) - 2 / SQRT2PI)


def expm1_q(r):
    if abs(r) < mp.mpf("1e-8"):
        return mp.mpf(1) / 2 + r / 6 + r * r / 24 + r ** 3 / 120
    return (mp.expm1(r) - r) / (r * r)


LN2H = mp.ln(2) / 2
R_EXP = LN2H * (1 + mp.mpf("1e-6"))   # |r| <= ln2/2 (+ rounding slack of the reduction)


# --------------------------------------------------------------------------- tables
def expm1_half_over_v(v):
    """expm1(-v/2)/v (-> -1/2 at 0)."""
    if abs(v) < mp.mpf("1e-12"):
        return -mp.mpf(1) / 2 + v / 8 - v * v / 48
    return mp.expm1(-v / 2) / v


def expm1_half_tail(v):
    """(expm1(-v/2) + v/2 - v^2/8) / v^3 (-> -1/48 at 0)."""
    if abs(v) < mp.mpf("1e-6"):
        return -mp.mpf(1) / 48 + v / 384 - v * v / 3840 + v ** 3 / 46080
    return (mp.expm1(-v / 2) + v / 2 - v * v / 8) / v ** 3


V_EXP = 2 * mp.ln(2) / 2 * 2 * (1 + mp.mpf("1e-6"))  # |v| <= ln2 (v = u + 2k ln2 = -2r) plus slack


def fit_expm1_f(name, deg, log):
    """expm1(-v/2) ~= v * P(v), P of degree deg-1, for the error relative to expm1(-v/2)."""
    V = mp.ln(2) * (1 + mp.mpf("1e-6"))
    w = lambda v: abs(v / mp.expm1(-v / 2)) if v != 0 else mp.mpf(2)
    P, _, _ = remez(expm1_half_over_v, -V, V, deg - 1, 0, w=w, grid=800, log=log)
    Pd = [d(c) for c in P]
    err, at = measure(lambda v: mp.expm1(-v / 2), lambda v: v * eval_poly(Pd, v), -V, V, npts=1500,
                      extra=[mp.mpf("1e-9"), -mp.mpf("1e-9")])
    return dict(kind="poly", var="v", name=name, P=Pd, err=err, at=at,
                doc=f"expm1(-v/2) ~= v*P(v), P of degree {deg - 1} (expm1 of degree {deg}); v = u + 2k ln2 "
                    f"in [-ln2, ln2] is the reduced argument of exp(-u/2) = 2^k exp(-v/2); minimax for the "
                    f"error relative to expm1(-v/2) (so also relative to exp(-v/2))")


def fit_exp_f(name, deg, log):
    """exp(-v/2) ~= 1 + v * P(v), P of degree deg-1, for the error relative to exp(-v/2)."""
    V = mp.ln(2) * (1 + mp.mpf("1e-6"))
    w = lambda v: abs(v / mp.exp(-v / 2))
    P, _, _ = remez(expm1_half_over_v, -V, V, deg - 1, 0, w=w, grid=800, log=log)
    Pd = [d(c) for c in P]
    err, at = measure(lambda v: mp.exp(-v / 2), lambda v: 1 + v * eval_poly(Pd, v), -V, V, npts=1500)
    return dict(kind="poly", var="v", name=name, P=Pd, err=err, at=at,
                doc=f"exp(-v/2) ~= 1 + v*P(v), P of degree {deg - 1}; v in [-ln2, ln2] as for FG_EXPM1_F; minimax "
                    f"for the error relative to exp(-v/2) (NOT to expm1: used where only exp is needed)")


def fit_expm1_d(name, deg, log):
    """expm1(-v/2) ~= -v/2 + v^2/8 + v^3 P(v): the first two terms are formed exactly (double-double)."""
    V = mp.ln(2) * (1 + mp.mpf("1e-6"))
    w = lambda v: abs(v ** 3 / mp.expm1(-v / 2)) if v != 0 else mp.mpf(0)
    P, _, _ = remez(expm1_half_tail, -V, V, deg - 3, 0, w=w, grid=800, log=log)
    Pd = [d(c) for c in P]
    err, at = measure(lambda v: mp.expm1(-v / 2), lambda v: -v / 2 + v * v / 8 + v ** 3 * eval_poly(Pd, v),
                      -V, V, npts=1500, extra=[mp.mpf("1e-9"), -mp.mpf("1e-9")])
    return dict(kind="poly", var="v", name=name, P=Pd, err=err, at=at,
                doc=f"expm1(-v/2) ~= -v/2 + v^2/8 + v^3*P(v), P of degree {deg - 3} (expm1 of degree {deg}), "
                    f"v in [-ln2, ln2]; -v/2 + v^2/8 is formed exactly in double-double by the kernel; "
                    f"minimax for the error relative to expm1(-v/2)")


def fit_rational(name, f, fdesc, a, b, n, m, log, grid=1500, mobius=None, w=None, absolute=False):
    P, Q, _ = remez(f, 0, b, n, m, grid=grid, log=log, mobius=mobius, w=w)
    Pd = [d(c) for c in P]
    Qd = [d(c) for c in Q]
    err, at = measure(f, lambda t: eval_poly(Pd, t) / eval_poly(Qd, t), a, b, npts=1500, rel=not absolute)
    how = "absolute error (of 1 + it)" if absolute else "relative error"
    return dict(kind="rational", var="t", name=name, P=Pd, Q=Qd, err=err, at=at, absolute=absolute,
                doc=f"{fdesc} ~= P(t)/Q(t), deg P = {n}, deg Q = {m}, variable t = |x| in [{a}, {mp.nstr(b, 6)}]; "
                    f"minimax for the {how}" + (f" (exchange done in y = t/(t+{mobius}))" if mobius else ""))


def fit_rational_pinned(name, f, fdesc, f0, df0, b, n, m, log, below=None, grid=1500):
    """P/Q with P(0)/Q(0) = f0 exactly, minimax for the error relative to f on [0, b]:
    fit (f(t) - f0)/t (value df0 = f'(0) at 0) by an (n-1, m) rational P'/Q, weighted by
    t/|f(t)|, and take P = f0 Q + t P'. below: then lower P(0) by that much (rounded), so
    that P(0)/Q(0) lies just below f0 (for the ties this decides; see FG_M_F)."""
    g = lambda t: df0 if t == 0 else (f(t) - f0) / t
    w = lambda t: max(t, mp.mpf(10) ** -20) / abs(f(t))  # the error at t = 0 is 0 by construction
    Pg, Q, _ = remez(g, 0, b, n - 1, m, w=w, grid=grid, log=log)
    P = [f0 * Q[0]] + [f0 * Q[i] + (Pg[i - 1] if i - 1 < len(Pg) else 0) for i in range(1, n + 1)]
    Pd = [d(c) for c in P]
    Qd = [d(c) for c in Q]
    if below is not None:
        Pd[0] = d(Pd[0] - below)
    err, at = measure(f, lambda t: eval_poly(Pd, t) / eval_poly(Qd, t), 0, b, npts=1500)
    return dict(kind="rational", var="t", name=name, P=Pd, Q=Qd, err=err, at=at, absolute=False,
                doc=f"{fdesc} ~= P(t)/Q(t), deg P = {n}, deg Q = {m}, variable t = |x| in [0, {mp.nstr(b, 6)}]; "
                    f"minimax for the relative error with P(0)/Q(0) = {mp.nstr(f0, 6)}"
                    + (f" - {mp.nstr(below, 3)} (just below: the tiny-x ties of x + gelu(-x) round up, "
                       f"toward the positive x^2 term)" if below is not None else ""))


def fit_split(name, f, fdesc, b, ndelta, log, mobius=2):
    """f = c(t) (1 + delta(t)): c a (1,2) rational the kernel evaluates in double-double
    (so its rounding errors are ~2^-100), delta = f/c - 1 (|delta| ~ 2e-3) a (n,n) rational
    evaluated in plain double: its rounding errors are damped 500x."""
    c = fit_rational(name + "C", f, fdesc + " (coarse factor c)", 0, b, 1, 2, log, grid=1000)
    Pc, Qc = c["P"], c["Q"]
    cf = lambda t: eval_poly(Pc, t) / eval_poly(Qc, t)
    delta = lambda t: f(t) / cf(t) - 1
    dl = fit_rational(name + "DELTA", delta, f"delta(t) = f(t)/c(t) - 1 for {name}C", 0, b, ndelta, ndelta, log,
                      grid=1000, mobius=mobius, w=lambda t: 1 / (1 + delta(t)), absolute=True)
    return [c, dl]


# float32 clamps: beyond them every float32 result, and every fused product w f with
# |w| <= FLT_MAX^2 = 2^256 (w = grad_out b of two floats), is below 2^-150 and rounds to
# -0: |gelu(-24)|, |gelu_grad(-24)| < 2^-410; the tanh pair at 16: < 2^-450.
TMAX_F = mp.mpf("24")
TMAX_D = mp.mpf("38.75")

TABLES = [
    ("FG_EXPM1_F", lambda log: [fit_expm1_f("FG_EXPM1_F", 7, log)]),
    ("FG_EXP_F", lambda log: [fit_exp_f("FG_EXP_F", 6, log)]),
    ("FG_EXPM1_D", lambda log: [fit_expm1_d("FG_EXPM1_D", 12, log)]),
    # float32: the lowest degrees whose error (with FG_EXP_F's 2e-9) keeps every float32
    # result within ~0.65 ulp (exhaustive check): (5,5) for m, (4,5) for k. Each degree
    # less is two FMAs less per element; (6,6) held 0.53 ulp at ~10% more time.
    ("FG_M_F", lambda log: [fit_rational_pinned("FG_M_F", mills_m, "m(t) = Phi(-t)*exp(t^2/2) = erfcx(t/sqrt2)/2",
                                                mp.mpf(1) / 2, -1 / SQRT2PI, TMAX_F, 5, 5, log,
                                                below=mp.mpf(2) ** -33)]),
    ("FG_K_F", lambda log: [fit_rational("FG_K_F", kfun, "k(t) = (m(t) - t/sqrt(2pi))/(t0 - t)",
                                          0, TMAX_F, 4, 5, log)]),
    ("FG_M_D", lambda log: fit_split("FG_M_D", mills_m, "m(t) = Phi(-t)*exp(t^2/2)", TMAX_D, ND_M, log)),
    ("FG_K_D", lambda log: fit_split("FG_K_D", kfun, "k(t) = (m(t) - t/sqrt(2pi))/(t0 - t)", TMAX_D, ND_K, log)),
]
ND_M = 11
ND_K = 11

# ---- fast float64 tier (fastgelu.fast, src/fastgelu/kernels/fg_fast_f64.h): plain double
# arithmetic, one table per factor. The factors m and k are NOT fitted directly: a rational
# in t evaluated in double accumulates ~1 rounding per degree where t is large (measured:
# m (11,11) direct, 4.4 x 2^-52), so each is written as a constant plus a part whose
# rounding errors the formula damps:
#   m(t) = c Q/(t Q + P), P/Q ~= g(t) = c/m(t) - t   (the errors of P, Q enter as g/(t + g))
#   k(t) = c (1 + P/Q),   P/Q ~= h(t) = k(t)/c - 1   (they enter as h/(1 + h))
# with c = 1/sqrt(2pi) rounded to double (FG_ISQRT2PI_HI; g(0) = 2c exactly, so m(0) = 1/2).
# The Remez weights make the fits minimax for the relative error of m and k themselves.
ISQRT2PI_D = d(1 / SQRT2PI)


def damped_fit(f, c, b, n, form, rnd, grid, log):
    """The fit behind both fast tiers' m and k: (n, n) P/Q on [0, b], minimax for the error
    relative to f, coefficients rounded by rnd, in one of three forms:
      "excess": P/Q ~= g = c/f - t, f = c Q/(t Q + P)  (P/Q's error reaches f as g/(t + g));
      "pinned": P/Q ~= G = (g - g0)/t, g0 = g(0) = c/f(0), f = c/(t + (g0 + t P/Q))  (an
                absolute error of G reaches f as t/(t + g): nothing at 0, where "excess"
                passes P/Q's roundings at full weight);
      "ratio":  P/Q ~= h = f/c - 1, f = c (1 + P/Q)  (as h/(1 + h)).
    Returns P, Q, the error of f as the kernel forms it from them and where, and the form."""
    if form == "excess":
        inner = lambda t: c / f(t) - t
        w = lambda t: 1 / (t + inner(t))
        outer = lambda P, Q, t: c * eval_poly(Q, t) / (t * eval_poly(Q, t) + eval_poly(P, t))
        text = "f(t) = c Q(t)/(t Q(t) + P(t)), P/Q ~= c/f(t) - t"
    elif form == "pinned":
        g = lambda t: c / f(t) - t
        g0 = g(mp.mpf(0))
        G0 = -c * mp.diff(f, 0) / f(mp.mpf(0)) ** 2 - 1  # G(0) = g'(0); its weight is ~0
        inner = lambda t: G0 if t == 0 else (g(t) - g0) / t
        w = lambda t: max(t, mp.mpf(10) ** -20) / (t + g(t))  # the error at t = 0 is 0 by construction
        outer = lambda P, Q, t: c / (t + (g0 + t * eval_poly(P, t) / eval_poly(Q, t)))
        text = "f(t) = c/(t + g0 + t P(t)/Q(t)), P/Q ~= (c/f(t) - t - g0)/t, g0 = c/f(0)"
    elif form == "ratio":
        inner = lambda t: f(t) / c - 1
        w = lambda t: 1 / (1 + inner(t))
        outer = lambda P, Q, t: c * (1 + eval_poly(P, t) / eval_poly(Q, t))
        text = "f(t) = c (1 + P(t)/Q(t)), P/Q ~= f(t)/c - 1"
    else:
        raise ValueError(form)
    P, Q, _ = remez(inner, 0, b, n, n, w=w, grid=grid, log=log, mobius=2)
    P = [rnd(v) for v in P]
    Q = [rnd(v) for v in Q]
    err, at = measure(f, lambda t: outer(P, Q, t), 0, b, npts=1500)
    return P, Q, err, at, text


def fit_fast_factor(name, fdesc, f, b, n, log, form):
    """(n, n) double P/Q in one of damped_fit's forms."""
    Pd, Qd, err, at, form = damped_fit(f, ISQRT2PI_D, b, n, form, d, 1500, log)
    return dict(kind="rational", var="t", name=name, P=Pd, Q=Qd, err=err, at=at, absolute=False, estrin=True,
                doc=f"fast float64: {fdesc}, {form}, c = FG_ISQRT2PI_HI; deg P = deg Q = {n}, t in "
                    f"[0, {mp.nstr(b, 6)}] (exchange done in y = t/(t+2)); minimax for the error relative to "
                    f"f; P, Q by Estrin's scheme (low terms last; the powers shared)")


FAST64_TABLES = [
    # degree 11: 2.1e-17 relative to expm1 (degree 10: 1.3e-15)
    ("FG_EXPM1_FD", lambda log: [dict(fit_expm1_f("FG_EXPM1_FD", 11, log), estrin=True)]),
    # (10,10): m 1.4e-17, k 2.6e-17 ((9,9): 1.4e-16, 5.2e-17)
    ("FG_M_FD", lambda log: [fit_fast_factor("FG_M_FD", "m(t) = Phi(-t)*exp(t^2/2)", mills_m, TMAX_D, 10, log,
                                             form="excess")]),
    ("FG_K_FD", lambda log: [fit_fast_factor("FG_K_FD", "k(t) = (m(t) - t/sqrt(2pi))/(t0 - t)", kfun, TMAX_D,
                                             10, log, form="ratio")]),
]
TABLES += FAST64_TABLES


def fast64_constants():
    """Constants of the fast float64 tier only (rendered after its tables)."""
    u1 = 4 * C_TANH * (T1 + A_TANH * T1 ** 3)
    return {"FG_U1": ("u(t1) = 4 z(t1) (so that -2w = u(t) - u(t1) in gelu_tanh_grad)", split2(u1)),
            "FG_ISQRT2PI": ("c = 1/sqrt(2pi) (its _HI is the c of FG_M_FD, FG_K_FD)", split2(1 / SQRT2PI)),
            # W(t) = 2c (1 + 3aU) = W0 + W1 t + W2 t^2 (gelu_tanh_grad: 1 + e - h = (t1 - t) W + e0 expm1(w))
            "FG_TW0": ("W0 = 2c + 6ca t1^2", split2(2 * C_TANH + 6 * C_TANH * A_TANH * T1 * T1)),
            "FG_TW1": ("W1 = 6ca t1", split2(6 * C_TANH * A_TANH * T1)),
            "FG_TW2": ("W2 = 6ca", split2(6 * C_TANH * A_TANH))}


def constants():
    c = {}
    t0 = split2(T0)
    t1 = split2(T1)
    c["FG_T0"] = ("t0: the zero of gelu_grad is at x = -t0 (Phi(x) + x phi(x) = 0)", t0)
    c["FG_T0_LO2"] = ("third part of t0 (t0 = HI + LO + LO2_HI: the double nearest -t0 is only 2^-56 away)",
                      (d(T0 - t0[0] - t0[1]), mp.mpf(0)))
    c["FG_T1"] = ("t1: the zero of gelu_tanh_grad is at x = -t1", t1)
    c["FG_T1_LO2"] = ("third part of t1 (the double nearest -t1 is only 2^-55 away)",
                      (d(T1 - t1[0] - t1[1]), mp.mpf(0)))
    c["FG_E0"] = ("e0 = exp(-2 z(t1)), z(t) = sqrt(2/pi) (t + 0.044715 t^3)", split2(E0))
    c["FG_A"] = ("0.044715 (the decimal constant of the tanh form)", split2(A_TANH))
    c["FG_T1SQ"] = ("t1^2", split2(T1 * T1))
    c["FG_AT1"] = ("a t1", split2(A_TANH * T1))
    c["FG_AT1SQ1"] = ("1 + a t1^2", split2(1 + A_TANH * T1 * T1))
    c["FG_4C"] = ("4c = 4 sqrt(2/pi)", split2(4 * C_TANH))
    c["FG_4CA"] = ("4ca = 4*0.044715*sqrt(2/pi)", split2(4 * C_TANH * A_TANH))
    ln2 = mp.ln(2)
    ln2h = mp.floor(ln2 * 2 ** 42) / 2 ** 42  # 42 significant bits: k*LN2_HI exact for |k| < 2^11
    c["FG_LN2"] = ("ln 2 = FG_LN2_HI + FG_LN2_LO, FG_LN2_HI has 42 significant bits", (ln2h, d(ln2 - ln2h)))
    c["FG_LOG2E"] = ("1/ln 2", split2(1 / ln2))
    c["FG_LN2D"] = ("ln 2 rounded to double (lo: the rest)", split2(ln2))
    c["FG_TMAX_F"] = ("clamp of |x| for the erf-GELU pair, float32 (results < 2^-410 beyond)", (TMAX_F, mp.mpf(0)))
    c["FG_TMAX_D"] = ("clamp of |x| for the erf-GELU pair, float64 (results < 2^-1075 beyond)", (TMAX_D, mp.mpf(0)))
    c["FG_TMAXT_F"] = ("clamp of |x| for the tanh-GELU pair, float32 (results < 2^-450 beyond)", (mp.mpf(16), mp.mpf(0)))
    c["FG_TMAXT_D"] = ("clamp of |x| for the tanh-GELU pair, float64", (mp.mpf(22), mp.mpf(0)))
    return c


def _render_constants(L, consts):
    for name, (doc, (hi, lo)) in consts.items():
        L.append(f"/* {doc} = {mp.nstr(hi + lo, 36)} */")
        L.append(f"#define {name}_HI {hexlit(hi)}")
        L.append(f"#define {name}_LO {hexlit(lo)}")


def render(tables, elapsed):
    L = []
    L.append("/* fg_coeffs.h -- GENERATED by tools/fit_coefficients.py; do not edit by hand.")
    L.append(" * Regenerate:  python3 tools/fit_coefficients.py   (mpmath; ~1 min)")
    L.append(" * Every table: minimax (Remez exchange in mpmath at 50 digits), coefficients rounded")
    L.append(" * to binary64 and written as exact hex literals; 'max rel err' is re-measured on the")
    L.append(" * ROUNDED coefficients with exact (mpmath) arithmetic. fg__ma(a,b,c) = a*b+c, an fma()")
    L.append(" * where the target has FMA (defined in fg_math.h before this header is included).")
    L.append(" */")
    L.append("#ifndef FASTGELU_FG_COEFFS_H")
    L.append("#define FASTGELU_FG_COEFFS_H")
    L.append("")
    L.append("/* ---- constants (hi + lo double-double splits; the _LO part is 0 when hi is exact) ---- */")
    _render_constants(L, constants())
    L.append("")
    for t in tables:
        L.append("/* " + "-" * 86)
        L.append(f" * {t['name']}: {t['doc']}.")
        kind = "abs" if t.get("absolute") else "rel"
        L.append(f" * max {kind} err (rounded coefficients, exact arithmetic): {mp.nstr(t['err'], 4)}"
                 f" (= 2^{mp.nstr(mp.log(t['err'], 2), 4)}) at {mp.nstr(t['at'], 8)}")
        L.append(" */")
        v = t["var"]
        poly_text = estrin_text if t.get("estrin") else horner_text
        L.append(f"#define {t['name']}_P({v}) ({poly_text('(' + v + ')', t['P'])})")
        if t["kind"] == "rational":
            L.append(f"#define {t['name']}_Q({v}) ({poly_text('(' + v + ')', t['Q'])})")
            for i, cc in enumerate(t["P"]):
                L.append(f"#define {t['name']}_P{i} {hexlit(cc)}")
            for i, cc in enumerate(t["Q"]):
                L.append(f"#define {t['name']}_Q{i} {hexlit(cc)}")
        L.append("")
    L.append("/* ---- constants of the fast float64 tier ---- */")
    _render_constants(L, fast64_constants())
    L.append("")
    L.append("#endif /* FASTGELU_FG_COEFFS_H */")
    return "\n".join(L) + "\n"


def check(text, path=OUT):
    """0 if the header at `path` is `text` byte for byte; else print a unified diff, 1."""
    with open(path, newline="") as fh:
        committed = fh.read()
    name = os.path.relpath(os.path.normpath(path))
    if committed == text:
        print(f"{name} is what tools/fit_coefficients.py writes", file=sys.stderr)
        return 0
    sys.stdout.writelines(difflib.unified_diff(
        committed.splitlines(keepends=True), text.splitlines(keepends=True),
        fromfile=f"{name} (committed)", tofile=f"{name} (regenerated)"))
    print(f"{name} differs from what tools/fit_coefficients.py writes", file=sys.stderr)
    return 1


# =========================================================================== fast tier, float32
# The float32 kernels of fastgelu.fast (src/fastgelu/kernels/fg_fast_f32.h) compute in FLOAT
# arithmetic; their tables go to their own header, fg_fast_f32_coeffs.h, with every
# coefficient rounded to binary32 and the error re-measured after that rounding.
OUT_FAST32 = os.path.join(HERE, "..", "src", "fastgelu", "kernels", "fg_fast_f32_coeffs.h")
FAST32_K = 40            # the kernels' scale 2^K (fits of m and k carry 2^-K in P)


def f32(x):
    """Round an mpf to the nearest binary32 (as an mpf)."""
    import struct
    return mp.mpf(struct.unpack("<f", struct.pack("<f", float(x)))[0])


def hexlit_f(x):
    if x == 0:
        return "0.0f"
    mant, exp = float(x).hex().split("p")
    mant = mant.rstrip("0").rstrip(".")
    return f"{mant}p{exp}f"


def horner_text_f(var, coefs):
    s = hexlit_f(coefs[-1])
    for c in reversed(coefs[:-1]):
        s = f"fgf__ma({var}, {s}, {hexlit_f(c)})"
    return s


def fast32_exp(name, deg, log, scale=None):
    """exp(-v/2) ~= 1 + v P(v), P of degree deg - 1, float32 coefficients; error relative
    to exp. scale (a binary32 constant): the table of scale exp(-v/2) ~= scale + v P(v)
    instead (the coefficients scaled before their rounding)."""
    V = mp.ln(2) * (1 + mp.mpf("1e-6"))
    ref = lambda v: mp.exp(-v / 2)
    w = lambda v: abs(v / ref(v)) if v != 0 else mp.mpf(2)
    P, _, _ = remez(expm1_half_over_v, -V, V, deg - 1, 0, w=w, grid=800, log=log)
    sc = mp.mpf(1) if scale is None else scale
    Pf = [f32(sc * c) for c in P]
    err, at = measure(ref, lambda v: (sc + v * eval_poly(Pf, v)) / sc, -V, V, npts=1500)
    what = "exp(-v/2) ~= 1 + v*P(v)" if scale is None else "FGF_C2K exp(-v/2) ~= FGF_C2K + v*P(v)"
    return dict(kind="poly", var="v", name=name, P=Pf, err=err, at=at,
                doc=f"{what}, P of degree {deg - 1}, v in [-ln2, ln2] "
                    f"(exp(-u/2) = 2^k exp(-v/2)); relative error")


# m and k in float: damped forms as in the fast float64 tier (damped_fit), on [0, FAST32_TMAX]
# with float coefficients and c = 1/sqrt(2pi) rounded to binary32 (FGF_C2K carries it, times 2^-K,
# into the scaled exp FGF_EXPC): the errors of P and Q enter m as t/(t + g) and k as h/(1 + h), so
# the Horner steps that weigh ~1 at large t (the direct float rationals' 5.8 / 6.1 ulp) are damped.
FAST32_TMAX = mp.mpf(15)  # FGF_TNEG of fg_fast_f32.h: x < -15 gives -0


def fast32_factor(name, fdesc, f, n, log, form):
    """(n, n) float P/Q in one of damped_fit's forms, c = binary32 1/sqrt(2pi), binary32
    coefficients. m takes the "pinned" form: g0 = 2c exactly (FGF_2C; m(0) = 1/2), and near 0
    nothing of P/Q's rounding reaches gelu (with "excess" there, gelu needed a path of its own
    below |x| = 1/2); k the "ratio" form."""
    Pf, Qf, err, at, text = damped_fit(f, f32(1 / SQRT2PI), FAST32_TMAX, n, form, f32, 1000, log)
    return dict(kind="rational", var="t", name=name, P=Pf, Q=Qf, err=err, at=at,
                doc=f"{fdesc}, {text}, c = 1/sqrt(2pi) in binary32 (in FGF_C2K); deg P = deg Q = {n}, "
                    f"t in [0, {mp.nstr(FAST32_TMAX, 4)}] (exchange in y = t/(t+2)); minimax for the error "
                    f"relative to f")


def fast32_split(x, bits):
    """x = hi + lo with hi of `bits` significant bits, lo the float nearest the rest."""
    e = mp.floor(mp.log(abs(x), 2))
    q = mp.mpf(2) ** (e - bits + 1)
    hi = mp.nint(x / q) * q
    return hi, f32(x - hi)


def fast32_constants():
    c = {}
    ln2 = mp.ln(2)
    c["FGF_2LN2"] = ("2 ln2 = HI + LO, HI of 14 bits: k HI exact for |k| < 2^10, also without FMA",
                     fast32_split(2 * ln2, 14))
    c["FGF_HLOG2E"] = ("-1/(2 ln2): k = rint(-v/(2 ln2))", (f32(-1 / (2 * ln2)), mp.mpf(0)))
    c["FGF_T0"] = ("t0 (zero of gelu_grad at -t0) as float + float", (f32(T0), f32(T0 - f32(T0))))
    c["FGF_INVA"] = ("1/0.044715 = HI + LO, HI of 12 bits (so that W - HI is exact, W = t^2 + HI < 2^9)",
                     fast32_split(1 / A_TANH, 12))
    c["FGF_2C"] = ("2c, c = 1/sqrt(2pi) in binary32: g(0) of FGF_M's form (exact: twice FGF_C2K's c)",
                   (2 * f32(1 / SQRT2PI), mp.mpf(0)))
    c["FGF_C2K"] = ("c 2^-K, c = 1/sqrt(2pi) in binary32: the constant term of FGF_EXPC",
                    (f32(1 / SQRT2PI) * mp.mpf(2) ** -FAST32_K, mp.mpf(0)))
    c["FGF_4CA"] = ("4 c a = 4 sqrt(2/pi) 0.044715, float + float", (f32(4 * C_TANH * A_TANH),
                                                                   f32(4 * C_TANH * A_TANH - f32(4 * C_TANH * A_TANH))))
    return c


FAST32_TABLES = [
    ("FGF_EXP", lambda log: [fast32_exp("FGF_EXP", 6, log)]),
    # the erf pair's exp with c 2^-K folded in: degree 7, 1.0e-9 (degree 6: 1.5e-8, 0.4 ulp more at gelu's max)
    ("FGF_EXPC", lambda log: [fast32_exp("FGF_EXPC", 7, log, scale=f32(1 / SQRT2PI) * mp.mpf(2) ** -FAST32_K)]),
    # m (5,5): 3.2e-9 relative with binary32 coefficients (their rounding dominates; the minimax
    # level is ~1e-10); gelu 3.57 ulp over all 2^32 inputs. (4,4): 1.3e-8, 3.79 ulp, ~4% faster
    ("FGF_M", lambda log: [fast32_factor("FGF_M", "m(t) = Phi(-t)*exp(t^2/2)", mills_m, 5, log,
                                         form="pinned")]),
    # k (5,5): 1.8e-8 relative with binary32 coefficients, the rounding of h(0) = P(0) limiting it
    # ((4,4): 1.8e-8 too; (3,3): 1.1e-6)
    ("FGF_K", lambda log: [fast32_factor("FGF_K", "k(t) = (m(t) - t/sqrt(2pi))/(t0 - t)", kfun, 5, log,
                                         form="ratio")]),
]


def render_fast32(tables):
    L = ["/* fg_fast_f32_coeffs.h -- GENERATED by tools/fit_coefficients.py; do not edit by hand.",
         " * The float32 fast tier's tables (src/fastgelu/kernels/fg_fast_f32.h): minimax (Remez in",
         " * mpmath), coefficients rounded to binary32; 'max rel err' is re-measured on the ROUNDED",
         " * coefficients in exact arithmetic. fgf__ma(a,b,c) = a*b+c (fmaf where the target has FMA).",
         " */",
         "#ifndef FASTGELU_FG_FAST_F32_COEFFS_H",
         "#define FASTGELU_FG_FAST_F32_COEFFS_H",
         "",
         f"#define FGF_K {FAST32_K} /* the scale 2^K of the kernels (in the _K constants) */"]
    for name, (doc, (hi, lo)) in fast32_constants().items():
        L.append(f"/* {doc} = {mp.nstr(hi + lo, 12)} */")
        L.append(f"#define {name}_HI {hexlit_f(hi)}")
        L.append(f"#define {name}_LO {hexlit_f(lo)}")
    L.append("")
    for t in tables:
        L.append("/* " + "-" * 86)
        L.append(f" * {t['name']}: {t['doc']}.")
        L.append(f" * max rel err (float32 coefficients, exact arithmetic): {mp.nstr(t['err'], 4)}"
                 f" (= 2^{mp.nstr(mp.log(t['err'], 2), 4)}) at {mp.nstr(t['at'], 8)}")
        L.append(" */")
        v = t["var"]
        L.append(f"#define {t['name']}_P({v}) ({horner_text_f('(' + v + ')', t['P'])})")
        if t["kind"] == "rational":
            L.append(f"#define {t['name']}_Q({v}) ({horner_text_f('(' + v + ')', t['Q'])})")
        L.append("")
    L.append("#endif /* FASTGELU_FG_FAST_F32_COEFFS_H */")
    return "\n".join(L) + "\n"


def fast32_text(log):
    tables = []
    for _name, build in FAST32_TABLES:
        for tab in build(log):
            tables.append(tab)
            print(f"{tab['name']}: max err {mp.nstr(tab['err'], 4)} (2^{mp.nstr(mp.log(tab['err'], 2), 4)})",
                  file=sys.stderr, flush=True)
    return render_fast32(tables)


# --------------------------------------------------------------------------- float64 reference
def _ref_point(x):
    """mpmath (60 digits) values of the four functions at the double x, each as
    (hi, lo, sc): value = (hi + lo) * 2^-sc, sc = 1100 for values below 2^-1000."""
    out = []
    with mp.workdps(60):
        X = mp.mpf(x)
        t = abs(X)
        if t > 60:  # limits (tails far below 2^-1075; x + tiny == x)
            vals = [X if X > 0 else mp.mpf(0), mp.mpf(1) if X > 0 else mp.mpf(0)] * 2
            vals = [vals[0], vals[1], vals[0], vals[1]]
        else:
            ph, pd = mp.ncdf(X), mp.npdf(X)
            g, gg = X * ph, ph + X * pd
            ee = mp.exp(-2 * C_TANH * (t + A_TANH * t ** 3))
            h = 2 * C_TANH * t * (1 + 3 * A_TANH * t * t)
            if X < 0:
                th, thg = -t * ee / (1 + ee), ee * ((1 + ee) - h) / (1 + ee) ** 2
            else:
                th, thg = X / (1 + ee), (1 + ee + ee * h) / (1 + ee) ** 2
            vals = [g, gg, th, thg]
        for v in vals:
            sc = 1100 if (v != 0 and abs(v) < mp.mpf(2) ** -1000) else 0
            vs = v * mp.mpf(2) ** sc
            hi = float(vs)
            lo = float(vs - hi)
            out.append((hi, lo, float(sc)))
    return out


def make_reference(path, n_uniform=150000, n_log=20000, n_zero=4000, seed=1):
    import random
    import struct
    from multiprocessing import Pool
    rnd = random.Random(seed)
    xs = []
    # log-spaced |x| in [1e-300, 1e300], both signs
    for i in range(n_log):
        e = -300 + 600 * (i + rnd.random()) / n_log
        xs.append(rnd.choice((-1.0, 1.0)) * 10.0 ** e)
    # dense uniform on [-40, 10]
    xs += [-40.0 + 50.0 * rnd.random() for _ in range(n_uniform)]
    # the gradient zeros: nearest doubles +- 2000 ulp, and +- 1e-6 .. 1e-3 around
    import math
    for z in (float(-T0), float(-T1)):
        for j in range(-n_zero // 2, n_zero // 2):
            xs.append(z + j * math.ulp(z))
        for _ in range(n_zero):
            xs.append(z + rnd.choice((-1, 1)) * 10 ** rnd.uniform(-15, -3))
    # subnormal-result edges and tiny |x|
    xs += [-37.0 - 1.75 * rnd.random() for _ in range(4000)]
    xs += [-19.0 - 3.0 * rnd.random() for _ in range(4000)]
    xs += [rnd.choice((-1, 1)) * 2.0 ** rnd.uniform(-1074, -1000) for _ in range(1000)]
    with Pool() as pool:
        refs = pool.map(_ref_point, xs, chunksize=500)
    with open(path, "wb") as fh:
        for x, r in zip(xs, refs):
            fh.write(struct.pack("<d", x))
            for hi, lo, sc in r:
                fh.write(struct.pack("<3d", hi, lo, sc))
    print(f"wrote {len(xs)} float64 reference points to {path}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stdout", action="store_true", help="print the header instead of writing it")
    ap.add_argument("--check", action="store_true",
                    help="write nothing; exit 0 if the committed header is what this writes, "
                         "else 1 with a unified diff")
    ap.add_argument("-v", "--verbose", action="store_true")
    ap.add_argument("--reference", metavar="FILE",
                    help="instead: write the float64 mpmath reference sample read by tools/kernel_harness.c (f64 FILE)")
    args = ap.parse_args()
    if args.reference:
        make_reference(args.reference)
        return 0
    log = (lambda s: print(s, file=sys.stderr, flush=True)) if args.verbose else None
    t_start = time.time()
    tables = []
    for _name, build in TABLES:
        t = time.time()
        for tab in build(log):
            tables.append(tab)
            print(f"{tab['name']}: max err {mp.nstr(tab['err'], 4)} (2^{mp.nstr(mp.log(tab['err'], 2), 4)})"
                  f"  [{time.time() - t:.0f} s]", file=sys.stderr, flush=True)
    text = render(tables, time.time() - t_start)
    text_fast32 = fast32_text(log)
    if args.check:
        return check(text) | check(text_fast32, OUT_FAST32)
    if args.stdout:
        sys.stdout.write(text)
        sys.stdout.write(text_fast32)
    else:
        for path, body in ((OUT, text), (OUT_FAST32, text_fast32)):
            with open(path, "w") as fh:
                fh.write(body)
            print(f"wrote {os.path.normpath(path)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
