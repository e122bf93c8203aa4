"""Reference values of the BG/NBD expected purchases of an alive customer at tiny horizons
(u = t/(alpha + T) with u*(k+1) from 0.1 down to 1e-15), where the crate sums the Taylor
series in u instead of the Gauss series in z = u/(1+u) (which loses ~5e-15/u of its digits
to the difference 1 - (1+u)^(1-a) F there):

    E = c/(a-1) [1 - (1+u)^(1-a) 2F1(c-k, a-1; c; u/(1+u))],  c = a + b' - 1,

computed with mpmath's hyp2f1 at 60 digits (enough for the difference at u = 1e-15) and
checked against mpmath's quadrature of the integral

    E = int_0^1 (1 - (1+pu)^(-k)) p^(a-2) (1-p)^(b'-1) dp / B(a, b').

Each case's last horizon is just past the crate's threshold (u*(k+1) = 0.1), where the
Gauss series takes over again. Cases: CDNOW's fit (a < 1), a > 1, and a heavy buyer (k, b'
of a million), for whom the crate's own quadrature is off by 4e-10 at u = 1e-9 and the Gauss series by
1e-9 just past the threshold. The output
is pasted into src/clv/btyd.rs's unit test `tiny_horizons_take_the_taylor_series`."""
import mpmath as mp

mp.mp.dps = 60

cases = [
    # (k, a, b') as (r + x, a, b + x), and the horizons u as decimal strings
    (("0.243", "0.793", "2.426"), ["0.0796", "8e-4", "1e-9", "0.0821"]),
    (("2.5", "3.5", "1.2"), ["0.028", "1e-6", "1e-12", "0.029"]),
    (("1000000.2", "1.7", "1000002"), ["9.9e-8", "1e-11", "1e-15", "1.01e-7"]),
]
for (k, a, bp), us in cases:
    k, a, bp = mp.mpf(k), mp.mpf(a), mp.mpf(bp)
    c = a + bp - 1
    row = []
    for u in us:
        # The double the crate reads from the same decimal string.
        u = mp.mpf(float(u))
        z = u / (1 + u)
        e = c / (a - 1) * (1 - (1 + u) ** (1 - a) * mp.hyp2f1(c - k, a - 1, c, z))
        f = lambda p: (1 - (1 + p * u) ** (-k)) * p ** (a - 2) * (1 - p) ** (bp - 1)
        cuts = [0, mp.mpf("1e-8"), mp.mpf("1e-6"), mp.mpf("1e-4"), mp.mpf("1e-2"), 1]
        q = mp.quad(f, cuts) / mp.beta(a, bp)
        assert abs(q - e) < mp.mpf("1e-25") * e, (k, a, bp, u, e, q)
        row.append(mp.nstr(e, 17))
    print(f"({mp.nstr(k, 17)}, {mp.nstr(a, 17)}, {mp.nstr(bp, 17)}, [{', '.join(row)}]),")
