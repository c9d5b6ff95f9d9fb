//! What the host did while a page ran: the machine's and the browser's CPU
//! counters read before and after the page (the runner reads them from
//! Linux's `/proc`), and what they say about the page's numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The machine's CPU time so far, in clock ticks, summed over every core
/// (`/proc/stat`'s `cpu` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MachineTicks {
    /// Every state.
    pub total: u64,
    /// Idle and waiting for I/O.
    pub idle: u64,
    /// Taken by the hypervisor for other guests while this one wanted to run.
    pub steal: u64,
}

/// One thread's scheduler counters (`/proc/PID/task/TID/schedstat` and `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ThreadTicks {
    /// Time on a CPU, nanoseconds.
    pub run_ns: u64,
    /// Time runnable but waiting for a CPU, nanoseconds.
    pub wait_ns: u64,
    /// Times it was taken off a CPU against its will.
    pub involuntary: u64,
    /// The CPU it last ran on.
    pub cpu: u32,
}

/// Everything read at one instant.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Snapshot {
    /// The machine's ticks.
    pub machine: MachineTicks,
    /// The 1-minute load average.
    pub load1: f64,
    /// CPU time of each of qbench's own processes (the runner, the driver
    /// and its browser) by process id, clock ticks.
    pub ours: BTreeMap<u32, u64>,
    /// The browser's threads by id.
    pub threads: BTreeMap<u32, ThreadTicks>,
    /// Anonymous memory of the browser's processes backed by transparent huge
    /// pages, KiB.
    pub anon_huge_kib: u64,
}

/// The browser thread that ran the most during the page: the one that ran
/// the inference.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MainThread {
    /// Share of the page's wall time it spent on a CPU.
    pub running: f64,
    /// Share of the time it wanted a CPU that it waited for one (0: never
    /// kept waiting).
    pub waiting: f64,
    /// Times it was taken off a CPU against its will.
    pub preempted: u64,
    /// The CPU it ran on last.
    pub cpu: u32,
}

/// What the host did while one page ran.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HostActivity {
    /// How long the page was watched, seconds.
    pub seconds: f64,
    /// The 1-minute load average before the page.
    pub load_before: f64,
    /// The 1-minute load average after it.
    pub load_after: f64,
    /// Share of every core's time that was busy (0–1).
    pub busy: f64,
    /// Share of every core's time used by qbench's own processes.
    pub ours: f64,
    /// Share of every core's time used by processes not qbench's.
    pub others: f64,
    /// Share of every core's time the hypervisor gave to other guests.
    pub steal: f64,
    /// The thread that ran the inference, when the browser's threads were visible.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_thread: Option<MainThread>,
    /// Browser memory backed by transparent huge pages at the end, KiB.
    pub anon_huge_kib: u64,
    /// Why the page counts as taken on a busy host (`None`: quiet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub busy_reason: Option<String>,
}

/// The machine a local browser ran on, as far as it says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// The CPU's model name.
    pub cpu_model: String,
    /// Cores (logical CPUs) online.
    pub cores: usize,
    /// The CPU frequency governor, where the host exposes one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub governor: Option<String>,
    /// The CPU's frequency when the run began, MHz, where the host says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mhz: Option<f64>,
    /// Whether it runs under a hypervisor (the CPU's `hypervisor` flag).
    pub virtualized: bool,
    /// Why it looks shared with other work (`None`: nothing says so).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_reason: Option<String>,
    /// The CPUs the browser's processes were pinned to (`None`: not pinned).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub browser_cpus: Option<Vec<usize>>,
}

impl Machine {
    /// Why a machine looks shared: a hypervisor that has given its CPU time
    /// to others (`steal_ticks` since boot, out of `total_ticks`). (The load
    /// is no sign when read: qbench's own build and native rows are in it.)
    pub fn shared_reason(virtualized: bool, steal_ticks: u64, total_ticks: u64) -> Option<String> {
        (virtualized && steal_ticks > 0).then(|| {
            format!(
                "a virtual machine whose hypervisor has given {:.2}% of its CPU time to others since boot",
                steal_ticks as f64 * 100.0 / total_ticks.max(1) as f64
            )
        })
    }
}

/// Which CPUs a local browser's processes may run on (`--pin-browser`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pinning {
    /// The machine's last CPU, when it has two or more: the runner and
    /// everything else keep the others.
    Auto,
    /// Wherever the kernel puts them.
    #[default]
    Off,
    /// These CPUs.
    Cpus(Vec<usize>),
}

impl Pinning {
    /// The CPUs to pin to on a machine of `cores` CPUs; `None`: none.
    pub fn cpus(&self, cores: usize) -> Option<Vec<usize>> {
        match self {
            Pinning::Auto => (cores >= 2).then(|| vec![cores - 1]),
            Pinning::Off => None,
            Pinning::Cpus(cpus) => Some(cpus.clone()),
        }
    }
}

impl std::str::FromStr for Pinning {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "auto" => Ok(Pinning::Auto),
            "off" => Ok(Pinning::Off),
            list => {
                let cpus = list
                    .split(',')
                    .map(|c| c.trim().parse::<usize>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|_| {
                        format!("`{s}` is not auto, off, or a list of CPU numbers such as 1 or 2,3")
                    })?;
                Ok(Pinning::Cpus(cpus))
            }
        }
    }
}

impl std::fmt::Display for Pinning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Pinning::Auto => f.write_str("auto"),
            Pinning::Off => f.write_str("off"),
            Pinning::Cpus(cpus) => {
                let list: Vec<String> = cpus.iter().map(ToString::to_string).collect();
                f.write_str(&list.join(","))
            }
        }
    }
}

impl Serialize for Pinning {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Pinning {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        String::deserialize(d)?
            .parse()
            .map_err(serde::de::Error::custom)
    }
}

/// When a page counts as taken on a busy host: other processes' CPU use or
/// the hypervisor's steal. (The inference thread's wait for a CPU is
/// recorded but not judged: it mostly waits for its own browser's threads,
/// and did not tell slow pages from fast ones.)
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BusyLimits {
    /// Other processes' CPU, in cores (0.25: a quarter of one core).
    pub others_cores: f64,
    /// Stolen CPU, in cores.
    pub steal_cores: f64,
}

impl Default for BusyLimits {
    fn default() -> Self {
        Self {
            others_cores: 0.25,
            steal_cores: 0.05,
        }
    }
}

impl HostActivity {
    /// What changed between `before` and `after`, `seconds` apart, on a
    /// machine of `cores` cores.
    pub fn between(
        before: &Snapshot,
        after: &Snapshot,
        seconds: f64,
        cores: usize,
        limits: BusyLimits,
    ) -> Self {
        let total = after.machine.total.saturating_sub(before.machine.total) as f64;
        let share = |ticks: u64| {
            if total > 0.0 {
                (ticks as f64 / total).clamp(0.0, 1.0)
            } else {
                0.0
            }
        };
        let idle = after.machine.idle.saturating_sub(before.machine.idle);
        let steal = share(after.machine.steal.saturating_sub(before.machine.steal));
        let busy = if total > 0.0 {
            (1.0 - share(idle) - steal).max(0.0)
        } else {
            0.0
        };
        // A process born during the page counts from zero; one that ended
        // during it is not counted (its time shows as others').
        let ours_ticks = after
            .ours
            .iter()
            .map(|(pid, t)| t.saturating_sub(before.ours.get(pid).copied().unwrap_or(0)))
            .sum();
        let ours = share(ours_ticks).min(busy);
        let main_thread = main_thread(before, after, seconds);
        let mut activity = Self {
            seconds,
            load_before: before.load1,
            load_after: after.load1,
            busy,
            ours,
            others: busy - ours,
            steal,
            main_thread,
            anon_huge_kib: after.anon_huge_kib,
            busy_reason: None,
        };
        activity.busy_reason = activity.judge(cores, limits);
        activity
    }

    /// Why this page counts as taken on a busy host, if it does.
    pub fn judge(&self, cores: usize, limits: BusyLimits) -> Option<String> {
        let cores = cores.max(1) as f64;
        let mut why = Vec::new();
        if self.others * cores > limits.others_cores {
            why.push(format!(
                "other processes used {:.2} cores",
                self.others * cores
            ));
        }
        if self.steal * cores > limits.steal_cores {
            why.push(format!(
                "the hypervisor took {:.2} cores",
                self.steal * cores
            ));
        }
        (!why.is_empty()).then(|| why.join("; "))
    }
}

/// The thread with the most CPU time between the snapshots, and how it fared.
fn main_thread(before: &Snapshot, after: &Snapshot, seconds: f64) -> Option<MainThread> {
    let (tid, end) = after.threads.iter().max_by_key(|(tid, t)| {
        let start = before.threads.get(tid).copied().unwrap_or_default();
        t.run_ns.saturating_sub(start.run_ns)
    })?;
    let start = before.threads.get(tid).copied().unwrap_or_default();
    let run = end.run_ns.saturating_sub(start.run_ns) as f64;
    let wait = end.wait_ns.saturating_sub(start.wait_ns) as f64;
    (run > 0.0).then(|| MainThread {
        running: if seconds > 0.0 {
            run / (seconds * 1e9)
        } else {
            0.0
        },
        waiting: wait / (run + wait),
        preempted: end.involuntary.saturating_sub(start.involuntary),
        cpu: end.cpu,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn snapshot(total: u64, idle: u64, steal: u64, ours: u64) -> Snapshot {
        Snapshot {
            machine: MachineTicks { total, idle, steal },
            load1: 1.0,
            ours: [(1, ours)].into_iter().collect(),
            ..Snapshot::default()
        }
    }

    fn near(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn shares_are_of_every_core_and_others_is_the_rest_of_busy() {
        // 2 cores for 1 s: 200 ticks; 100 idle, 10 stolen, ours 60.
        let a = HostActivity::between(
            &snapshot(1000, 500, 0, 0),
            &snapshot(1200, 600, 10, 60),
            1.0,
            2,
            BusyLimits::default(),
        );
        assert!(near(a.steal, 0.05));
        assert!(near(a.busy, 0.45));
        assert!(near(a.ours, 0.3));
        assert!(near(a.others, 0.15));
        // others 0.3 cores > 0.25; steal 0.1 cores > 0.05.
        assert_eq!(
            a.busy_reason.as_deref(),
            Some("other processes used 0.30 cores; the hypervisor took 0.10 cores")
        );
    }

    #[test]
    fn a_quiet_page_has_no_reason_and_ours_never_exceeds_busy() {
        let a = HostActivity::between(
            &snapshot(1000, 500, 0, 0),
            &snapshot(1200, 600, 0, 150),
            1.0,
            2,
            BusyLimits::default(),
        );
        assert_eq!(a.busy, 0.5);
        assert_eq!(a.ours, 0.5);
        assert_eq!(a.others, 0.0);
        assert_eq!(a.busy_reason, None);
    }

    #[test]
    fn the_main_thread_is_the_one_that_ran_most_and_its_wait_is_not_judged() {
        let thread = |run_ns, wait_ns, involuntary, cpu| ThreadTicks {
            run_ns,
            wait_ns,
            involuntary,
            cpu,
        };
        let mut before = snapshot(0, 0, 0, 0);
        before.threads.insert(7, thread(0, 0, 0, 0));
        before.threads.insert(8, thread(5_000_000_000, 0, 0, 0));
        let mut after = snapshot(200, 100, 0, 100);
        // Thread 7 ran 0.9 s and waited 0.1 s; thread 8 ran 0.1 s more.
        after
            .threads
            .insert(7, thread(900_000_000, 100_000_000, 12, 1));
        after.threads.insert(8, thread(5_100_000_000, 0, 0, 0));
        // A thread born during the page counts from zero.
        after.threads.insert(9, thread(200_000_000, 0, 0, 0));
        let a = HostActivity::between(&before, &after, 1.0, 2, BusyLimits::default());
        let main = a.main_thread.unwrap();
        assert!(near(main.running, 0.9));
        assert!(near(main.waiting, 0.1));
        assert_eq!(main.preempted, 12);
        assert_eq!(main.cpu, 1);
        assert_eq!(a.busy_reason, None);
    }

    #[test]
    fn a_process_born_during_the_page_counts_from_zero_one_that_ended_not_at_all() {
        let mut before = snapshot(0, 0, 0, 0);
        before.ours = [(1, 50), (2, 40)].into_iter().collect();
        let mut after = snapshot(200, 100, 0, 0);
        after.ours = [(1, 70), (3, 30)].into_iter().collect();
        let a = HostActivity::between(&before, &after, 1.0, 2, BusyLimits::default());
        assert!(near(a.ours, 0.25));
        assert!(near(a.others, 0.25));
    }

    #[test]
    fn a_machine_looks_shared_when_its_hypervisor_has_stolen_time() {
        assert_eq!(Machine::shared_reason(false, 10, 100), None);
        assert_eq!(Machine::shared_reason(true, 0, 100), None);
        assert_eq!(
            Machine::shared_reason(true, 1, 200).as_deref(),
            Some(
                "a virtual machine whose hypervisor has given 0.50% of its CPU time to others since boot"
            )
        );
    }

    #[test]
    fn pinning_parses_names_and_lists_and_picks_the_last_cpu() {
        assert_eq!("auto".parse::<Pinning>(), Ok(Pinning::Auto));
        assert_eq!("off".parse::<Pinning>(), Ok(Pinning::Off));
        assert_eq!("2, 3".parse::<Pinning>(), Ok(Pinning::Cpus(vec![2, 3])));
        assert_eq!(
            "fast".parse::<Pinning>(),
            Err("`fast` is not auto, off, or a list of CPU numbers such as 1 or 2,3".into())
        );
        assert_eq!(Pinning::Auto.cpus(2), Some(vec![1]));
        assert_eq!(Pinning::Auto.cpus(1), None);
        assert_eq!(Pinning::Off.cpus(8), None);
        assert_eq!(Pinning::Cpus(vec![0]).cpus(8), Some(vec![0]));
        assert_eq!(Pinning::Cpus(vec![2, 3]).to_string(), "2,3");
    }

    #[test]
    fn no_threads_no_main_thread_and_no_ticks_no_shares() {
        let a = HostActivity::between(
            &Snapshot::default(),
            &Snapshot::default(),
            0.0,
            2,
            BusyLimits::default(),
        );
        assert_eq!(a.main_thread, None);
        assert_eq!((a.busy, a.ours, a.others, a.steal), (0.0, 0.0, 0.0, 0.0));
    }
}
