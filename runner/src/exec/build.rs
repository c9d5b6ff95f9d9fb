//! Builds the wasm modules and their JS glue when missing or stale: cargo
//! decides whether a module is stale, wasm-bindgen (exactly the version in
//! `Cargo.lock`) runs only when cargo's module is not the one the glue was
//! made from, and wasm-opt only on glue it has not optimised.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cancel::Cancel;

/// The wasm target both modules are built for.
pub const TARGET: &str = "wasm32-unknown-unknown";
/// Code generation flags of the wasm build.
pub const WASM_RUSTFLAGS: &str = "-C target-feature=+simd128";

/// The folder of the built package (`qbench_wasm.js`, `qbench_wasm_bg.wasm`).
pub fn package_dir(target_dir: &Path) -> PathBuf {
    target_dir.join("qbench-pkg")
}

/// Where cargo puts build output for the workspace at `root`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

/// A wasm module's own cargo target folder (below the main target folder), so
/// a `cargo test` that holds the main target folder's lock can run `qbench
/// run`, and the two modules never overwrite each other's `qbench_wasm.wasm`.
pub fn wasm_target_dir(root: &Path, module: &Module) -> PathBuf {
    target_dir(root).join(module.target_folder)
}

/// What was built: where, how large, and whether wasm-opt ran.
#[derive(Debug, Clone)]
pub struct Package {
    /// The folder served at `/pkg/`.
    pub dir: PathBuf,
    /// Size of `qbench_wasm_bg.wasm`, bytes.
    pub wasm_bytes: u64,
    /// The served files raw, gzipped and brotli-compressed.
    pub files: Vec<qbench_core::schema::ServedFile>,
    /// The wasm-opt that optimised it, if one did.
    pub wasm_opt: Option<String>,
    /// How it was built (profile and flags), if qbench built it.
    pub build: Option<String>,
}

impl Package {
    /// How a report describes it.
    pub fn bundle(&self) -> qbench_core::schema::Bundle {
        qbench_core::schema::Bundle {
            wasm_bytes: self.wasm_bytes,
            files: self.files.clone(),
            wasm_opt: self.wasm_opt.clone(),
            build: self.build.clone(),
        }
    }
}

/// Oldest binaryen whose `wasm-opt -O` produces a module both browsers load
/// (Debian's 108 breaks the externref table; see CONTRIBUTING.md, "Build profiles").
const WASM_OPT_MIN_VERSION: u32 = 116;

/// Runs `cmd` to its end in its own process group, killing the whole group
/// (cargo and every rustc under it) if the run is cancelled meanwhile.
fn run_to_end(cmd: &mut Command, what: &str, cancel: &Cancel) -> anyhow::Result<ExitStatus> {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    let mut child = cmd.spawn().with_context(|| format!("running {what}"))?;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        if cancel.is_cancelled() {
            super::driver::kill_group(child.id());
            let _ = child.kill();
            let _ = child.wait();
            bail!("{what} was stopped: the run was cancelled");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// One wasm module of the package.
#[derive(Debug, Clone, Copy)]
pub struct Module {
    /// The stem of its files (`<name>.js`, `<name>_bg.wasm`).
    pub name: &'static str,
    /// The crate's feature it is built with (no default features).
    feature: &'static str,
    /// The cargo profile it is built with (root `Cargo.toml`).
    profile: &'static str,
    /// Its cargo target folder, in the main one ([`wasm_target_dir`]).
    target_folder: &'static str,
    /// Prefix of its stamps (`build.txt`, `wasm-opt.txt`) in the package.
    stamp_prefix: &'static str,
}

/// The package's modules: the page loads only the one a cell needs.
pub const MODULES: [Module; 3] = [
    // The probe and the WebGPU cells: burn-wgpu without burn-flex.
    Module {
        name: "qbench_wasm",
        feature: "webgpu",
        // Built for size: its time is the adapter's, not its own code's.
        profile: "wasm-webgpu",
        target_folder: "wasm-build",
        stamp_prefix: "",
    },
    // The CPU cells: burn-flex without wgpu.
    Module {
        name: "qbench_cpu",
        feature: "cpu",
        profile: "wasm",
        target_folder: "wasm-build-cpu",
        stamp_prefix: "cpu-",
    },
    // `int8-compute`'s CPU cells where the browser has relaxed SIMD: the
    // CPU module whose integer kernels use relaxed SIMD's int8 dot product
    // (enabled on those functions only: burn-flex's SIMD code does not
    // build with relaxed SIMD on).
    Module {
        name: "qbench_cpu_relaxed",
        feature: "cpu-relaxed",
        profile: "wasm",
        target_folder: "wasm-build-cpu-relaxed",
        stamp_prefix: "cpu-relaxed-",
    },
];

/// Builds (if needed) and returns the package; a cancelled run stops the build.
///
/// The modules are compiled one after the other (each cargo build uses every
/// core), but a module's wasm-opt, which runs on one core for minutes, goes on
/// beside the next module's compile. A failed compile stops the wasm-opt under
/// way; a failed wasm-opt is reported once the compile beside it has ended.
pub fn ensure(root: &Path, cancel: &Cancel) -> anyhow::Result<Package> {
    let lock_version = locked_wasm_bindgen(&root.join("Cargo.lock"))?;
    check_cli(&lock_version)?;
    let pkg = package_dir(&target_dir(root));
    // Asked only when a module needs it, so an old binaryen is reported once.
    let mut optimiser: Option<Option<String>> = None;
    let stop = cancel.child();
    std::thread::scope(|scope| {
        let mut optimising = Vec::new();
        let mut outcome = Ok(());
        for module in MODULES {
            match bind_module(root, &pkg, module, &stop) {
                Ok(pending) => {
                    let Some(job) = pending else { continue };
                    if let Some(version) = optimiser.get_or_insert_with(wasm_opt_version).clone() {
                        let stop = &stop;
                        optimising.push(scope.spawn(move || job.run(&version, stop)));
                    }
                }
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        for handle in optimising {
            if outcome.is_err() {
                stop.stop();
            }
            let optimised = handle
                .join()
                .unwrap_or_else(|_| Err(anyhow::anyhow!("the wasm-opt thread panicked")));
            // The first failure is the one reported.
            outcome = outcome.and(optimised);
        }
        outcome
    })?;
    copy_assets(root, &pkg)?;
    describe(&pkg)
}

/// A module's glue that still needs `wasm-opt -O`.
struct Unoptimised {
    glue: PathBuf,
    stamp: PathBuf,
}

impl Unoptimised {
    fn run(self, version: &str, cancel: &Cancel) -> anyhow::Result<()> {
        optimise(&self.glue, version, &self.stamp, cancel)
    }
}

/// Builds one module's glue into `pkg`: cargo decides whether the module is
/// stale; wasm-bindgen runs only when cargo's module differs, byte for byte,
/// from the one the glue was made from (or the settings changed), so a fresh
/// clone or a touched file rebuilds in seconds and keeps the optimised glue.
/// Returns the glue when it has not been through wasm-opt yet.
fn bind_module(
    root: &Path,
    pkg: &Path,
    module: Module,
    cancel: &Cancel,
) -> anyhow::Result<Option<Unoptimised>> {
    // QBENCH_WASM_FEATURES (e.g. `cpu-ndarray`) is a measurement aid for comparing builds.
    let extra = std::env::var("QBENCH_WASM_FEATURES").unwrap_or_default();
    let features = [module.feature, extra.as_str()]
        .into_iter()
        .filter(|f| !f.is_empty())
        .collect::<Vec<_>>()
        .join(",");
    let wasm = cargo_build(root, &module, &features, cancel)?;
    let glue = pkg.join(format!("{}_bg.wasm", module.name));
    let stamp = |name: &str| pkg.join(format!("{}{name}", module.stamp_prefix));
    let (opt_stamp, build_stamp, source_stamp) = (
        stamp("wasm-opt.txt"),
        stamp("build.txt"),
        stamp("source.txt"),
    );
    let settings = format!(
        "cargo profile `{}`, {WASM_RUSTFLAGS}, no default features, features [{features}], wasm-bindgen {}\n",
        module.profile,
        BINDGEN_STRIP.join(" ")
    );
    let module_bytes =
        std::fs::read(&wasm).with_context(|| format!("reading {}", wasm.display()))?;
    let source = format!(
        "sha256 {}\n",
        qbench_model::assets::sha256_hex(&module_bytes)
    );
    if !glue_is_current(&glue, [(&build_stamp, &settings), (&source_stamp, &source)]) {
        // A new module (or new settings): its glue and stamps are rewritten, any
        // old optimisation is void.
        for old in [&opt_stamp, &source_stamp] {
            let _ = std::fs::remove_file(old);
        }
        wasm_bindgen(&wasm, pkg, &module, cancel)?;
        std::fs::write(&build_stamp, &settings)?;
        std::fs::write(&source_stamp, &source)?;
    }
    // Checked apart from the glue, so an interrupted wasm-opt is run again next time.
    Ok((!opt_stamp.exists()).then_some(Unoptimised {
        glue,
        stamp: opt_stamp,
    }))
}

/// `cargo build` of one module (cargo decides whether it is stale); returns
/// the module cargo wrote.
fn cargo_build(
    root: &Path,
    module: &Module,
    features: &str,
    cancel: &Cancel,
) -> anyhow::Result<PathBuf> {
    let target = wasm_target_dir(root, module);
    let mut cargo = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cargo
        .current_dir(root)
        .args([
            "build",
            "-p",
            "qbench-wasm",
            "--target",
            TARGET,
            "--profile",
            module.profile,
            "--no-default-features",
            "--features",
            features,
        ])
        .env("CARGO_TARGET_DIR", &target)
        // 128-bit SIMD for the CPU backend's kernels; every browser has it.
        .env(
            "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS",
            WASM_RUSTFLAGS,
        );
    let status = run_to_end(
        &mut cargo,
        &format!("cargo (building the wasm module {})", module.name),
        cancel,
    )?;
    if !status.success() {
        bail!(
            "building the wasm module {} failed ({status}); if the target is missing: rustup target add {TARGET}",
            module.name
        );
    }
    Ok(target
        .join(TARGET)
        .join(module.profile)
        .join("qbench_wasm.wasm"))
}

/// The module's JavaScript glue and its `_bg.wasm`, written into `pkg`.
fn wasm_bindgen(wasm: &Path, pkg: &Path, module: &Module, cancel: &Cancel) -> anyhow::Result<()> {
    let status = run_to_end(
        Command::new("wasm-bindgen")
            .args(["--target", "web", "--no-typescript"])
            .args(BINDGEN_STRIP)
            .args(["--out-name", module.name])
            .arg("--out-dir")
            .arg(pkg)
            .arg(wasm),
        "wasm-bindgen",
        cancel,
    )?;
    if !status.success() {
        bail!("wasm-bindgen failed on {} ({status})", wasm.display());
    }
    Ok(())
}

/// Whether `glue` exists and each stamp holds what it would be written with
/// now (the settings, cargo's module's hash); a missing stamp is a stale glue.
fn glue_is_current(glue: &Path, stamps: [(&Path, &str); 2]) -> bool {
    glue.exists()
        && stamps
            .iter()
            .all(|(stamp, now)| std::fs::read_to_string(stamp).is_ok_and(|was| was == *now))
}

/// Puts the shipped weights and digits beside the module (the page fetches
/// them), rewriting a copy that differs from the repository's.
fn copy_assets(root: &Path, pkg: &Path) -> anyhow::Result<()> {
    for (name, _) in qbench_model::assets::FILES {
        let from = root.join("crates/qbench-model/assets").join(name);
        let bytes = std::fs::read(&from).with_context(|| format!("reading {}", from.display()))?;
        let to = pkg.join(name);
        if std::fs::read(&to).ok().as_deref() != Some(&bytes[..]) {
            std::fs::write(&to, &bytes).with_context(|| format!("writing {}", to.display()))?;
        }
    }
    Ok(())
}

/// The file that marks a qbench checkout (what a package is built from).
const CHECKOUT_MARK: &str = "crates/qbench-wasm/Cargo.toml";

/// The qbench checkout to build from: `root` when given, else the nearest
/// folder at or above the working directory that is one. An installed `qbench`
/// needs one only to build a package (or to find TF.js); with `--pkg` it runs
/// from anywhere.
pub fn checkout(root: Option<&Path>) -> anyhow::Result<PathBuf> {
    if let Some(root) = root {
        anyhow::ensure!(
            root.join(CHECKOUT_MARK).is_file(),
            "--root {}: not a qbench checkout (no {CHECKOUT_MARK})",
            root.display()
        );
        return Ok(root.to_path_buf());
    }
    let here = std::env::current_dir().context("reading the working directory")?;
    here.ancestors()
        .find(|dir| dir.join(CHECKOUT_MARK).is_file())
        .map(Path::to_path_buf)
        .with_context(|| {
            format!(
                "no qbench checkout at or above {} to build the package from: run inside one, pass --root DIR, or serve a built package with --pkg DIR (`qbench build --out DIR` makes one)",
                here.display()
            )
        })
}

/// Stamps a package folder may hold beside its files: how each module was
/// built and optimised (`build.txt`, `wasm-opt.txt`, with each module's prefix).
fn stamps() -> impl Iterator<Item = String> {
    MODULES.into_iter().flat_map(|m| {
        ["build.txt", "wasm-opt.txt"].map(move |name| format!("{}{name}", m.stamp_prefix))
    })
}

/// Whether `dir` holds every file a page loads, without sizing them (what
/// [`describe`] does, which can take tens of seconds).
pub fn check_package(dir: &Path) -> anyhow::Result<()> {
    for name in super::sizes::SERVED
        .into_iter()
        .filter(|n| !super::sizes::optional(n))
    {
        anyhow::ensure!(
            dir.join(name).is_file(),
            "{} is not a built package: no {name} there (`qbench build --out DIR` makes one)",
            dir.display()
        );
    }
    Ok(())
}

/// Copies a built package into `out` (its files and stamps), for a CI cache, a
/// later job or another machine to serve with `--pkg`; returns it described
/// there (its sizes computed and kept beside it).
pub fn copy_package(pkg: &Package, out: &Path) -> anyhow::Result<Package> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let copy = |name: &str| {
        let from = pkg.dir.join(name);
        std::fs::copy(&from, out.join(name))
            .with_context(|| format!("copying {} into {}", from.display(), out.display()))
    };
    for name in super::sizes::SERVED {
        if !super::sizes::optional(name) || pkg.dir.join(name).exists() {
            copy(name)?;
        }
    }
    for stamp in stamps().filter(|s| pkg.dir.join(s).exists()) {
        copy(&stamp)?;
    }
    describe(out)
}

/// Size and optimisation of an already built package folder.
pub fn describe(dir: &Path) -> anyhow::Result<Package> {
    let wasm = dir.join("qbench_wasm_bg.wasm");
    let wasm_bytes = std::fs::metadata(&wasm)
        .with_context(|| format!("no module at {}", wasm.display()))?
        .len();
    let stamp = |name: &str| {
        std::fs::read_to_string(dir.join(name))
            .ok()
            .map(|s| s.trim().to_string())
    };
    Ok(Package {
        dir: dir.to_path_buf(),
        wasm_bytes,
        files: super::sizes::served(dir, &super::sizes::SERVED)?,
        wasm_opt: stamp("wasm-opt.txt"),
        build: stamp("build.txt"),
    })
}

/// The baseline package of a paired run (`run --baseline-pkg`): a built
/// package whose module can run paired cells.
pub fn describe_baseline(dir: &Path) -> anyhow::Result<Package> {
    let glue = dir.join("qbench_wasm.js");
    let text = std::fs::read_to_string(&glue).with_context(|| {
        format!(
            "--baseline-pkg {}: no readable qbench_wasm.js there, so not a built package (`qbench build` makes one)",
            dir.display()
        )
    })?;
    anyhow::ensure!(
        text.contains("openCell") && dir.join("qbench_cpu.js").is_file(),
        "--baseline-pkg {}: its modules cannot run paired cells (built by a qbench without `openCell` or without the CPU-only module); compare reports with --baseline-report instead",
        dir.display()
    );
    describe(dir).with_context(|| format!("--baseline-pkg {}", dir.display()))
}

/// Where `.ci/install` puts TF.js (`npm ci --prefix tfjs`, versions pinned by
/// `tfjs/package-lock.json`); `run --baseline-tfjs` serves it at `/base/`.
pub const TFJS_DIR: &str = "tfjs/node_modules/@tensorflow";

/// TF.js's files a page loads, below [`TFJS_DIR`]: the library, the wasm
/// backend and the SIMD module it runs here (one thread), the WebGPU backend.
pub const TFJS_SERVED: [&str; 4] = [
    "tfjs-core/dist/tf-core.min.js",
    "tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
    "tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
    "tfjs-backend-webgpu/dist/tf-backend-webgpu.min.js",
];

/// TF.js as the other side of a paired run (`run --baseline-tfjs`).
pub fn describe_tfjs(root: &Path) -> anyhow::Result<Package> {
    let dir = root.join(TFJS_DIR);
    let manifest = dir.join("tfjs-core/package.json");
    let version = std::fs::read(&manifest)
        .ok()
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        .and_then(|v| v["version"].as_str().map(str::to_string))
        .with_context(|| {
            format!(
                "--baseline-tfjs: TF.js is not installed ({} is missing): run `npm ci --prefix {}` (.ci/install does)",
                manifest.display(),
                root.join("tfjs").display()
            )
        })?;
    let files = super::sizes::served(&dir, &TFJS_SERVED).context("--baseline-tfjs")?;
    Ok(Package {
        wasm_bytes: files[2].raw,
        files,
        dir,
        wasm_opt: None,
        build: Some(format!(
            "TF.js {version} (npm): tfjs-core, tfjs-backend-wasm (XNNPACK, SIMD, one thread), tfjs-backend-webgpu"
        )),
    })
}

/// Sections the browser never reads: function names (only for stack traces
/// in a debugger) and the producers list.
const BINDGEN_STRIP: [&str; 2] = ["--remove-name-section", "--remove-producers-section"];

/// The usable wasm-opt's version line, if there is one on PATH.
fn wasm_opt_version() -> Option<String> {
    match wasm_opt() {
        Ok(version) => Some(version),
        Err(why) => {
            if why.contains("older than") {
                eprintln!("qbench: skipping {why}");
            }
            None
        }
    }
}

/// The wasm-opt on `PATH` that qbench would use, or why none.
pub fn wasm_opt() -> Result<String, String> {
    let out = Command::new("wasm-opt")
        .arg("--version")
        .output()
        .map_err(|_| "wasm-opt is not on PATH (optional: npm install -g binaryen)".to_string())?;
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let number: u32 = line
        .split_whitespace()
        .find_map(|w| w.parse().ok())
        .unwrap_or(0);
    if number >= WASM_OPT_MIN_VERSION {
        Ok(line)
    } else {
        Err(format!(
            "{line}: older than binaryen {WASM_OPT_MIN_VERSION} (npm install -g binaryen)"
        ))
    }
}

/// `wasm-opt -O` in place: about 30% smaller, and faster on SwiftShader.
fn optimise(wasm: &Path, version: &str, stamp: &Path, cancel: &Cancel) -> anyhow::Result<()> {
    eprintln!(
        "qbench: optimising {} with {version} (a few minutes)",
        wasm.display()
    );
    let tmp = wasm.with_extension("opt.wasm");
    let status = run_to_end(
        Command::new("wasm-opt")
            .arg("-O")
            .args(WASM_FEATURES)
            .arg(wasm)
            .arg("-o")
            .arg(&tmp),
        "wasm-opt",
        cancel,
    )?;
    if !status.success() {
        bail!("wasm-opt failed on {} ({status})", wasm.display());
    }
    std::fs::rename(&tmp, wasm)?;
    std::fs::write(stamp, format!("{version} -O\n"))?;
    Ok(())
}

/// The WebAssembly features the module uses; both browsers support them all.
const WASM_FEATURES: [&str; 7] = [
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-reference-types",
    "--enable-multivalue",
    "--enable-simd",
];

/// The version of the `wasm-bindgen` crate in `Cargo.lock`.
pub fn locked_wasm_bindgen(lock: &Path) -> anyhow::Result<String> {
    let text =
        std::fs::read_to_string(lock).with_context(|| format!("reading {}", lock.display()))?;
    parse_locked_version(&text, "wasm-bindgen")
        .with_context(|| format!("no wasm-bindgen package in {}", lock.display()))
}

/// The version of package `name` in the text of a `Cargo.lock`.
pub fn parse_locked_version(lock: &str, name: &str) -> Option<String> {
    let wanted = format!("name = \"{name}\"");
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == wanted {
            let version = lines
                .next()?
                .trim()
                .strip_prefix("version = \"")?
                .strip_suffix('"')?;
            return Some(version.to_string());
        }
    }
    None
}

/// Whether the wasm-bindgen CLI on `PATH` is `wanted` (Cargo.lock's), saying how to install it if not.
pub fn check_cli(wanted: &str) -> anyhow::Result<()> {
    let install = format!("cargo install wasm-bindgen-cli --version {wanted} --locked");
    let out = Command::new("wasm-bindgen")
        .arg("--version")
        .output()
        .with_context(|| format!("wasm-bindgen not found on PATH; install it with: {install}"))?;
    let found = String::from_utf8_lossy(&out.stdout);
    let found = found.split_whitespace().nth(1).unwrap_or("").to_string();
    if found != wanted {
        bail!(
            "wasm-bindgen CLI is {found}, Cargo.lock has {wanted}; they must match. Install it with: {install}"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_package_copy_takes_each_modules_stamps_and_a_partial_folder_is_named() {
        assert_eq!(
            stamps().collect::<Vec<_>>(),
            [
                "build.txt",
                "wasm-opt.txt",
                "cpu-build.txt",
                "cpu-wasm-opt.txt",
                "cpu-relaxed-build.txt",
                "cpu-relaxed-wasm-opt.txt"
            ]
        );
        // A package without the relaxed-SIMD module (built before it) is whole.
        let dir = tempfile::tempdir().unwrap();
        for name in super::super::sizes::SERVED[1..]
            .iter()
            .filter(|n| !super::super::sizes::optional(n))
        {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let err = check_package(dir.path()).unwrap_err().to_string();
        assert!(err.contains("no qbench_wasm_bg.wasm there"), "{err}");
        std::fs::write(dir.path().join("qbench_wasm_bg.wasm"), b"\0asm").unwrap();
        check_package(dir.path()).unwrap();
        let sizes = super::super::sizes::served(dir.path(), &super::super::sizes::SERVED).unwrap();
        assert_eq!(sizes.len(), super::super::sizes::SERVED.len() - 2);
        assert!(
            !sizes
                .iter()
                .any(|f| f.name.starts_with("qbench_cpu_relaxed"))
        );
    }

    #[test]
    fn glue_is_rebuilt_only_for_other_bytes_or_settings() {
        let dir = tempfile::tempdir().unwrap();
        let (glue, build, source) = (
            dir.path().join("m_bg.wasm"),
            dir.path().join("build.txt"),
            dir.path().join("source.txt"),
        );
        let now = |settings, hash| [(build.as_path(), settings), (source.as_path(), hash)];
        // Nothing built yet.
        assert!(!glue_is_current(&glue, now("s", "sha256 a\n")));
        std::fs::write(&glue, b"glue").unwrap();
        std::fs::write(&build, "s").unwrap();
        // A glue from before the module's hash was recorded.
        assert!(!glue_is_current(&glue, now("s", "sha256 a\n")));
        std::fs::write(&source, "sha256 a\n").unwrap();
        // The same module: current, whatever its files' times.
        assert!(glue_is_current(&glue, now("s", "sha256 a\n")));
        // Other bytes, other settings.
        assert!(!glue_is_current(&glue, now("s", "sha256 b\n")));
        assert!(!glue_is_current(&glue, now("t", "sha256 a\n")));
        std::fs::remove_file(&glue).unwrap();
        assert!(!glue_is_current(&glue, now("s", "sha256 a\n")));
    }

    #[test]
    fn reads_version_from_lock() {
        let lock = "[[package]]\nname = \"wasm-bindgen-futures\"\nversion = \"0.4.80\"\n\n[[package]]\nname = \"wasm-bindgen\"\nversion = \"0.2.130\"\n";
        assert_eq!(
            parse_locked_version(lock, "wasm-bindgen").as_deref(),
            Some("0.2.130")
        );
        assert_eq!(parse_locked_version(lock, "serde"), None);
    }
}
