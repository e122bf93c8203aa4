//! No NaN or infinity for any valid input: the models' likelihoods and predictions over wide
//! ranges of histories (x up to 10,000; t_x, T up to 10,000 periods) and parameters (1e-3 to
//! 1e3).

use custseg::clv::{BgNbd, MbgNbd, ParetoNbd, Rft, TransactionModel};
use proptest::prelude::*;

fn param() -> impl Strategy<Value = f64> {
    (-3.0f64..3.0).prop_map(|e| 10f64.powf(e))
}

fn history() -> impl Strategy<Value = Rft> {
    (
        0u32..=10_000,
        0.0f64..=10_000.0,
        0.0f64..=1.0,
        any::<bool>(),
    )
        .prop_map(|(x, big_t, frac, zero)| {
            let x = if zero { 0 } else { x };
            let t_x = if x == 0 { 0.0 } else { big_t * frac };
            Rft::new(x, t_x, big_t).unwrap()
        })
}

fn check(m: &dyn TransactionModel, c: &Rft, t: f64) -> Result<(), TestCaseError> {
    let ll = m.log_likelihood(c);
    // A density in t_x, so it may exceed 1: only finiteness is required.
    prop_assert!(ll.is_finite(), "{} ll {ll} at {c:?}", m.name());
    let p = m
        .p_alive(c)
        .map_err(|e| TestCaseError::fail(format!("{} at {c:?}: {e}", m.name())))?;
    prop_assert!(
        p.is_finite() && (0.0..=1.0).contains(&p),
        "{} P(alive) {p} at {c:?}",
        m.name()
    );
    let e = m.expected_purchases(c, t).unwrap();
    prop_assert!(
        e.is_finite() && e >= 0.0,
        "{} E {e} at {c:?}, t = {t}",
        m.name()
    );
    let n = m.expected_purchases_new(t).unwrap();
    prop_assert!(n.is_finite() && n >= 0.0, "{} E new {n}, t = {t}", m.name());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn pareto_nbd_is_finite_everywhere(r in param(), alpha in param(), s in param(), beta in param(),
                                        c in history(), t in 0.0f64..=10_000.0) {
        check(&ParetoNbd::new(r, alpha, s, beta).unwrap(), &c, t)?;
    }

    #[test]
    fn bgnbd_is_finite_everywhere(r in param(), alpha in param(), a in param(), b in param(),
                                  c in history(), t in 0.0f64..=10_000.0) {
        check(&BgNbd::new(r, alpha, a, b).unwrap(), &c, t)?;
    }

    #[test]
    fn mbgnbd_is_finite_everywhere(r in param(), alpha in param(), a in param(), b in param(),
                                   c in history(), t in 0.0f64..=10_000.0) {
        check(&MbgNbd::new(r, alpha, a, b).unwrap(), &c, t)?;
    }
}

/// The corners the random cases may miss.
#[test]
fn extreme_corners_are_finite() {
    let corners = [1e-3, 1e3];
    for &r in &corners {
        for &alpha in &corners {
            for &s in &corners {
                for &beta in &corners {
                    let models: [Box<dyn TransactionModel>; 3] = [
                        Box::new(ParetoNbd::new(r, alpha, s, beta).unwrap()),
                        Box::new(BgNbd::new(r, alpha, s, beta).unwrap()),
                        Box::new(MbgNbd::new(r, alpha, s, beta).unwrap()),
                    ];
                    for m in &models {
                        for c in [
                            Rft::new(0, 0.0, 0.0).unwrap(),
                            Rft::new(0, 0.0, 10_000.0).unwrap(),
                            Rft::new(10_000, 1e-3, 10_000.0).unwrap(),
                            Rft::new(10_000, 10_000.0, 10_000.0).unwrap(),
                            Rft::new(1, 9_999.0, 10_000.0).unwrap(),
                        ] {
                            for t in [0.0, 1e-3, 1.0, 10_000.0] {
                                check(m.as_ref(), &c, t).unwrap();
                            }
                        }
                    }
                }
            }
        }
    }
}
