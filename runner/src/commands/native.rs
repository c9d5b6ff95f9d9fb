//! `qbench native`: every precision measured natively on burn's CPU backend,
//! printed as a table and written as a report when asked.

use crate::cancel::Cancel;
use crate::collect::sink;
use crate::exec::native::{NativeArgs, measure, references};
use crate::exit::Ended;
use crate::report;

/// Runs `qbench native`: measures, prints the table, writes JSON if asked.
pub fn run(args: &NativeArgs) -> anyhow::Result<Ended> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let cancel = Cancel::on_signals()?;
        anyhow::ensure!(
            args.quality_inputs <= 2000,
            "--quality-inputs is {}; there are 2,000 held-out digits",
            args.quality_inputs
        );
        let refs = references(args.quality_inputs)?;
        let report = measure(args, &refs, &cancel, sink::for_stderr()).await?;
        println!("{}", report::terminal::table(&report.cells));
        if let Some(path) = &args.json {
            report::json::write(&report, path)?;
            eprintln!("wrote {}", path.display());
        }
        Ok(match cancel.signal() {
            Some((name, number)) => Ended::Interrupted { name, number },
            None => Ended::AsExpected,
        })
    })
}
