//! The crate's one error type.
//!
//! Every public function that takes user data validates it and answers with an [`Error`] that
//! says *what* was wrong and *where*: the row of the input, the customer id, the field and the
//! offending value. Nothing in the library panics on data.

use thiserror::Error as ThisError;

/// Shorthand for `std::result::Result<T, custseg::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong in `custseg`.
///
/// Variants carry the position of the problem (row index counted from 0 in the order the input
/// was given, customer id, field name) and the offending value, so that a caller can point a
/// user at the exact cell to fix. The enum is `#[non_exhaustive]`: new models add variants.
#[derive(Debug, Clone, PartialEq, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// An input that must hold at least one element was empty.
    #[error("empty input: {what} must hold at least one element")]
    EmptyInput {
        /// What was empty (e.g. "transactions").
        what: &'static str,
    },

    /// A numeric field held NaN or an infinity.
    #[error("row {row} (customer {customer}): {field} is {value}, which is not a finite number")]
    NonFinite {
        /// Row index in the input, counted from 0.
        row: usize,
        /// Customer id of the row.
        customer: String,
        /// Field name.
        field: &'static str,
        /// The offending value.
        value: f64,
    },

    /// A negative amount (a return) met the default [`ReturnPolicy::Error`](crate::ReturnPolicy).
    #[error(
        "row {row} (customer {customer}): amount {value} is negative; \
         choose a ReturnPolicy (Net or Drop) to accept returns"
    )]
    NegativeAmount {
        /// Row index in the input, counted from 0.
        row: usize,
        /// Customer id of the row.
        customer: String,
        /// The offending amount.
        value: f64,
    },

    /// Under [`ReturnPolicy::Net`](crate::ReturnPolicy), a return was larger than everything the
    /// customer had bought on or before its date.
    #[error(
        "row {row} (customer {customer}): return of {value} exceeds the {available} the \
         customer spent on or before {date}"
    )]
    ReturnExceedsPurchases {
        /// Row index of the return, counted from 0.
        row: usize,
        /// Customer id of the row.
        customer: String,
        /// The return's amount (negative).
        value: f64,
        /// What the customer had spent up to the return's date, before this return.
        available: f64,
        /// Date of the return.
        date: crate::Date,
    },

    /// A customer id was empty.
    #[error("row {row}: the customer id is empty")]
    EmptyCustomerId {
        /// Row index in the input, counted from 0.
        row: usize,
    },

    /// Two inputs that must have the same length did not.
    #[error("length mismatch: {what} has {got} elements, expected {expected}")]
    LengthMismatch {
        /// Which input.
        what: &'static str,
        /// The length it should have had.
        expected: usize,
        /// The length it had.
        got: usize,
    },

    /// A calendar date was invalid or could not be parsed.
    #[error("invalid date {input:?}: {reason}")]
    InvalidDate {
        /// The text or numbers given.
        input: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A line of a text input could not be parsed.
    #[error("line {line}, field {field}: cannot parse {value:?}: {reason}")]
    Parse {
        /// Line number, counted from 1.
        line: usize,
        /// Field name.
        field: &'static str,
        /// The text found.
        value: String,
        /// Why it was rejected.
        reason: String,
    },

    /// An observation window was inconsistent (e.g. the holdout ends before it starts).
    #[error("invalid observation window: {0}")]
    InvalidWindow(String),

    /// A hyper-parameter or configuration value was out of its valid range.
    #[error("invalid parameter {name} = {value}: {reason}")]
    InvalidParameter {
        /// Parameter name.
        name: &'static str,
        /// The value given, as text.
        value: String,
        /// The valid range or rule.
        reason: String,
    },

    /// A customer id appeared twice where ids must be unique.
    #[error("duplicate customer id {customer} in {what}")]
    DuplicateCustomer {
        /// The repeated id.
        customer: String,
        /// Where it was repeated.
        what: &'static str,
    },

    /// A model fit stopped without reaching a maximum of the likelihood.
    #[error(
        "{model} fit did not converge after {iterations} iterations: gradient norm \
         {gradient_norm:.3e}, log-likelihood {log_likelihood}"
    )]
    NotConverged {
        /// The model.
        model: &'static str,
        /// Optimizer iterations spent.
        iterations: u64,
        /// Norm of the gradient of the mean negative log-likelihood at the best point.
        gradient_norm: f64,
        /// Log-likelihood at the best point.
        log_likelihood: f64,
    },

    /// Units of time differ between a model and the data it is asked to score.
    #[error("time unit mismatch: the model was fitted in {model:?}, the data is in {data:?}")]
    UnitMismatch {
        /// The model's unit.
        model: crate::TimeUnit,
        /// The data's unit.
        data: crate::TimeUnit,
    },

    /// A customer record's values contradict each other (e.g. recency larger than age).
    #[error("customer {customer}: {reason}")]
    InvalidRecord {
        /// Customer id.
        customer: String,
        /// What is inconsistent.
        reason: String,
    },
}
