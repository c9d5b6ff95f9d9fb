//! `qbench serve`: the page for a person, cross-origin isolated on 127.0.0.1.

use crate::cancel::Cancel;
use crate::exec::{build, server};
use crate::exit::{Ended, ResultExt};

/// What `qbench serve` serves.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The qbench checkout (holds `www/`, `Cargo.toml`).
    #[arg(long, value_name = "DIR", default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    pub root: std::path::PathBuf,
}

/// Runs `qbench serve` until a signal.
pub fn run(args: &ServeArgs) -> anyhow::Result<Ended> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cancel = Cancel::on_signals()?;
        let pkg = {
            let (root, cancel) = (args.root.clone(), cancel.clone());
            tokio::task::spawn_blocking(move || build::ensure(&root, &cancel))
                .await?
                .could_not_run()?
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let server = server::start(&args.root.join("www"), &pkg.dir, None, addr, &[])
            .await
            .could_not_run()?;
        println!("serving qbench at {} (Ctrl-C stops)", server.url());
        cancel.cancelled().await;
        Ok(Ended::AsExpected)
    })
}
