//! # custseg — customer segmentation and customer-value scoring
//!
//! `custseg` turns a transaction log into the numbers marketers and analysts work with:
//! per-customer summaries (frequency, recency, age, spend), and on top of them scores and
//! segments. It is a plain library: no I/O of its own beyond parsing helpers, every model is
//! serde data, every batch API is rayon-parallel and gives the same answer at any thread
//! count, and no function panics on bad data — it returns an [`Error`] that says which row,
//! customer, field and value were wrong.
//!
//! ## The flow
//!
//! Data moves one way: **transactions → customer summaries → scores and segments → reports**.
//!
//! 1. Rows go into a [`TransactionLog`]: validated (NaN and infinite amounts are errors,
//!    negative amounts follow an explicit [`ReturnPolicy`]), grouped by customer and sorted by
//!    date, in any input order. Customer ids are text ([`CustomerId`]), interned once each.
//! 2. [`TransactionLog::summarise`] condenses each customer at an observation end into a
//!    [`CustomerSummary`]: the buy-till-you-die quantities x (repeat purchases), t_x (time of the
//!    last purchase), T (age) and z̄ (mean repeat spend), total spend, and holdout activity when
//!    a holdout period follows. Times are in the [`TimeUnit`] you choose.
//! 3. For data that arrives in partitions, [`PurchaseHistories`] is the mergeable
//!    per-customer state: summarise partitions separately, merge, and get the one-pass result.
//!    For data that arrives one event at a time, [`CustomerHistory::record`] adds a purchase
//!    (in any order) and [`CustomerHistory::summarise`] gives that customer's summary alone,
//!    ready to rescore with models fitted earlier.
//! 4. On the summaries: [`rfm`] scores and named segments; [`clv`] customer lifetime value
//!    (BG/NBD, MBG/NBD, Pareto/NBD, BG/BB, Gamma-Gamma, and the simple formula); [`churn`] risk
//!    scorers and the metrics to judge them.
//! 5. [`segment`]: behavioral, demographic, psychographic (survey items → factors →
//!    segments) and geographic (regions, density on the sphere, urbanicity, trade areas)
//!    segment models over a shared core (feature preparation, k-means / Gaussian mixture /
//!    DBSCAN / k-prototypes / rule bands, validity metrics and the choice of k, profiles and
//!    names); [`geo`] has the coordinates, great-circle distances and spatial index beneath.
//! 6. [`report`]: KPIs and campaign ROI per segment, migration between two snapshots,
//!    stability of a segmentation, drift from the fitting snapshot, customer portraits (every
//!    model's answer about a customer, with a lifecycle stage and tags) and segment portraits
//!    in words, keyed pseudonyms, and a k-anonymity floor on every report.
//! 7. [`experiment`]: A/B tests per segment: a seeded, stratified assignment of customers to
//!    arms, sample sizes, and the analysis (uplift of conversion and revenue per customer
//!    with intervals and tests, corrected across segments, and the campaign's ROI).
//!
//! ## One contract for every model
//!
//! Every estimator is a value of unfitted parameters, checked when built (a constructor or
//! `with_*` method returns an error for a value out of range, and deserializing runs the
//! same checks, so no invalid configuration reaches an algorithm; only what depends on the
//! data, such as k against the number of points, is checked when fitting). Inputs such as
//! [`CustomerSummary`] are valid once built too, so models score them without checking them
//! again. [`Fit::fit`] learns from data and returns the fitted model with a
//! report; fitted models are serde data, validated again when loaded, and answer through
//! shared traits: [`Score`] (`score`, `score_batch`), [`Assign`] (`assign`, `assign_batch`,
//! `segments`) and, for purchase models, [`clv::TransactionModel`] (`p_alive`,
//! `expected_purchases` and their `_batch` forms). Code that works for any model takes the
//! trait: [`clv::Valuation`] and [`churn::ModelChurn`] take any transaction model,
//! [`segment::choose_k`] and [`report::stability`] any [`segment::Clusterer`].
//!
//! | model | estimator (parameters) | fitted on | fitted model (report) | answers |
//! |---|---|---|---|---|
//! | RFM | [`rfm::RfmParams`] (score levels; quantile or threshold bins per dimension; frequency and monetary bases) | `[CustomerSummary]` | [`rfm::RfmModel`] ([`rfm::RfmFitReport`]) | [`Score`] → [`rfm::RfmScore`]; segments by [`rfm::SegmentScheme`] |
//! | BG/NBD | `BgNbd::params()`: [`clv::MaxLikelihood`] (L2 penalty, iterations, tolerance) | [`clv::RftData`] | [`clv::BgNbd`] r, α, a, b ([`clv::FitReport`]) | [`clv::TransactionModel`]: P(alive), expected purchases, P(X(t) = n) |
//! | MBG/NBD | `MbgNbd::params()` | [`clv::RftData`] | [`clv::MbgNbd`] r, α, a, b | as BG/NBD |
//! | Pareto/NBD | `ParetoNbd::params()` | [`clv::RftData`] | [`clv::ParetoNbd`] r, α, s, β | as BG/NBD |
//! | BG/BB | `BgBb::params()` | weighted [`clv::BgBbHistory`]s | [`clv::BgBb`] α, β, γ, δ | the verbs of `TransactionModel` on discrete histories (x, t_x, n): `p_alive`, `expected_purchases` and their `_batch` forms |
//! | Gamma-Gamma | `GammaGamma::params()` | [`clv::SpendData`] | [`clv::GammaGamma`] p, q, γ | expected spend; with a transaction model in a [`clv::Valuation`], [`Score`] → [`clv::CustomerValue`] |
//! | simple CLTV | [`clv::SimpleCltv`] (ARPU, lifetime, CAC, margin, discount) | — | the same | `value()` |
//! | sBG | `ShiftedBetaGeometric::params()` | [`churn::Cohort`] | [`churn::ShiftedBetaGeometric`] α, β | survival, retention, DERL; [`Score`] on [`churn::Subscriber`] → [`churn::ChurnRisk`] |
//! | churn from P(alive) | [`churn::ModelChurn`] (any transaction model; one-time-buyer policy) | — | the same | [`Score`] → [`churn::ChurnRisk`] |
//! | recency rule | [`churn::RecencyRule`] (fixed or relative threshold) | — | the same | [`Score`] → [`churn::ChurnRisk`] |
//! | logistic churn | [`churn::LogisticChurnParams`] (features, extra columns, L2) | [`churn::LabelledCustomers`] | [`churn::LogisticChurn`] ([`churn::LogisticFitReport`]) | [`Score`] → [`churn::ChurnRisk`] (summary features only; with extra columns, `predict(customers, extra)`) |
//! | clustering | [`segment::Strategy`], or [`segment::KMeansParams`], [`segment::MiniBatchParams`], [`segment::GaussianMixtureParams`], [`segment::DbscanParams`], [`segment::KPrototypesParams`], [`segment::RuleBands`] | [`segment::Points`] | [`segment::Clustering`] ([`segment::SegmentFitReport`]: labels, inertia or cost) | `assign`, `assign_batch` on rows of a matrix |
//! | rules explaining segments | [`segment::RuleTreeParams`] (depth, fewest customers per rule) | [`segment::SegmentedPoints`] (features, names, segments) | [`segment::SegmentRules`] ([`segment::RuleFitReport`]: fidelity, depth, rules) | one readable rule per leaf; `segment_of` on a customer's features |
//! | segments by a target | [`segment::TargetTreeParams`] (depth, fewest customers per segment, least gain) | [`segment::TargetPoints`] (features, names, target) | [`segment::SegmentRules`] ([`segment::TargetFitReport`]: R², depth, segments) | one rule and target mean per segment; `segment_of` |
//! | behavioral | [`segment::BehavioralSegmenter`] (k or a strategy, engagement columns) | `[BehavioralRecord]` | [`segment::BehavioralModel`] ([`segment::SegmentFitReport`]) | [`Assign`]; named profiles |
//! | demographic | [`segment::DemographicSegmenter`] (bands or k-prototypes, fields, extra columns) | `[DemographicRecord]` | [`segment::DemographicModel`] | [`Assign`]; named profiles |
//! | psychographic | [`segment::PsychographicSegmenter`] (items, scale, factors, rotation, strategy) | `[SurveyResponse]` | [`segment::PsychographicModel`] | [`Assign`]; factor scores and loadings |
//! | geographic | [`segment::GeographicSegmenter`] (regions, density, k-means, urbanicity, trade areas) | `[GeoRecord]` | [`segment::GeographicModel`] | [`Assign`]; geographic profiles |
//!
//! Errors are one [`Error`] type: [`Error::kind`] says whether the data, the call or the
//! model is at fault, and [`Error::position`] where in the input (row, line, customer,
//! column), as data.
//!
//! ## A ten-line tour
//!
//! ```
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//!
//! // The CDNOW sample ships with the crate: 6,919 purchases of 2,357 customers.
//! let log = cdnow_sample();
//! // Calibration to 1997-09-30, holdout to 1998-06-30, times in weeks.
//! let summaries = log.summarise(&cdnow_sample_config())?;
//! let repeaters = summaries.iter().filter(|s| s.frequency() > 0).count();
//! assert_eq!(repeaters, 946);
//! let first = &summaries.as_slice()[0];
//! assert_eq!((first.frequency(), first.holdout_frequency()), (2, 1));
//! # Ok::<(), custseg::Error>(())
//! ```
//!
//! With the `arrow` feature, `custseg::arrow` reads transactions from Arrow arrays and record
//! batches (Parquet readers, query engines, pandas and polars frames) and writes summaries and
//! scores back as record batches.
//!
//! Build a log from your own data with [`TransactionLog::from_columns`] (columns of keys,
//! [`Date`]s and amounts), [`TransactionLog::from_transactions`] (an iterator of
//! [`Transaction`]s) or [`TransactionLog::builder`] (row by row). When only the summaries are
//! wanted, [`CustomerSummaries::from_columns`] gives them straight from the columns, faster;
//! a service that summarises round after round keeps one [`SummaryWorkspace`] for
//! [`CustomerSummaries::from_columns_in`]. [`datasets::synthetic`]
//! generates realistic customer bases of any size from planted personas, for examples,
//! tests and benchmarks.

#![warn(missing_docs)]

#[cfg(feature = "arrow")]
pub mod arrow;
pub mod churn;
pub mod clv;
mod contract;
pub mod data;
pub mod datasets;
mod error;
pub mod experiment;
pub mod geo;
mod mem;
mod optim;
mod par;
#[cfg(feature = "plots")]
pub mod plot;
pub mod report;
pub mod rfm;
pub mod segment;
mod simd;
mod special;
mod stats;

pub use contract::{Assign, Fit, Score};
pub use data::{
    CustomerHistory, CustomerId, CustomerKey, CustomerSummaries, CustomerSummary,
    CustomerTransactions, Date, LateCustomer, LogReport, PurchaseDay, PurchaseHistories,
    PurchasePeriod, ReturnPolicy, SummaryConfig, SummaryRecord, SummaryReport, SummaryWorkspace,
    TimeUnit, Transaction, TransactionLog, TransactionLogBuilder,
};
pub use error::{Error, ErrorKind, Position, Result};

/// The README's examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
