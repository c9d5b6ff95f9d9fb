//! WebDriver processes (chromedriver, geckodriver, WebKitWebDriver): found,
//! started on a free port in their own process group, and killed with their
//! browsers on drop; and the virtual display WebKitGTK needs (Xvfb), started
//! and killed with its driver.

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
        Browser::Webkit => (
            "WebKitWebDriver",
            "WEBKITWEBDRIVER",
            "apt-get install -y webkit2gtk-driver xvfb",
        ),
    }
}

/// The environment variable naming an X display for WebKit instead of the
/// Xvfb qbench starts.
pub const DISPLAY_VAR: &str = "QBENCH_DISPLAY";

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
    on_path(name)
        .with_context(|| format!("{name} not found in {var} or PATH; install it with: {install}"))
}

/// `name` in a folder of `PATH`, or in `~/.cargo/bin`.
pub fn on_path(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain([dirs_home_cargo_bin()])
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
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
    /// The X display WebKit's browser draws on, when qbench started it; killed
    /// after the driver.
    display: Option<Display>,
    /// The driver's and its browsers' `TMPDIR`, removed after them: a browser
    /// killed with its group cannot clean up what it left there (Chromium's
    /// `org.chromium.Chromium.*` singleton folders, one per session).
    _tmp: tempfile::TempDir,
}

impl Driver {
    /// Starts the driver on a free port and waits (up to 20 s) until it accepts connections.
    pub async fn start(
        browser: Browser,
        exe: &Path,
        log_dir: &Path,
        pin: Option<&[usize]>,
    ) -> anyhow::Result<Self> {
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
        let mut display = None;
        match browser {
            Browser::Chromium => cmd.arg(format!("--port={port}")),
            Browser::Firefox => cmd
                .arg("--port")
                .arg(port.to_string())
                .env("MOZ_HEADLESS", "1"),
            Browser::Webkit => {
                let name = match std::env::var(DISPLAY_VAR) {
                    Ok(named) => named,
                    Err(_) => {
                        let started = Display::start(log_dir).await?;
                        let name = started.name.clone();
                        display = Some(started);
                        name
                    }
                };
                cmd.arg(format!("--port={port}"))
                    .arg("--host=127.0.0.1")
                    .env("DISPLAY", name)
            }
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
        pin_before_any_browser(exe, pgid, pin)?;
        let mut driver = Driver {
            child,
            pgid,
            port,
            log,
            display,
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

    /// The process group of the driver and its browser (`None` where there
    /// are no process groups).
    pub fn process_group(&self) -> Option<u32> {
        self.pgid
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
        // Then the display they drew on.
        self.display.take();
    }
}

/// Pins a driver that just started to `pin`'s CPUs, before it starts a
/// browser: the browser and every process it starts inherit the mask.
fn pin_before_any_browser(
    exe: &Path,
    pid: Option<u32>,
    pin: Option<&[usize]>,
) -> anyhow::Result<()> {
    match (pin, pid) {
        (Some(cpus), Some(pid)) => super::host::pin(pid, cpus)
            .with_context(|| format!("pinning {} to CPUs {cpus:?}", exe.display())),
        _ => Ok(()),
    }
}

/// A virtual X display (Xvfb) for a browser that cannot run without one
/// (WebKitGTK's MiniBrowser has no headless mode): in its own process group,
/// on a display number it picks itself, killed on drop.
pub struct Display {
    child: tokio::process::Child,
    pgid: Option<u32>,
    /// `:N`, for `DISPLAY`.
    pub name: String,
}

impl Display {
    /// Starts Xvfb and waits (up to 20 s) until it says which display it serves.
    pub async fn start(log_dir: &Path) -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt;
        let exe = on_path("Xvfb").with_context(|| {
            format!(
                "Xvfb not found in PATH (WebKit needs a display); install it with: apt-get install -y xvfb, or name a display in {DISPLAY_VAR}"
            )
        })?;
        let log = log_dir.join("Xvfb.log");
        let log_file =
            std::fs::File::create(&log).with_context(|| format!("creating {}", log.display()))?;
        let mut cmd = tokio::process::Command::new(&exe);
        // `-displayfd 1`: Xvfb picks a free display and writes its number to
        // standard output once it accepts clients.
        cmd.args([
            "-displayfd",
            "1",
            "-nolisten",
            "tcp",
            "-screen",
            "0",
            "1280x1024x24",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log_file)
        .kill_on_drop(true);
        #[cfg(unix)]
        cmd.process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("starting {}", exe.display()))?;
        let pgid = child.id();
        let stdout = child.stdout.take().context("Xvfb's standard output")?;
        let mut display = Display {
            child,
            pgid,
            name: String::new(),
        };
        let mut line = String::new();
        let mut reader = tokio::io::BufReader::new(stdout);
        let read = reader.read_line(&mut line);
        match tokio::time::timeout(Duration::from_secs(20), read).await {
            Ok(Ok(n)) if n > 0 && line.trim().parse::<u32>().is_ok() => {
                display.name = format!(":{}", line.trim());
                Ok(display)
            }
            _ => {
                let why = std::fs::read_to_string(&log).unwrap_or_default();
                drop(display);
                bail!("Xvfb did not start a display within 20 s; its log:\n{why}")
            }
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
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
