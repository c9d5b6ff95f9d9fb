//! Where an inference's time goes, as tables both reports render: the split
//! of a warm inference (until the forward call returned, the rest) and the
//! stage-by-stage profile of `run --profile`.

use qbench_core::Backend;
use qbench_core::profile::Stage;
use qbench_core::schema::Report;

/// A table of text: its header and its rows, each as long as the header.
#[derive(Debug, PartialEq)]
pub struct Table {
    /// Column titles.
    pub header: Vec<String>,
    /// One entry per column, `–` where there is no value.
    pub rows: Vec<Vec<String>>,
}

/// What the split's columns mean (both reports print it above the table).
pub const SPLIT_NOTE: &str = "Until the forward call returned: host-side work in the module (on WebGPU, recording and submitting \
     the dispatches; on the CPU, the computation). The rest: on WebGPU, GPU work not yet done and the readback.";

/// How the profile was taken (both reports print it above the table).
pub const PROFILE_NOTE: &str = "The network was cut after each stage and timed up to one sum of the cut's output and its readback, \
     the cuts taken in turn after the cell's samples. A stage's cost is its cut minus the cut before it; \
     `upload` is the whole first cut (the images up, the sum, the readback), so it holds the floor every cut pays.";

fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "–".to_string(), |t| format!("{t:.3}"))
}

/// Where a warm inference's time goes: the part until the forward call
/// returned (host-side work in the module) and the rest, beside the
/// environment's readback floor (WebGPU cells only). Only cells whose page
/// timed both parts; `None` when there are none.
pub fn split(report: &Report) -> Option<Table> {
    let rows: Vec<Vec<String>> = report
        .cells
        .iter()
        .filter_map(|c| {
            let (s, l) = (c.split_ms?, c.latency_ms.as_ref()?);
            let floor = report
                .environment_of(c)
                .and_then(|e| e.readback_floor_ms)
                .filter(|_| c.backend == Backend::Webgpu);
            Some(vec![
                c.id().to_string(),
                ms(Some(l.summary.median)),
                ms(Some(s.enqueue)),
                ms(Some(s.wait)),
                floor.map_or_else(|| "–".to_string(), |t| format!("{t:.2}")),
            ])
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        header: [
            "cell",
            "median",
            "until the forward call returned",
            "the rest",
            "readback floor",
        ]
        .map(String::from)
        .to_vec(),
        rows,
    })
}

/// Stage by stage (`run --profile`): what each stage adds to the network cut
/// before it, the last cut and the cell's median inference. Only profiled
/// cells; `None` when there are none.
pub fn profile(report: &Report) -> Option<Table> {
    let rows: Vec<Vec<String>> = report
        .cells
        .iter()
        .filter(|c| !c.profile.is_empty())
        .map(|c| {
            let cost = |stage: Stage| ms(c.profile.iter().find(|t| t.stage == stage).map(|t| t.ms));
            std::iter::once(c.id().to_string())
                .chain(Stage::ALL.iter().copied().map(cost))
                .chain([
                    ms(c.profile.last().map(|t| t.cut_ms)),
                    ms(c.latency_ms.as_ref().map(|l| l.summary.median)),
                ])
                .collect()
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        header: std::iter::once("cell".to_string())
            .chain(Stage::ALL.iter().map(|s| s.name().to_string()))
            .chain(["last cut".to_string(), "median inference".to_string()])
            .collect(),
        rows,
    })
}
