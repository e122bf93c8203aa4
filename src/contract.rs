//! The one contract every model follows: fit, then score or assign.
//!
//! Every estimator in the crate is a value of unfitted parameters, checked when it is built
//! (its constructor and `with_*` methods return an error for a value out of range, so an
//! unchecked configuration never reaches an algorithm). The exceptions, for now, are the
//! clustering parameter structs with public fields ([`KMeansParams`](crate::segment::KMeansParams),
//! [`MiniBatchParams`](crate::segment::MiniBatchParams),
//! [`KPrototypesParams`](crate::segment::KPrototypesParams),
//! [`RuleBands`](crate::segment::RuleBands)) and the linfa strategies, whose values are
//! checked when they are fitted. [`Fit::fit`] learns from data and
//! returns the fitted model with a report of how the fit went. Fitted models are plain serde
//! data, validated again when deserialized, and answer through shared traits:
//!
//! | role | trait | verbs |
//! |---|---|---|
//! | learn from data | [`Fit`] | `fit(&data) -> (model, report)` |
//! | score records | [`Score`] | `score(&record)`, `score_batch(&records)` |
//! | place records in segments | [`Assign`] | `assign(&record)`, `assign_batch(&records)`, `segments()` |
//! | predict purchases (BG/NBD, MBG/NBD, Pareto/NBD) | [`TransactionModel`](crate::clv::TransactionModel) | `p_alive`, `expected_purchases`, and their `_batch` forms |
//!
//! Batch verbs run in parallel with rayon, return results in input order, report the first
//! failing record in input order, and give the same output at any number of threads.
//!
//! ```
//! use custseg::clv::{BgNbd, RftData};
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! use custseg::rfm::RfmParams;
//! use custseg::{Fit, Score};
//!
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! // A transaction model: default maximum-likelihood settings, fitted on the histories.
//! let (bgnbd, report) = BgNbd::params().fit(&RftData::from_summaries(&summaries)?)?;
//! assert!((report.log_likelihood - -9582.43).abs() < 0.01);
//! assert!(bgnbd.r() > 0.0);
//! // RFM: five score levels, fitted on the same customers, then every customer scored.
//! let (rfm, _) = RfmParams::new(5)?.fit(&summaries)?;
//! let scores = rfm.score_batch(&summaries)?;
//! assert_eq!(scores.len(), summaries.len());
//! # Ok::<(), custseg::Error>(())
//! ```

use rayon::prelude::*;

use crate::error::{Error, Position, Result};

/// Unfitted parameters that learn a model from data: every estimator of the crate.
///
/// `Data` is what the estimator learns from — a slice of records for most, a prepared
/// dataset where fitting needs one ([`RftData`](crate::clv::RftData) merges identical
/// histories before a likelihood is maximised). The lifetime lets `Data` borrow, for
/// estimators that learn from views of a matrix.
pub trait Fit {
    /// What the estimator learns from.
    type Data<'a>: ?Sized;
    /// The fitted model.
    type Model;
    /// How the fit went (log-likelihood and standard errors, training labels, …).
    type Report;

    /// Learns the model from `data`.
    ///
    /// # Errors
    /// A data error ([`ErrorKind::Data`](crate::ErrorKind::Data)) naming the first bad
    /// record; a parameter error ([`ErrorKind::Parameter`](crate::ErrorKind::Parameter)) for
    /// settings that cannot apply to this data (k larger than the number of points, extra
    /// columns that do not match their names); a model error
    /// ([`ErrorKind::Model`](crate::ErrorKind::Model)) when the data is valid but the model
    /// cannot be fitted to it (a likelihood that does not converge, a solver that fails).
    fn fit(&self, data: &Self::Data<'_>) -> Result<(Self::Model, Self::Report)>;
}

/// A fitted model that gives each record a score: an RFM score, a churn risk, a value.
pub trait Score: Sync {
    /// The record scored (usually a [`CustomerSummary`](crate::CustomerSummary)).
    type Record: Sync;
    /// The score of one record.
    type Output: Send;

    /// The score of one record.
    ///
    /// # Errors
    /// A data error naming the record's customer and field when it is invalid; a model error
    /// when the model overflows on it.
    fn score(&self, record: &Self::Record) -> Result<Self::Output>;

    /// The scores of many records, in parallel, in input order.
    ///
    /// # Errors
    /// The error of the first failing record in input order, with its row.
    fn score_batch(&self, records: &[Self::Record]) -> Result<Vec<Self::Output>> {
        collect_in_order(records.par_iter().map(|r| self.score(r)).collect())
    }
}

/// A fitted segment model: which segment each record belongs to.
///
/// `None` is a record the model places in no segment (DBSCAN's noise, a survey response with
/// too few answers); segments are numbered from 0 to `segments() - 1`.
pub trait Assign: Sync {
    /// The record assigned.
    type Record: Sync;

    /// The number of segments.
    fn segments(&self) -> usize;

    /// The segment of one record.
    ///
    /// # Errors
    /// A data error naming the record's field when it is invalid.
    fn assign(&self, record: &Self::Record) -> Result<Option<usize>>;

    /// The segments of many records, in parallel, in input order.
    ///
    /// # Errors
    /// The error of the first failing record in input order, with its row.
    fn assign_batch(&self, records: &[Self::Record]) -> Result<Vec<Option<usize>>> {
        collect_in_order(records.par_iter().map(|r| self.assign(r)).collect())
    }
}

/// The answer for one record computed through a batch of one: the only element, and errors
/// without the batch's row 0 (the record was not part of a batch).
pub(crate) fn only<T>(batch_of_one: Result<Vec<T>>) -> Result<T> {
    let mut answers = batch_of_one.map_err(|e| e.amend(Position::without_row))?;
    // A batch form returns one answer per record (or an error): one record, one answer.
    match answers.pop() {
        Some(answer) if answers.is_empty() => Ok(answer),
        _ => Err(Error::LengthMismatch {
            what: "answers to one record",
            expected: 1,
            got: answers.len() + 1,
        }),
    }
}

/// The values of per-record results, or the first error in input order with its row added.
pub(crate) fn collect_in_order<T>(results: Vec<Result<T>>) -> Result<Vec<T>> {
    let mut out = Vec::with_capacity(results.len());
    for (row, r) in results.into_iter().enumerate() {
        out.push(r.map_err(|e| e.amend(|at| at.with_row(row)))?);
    }
    Ok(out)
}
