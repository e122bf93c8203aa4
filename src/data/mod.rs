//! Input data: dates, customer ids, transactions, and the per-customer summaries built from
//! them.
//!
//! The flow is `Transaction` rows → a validated [`TransactionLog`] (customers grouped, dates
//! sorted, returns handled by an explicit [`ReturnPolicy`]) → [`CustomerSummaries`] at an
//! observation end, optionally with a holdout period. For partitioned or incremental data, a
//! log becomes mergeable [`PurchaseHistories`] first.

mod columnar;
mod customer_id;
mod date;
mod grouping;
mod history;
mod summary;
pub(crate) use summary::period_start;
#[cfg(feature = "arrow")]
pub(crate) use summary::{day_sums_of_rows, two_sum};
mod time;
mod transactions;

pub use columnar::SummaryWorkspace;
pub use customer_id::CustomerId;
pub use date::Date;
pub use history::{CustomerHistory, PurchaseHistories};
pub use summary::{
    CustomerSummaries, CustomerSummary, LateCustomer, PurchaseDay, SummaryConfig, SummaryRecord,
    SummaryReport,
};
pub use time::{PurchasePeriod, TimeUnit};
pub use transactions::{
    CustomerKey, CustomerTransactions, LogReport, ReturnPolicy, Transaction, TransactionLog,
    TransactionLogBuilder,
};
