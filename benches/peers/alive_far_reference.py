"""Reference values of the BG/NBD expected purchases of an alive customer at far horizons
(u = t/(alpha + T) from 100 to 1e9), where the crate switches from the Gauss series to the
connection formula of 2F1 around z = 1:

    E = c/(a-1) [1 - (1+u)^(1-a) 2F1(c-k, a-1; c; u/(1+u))],  c = a + b' - 1,

computed with mpmath's hyp2f1 at 40 digits (an independent implementation that handles
z -> 1 itself) and checked against mpmath's quadrature of the integral

    E = int_0^1 (1 - (1+pu)^(-k)) p^(a-2) (1-p)^(b'-1) dp / B(a, b')

(two independent routes agreeing to 1e-25).

Cases: CDNOW's fit (a < 1), a > 1, tiny a with a huge rate (the hostile-input sweep's
customer), a customer with many purchases, and m = k - a + 1 near an integer (where the
crate falls back to quadrature). The output is pasted into src/clv/btyd.rs's unit test."""
import mpmath as mp

mp.mp.dps = 40

cases = [
    # (k, a, b') as (r + x, a, b + x)
    ("0.243", "0.793", "2.426"),
    ("10.243", "0.793", "12.426"),
    ("2.5", "3.5", "1.2"),
    ("21", "0.0909", "21.399"),
    ("300.2", "1.7", "310.0"),
    ("4.2", "0.2000001", "3.0"),
    ("0.6", "1.6", "0.9"),
]
us = ["100", "1000", "1e5", "1e9"]
for k, a, bp in cases:
    k, a, bp = mp.mpf(k), mp.mpf(a), mp.mpf(bp)
    c = a + bp - 1
    row = []
    for u in us:
        u = mp.mpf(u)
        z = u / (1 + u)
        e = c / (a - 1) * (1 - (1 + u) ** (1 - a) * mp.hyp2f1(c - k, a - 1, c, z))
        # The integral in s = p^a (p^(a-1) dp = ds/a), which takes the singularity at p = 0
        # out of the integrand, split where it bends (p ~ 1/u). -expm1(-k log1p(pu)): the
        # difference 1 - (1+pu)^(-k) would round to 0 where the rule samples tiny p.
        def f(s):
            p = s ** (1 / a)
            return -mp.expm1(-k * mp.log1p(p * u)) / p * (1 - p) ** (bp - 1) / a
        cuts = [0] + [min(mp.mpf(1), (q / u) ** a) for q in (1, 10)] + [(mp.mpf(1) / 2) ** a, 1]
        q = mp.quad(f, sorted(set(cuts))) / mp.beta(a, bp)
        assert abs(q - e) < mp.mpf("1e-25") * e, (k, a, bp, u, e, q)
        row.append(mp.nstr(e, 17))
    print(f"({mp.nstr(k, 17)}, {mp.nstr(a, 17)}, {mp.nstr(bp, 17)}, [{', '.join(row)}]),")
