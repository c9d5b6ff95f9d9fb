//! The one run loop: takes a plan of cells and an [`Executor`], runs every cell
//! (in rounds, with retries, within time limits, until cancelled) and sends
//! what happened as [`Event`]s to whoever keeps the report. The rules live here
//! once, for browsers and the native reference rows alike:
//!
//! - one agent (browser) open at a time; a hang or a lost session costs that
//!   cell, the agent is killed and started afresh for the next;
//! - an agent that cannot start is not tried again: its cells fail at once;
//! - a failed cell is retried `retries` times on a fresh agent, and a pass on
//!   retry is marked flaky;
//! - quality is measured once per agent × backend × precision, against that
//!   backend's float32, and shown on every batch row; the cell asked for it is
//!   the round's largest batch of it (its samples run on the quality digits,
//!   so the page's quality pass does only the rest), or any later one while
//!   none has delivered;
//! - cancellation stops at once: the running cell is dropped, its agent killed.

pub mod executor;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use qbench_core::adapter::{AdapterClass, classify};
use qbench_core::protocol::{CellRequest, CellResponse, PowerPreference};
use qbench_core::quality::Quality;
use qbench_core::sampling::SamplePlan;
use qbench_core::schema::{Cell, Environment, Outcome};
use qbench_core::{Backend, Precision};
use tokio::sync::mpsc::UnboundedSender;

use crate::cancel::Cancel;
use crate::collect::{self, Event, References, RunResult, elapsed_ms};
use crate::plan::{self, Agent, PlannedCell};
pub use executor::{ExecError, Executor};

/// How to run a plan.
#[derive(Debug, Clone)]
pub struct Schedule {
    /// The host label every environment and cell carries.
    pub host: Option<String>,
    /// The cells, grouped by agent.
    pub cells: Vec<PlannedCell>,
    /// Passes over each agent's cells.
    pub rounds: u32,
    /// Seed of the per-round shuffles.
    pub seed: u64,
    /// Retries of a failed cell, each on a fresh agent.
    pub retries: u32,
    /// Retries of a round whose page was taken on a busy host, in a fresh page.
    pub busy_retries: u32,
    /// How the page samples latency.
    pub plan: SamplePlan,
    /// Held-out digits quality is measured on.
    pub quality_inputs: usize,
    /// Inputs per inference of the quality pass.
    pub quality_batch: usize,
    /// Limit for starting and probing an agent.
    pub open_timeout: Duration,
    /// Limit for one cell, page load included.
    pub cell_timeout: Duration,
    /// WebGPU cells on a software adapter are `unsupported` instead of run.
    pub require_hardware_gpu: bool,
    /// The WebGPU adapter's power preference.
    pub power_preference: PowerPreference,
    /// Time the network stage by stage after each cell's samples.
    pub profile: bool,
}

/// How the loop ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoopEnd {
    /// Every cell ran.
    Finished,
    /// Cancelled: the cell running then is not in the report.
    Cancelled,
}

/// The agent's state between cells.
#[derive(Debug, Clone, PartialEq)]
enum Agenda {
    Closed,
    Open(Agent),
    Failed(Agent, String),
}

type QualityKey = (Agent, Backend, Precision);

/// The loop's memory: sessions, every run so far, probabilities and quality
/// (of this build, and of the baseline package when cells ran paired).
struct State {
    agenda: Agenda,
    environments: HashMap<Agent, Environment>,
    runs: HashMap<PlannedCell, Vec<RunResult>>,
    quality: QualityStore,
    paired_quality: QualityStore,
}

/// Probabilities per agent × backend × precision, and the quality computed from them.
#[derive(Default)]
struct QualityStore {
    probabilities: HashMap<QualityKey, Vec<f32>>,
    quality: HashMap<QualityKey, Result<Quality, String>>,
}

impl QualityStore {
    /// Stores new probabilities and recomputes the quality they change (a float32
    /// arriving changes every precision of its backend); returns those keys.
    fn learn(&mut self, key: QualityKey, probs: Vec<f32>, refs: &References) -> Vec<QualityKey> {
        self.probabilities.insert(key, probs);
        let mut keys = vec![key];
        if key.2 == Precision::F32 {
            // Precisions measured before their float32 were compared with native: now with it.
            keys.extend(
                self.probabilities
                    .keys()
                    .filter(|k| k.0 == key.0 && k.1 == key.1 && k.2 != Precision::F32)
                    .copied(),
            );
        }
        let f32_probs = self
            .probabilities
            .get(&(key.0, key.1, Precision::F32))
            .cloned();
        for k in &keys {
            let probs = &self.probabilities[k];
            self.quality
                .insert(*k, collect::quality(k.2, probs, f32_probs.as_deref(), refs));
        }
        keys
    }

    /// `cell` with its quality attached, or its error when quality failed.
    fn attach(&self, mut cell: Cell, key: &QualityKey) -> Cell {
        if cell.outcome == Outcome::Ok {
            match self.quality.get(key) {
                Some(Ok(q)) => cell.quality = Some(*q),
                Some(Err(message)) => {
                    cell.outcome = Outcome::Error {
                        message: message.clone(),
                    }
                }
                None => {}
            }
        }
        cell
    }
}

/// A cell's outcome when its agent could not start.
fn could_not_start(agent: Agent, reason: &str) -> Outcome {
    Outcome::Error {
        message: format!("{agent} could not be started: {reason}"),
    }
}

/// What an attempt at a cell gave: its outcome and the page's answer, if any.
type Attempted = (Outcome, Option<CellResponse>);

impl Schedule {
    /// Runs every cell on `exec`, sending events to `events`, until done or cancelled.
    pub async fn run<E: Executor>(
        &self,
        exec: &mut E,
        refs: &References,
        events: &UnboundedSender<Event>,
        cancel: &Cancel,
    ) -> LoopEnd {
        let mut state = State {
            agenda: Agenda::Closed,
            environments: HashMap::new(),
            runs: HashMap::new(),
            quality: QualityStore::default(),
            paired_quality: QualityStore::default(),
        };
        let mut session_round = 1;
        let order = plan::order(&self.cells, self.rounds, self.seed);
        for (at, &(round, planned)) in order.iter().enumerate() {
            let key = (planned.agent, planned.backend, planned.precision);
            let larger_later = order[at + 1..].iter().any(|(r, c)| {
                *r == round && (c.agent, c.backend, c.precision) == key && c.batch > planned.batch
            });
            if cancel.is_cancelled() {
                exec.discard();
                return LoopEnd::Cancelled;
            }
            // Each round runs in a fresh session (a new browser and page): a page
            // settles into its own state (JIT tiers, allocator, clocks), and pooling
            // rounds from one session would hide that spread from the intervals.
            if round != session_round {
                if matches!(state.agenda, Agenda::Open(_)) {
                    exec.close().await;
                    state.agenda = Agenda::Closed;
                }
                session_round = round;
            }
            let Some(result) = self
                .with_retries(exec, &mut state, &planned, larger_later, events, cancel)
                .await
            else {
                exec.discard();
                return LoopEnd::Cancelled;
            };
            let updated = self.record(&mut state, planned, result, refs);
            let _ = events.send(Event::Ran {
                cell: self.cell_of(&state, &planned),
                round,
            });
            for other in updated.iter().filter(|c| **c != planned) {
                let _ = events.send(Event::Updated(self.cell_of(&state, other)));
            }
        }
        if state.agenda != Agenda::Closed {
            exec.close().await;
        }
        LoopEnd::Finished
    }

    /// A cell's run: attempted, and retried on a fresh agent while it fails and
    /// retries are left (not when its agent could not start). `None` when cancelled.
    async fn with_retries<E: Executor>(
        &self,
        exec: &mut E,
        state: &mut State,
        planned: &PlannedCell,
        larger_later: bool,
        events: &UnboundedSender<Event>,
        cancel: &Cancel,
    ) -> Option<RunResult> {
        let mut attempts = 0;
        let mut busy_attempts = 0;
        loop {
            attempts += 1;
            let started = Instant::now();
            let (outcome, response) = self
                .attempt(exec, state, planned, larger_later, events, cancel)
                .await?;
            let host = exec.host_activity();
            let busy = host.as_ref().and_then(|h| h.busy_reason.clone());
            if let Some(why) = busy.filter(|_| outcome == Outcome::Ok)
                && busy_attempts < self.busy_retries
            {
                busy_attempts += 1;
                attempts -= 1;
                let _ = events.send(Event::Message(format!(
                    "{}: its page was taken on a busy host ({why}); taking it again ({busy_attempts}/{})",
                    planned.id(self.host.as_deref()),
                    self.busy_retries
                )));
                continue;
            }
            let failed = matches!(outcome, Outcome::Error { .. } | Outcome::Timeout { .. });
            let can_retry = !matches!(state.agenda, Agenda::Failed(..));
            if failed && can_retry && attempts <= self.retries {
                let _ = events.send(Event::Message(format!(
                    "{}: {} ({}); retrying on a fresh {} ({attempts}/{})",
                    planned.id(self.host.as_deref()),
                    outcome.status(),
                    outcome.reason().unwrap_or_default(),
                    planned.agent,
                    self.retries
                )));
                exec.discard();
                state.agenda = Agenda::Closed;
                continue;
            }
            return Some(RunResult {
                outcome,
                response,
                attempts,
                wall_ms: elapsed_ms(started),
                host,
            });
        }
    }

    /// Keeps a run, learns the probabilities it brought (this build's, and the
    /// paired side's); returns the cells whose quality that changed.
    fn record(
        &self,
        state: &mut State,
        planned: PlannedCell,
        result: RunResult,
        refs: &References,
    ) -> Vec<PlannedCell> {
        let key = (planned.agent, planned.backend, planned.precision);
        let probabilities = result
            .response
            .as_ref()
            .filter(|_| result.outcome == Outcome::Ok)
            .map(|r| r.probabilities.clone());
        let paired_probabilities = result
            .response
            .as_ref()
            .and_then(|r| r.baseline.as_deref())
            .filter(|b| b.status == qbench_core::schema::Status::Ok)
            .map(|b| b.probabilities.clone());
        state.runs.entry(planned).or_default().push(result);
        let mut keys = Vec::new();
        if let Some(probs) = probabilities.filter(|p| !p.is_empty()) {
            keys.extend(state.quality.learn(key, probs, refs));
        }
        if let Some(probs) = paired_probabilities.filter(|p| !p.is_empty()) {
            keys.extend(state.paired_quality.learn(key, probs, refs));
        }
        self.cells
            .iter()
            .filter(|c| {
                keys.contains(&(c.agent, c.backend, c.precision)) && state.runs.contains_key(c)
            })
            .copied()
            .collect()
    }

    /// One attempt at a cell: the agent started if needed, the cell run within its
    /// limit; it measures quality unless that is known or a larger batch of the
    /// same precision comes later in the round (`larger_later`). `None` when
    /// cancelled.
    async fn attempt<E: Executor>(
        &self,
        exec: &mut E,
        state: &mut State,
        planned: &PlannedCell,
        larger_later: bool,
        events: &UnboundedSender<Event>,
        cancel: &Cancel,
    ) -> Option<Attempted> {
        let agent = planned.agent;
        match &state.agenda {
            Agenda::Open(a) if *a == agent => {}
            Agenda::Failed(a, reason) if *a == agent => {
                return Some((could_not_start(agent, reason), None));
            }
            _ => {
                if let Err(reason) = self.open(exec, state, agent, events, cancel).await? {
                    return Some((could_not_start(agent, &reason), None));
                }
            }
        }
        if let Some(reason) = self.not_runnable(state, planned) {
            return Some((Outcome::Unsupported { reason }, None));
        }
        let request = self.request(state, planned, larger_later);
        let ran = tokio::select! {
            biased;
            () = cancel.cancelled() => return None,
            r = tokio::time::timeout(self.cell_timeout, exec.run(planned, &request)) => r,
        };
        Some(match ran {
            Ok(Ok(response)) => (collect::outcome_of(&response), Some(response)),
            Ok(Err(ExecError::Page(message))) => (Outcome::Error { message }, None),
            Ok(Err(ExecError::BadAnswer { message, partial })) => {
                (Outcome::Error { message }, partial.map(|p| *p))
            }
            Ok(Err(ExecError::SessionLost(message) | ExecError::Start(message))) => {
                self.restart(exec, state, planned, "its session was lost", events);
                (Outcome::Error { message }, None)
            }
            Err(_) => {
                self.restart(exec, state, planned, "it hung", events);
                (
                    Outcome::Timeout {
                        message: format!("no answer within {} s", self.cell_timeout.as_secs()),
                    },
                    None,
                )
            }
        })
    }

    /// Starts `agent` (closing another that is open) and probes it; its
    /// environment is sent the first time. `Ok(Err(reason))` when it could not
    /// start: the agent is then failed for the rest of the run. `None` when cancelled.
    async fn open<E: Executor>(
        &self,
        exec: &mut E,
        state: &mut State,
        agent: Agent,
        events: &UnboundedSender<Event>,
        cancel: &Cancel,
    ) -> Option<Result<(), String>> {
        if matches!(state.agenda, Agenda::Open(_)) {
            exec.close().await;
        }
        let opened = tokio::select! {
            biased;
            () = cancel.cancelled() => return None,
            r = tokio::time::timeout(self.open_timeout, exec.open(agent)) => r,
        };
        let reason = match opened {
            Ok(Ok(env)) => {
                if let std::collections::hash_map::Entry::Vacant(e) =
                    state.environments.entry(agent)
                {
                    let env = self.classified(env, exec.endpoint());
                    let _ = events.send(Event::Environment(env.clone()));
                    e.insert(env);
                }
                state.agenda = Agenda::Open(agent);
                return Some(Ok(()));
            }
            Ok(Err(e)) => e.message().to_string(),
            Err(_) => format!(
                "did not start and answer the probe within {} s",
                self.open_timeout.as_secs()
            ),
        };
        exec.discard();
        let _ = events.send(Event::Message(format!(
            "{agent} on {}: {reason}",
            exec.endpoint()
        )));
        state.environments.entry(agent).or_insert_with(|| {
            let env = Environment {
                host: self.host.clone(),
                endpoint: Some(exec.endpoint()),
                browser: agent,
                start_error: Some(reason.clone()),
                ..Environment::default()
            };
            let _ = events.send(Event::Environment(env.clone()));
            env
        });
        state.agenda = Agenda::Failed(agent, reason.clone());
        Some(Err(reason))
    }

    /// A probed environment with this run's host, its endpoint, and its
    /// adapter classified as software or hardware.
    fn classified(&self, mut env: Environment, endpoint: String) -> Environment {
        env.host = self.host.clone();
        env.endpoint = Some(endpoint);
        if let Some(adapter) = env.webgpu.as_mut() {
            let (class, why) = classify(adapter);
            adapter.class = Some(class);
            adapter.class_reason = Some(why);
            let timestamps = adapter.gpu_timestamps();
            env.extra
                .insert(qbench_core::schema::GPU_TIMESTAMPS_KEY.into(), timestamps);
        }
        env
    }

    /// What the page is asked for a cell: quality only when it is not known
    /// yet (for the paired side too) and no larger batch of it comes later;
    /// the agent's readback floor, which throughput queues are sized against,
    /// and whether its adapter can time dispatches.
    fn request(&self, state: &State, planned: &PlannedCell, larger_later: bool) -> CellRequest {
        let key = (planned.agent, planned.backend, planned.precision);
        let known = state.quality.probabilities.contains_key(&key)
            && (state.paired_quality.probabilities.is_empty()
                || state.paired_quality.probabilities.contains_key(&key));
        CellRequest {
            backend: planned.backend,
            precision: planned.precision,
            batch: planned.batch,
            plan: self.plan,
            quality_inputs: if larger_later || known {
                0
            } else {
                self.quality_inputs
            },
            quality_batch: self.quality_batch,
            power_preference: self.power_preference,
            profile: self.profile,
            paired: None,
            readback_floor_ms: state
                .environments
                .get(&planned.agent)
                .and_then(|env| env.readback_floor_ms),
            gpu_timestamps: state
                .environments
                .get(&planned.agent)
                .and_then(|env| env.webgpu.as_ref())
                .is_some_and(|a| a.offers(qbench_core::schema::TIMESTAMP_QUERY)),
        }
    }

    /// Kills the agent after a hang or a lost session; the next cell starts it afresh.
    fn restart<E: Executor>(
        &self,
        exec: &mut E,
        state: &mut State,
        planned: &PlannedCell,
        why: &str,
        events: &UnboundedSender<Event>,
    ) {
        exec.discard();
        state.agenda = Agenda::Closed;
        let _ = events.send(Event::Message(format!(
            "{}: {} restarted because {why}",
            planned.id(self.host.as_deref()),
            planned.agent
        )));
    }

    /// Why a WebGPU cell is not run, if it is not: the browser's probe found
    /// no WebGPU (WebKitGTK has no `navigator.gpu`), or the adapter is a
    /// software one and `--require-hardware-gpu` was given.
    fn not_runnable(&self, state: &State, planned: &PlannedCell) -> Option<String> {
        if planned.backend != Backend::Webgpu {
            return None;
        }
        let env = state.environments.get(&planned.agent)?;
        if let Some(why) = env
            .webgpu_unavailable_reason
            .as_ref()
            .filter(|_| env.webgpu.is_none())
        {
            return Some(format!("no WebGPU in this browser: {why}"));
        }
        if !self.require_hardware_gpu {
            return None;
        }
        let adapter = env.webgpu.as_ref()?;
        (adapter.class == Some(AdapterClass::Software)).then(|| {
            format!(
                "software WebGPU adapter ({}) and --require-hardware-gpu",
                adapter.class_reason.as_deref().unwrap_or("software")
            )
        })
    }

    /// The cell as it stands: every run pooled, quality attached; with the
    /// baseline package's side of every paired run as `paired`.
    fn cell_of(&self, state: &State, planned: &PlannedCell) -> Cell {
        let runs = state.runs.get(planned).map_or(&[][..], Vec::as_slice);
        let key = (planned.agent, planned.backend, planned.precision);
        let blank = collect::blank(planned, self.host.as_deref());
        let mut cell = state
            .quality
            .attach(collect::pooled(blank.clone(), runs), &key);
        let paired: Vec<RunResult> = runs
            .iter()
            .filter_map(|r| {
                let b = r.response.as_ref()?.baseline.as_deref()?;
                Some(RunResult {
                    outcome: collect::outcome_of(b),
                    response: Some(b.clone()),
                    attempts: r.attempts,
                    wall_ms: r.wall_ms,
                    host: r.host.clone(),
                })
            })
            .collect();
        if !paired.is_empty() {
            let side = state
                .paired_quality
                .attach(collect::pooled(blank, &paired), &key);
            cell.paired = Some(Box::new(side));
        }
        cell
    }
}

#[cfg(test)]
mod mock;
