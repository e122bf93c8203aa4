//! The crate's one error type, and where in the input a problem is.
//!
//! Every public function that takes user data validates it and answers with an [`Error`] that
//! says *what* was wrong and *where*. The where is data, not text: [`Error::position`] gives a
//! [`Position`] with the row (counted from 0 in input order), the line of a text input
//! (counted from 1), the customer id and the column or field, each present when known. The
//! what is a variant with the offending value, and [`Error::kind`] sorts the variants into
//! the three things a caller does about them: fix the data ([`ErrorKind::Data`]), fix the
//! call ([`ErrorKind::Parameter`]) or look at the model ([`ErrorKind::Model`]).
//!
//! ```
//! use custseg::{Date, ErrorKind, ReturnPolicy, TransactionLog};
//!
//! let day: Date = "2024-01-05".parse()?;
//! let err = TransactionLog::from_columns(
//!     &["ann", "bob"],
//!     &[day, day],
//!     &[30.0, f64::NAN],
//!     ReturnPolicy::Error,
//! )
//! .unwrap_err();
//! assert_eq!(err.kind(), ErrorKind::Data);
//! let at = err.position().unwrap();
//! assert_eq!((at.row(), at.customer(), at.column()), (Some(1), Some("bob"), Some("amount")));
//! # Ok::<(), custseg::Error>(())
//! ```
//!
//! Nothing in the library panics on data.

use std::fmt;

use thiserror::Error as ThisError;

/// Shorthand for `std::result::Result<T, custseg::Error>`.
pub type Result<T> = std::result::Result<T, Error>;

/// Where in the input a problem was found: any of row, line, customer and column.
///
/// Rows are counted from 0 in the order the input was given (the index into the slice, the
/// column or the iterator); lines of a text input from 1, as an editor shows them. Read the
/// parts with [`Position::row`], [`Position::line`], [`Position::customer`] and
/// [`Position::column`]; a part the function could not know is `None`.
///
/// ```
/// use custseg::Position;
/// let at = Position::at_row(3).with_customer("ann").with_column("amount");
/// assert_eq!(at.row(), Some(3));
/// assert_eq!(at.to_string(), "row 3, customer ann, column amount");
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Position(Box<Parts>);

// Boxed, so that an `Error` stays small on the `Ok` path of every `Result`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct Parts {
    row: Option<usize>,
    line: Option<usize>,
    customer: Option<String>,
    column: Option<String>,
}

impl Position {
    /// The row with this index (from 0).
    pub fn at_row(row: usize) -> Position {
        Position::default().with_row(row)
    }

    /// The line with this number (from 1) of a text input.
    pub fn at_line(line: usize) -> Position {
        let mut p = Position::default();
        p.0.line = Some(line);
        p
    }

    /// The customer with this id.
    pub fn of_customer(customer: impl fmt::Display) -> Position {
        Position::default().with_customer(customer)
    }

    /// The column, field or feature with this name.
    pub fn in_column(column: impl Into<String>) -> Position {
        Position::default().with_column(column)
    }

    /// This position with the row set.
    pub fn with_row(mut self, row: usize) -> Position {
        self.0.row = Some(row);
        self
    }

    /// This position with the customer set.
    pub fn with_customer(mut self, customer: impl fmt::Display) -> Position {
        self.0.customer = Some(customer.to_string());
        self
    }

    /// This position with the column set.
    pub fn with_column(mut self, column: impl Into<String>) -> Position {
        self.0.column = Some(column.into());
        self
    }

    /// This position without its row (a record scored on its own, not as part of a batch).
    pub(crate) fn without_row(mut self) -> Position {
        self.0.row = None;
        self
    }

    /// The row index, counted from 0 in input order.
    pub fn row(&self) -> Option<usize> {
        self.0.row
    }

    /// The line of a text input, counted from 1.
    pub fn line(&self) -> Option<usize> {
        self.0.line
    }

    /// The customer id.
    pub fn customer(&self) -> Option<&str> {
        self.0.customer.as_deref()
    }

    /// The column, field or feature name.
    pub fn column(&self) -> Option<&str> {
        self.0.column.as_deref()
    }
}

impl Position {
    /// "row 3, customer ann: " — or nothing when no part is known, so messages never read
    /// "(no position)".
    fn prefix(&self) -> String {
        if *self == Position::default() {
            String::new()
        } else {
            format!("{self}: ")
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(4);
        let p = &self.0;
        if let Some(l) = p.line {
            parts.push(format!("line {l}"));
        }
        if let Some(r) = p.row {
            parts.push(format!("row {r}"));
        }
        if let Some(c) = &p.customer {
            parts.push(format!("customer {c}"));
        }
        if let Some(c) = &p.column {
            parts.push(format!("column {c}"));
        }
        if parts.is_empty() {
            f.write_str("(no position)")
        } else {
            f.write_str(&parts.join(", "))
        }
    }
}

/// What a caller does about an [`Error`]: which of the three it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input data is wrong (a value, a record, a column, a serialized record): fix the
    /// data; [`Error::position`] says where.
    Data,
    /// A parameter or configuration is out of range (or a serialized model or configuration
    /// is invalid): fix the call.
    Parameter,
    /// The data and the call are valid but the model could not give an answer: a fit that did
    /// not converge, a prediction that overflows at extreme parameters.
    Model,
}

/// Everything that can go wrong in `custseg`.
///
/// Variants carry the offending value; those about data carry a [`Position`]. The enum is
/// `#[non_exhaustive]`: new models add variants. Match on [`Error::kind`] to route an error,
/// and read [`Error::position`] to point a user at the cell to fix.
#[derive(Debug, Clone, PartialEq, ThisError)]
#[non_exhaustive]
pub enum Error {
    /// An input that must hold at least one element was empty.
    #[error("empty input: {what} must hold at least one element")]
    EmptyInput {
        /// What was empty (e.g. "transactions").
        what: &'static str,
    },

    /// A numeric value held NaN or an infinity.
    #[error("{}{value} is not a finite number", .at.prefix())]
    NonFinite {
        /// Where: the row, customer and column of the value.
        at: Position,
        /// The offending value.
        value: f64,
    },

    /// A model's answer for a valid record overflowed (NaN or infinite), as extreme but
    /// finite parameters can make it.
    #[error("{}the model's {quantity} is {value}, not a finite number (extreme parameters?)", .at.prefix())]
    Overflow {
        /// Where: the record whose answer overflowed.
        at: Position,
        /// What was computed (e.g. "P(alive)").
        quantity: &'static str,
        /// The value computed.
        value: f64,
    },

    /// A negative amount (a return) met the default [`ReturnPolicy::Error`](crate::ReturnPolicy).
    #[error("{}amount {value} is negative; choose a ReturnPolicy (Net or Drop) to accept returns", .at.prefix())]
    NegativeAmount {
        /// Where: the row and customer.
        at: Position,
        /// The offending amount.
        value: f64,
    },

    /// Under [`ReturnPolicy::Net`](crate::ReturnPolicy), a return was larger than everything the
    /// customer had bought on or before its date.
    #[error("{}return of {value} exceeds the {available} the customer spent on or before {date}", .at.prefix())]
    ReturnExceedsPurchases {
        /// Where: the row and customer of the return.
        at: Position,
        /// The return's amount (negative).
        value: f64,
        /// What the customer had spent up to the return's date, before this return.
        available: f64,
        /// Date of the return.
        date: crate::Date,
    },

    /// A customer id was empty.
    #[error("{}the customer id is empty", .at.prefix())]
    EmptyCustomerId {
        /// Where: the row.
        at: Position,
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

    /// A field of a text input could not be parsed.
    #[error("{}cannot parse {value:?}: {reason}", .at.prefix())]
    Parse {
        /// Where: the line (from 1) and the field.
        at: Position,
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
    #[error("{}duplicate customer id in {what}", .at.prefix())]
    DuplicateCustomer {
        /// Where: the customer (and the row of the second occurrence, when known).
        at: Position,
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

    /// A model fit ran off to the edge of the parameter space: the likelihood kept rising as a
    /// parameter went to 0 or past 1e10, where it can no longer be computed reliably. The
    /// data fit one of the model's limits (no heterogeneity, nobody dropping out); an L2
    /// penalty keeps the parameters finite, more starts may find an interior maximum.
    #[error(
        "{model} fit diverged: {parameter} ran off to {value:e} (log-likelihood \
         {log_likelihood}); add an L2 penalty (with_l2_penalty) or try more starts (with_starts)"
    )]
    Diverged {
        /// The model.
        model: &'static str,
        /// The first parameter (in the model's order) that ran off.
        parameter: &'static str,
        /// Its value where the optimizer stopped (0 or infinite when it under- or overflowed).
        value: f64,
        /// The log-likelihood there, as computed.
        log_likelihood: f64,
    },

    /// A numerical routine of a dependency (linfa's solvers, an eigen-decomposition) failed on
    /// valid data and settings.
    #[error("{model} failed: {reason}")]
    Solver {
        /// What was being fitted.
        model: &'static str,
        /// The routine's own message.
        reason: String,
    },

    /// Units of time differ between a model and the data it is asked to score.
    #[error("time unit mismatch: the model was fitted in {model:?}, the data is in {data:?}")]
    UnitMismatch {
        /// The model's unit.
        model: crate::TimeUnit,
        /// The data's unit.
        data: crate::TimeUnit,
    },

    /// A value was missing (null) where one is required, e.g. a null amount in an Arrow
    /// column: never silently dropped.
    #[error("{}the value is missing (null)", .at.prefix())]
    Missing {
        /// Where: the row and column.
        at: Position,
    },

    /// A record's values are out of range or contradict each other (e.g. recency larger than
    /// age, an answer outside a survey's scale, a label naming no segment).
    #[error("{}{reason}", .at.prefix())]
    InvalidRecord {
        /// Where: the row, customer and column, as far as known.
        at: Position,
        /// What is wrong.
        reason: String,
    },
}

/// The variants that carry a [`Position`], listed once for `position` and `position_mut`
/// (match ergonomics give `&Position` or `&mut Position` from the same arms). A new variant
/// with a position goes here; [`Error::kind`] lists every variant, so adding one is noticed.
macro_rules! position_of {
    ($error:expr) => {
        match $error {
            Error::NonFinite { at, .. }
            | Error::Overflow { at, .. }
            | Error::NegativeAmount { at, .. }
            | Error::ReturnExceedsPurchases { at, .. }
            | Error::EmptyCustomerId { at }
            | Error::Parse { at, .. }
            | Error::DuplicateCustomer { at, .. }
            | Error::Missing { at }
            | Error::InvalidRecord { at, .. } => Some(at),
            _ => None,
        }
    };
}

impl Error {
    /// Where in the input the problem is, for errors about data.
    ///
    /// `None` for parameter and model errors that concern no particular record.
    pub fn position(&self) -> Option<&Position> {
        position_of!(self)
    }

    /// Whether the data, the call or the model is at fault.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::EmptyInput { .. }
            | Error::NonFinite { .. }
            | Error::NegativeAmount { .. }
            | Error::ReturnExceedsPurchases { .. }
            | Error::EmptyCustomerId { .. }
            | Error::LengthMismatch { .. }
            | Error::InvalidDate { .. }
            | Error::Parse { .. }
            | Error::DuplicateCustomer { .. }
            | Error::UnitMismatch { .. }
            | Error::Missing { .. }
            | Error::InvalidRecord { .. } => ErrorKind::Data,
            Error::InvalidWindow(_) | Error::InvalidParameter { .. } => ErrorKind::Parameter,
            Error::Overflow { .. }
            | Error::NotConverged { .. }
            | Error::Diverged { .. }
            | Error::Solver { .. } => ErrorKind::Model,
        }
    }

    /// This error with its position amended: a record checked on its own, then named by the
    /// caller that knows its row or customer. Errors without a position are returned as they
    /// are.
    pub(crate) fn amend(mut self, f: impl FnOnce(Position) -> Position) -> Error {
        if let Some(at) = self.position_mut() {
            *at = f(std::mem::take(at));
        }
        self
    }

    fn position_mut(&mut self) -> Option<&mut Position> {
        position_of!(self)
    }
}

/// A setting that must be a finite number ≥ 0 (a penalty, a tolerance, a weight), or the
/// parameter error naming it.
pub(crate) fn finite_non_negative(name: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(Error::InvalidParameter {
            name,
            value: value.to_string(),
            reason: "finite and ≥ 0".into(),
        })
    }
}

/// A computed answer, or [`Error::Overflow`] when extreme parameters left it NaN or infinite:
/// what every single-customer function returns, so it agrees with the batch forms.
pub(crate) fn finite_or_overflow(quantity: &'static str, value: f64) -> Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(Error::Overflow {
            at: Position::default(),
            quantity,
            value,
        })
    }
}
