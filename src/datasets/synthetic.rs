//! A seeded generator of realistic customer bases of any size.
//!
//! Each customer belongs to a latent *persona* (a planted segment) that sets the parameters of
//! every part of their record:
//!
//! * **purchases** follow the BG/NBD story (Fader, Hardie & Lee 2005): the first purchase on
//!   the acquisition day, then purchases at Poisson rate λ ~ Gamma(r, α) per week while alive,
//!   and after each repeat purchase the customer drops out with probability p ~ Beta(a, b);
//! * **spend** follows the Gamma-Gamma model: each transaction's amount z ~ Gamma(p, ν) with a
//!   per-customer ν ~ Gamma(q, γ), so E[z] = pγ / (q − 1); amounts are rounded to cents;
//! * **demographics**: age, gender, income (log-normal, sometimes missing), education (1–5,
//!   sometimes missing), occupation, household size and region;
//! * **survey answers**: twelve 1–5 Likert items measuring four lifestyle factors (three items
//!   each, one reverse keyed), with some answers missing;
//! * **location**: a home city among [`EUROPEAN_CITIES`] drawn by population, and a point in
//!   the city, its suburbs or the countryside around it.
//!
//! Every customer has their own random stream derived from the seed and their index, so the
//! output is identical for a given seed whatever the number of threads.

use rand::{Rng, SeedableRng};
use rand_distr::{Beta, Distribution, Exp, Gamma, LogNormal, Normal, Poisson};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cities::{CityRecord, EUROPEAN_CITIES};
use crate::data::{CustomerId, CustomerSummaries, Date, SummaryConfig, TimeUnit, TransactionLog};
use crate::error::{Error, Result};

/// Parameters of the BG/NBD purchase process of a persona (time unit: weeks).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PurchaseProcess {
    /// Shape of the Gamma distribution of purchase rates λ.
    pub r: f64,
    /// Rate (inverse scale) of the Gamma distribution of λ, in weeks; mean λ = r / α.
    pub alpha: f64,
    /// First shape of the Beta distribution of the dropout probability p.
    pub a: f64,
    /// Second shape of the Beta distribution of p; mean p = a / (a + b).
    pub b: f64,
}

/// Parameters of the Gamma-Gamma spend process of a persona.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SpendProcess {
    /// Shape of each transaction's Gamma-distributed amount.
    pub p: f64,
    /// Shape of the Gamma distribution of the customer's rate ν.
    pub q: f64,
    /// Rate of the Gamma distribution of ν; mean amount pγ / (q − 1) when q > 1.
    pub gamma: f64,
}

/// A planted customer segment: who they are, how they buy and what they answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Persona {
    /// A readable name.
    pub name: String,
    /// Relative weight in the population (normalised over all personas).
    pub share: f64,
    /// Purchase process.
    pub purchases: PurchaseProcess,
    /// Spend process.
    pub spend: SpendProcess,
    /// Mean and standard deviation of age in years (clamped to 18–90).
    pub age: (f64, f64),
    /// Median annual income and the log-scale standard deviation.
    pub income: (f64, f64),
    /// Mean education level on the 1–5 scale.
    pub education: f64,
    /// Means of the four survey factors (price consciousness, brand loyalty, innovativeness,
    /// eco-consciousness), in standard deviations.
    pub factors: [f64; 4],
    /// Probability of living in the city proper (the rest split between suburbs and country).
    pub urban: f64,
}

impl Persona {
    /// The four personas of the default configuration.
    pub fn defaults() -> Vec<Persona> {
        let p =
            |name: &str, share, purchases, spend, age, income, education, factors, urban| Persona {
                name: String::from(name),
                share,
                purchases,
                spend,
                age,
                income,
                education,
                factors,
                urban,
            };
        vec![
            p(
                "loyal high spender",
                0.15,
                PurchaseProcess {
                    r: 9.0,
                    alpha: 18.0,
                    a: 2.0,
                    b: 80.0,
                },
                SpendProcess {
                    p: 6.0,
                    q: 12.0,
                    gamma: 100.0,
                },
                (46.0, 10.0),
                (68_000.0, 0.35),
                3.8,
                [-0.8, 1.2, 0.2, 0.6],
                0.7,
            ),
            p(
                "regular shopper",
                0.30,
                PurchaseProcess {
                    r: 5.0,
                    alpha: 20.0,
                    a: 2.0,
                    b: 30.0,
                },
                SpendProcess {
                    p: 5.0,
                    q: 10.0,
                    gamma: 45.0,
                },
                (39.0, 11.0),
                (45_000.0, 0.35),
                3.2,
                [0.0, 0.6, 0.0, 0.0],
                0.55,
            ),
            p(
                "bargain hunter",
                0.30,
                PurchaseProcess {
                    r: 3.0,
                    alpha: 30.0,
                    a: 2.0,
                    b: 14.0,
                },
                SpendProcess {
                    p: 4.0,
                    q: 8.0,
                    gamma: 30.0,
                },
                (33.0, 12.0),
                (31_000.0, 0.4),
                2.7,
                [1.3, -0.6, 0.3, -0.4],
                0.5,
            ),
            p(
                "one-off buyer",
                0.25,
                PurchaseProcess {
                    r: 0.5,
                    alpha: 40.0,
                    a: 3.0,
                    b: 3.0,
                },
                SpendProcess {
                    p: 3.0,
                    q: 6.0,
                    gamma: 50.0,
                },
                (52.0, 15.0),
                (38_000.0, 0.45),
                2.9,
                [0.2, -0.4, -0.9, 0.0],
                0.35,
            ),
        ]
    }
}

/// A survey item of the synthetic lifestyle questionnaire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SurveyQuestion {
    /// Short item name (column name).
    pub name: &'static str,
    /// The statement the respondent rates from 1 (disagree) to 5 (agree).
    pub text: &'static str,
    /// The factor it measures.
    pub factor: &'static str,
    /// Whether agreement means *less* of the factor.
    pub reverse_keyed: bool,
}

/// The twelve items of the synthetic survey, in answer order: four factors, three items each,
/// the third of each reverse keyed.
pub const SURVEY_ITEMS: [SurveyQuestion; 12] = {
    const fn item(
        name: &'static str,
        text: &'static str,
        factor: &'static str,
        reverse_keyed: bool,
    ) -> SurveyQuestion {
        SurveyQuestion {
            name,
            text,
            factor,
            reverse_keyed,
        }
    }
    const PRICE: &str = "price consciousness";
    const LOYAL: &str = "brand loyalty";
    const INNOV: &str = "innovativeness";
    const ECO: &str = "eco-consciousness";
    [
        item("price1", "I compare prices before I buy", PRICE, false),
        item(
            "price2",
            "I wait for sales to buy what I want",
            PRICE,
            false,
        ),
        item(
            "price3",
            "I pay for quality without looking at the price",
            PRICE,
            true,
        ),
        item("loyal1", "I stick to brands I know", LOYAL, false),
        item(
            "loyal2",
            "I recommend the brands I like to friends",
            LOYAL,
            false,
        ),
        item("loyal3", "I like switching between brands", LOYAL, true),
        item(
            "innov1",
            "I am among the first to try new products",
            INNOV,
            false,
        ),
        item(
            "innov2",
            "I prefer shopping online to shopping in stores",
            INNOV,
            false,
        ),
        item(
            "innov3",
            "I wait until new products are proven",
            INNOV,
            true,
        ),
        item("eco1", "I prefer products made sustainably", ECO, false),
        item(
            "eco2",
            "I avoid products with excessive packaging",
            ECO,
            false,
        ),
        item(
            "eco3",
            "Environmental claims do not affect what I buy",
            ECO,
            true,
        ),
    ]
};

/// Occupations of the synthetic customers.
pub const OCCUPATIONS: [&str; 6] = [
    "student",
    "employee",
    "manager",
    "self-employed",
    "retired",
    "not working",
];

/// Demographic attributes of a synthetic customer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Demographics {
    /// Age in years (18–90).
    pub age: u32,
    /// "female", "male" or "non-binary".
    pub gender: String,
    /// Annual income, missing for some customers.
    pub income: Option<f64>,
    /// Education level 1 (lowest) to 5 (highest), missing for some customers.
    pub education: Option<u8>,
    /// One of [`OCCUPATIONS`].
    pub occupation: String,
    /// People in the household (1–6).
    pub household_size: u32,
    /// Country and first-level region of the home city, e.g. "DE-16".
    pub region: String,
}

/// What the generator knows about a customer that a real data set would not show.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatentTraits {
    /// Index of the persona in the configuration.
    pub persona: usize,
    /// Purchase rate λ per week while alive.
    pub purchase_rate: f64,
    /// Probability of dropping out after each repeat purchase.
    pub dropout_probability: f64,
    /// Gamma-Gamma rate ν; the customer's mean amount is p / ν.
    pub spend_rate: f64,
    /// Whether the customer was still alive at the end of the simulated window.
    pub alive_at_end: bool,
}

/// A synthetic customer's attributes; their purchases are in [`SyntheticBase::transactions`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticCustomer {
    /// The id used in the transaction log.
    pub customer_id: CustomerId,
    /// Day of the first purchase.
    pub acquired: Date,
    /// The planted truth.
    pub latent: LatentTraits,
    /// Demographic attributes.
    pub demographics: Demographics,
    /// Answers to [`SURVEY_ITEMS`], 1–5, `None` where unanswered.
    pub survey: Vec<Option<u8>>,
    /// Latitude in degrees (WGS84).
    pub latitude: f64,
    /// Longitude in degrees (WGS84).
    pub longitude: f64,
    /// Name of the home city (one of [`EUROPEAN_CITIES`]).
    pub home_city: String,
    /// Great-circle distance from the home city's centre in km.
    pub distance_to_city_km: f64,
}

/// Settings of the generator. Build with [`SyntheticConfig::new`] and the `with_*` methods; the
/// values are validated when the base is generated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyntheticConfig {
    /// Number of customers.
    pub customers: usize,
    /// Master seed.
    pub seed: u64,
    /// First acquisition day.
    pub start: Date,
    /// Customers are acquired uniformly over this many days from `start`.
    pub acquisition_days: u32,
    /// The calibration period runs from `start` for this many days (inclusive of `start`).
    pub calibration_days: u32,
    /// The holdout period follows the calibration for this many days.
    pub holdout_days: u32,
    /// The planted segments.
    pub personas: Vec<Persona>,
    /// Probability that a survey answer, an income or an education level is missing.
    pub missing_rate: f64,
}

impl SyntheticConfig {
    /// `customers` customers with seed `seed`, acquired over 12 weeks from 2024-01-01, a
    /// 52-week calibration period, a 26-week holdout and the four default personas. That
    /// gives about ten transactions per customer.
    pub fn new(customers: usize, seed: u64) -> Self {
        SyntheticConfig {
            customers,
            seed,
            start: Date::ymd_unchecked(2024, 1, 1),
            acquisition_days: 84,
            calibration_days: 364,
            holdout_days: 182,
            personas: Persona::defaults(),
            missing_rate: 0.03,
        }
    }

    /// Replaces the personas.
    pub fn with_personas(mut self, personas: Vec<Persona>) -> Self {
        self.personas = personas;
        self
    }

    /// Sets the window: acquisition, calibration and holdout lengths in days.
    pub fn with_window(
        mut self,
        acquisition_days: u32,
        calibration_days: u32,
        holdout_days: u32,
    ) -> Self {
        self.acquisition_days = acquisition_days;
        self.calibration_days = calibration_days;
        self.holdout_days = holdout_days;
        self
    }

    /// Sets the first acquisition day.
    pub fn with_start(mut self, start: Date) -> Self {
        self.start = start;
        self
    }

    /// Sets the probability of missing survey answers, incomes and education levels.
    pub fn with_missing_rate(mut self, rate: f64) -> Self {
        self.missing_rate = rate;
        self
    }

    /// Last day of the calibration period.
    ///
    /// # Errors
    /// [`Error::InvalidDate`] when it falls outside the representable range.
    pub fn observation_end(&self) -> Result<Date> {
        self.start.add_days(self.calibration_days as i64 - 1)
    }

    /// The summary configuration matching the simulated window (weeks, daily purchases; no
    /// holdout when `holdout_days` is 0).
    ///
    /// # Errors
    /// As [`SyntheticConfig::observation_end`].
    pub fn summary_config(&self) -> Result<SummaryConfig> {
        let obs = self.observation_end()?;
        let cfg = SummaryConfig::new(obs).with_unit(TimeUnit::Weeks);
        Ok(match self.holdout_days {
            0 => cfg,
            h => cfg.with_holdout_end(obs.add_days(h as i64)?),
        })
    }

    fn validate(&self) -> Result<()> {
        let bad = |name: &'static str, value: String, reason: &str| {
            Err(Error::InvalidParameter {
                name,
                value,
                reason: reason.to_string(),
            })
        };
        if self.customers == 0 {
            return bad("customers", "0".into(), "at least one customer");
        }
        if self.customers > u32::MAX as usize {
            return bad(
                "customers",
                self.customers.to_string(),
                "at most 4,294,967,295",
            );
        }
        if self.acquisition_days == 0 || self.acquisition_days > self.calibration_days {
            return bad(
                "acquisition_days",
                self.acquisition_days.to_string(),
                "between 1 and calibration_days",
            );
        }
        if !(0.0..1.0).contains(&self.missing_rate) {
            return bad("missing_rate", self.missing_rate.to_string(), "in [0, 1)");
        }
        if self.personas.is_empty() {
            return bad("personas", "[]".into(), "at least one persona");
        }
        self.summary_config()?;
        for p in &self.personas {
            let positive = [
                ("share", p.share),
                ("purchases.r", p.purchases.r),
                ("purchases.alpha", p.purchases.alpha),
                ("purchases.a", p.purchases.a),
                ("purchases.b", p.purchases.b),
                ("spend.p", p.spend.p),
                ("spend.q", p.spend.q),
                ("spend.gamma", p.spend.gamma),
                ("age.1", p.age.1),
                ("income.0", p.income.0),
                ("income.1", p.income.1),
            ];
            for (name, v) in positive {
                if !(v.is_finite() && v > 0.0) {
                    return bad(name, format!("{v} (persona {})", p.name), "finite and > 0");
                }
            }
            if !(0.0..=1.0).contains(&p.urban) {
                return bad("urban", p.urban.to_string(), "in [0, 1]");
            }
            if !(p.age.0.is_finite()
                && p.education.is_finite()
                && p.factors.iter().all(|f| f.is_finite()))
            {
                return bad(
                    "persona",
                    p.name.clone(),
                    "age, education and factor means must be finite",
                );
            }
        }
        Ok(())
    }
}

/// A generated customer base: the transaction log and every customer's attributes, aligned
/// with the log's customer order.
#[derive(Debug, Clone)]
pub struct SyntheticBase {
    /// The configuration it was generated from.
    pub config: SyntheticConfig,
    /// Every purchase from acquisition to the end of the holdout period.
    pub transactions: TransactionLog,
    /// The customers, in the log's customer order.
    pub customers: Vec<SyntheticCustomer>,
}

/// Generates a customer base.
///
/// ```
/// use custseg::datasets::{synthetic, SyntheticConfig};
/// let base = synthetic(&SyntheticConfig::new(1_000, 7))?;
/// assert_eq!(base.customers.len(), 1_000);
/// assert_eq!(base.transactions.customers(), 1_000);
/// let summaries = base.transactions.summarise(&base.config.summary_config()?)?;
/// assert_eq!(summaries.len(), 1_000);
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidParameter`] for a configuration out of range (no customers, a persona with a
/// non-positive parameter, a missing rate outside [0, 1), …).
pub fn synthetic(config: &SyntheticConfig) -> Result<SyntheticBase> {
    config.validate()?;
    let city_weights = city_weights();
    let ctx = Ctx::new(config, &city_weights)?;
    let (transactions, customers) = ctx.generate(0..config.customers)?;
    Ok(SyntheticBase {
        config: config.clone(),
        transactions,
        customers,
    })
}

/// Customers generated per chunk by [`synthetic_summaries`].
const SUMMARY_CHUNK: usize = 1 << 20;

/// The customer summaries of the base [`synthetic`] would generate, at the configuration's
/// observation end and holdout, without keeping its transactions or attributes: the base is
/// generated and summarised a chunk of customers at a time, so bases of tens of millions of
/// customers fit in memory. Equal to `synthetic(config)?.transactions.summarise(...)`.
///
/// ```
/// use custseg::datasets::{synthetic, synthetic_summaries, SyntheticConfig};
/// let cfg = SyntheticConfig::new(500, 3);
/// let direct = synthetic(&cfg)?.transactions.summarise(&cfg.summary_config()?)?;
/// assert_eq!(synthetic_summaries(&cfg)?, direct);
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// As [`synthetic`].
pub fn synthetic_summaries(config: &SyntheticConfig) -> Result<CustomerSummaries> {
    config.validate()?;
    let city_weights = city_weights();
    let ctx = Ctx::new(config, &city_weights)?;
    let summary_config = config.summary_config()?;
    let mut parts = Vec::new();
    let mut start = 0;
    while start < config.customers {
        let end = (start + SUMMARY_CHUNK).min(config.customers);
        let (log, _) = ctx.generate(start..end)?;
        parts.push(log.summarise(&summary_config)?);
        start = end;
    }
    Ok(CustomerSummaries::concat(summary_config, parts))
}

fn city_weights() -> Vec<f64> {
    EUROPEAN_CITIES
        .iter()
        .map(|c| c.population as f64)
        .collect()
}

impl<'a> Ctx<'a> {
    fn new(config: &'a SyntheticConfig, city_weights: &'a [f64]) -> Result<Self> {
        Ok(Ctx {
            config,
            total_share: config.personas.iter().map(|p| p.share).sum(),
            width: config.customers.to_string().len().max(6),
            // Purchases are simulated through the last day of the holdout period.
            horizon_end: config.summary_config()?.window_end(),
            city_weights,
            city_total: city_weights.iter().sum(),
        })
    }

    /// The log and attributes of customers `range` (global indices, so any split of the
    /// customers into ranges generates the same customers).
    fn generate(
        &self,
        range: std::ops::Range<usize>,
    ) -> Result<(TransactionLog, Vec<SyntheticCustomer>)> {
        let generated: Vec<(SyntheticCustomer, Vec<Row>)> = range
            .into_par_iter()
            .map(|i| self.customer(i))
            .collect::<Result<_>>()?;
        let counts = generated.iter().map(|(_, rows)| rows.len());
        let offsets = crate::par::offsets_from_counts(counts);
        let n = offsets.last().copied().unwrap_or(0);
        let mut dates = Vec::with_capacity(n);
        let mut amounts = Vec::with_capacity(n);
        let mut quantities = Vec::with_capacity(n);
        let mut ids = Vec::with_capacity(generated.len());
        let mut customers = Vec::with_capacity(generated.len());
        for (c, rows) in generated {
            for r in rows {
                dates.push(r.date);
                amounts.push(r.amount);
                quantities.push(Some(r.quantity));
            }
            ids.push(c.customer_id.clone());
            customers.push(c);
        }
        let report = crate::data::LogReport {
            rows_read: dates.len(),
            rows_kept: dates.len(),
            zero_amounts: amounts.iter().filter(|&&a| a == 0.0).count(),
            ..Default::default()
        };
        let log = TransactionLog::from_grouped_parts(
            ids,
            offsets,
            dates,
            amounts,
            Some(quantities),
            report,
        );
        Ok((log, customers))
    }
}

/// A base's transactions as a source system would export them: one row per transaction,
/// ordered by date (then customer), customers keyed by integers 1..=n in log order.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportedRows {
    /// Customer key of each row: the customer's position in the log, from 1.
    pub customer_keys: Vec<u64>,
    /// Date of each row.
    pub dates: Vec<Date>,
    /// Amount of each row.
    pub amounts: Vec<f64>,
}

impl SyntheticBase {
    /// The transactions as date-ordered rows with integer customer keys, the input the
    /// benchmarks and the Python peers share.
    pub fn export_rows(&self) -> ExportedRows {
        let mut rows: Vec<(Date, u64, f64)> = Vec::with_capacity(self.transactions.len());
        for (i, c) in self.transactions.iter_customers().enumerate() {
            for (&d, &a) in c.dates.iter().zip(c.amounts) {
                rows.push((d, i as u64 + 1, a));
            }
        }
        // Stable: a customer's same-day rows keep their order.
        rows.par_sort_by_key(|r| (r.0, r.1));
        ExportedRows {
            customer_keys: rows.iter().map(|r| r.1).collect(),
            dates: rows.iter().map(|r| r.0).collect(),
            amounts: rows.iter().map(|r| r.2).collect(),
        }
    }
}

struct Row {
    date: Date,
    amount: f64,
    quantity: u32,
}

struct Ctx<'a> {
    config: &'a SyntheticConfig,
    total_share: f64,
    width: usize,
    horizon_end: Date,
    city_weights: &'a [f64],
    city_total: f64,
}

/// SplitMix64: decorrelates the per-customer seeds derived from one master seed.
fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn pick(rng: &mut impl Rng, weights: impl IntoIterator<Item = f64>, total: f64) -> usize {
    let mut u = rng.r#gen::<f64>() * total;
    let mut last = 0;
    for (i, w) in weights.into_iter().enumerate() {
        if u < w {
            return i;
        }
        u -= w;
        last = i;
    }
    last
}

/// Purchases one synthetic customer may make before the persona is called unrealistic.
const MAX_PURCHASES_PER_CUSTOMER: usize = 100_000;

fn param_err(name: &'static str, e: impl std::fmt::Display) -> Error {
    Error::InvalidParameter {
        name,
        value: String::from("(persona)"),
        reason: e.to_string(),
    }
}

impl Ctx<'_> {
    fn customer(&self, i: usize) -> Result<(SyntheticCustomer, Vec<Row>)> {
        let cfg = self.config;
        let mut rng =
            Xoshiro256PlusPlus::seed_from_u64(splitmix64(cfg.seed ^ splitmix64(i as u64)));
        let k = pick(
            &mut rng,
            cfg.personas.iter().map(|p| p.share),
            self.total_share,
        );
        let persona = &cfg.personas[k];
        let acquired = cfg
            .start
            .add_days(rng.gen_range(0..cfg.acquisition_days) as i64)?;

        // Purchases (BG/NBD), times in weeks from the start of the acquisition day.
        let pp = persona.purchases;
        let lambda = Gamma::new(pp.r, 1.0 / pp.alpha)
            .map_err(|e| param_err("purchases", e))?
            .sample(&mut rng);
        let dropout = Beta::new(pp.a, pp.b)
            .map_err(|e| param_err("purchases", e))?
            .sample(&mut rng);
        let sp = persona.spend;
        let nu = Gamma::new(sp.q, 1.0 / sp.gamma)
            .map_err(|e| param_err("spend", e))?
            .sample(&mut rng);
        let amount_dist = Gamma::new(sp.p, 1.0 / nu).map_err(|e| param_err("spend", e))?;
        let horizon_weeks = (self.horizon_end.days_since(acquired) + 1) as f64 / 7.0;
        let mut rows = Vec::new();
        let mut buy = |rng: &mut Xoshiro256PlusPlus, weeks: f64| -> Result<()> {
            // Persona parameters that are merely finite and positive can still draw an
            // infinite amount, or a purchase rate that never lets time advance.
            if rows.len() >= MAX_PURCHASES_PER_CUSTOMER {
                return Err(param_err(
                    "purchases",
                    format!("more than {MAX_PURCHASES_PER_CUSTOMER} purchases for one customer"),
                ));
            }
            let amount = (amount_dist.sample(rng) * 100.0).round() / 100.0;
            if !amount.is_finite() {
                return Err(param_err("spend", format!("an amount of {amount}")));
            }
            let quantity = 1 + Poisson::new(0.6).map_or(0, |d| d.sample(rng) as u32);
            rows.push(Row {
                date: acquired.add_days((weeks * 7.0).floor() as i64)?,
                amount,
                quantity,
            });
            Ok(())
        };
        buy(&mut rng, 0.0)?;
        let mut t = 0.0;
        let mut alive = true;
        if lambda > 0.0 {
            let gap = Exp::new(lambda).map_err(|e| param_err("purchases", e))?;
            loop {
                t += gap.sample(&mut rng);
                if t >= horizon_weeks {
                    break;
                }
                buy(&mut rng, t)?;
                if rng.r#gen::<f64>() < dropout {
                    alive = false;
                    break;
                }
            }
        }

        // Home city and location.
        let city: &CityRecord =
            &EUROPEAN_CITIES[pick(&mut rng, self.city_weights.iter().copied(), self.city_total)];
        let u = rng.r#gen::<f64>();
        let distance_km = if u < persona.urban {
            Normal::new(0.0, 4.0).map_or(0.0, |d: Normal<f64>| d.sample(&mut rng).abs().min(9.5))
        } else if u < persona.urban + (1.0 - persona.urban) * 0.65 {
            rng.gen_range(12.0..35.0)
        } else {
            rng.gen_range(45.0..120.0)
        };
        let bearing = rng.gen_range(0.0..std::f64::consts::TAU);
        let (latitude, longitude) =
            destination(city.latitude, city.longitude, bearing, distance_km);

        // Demographics.
        let age = Normal::new(persona.age.0, persona.age.1)
            .map_err(|e| param_err("age", e))?
            .sample(&mut rng)
            .clamp(18.0, 90.0)
            .round() as u32;
        let gender = match rng.r#gen::<f64>() {
            g if g < 0.51 => "female",
            g if g < 0.98 => "male",
            _ => "non-binary",
        };
        let income_draw = LogNormal::new(persona.income.0.ln(), persona.income.1)
            .map_err(|e| param_err("income", e))?
            .sample(&mut rng);
        let income = (rng.r#gen::<f64>() >= cfg.missing_rate)
            .then_some((income_draw / 100.0).round() * 100.0);
        let edu_draw = (persona.education + rng.gen_range(-1.5..1.5))
            .round()
            .clamp(1.0, 5.0) as u8;
        let education = (rng.r#gen::<f64>() >= cfg.missing_rate).then_some(edu_draw);
        let occupation = if age >= 66 && rng.r#gen::<f64>() < 0.85 {
            "retired"
        } else if age <= 24 && rng.r#gen::<f64>() < 0.6 {
            "student"
        } else {
            let w = [0.0, 0.55, 0.12 + 0.04 * edu_draw as f64, 0.12, 0.0, 0.08];
            OCCUPATIONS[pick(&mut rng, w, w.iter().sum())]
        };
        let household_size = 1 + Poisson::new(1.2)
            .map_or(0, |d| d.sample(&mut rng) as u32)
            .min(5);

        // Survey: answer = 3 + loading × factor score + noise, rounded and clamped to 1..5.
        let std_normal = Normal::new(0.0, 1.0).map_err(|e| param_err("survey", e))?;
        let scores: Vec<f64> = persona
            .factors
            .iter()
            .map(|m| m + std_normal.sample(&mut rng))
            .collect();
        let survey = SURVEY_ITEMS
            .iter()
            .enumerate()
            .map(|(j, item)| {
                let sign = if item.reverse_keyed { -1.0 } else { 1.0 };
                let raw = 3.0 + sign * 0.9 * scores[j / 3] + 0.7 * std_normal.sample(&mut rng);
                let answer = raw.round().clamp(1.0, 5.0) as u8;
                (rng.r#gen::<f64>() >= cfg.missing_rate).then_some(answer)
            })
            .collect();

        let customer = SyntheticCustomer {
            customer_id: CustomerId::from(format!("C{:0width$}", i + 1, width = self.width)),
            acquired,
            latent: LatentTraits {
                persona: k,
                purchase_rate: lambda,
                dropout_probability: dropout,
                spend_rate: nu,
                alive_at_end: alive,
            },
            demographics: Demographics {
                age,
                gender: gender.to_string(),
                income,
                education,
                occupation: occupation.to_string(),
                household_size,
                region: format!("{}-{}", city.country, city.admin1),
            },
            survey,
            latitude,
            longitude,
            home_city: city.name.to_string(),
            distance_to_city_km: distance_km,
        };
        Ok((customer, rows))
    }
}

/// Mean Earth radius (IUGG), km.
const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The point `distance_km` from (lat, lon) along the initial `bearing` (radians, clockwise from
/// north) on a sphere.
fn destination(lat: f64, lon: f64, bearing: f64, distance_km: f64) -> (f64, f64) {
    let (phi1, lambda1) = (lat.to_radians(), lon.to_radians());
    let delta = distance_km / EARTH_RADIUS_KM;
    let phi2 = (phi1.sin() * delta.cos() + phi1.cos() * delta.sin() * bearing.cos()).asin();
    let lambda2 = lambda1
        + (bearing.sin() * delta.sin() * phi1.cos()).atan2(delta.cos() - phi1.sin() * phi2.sin());
    let lon2 = (lambda2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0;
    (phi2.to_degrees(), lon2)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn haversine(a: (f64, f64), b: (f64, f64)) -> f64 {
        let (p1, p2) = (a.0.to_radians(), b.0.to_radians());
        let dp = p2 - p1;
        let dl = (b.1 - a.1).to_radians();
        let h = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * h.sqrt().asin()
    }

    #[test]
    fn destination_is_at_the_requested_distance() {
        for (bearing, d) in [(0.0, 10.0), (1.0, 35.0), (4.0, 120.0)] {
            let p = destination(48.85341, 2.3488, bearing, d);
            assert!((haversine((48.85341, 2.3488), p) - d).abs() < 1e-6);
        }
    }

    #[test]
    fn invalid_configurations_are_rejected() {
        assert!(synthetic(&SyntheticConfig::new(0, 1)).is_err());
        assert!(synthetic(&SyntheticConfig::new(10, 1).with_missing_rate(1.0)).is_err());
        assert!(synthetic(&SyntheticConfig::new(10, 1).with_personas(vec![])).is_err());
        let mut bad = Persona::defaults();
        bad[0].purchases.alpha = 0.0;
        let e = synthetic(&SyntheticConfig::new(10, 1).with_personas(bad)).unwrap_err();
        assert!(e.to_string().contains("purchases.alpha"), "{e}");
        assert!(synthetic(&SyntheticConfig::new(10, 1).with_window(100, 50, 10)).is_err());
    }
}
