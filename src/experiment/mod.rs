//! A/B tests per segment: design the experiment, then analyse it.
//!
//! A campaign's effect is rarely the same in every segment: a discount may win back lapsed
//! customers and only subsidise loyal ones. This module runs the test segment by segment.
//!
//! * **Design** ([`ExperimentDesign`]): customers are split into arms *within* each segment
//!   (stratified), so every segment is balanced on its own; the split is seeded and depends
//!   only on the customer ids, never on input order or threads. [`sample_size`] says how many
//!   customers a segment needs to detect a given change of conversion rate.
//! * **Analysis** ([`AbTest::analyse`] → [`AbTestReport`]): per segment and for all customers
//!   pooled, each arm's conversion rate and revenue per customer; the absolute and relative
//!   uplift of conversion with its interval and two-proportion z-test; the difference of
//!   revenue per customer with Welch's interval and t-test and, because revenue is skewed, a
//!   seeded bootstrap interval; p-values corrected across segments (Holm or
//!   Benjamini–Hochberg), so testing many segments does not manufacture winners; and the
//!   campaign's return on its cost with an interval ([`SegmentTest::roi`]).
//!
//! Every number is checked against scipy and statsmodels on a committed fixture
//! (benches/peers/abtest_reference.py), and a simulation checks that segments without an
//! effect are called significant at the rate α promises.

mod analysis;
mod design;

pub use analysis::{
    AbTest, AbTestReport, ArmStats, ConversionEffect, Correction, Interval, MAX_BOOTSTRAP, Outcome,
    RevenueEffect, Roi, SegmentTest,
};
pub use design::{ExperimentDesign, MAX_ARMS, SampleSize, sample_size};
