"""Reference values of the BG/NBD expected purchases of an alive customer over long horizons,
E = c/(a-1) [1 - (1+u)^(1-a) 2F1(c-k, a-1; c; u/(1+u))], c = a + b' - 1, with k = r + x and
b' = b + x (CDNOW-like r, a, b), computed with mpmath's hyp2f1 at 30 digits (an independent
implementation). The output is pasted into src/clv/btyd.rs's unit test of the path series."""
import mpmath as mp

mp.mp.dps = 30
r, a, b = mp.mpf("0.243"), mp.mpf("0.793"), mp.mpf("2.426")
for x in [0, 2, 10]:
    k, bp = r + x, b + x
    c = a + bp - 1
    row = []
    for u in [20, 50, 99]:
        z = mp.mpf(u) / (1 + u)
        row.append(mp.nstr(c / (a - 1) * (1 - (1 + u) ** (-(a - 1)) * mp.hyp2f1(c - k, a - 1, c, z)), 17))
    print(f"({x}.0, [{', '.join(row)}]),")
