//! Summaries of a large synthetic log in Parquet: custseg's aggregate in DataFusion and the
//! crate in process, timed on the same file the peers (`benches/peers/parquet_engines.py`:
//! DuckDB, polars) read.
//!
//! ```text
//! cargo run --release -p custseg-datafusion --example parquet_summaries -- write 10000000 /tmp/tx.parquet
//! cargo run --release -p custseg-datafusion --example parquet_summaries -- datafusion /tmp/tx.parquet [repeat]
//! cargo run --release -p custseg-datafusion --example parquet_summaries -- datafusion-sql /tmp/tx.parquet [repeat]
//! cargo run --release -p custseg-datafusion --example parquet_summaries -- in-process /tmp/tx.parquet [repeat]
//! ```
//!
//! `write` generates the synthetic base a million customers at a time (seed 2024 + chunk,
//! customer keys numbered on across chunks, so memory stays bounded) and writes
//! `customer_id` (Int64), `date` (Date32), `amount` (Float64) in row groups of 1M rows; the
//! last line printed is the observation end the queries use. `datafusion` runs
//! `custseg_summary` in `GROUP BY customer_id` over the file (all cores, the file read
//! inside the timed query); `datafusion-sql` runs the peers' query (`SUMMARY_SQL` of
//! `benches/peers/summary_engines.py`) in DataFusion's own operators, the engine without
//! custseg's aggregate, for reference; `in-process` reads the file into Arrow batches and summarises
//! them with `custseg::arrow::Transactions` (reading timed too). Each prints one JSON line:
//! engine, rows, customers, seconds (best of `repeat`, default 3), all runs, rows per second
//! and the process's peak resident memory (VmHWM).

use std::error::Error;
use std::fs::File;
use std::sync::Arc;
use std::time::Instant;

use custseg::arrow::{TransactionColumns, Transactions};
use custseg::datasets::{SyntheticConfig, synthetic};
use custseg::{Date, ReturnPolicy, SummaryConfig};
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch};
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::parquet::file::properties::WriterProperties;
use datafusion::prelude::{ParquetReadOptions, SessionContext};

const CHUNK: usize = 1_000_000;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: parquet_summaries write CUSTOMERS PATH | datafusion PATH [REPEAT] | datafusion-sql PATH [REPEAT] | in-process PATH [REPEAT]";
    let (mode, rest) = args.split_first().ok_or(usage)?;
    match mode.as_str() {
        "write" => {
            let customers: usize = rest.first().ok_or(usage)?.parse()?;
            let path = rest.get(1).ok_or(usage)?;
            write(customers, path)
        }
        "datafusion" | "datafusion-sql" | "in-process" => {
            let path = rest.first().ok_or(usage)?;
            let repeat: usize = rest.get(1).map_or(Ok(3), |r| r.parse())?;
            let end = observation_end()?;
            let mut times = Vec::new();
            let (mut rows, mut customers) = (0, 0);
            for _ in 0..repeat {
                let t = Instant::now();
                (rows, customers) = if mode == "datafusion" {
                    datafusion_summaries(path, end, false).await?
                } else if mode == "datafusion-sql" {
                    datafusion_summaries(path, end, true).await?
                } else {
                    in_process_summaries(path, end)?
                };
                times.push(t.elapsed().as_secs_f64());
            }
            let best = times.iter().cloned().fold(f64::INFINITY, f64::min);
            println!(
                "{{\"engine\": \"custseg {mode}\", \"rows\": {rows}, \"customers\": {customers}, \
                 \"seconds_best\": {best:.4}, \"seconds_all\": {times:?}, \"rows_per_second\": {:.0}, \
                 \"peak_rss_mb\": {:.0}, \"threads\": {}}}",
                rows as f64 / best,
                peak_rss_mb(),
                std::thread::available_parallelism().map_or(1, |n| n.get())
            );
            Ok(())
        }
        _ => Err(usage.into()),
    }
}

/// The synthetic bases' calibration end (the same for every size and seed).
fn observation_end() -> Result<Date, Box<dyn Error>> {
    Ok(SyntheticConfig::new(1, 2024).observation_end()?)
}

fn write(customers: usize, path: &str) -> Result<(), Box<dyn Error>> {
    let schema = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(Int64Array::from(Vec::<i64>::new())) as ArrayRef,
        ),
        (
            "date",
            Arc::new(Date32Array::from(Vec::<i32>::new())) as ArrayRef,
        ),
        (
            "amount",
            Arc::new(Float64Array::from(Vec::<f64>::new())) as ArrayRef,
        ),
    ])?
    .schema();
    let props = WriterProperties::builder()
        .set_max_row_group_row_count(Some(CHUNK))
        .build();
    let mut writer = ArrowWriter::try_new(File::create(path)?, schema, Some(props))?;
    let mut rows = 0;
    for (chunk, start) in (0..customers).step_by(CHUNK).enumerate() {
        let n = CHUNK.min(customers - start);
        let base = synthetic(&SyntheticConfig::new(n, 2024 + chunk as u64))?;
        let r = base.export_rows();
        let batch = RecordBatch::try_from_iter([
            (
                "customer_id",
                Arc::new(Int64Array::from_iter_values(
                    r.customer_keys.iter().map(|&k| (start as u64 + k) as i64),
                )) as ArrayRef,
            ),
            (
                "date",
                Arc::new(Date32Array::from_iter_values(
                    r.dates.iter().map(|d| d.days_since_epoch()),
                )) as ArrayRef,
            ),
            (
                "amount",
                Arc::new(Float64Array::from(r.amounts)) as ArrayRef,
            ),
        ])?;
        rows += batch.num_rows();
        writer.write(&batch)?;
        eprintln!("{} customers, {rows} rows", start + n);
    }
    writer.close()?;
    eprintln!("wrote {rows} rows of {customers} customers to {path}");
    println!("{}", observation_end()?);
    Ok(())
}

/// The peers' query (benches/peers/summary_engines.py's SUMMARY_SQL) in DataFusion's own
/// operators: what the engine does without custseg's aggregate.
fn builtin_sql(end: Date) -> String {
    format!(
        "WITH days AS (SELECT customer_id, date, sum(amount) AS spend FROM tx \
         WHERE date <= DATE '{end}' GROUP BY customer_id, date) \
         SELECT customer_id, count(*) - 1 AS frequency, \
         (CAST(max(date) AS INT) - CAST(min(date) AS INT)) / 7.0 AS recency, \
         (CAST(DATE '{end}' AS INT) - CAST(min(date) AS INT)) / 7.0 AS t, \
         CASE WHEN count(*) > 1 THEN (sum(spend) - first_value(spend ORDER BY date)) \
         / (count(*) - 1) ELSE 0.0 END AS monetary FROM days GROUP BY customer_id"
    )
}

async fn datafusion_summaries(
    path: &str,
    end: Date,
    builtin: bool,
) -> Result<(usize, usize), Box<dyn Error>> {
    let ctx = SessionContext::new();
    custseg_datafusion::register(&ctx);
    ctx.register_parquet("tx", path, ParquetReadOptions::default())
        .await?;
    let sql = if builtin {
        builtin_sql(end)
    } else {
        format!(
            "SELECT customer_id, custseg_summary(date, amount, DATE '{end}') AS s \
             FROM tx GROUP BY customer_id"
        )
    };
    if std::env::var_os("CUSTSEG_EXPLAIN").is_some() {
        let plan = ctx
            .sql(&format!("EXPLAIN ANALYZE {sql}"))
            .await?
            .collect()
            .await?;
        eprintln!(
            "{}",
            datafusion::arrow::util::pretty::pretty_format_batches(&plan)?
        );
    }
    // Materialised in the engine and counted, as the peers materialise theirs.
    let df = ctx.sql(&sql).await?;
    let batches = df.collect().await?;
    let customers = batches.iter().map(|b| b.num_rows()).sum();
    let rows = ctx
        .sql("SELECT count(*) FROM tx")
        .await?
        .collect()
        .await?
        .first()
        .and_then(|b| {
            b.column(0)
                .as_any()
                .downcast_ref::<Int64Array>()
                .map(|a| a.value(0) as usize)
        })
        .unwrap_or(0);
    Ok((rows, customers))
}

fn in_process_summaries(path: &str, end: Date) -> Result<(usize, usize), Box<dyn Error>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(File::open(path)?)?
        .with_batch_size(CHUNK)
        .build()?;
    let batches = reader.collect::<Result<Vec<_>, _>>()?;
    let tx = Transactions::from_record_batches(&batches, &TransactionColumns::default())?;
    let summaries = tx.summarise(ReturnPolicy::Error, &SummaryConfig::new(end))?;
    Ok((tx.len(), summaries.len() + summaries.late_customers().len()))
}

/// The process's peak resident set in MiB (Linux; 0 elsewhere).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
