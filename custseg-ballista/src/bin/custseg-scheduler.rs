//! A Ballista scheduler that knows custseg's SQL functions.
//!
//! ```text
//! custseg-scheduler [--bind-host 0.0.0.0] [--bind-port 50050] [--external-host HOST]
//!                   [--policy push|pull]
//! ```
//!
//! Every other setting is Ballista's default `SchedulerConfig`; an operator who needs more
//! writes a main of their own around `custseg_ballista::run_scheduler`.

use std::net::{IpAddr, SocketAddr};

use ballista_scheduler::config::SchedulerConfig;
use custseg_ballista::cli::Flags;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let flags = Flags::parse(
        std::env::args().skip(1),
        &["bind-host", "bind-port", "external-host", "policy"],
    )?;
    let host: IpAddr = flags.get("bind-host", IpAddr::from([0, 0, 0, 0]))?;
    let port: u16 = flags.get("bind-port", 50050)?;
    let mut config = SchedulerConfig::default().with_scheduler_policy(flags.policy()?);
    if let Some(external) = flags.text("external-host") {
        config = config.with_hostname(external);
    }
    eprintln!("custseg-scheduler listening on {host}:{port}");
    custseg_ballista::run_scheduler(config, SocketAddr::new(host, port)).await?;
    Ok(())
}
