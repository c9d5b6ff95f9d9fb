//! What the host is doing, read from Linux's `/proc` before and after each
//! page of a local browser: the machine's CPU ticks and load, the CPU time of
//! qbench's processes (the runner, and the driver's process group with its
//! browser), the scheduler counters of the browser's threads and its
//! transparent huge pages; and the machine itself (CPU model, cores,
//! governor, hypervisor). Where `/proc` is missing, nothing is read.

use std::path::Path;
use std::time::Instant;

pub use qbench_core::host::Machine;
use qbench_core::host::{BusyLimits, HostActivity, MachineTicks, Snapshot, ThreadTicks};

/// A page being watched: the snapshot before it.
pub struct Watch {
    group: u32,
    before: Snapshot,
    started: Instant,
}

impl Watch {
    /// Reads the counters of the machine and of process group `group`;
    /// `None` where `/proc` cannot be read.
    pub fn start(group: u32) -> Option<Self> {
        Some(Self {
            group,
            before: snapshot(group)?,
            started: Instant::now(),
        })
    }

    /// Reads them again and says what changed; `None` when they could not be read.
    pub fn finish(self) -> Option<HostActivity> {
        let after = snapshot(self.group)?;
        Some(HostActivity::between(
            &self.before,
            &after,
            self.started.elapsed().as_secs_f64(),
            cores(),
            BusyLimits::default(),
        ))
    }
}

/// The machine as `/proc` and `/sys` describe it; `None` without `/proc`.
pub fn machine() -> Option<Machine> {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    let field = |name: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == name).then(|| v.trim().to_string())
        })
    };
    let virtualized = field("flags").is_some_and(|f| f.split(' ').any(|x| x == "hypervisor"));
    let ticks = machine_ticks(&read("/proc/stat")?)?;
    let cores = cores();
    Some(Machine {
        cpu_model: field("model name").unwrap_or_else(|| "unknown".into()),
        cores,
        governor: read("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor")
            .map(|g| g.trim().to_string()),
        mhz: field("cpu MHz").and_then(|m| m.parse().ok()),
        virtualized,
        shared_reason: Machine::shared_reason(virtualized, ticks.steal, ticks.total),
        browser_cpus: None,
    })
}

/// Pins process `pid` (and the children it starts later) to `cpus`.
#[cfg(target_os = "linux")]
pub fn pin(pid: u32, cpus: &[usize]) -> anyhow::Result<()> {
    use nix::sched::{CpuSet, sched_setaffinity};
    let mut set = CpuSet::new();
    for &cpu in cpus {
        set.set(cpu)?;
    }
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid)?);
    sched_setaffinity(pid, &set)?;
    Ok(())
}

/// Pinning is Linux's; elsewhere it is an error to ask for it.
#[cfg(not(target_os = "linux"))]
pub fn pin(_pid: u32, _cpus: &[usize]) -> anyhow::Result<()> {
    anyhow::bail!("--pin-browser works on Linux only; pass --pin-browser off")
}

/// Logical CPUs online.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

fn read(path: impl AsRef<Path>) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

/// Everything read now for process group `group`.
fn snapshot(group: u32) -> Option<Snapshot> {
    let mut snap = Snapshot {
        machine: machine_ticks(&read("/proc/stat")?)?,
        load1: load1(&read("/proc/loadavg")?)?,
        ..Snapshot::default()
    };
    let me = std::process::id();
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let Some(stat) = read(entry.path().join("stat")).and_then(|s| ProcStat::parse(&s)) else {
            continue;
        };
        if pid == me {
            snap.ours.insert(pid, stat.ticks);
        } else if stat.group == group {
            snap.ours.insert(pid, stat.ticks);
            threads(&entry.path(), &mut snap);
            snap.anon_huge_kib += read(entry.path().join("smaps_rollup"))
                .and_then(|s| kib_field(&s, "AnonHugePages"))
                .unwrap_or(0);
        }
    }
    Some(snap)
}

/// The scheduler counters of every thread of the process at `proc`.
fn threads(proc: &Path, snap: &mut Snapshot) {
    let Ok(tasks) = std::fs::read_dir(proc.join("task")) else {
        return;
    };
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        let dir = task.path();
        let (Some(sched), Some(stat), Some(status)) = (
            read(dir.join("schedstat")).and_then(|s| schedstat(&s)),
            read(dir.join("stat")).and_then(|s| ProcStat::parse(&s)),
            read(dir.join("status")),
        ) else {
            continue;
        };
        snap.threads.insert(
            tid,
            ThreadTicks {
                run_ns: sched.0,
                wait_ns: sched.1,
                involuntary: count_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0),
                cpu: stat.cpu,
            },
        );
    }
}

/// What qbench needs from a `/proc/PID/stat` (or a task's) line.
#[derive(Debug, PartialEq)]
struct ProcStat {
    /// The process group.
    group: u32,
    /// User and system time, clock ticks.
    ticks: u64,
    /// The CPU it last ran on.
    cpu: u32,
}

impl ProcStat {
    /// Parses a stat line; the command (field 2) may hold spaces and
    /// parentheses, so fields are counted after its last `)`.
    fn parse(line: &str) -> Option<Self> {
        let rest = &line[line.rfind(')')? + 1..];
        let fields: Vec<&str> = rest.split_whitespace().collect();
        // Field n of proc(5) is fields[n - 3].
        let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
        Some(Self {
            group: u32::try_from(field(5)?).ok()?,
            ticks: field(14)? + field(15)?,
            cpu: u32::try_from(field(39)?).ok()?,
        })
    }
}

/// The machine's ticks from `/proc/stat`'s first line: `cpu user nice system
/// idle iowait irq softirq steal …`.
fn machine_ticks(stat: &str) -> Option<MachineTicks> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().ok())
        .collect::<Option<_>>()?;
    // guest and guest_nice (9th and 10th) are already inside user and nice.
    Some(MachineTicks {
        total: v.iter().take(8).sum(),
        idle: v.get(3)? + v.get(4)?,
        steal: *v.get(7)?,
    })
}

/// The 1-minute load average from `/proc/loadavg`.
fn load1(loadavg: &str) -> Option<f64> {
    loadavg.split_whitespace().next()?.parse().ok()
}

/// A thread's `schedstat`: time on a CPU and time waiting for one, nanoseconds.
fn schedstat(text: &str) -> Option<(u64, u64)> {
    let mut it = text.split_whitespace().map(|x| x.parse::<u64>().ok());
    Some((it.next()??, it.next()??))
}

/// `Name:   N` from a `status` file.
fn count_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == name).then(|| v.trim().parse().ok())?
    })
}

/// `Name:   N kB` from `smaps_rollup`.
fn kib_field(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        (k == name).then(|| v.trim().trim_end_matches("kB").trim().parse().ok())?
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_is_read_after_the_commands_last_parenthesis() {
        let line = "12328 (chromium (x) y) R 12185 12169 10228 0 -1 4194560 1 2 3 4 \
                    170 30 0 0 20 0 25 0 100 200 300 1 2 3 4 5 6 7 8 9 10 11 0 0 17 1 0 0";
        assert_eq!(
            ProcStat::parse(line),
            Some(ProcStat {
                group: 12169,
                ticks: 200,
                cpu: 1,
            })
        );
        assert_eq!(ProcStat::parse("12 (cut short) R 1"), None);
    }

    #[test]
    fn machine_ticks_count_eight_states_and_idle_includes_io_wait() {
        let stat = "cpu  100 1 20 300 4 0 5 6 7 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        assert_eq!(
            machine_ticks(stat),
            Some(MachineTicks {
                total: 436,
                idle: 304,
                steal: 6,
            })
        );
        assert_eq!(machine_ticks("intr 1 2\n"), None);
    }

    #[test]
    fn load_schedstat_and_status_fields_parse() {
        assert_eq!(load1("1.07 1.71 1.89 2/300 1234\n"), Some(1.07));
        assert_eq!(schedstat("5000 700 12\n"), Some((5000, 700)));
        assert_eq!(schedstat("5000\n"), None);
        let status =
            "Name:\tchromium\nvoluntary_ctxt_switches:\t40\nnonvoluntary_ctxt_switches:\t3\n";
        assert_eq!(count_field(status, "nonvoluntary_ctxt_switches"), Some(3));
        assert_eq!(count_field(status, "missing"), None);
        assert_eq!(
            kib_field("Rss:  100 kB\nAnonHugePages:   2048 kB\n", "AnonHugePages"),
            Some(2048)
        );
    }

    #[test]
    fn a_pinned_process_may_run_on_those_cpus_only() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let last = cores() - 1;
        pin(child.id(), &[last]).unwrap();
        let status = read(format!("/proc/{}/status", child.id())).unwrap();
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(
            count_field(&status, "Cpus_allowed_list").map(|c| c as usize),
            Some(last)
        );
    }

    #[test]
    fn this_process_is_seen_as_ours_with_its_threads_elsewhere() {
        // The test's own process group: the test binary is in it.
        let group = ProcStat::parse(&read("/proc/self/stat").unwrap())
            .unwrap()
            .group;
        let snap = snapshot(group).unwrap();
        assert!(snap.ours.contains_key(&std::process::id()));
        assert!(snap.machine.total > 0);
        let m = machine().unwrap();
        assert_eq!(m.cores, cores());
        assert!(!m.cpu_model.is_empty());
    }
}
