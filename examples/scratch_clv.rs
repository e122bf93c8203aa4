use custseg::TimeUnit;
use custseg::clv::*;
use custseg::datasets::*;
use std::time::Instant;
fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map_or(1_000_000, |a| a.parse().unwrap());
    let s = synthetic_summaries(&SyntheticConfig::new(n, 2025))
        .unwrap()
        .into_vec();
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
        .unwrap()
        .with_unit(TimeUnit::Weeks);
    let gg = GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap();
    let disc = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap();
    for _ in 0..3 {
        let t = Instant::now();
        let p = bg.p_alive_batch(&s).unwrap();
        let a = t.elapsed();
        let e = bg.expected_purchases_batch(&s, 39.0).unwrap();
        let b = t.elapsed();
        let v = value_customers(&bg, &gg, &s, &disc).unwrap();
        let c = t.elapsed();
        println!(
            "p_alive {a:?} e39 {:?} clv {:?} total {c:?} ({} {} {})",
            b - a,
            c - b,
            p.len(),
            e.len(),
            v.len()
        );
    }
}
