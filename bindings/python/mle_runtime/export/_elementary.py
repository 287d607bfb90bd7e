"""Elementary functions the engine has no op for, built from its arithmetic
ops on float64 values: cos, log1p, expm1 and the standard normal quantile
(scipy.special.ndtri). Each is a fixed sequence of IEEE operations (every
op rounds on its own; the engine never fuses a multiply-add), so its
contract is stated in ulps of the exact result and checked against numpy
and scipy by the tests."""

from __future__ import annotations

from math import factorial

import numpy as np

from .._builder import dtype_id
from .._graph import Graph

F64 = np.float64


def c64(g: Graph, value, hint: str) -> str:
    return g.const(value, hint, F64)


def horner(g: Graph, z: str, coefs: list[float], hint: str = "poly") -> str:
    """coefs[0]*z^(n-1) + ... + coefs[-1] by Horner's rule (cephes' polevl)."""
    acc = c64(g, coefs[0], hint)
    for c in coefs[1:]:
        acc = g.op("Add", g.op("Mul", acc, z), c64(g, c, hint))
    return acc


def horner1(g: Graph, z: str, coefs: list[float], hint: str = "poly") -> str:
    """z^n + coefs[0]*z^(n-1) + ... + coefs[-1] (cephes' p1evl)."""
    acc = g.op("Add", z, c64(g, coefs[0], hint))
    for c in coefs[1:]:
        acc = g.op("Add", g.op("Mul", acc, z), c64(g, c, hint))
    return acc


# ------------------------------------------------------------------- cos
#
# k = round(p * 2/pi) (the 1.5 * 2^52 trick, round half to even);
# r = p - k*P1 - k*P2 - k*P3 with pi/2 = P1 + P2 + P3 split into 33-bit
# pieces (k*P1 and k*P2 are exact for |k| < 2^20); then +-cos(r) or
# +-sin(r) by k mod 4, each a Taylor polynomial to r^18 / r^17 (truncation
# below 1e-19 for |r| <= 0.8). Within about 2 ulp of the correctly rounded
# cos for |p| < 1.6e6; NaN and infinities give NaN, as numpy does.

_TWO_OVER_PI = float.fromhex("0x1.45f306dc9c883p-1")
_PIO2 = (1.5707963267341256, 6.077100506303966e-11, 2.0222662487959506e-21)  # pi/2 in 33-bit pieces
_ROUND = 6755399441055744.0  # 1.5 * 2^52


def cos(g: Graph, p: str) -> str:
    """np.cos(p) for float64 p (see above)."""
    t = g.op("Mul", p, c64(g, _TWO_OVER_PI, "two_over_pi"))
    big = c64(g, _ROUND, "round")
    k = g.op("Sub", g.op("Add", t, big), big)
    r = p
    for i, piece in enumerate(_PIO2):
        r = g.op("Sub", r, g.op("Mul", k, c64(g, piece, f"pio2_{i}")))
    z = g.op("Mul", r, r)
    # cos r = 1 + z*(-1/2! + z*(1/4! - ...)); sin r = r + r*z*(-1/3! + z*(1/5! - ...))
    c = g.op("Add", c64(g, 1.0, "one"),
             g.op("Mul", z, horner(g, z, [(-1.0) ** i / factorial(2 * i) for i in range(9, 0, -1)], "taylor")))
    s = g.op("Add", r, g.op("Mul", g.op("Mul", r, z),
                            horner(g, z, [(-1.0) ** i / factorial(2 * i + 1) for i in range(8, 0, -1)], "taylor")))
    ki = g.op("Cast", k, to=dtype_id(np.int64))
    four = g.const(4, "four", np.int64)
    q = g.op("Sub", ki, g.op("Mul", g.op("Div", ki, four), four))  # truncated: -3..3
    q = g.op("Where", g.op("Less", q, g.const(0, "zero", np.int64)), g.op("Add", q, four), q)

    def quadrant(i: int) -> str:
        return g.op("Equal", q, g.const(i, "quadrant", np.int64))

    out = g.op("Where", quadrant(2), g.op("Neg", c), s)
    out = g.op("Where", quadrant(1), g.op("Neg", s), out)
    return g.op("Where", quadrant(0), c, out)


# ----------------------------------------------------------- log1p, expm1
#
# Goldberg's log1p: u = 1 + x; x where u == 1, else log(u) * (x / (u - 1)).
# Kahan's expm1: u = exp(x); x where u == 1, -1 where u - 1 == -1, else
# (u - 1) * (x / log(u)). Both within a few ulp of the exact result given
# the engine's log and exp (Go's, within an ulp); infinities as libm.

def log1p(g: Graph, x: str, dtype=F64) -> str:
    """log1p(x) in x's dtype (float64 unless given), where log(1 + x) would lose x's digits."""
    one = g.const(1.0, "one", dtype)
    u = g.op("Add", one, x)
    general = g.op("Mul", g.op("Log", u), g.op("Div", x, g.op("Sub", u, one)))
    out = g.op("Where", g.op("Equal", u, one), x, general)
    inf = g.const(np.inf, "inf", dtype)
    return g.op("Where", g.op("Equal", x, inf), inf, out)


def expm1(g: Graph, x: str) -> str:
    one = c64(g, 1.0, "one")
    u = g.op("Exp", x)
    um1 = g.op("Sub", u, one)
    general = g.op("Mul", um1, g.op("Div", x, g.op("Log", u)))
    out = g.op("Where", g.op("Equal", um1, c64(g, -1.0, "minus_one")), um1, general)
    out = g.op("Where", g.op("Equal", u, one), x, out)
    inf = c64(g, np.inf, "inf")
    return g.op("Where", g.op("Equal", u, inf), inf, out)


# ------------------------------------------------------------------ ndtri
#
# scipy.special.ndtri (Cephes' algorithm, which scipy uses): for
# 0 < y < 1, with y flipped to 1 - y above 1 - exp(-2): central
# w = y - 0.5, x = (w + w*(w^2 P0(w^2)/Q0(w^2))) * sqrt(2 pi); tails
# s = sqrt(-2 log y), x = (s - log(s)/s) - (1/s) P(1/s)/Q(1/s) with
# (P1, Q1) for s < 8, else (P2, Q2), negated unless flipped. 0 gives -inf,
# 1 +inf, outside [0, 1] and NaN give NaN. The coefficients are Cephes'
# (S. L. Moshier's minimax approximations). Same operations in the same
# order as scipy: equal to it up to the engine's log/sqrt (a few ulp).

_E2 = 0.13533528323661269189  # exp(-2)
_S2PI = 2.50662827463100050242
_P0 = [-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
       1.39312609387279679503E1, -1.23916583867381258016E0]
_Q0 = [1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
       -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
       1.59056225126211695515E1, -1.18331621121330003142E0]
_P1 = [4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
       4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
       -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4]
_Q1 = [1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
       1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
       -3.80806407691578277194E-2, -9.33259480895457427372E-4]
_P2 = [3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
       1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
       3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9]
_Q2 = [6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
       2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
       2.89247864745380683936E-6, 6.79019408009981274425E-9]


def ndtri(g: Graph, y0: str) -> str:
    """scipy.special.ndtri(y0) for float64 y0 (see above)."""
    one = c64(g, 1.0, "one")
    flip = g.op("Greater", y0, c64(g, 1.0 - _E2, "one_minus_e2"))
    y = g.op("Where", flip, g.op("Sub", one, y0), y0)
    w = g.op("Sub", y, c64(g, 0.5, "half"))
    w2 = g.op("Mul", w, w)
    ratio = g.op("Div", g.op("Mul", w2, horner(g, w2, _P0)), horner1(g, w2, _Q0))
    central = g.op("Mul", g.op("Add", w, g.op("Mul", w, ratio)), c64(g, _S2PI, "s2pi"))
    s = g.op("Sqrt", g.op("Mul", c64(g, -2.0, "minus2"), g.op("Log", y)))
    s0 = g.op("Sub", s, g.op("Div", g.op("Log", s), s))
    z = g.op("Div", one, s)
    near = g.op("Div", g.op("Mul", z, horner(g, z, _P1)), horner1(g, z, _Q1))
    far = g.op("Div", g.op("Mul", z, horner(g, z, _P2)), horner1(g, z, _Q2))
    s1 = g.op("Where", g.op("Less", s, c64(g, 8.0, "eight")), near, far)
    tail = g.op("Sub", s0, s1)
    tail = g.op("Where", flip, tail, g.op("Neg", tail))
    out = g.op("Where", g.op("Greater", y, c64(g, _E2, "e2")), central, tail)
    nan = c64(g, np.nan, "nan")
    out = g.op("Where", g.op("Equal", y0, c64(g, 0.0, "zero")), c64(g, -np.inf, "minus_inf"), out)
    out = g.op("Where", g.op("Equal", y0, one), c64(g, np.inf, "inf"), out)
    out = g.op("Where", g.op("Less", y0, c64(g, 0.0, "zero")), nan, out)
    return g.op("Where", g.op("Greater", y0, one), nan, out)
