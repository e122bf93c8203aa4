//! # custseg-ballista
//!
//! custseg's SQL functions — the `custseg_summary` aggregate and the scoring functions of
//! [`custseg_datafusion`] — on an [Apache Ballista](https://datafusion.apache.org/ballista/)
//! cluster, so the same query that runs on one machine runs on many.
//!
//! Ballista ships a query as a plan in which functions appear **by name**, and every node
//! looks the names up in its own registry: the client that plans the query, the scheduler
//! that splits it into stages, and each executor that runs a stage (and merges the summary
//! aggregate's partial states after the shuffle). So all three must know custseg's functions:
//!
//! | node | what it needs | here |
//! |---|---|---|
//! | client | a Ballista session with the functions registered *after* Ballista's upgrade of the session (the upgrade replaces the function lists) | [`remote`], [`standalone`] |
//! | scheduler | a session builder that adds the functions | [`session_builder`], [`run_scheduler`], binary `custseg-scheduler` |
//! | executor | a function registry with the functions | [`function_registry`], [`run_executor`], binary `custseg-executor` |
//!
//! The functions carry no hidden state — a fitted model travels as a JSON literal in the
//! query — so resolving them by name on each node gives the same answers as one local
//! DataFusion session, bit for bit (`tests/cluster.rs` checks it on CDNOW against a
//! scheduler and two executors).
//!
//! ```no_run
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // A client of a cluster whose scheduler and executors are custseg's.
//! let ctx = custseg_ballista::remote("df://scheduler.internal:50050").await?;
//! ctx.sql(
//!     "CREATE EXTERNAL TABLE tx STORED AS PARQUET LOCATION 's3://bucket/transactions/'",
//! )
//! .await?;
//! let summaries = ctx
//!     .sql(
//!         "SELECT customer_id, custseg_summary(date, amount, DATE '1997-09-30') AS s \
//!          FROM tx GROUP BY customer_id",
//!     )
//!     .await?
//!     .collect()
//!     .await?;
//! # Ok(())
//! # }
//! ```
//!
//! Tables must be ones every executor can read (Parquet or CSV on a shared file system or an
//! object store): an in-memory table registered on the client does not travel.

#![warn(missing_docs)]

use std::net::SocketAddr;
use std::sync::Arc;

use ballista::prelude::{SessionConfigExt, SessionContextExt};
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use ballista_scheduler::scheduler_server::SessionBuilder;
use datafusion::error::Result;
use datafusion::execution::{FunctionRegistry, SessionState, SessionStateBuilder};
use datafusion::prelude::{SessionConfig, SessionContext};

pub use ballista_core::error::BallistaError;

pub mod cli;

/// `state` with custseg's functions registered (replacing any of the same name).
pub fn with_functions(mut state: SessionState) -> Result<SessionState> {
    for f in custseg_datafusion::udafs() {
        state.register_udaf(Arc::new(f))?;
    }
    for f in custseg_datafusion::udfs() {
        state.register_udf(Arc::new(f))?;
    }
    Ok(state)
}

/// The scheduler's session for a query: Ballista's default session
/// (`ballista_core::utils::default_session_builder`) with custseg's functions.
pub fn scheduler_session(config: SessionConfig) -> Result<SessionState> {
    with_functions(ballista_core::utils::default_session_builder(config)?)
}

/// [`scheduler_session`] as the session builder a Ballista scheduler takes
/// (`SchedulerConfig::with_override_session_builder`).
pub fn session_builder() -> SessionBuilder {
    Arc::new(scheduler_session)
}

/// The executor's function registry: the functions of the scheduler's session
/// ([`scheduler_session`]: DataFusion's and Ballista's built-ins and custseg's), so an
/// executor knows exactly the names the scheduler plans with (for
/// `ExecutorProcessConfig::override_function_registry`, or a standalone executor).
///
/// # Errors
/// As [`scheduler_session`].
pub fn function_registry() -> Result<BallistaFunctionRegistry> {
    Ok(BallistaFunctionRegistry::from(&scheduler_session(
        SessionConfig::new_with_ballista(),
    )?))
}

/// A client session of the Ballista cluster at `url` (`df://host:port`) that plans custseg's
/// functions. The cluster's scheduler and executors must know them too ([`run_scheduler`],
/// [`run_executor`], or the binaries `custseg-scheduler` and `custseg-executor`).
///
/// # Errors
/// A URL that is not `df://host[:port]`.
pub async fn remote(url: &str) -> Result<SessionContext> {
    remote_with_config(url, SessionConfig::new_with_ballista()).await
}

/// [`remote`] with a session configuration (target partitions, Ballista's settings …).
///
/// # Errors
/// As [`remote`].
pub async fn remote_with_config(url: &str, config: SessionConfig) -> Result<SessionContext> {
    let state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .build();
    let ctx = SessionContext::remote_with_state(url, state).await?;
    // Ballista's upgrade of the session replaced its function lists with Ballista's
    // defaults: register custseg's again, or the client cannot plan them.
    custseg_datafusion::register(&ctx);
    Ok(ctx)
}

/// A client session of a Ballista cluster started in this process — one scheduler and one
/// executor, both with custseg's functions — for trying the distributed path on one
/// machine (`config.ballista_standalone_parallelism()` task slots).
///
/// # Errors
/// When the in-process scheduler or executor cannot start.
pub async fn standalone(config: SessionConfig) -> Result<SessionContext> {
    // The scheduler and the executor are built from this state: its functions are theirs.
    let state = with_functions(
        SessionStateBuilder::new()
            .with_default_features()
            .with_config(config)
            .build(),
    )?;
    let ctx = SessionContext::standalone_with_state(state).await?;
    custseg_datafusion::register(&ctx);
    Ok(ctx)
}

/// Runs a Ballista scheduler that knows custseg's functions, listening on `bind`, until the
/// process ends. Every other setting is `config`'s (Ballista's own `SchedulerConfig`: task
/// scheduling policy, timeouts, …); its session builder is replaced by [`session_builder`].
///
/// # Errors
/// When the cluster state cannot be created or the server cannot bind or fails.
pub async fn run_scheduler(config: SchedulerConfig, bind: SocketAddr) -> Result<(), BallistaError> {
    let mut config = config.with_override_session_builder(session_builder());
    config.bind_host = bind.ip().to_string();
    config.bind_port = bind.port();
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, bind, Arc::new(config)).await
}

/// Runs a Ballista executor that knows custseg's functions until the process ends or the
/// scheduler stops it. Every setting is `config`'s (ports, scheduler address, task slots,
/// work directory, …); its function registry is replaced by [`function_registry`].
///
/// # Errors
/// When the executor cannot bind, reach its scheduler or fails.
pub async fn run_executor(mut config: ExecutorProcessConfig) -> Result<(), BallistaError> {
    config.override_function_registry = Some(Arc::new(function_registry()?));
    start_executor_process(Arc::new(config)).await
}
