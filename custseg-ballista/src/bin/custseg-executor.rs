//! A Ballista executor that knows custseg's SQL functions.
//!
//! ```text
//! custseg-executor [--scheduler-host localhost] [--scheduler-port 50050]
//!                  [--bind-host 0.0.0.0] [--port 50051] [--grpc-port 50052]
//!                  [--external-host HOST] [--vcores N] [--work-dir DIR] [--policy push|pull]
//! ```
//!
//! Every other setting is Ballista's default `ExecutorProcessConfig`; an operator who needs
//! more writes a main of their own around `custseg_ballista::run_executor`. The policy must
//! be the scheduler's.

use ballista_executor::executor_process::ExecutorProcessConfig;
use custseg_ballista::cli::Flags;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = Flags::parse(
        std::env::args().skip(1),
        &[
            "scheduler-host",
            "scheduler-port",
            "bind-host",
            "port",
            "grpc-port",
            "external-host",
            "vcores",
            "work-dir",
            "policy",
        ],
    )?;
    let defaults = ExecutorProcessConfig::default();
    let config = ExecutorProcessConfig {
        scheduler_host: flags.get("scheduler-host", defaults.scheduler_host.clone())?,
        scheduler_port: flags.get("scheduler-port", defaults.scheduler_port)?,
        bind_host: flags.get("bind-host", "0.0.0.0".to_string())?,
        port: flags.get("port", defaults.port)?,
        grpc_port: flags.get("grpc-port", defaults.grpc_port)?,
        external_host: flags.text("external-host"),
        vcores: flags.get("vcores", defaults.vcores)?,
        work_dir: flags.text("work-dir"),
        task_scheduling_policy: flags.policy()?,
        ..defaults
    };
    eprintln!(
        "custseg-executor on {}:{}, scheduler {}:{}",
        config.bind_host, config.port, config.scheduler_host, config.scheduler_port
    );
    custseg_ballista::run_executor(config).await?;
    Ok(())
}
