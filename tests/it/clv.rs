//! CLV models against the published CDNOW and donations numbers (`shared/data/README.md`).

use custseg::Fit;
use custseg::clv::{
    BgBb, BgBbHistory, BgNbd, GammaGamma, MbgNbd, ParetoNbd, Rft, RftData, SpendData,
    TransactionModel,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};

fn cdnow() -> RftData {
    let s = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    RftData::from_summaries(s.as_slice()).unwrap()
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / b.abs()
}

/// Three significant digits: the published value rounded to 3 digits is ours rounded.
fn same_3_digits(got: f64, published: f64) -> bool {
    let round3 = |v: f64| {
        let mag = 10f64.powi(2 - v.abs().log10().floor() as i32);
        (v * mag).round() / mag
    };
    round3(got) == round3(published)
}

/// (x, t_x, T) → (BG/NBD P(alive), E[39 weeks]) from the README's table.
const BGNBD_TABLE: [(u32, f64, f64, f64, f64); 6] = [
    (2, 30.43, 38.86, 0.726609, 1.225910),
    (0, 0.0, 38.86, 1.0, 0.194781),
    (2, 10.0, 38.86, 0.268538, 0.453069),
    (10, 38.0, 38.86, 0.921459, 6.705967),
    (10, 10.0, 38.86, 0.000185, 0.001350),
    (1, 1.0, 38.86, 0.187752, 0.179810),
];

#[test]
fn bgnbd_reproduces_fhl_2005_on_cdnow() {
    let (m, rep) = BgNbd::params().fit(&cdnow()).unwrap();
    for (got, published) in [
        (m.r(), 0.2426),
        (m.alpha(), 4.4135),
        (m.a(), 0.7929),
        (m.b(), 2.4258),
    ] {
        assert!(same_3_digits(got, published), "{got} vs {published}");
    }
    // Published LL −9582.43; ours must not be worse by more than 0.01.
    assert!(
        rep.log_likelihood >= -9582.43 - 0.01,
        "{}",
        rep.log_likelihood
    );
    assert!(rep.gradient_norm <= BgNbd::params().gradient_tolerance());
    assert_eq!(rep.distinct_rows, 1_016);
    assert!(
        rep.standard_errors
            .iter()
            .all(|s| s.is_some_and(|v| v > 0.0))
    );
    // Predictions from our own fit against the published table: 1e-4 relative, or the
    // table's six printed decimals for its tiny values.
    let agree = |got: f64, want: f64| (got - want).abs() <= (1e-4 * want).max(5e-7);
    for (x, tx, t, pa, e39) in BGNBD_TABLE {
        let c = Rft::new(x, tx, t).unwrap();
        assert!(
            agree(m.p_alive(&c).unwrap(), pa),
            "P(alive) {x} {tx}: {}",
            m.p_alive(&c).unwrap()
        );
        let e = m.expected_purchases(&c, 39.0).unwrap();
        assert!(agree(e, e39), "E {x} {tx}: {e} vs {e39}");
    }
}

#[test]
fn pareto_nbd_reproduces_the_published_fit_on_cdnow() {
    let (m, rep) = ParetoNbd::params().fit(&cdnow()).unwrap();
    for (got, published) in [
        (m.r(), 0.5533),
        (m.alpha(), 10.5776),
        (m.s(), 0.6062),
        (m.beta(), 11.6680),
    ] {
        assert!(same_3_digits(got, published), "{got} vs {published}");
    }
    let at_published = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap();
    assert!(rep.log_likelihood >= at_published.total_log_likelihood(&cdnow()) - 0.01);
    for (x, tx, pa, e39) in [
        (2, 30.43, 0.869122, 1.455122),
        (0, 0.0, 0.295107, 0.107063),
        (2, 10.0, 0.268718, 0.449899),
        (10, 38.0, 0.988637, 6.841407),
    ] {
        let c = Rft::new(x, tx, 38.86).unwrap();
        assert!(
            rel(m.p_alive(&c).unwrap(), pa) < 1e-4,
            "P(alive) {x} {tx}: {}",
            m.p_alive(&c).unwrap()
        );
        let e = m.expected_purchases(&c, 39.0).unwrap();
        assert!(rel(e, e39) < 1e-4, "E {x} {tx}: {e} vs {e39}");
    }
}

#[test]
fn mbgnbd_reproduces_the_lifetimes_fit_on_cdnow() {
    let data = cdnow();
    let (m, rep) = MbgNbd::params().fit(&data).unwrap();
    for (got, published) in [
        (m.r(), 0.5248),
        (m.alpha(), 6.1830),
        (m.a(), 0.8914),
        (m.b(), 1.6140),
    ] {
        assert!(same_3_digits(got, published), "{got} vs {published}");
    }
    let at_published = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140).unwrap();
    assert!(rep.log_likelihood >= at_published.total_log_likelihood(&data) - 0.01);
    // One-time buyers are not all alive under MBG/NBD.
    assert!(m.p_alive(&Rft::new(0, 0.0, 38.86).unwrap()).unwrap() < 0.9);
}

/// Gamma-Gamma on the published summary (z̄ as printed, 2 decimals): p 6.25, q 3.74,
/// γ 15.44, and the expected spend of customers 1–3.
#[test]
fn gamma_gamma_reproduces_the_published_fit() {
    let text = include_str!("../data/cdnow_sample_summary.csv");
    let rows: Vec<(u32, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            (c[1].parse().unwrap(), c[4].parse().unwrap())
        })
        .collect();
    let repeaters: Vec<((f64, f64), f64)> = rows
        .iter()
        .filter(|r| r.0 > 0 && r.1 > 0.0)
        .map(|&(x, z)| ((x as f64, z), 1.0))
        .collect();
    let data = SpendData::from_weighted(repeaters).unwrap();
    let (gg, rep) = GammaGamma::params().fit(&data).unwrap();
    for (got, published) in [(gg.p(), 6.2488), (gg.q(), 3.7446), (gg.gamma(), 15.4477)] {
        assert!(same_3_digits(got, published), "{got} vs {published}");
    }
    let at_published = GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap();
    assert!(rep.log_likelihood >= at_published.total_log_likelihood(&data) - 0.01);
    for ((x, z), want) in rows.iter().take(3).zip([24.6586, 18.9115, 35.1710]) {
        let got = gg.expected_spend(*x, *z).unwrap();
        assert!(rel(got, want) < 1e-4, "{got} vs {want}");
    }
    // From the log: 946 repeaters, none with a zero mean spend in the calibration period.
    let from_log = SpendData::from_summaries(
        cdnow_sample()
            .summarise(&cdnow_sample_config())
            .unwrap()
            .as_slice(),
    )
    .unwrap();
    assert_eq!(from_log.len() + from_log.excluded_zero_spend(), 946);
    assert_eq!(from_log.excluded_no_repeat(), 1_411);
}

/// BG/BB on the donations data (Fader, Hardie & Shang 2010): α 1.204, β 0.750, γ 0.657,
/// δ 2.783.
#[test]
fn bgbb_reproduces_fhs_2010_on_donations() {
    let text = include_str!("../data/donations_bgbb.csv");
    let data: Vec<(BgBbHistory, f64)> = text
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<u32> = l.split(',').map(|v| v.parse().unwrap()).collect();
            (BgBbHistory::new(c[0], c[1], c[2]).unwrap(), c[3] as f64)
        })
        .collect();
    assert_eq!(data.iter().map(|d| d.1).sum::<f64>(), 11_104.0);
    let (m, rep) = BgBb::params().fit(&data).unwrap();
    for (got, published) in [
        (m.alpha(), 1.204),
        (m.beta(), 0.750),
        (m.gamma(), 0.657),
        (m.delta(), 2.783),
    ] {
        assert!(same_3_digits(got, published), "{got} vs {published}");
    }
    let at_published = BgBb::new(1.204, 0.750, 0.657, 2.783).unwrap();
    let ll_published: f64 = data
        .iter()
        .map(|(h, w)| w * at_published.log_likelihood(h))
        .sum();
    assert!(rep.log_likelihood >= ll_published - 0.01);
    // Sanity of predictions: a donor of every year is likely alive and keeps giving.
    let loyal = BgBbHistory::new(6, 6, 6).unwrap();
    assert!(m.p_alive(&loyal).unwrap() > 0.9);
    assert!(
        m.expected_purchases(&loyal, 5).unwrap()
            > m.expected_purchases(&BgBbHistory::new(1, 1, 6).unwrap(), 5)
                .unwrap()
    );
    assert!(m.expected_purchases_new(5).unwrap() > 0.0);
    // The batch forms agree with one history at a time, in input order.
    let histories: Vec<BgBbHistory> = data.iter().map(|(h, _)| *h).collect();
    let p = m.p_alive_batch(&histories).unwrap();
    let e = m.expected_purchases_batch(&histories, 5).unwrap();
    for (i, h) in histories.iter().enumerate() {
        assert_eq!(p[i], m.p_alive(h).unwrap());
        assert_eq!(e[i], m.expected_purchases(h, 5).unwrap());
    }
}

// ---------------------------------------------------------------------------------------
// Against lifetimes 0.11.3, run on the same data by benches/peers/clv_reference.py; its
// outputs are committed under tests/data.

fn fits_json() -> serde_json::Value {
    serde_json::from_str(include_str!("../data/clv_lifetimes_fits.json")).unwrap()
}

fn json_params(model: &str, which: &str, names: &[&str]) -> Vec<f64> {
    let v = fits_json();
    names
        .iter()
        .map(|n| v[model][which]["params"][*n].as_f64().unwrap())
        .collect()
}

fn json_ll(model: &str, which: &str) -> f64 {
    fits_json()[model][which]["ll_full"].as_f64().unwrap()
}

struct Row {
    rft: Rft,
    zbar: f64,
    v: Vec<f64>,
}

/// Columns after id,x,t_x,T,zbar: bgnbd_p_alive, bgnbd_exp_1, bgnbd_exp_39, mbgnbd_p_alive,
/// mbgnbd_exp_39, pnbd_p_alive, pnbd_exp_39, gg_exp_spend, clv_bgnbd, clv_pnbd.
fn lifetimes_rows() -> Vec<Row> {
    include_str!("../data/cdnow_clv_lifetimes.csv")
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
            Row {
                rft: Rft::new(c[1] as u32, c[2], c[3]).unwrap(),
                zbar: c[4],
                v: c[5..].to_vec(),
            }
        })
        .collect()
}

fn close(got: f64, want: f64, tol: f64) -> bool {
    (got - want).abs() <= tol * want.abs() + 1e-15
}

/// Every CDNOW customer's predictions at the published parameters agree with lifetimes to
/// 1e-6 relative: P(alive), conditional expectations, Gamma-Gamma spend and CLV under
/// lifetimes' discounting convention.
#[test]
fn predictions_match_lifetimes_to_1e6() {
    use custseg::TimeUnit;
    use custseg::clv::{Discounting, Valuation};
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap();
    let mbg = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140).unwrap();
    let pnbd = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap();
    let gg = GammaGamma::new(6.2488, 3.7446, 15.4477).unwrap();
    let disc = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap();
    let bg_value = Valuation::new(bg, gg, disc);
    let pnbd_value = Valuation::new(pnbd, gg, disc);
    let rows = lifetimes_rows();
    assert_eq!(rows.len(), 2_357);
    for (i, r) in rows.iter().enumerate() {
        let c = &r.rft;
        let got = [
            bg.p_alive(c).unwrap(),
            bg.expected_purchases(c, 1.0).unwrap(),
            bg.expected_purchases(c, 39.0).unwrap(),
            mbg.p_alive(c).unwrap(),
            mbg.expected_purchases(c, 39.0).unwrap(),
            pnbd.p_alive(c).unwrap(),
            pnbd.expected_purchases(c, 39.0).unwrap(),
            gg.expected_spend(c.x(), r.zbar).unwrap(),
            bg_value.clv_of(c, r.zbar).unwrap(),
            pnbd_value.clv_of(c, r.zbar).unwrap(),
        ];
        for (k, (g, w)) in got.iter().zip(&r.v).enumerate() {
            assert!(
                close(*g, *w, 1e-6),
                "customer {} column {k}: {g} vs {w}",
                i + 1
            );
        }
    }
}

#[test]
fn new_customer_predictions_match_lifetimes() {
    let bg = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap();
    let mbg = MbgNbd::new(0.5248, 6.1830, 0.8914, 1.6140).unwrap();
    let pnbd = ParetoNbd::new(0.5533, 10.5776, 0.6062, 11.6680).unwrap();
    for l in include_str!("../data/clv_lifetimes_unconditional.csv")
        .lines()
        .skip(1)
    {
        let c: Vec<f64> = l.split(',').map(|v| v.parse().unwrap()).collect();
        let got = bg.probability_of_purchases_new(c[0], c[1] as u32).unwrap();
        assert!(
            close(got, c[2], 1e-6),
            "P(X({}) = {}): {got} vs {}",
            c[0],
            c[1],
            c[2]
        );
    }
    for l in include_str!("../data/clv_lifetimes_expected_new.csv")
        .lines()
        .skip(1)
    {
        let c: Vec<&str> = l.split(',').collect();
        let (t, want): (f64, f64) = (c[1].parse().unwrap(), c[2].parse().unwrap());
        let got = match c[0] {
            "bgnbd" => bg.expected_purchases_new(t),
            "mbgnbd" => mbg.expected_purchases_new(t),
            "pnbd" => pnbd.expected_purchases_new(t),
            other => panic!("unknown model {other}"),
        }
        .unwrap();
        assert!(
            close(got, want, 1e-6),
            "{} E[X({t})]: {got} vs {want}",
            c[0]
        );
    }
    // The probabilities of a new customer's purchases sum to one.
    for t in [1.0, 39.0, 78.0] {
        let total: f64 = (0..2_000)
            .map(|n| bg.probability_of_purchases_new(t, n).unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-9, "BG/NBD t = {t}: {total}");
        let total: f64 = (0..2_000)
            .map(|n| mbg.probability_of_purchases_new(t, n).unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-9, "MBG/NBD t = {t}: {total}");
        let total: f64 = (0..400)
            .map(|n| pnbd.probability_of_purchases_new(t, n).unwrap())
            .sum();
        assert!((total - 1.0).abs() < 1e-7, "Pareto/NBD t = {t}: {total}");
    }
}

/// Our log-likelihoods, constants included, equal those lifetimes' objective implies (same
/// parameters), and our fits are at least as good as lifetimes' own.
#[test]
fn log_likelihoods_and_fits_match_lifetimes() {
    let data = cdnow();
    let names4 = ["r", "alpha", "a", "b"];
    for which in ["lifetimes_fit", "published"] {
        let p = json_params("bgnbd", which, &names4);
        let m = BgNbd::new(p[0], p[1], p[2], p[3]).unwrap();
        assert!((m.total_log_likelihood(&data) - json_ll("bgnbd", which)).abs() < 1e-6);
        let p = json_params("mbgnbd", which, &names4);
        let m = MbgNbd::new(p[0], p[1], p[2], p[3]).unwrap();
        assert!((m.total_log_likelihood(&data) - json_ll("mbgnbd", which)).abs() < 1e-6);
        let p = json_params("pnbd", which, &["r", "alpha", "s", "beta"]);
        let m = ParetoNbd::new(p[0], p[1], p[2], p[3]).unwrap();
        assert!((m.total_log_likelihood(&data) - json_ll("pnbd", which)).abs() < 1e-6);
    }
    let (_, bg) = BgNbd::params().fit(&data).unwrap();
    let (_, mbg) = MbgNbd::params().fit(&data).unwrap();
    let (_, pnbd) = ParetoNbd::params().fit(&data).unwrap();
    for (ours, model) in [
        (bg.log_likelihood, "bgnbd"),
        (mbg.log_likelihood, "mbgnbd"),
        (pnbd.log_likelihood, "pnbd"),
    ] {
        assert!(
            ours >= json_ll(model, "lifetimes_fit") - 1e-6,
            "{model}: {ours}"
        );
    }
    // Standard errors agree with lifetimes' (inverse Hessian) to 1e-3.
    let se = &fits_json()["bgnbd"]["lifetimes_fit"]["se_lifetimes"];
    for (i, n) in names4.iter().enumerate() {
        let want = se[*n].as_f64().unwrap();
        let got = bg.standard_errors[i].unwrap();
        assert!(close(got, want, 1e-3), "se {n}: {got} vs {want}");
    }
}
