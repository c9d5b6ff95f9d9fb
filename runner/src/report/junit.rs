//! JUnit XML for CI systems: one test suite per (host ×) browser × backend, one
//! test case per cell. `unsupported`, and any outcome the expectations
//! expected, is *skipped* with its reason; errors, timeouts, unexpected
//! outcomes and regressions are *failures* with the message. The median, its
//! interval and the sample count are properties.

use qbench_core::schema::{Cell, Outcome, Report};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};

use qbench_core::comparison::Comparison;

/// What JUnit says of one cell: pass, skip or fail, and why.
fn status(cell: &Cell, regression: Option<String>) -> TestCaseStatus {
    let failure = |message: String| {
        let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
        s.set_message(super::text::message(&message));
        s
    };
    let skipped = |message: String| {
        let mut s = TestCaseStatus::skipped();
        s.set_message(super::text::message(&message));
        s
    };
    let reason = cell.outcome.reason().unwrap_or_default().to_string();
    if let Some(j) = &cell.expectation
        && j.verdict.is_unexpected()
    {
        let expected: Vec<&str> = j.expected.iter().map(|s| s.name()).collect();
        return failure(format!(
            "{}: {} (expected {}) {reason}",
            j.verdict.name(),
            cell.outcome.status(),
            expected.join(" or ")
        ));
    }
    if let Some(regression) = regression {
        return failure(format!("regression: {regression}"));
    }
    match (&cell.outcome, &cell.expectation) {
        (Outcome::Ok, _) => TestCaseStatus::success(),
        (Outcome::Unsupported { reason }, _) => skipped(format!("unsupported: {reason}")),
        (outcome, Some(_)) => skipped(format!("expected {}: {reason}", outcome.status())),
        (outcome, None) => failure(format!("{}: {reason}", outcome.status())),
    }
}

/// The report (and its comparison with an earlier one, if any) as JUnit XML.
pub fn render(report: &Report, comparison: Option<&Comparison>) -> anyhow::Result<String> {
    let multi_host = report.hosts().len() > 1;
    let mut junit = quick_junit::Report::new("qbench");
    let mut suites: Vec<TestSuite> = Vec::new();
    for cell in &report.cells {
        let suite_name = match (&cell.host, multi_host) {
            (Some(h), true) => format!("{h} {} {}", cell.browser, cell.backend),
            _ => format!("{} {}", cell.browser, cell.backend),
        };
        let regression = comparison.and_then(|c| {
            c.cells.iter().find(|ch| {
                ch.is_regression()
                    && ch.id.browser == cell.browser
                    && ch.id.backend == cell.backend
                    && ch.id.precision == cell.precision
                    && ch.id.batch == cell.batch
                    && (ch.id.host.is_none() || ch.id.host == cell.host)
            })
        });
        let mut case = TestCase::new(
            format!("{} batch {}", cell.precision, cell.batch),
            status(cell, regression.map(|r| r.describe())),
        );
        case.set_classname(format!("qbench.{}", suite_name.replace(' ', ".")));
        if let Some(ms) = cell.wall_ms {
            case.set_time(std::time::Duration::from_secs_f64(ms / 1000.0));
        }
        if let Some(l) = &cell.latency_ms {
            case.add_properties([
                Property::new("median_ms", format!("{}", l.summary.median)),
                Property::new("ci95_low_ms", format!("{}", l.summary.ci95_low)),
                Property::new("ci95_high_ms", format!("{}", l.summary.ci95_high)),
                Property::new("samples", l.summary.samples.to_string()),
            ]);
        }
        if cell.flaky {
            case.add_property(Property::new(
                "flaky",
                format!("passed on attempt {}", cell.attempts),
            ));
        }
        match suites.iter_mut().find(|s| s.name.as_str() == suite_name) {
            Some(suite) => {
                suite.add_test_case(case);
            }
            None => {
                let mut suite = TestSuite::new(suite_name);
                suite.add_test_case(case);
                suites.push(suite);
            }
        }
    }
    junit.add_test_suites(suites);
    Ok(junit.to_string()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::expect::{Expectations, Facts};
    use qbench_core::schema::{Latency, Status};
    use qbench_core::stats::Summary;
    use qbench_core::{Backend, Precision};

    fn cell(backend: Backend, precision: Precision, outcome: Outcome) -> Cell {
        let mut c = Cell::new(
            "chromium".parse().unwrap(),
            backend,
            precision,
            1,
            qbench_model::weights::memory(precision),
        );
        if outcome == Outcome::Ok {
            let raw = vec![2.0, 3.0, 4.0];
            c.latency_ms = Some(Latency {
                first: 9.0,
                summary: Summary::from_samples(&raw).unwrap(),
                raw,
            });
        }
        c.outcome = outcome;
        c
    }

    #[test]
    fn one_case_per_cell_unsupported_skipped_failures_failed() {
        let mut r = Report::new("0", "2026-11-28T00:00:00Z", crate::testing::settings());
        r.cells = vec![
            cell(Backend::Webgpu, Precision::F32, Outcome::Ok),
            cell(
                Backend::Webgpu,
                Precision::F16Native,
                Outcome::Unsupported {
                    reason: "no shader-f16".into(),
                },
            ),
            cell(
                Backend::Cpu,
                Precision::F32,
                Outcome::Timeout {
                    message: "no answer within 180 s".into(),
                },
            ),
            cell(Backend::Cpu, Precision::Int8, Outcome::Ok),
        ];
        let xml = render(&r, None).unwrap();
        let parsed = quick_junit::Report::deserialize_from_str(&xml).unwrap();
        assert_eq!(parsed.test_suites.len(), 2);
        let cases: Vec<&TestCase> = parsed
            .test_suites
            .iter()
            .flat_map(|s| &s.test_cases)
            .collect();
        assert_eq!(cases.len(), 4);
        let webgpu = &parsed.test_suites[0];
        assert_eq!(
            (
                webgpu.name.as_str(),
                webgpu.tests,
                webgpu.skipped,
                webgpu.failures
            ),
            ("chromium webgpu", 2, 1, 0)
        );
        let cpu = &parsed.test_suites[1];
        assert_eq!((cpu.tests, cpu.failures), (2, 1));
        let median = webgpu.test_cases[0]
            .properties
            .iter()
            .find(|p| p.name.as_str() == "median_ms")
            .unwrap();
        assert_eq!(median.value.as_str(), "3");
        assert!(xml.contains("no answer within 180 s"), "{xml}");
    }

    #[test]
    fn expected_failures_skip_and_unexpected_passes_fail() {
        let e = Expectations {
            cell: vec![crate::testing::every_cell(&[Status::Timeout])],
        };
        let judge = |mut c: Cell| {
            let facts = Facts {
                browser: "chromium".parse().unwrap(),
                backend: c.backend,
                precision: c.precision,
                batch: 1,
                adapter: None,
                host: None,
            };
            c.expectation = Some(e.judge(&facts, c.outcome.kind()));
            c
        };
        let mut r = Report::new("0", "2026-11-28T00:00:00Z", crate::testing::settings());
        r.cells = vec![
            judge(cell(
                Backend::Cpu,
                Precision::F32,
                Outcome::Timeout {
                    message: "slow".into(),
                },
            )),
            judge(cell(Backend::Cpu, Precision::F16, Outcome::Ok)),
        ];
        let parsed = quick_junit::Report::deserialize_from_str(&render(&r, None).unwrap()).unwrap();
        let s = &parsed.test_suites[0];
        assert_eq!((s.tests, s.skipped, s.failures), (2, 1, 1));
    }
}
