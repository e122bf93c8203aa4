//! # custseg — customer segmentation and customer-value scoring
//!
//! TODO crate docs.

pub mod data;
pub mod datasets;
mod error;
mod par;

pub use data::{
    CustomerHistory, CustomerId, CustomerKey, CustomerSummaries, CustomerSummary,
    CustomerTransactions, Date, LateCustomer, LogReport, PurchaseDay, PurchaseHistories,
    PurchasePeriod, ReturnPolicy, SummaryConfig, SummaryReport, TimeUnit, Transaction,
    TransactionLog, TransactionLogBuilder,
};
pub use error::{Error, Result};
