"""Reference values of the negative binomial upper tail P(X(t) >= n) used by the BG/NBD and
MBG/NBD P(X(t) = n): X(t) ~ NB(r, alpha / (alpha + t)), so the tail is the regularised
incomplete beta I_{t/(alpha+t)}(n, r). Computed with mpmath at 40 digits (an independent
implementation); the output is pasted into src/clv/btyd.rs's unit test."""
import mpmath as mp

mp.mp.dps = 40
CASES = [(0.24, 4.41, 39.0, 3), (2.5, 0.7, 120.0, 400), (0.9, 0.05, 5000.0, 80000),
         (1.0, 5.18e-6, 1e9, 4294967295)]
for r, alpha, t, n in CASES:
    x = mp.mpf(t) / (mp.mpf(alpha) + mp.mpf(t))
    print(f"({r}, {alpha}, {t:.1f}, {n}, {mp.nstr(mp.betainc(n, r, 0, x, regularized=True), 17)}),")
