"""Reference for a CLV over the documented maximum horizon (10,000 steps of 4.345 weeks at 1 %
per step) for the hostile-input sweep's customer: BG/NBD and MBG/NBD with r = 1, alpha =
5.18e-6, a = 0.0909, b = 1.399, history x = 20, t_x = 0.53, T = 2 (weeks). That valuation
took 33 s (BG/NBD) and 80 s (MBG/NBD) before the far-horizon formula.

Per model: P(alive), the discounted sum  sum_i f^i (E(t_i) - E(t_(i-1))),  f = 1/1.01, and
E(t_N) at the end, with E the expected purchases of an alive customer,

    E(t) = c/(a-1) [1 - (1+u)^(1-a) 2F1(c-k, a-1; c; u/(1+u))],  u = t/(alpha+T),

k = r + x, b' = b + x (BG/NBD) or b + x + 1 (MBG/NBD), c = a + b' - 1, every term from
mpmath's hyp2f1 at 30 digits (no truncation of the sum). P(alive): FHL (2005) eq. 11 and
Batislam et al. (2007). Pasted into tests/it/hostile.rs."""
import mpmath as mp

mp.mp.dps = 30
r, alpha, a, b = mp.mpf(1), mp.mpf("5.18e-6"), mp.mpf("0.0909"), mp.mpf("1.399")
x, tx, T = 20, mp.mpf("0.53"), mp.mpf(2)
step, steps, rate = mp.mpf("4.345"), 10_000, mp.mpf("0.01")


def e_alive(t, k, bp):
    u = t / (alpha + T)
    c = a + bp - 1
    return c / (a - 1) * (1 - (1 + u) ** (1 - a) * mp.hyp2f1(c - k, a - 1, c, u / (1 + u)))


for name, d in [("bgnbd", 0), ("mbgnbd", 1)]:
    k, bp = r + x, b + x + d
    odds = a / (b + x - 1 + d) * ((alpha + T) / (alpha + tx)) ** (r + x)
    p_alive = 1 / (1 + odds)
    f = 1 / (1 + rate)
    prev, acc, factor = mp.mpf(0), mp.mpf(0), mp.mpf(1)
    for i in range(1, steps + 1):
        e = e_alive(i * step, k, bp)
        factor *= f
        acc += (e - prev) * factor
        prev = e
    print(f"{name}: p_alive {mp.nstr(p_alive, 17)} discounted {mp.nstr(acc, 17)} total {mp.nstr(prev, 17)}")
