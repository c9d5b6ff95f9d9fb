//! WebDriver processes (chromedriver, geckodriver): found, started on a free
//! port in their own process group, and killed with their browsers on drop.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use qbench_core::Browser;

/// The driver executable of a browser and how to install it.
fn driver_name(browser: Browser) -> (&'static str, &'static str, &'static str) {
    match browser {
        Browser::Chromium => (
            "chromedriver",
            "CHROMEDRIVER",
            "apt-get install -y chromium chromium-driver",
        ),
        Browser::Firefox => (
            "geckodriver",
            "GECKODRIVER",
            "cargo install geckodriver --locked (and apt-get install -y firefox-esr)",
        ),
    }
}

/// Finds the driver: the environment variable first, then `PATH`.
pub fn find(browser: Browser) -> anyhow::Result<PathBuf> {
    let (name, var, install) = driver_name(browser);
    if let Some(path) = std::env::var_os(var) {
        let path = PathBuf::from(path);
        if path.is_file() {
            return Ok(path);
        }
        bail!(
            "{var} is set to {}, which is not a file; unset it or point it at {name}",
            path.display()
        );
    }
    let found = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([dirs_home_cargo_bin()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file());
    found.with_context(|| format!("{name} not found in {var} or PATH; install it with: {install}"))
}

fn dirs_home_cargo_bin() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_default()
        .join("bin")
}

/// A running driver. Dropping it kills the driver's whole process group, browsers included.
pub struct Driver {
    child: tokio::process::Child,
    pgid: Option<u32>,
    port: u16,
    log: PathBuf,
    /// The driver's and its browsers' `TMPDIR`, removed after them: a browser
    /// killed with its group cannot clean up what it left there (Chromium's
    /// `org.chromium.Chromium.*` singleton folders, one per session).
    _tmp: tempfile::TempDir,
}

impl Driver {
    /// Starts the driver on a free port and waits (up to 20 s) until it accepts connections.
    pub async fn start(browser: Browser, exe: &Path, log_dir: &Path) -> anyhow::Result<Self> {
        let port = free_port()?;
        let log = log_dir.join(format!("{}-{port}.log", driver_name(browser).0));
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let tmp = tempfile::Builder::new()
            .prefix(&format!("qbench-{}-tmp-", driver_name(browser).0))
            .tempdir()
            .context("creating the driver's temporary folder")?;
        let mut cmd = tokio::process::Command::new(exe);
        cmd.env("TMPDIR", tmp.path());
        match browser {
            Browser::Chromium => cmd.arg(format!("--port={port}")),
            Browser::Firefox => cmd
                .arg("--port")
                .arg(port.to_string())
                .env("MOZ_HEADLESS", "1"),
        };
        cmd.stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let pgid = child.id();
        let mut driver = Driver {
            child,
            pgid,
            port,
            log,
            _tmp: tmp,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            if let Some(status) = driver.child.try_wait()? {
                bail!(
                    "{} exited with {status} before listening; its log:\n{}",
                    exe.display(),
                    driver.log_text()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "{} did not listen on port {port} within 20 s; its log:\n{}",
                    exe.display(),
                    driver.log_text()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Ok(driver)
    }

    /// WebDriver URL.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The driver's log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The driver and every browser it started share the process group.
        if let Some(pgid) = self.pgid {
            kill_group(pgid);
        }
        let _ = self.child.start_kill();
    }
}

/// Kills process group `pgid` (a child started with `process_group(0)`, whose
/// id is its group's), never group 0 or 1: those would be our own or init's.
pub fn kill_group(pgid: u32) {
    #[cfg(unix)]
    if let Some(pgid) = i32::try_from(pgid).ok().filter(|&p| p > 1) {
        let _ = nix::sys::signal::killpg(
            nix::unistd::Pid::from_raw(pgid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    #[cfg(not(unix))]
    let _ = pgid;
}

/// A port nobody listens on right now.
pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}
