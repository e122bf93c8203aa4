//! The same SQL on a Ballista cluster and on one local DataFusion session: CDNOW's summaries
//! and scores must be equal, value for value.
//!
//! The cluster is a scheduler and two executors started in this process through
//! `run_scheduler` / `run_executor` — the code the `custseg-scheduler` and
//! `custseg-executor` binaries run — so each node knows the functions only through this
//! crate, by name, as on a real cluster; the client is `remote`. The log is split row by row
//! over three Parquet files, so every customer's rows are read by several tasks and the
//! summary aggregate's partial states cross the shuffle between executors.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use ballista::prelude::SessionConfigExt;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use custseg::clv::{BgNbd, Discounting, GammaGamma, RftData, SpendData};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::rfm::RfmParams;
use custseg::{Fit, TimeUnit};
use custseg_datafusion::{PurchaseModel, ValuationSpec};
use datafusion::arrow::array::{ArrayRef, Date32Array, Float64Array, Int64Array, RecordBatch};
use datafusion::arrow::compute::concat_batches;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::prelude::{ParquetReadOptions, SessionConfig, SessionContext};

/// CDNOW's rows as three Parquet files in a fresh folder: row i in file i % 3.
fn cdnow_parquet(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("custseg-ballista-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let mut files: Vec<(Vec<i64>, Vec<i32>, Vec<f64>)> = vec![Default::default(); 3];
    let mut row = 0;
    for c in cdnow_sample().iter_customers() {
        let id: i64 = c.customer_id.as_str().parse().unwrap();
        for (d, a) in c.dates.iter().zip(c.amounts) {
            let f = &mut files[row % 3];
            f.0.push(id);
            f.1.push(d.days_since_epoch());
            f.2.push(*a);
            row += 1;
        }
    }
    for (i, (ids, days, amounts)) in files.into_iter().enumerate() {
        let batch = RecordBatch::try_from_iter([
            ("customer_id", Arc::new(Int64Array::from(ids)) as ArrayRef),
            ("date", Arc::new(Date32Array::from(days)) as ArrayRef),
            ("amount", Arc::new(Float64Array::from(amounts)) as ArrayRef),
        ])
        .unwrap();
        let file = std::fs::File::create(dir.join(format!("part-{i}.parquet"))).unwrap();
        let mut writer = ArrowWriter::try_new(file, batch.schema(), None).unwrap();
        writer.write(&batch).unwrap();
        writer.close().unwrap();
    }
    dir
}

/// A port nobody listens on now.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_for(addr: SocketAddr) {
    let start = Instant::now();
    while TcpStream::connect(addr).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "nothing listens on {addr}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A scheduler and `executors` executors in this process; the scheduler's address. With
/// `custseg` false they are stock Ballista's, which do not know custseg's functions.
async fn cluster(executors: usize, custseg: bool) -> SocketAddr {
    let scheduler = SocketAddr::from(([127, 0, 0, 1], free_port()));
    if custseg {
        tokio::spawn(custseg_ballista::run_scheduler(
            SchedulerConfig::default(),
            scheduler,
        ));
    } else {
        let config = SchedulerConfig {
            bind_port: scheduler.port(),
            ..Default::default()
        };
        tokio::spawn(async move {
            let cluster = BallistaCluster::new_from_config(&config).await?;
            start_server(cluster, scheduler, Arc::new(config)).await
        });
    }
    wait_for(scheduler);
    for _ in 0..executors {
        let config = ExecutorProcessConfig {
            bind_host: "127.0.0.1".into(),
            external_host: Some("localhost".into()),
            port: free_port(),
            grpc_port: free_port(),
            scheduler_host: "localhost".into(),
            scheduler_port: scheduler.port(),
            vcores: 2,
            print_thread_info: false,
            ..Default::default()
        };
        let flight = SocketAddr::from(([127, 0, 0, 1], config.port));
        if custseg {
            tokio::spawn(custseg_ballista::run_executor(config));
        } else {
            tokio::spawn(start_executor_process(Arc::new(config)));
        }
        wait_for(flight);
    }
    scheduler
}

async fn collect(ctx: &SessionContext, sql: &str) -> datafusion::error::Result<RecordBatch> {
    let df = ctx.sql(sql).await?;
    let schema = df.schema().inner().clone();
    Ok(concat_batches(&schema, &df.collect().await?)?)
}

/// The queries: summaries (every field) and scores by every kind of function.
fn queries() -> Vec<String> {
    let cfg = cdnow_sample_config();
    let summaries = cdnow_sample().summarise(&cfg).unwrap();
    let rft = RftData::from_summaries(&summaries).unwrap();
    let (bg, _) = BgNbd::params().fit(&rft).unwrap();
    let (spend, _) = GammaGamma::params()
        .fit(&SpendData::from_summaries(&summaries).unwrap())
        .unwrap();
    let (rfm, _) = RfmParams::new(5)
        .unwrap()
        .fit(summaries.as_slice())
        .unwrap();
    let rfm = serde_json::to_string(&rfm).unwrap();
    let model = PurchaseModel::from(bg);
    let valuation = ValuationSpec {
        model,
        spend,
        discounting: Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    }
    .to_json();
    let model = model.to_json();
    let summary = format!(
        "SELECT customer_id, custseg_summary(date, amount, DATE '{}', DATE '{}', 'weeks') AS s \
         FROM tx GROUP BY customer_id",
        cfg.observation_end,
        cfg.window_end()
    );
    vec![
        format!("SELECT customer_id, s FROM ({summary}) ORDER BY customer_id"),
        format!(
            "SELECT customer_id, custseg_p_alive(s, '{model}') AS p_alive, \
             custseg_expected_purchases(s, 39, '{model}') AS expected, \
             custseg_clv(s, '{valuation}') AS clv, \
             custseg_churn_risk(s, '{model}') AS risk, custseg_churn_tier(s, '{model}') AS tier, \
             custseg_rfm_cell(s, '{rfm}') AS cell, custseg_rfm_segment(s, '{rfm}') AS segment \
             FROM ({summary}) WHERE s IS NOT NULL ORDER BY customer_id"
        ),
    ]
}

async fn register_log(ctx: &SessionContext, dir: &Path) {
    ctx.register_parquet("tx", dir.to_str().unwrap(), ParquetReadOptions::default())
        .await
        .unwrap();
}

async fn local_answers(dir: &Path, queries: &[String]) -> Vec<RecordBatch> {
    let local = SessionContext::new_with_config(SessionConfig::new().with_target_partitions(4));
    custseg_datafusion::register(&local);
    register_log(&local, dir).await;
    let mut out = Vec::new();
    for q in queries {
        out.push(collect(&local, q).await.unwrap());
    }
    out
}

fn check_equal(what: &str, cluster: &[RecordBatch], local: &[RecordBatch]) {
    let customers = cdnow_sample().iter_customers().count();
    for (i, (c, l)) in cluster.iter().zip(local).enumerate() {
        assert_eq!(
            c.num_rows(),
            customers,
            "{what}, query {i}: one row per customer"
        );
        assert_eq!(
            c.schema().fields(),
            l.schema().fields(),
            "{what}, query {i}: schema"
        );
        for (k, (a, b)) in c.columns().iter().zip(l.columns()).enumerate() {
            assert_eq!(
                a.to_data(),
                b.to_data(),
                "{what}, query {i}, column {}",
                c.schema().field(k).name()
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cdnow_on_a_scheduler_and_two_executors_equals_local_datafusion() {
    let dir = cdnow_parquet("cluster");
    let queries = queries();
    let local = local_answers(&dir, &queries).await;

    let scheduler = cluster(2, true).await;
    let ctx = custseg_ballista::remote_with_config(
        &format!("df://localhost:{}", scheduler.port()),
        SessionConfig::new_with_ballista().with_target_partitions(4),
    )
    .await
    .unwrap();
    register_log(&ctx, &dir).await;
    // The query runs on the cluster, not in the client.
    let plan = ctx.sql(&queries[0]).await.unwrap();
    let plan = plan.create_physical_plan().await.unwrap();
    let shown = format!(
        "{}",
        datafusion::physical_plan::displayable(plan.as_ref()).indent(false)
    );
    assert!(shown.contains("DistributedQueryExec"), "{shown}");
    let mut answers = Vec::new();
    for q in &queries {
        answers.push(collect(&ctx, q).await.unwrap());
    }
    check_equal("cluster", &answers, &local);

    // A bad model is an error from the cluster, not a panic on an executor.
    let bad = collect(
        &ctx,
        "SELECT custseg_p_alive(s, '{\"bg_nbd\": {\"r\": -1}}') FROM \
         (SELECT customer_id, custseg_summary(date, amount, DATE '1997-09-30') AS s \
          FROM tx GROUP BY customer_id)",
    )
    .await;
    assert!(bad.is_err(), "a negative r must fail");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Stock Ballista nodes do not know the functions, even when the client does: the functions
/// are resolved on the nodes, by name, which is what the scheduler and executor of this crate
/// are for.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stock_ballista_nodes_refuse_the_functions_by_name() {
    let dir = cdnow_parquet("stock");
    let scheduler = cluster(1, false).await;
    let ctx = custseg_ballista::remote(&format!("df://localhost:{}", scheduler.port()))
        .await
        .unwrap();
    register_log(&ctx, &dir).await;
    let err = collect(&ctx, &queries()[0]).await.unwrap_err().to_string();
    assert!(err.contains("custseg_summary"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cdnow_on_a_standalone_cluster_equals_local_datafusion() {
    let dir = cdnow_parquet("standalone");
    let queries = queries();
    let local = local_answers(&dir, &queries).await;
    let ctx = custseg_ballista::standalone(
        SessionConfig::new_with_ballista()
            .with_target_partitions(4)
            .with_ballista_standalone_parallelism(2),
    )
    .await
    .unwrap();
    register_log(&ctx, &dir).await;
    let mut answers = Vec::new();
    for q in &queries {
        answers.push(collect(&ctx, q).await.unwrap());
    }
    check_equal("standalone", &answers, &local);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn every_node_knows_every_function() {
    let names: Vec<String> = custseg_datafusion::udafs()
        .iter()
        .map(|f| f.name().to_string())
        .chain(
            custseg_datafusion::udfs()
                .iter()
                .map(|f| f.name().to_string()),
        )
        .collect();
    assert_eq!(names.len(), 8);
    let registry = custseg_ballista::function_registry().unwrap();
    let scheduler =
        custseg_ballista::scheduler_session(SessionConfig::new_with_ballista()).unwrap();
    for name in &names {
        let known = registry.scalar_functions.contains_key(name)
            || registry.aggregate_functions.contains_key(name);
        assert!(known, "executor registry lacks {name}");
        let planned = scheduler.scalar_functions().contains_key(name)
            || scheduler.aggregate_functions().contains_key(name);
        assert!(planned, "scheduler session lacks {name}");
    }
    // DataFusion's own functions stay.
    assert!(registry.aggregate_functions.contains_key("sum"));
    assert!(scheduler.scalar_functions().contains_key("abs"));
}
