//! # custseg-datafusion — customer summaries and scores in SQL
//!
//! [`custseg`]'s summaries and scores as functions of
//! [Apache DataFusion](https://datafusion.apache.org), so a customer base kept in Parquet (or
//! any table DataFusion reads) is summarised and scored by a query, in parallel over the
//! table's partitions, without leaving the engine:
//!
//! ```sql
//! WITH summaries AS (
//!   SELECT customer_id,
//!          custseg_summary(date, amount, DATE '1997-09-30', DATE '1998-06-30', 'weeks') AS s
//!   FROM transactions GROUP BY customer_id)
//! SELECT customer_id,
//!        s['frequency'] AS x,
//!        custseg_p_alive(s, '<model JSON>') AS p_alive,
//!        custseg_clv(s, '<valuation JSON>') AS clv,
//!        custseg_rfm_segment(s, '<RFM model JSON>') AS segment
//! FROM summaries
//! ```
//!
//! * [`custseg_summary`](summary) is an aggregate: the per-customer summary inside
//!   `GROUP BY customer_id`. Its partial state is the crate's mergeable
//!   [`CustomerHistory`](custseg::CustomerHistory), so partitions summarise their own rows
//!   and the engine merges them; a groups accumulator keeps one history per customer.
//! * The [scoring functions](score) apply a fitted model — its JSON as a constant, see
//!   [`PurchaseModel`] and [`ValuationSpec`] — to the summary struct or to `x, t_x, T`
//!   columns: P(alive), expected purchases, CLV, RFM cell and segment, churn risk and tier.
//!
//! [`register`] adds them all to a `SessionContext`; [`udafs`] and [`udfs`] list them for
//! other registries (a Ballista scheduler and its executors register the same functions by
//! name).
//!
//! Results are those of the crate's own API on the same rows: the summaries equal
//! [`TransactionLog::summarise`](custseg::TransactionLog::summarise) (see [`summary`] for the
//! one floating-point caveat), the scores the crate's batch functions on those summaries.
//! Bad input — a null date or amount, NaN, a negative amount, a model that does not parse or
//! does not match the summaries' unit, an argument that should be a constant — is a
//! DataFusion error naming the function, value and argument, never a panic.
//!
//! ```
//! use custseg::clv::BgNbd;
//! use custseg_datafusion::{PurchaseModel, register};
//! use datafusion::prelude::SessionContext;
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let ctx = SessionContext::new();
//! register(&ctx);
//! ctx.sql("CREATE TABLE tx (customer_id INT, date DATE, amount DOUBLE) AS VALUES \
//!          (1, DATE '2024-01-02', 10.0), (1, DATE '2024-02-01', 5.0), (2, DATE '2024-01-20', 7.5)")
//!     .await?;
//! let model = PurchaseModel::from(BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?).to_json();
//! let df = ctx
//!     .sql(&format!(
//!         "SELECT customer_id, s['frequency'] AS x, custseg_p_alive(s, '{model}') AS p \
//!          FROM (SELECT customer_id, custseg_summary(date, amount, DATE '2024-03-31') AS s \
//!                FROM tx GROUP BY customer_id) ORDER BY customer_id",
//!     ))
//!     .await?;
//! let batches = df.collect().await?;
//! assert_eq!(batches.iter().map(|b| b.num_rows()).sum::<usize>(), 2);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

#![warn(missing_docs)]

mod models;
pub mod score;
pub mod summary;

use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub use models::{PurchaseModel, ValuationSpec};

/// The aggregate functions: `custseg_summary`.
pub fn udafs() -> Vec<AggregateUDF> {
    vec![AggregateUDF::from(summary::SummaryUdaf::default())]
}

/// The scalar functions: `custseg_p_alive`, `custseg_expected_purchases`, `custseg_clv`,
/// `custseg_rfm_cell`, `custseg_rfm_segment`, `custseg_churn_risk`, `custseg_churn_tier`.
pub fn udfs() -> Vec<ScalarUDF> {
    score::Kind::ALL
        .into_iter()
        .map(|k| ScalarUDF::from(score::ScoreUdf::new(k)))
        .collect()
}

/// Registers every function on a session (under the names above; registering again
/// replaces them).
pub fn register(ctx: &SessionContext) {
    for f in udafs() {
        ctx.register_udaf(f);
    }
    for f in udfs() {
        ctx.register_udf(f);
    }
}

/// A crate error as a DataFusion execution error, prefixed with the function's name.
pub(crate) fn custseg_error(
    function: &str,
    e: custseg::Error,
) -> datafusion::error::DataFusionError {
    datafusion::error::DataFusionError::Execution(format!("{function}: {e}"))
}
