//! Time units of the outputs and the granularity at which purchases are grouped.

use serde::{Deserialize, Serialize};

use super::date::Date;

/// The unit in which recency, age and every other span of time is reported.
///
/// BTYD models are fitted in whatever unit the summaries use; the CDNOW literature uses weeks.
/// A month is the mean Gregorian month, 30.4375 days (365.25 / 12), so spans stay exact
/// multiples of days divided by a constant.
///
/// ```
/// use custseg::TimeUnit;
/// assert_eq!(TimeUnit::Weeks.from_days(14), 2.0);
/// assert_eq!(TimeUnit::Months.days(), 30.4375);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum TimeUnit {
    /// One day.
    Days,
    /// Seven days.
    #[default]
    Weeks,
    /// 30.4375 days, the mean Gregorian month.
    Months,
}

impl TimeUnit {
    /// Length of the unit in days.
    pub fn days(self) -> f64 {
        match self {
            TimeUnit::Days => 1.0,
            TimeUnit::Weeks => 7.0,
            TimeUnit::Months => 30.4375,
        }
    }

    /// A span of whole days expressed in this unit.
    pub fn from_days(self, days: i64) -> f64 {
        days as f64 / self.days()
    }
}

/// How purchases are grouped before counting: all purchases of one customer in the same period
/// are one purchase, their amounts summed.
///
/// `Day` is the BTYD convention (and what reproduces the published CDNOW summaries). `Week`
/// groups by ISO week (Monday to Sunday) and `Month` by calendar month; with these, every time
/// is measured from the first day of the purchase's period, so recency and age are multiples of
/// whole periods, as in lifetimes' `freq='W'` / `freq='M'`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[non_exhaustive]
pub enum PurchasePeriod {
    /// One purchase per calendar day.
    #[default]
    Day,
    /// One purchase per ISO week (Monday–Sunday).
    Week,
    /// One purchase per calendar month.
    Month,
}

impl PurchasePeriod {
    /// The first day of the period that holds `date`.
    pub fn start_of(self, date: Date) -> Date {
        match self {
            PurchasePeriod::Day => date,
            PurchasePeriod::Week => date.week_start(),
            PurchasePeriod::Month => date.month_start(),
        }
    }
}
