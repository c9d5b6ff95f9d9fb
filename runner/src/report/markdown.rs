//! The Markdown report: environments, compatibility matrix, latency, memory
//! and quality, with the native reference rows.

use std::fmt::Write;

use qbench_core::schema::{Cell, Report, Round, RunSettings};
use qbench_core::{Backend, Precision};

use super::text::markdown as md;
use crate::fmt::{adapter_name, human_bytes};

fn opt<T>(v: Option<T>, f: impl Fn(T) -> String) -> String {
    v.map_or_else(|| "–".to_string(), f)
}

/// The run's sampling settings in one line (for every report's header).
pub fn sampling(s: &RunSettings) -> String {
    format!(
        "warm-up ≥ {} runs and ≥ {} ms{} · {}–{} samples per cell, stopping at ±{:.1}% or {} ms · {} round(s), seed {} · {} retries · timeout {} s · quality on {} held-out digits",
        s.warmup,
        s.warmup_ms,
        if s.settle_ms > 0 {
            format!(
                ", then until {} ms pass without getting faster",
                s.settle_ms
            )
        } else {
            String::new()
        },
        s.min_samples,
        s.samples,
        s.ci_target * 100.0,
        s.time_per_cell_ms,
        s.rounds,
        s.seed,
        s.retries,
        s.timeout_per_cell_ms / 1000,
        s.quality_inputs
    )
}

/// When the native reference rows were measured, and whether this run kept
/// them from an earlier one; `None` without native rows.
pub fn native_rows(report: &Report) -> Option<String> {
    if report.baseline.is_empty() {
        return None;
    }
    let when = report
        .baseline_measured
        .as_deref()
        .unwrap_or("at an unknown time");
    Some(if report.baseline_kept {
        format!(
            "Native reference rows measured {when} by an earlier run of this qbench binary with the same settings on this host (kept; `--fresh-native` measures them again)."
        )
    } else {
        format!("Native reference rows measured {when}.")
    })
}

/// Renders the whole report.
pub fn render(report: &Report) -> String {
    let mut out = String::new();
    let s = &report.settings;
    let _ = writeln!(out, "# qbench report\n");
    let _ = writeln!(
        out,
        "qbench {}{} · schema {} · started {} · {} · {}\n",
        md(&report.qbench_version),
        report
            .git_commit
            .as_deref()
            .map_or(String::new(), |c| format!(" ({})", md(c))),
        report.schema_version,
        md(&report.started),
        match (&report.finished, &report.interrupted) {
            (_, Some(signal)) => format!("**interrupted by {}: partial**", md(signal)),
            (Some(f), None) if report.is_complete() => format!("finished {}", md(f)),
            (Some(f), None) => format!("finished {}, **partial: planned cells missing**", md(f)),
            (None, None) => "**still running or cut short: partial**".to_string(),
        },
        sampling(s)
    );
    if let Some(e) = &report.expectations {
        let _ = writeln!(
            out,
            "Cells judged against the expectations in {}: ✗ marks an unexpected outcome.\n",
            md(e)
        );
    }
    if let Some(native) = native_rows(report) {
        let _ = writeln!(out, "{native}\n");
    }
    if let Some(b) = &report.bundle {
        let _ = writeln!(
            out,
            "wasm module: {} ({} B), built with {}, {}\n",
            human_bytes(b.wasm_bytes),
            b.wasm_bytes,
            b.build
                .as_deref()
                .map_or("unknown settings".to_string(), md),
            b.wasm_opt
                .as_deref()
                .map_or("no wasm-opt".to_string(), |v| format!(
                    "optimised by {}",
                    md(v)
                ))
        );
        let rows = super::download_rows(b);
        if !rows.is_empty() {
            let _ = writeln!(out, "What a browser downloads:\n");
            let _ = writeln!(
                out,
                "| file | raw | gzip -9 | brotli 11 |\n|---|---|---|---|"
            );
            for [name, raw, gzip, brotli] in rows {
                let _ = writeln!(out, "| {} | {raw} | {gzip} | {brotli} |", md(&name));
            }
            let _ = writeln!(out);
        }
    }
    environments(&mut out, report);
    compatibility(&mut out, report);
    latency(&mut out, report);
    throughput(&mut out, report);
    split(&mut out, report);
    profile(&mut out, report);
    opening(&mut out, report);
    memory(&mut out, report);
    quality(&mut out, report);
    super::pages::markdown(&mut out, report);
    problems(&mut out, report);
    out
}

fn environments(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Environments\n");
    let _ = writeln!(
        out,
        "| host | browser | endpoint | version | isolated | timer resolution | wasm SIMD | WebGPU adapter | class | shader-f16 | dot4I8Packed | readback floor |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|---|---|");
    for e in &report.environments {
        let adapter = match (&e.webgpu, &e.webgpu_unavailable_reason, &e.start_error) {
            (_, _, Some(err)) => {
                format!(
                    "did not start: {}",
                    md(err.lines().next().unwrap_or_default())
                )
            }
            (Some(a), _, None) => md(&adapter_name(a)),
            (None, Some(reason), None) => format!("none: {}", md(reason)),
            (None, None, None) => "–".into(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            e.host.as_deref().map_or("–".to_string(), md),
            e.browser,
            e.endpoint.as_deref().map_or("–".to_string(), md),
            md(&e.name),
            md(&e.version),
            opt(e.cross_origin_isolated, |b| b.to_string()),
            opt(e.timer_resolution_ms, |t| format!("{t:.4} ms")),
            opt(e.wasm_simd, |b| format!(
                "{b}{}",
                if e.wasm_relaxed_simd == Some(true) {
                    ", relaxed"
                } else {
                    ""
                }
            )),
            adapter,
            opt(e.webgpu.as_ref(), |a| a
                .class
                .map_or("–".to_string(), |c| c.name().to_string())),
            opt(e.webgpu.as_ref(), |a| a
                .features
                .iter()
                .any(|f| f == "shader-f16")
                .to_string()),
            opt(e.webgpu.as_ref().and_then(|a| a.packed_dot()), |b| b
                .to_string()),
            opt(e.readback_floor_ms, |t| format!("{t:.2} ms")),
        );
    }
    let _ = writeln!(out);
}

/// A cell's entry in the compatibility matrix: its status, bold with ✗ when it
/// was unexpected (without expectations: an error or a timeout), `(flaky)` when
/// it passed on a retry.
pub fn entry(c: &Cell) -> String {
    let mut s = if c.is_unexpected() {
        format!("**{}** ✗", c.outcome.status())
    } else {
        c.outcome.status().to_string()
    };
    if c.flaky {
        s.push_str(" (flaky)");
    }
    s
}

/// Rows are (host ×) browser × backend × batch, columns precisions; each entry the outcome.
pub fn compatibility(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Compatibility\n");
    let multi_host = report.hosts().len() > 1;
    let precisions: Vec<Precision> = Precision::ALL
        .iter()
        .copied()
        .filter(|p| report.cells.iter().any(|c| c.precision == *p))
        .collect();
    let _ = write!(
        out,
        "|{} browser | backend | batch |",
        if multi_host { " host |" } else { "" }
    );
    for p in &precisions {
        let _ = write!(out, " {p} |");
    }
    let _ = writeln!(
        out,
        "\n|{}---|---|---|{}",
        if multi_host { "---|" } else { "" },
        "---|".repeat(precisions.len())
    );
    let mut rows: Vec<(Option<String>, qbench_core::Agent, Backend, u32)> = Vec::new();
    for c in &report.cells {
        let key = (c.host.clone(), c.browser, c.backend, c.batch);
        if !rows.contains(&key) {
            rows.push(key);
        }
    }
    for (host, browser, backend, batch) in rows {
        if multi_host {
            let _ = write!(out, "| {} ", host.as_deref().map_or("–".to_string(), md));
        }
        let _ = write!(out, "| {browser} | {backend} | {batch} |");
        for p in &precisions {
            let status = report
                .cells
                .iter()
                .find(|c| {
                    c.host == host
                        && c.browser == browser
                        && c.backend == backend
                        && c.batch == batch
                        && c.precision == *p
                })
                .map_or("–".to_string(), entry);
            let _ = write!(out, " {status} |");
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(out);
}

/// `host browser`, or the browser alone when the host is unknown.
fn who(c: &Cell) -> String {
    c.host.as_ref().map_or_else(
        || c.browser.to_string(),
        |h| format!("{} {}", md(h), c.browser),
    )
}

fn all_cells(report: &Report) -> impl Iterator<Item = &Cell> {
    report.cells.iter().chain(report.baseline.iter())
}

fn latency(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Latency (ms per inference, output read back)\n");
    let _ = writeln!(
        out,
        "| cell | first | median | p95 | 95% CI of median | ± | samples (× inferences each) | stopped at | round medians | median per input |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|---|");
    for c in all_cells(report) {
        let Some(l) = c.latency_ms.as_ref() else {
            continue;
        };
        let (width, stop, rounds, reps) = c.sampling.as_ref().map_or(
            (
                "–".to_string(),
                "–".to_string(),
                "–".to_string(),
                String::new(),
            ),
            |s| {
                (
                    format!("{:.1}%", s.ci_half_width_pct),
                    s.stop.name().to_string(),
                    s.rounds
                        .iter()
                        .map(|r| format!("{:.3}", r.median))
                        .collect::<Vec<_>>()
                        .join(", "),
                    repetitions(&s.rounds),
                )
            },
        );
        let _ = writeln!(
            out,
            "| {} | {:.2} | {:.3} | {:.3} | {:.3} – {:.3} | {width} | {}{reps} | {stop} | {rounds} | {:.4} |",
            c.id(),
            l.first,
            l.summary.median,
            l.summary.p95,
            l.summary.ci95_low,
            l.summary.ci95_high,
            l.summary.samples,
            l.summary.median / f64::from(c.batch.max(1))
        );
    }
    let _ = writeln!(out);
}

/// How many inferences each sample timed, when more than one: ` × 12`, or
/// ` × 3–12` when the rounds' pages chose differently.
fn repetitions(rounds: &[Round]) -> String {
    let reps: Vec<u32> = rounds.iter().map(|r| r.repetitions.unwrap_or(1)).collect();
    match (reps.iter().min(), reps.iter().max()) {
        (Some(&lo), Some(&hi)) if hi > 1 && lo == hi => format!(" × {hi}"),
        (Some(&lo), Some(&hi)) if hi > 1 => format!(" × {lo}–{hi}"),
        _ => String::new(),
    }
}

/// A table as Markdown, then a blank line.
fn table(out: &mut String, t: &super::time::Table) {
    let line = |cells: &[String]| format!("| {} |", cells.join(" | "));
    let _ = writeln!(out, "{}", line(&t.header));
    let _ = writeln!(out, "|{}", "---|".repeat(t.header.len()));
    for row in &t.rows {
        let _ = writeln!(out, "{}", line(row));
    }
    let _ = writeln!(out);
}

/// Pipelined throughput and GPU time of WebGPU cells ([`super::time::throughput`]).
fn throughput(out: &mut String, report: &Report) {
    let Some(t) = super::time::throughput(report) else {
        return;
    };
    let _ = writeln!(
        out,
        "## Pipelined throughput and GPU time (ms per inference)\n"
    );
    let _ = writeln!(out, "{}\n", super::time::THROUGHPUT_NOTE);
    table(out, &t);
}

/// Where a warm inference's time goes ([`super::time::split`]).
fn split(out: &mut String, report: &Report) {
    let Some(t) = super::time::split(report) else {
        return;
    };
    let _ = writeln!(out, "## Where an inference's time goes (medians, ms)\n");
    let _ = writeln!(out, "{}\n", super::time::SPLIT_NOTE);
    table(out, &t);
}

/// Stage by stage (`run --profile`, [`super::time::profile`]).
fn profile(out: &mut String, report: &Report) {
    let Some(t) = super::time::profile(report) else {
        return;
    };
    let _ = writeln!(out, "## Stage by stage (medians, ms)\n");
    let _ = writeln!(out, "{}\n", super::time::PROFILE_NOTE);
    table(out, &t);
}

/// What each round spent before its samples: opening the device, building the
/// network, and warming up until the time settled (a round that hit the limit
/// unsettled is marked). Only for cells whose rounds recorded a warm-up.
fn opening(out: &mut String, report: &Report) {
    let rows: Vec<(&Cell, &[Round])> = report
        .cells
        .iter()
        .filter_map(|c| Some((c, c.sampling.as_ref()?.rounds.as_slice())))
        .filter(|(_, rounds)| rounds.iter().any(|r| r.warmup.is_some()))
        .collect();
    if rows.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "## Before the samples, per round
"
    );
    let _ = writeln!(
        out,
        "Warm-up runs until the time per inference has stopped falling (the browser's optimising compiler \
         done); ✗: stopped at the limit, not settled.\n"
    );
    let _ = writeln!(
        out,
        "| cell | device opened (ms) | network built (ms) | first inference (ms) | warm-up |\n|---|---|---|---|---|"
    );
    let each = |rounds: &[Round], f: &dyn Fn(&Round) -> Option<String>| {
        rounds
            .iter()
            .map(|r| f(r).unwrap_or_else(|| "–".into()))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for (c, rounds) in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            c.id(),
            each(rounds, &|r| r.device_init_ms.map(|t| format!("{t:.1}"))),
            each(rounds, &|r| r.model_load_ms.map(|t| format!("{t:.1}"))),
            each(rounds, &|r| Some(format!("{:.1}", r.first))),
            each(rounds, &|r| r.warmup.map(|w| format!(
                "{:.2} s ({} runs){}",
                w.ms / 1000.0,
                w.inferences,
                if w.settled { "" } else { " ✗" }
            ))),
        );
    }
    let _ = writeln!(out);
}

fn memory(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Weight memory\n");
    let _ = writeln!(
        out,
        "Estimated = parameters × bytes per weight; int8 scales (4 bytes each) apart. Measured where the backend reports it.\n"
    );
    let _ = writeln!(
        out,
        "| browser | backend | precision | parameters | estimated weights | estimated scales | measured |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mut seen = Vec::new();
    for c in all_cells(report) {
        let key = (c.host.clone(), c.browser, c.backend, c.precision);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let m = &c.memory;
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} ({} B) | {} B | {} |",
            who(c),
            c.backend,
            c.precision,
            m.parameters,
            human_bytes(m.estimated_weight_bytes),
            m.estimated_weight_bytes,
            m.estimated_scale_bytes,
            opt(m.measured_bytes, |b| format!(
                "{} B ({})",
                b,
                m.measured_how.clone().unwrap_or_default()
            ))
        );
    }
    let _ = writeln!(out);
}

fn quality(out: &mut String, report: &Report) {
    let _ = writeln!(out, "## Quality versus float32 on the same backend\n");
    let _ = writeln!(
        out,
        "| browser | backend | precision | inputs | top-1 agreement % | drift mean | drift max | accuracy % | max abs diff vs native f32 |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|---|");
    let mut seen = Vec::new();
    for c in all_cells(report) {
        let Some(q) = c.quality else { continue };
        let key = (c.host.clone(), c.browser, c.backend, c.precision);
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.2} | {:.2e} | {:.2e} | {:.2} | {} |",
            who(c),
            c.backend,
            c.precision,
            q.n,
            q.top1_agreement_pct,
            q.drift_mean,
            q.drift_max,
            q.accuracy_pct,
            opt(q.max_abs_diff_vs_native, |d| format!("{d:.2e}"))
        );
    }
    let _ = writeln!(out);
}

fn problems(out: &mut String, report: &Report) {
    let failed: Vec<&Cell> = report
        .cells
        .iter()
        .filter(|c| c.outcome.reason().is_some())
        .collect();
    if failed.is_empty() {
        return;
    }
    let _ = writeln!(out, "## Cells that did not run\n");
    for c in failed {
        let expected = c.expectation.as_ref().map_or(String::new(), |j| {
            let names: Vec<&str> = j.expected.iter().map(|s| s.name()).collect();
            format!(
                " ({}, expected {}{})",
                j.verdict.name(),
                names.join(" or "),
                j.reason
                    .as_deref()
                    .map_or(String::new(), |r| format!(": {}", md(r)))
            )
        });
        let _ = writeln!(
            out,
            "- {}: **{}**{expected}: {}",
            md(&c.id().to_string()),
            c.outcome.status(),
            md(c.outcome.reason().unwrap_or_default())
        );
    }
    let _ = writeln!(out);
}

#[cfg(test)]
mod tests {
    use qbench_core::schema::{Environment, Latency, Split};
    use qbench_core::stats::Summary;

    use super::*;

    #[test]
    fn the_header_says_when_the_native_rows_were_measured_and_if_kept() {
        let mut report = Report::new("0", "2026-12-01T08:00:00Z", crate::testing::settings());
        assert_eq!(native_rows(&report), None, "no native rows");
        let memory = qbench_model::weights::memory(Precision::F32);
        report.baseline.push(Cell::new(
            "native".parse().unwrap(),
            Backend::Cpu,
            Precision::F32,
            1,
            memory,
        ));
        report.baseline_measured = Some("2026-11-30T22:00:00Z".into());
        assert_eq!(
            native_rows(&report).as_deref(),
            Some("Native reference rows measured 2026-11-30T22:00:00Z.")
        );
        report.baseline_kept = true;
        let text = render(&report);
        assert!(
            text.contains("measured 2026-11-30T22:00:00Z by an earlier run of this qbench binary"),
            "{text}"
        );
    }

    #[test]
    fn the_split_table_lists_timed_cells_beside_their_webgpu_floor() {
        let mut report = Report::new("0", "2026-11-29T00:00:00Z", crate::testing::settings());
        report.environments.push(Environment {
            browser: "chromium".parse().unwrap(),
            readback_floor_ms: Some(13.3),
            ..Environment::default()
        });
        let timed = |backend, split| {
            let memory = qbench_model::weights::memory(Precision::F32);
            let mut c = Cell::new(
                "chromium".parse().unwrap(),
                backend,
                Precision::F32,
                1,
                memory,
            );
            c.latency_ms = Some(Latency {
                first: 1.0,
                summary: Summary::from_samples(&[135.0; 5]).unwrap(),
                raw: vec![135.0; 5],
            });
            c.split_ms = split;
            c
        };
        let split = |enqueue, wait| Some(Split { enqueue, wait });
        report.cells = vec![
            timed(Backend::Webgpu, split(9.5, 126.0)),
            timed(Backend::Cpu, split(135.0, 0.0)),
            timed(Backend::Webgpu, None),
        ];
        let md = render(&report);
        assert!(
            md.contains("| chromium webgpu f32 batch 1 | 135.000 | 9.500 | 126.000 | 13.30 |"),
            "{md}"
        );
        assert!(
            md.contains("| chromium cpu f32 batch 1 | 135.000 | 135.000 | 0.000 | – |"),
            "the floor is WebGPU's: {md}"
        );
        assert_eq!(
            md.matches("| chromium webgpu f32 batch 1 | 135.000 |")
                .count(),
            1,
            "the WebGPU cell without a split has no row: {md}"
        );
        // Without any timed split, no section at all.
        report.cells.truncate(0);
        report.cells.push(timed(Backend::Webgpu, None));
        assert!(!render(&report).contains("Where an inference's time goes"));
    }

    #[test]
    fn the_profile_table_gives_each_stages_cost_and_the_last_cut() {
        use qbench_core::profile::{CutSamples, Stage, stage_times};
        let mut report = Report::new("0", "2026-11-29T00:00:00Z", crate::testing::settings());
        let memory = qbench_model::weights::memory(Precision::F32);
        let mut c = Cell::new(
            "firefox".parse().unwrap(),
            Backend::Webgpu,
            Precision::F32,
            2,
            memory,
        );
        c.latency_ms = Some(Latency {
            first: 1.0,
            summary: Summary::from_samples(&[20.0; 5]).unwrap(),
            raw: vec![20.0; 5],
        });
        let cut = |stage, ms| CutSamples {
            stage,
            samples_ms: vec![ms],
        };
        c.profile = stage_times(&[&[
            cut(Stage::Upload, 2.0),
            cut(Stage::Conv1, 7.5),
            cut(Stage::Conv2, 12.0),
            cut(Stage::Softmax, 21.0),
        ]]);
        report.cells = vec![c.clone()];
        c.profile.clear();
        report.cells.push(c);
        let md = render(&report);
        assert!(
            md.contains(
                "| firefox webgpu f32 batch 2 | 2.000 | 5.500 | 4.500 | – | – | 9.000 | 21.000 | 20.000 |"
            ),
            "{md}"
        );
        let section = md.split("## Stage by stage").nth(1).unwrap();
        let section = section.split("\n## ").next().unwrap();
        assert_eq!(
            section.matches("| firefox webgpu f32 batch 2 |").count(),
            1,
            "the cell without a profile has no row: {section}"
        );
        report.cells.remove(0);
        assert!(!render(&report).contains("Stage by stage"));
    }

    #[test]
    fn each_round_shows_what_it_spent_before_its_samples() {
        let mut report = Report::new("0", "2026-11-29T00:00:00Z", crate::testing::settings());
        let memory = qbench_model::weights::memory(Precision::F32);
        let round = |warmup: Option<(u32, f64, bool)>, device_init_ms| Round {
            median: 0.5,
            first: 20.4,
            samples: 100,
            repetitions: None,
            timer_step_ms: None,
            stop: qbench_core::sampling::Stop::Max,
            warmup: warmup.map(|(inferences, ms, settled)| qbench_core::sampling::Warmup {
                inferences,
                ms,
                settled,
            }),
            device_init_ms,
            model_load_ms: Some(3.0),
            host: None,
        };
        let mut c = Cell::new(
            "chromium".parse().unwrap(),
            Backend::Cpu,
            Precision::F32,
            1,
            memory,
        );
        c.sampling = Some(qbench_core::schema::Sampling {
            stop: qbench_core::sampling::Stop::Max,
            ci_half_width_pct: 1.0,
            rounds: vec![
                round(Some((2313, 1790.0, true)), Some(0.5)),
                round(Some((30000, 15000.0, false)), None),
            ],
        });
        report.cells.push(c.clone());
        let md = render(&report);
        assert!(
            md.contains(
                "| chromium cpu f32 batch 1 | 0.5, – | 3.0, 3.0 | 20.4, 20.4 | 1.79 s (2313 runs), 15.00 s (30000 runs) ✗ |"
            ),
            "{md}"
        );
        // A report from before warm-up was recorded has no such section.
        for r in &mut report.cells[0].sampling.as_mut().unwrap().rounds {
            r.warmup = None;
        }
        assert!(!render(&report).contains("Before the samples"));
    }
}
