//! Gamma-Gamma spend model (Fader, Hardie & Lee 2005, "RFM and CLV: using iso-value curves
//! for customer base analysis", JMR 42(4); and the note "The Gamma-Gamma model of monetary
//! value").
//!
//! Each transaction's value is Gamma(p, ν) with a customer-specific ν ~ Gamma(q, γ) across
//! customers, so a customer's mean transaction value is p/ν and the population mean is
//! pγ/(q − 1). The model is fitted on the mean spend z̄ of repeat purchases (the BTYD
//! `monetary` convention) and assumes spend is independent of purchase frequency.

use serde::{Deserialize, Serialize};

use super::check_positive;
use super::fit::{FitReport, LIKELIHOOD_CHUNK, Likelihood, MaxLikelihood, fit};
use crate::data::CustomerSummary;
use crate::error::{Error, Position, Result, finite_or_overflow};
use crate::par::ordered_sum;
use crate::special::Real;

/// Repeat customers' numbers of repeat purchases and mean repeat spend, the input of the
/// Gamma-Gamma model.
#[derive(Debug, Clone, PartialEq)]
pub struct SpendData {
    rows: Vec<((f64, f64), f64)>,
    excluded_zero_spend: usize,
    excluded_no_repeat: usize,
}

impl SpendData {
    /// From summaries: customers with at least one repeat purchase and a positive mean spend.
    /// Customers without repeat purchases carry no spend information under the BTYD
    /// convention, and a mean spend of zero is impossible under a Gamma distribution; both are
    /// left out and counted ([`SpendData::excluded_no_repeat`],
    /// [`SpendData::excluded_zero_spend`]).
    ///
    /// # Errors
    /// [`Error::InvalidRecord`] for a non-finite or negative mean spend (naming the
    /// customer); [`Error::EmptyInput`] when no customer qualifies.
    pub fn from_summaries(summaries: &[CustomerSummary]) -> Result<Self> {
        let mut rows = Vec::new();
        let (mut zero, mut none) = (0, 0);
        for (row, s) in summaries.iter().enumerate() {
            if !(s.monetary.is_finite() && s.monetary >= 0.0) {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(row)
                        .with_customer(&s.customer_id)
                        .with_column("monetary"),
                    reason: format!("{} must be finite and not negative", s.monetary),
                });
            }
            if s.frequency == 0 {
                none += 1;
            } else if s.monetary == 0.0 {
                zero += 1;
            } else {
                rows.push(((s.frequency as f64, s.monetary), 1.0));
            }
        }
        let mut d = SpendData::from_weighted(rows)?;
        d.excluded_zero_spend = zero;
        d.excluded_no_repeat = none;
        Ok(d)
    }

    /// From weighted rows of (repeat purchases x ≥ 1, mean spend z̄ > 0).
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::InvalidRecord`] naming the row for x < 1, z̄ ≤ 0,
    /// non-finite values or a weight that is not finite and positive.
    pub fn from_weighted(rows: Vec<((f64, f64), f64)>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::EmptyInput {
                what: "repeat customers",
            });
        }
        for (i, &((x, z), w)) in rows.iter().enumerate() {
            let ok =
                x.is_finite() && x >= 1.0 && z.is_finite() && z > 0.0 && w.is_finite() && w > 0.0;
            if !ok {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(i),
                    reason: format!(
                        "x = {x}, mean spend = {z}, weight = {w}: need x ≥ 1, spend > 0, weight > 0"
                    ),
                });
            }
        }
        Ok(SpendData {
            rows,
            excluded_zero_spend: 0,
            excluded_no_repeat: 0,
        })
    }

    /// Customers used.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no customer is used (never true for a built value).
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Repeat customers left out because their mean repeat spend was zero.
    pub fn excluded_zero_spend(&self) -> usize {
        self.excluded_zero_spend
    }

    /// Customers left out because they made no repeat purchase.
    pub fn excluded_no_repeat(&self) -> usize {
        self.excluded_no_repeat
    }
}

struct Lik;

/// The density of z̄ given x (the Gamma-Gamma note, eq. 4):
/// Γ(px+q)/(Γ(px)Γ(q)) · γ^q · z̄^(px−1) · x^(px) / (γ + x z̄)^(px+q).
fn ll_one<R: Real>(par: &[R; 3], row: &(f64, f64)) -> R {
    let [p, q, g] = *par;
    let (x, z) = *row;
    let px = p * x;
    (px + q).ln_gamma() - px.ln_gamma() - q.ln_gamma()
        + q * g.ln()
        + (px - 1.0) * z.ln()
        + px * x.ln()
        - (px + q) * (g + x * z).ln()
}

impl Likelihood<3> for Lik {
    type Data = [((f64, f64), f64)];
    const NAME: &'static str = "Gamma-Gamma";
    const PARAMS: [&'static str; 3] = ["p", "q", "gamma"];

    fn total<R: Real + Send + Sync>(p: &[R; 3], d: &Self::Data) -> R {
        ordered_sum(d.len(), LIKELIHOOD_CHUNK, |i| ll_one(p, &d[i].0) * d[i].1)
    }

    fn weight(d: &Self::Data) -> f64 {
        d.iter().map(|r| r.1).sum()
    }

    fn rows(d: &Self::Data) -> usize {
        d.len()
    }
}

/// A fitted Gamma-Gamma model.
///
/// ```
/// use custseg::clv::GammaGamma;
/// // The published CDNOW estimates.
/// let gg = GammaGamma::new(6.2488, 3.7446, 15.4477)?;
/// // CDNOW customer 1: two repeat purchases averaging $22.35 (the published summary's value).
/// assert!((gg.expected_spend(2, 22.35)? - 24.6586).abs() < 1e-4);
/// // No repeat purchase: the population mean, pγ/(q − 1).
/// assert!((gg.expected_spend(0, 0.0)? - 35.1710).abs() < 1e-3);
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GammaGammaRecord")]
pub struct GammaGamma {
    p: f64,
    q: f64,
    gamma: f64,
}

#[derive(Deserialize)]
struct GammaGammaRecord {
    p: f64,
    q: f64,
    gamma: f64,
}

impl TryFrom<GammaGammaRecord> for GammaGamma {
    type Error = Error;
    fn try_from(v: GammaGammaRecord) -> Result<Self> {
        GammaGamma::new(v.p, v.q, v.gamma)
    }
}

impl GammaGamma {
    /// A model with shape p of transaction values, and shape q and rate γ of the distribution
    /// of the per-customer rate ν.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] unless every parameter is finite and positive.
    pub fn new(p: f64, q: f64, gamma: f64) -> Result<Self> {
        check_positive(&[("p", p), ("q", q), ("gamma", gamma)])?;
        Ok(GammaGamma { p, q, gamma })
    }

    /// Shape p of a transaction's value.
    pub fn p(&self) -> f64 {
        self.p
    }

    /// Shape q of the distribution of ν.
    pub fn q(&self) -> f64 {
        self.q
    }

    /// Rate γ of the distribution of ν.
    pub fn gamma(&self) -> f64 {
        self.gamma
    }

    /// The unfitted model: maximum-likelihood settings to [`Fit`](crate::Fit) on a
    /// [`SpendData`].
    pub fn params() -> MaxLikelihood<GammaGamma> {
        MaxLikelihood::default()
    }

    /// Log-likelihood of one customer's mean spend z̄ over x repeat purchases.
    pub fn log_likelihood(&self, x: f64, mean_spend: f64) -> f64 {
        ll_one(&[self.p, self.q, self.gamma], &(x, mean_spend))
    }

    /// Total log-likelihood of the data.
    pub fn total_log_likelihood(&self, data: &SpendData) -> f64 {
        Lik::total(&[self.p, self.q, self.gamma], &data.rows[..])
    }

    /// Mean transaction value of the population, pγ/(q − 1).
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] when q ≤ 1: the mean is then infinite;
    /// [`Error::Overflow`] when p·γ/(q − 1) passes f64 (parameters near 1e200).
    pub fn population_mean_spend(&self) -> Result<f64> {
        if self.q <= 1.0 {
            return Err(Error::InvalidParameter {
                name: "q",
                value: self.q.to_string(),
                reason: "the population mean spend is infinite for q ≤ 1".into(),
            });
        }
        finite_or_overflow(
            "population mean spend",
            self.p * self.gamma / (self.q - 1.0),
        )
    }

    /// Expected mean transaction value of a customer with `x` repeat purchases averaging
    /// `mean_spend`: a weighted average of the population mean and the customer's own mean,
    /// (γ + x z̄) p / (p x + q − 1) (FHL 2005 eq. 5). For x = 0 it is the population mean.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a non-finite or negative `mean_spend`, or where the
    /// expectation is infinite (p x + q ≤ 1); [`Error::Overflow`] where the finite value
    /// passes f64 (the same for x = 0 and x > 0).
    pub fn expected_spend(&self, x: u32, mean_spend: f64) -> Result<f64> {
        if !(mean_spend.is_finite() && mean_spend >= 0.0) {
            return Err(Error::InvalidParameter {
                name: "mean_spend",
                value: mean_spend.to_string(),
                reason: "finite and not negative".into(),
            });
        }
        if x == 0 {
            return self.population_mean_spend();
        }
        let xf = x as f64;
        let denom = self.p * xf + self.q - 1.0;
        if denom <= 0.0 {
            return Err(Error::InvalidParameter {
                name: "q",
                value: self.q.to_string(),
                reason: format!("the expected spend is infinite when p·x + q ≤ 1 (x = {x})"),
            });
        }
        // The same error as x = 0 gives (the population mean): the model overflows.
        finite_or_overflow(
            "expected spend",
            (self.gamma + xf * mean_spend) * self.p / denom,
        )
    }
}

impl crate::Fit for MaxLikelihood<GammaGamma> {
    type Data<'a> = SpendData;
    type Model = GammaGamma;
    type Report = FitReport;

    /// Fits the model by maximum likelihood.
    ///
    /// # Errors
    /// [`Error::EmptyInput`]; [`Error::NotConverged`].
    fn fit(&self, data: &SpendData) -> Result<(GammaGamma, FitReport)> {
        let ([p, q, g], report) = fit::<Lik, 3>(&data.rows[..], [1.0; 3], self.options())?;
        Ok((GammaGamma::new(p, q, g)?, report))
    }
}
