//! The quickstart's numbers from SQL: the CDNOW sample written to Parquet, summarised and
//! scored by DataFusion with the custseg functions.
//!
//! ```text
//! cargo run --release -p custseg-datafusion --example cdnow_sql
//! ```
//!
//! 1. Writes the embedded CDNOW sample (6,919 rows) to a Parquet file, as a source system
//!    would hand it over.
//! 2. Summarises every customer in SQL (`custseg_summary` inside `GROUP BY`, over 8
//!    partitions), and reads the summaries back into Rust to fit BG/NBD and Gamma-Gamma —
//!    fitting is a small job on one machine; scoring is the one that scales with the base.
//! 3. Scores every customer in SQL with the fitted models' JSON, and prints the quickstart's
//!    figures (the customer base, the models, the holdout check, 12-month CLV, the top ten),
//!    checking each against the crate's in-process answer.

use std::error::Error;
use std::fs::File;
use std::sync::Arc;

use custseg::arrow::{ToRecordBatch, summaries_from_record_batches};
use custseg::clv::{
    BgNbd, Discounting, GammaGamma, RftData, SpendData, TransactionModel, Valuation,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{Fit, Score, TimeUnit};
use custseg_datafusion::{PurchaseModel, ValuationSpec, register};
use datafusion::arrow::array::{
    ArrayRef, AsArray, Date32Array, Float64Array, Int64Array, RecordBatch,
};
use datafusion::arrow::compute::concat_batches;
use datafusion::arrow::datatypes::{Float64Type, Int64Type};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    // 1. The sample as a Parquet file of (customer_id, date, amount).
    let log = cdnow_sample();
    let (mut ids, mut days, mut amounts) = (Vec::new(), Vec::new(), Vec::new());
    for c in log.iter_customers() {
        let id: i64 = c.customer_id.as_str().parse()?;
        for (d, a) in c.dates.iter().zip(c.amounts) {
            ids.push(id);
            days.push(d.days_since_epoch());
            amounts.push(*a);
        }
    }
    let rows = RecordBatch::try_from_iter([
        ("customer_id", Arc::new(Int64Array::from(ids)) as ArrayRef),
        ("date", Arc::new(Date32Array::from(days)) as ArrayRef),
        ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
    ])?;
    let dir = std::env::temp_dir().join(format!("custseg-cdnow-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let path = dir.join("cdnow_sample.parquet");
    let mut writer = ArrowWriter::try_new(File::create(&path)?, rows.schema(), None)?;
    writer.write(&rows)?;
    writer.close()?;
    println!("wrote {} rows to {}", rows.num_rows(), path.display());

    // 2. Summaries in SQL.
    let ctx = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(8));
    register(&ctx);
    ctx.register_parquet(
        "tx",
        path.to_str().ok_or("path")?,
        ParquetReadOptions::default(),
    )
    .await?;
    let cfg = cdnow_sample_config();
    ctx.sql(&format!(
        "CREATE VIEW summaries AS SELECT customer_id, \
         custseg_summary(date, amount, DATE '{}', DATE '{}', 'weeks') AS s \
         FROM tx GROUP BY customer_id",
        cfg.observation_end,
        cfg.window_end()
    ))
    .await?;
    let batches = ctx
        .sql(
            "SELECT CAST(customer_id AS VARCHAR) AS customer_id, s['first_purchase'] AS first_purchase, \
             s['last_purchase'] AS last_purchase, s['frequency'] AS frequency, s['recency'] AS recency, \
             s['age'] AS age, s['monetary'] AS monetary, s['total_spend'] AS total_spend, \
             s['transactions'] AS transactions, s['holdout_frequency'] AS holdout_frequency, \
             s['holdout_spend'] AS holdout_spend, s['holdout_transactions'] AS holdout_transactions \
             FROM summaries WHERE s IS NOT NULL ORDER BY customer_id",
        )
        .await?
        .collect()
        .await?;
    let summaries = summaries_from_record_batches(&batches, TimeUnit::Weeks)?;
    // The crate, in process, on the same rows.
    let mut local = log.summarise(&cfg)?.into_vec();
    local.sort_by(|a, b| a.customer_id().as_str().cmp(b.customer_id().as_str()));
    assert_eq!(summaries, local, "SQL summaries equal the crate's");

    let n = summaries.len();
    let repeaters = summaries.iter().filter(|s| s.frequency() > 0).count();
    let spend: f64 = summaries.iter().map(|s| s.total_spend()).sum();
    let holdout: u32 = summaries.iter().map(|s| s.holdout_frequency()).sum();
    println!(
        "{n} customers, {repeaters} repeat buyers, ${spend:.2} calibration revenue, \
         {holdout} holdout purchase days (the quickstart's figures; equal to the crate's summaries)"
    );

    // Fit on the summaries read back.
    let rft = RftData::from_summaries(&summaries)?;
    let (bg, bg_fit) = BgNbd::params().fit(&rft)?;
    let (gg, _) = GammaGamma::params().fit(&SpendData::from_summaries(&summaries)?)?;
    println!(
        "BG/NBD r {:.4}, alpha {:.4}, a {:.4}, b {:.4} (log-likelihood {:.2}); \
         Gamma-Gamma p {:.3}, q {:.3}, gamma {:.3}",
        bg.r(),
        bg.alpha(),
        bg.a(),
        bg.b(),
        bg_fit.log_likelihood,
        gg.p(),
        gg.q(),
        gg.gamma()
    );

    // 3. Scores in SQL, with the models as JSON constants.
    let discounting = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?;
    let model = PurchaseModel::from(bg).to_json();
    let valuation = ValuationSpec::from(Valuation::new(bg, gg, discounting)).to_json();
    let weeks = cfg.holdout_length().unwrap_or(0.0);
    let scored = ctx
        .sql(&format!(
            "SELECT customer_id, custseg_p_alive(s, '{model}') AS p_alive, \
             custseg_expected_purchases(s, {weeks}, '{model}') AS holdout_expected, \
             custseg_clv(s, '{valuation}') AS clv \
             FROM summaries WHERE s IS NOT NULL ORDER BY clv DESC, customer_id"
        ))
        .await?;
    let schema = scored.schema().inner().clone();
    let scored = concat_batches(&schema, &scored.collect().await?)?;
    let column = |name: &str| {
        scored
            .column_by_name(name)
            .map(|c| c.as_primitive::<Float64Type>().clone())
    };
    let (p, expected, clv) = (
        column("p_alive").ok_or("p_alive")?,
        column("holdout_expected").ok_or("holdout_expected")?,
        column("clv").ok_or("clv")?,
    );
    let id = scored.column(0).as_primitive::<Int64Type>();
    let total_expected: f64 = expected.values().iter().sum();
    let total_clv: f64 = clv.values().iter().sum();
    println!(
        "holdout check: {holdout} purchase days happened in the {weeks} holdout weeks; \
         BG/NBD predicted {total_expected:.0}"
    );
    println!(
        "12-month CLV (1% a month): ${total_clv:.0} in total, ${:.2} per customer",
        total_clv / n as f64
    );

    // The same scores in process, to 1e-12.
    let values = Valuation::new(bg, gg, discounting).score_batch(&summaries)?;
    let local_expected = bg.expected_purchases_batch(&summaries, weeks)?;
    let index: std::collections::HashMap<i64, usize> = summaries
        .iter()
        .enumerate()
        .map(|(i, s)| Ok((s.customer_id().as_str().parse()?, i)))
        .collect::<Result<_, std::num::ParseIntError>>()?;
    let mut worst: f64 = 0.0;
    for r in 0..scored.num_rows() {
        let i = index[&id.value(r)];
        for (a, b) in [
            (p.value(r), values[i].p_alive),
            (expected.value(r), local_expected[i]),
            (clv.value(r), values[i].clv),
        ] {
            worst = worst.max((a - b).abs() / b.abs().max(1e-300));
        }
    }
    assert!(worst <= 1e-12, "largest relative difference {worst:e}");
    println!("largest relative difference from the crate's scores: {worst:.1e}\n");

    println!("top ten customers by 12-month CLV (SQL)");
    println!(
        "{:>8}  {:>8}  {:>9}  {:>9}",
        "customer", "P(alive)", "E[holdout]", "CLV ($)"
    );
    for r in 0..10.min(scored.num_rows()) {
        println!(
            "{:>8}  {:>8.3}  {:>9.2}  {:>9.2}",
            id.value(r),
            p.value(r),
            expected.value(r),
            clv.value(r)
        );
    }
    // The summaries could equally go back out as Arrow for the next system.
    let _ = summaries.to_record_batch()?;
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
