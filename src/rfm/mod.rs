//! RFM: recency, frequency and monetary scores, and named segments built on them.
//!
//! RFM ranks customers on three questions: how recently did they buy (R), how often (F), and
//! how much did they spend (M). Each value is cut into scores 1..=n (5 by default), by the
//! quantiles of a snapshot of customers or by thresholds the business sets, and the three
//! scores together place a customer in one of n³ cells; a [`SegmentScheme`] names groups of
//! cells ("Champions", "At Risk", …).
//!
//! * [`RfmParams`] holds the settings (score levels, binning per dimension, whether frequency
//!   counts every purchase or repeat purchases only, whether monetary value is total or mean
//!   spend); [`Fit::fit`](crate::Fit::fit) learns the bin edges from [`CustomerSummary`]s.
//! * [`RfmModel`] is plain serde data: the edges. It scores new customers — one, or a batch in
//!   parallel — so a model fitted on one snapshot scores the next one on the same scale. The
//!   tie rule is on [`RfmModel`]: equal values always get equal scores.
//! * Recency is measured in **days** from the last purchase to the observation end, whatever
//!   the summaries' time unit, so thresholds read as business rules ("bought in the last 30
//!   days").
//! * [`SegmentScheme`] classifies cells by ordered rules on score ranges, with a fallback;
//!   built-ins are [`SegmentScheme::five_tiers`] and [`SegmentScheme::rfm_package`] (the R
//!   package `rfm` 0.3). Construction reports gaps and overlaps.
//!
//! ```
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! use custseg::rfm::{RfmParams, SegmentScheme};
//! use custseg::{Fit, Score};
//!
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! let (model, _) = RfmParams::new(5)?.fit(&summaries)?;
//! let scores = model.score_batch(&summaries)?;
//! let table = SegmentScheme::rfm_package().summarise(&scores)?;
//! let champions = &table.rows[0];
//! assert_eq!(champions.segment, "Champions");
//! assert!(champions.revenue_share > champions.share); // they spend above their weight
//! # Ok::<(), custseg::Error>(())
//! ```
//!
//! [`CustomerSummary`]: crate::CustomerSummary

mod model;
mod segments;

pub use model::{
    Binning, FrequencyBasis, MAX_SCORES, MonetaryBasis, RfmCell, RfmFitReport, RfmModel, RfmParams,
    RfmScore, RfmValues,
};
pub use segments::{
    Coverage, Precedence, ScoreCounts, SegmentId, SegmentRow, SegmentRule, SegmentScheme,
    SegmentSummary,
};
