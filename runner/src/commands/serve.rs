//! `qbench serve`: the page for a person, cross-origin isolated on 127.0.0.1.

use crate::cancel::Cancel;
use crate::exec::page::Page;
use crate::exec::{build, server};
use crate::exit::{Ended, ResultExt};

/// What `qbench serve` serves.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0: any free port).
    #[arg(long, default_value_t = 8000)]
    pub port: u16,
    /// The qbench checkout to build the package from [default: the nearest one at or above the working directory].
    #[arg(long, value_name = "DIR")]
    pub root: Option<std::path::PathBuf>,
    /// Serve this built package instead of building one (no checkout needed).
    #[arg(long, value_name = "DIR")]
    pub pkg: Option<std::path::PathBuf>,
    /// Serve the page from this folder instead of the built-in one.
    #[arg(long, value_name = "DIR")]
    pub www: Option<std::path::PathBuf>,
}

/// Runs `qbench serve` until a signal.
pub fn run(args: &ServeArgs) -> anyhow::Result<Ended> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cancel = Cancel::on_signals()?;
        let pkg = match &args.pkg {
            Some(dir) => build::describe(dir).bad_input()?,
            None => {
                let root = build::checkout(args.root.as_deref()).bad_input()?;
                let cancel = cancel.clone();
                tokio::task::spawn_blocking(move || build::ensure(&root, &cancel))
                    .await?
                    .could_not_run()?
            }
        };
        let addr = std::net::SocketAddr::from(([127, 0, 0, 1], args.port));
        let page = Page::from_flag(args.www.as_deref());
        let server = server::start(&page, &pkg.dir, None, addr, &[])
            .await
            .could_not_run()?;
        println!("serving qbench at {} (Ctrl-C stops)", server.url());
        cancel.cancelled().await;
        Ok(Ended::AsExpected)
    })
}
