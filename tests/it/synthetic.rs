//! The synthetic generator's output against the expectations of the models it simulates.
//!
//! The references are closed forms from the papers, computed here independently of the
//! generator: BG/NBD E[X(t)] and P(X(t) = 0) (Fader, Hardie & Lee 2005, eqs. 9 and 8 with
//! x = 0) and the Gamma-Gamma mean spend pγ/(q − 1). Each statistic must fall within four
//! standard errors of its expectation.

use custseg::datasets::{
    EUROPEAN_CITIES, Persona, SURVEY_ITEMS, SyntheticBase, SyntheticConfig, synthetic,
};

const N: usize = 120_000;

fn base() -> SyntheticBase {
    synthetic(&SyntheticConfig::new(N, 2024)).unwrap()
}

/// Gauss hypergeometric 2F1(a, b; c; z) by its series, for 0 ≤ z < 1.
fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> f64 {
    let (mut term, mut sum) = (1.0, 1.0);
    for n in 0..100_000 {
        let n = n as f64;
        term *= (a + n) * (b + n) / ((c + n) * (n + 1.0)) * z;
        sum += term;
        if term.abs() < 1e-15 * sum.abs() {
            break;
        }
    }
    sum
}

/// BG/NBD expected number of repeat purchases in (0, t] for a new customer (FHL 2005, eq. 9).
fn bgnbd_expected(p: &Persona, t: f64) -> f64 {
    let pp = p.purchases;
    let (r, alpha, a, b) = (pp.r, pp.alpha, pp.a, pp.b);
    let z = t / (alpha + t);
    (a + b - 1.0) / (a - 1.0) * (1.0 - (alpha / (alpha + t)).powf(r) * hyp2f1(r, b, a + b - 1.0, z))
}

fn mean_sd(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}

fn within_4_se(name: &str, observed: &[f64], expected: f64) {
    let (m, sd) = mean_sd(observed);
    let se = sd / (observed.len() as f64).sqrt();
    assert!(
        (m - expected).abs() <= 4.0 * se,
        "{name}: mean {m:.5} vs expected {expected:.5} (se {se:.5})"
    );
}

#[test]
fn purchases_follow_bgnbd_and_spend_follows_gamma_gamma() {
    let b = base();
    let cfg = b.config.summary_config().unwrap();
    let end = cfg.window_end();
    let personas = &b.config.personas;
    let total_share: f64 = personas.iter().map(|p| p.share).sum();
    for (k, p) in personas.iter().enumerate() {
        let mut repeats = Vec::new();
        let mut expected = Vec::new();
        let mut no_repeat = Vec::new();
        let mut p_no_repeat = Vec::new();
        let mut first_amounts = Vec::new();
        let mut lambdas = Vec::new();
        for (c, tx) in b.customers.iter().zip(b.transactions.iter_customers()) {
            if c.latent.persona != k {
                continue;
            }
            // The process runs from the start of the acquisition day to the end of the window.
            let t = (end.days_since(c.acquired) + 1) as f64 / 7.0;
            let x = (tx.dates.len() - 1) as f64;
            repeats.push(x);
            expected.push(bgnbd_expected(p, t));
            no_repeat.push(if x == 0.0 { 1.0 } else { 0.0 });
            p_no_repeat.push((p.purchases.alpha / (p.purchases.alpha + t)).powf(p.purchases.r));
            first_amounts.push(tx.amounts[0]);
            lambdas.push(c.latent.purchase_rate);
            assert_eq!(tx.dates[0], c.acquired);
        }
        let n = repeats.len() as f64;
        let share = p.share / total_share;
        let se_share = (share * (1.0 - share) / N as f64).sqrt();
        assert!(
            (n / N as f64 - share).abs() <= 4.0 * se_share,
            "persona {k} share {}",
            n / N as f64
        );
        let e_x = expected.iter().sum::<f64>() / n;
        within_4_se(&format!("persona {k} repeat purchases"), &repeats, e_x);
        let e_zero = p_no_repeat.iter().sum::<f64>() / n;
        let observed_zero = no_repeat.iter().sum::<f64>() / n;
        // Binomial standard error at the expectation (the sample's is 0 when no one qualifies).
        let se_zero = (e_zero * (1.0 - e_zero) / n).sqrt().max(1e-6);
        assert!(
            (observed_zero - e_zero).abs() <= 4.0 * se_zero,
            "persona {k} P(no repeat) {observed_zero:.5} vs {e_zero:.5}"
        );
        let sp = p.spend;
        // Amounts are rounded to cents: a bias below 0.005, far inside the tolerance.
        within_4_se(
            &format!("persona {k} spend"),
            &first_amounts,
            sp.p * sp.gamma / (sp.q - 1.0),
        );
        within_4_se(
            &format!("persona {k} lambda"),
            &lambdas,
            p.purchases.r / p.purchases.alpha,
        );
    }
}

#[test]
fn attributes_are_in_range_and_survey_is_structured() {
    let b = base();
    let mut missing = 0usize;
    let mut answers = 0usize;
    for c in &b.customers {
        let d = &c.demographics;
        assert!((18..=90).contains(&d.age));
        assert!(["female", "male", "non-binary"].contains(&d.gender.as_str()));
        assert!(d.income.is_none_or(|i| i > 0.0));
        assert!(d.education.is_none_or(|e| (1..=5).contains(&e)));
        assert!((1..=6).contains(&d.household_size));
        assert_eq!(c.survey.len(), SURVEY_ITEMS.len());
        for a in &c.survey {
            answers += 1;
            match a {
                None => missing += 1,
                Some(v) => assert!((1..=5).contains(v)),
            }
        }
        // The location is where the recorded distance says, from a real city.
        let city = EUROPEAN_CITIES
            .iter()
            .find(|x| x.name == c.home_city)
            .unwrap();
        let (p1, p2) = (city.latitude.to_radians(), c.latitude.to_radians());
        let dl = (c.longitude - city.longitude).to_radians();
        let h = ((p2 - p1) / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        let km = 2.0 * 6371.0088 * h.sqrt().asin();
        assert!((km - c.distance_to_city_km).abs() < 1e-6);
        assert!(c.distance_to_city_km <= 120.0);
    }
    let rate = missing as f64 / answers as f64;
    let se = (0.03 * 0.97 / answers as f64).sqrt();
    assert!((rate - 0.03).abs() < 4.0 * se, "missing rate {rate}");
    // Items of one factor correlate positively, a reverse-keyed one negatively with the others.
    let col = |j: usize| -> Vec<Option<f64>> {
        b.customers
            .iter()
            .map(|c| c.survey[j].map(f64::from))
            .collect()
    };
    let corr = |x: &[Option<f64>], y: &[Option<f64>]| {
        let pairs: Vec<(f64, f64)> = x
            .iter()
            .zip(y)
            .filter_map(|(a, b)| Some(((*a)?, (*b)?)))
            .collect();
        let n = pairs.len() as f64;
        let (mx, my) = (
            pairs.iter().map(|p| p.0).sum::<f64>() / n,
            pairs.iter().map(|p| p.1).sum::<f64>() / n,
        );
        let sxy: f64 = pairs.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
        let sxx: f64 = pairs.iter().map(|p| (p.0 - mx).powi(2)).sum();
        let syy: f64 = pairs.iter().map(|p| (p.1 - my).powi(2)).sum();
        sxy / (sxx * syy).sqrt()
    };
    for f in 0..4 {
        let (a, b2, r) = (col(3 * f), col(3 * f + 1), col(3 * f + 2));
        assert!(SURVEY_ITEMS[3 * f + 2].reverse_keyed);
        assert!(corr(&a, &b2) > 0.3, "factor {f}");
        assert!(corr(&a, &r) < -0.3, "factor {f}");
        // Items of different factors are far less related.
        let other = col((3 * f + 3) % 12);
        assert!(corr(&a, &other).abs() < 0.25, "factor {f}");
    }
}

#[test]
fn same_seed_same_base_other_seed_other_base() {
    let cfg = SyntheticConfig::new(2_000, 9);
    let (a, b) = (synthetic(&cfg).unwrap(), synthetic(&cfg).unwrap());
    assert_eq!(a.customers, b.customers);
    let s = a.config.summary_config().unwrap();
    assert_eq!(
        a.transactions.summarise(&s).unwrap(),
        b.transactions.summarise(&s).unwrap()
    );
    let c = synthetic(&SyntheticConfig::new(2_000, 10)).unwrap();
    assert_ne!(a.customers, c.customers);
    // The first customers do not depend on how many follow.
    let small = synthetic(&SyntheticConfig::new(100, 9)).unwrap();
    assert_eq!(&a.customers[..100], &small.customers[..]);
}

/// The exported rows are date-ordered and rebuild exactly the generated log.
#[test]
fn exported_rows_rebuild_the_log() {
    let base = synthetic(&SyntheticConfig::new(3_000, 4)).unwrap();
    let rows = base.export_rows();
    assert!(rows.dates.is_sorted());
    let log = custseg::TransactionLog::from_columns(
        &rows.customer_keys,
        &rows.dates,
        &rows.amounts,
        custseg::ReturnPolicy::Error,
    )
    .unwrap();
    assert_eq!(log.len(), base.transactions.len());
    let cfg = base.config.summary_config().unwrap();
    let (a, b) = (
        log.summarise(&cfg).unwrap(),
        base.transactions.summarise(&cfg).unwrap(),
    );
    assert_eq!(a.len(), b.len());
    for x in a.iter() {
        // Key k is the k-th customer of the generated log.
        let key: usize = x.customer_id().as_str().parse().unwrap();
        let y = &b.as_slice()[key - 1];
        assert_eq!(&base.customers[key - 1].customer_id, y.customer_id());
        assert_eq!(
            (x.frequency(), x.recency(), x.age(), x.total_spend()),
            (y.frequency(), y.recency(), y.age(), y.total_spend())
        );
    }
}
