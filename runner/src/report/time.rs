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

/// What pipelined throughput measures (both reports print it above the table).
pub const THROUGHPUT_NOTE: &str = "Each sample queues k inferences back to back, each uploading its own images, and reads back only \
     the last; then 2k the same way. What the k more cost, divided by k, is the steady cost of one queued inference: \
     the readback and its wait cancel. k steps through [K, 1.5 K), K the shortest queue whose inferences outlast \
     4 readback floors beyond the readback (and 50 ms). \
     The host records inference i + 1 while the GPU runs i, so this is the rate of the page, the browser's GPU \
     process and the adapter together, not the latency of one inference nor the GPU's time alone. \
     GPU time, where the adapter offers timestamp-query: each layer's dispatches from the start of its first compute pass \
     to the end of its last, on the GPU's clock, an inference's the sum of its layers' (15 inferences; the clock step is \
     the smallest difference the samples show).";

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

/// Pipelined throughput and GPU time (WebGPU cells that measured either):
/// the cost per queued inference with its interval, and the dispatches' time
/// on the GPU's clock with its step, beside the latency and the readback
/// floor; `None` when no cell measured either.
pub fn throughput(report: &Report) -> Option<Table> {
    let rows: Vec<Vec<String>> = report
        .cells
        .iter()
        .filter(|c| c.throughput_ms.is_some() || c.gpu_ms.is_some())
        .filter_map(|c| {
            let l = c.latency_ms.as_ref()?;
            let floor = report.environment_of(c).and_then(|e| e.readback_floor_ms);
            let t = c.throughput_ms.as_ref();
            let queues = t.and_then(|t| {
                let (lo, hi) = (t.queue.iter().min()?, t.queue.iter().max()?);
                Some(if lo == hi {
                    lo.to_string()
                } else {
                    format!("{lo}–{hi}")
                })
            });
            let dash = || "–".to_string();
            let gpu = c.gpu_ms.as_ref();
            Some(vec![
                c.id().to_string(),
                ms(Some(l.summary.median)),
                floor.map_or_else(dash, |t| format!("{t:.2}")),
                ms(t.map(|t| t.summary.median)),
                t.map_or_else(dash, |t| {
                    format!("{:.3} – {:.3}", t.summary.ci95_low, t.summary.ci95_high)
                }),
                t.map_or_else(dash, |t| t.summary.samples.to_string()),
                queues.unwrap_or_else(dash),
                ms(gpu.map(|g| g.summary.median)),
                gpu.map_or_else(dash, |g| {
                    format!("{:.3} – {:.3}", g.summary.ci95_low, g.summary.ci95_high)
                }),
                gpu.map_or_else(dash, |g| {
                    g.layers
                        .iter()
                        .map(|l| format!("{:.3}", l.median))
                        .collect::<Vec<_>>()
                        .join(" / ")
                }),
                gpu.and_then(|g| g.step_ms)
                    .map_or_else(dash, |s| format!("{s:.4}")),
            ])
        })
        .collect();
    (!rows.is_empty()).then(|| Table {
        header: [
            "cell",
            "latency",
            "readback floor",
            "per queued inference",
            "95% CI",
            "samples",
            "K",
            "GPU time",
            "GPU 95% CI",
            "GPU by layer (conv1 / conv2 / fc1 / fc2)",
            "GPU clock step",
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
