//! A scripted executor: the scheduler's rules tested without a browser.

use std::collections::{HashMap, VecDeque};
use std::time::Duration;

use qbench_core::host::HostActivity;
use qbench_core::profile::{CutSamples, Stage};
use qbench_core::protocol::{CellRequest, CellResponse};
use qbench_core::sampling::{SamplePlan, Stop};
use qbench_core::schema::{Adapter, Environment, Outcome, Status};
use qbench_core::{Backend, Browser, Precision};
use tokio::sync::mpsc;

use super::*;
use crate::plan::cells;

/// What the mock does for one run of a cell.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Act {
    Ok,
    Throw,
    Hang,
    Lose,
    Garbled,
}

#[derive(Default)]
struct Mock {
    script: HashMap<(Agent, Precision, u32), VecDeque<Act>>,
    open_fails: HashMap<Agent, String>,
    open_hangs: bool,
    /// Agents whose probe finds no WebGPU, with the probe's reason.
    no_webgpu: HashMap<Agent, String>,
    /// Answer as a paired page: the baseline package's side attached, twice as
    /// slow, its non-float32 precisions less confident than this build's.
    paired: bool,
    /// What the host did during each run, in order: a busy reason, or quiet
    /// (`None`); nothing once empty.
    hosts: VecDeque<Option<&'static str>>,
    /// The host activity of the last run, until taken.
    host: Option<HostActivity>,
    log: Vec<String>,
}

fn one_hot(class: usize, p: f32) -> Vec<f32> {
    let mut row = vec![(1.0 - p) / 9.0; 10];
    row[class] = p;
    row
}

/// Float32 answers confidently; other precisions less so; native differs from both.
fn probabilities(precision: Precision, n: usize) -> Vec<f32> {
    let p = if precision == Precision::F32 {
        0.9
    } else {
        0.7
    };
    (0..n).flat_map(|i| one_hot(i % 10, p)).collect()
}

impl Executor for Mock {
    fn endpoint(&self) -> String {
        "mock".into()
    }

    async fn open(&mut self, agent: Agent) -> Result<Environment, ExecError> {
        self.log.push(format!("open {agent}"));
        if self.open_hangs {
            std::future::pending::<()>().await;
        }
        if let Some(reason) = self.open_fails.get(&agent) {
            return Err(ExecError::Start(reason.clone()));
        }
        let webgpu = Adapter {
            architecture: "swiftshader".into(),
            is_fallback_adapter: true,
            ..Adapter::default()
        };
        let unavailable = self.no_webgpu.get(&agent).cloned();
        Ok(Environment {
            browser: agent,
            webgpu: Some(webgpu).filter(|_| unavailable.is_none()),
            webgpu_unavailable_reason: unavailable,
            ..Environment::default()
        })
    }

    async fn run(
        &mut self,
        cell: &PlannedCell,
        request: &CellRequest,
    ) -> Result<CellResponse, ExecError> {
        self.log.push(format!(
            "run {} {} {} q={}",
            cell.backend, cell.precision, cell.batch, request.quality_inputs
        ));
        self.host = self.hosts.pop_front().map(crate::testing::host_activity);
        let act = self
            .script
            .get_mut(&(cell.agent, cell.precision, cell.batch))
            .and_then(VecDeque::pop_front)
            .unwrap_or(Act::Ok);
        let response = CellResponse {
            first_ms: Some(5.0),
            warmup: None,
            samples_ms: vec![1.0, 2.0, 3.0],
            stop: Some(Stop::Max),
            probabilities: probabilities(cell.precision, request.quality_inputs),
            // Cut after stage i: i + 1 ms (and 2i + 1 ms), when asked.
            cuts: Stage::ALL
                .iter()
                .enumerate()
                .filter(|_| request.profile)
                .map(|(i, &stage)| CutSamples {
                    stage,
                    samples_ms: vec![i as f64 + 1.0, 2.0 * i as f64 + 1.0],
                })
                .collect(),
            ..CellResponse::failed(Status::Ok, "")
        };
        let baseline = self.paired.then(|| {
            let p = if cell.precision == Precision::F32 {
                0.9
            } else {
                0.5
            };
            Box::new(CellResponse {
                reason: None,
                samples_ms: vec![2.0, 4.0, 6.0],
                probabilities: (0..request.quality_inputs)
                    .flat_map(|i| one_hot(i % 10, p))
                    .collect(),
                ..response.clone()
            })
        });
        match act {
            Act::Ok => Ok(CellResponse {
                reason: None,
                baseline,
                ..response
            }),
            Act::Throw => Err(ExecError::Page("the page threw: boom".into())),
            Act::Hang => std::future::pending().await,
            Act::Lose => Err(ExecError::SessionLost("connection refused".into())),
            Act::Garbled => Err(ExecError::BadAnswer {
                message: "not a CellResponse: {…".into(),
                partial: Some(Box::new(response)),
            }),
        }
    }

    fn host_activity(&mut self) -> Option<HostActivity> {
        self.host.take()
    }

    async fn close(&mut self) {
        self.log.push("close".into());
    }

    fn discard(&mut self) {
        self.log.push("discard".into());
    }
}

const CHROMIUM: Agent = Agent::Browser(Browser::Chromium);
const FIREFOX: Agent = Agent::Browser(Browser::Firefox);

fn schedule(agents: &[Agent], precisions: &[Precision], batches: &[u32]) -> Schedule {
    Schedule {
        host: Some("ci".into()),
        cells: cells(agents, &[Backend::Cpu], precisions, batches),
        rounds: 1,
        seed: 3,
        retries: 0,
        busy_retries: 0,
        plan: SamplePlan {
            warmup: 0,
            warmup_ms: 0.0,
            settle_ms: 0.0,
            warmup_max_ms: 0.0,
            max_samples: 3,
            min_samples: 3,
            budget_ms: 0.0,
            ci_target: 0.0,
            timer_steps: 0,
            throughput_samples: 0,
        },
        quality_inputs: 4,
        quality_batch: 2,
        open_timeout: Duration::from_millis(200),
        cell_timeout: Duration::from_millis(200),
        require_hardware_gpu: false,
        power_preference: qbench_core::protocol::PowerPreference::default(),
        profile: false,
    }
}

fn refs() -> References {
    // Native answers the same classes with 0.8: different from the browser's f32 (0.9).
    References {
        native_f32: (0..4).flat_map(|i| one_hot(i, 0.8)).collect(),
        labels: vec![0, 1, 2, 3],
    }
}

/// Runs the schedule; returns how it ended, the events, and the mock's log.
async fn go(s: &Schedule, mock: &mut Mock, cancel: &Cancel) -> (LoopEnd, Vec<Event>) {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ended = s.run(mock, &refs(), &tx, cancel).await;
    drop(tx);
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    (ended, events)
}

/// The final state of every cell, as a report would hold it.
fn final_cells(events: &[Event]) -> Vec<Cell> {
    let mut cells: Vec<Cell> = Vec::new();
    for e in events {
        if let Event::Ran { cell, .. } | Event::Updated(cell) = e {
            match cells.iter_mut().find(|c| c.id() == cell.id()) {
                Some(slot) => *slot = cell.clone(),
                None => cells.push(cell.clone()),
            }
        }
    }
    cells
}

fn find<'a>(cells: &'a [Cell], browser: &str, precision: Precision, batch: u32) -> &'a Cell {
    cells
        .iter()
        .find(|c| c.browser.name() == browser && c.precision == precision && c.batch == batch)
        .expect("cell present")
}

#[tokio::test]
async fn every_cell_runs_and_quality_is_measured_once_per_precision_against_its_float32() {
    let s = schedule(
        &[CHROMIUM, FIREFOX],
        &[Precision::Int8, Precision::F32],
        &[1, 32],
    );
    let mut mock = Mock::default();
    let (ended, events) = go(&s, &mut mock, &Cancel::new()).await;
    assert_eq!(ended, LoopEnd::Finished);
    let envs: Vec<&Environment> = events
        .iter()
        .filter_map(|e| {
            if let Event::Environment(e) = e {
                Some(e)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(envs.len(), 2);
    assert_eq!(envs[0].host.as_deref(), Some("ci"));
    assert_eq!(envs[0].endpoint.as_deref(), Some("mock"));
    assert_eq!(
        envs[0].webgpu.as_ref().unwrap().class,
        Some(qbench_core::adapter::AdapterClass::Software)
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| matches!(e, Event::Ran { .. }))
            .count(),
        8
    );
    // Quality asked for once per browser × precision, on whichever batch ran first.
    let asked = mock
        .log
        .iter()
        .filter(|l| l.starts_with("run") && l.ends_with("q=4"))
        .count();
    assert_eq!(asked, 4, "{:?}", mock.log);
    assert_eq!(mock.log.iter().filter(|l| l.starts_with("open")).count(), 2);
    assert_eq!(
        mock.log.iter().filter(|l| *l == "close").count(),
        2,
        "{:?}",
        mock.log
    );
    let cells = final_cells(&events);
    assert_eq!(cells.len(), 8);
    for browser in ["chromium", "firefox"] {
        for batch in [1, 32] {
            let int8 = find(&cells, browser, Precision::Int8, batch);
            assert_eq!(int8.outcome, Outcome::Ok);
            assert_eq!(int8.host.as_deref(), Some("ci"));
            let q = int8.quality.expect("quality on every batch row");
            // Against the browser's f32 (0.9 → 0.7), not native's 0.8, whatever the order.
            assert!((q.drift_max - 0.2).abs() < 1e-6, "{browser} {batch}: {q:?}");
            let f32q = find(&cells, browser, Precision::F32, batch)
                .quality
                .unwrap();
            assert_eq!(f32q.top1_agreement_pct, 100.0);
        }
    }
}

/// The cells asked for quality, as the mock logged them.
fn asked_quality(mock: &Mock) -> Vec<&str> {
    mock.log
        .iter()
        .filter(|l| l.starts_with("run") && !l.ends_with("q=0"))
        .map(String::as_str)
        .collect()
}

#[tokio::test]
async fn quality_goes_with_the_largest_batch_and_falls_back_when_it_fails() {
    let s = schedule(&[CHROMIUM], &[Precision::Int8, Precision::F32], &[1, 4, 32]);
    let mut mock = Mock::default();
    go(&s, &mut mock, &Cancel::new()).await;
    let runs: Vec<&str> = mock
        .log
        .iter()
        .filter(|l| l.starts_with("run"))
        .map(String::as_str)
        .collect();
    assert_eq!(
        runs,
        [
            "run cpu int8 32 q=4",
            "run cpu int8 4 q=0",
            "run cpu int8 1 q=0",
            "run cpu f32 32 q=4",
            "run cpu f32 4 q=0",
            "run cpu f32 1 q=0"
        ],
        "one round: largest batch first, and it alone measures quality"
    );

    // The largest batch fails: the next one measures quality, every row that
    // ran shows it.
    let mut mock = Mock::default();
    mock.script.insert(
        (CHROMIUM, Precision::Int8, 32),
        VecDeque::from([Act::Throw]),
    );
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    assert_eq!(
        asked_quality(&mock),
        [
            "run cpu int8 32 q=4",
            "run cpu int8 4 q=4",
            "run cpu f32 32 q=4"
        ]
    );
    let cells = final_cells(&events);
    assert!(
        find(&cells, "chromium", Precision::Int8, 32)
            .quality
            .is_none()
    );
    for batch in [1, 4] {
        let q = find(&cells, "chromium", Precision::Int8, batch).quality;
        assert!((q.expect("quality").drift_max - 0.2).abs() < 1e-6);
    }

    // Shuffled rounds: in each round only the largest batch or a cell after
    // it is asked, until one delivered.
    let mut s = s;
    s.rounds = 3;
    let mut mock = Mock::default();
    go(&s, &mut mock, &Cancel::new()).await;
    let mut asked = asked_quality(&mock);
    asked.sort_unstable();
    assert_eq!(
        asked,
        ["run cpu f32 32 q=4", "run cpu int8 32 q=4"],
        "{:?}",
        mock.log
    );
}

#[tokio::test]
async fn a_hang_is_a_timeout_and_the_agent_restarts_for_the_next_cell() {
    let s = schedule(
        &[CHROMIUM],
        &[Precision::F32, Precision::F16, Precision::Int8],
        &[1],
    );
    let mut mock = Mock::default();
    mock.script
        .insert((CHROMIUM, Precision::F16, 1), VecDeque::from([Act::Hang]));
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let cells = final_cells(&events);
    assert_eq!(
        find(&cells, "chromium", Precision::F16, 1).outcome.kind(),
        Status::Timeout
    );
    assert_eq!(
        find(&cells, "chromium", Precision::F32, 1).outcome,
        Outcome::Ok
    );
    assert_eq!(
        find(&cells, "chromium", Precision::Int8, 1).outcome,
        Outcome::Ok
    );
    let hang = mock
        .log
        .iter()
        .position(|l| l.starts_with("run cpu f16"))
        .unwrap();
    assert_eq!(mock.log[hang + 1], "discard");
    let opens = mock.log.iter().filter(|l| l.starts_with("open")).count();
    let runs_after = mock.log[hang..]
        .iter()
        .filter(|l| l.starts_with("run"))
        .count();
    assert_eq!(opens, if runs_after > 1 { 2 } else { 1 }, "{:?}", mock.log);
    assert!(
        events
            .iter()
            .any(|e| matches!(e, Event::Message(m) if m.contains("restarted because it hung")))
    );
}

#[tokio::test]
async fn an_agent_that_cannot_start_fails_its_cells_at_once_and_is_not_retried() {
    let mut s = schedule(
        &[CHROMIUM, FIREFOX],
        &[Precision::F32, Precision::F16],
        &[1, 32],
    );
    s.retries = 2;
    let mut mock = Mock::default();
    mock.open_fails
        .insert(FIREFOX, "geckodriver exited with status 1".into());
    let (ended, events) = go(&s, &mut mock, &Cancel::new()).await;
    assert_eq!(ended, LoopEnd::Finished);
    assert_eq!(
        mock.log.iter().filter(|l| *l == "open firefox").count(),
        1,
        "{:?}",
        mock.log
    );
    let cells = final_cells(&events);
    for p in [Precision::F32, Precision::F16] {
        for b in [1, 32] {
            let c = find(&cells, "firefox", p, b);
            assert_eq!(
                c.outcome,
                Outcome::Error {
                    message: "firefox could not be started: geckodriver exited with status 1"
                        .into()
                }
            );
            assert_eq!(find(&cells, "chromium", p, b).outcome, Outcome::Ok);
        }
    }
    let firefox_env = events
        .iter()
        .find_map(|e| {
            if let Event::Environment(e) = e {
                (e.browser.name() == "firefox").then_some(e)
            } else {
                None
            }
        })
        .unwrap();
    assert_eq!(
        firefox_env.start_error.as_deref(),
        Some("geckodriver exited with status 1")
    );
}

#[tokio::test]
async fn an_agent_that_hangs_while_starting_is_bounded() {
    let s = schedule(&[CHROMIUM], &[Precision::F32], &[1, 32]);
    let mut mock = Mock {
        open_hangs: true,
        ..Mock::default()
    };
    let started = std::time::Instant::now();
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    assert!(started.elapsed() < Duration::from_secs(2));
    let cells = final_cells(&events);
    assert_eq!(cells.len(), 2);
    assert!(
        cells.iter().all(|c| c
            .outcome
            .reason()
            .unwrap()
            .contains("did not start and answer the probe within")),
        "{cells:?}"
    );
    assert_eq!(mock.log.iter().filter(|l| l.starts_with("open")).count(), 1);
}

#[tokio::test]
async fn a_failed_cell_is_retried_on_a_fresh_agent_and_a_pass_is_flaky() {
    let mut s = schedule(&[CHROMIUM], &[Precision::F32, Precision::F16], &[1]);
    s.retries = 1;
    let mut mock = Mock::default();
    mock.script
        .insert((CHROMIUM, Precision::F16, 1), VecDeque::from([Act::Throw]));
    mock.script.insert(
        (CHROMIUM, Precision::F32, 1),
        VecDeque::from([Act::Lose, Act::Lose]),
    );
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let cells = final_cells(&events);
    let f16 = find(&cells, "chromium", Precision::F16, 1);
    assert_eq!(
        (f16.outcome.clone(), f16.attempts, f16.flaky),
        (Outcome::Ok, 2, true)
    );
    let f32 = find(&cells, "chromium", Precision::F32, 1);
    assert_eq!(
        (f32.outcome.clone(), f32.attempts, f32.flaky),
        (
            Outcome::Error {
                message: "connection refused".into()
            },
            2,
            false
        )
    );
    // Every retry started a fresh agent.
    assert_eq!(
        mock.log.iter().filter(|l| l.starts_with("open")).count(),
        1 + 2 + 1,
        "{:?}",
        mock.log
    );
}

#[tokio::test]
async fn a_page_on_a_busy_host_is_taken_again_until_quiet_or_out_of_retakes() {
    let mut s = schedule(&[CHROMIUM], &[Precision::F32], &[1, 32]);
    s.busy_retries = 2;
    let mut mock = Mock {
        // The first cell to run: busy, busy, quiet; the second: busy thrice.
        hosts: VecDeque::from([
            Some("other processes used 0.60 cores"),
            Some("other processes used 0.40 cores"),
            None,
            Some("a"),
            Some("b"),
            Some("c"),
        ]),
        ..Mock::default()
    };
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let runs = mock.log.iter().filter(|l| l.starts_with("run")).count();
    assert_eq!(runs, 6, "{:?}", mock.log);
    let cells = final_cells(&events);
    let host = |batch| {
        let c = find(&cells, "chromium", Precision::F32, batch);
        assert_eq!((c.attempts, c.flaky), (1, false));
        let rounds = &c.sampling.as_ref().unwrap().rounds;
        assert_eq!(rounds.len(), 1);
        rounds[0].host.clone().unwrap()
    };
    // One cell's third page was quiet; the other ran out of retakes and
    // kept its last page, marked (whichever ran first).
    let mut kept = vec![host(1).busy_reason, host(32).busy_reason];
    kept.sort();
    assert_eq!(kept, vec![None, Some("c".to_string())]);
    let retakes = events
        .iter()
        .filter(|e| matches!(e, Event::Message(m) if m.contains("busy host")))
        .count();
    assert_eq!(retakes, 4);
}

#[tokio::test]
async fn without_retakes_a_busy_page_is_kept_and_marked() {
    let s = schedule(&[CHROMIUM], &[Precision::F32], &[1]);
    let mut mock = Mock {
        hosts: VecDeque::from([Some("the hypervisor took 0.20 cores")]),
        ..Mock::default()
    };
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    assert_eq!(mock.log.iter().filter(|l| l.starts_with("run")).count(), 1);
    let cells = final_cells(&events);
    let c = find(&cells, "chromium", Precision::F32, 1);
    let round = &c.sampling.as_ref().unwrap().rounds[0];
    assert_eq!(
        round.host.as_ref().unwrap().busy_reason.as_deref(),
        Some("the hypervisor took 0.20 cores")
    );
}

#[tokio::test]
async fn a_garbled_answer_is_an_error_that_keeps_its_latency() {
    let s = schedule(&[CHROMIUM], &[Precision::F32], &[1]);
    let mut mock = Mock::default();
    mock.script.insert(
        (CHROMIUM, Precision::F32, 1),
        VecDeque::from([Act::Garbled]),
    );
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let c = &final_cells(&events)[0];
    assert_eq!(
        c.outcome,
        Outcome::Error {
            message: "not a CellResponse: {…".into()
        }
    );
    assert_eq!(c.latency_ms.as_ref().unwrap().raw, vec![1.0, 2.0, 3.0]);
    assert!(
        !mock.log.contains(&"discard".to_string()),
        "the session survives a garbled answer"
    );
}

#[tokio::test]
async fn cancellation_stops_at_once_and_drops_the_running_cell() {
    let s = schedule(
        &[CHROMIUM],
        &[Precision::F32, Precision::F16, Precision::Int8],
        &[1],
    );
    let mut s = s;
    s.cell_timeout = Duration::from_secs(60);
    let mut mock = Mock::default();
    mock.script
        .insert((CHROMIUM, Precision::F16, 1), VecDeque::from([Act::Hang]));
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        trigger.cancel_by("SIGTERM", 15);
    });
    let started = std::time::Instant::now();
    let (ended, events) = go(&s, &mut mock, &cancel).await;
    assert_eq!(ended, LoopEnd::Cancelled);
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(mock.log.last().map(String::as_str), Some("discard"));
    let cells = final_cells(&events);
    assert!(
        cells.iter().all(|c| c.precision != Precision::F16),
        "the interrupted cell is not reported: {cells:?}"
    );
    assert_eq!(cancel.signal(), Some(("SIGTERM", 15)));
}

#[tokio::test]
async fn rounds_pool_samples_and_keep_each_rounds_median() {
    let mut s = schedule(&[CHROMIUM], &[Precision::F32, Precision::F16], &[1]);
    s.rounds = 3;
    let mut mock = Mock::default();
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let rounds: Vec<u32> = events
        .iter()
        .filter_map(|e| {
            if let Event::Ran { round, .. } = e {
                Some(*round)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(rounds, vec![1, 1, 2, 2, 3, 3]);
    let c = find(&final_cells(&events), "chromium", Precision::F16, 1).clone();
    assert_eq!(c.latency_ms.unwrap().raw.len(), 9);
    assert_eq!(c.sampling.unwrap().rounds.len(), 3);
    assert_eq!(
        mock.log.iter().filter(|l| l.starts_with("open")).count(),
        3,
        "a fresh session per round: {:?}",
        mock.log
    );
    assert_eq!(mock.log.iter().filter(|l| *l == "close").count(), 3);
}

#[tokio::test]
async fn a_profile_is_asked_for_and_each_cell_gets_its_stages() {
    let mut s = schedule(&[CHROMIUM], &[Precision::F32], &[1]);
    let (_, events) = go(&s, &mut Mock::default(), &Cancel::new()).await;
    assert!(final_cells(&events)[0].profile.is_empty(), "not asked");
    s.profile = true;
    s.rounds = 2;
    let (_, events) = go(&s, &mut Mock::default(), &Cancel::new()).await;
    let cell = &final_cells(&events)[0];
    // Each cut: i + 1 and 2i + 1 from each round, median 1.5i + 1; stage
    // by stage 1, then 1.5 more each.
    let got: Vec<(Stage, f64, usize)> = cell
        .profile
        .iter()
        .map(|t| (t.stage, t.ms, t.samples))
        .collect();
    let want: Vec<(Stage, f64, usize)> = Stage::ALL
        .iter()
        .enumerate()
        .map(|(i, &stage)| (stage, if i == 0 { 1.0 } else { 1.5 }, 4))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn require_hardware_gpu_skips_webgpu_cells_on_software_adapters() {
    let mut s = schedule(&[CHROMIUM], &[Precision::F32], &[1]);
    s.cells = cells(
        &[CHROMIUM],
        &[Backend::Webgpu, Backend::Cpu],
        &[Precision::F32],
        &[1],
    );
    s.require_hardware_gpu = true;
    let mut mock = Mock::default();
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let cells = final_cells(&events);
    let webgpu = cells.iter().find(|c| c.backend == Backend::Webgpu).unwrap();
    assert_eq!(webgpu.outcome.kind(), Status::Unsupported);
    assert!(
        webgpu
            .outcome
            .reason()
            .unwrap()
            .contains("--require-hardware-gpu"),
        "{webgpu:?}"
    );
    assert_eq!(
        cells
            .iter()
            .find(|c| c.backend == Backend::Cpu)
            .unwrap()
            .outcome,
        Outcome::Ok
    );
    assert!(!mock.log.iter().any(|l| l.starts_with("run webgpu")));
}

#[tokio::test]
async fn a_browser_without_webgpu_has_its_webgpu_cells_unsupported_without_running_them() {
    let mut s = schedule(&[CHROMIUM], &[Precision::F32], &[1]);
    s.cells = cells(
        &[CHROMIUM],
        &[Backend::Webgpu, Backend::Cpu],
        &[Precision::F32],
        &[1, 32],
    );
    let mut mock = Mock::default();
    mock.no_webgpu.insert(
        CHROMIUM,
        "navigator.gpu is undefined: WebGPU is not enabled in this browser".into(),
    );
    let (_, events) = go(&s, &mut mock, &Cancel::new()).await;
    let cells = final_cells(&events);
    let webgpu: Vec<_> = cells
        .iter()
        .filter(|c| c.backend == Backend::Webgpu)
        .collect();
    assert_eq!(webgpu.len(), 2);
    for c in webgpu {
        assert_eq!(
            c.outcome,
            Outcome::Unsupported {
                reason: "no WebGPU in this browser: navigator.gpu is undefined: WebGPU is not enabled in this browser".into()
            }
        );
    }
    assert!(
        cells
            .iter()
            .filter(|c| c.backend == Backend::Cpu)
            .all(|c| c.outcome == Outcome::Ok)
    );
    assert!(
        !mock.log.iter().any(|l| l.starts_with("run webgpu")),
        "{:?}",
        mock.log
    );
}

#[tokio::test]
async fn a_paired_answer_is_each_cells_baseline_side_with_its_own_quality() {
    let mut s = schedule(&[CHROMIUM], &[Precision::Int8, Precision::F32], &[1, 32]);
    s.rounds = 2;
    let mut mock = Mock {
        paired: true,
        ..Mock::default()
    };
    let (ended, events) = go(&s, &mut mock, &Cancel::new()).await;
    assert_eq!(ended, LoopEnd::Finished);
    // Both sides' quality comes from the first run of each precision.
    let asked = mock.log.iter().filter(|l| l.ends_with("q=4")).count();
    assert_eq!(asked, 2, "{:?}", mock.log);
    let cells = final_cells(&events);
    assert_eq!(cells.len(), 4);
    for batch in [1, 32] {
        let int8 = find(&cells, "chromium", Precision::Int8, batch);
        let side = int8.paired.as_deref().expect("the baseline's side");
        assert_eq!(side.id(), int8.id());
        assert_eq!(side.outcome, Outcome::Ok);
        let raw = &side.latency_ms.as_ref().unwrap().raw;
        assert_eq!(raw, &[2.0, 4.0, 6.0, 2.0, 4.0, 6.0], "two rounds, in order");
        assert_eq!(side.sampling.as_ref().unwrap().rounds.len(), 2);
        // Each side against its own float32: 0.9 → 0.7 here, 0.9 → 0.5 there.
        assert!((int8.quality.unwrap().drift_max - 0.2).abs() < 1e-6);
        assert!((side.quality.unwrap().drift_max - 0.4).abs() < 1e-6);
        assert!(side.paired.is_none());
    }
}
