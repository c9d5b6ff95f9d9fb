//! One WebDriver session per browser: capabilities that give headless WebGPU on
//! these machines, a fresh profile, and the two calls the page answers (probe,
//! run a cell).

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use qbench_core::protocol::{CellRequest, CellResponse, Probe};
use qbench_core::schema::Environment;
use qbench_core::Browser;
use serde_json::{Value, json};

use super::driver::{self, Driver};

/// A fault the page injects instead of running a cell (for testing the runner).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fault {
    /// The page's cell function throws.
    Throw,
    /// The page's main thread spins forever.
    Hang,
}

/// A browser under WebDriver. Dropping it kills the driver and the browser.
pub struct Session {
    client: Client,
    driver: Driver,
    _profile: tempfile::TempDir,
}

fn existing(path: &str) -> Option<&str> {
    Path::new(path).is_file().then_some(path)
}

/// WebDriver capabilities for `browser` with a profile in `profile`.
pub fn capabilities(browser: Browser, profile: &Path) -> serde_json::Map<String, Value> {
    let caps = match browser {
        Browser::Chromium => {
            let binary = std::env::var("QBENCH_CHROMIUM").ok().or_else(|| existing("/usr/lib/chromium/chromium").map(String::from));
            let mut options = json!({
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--no-first-run", "--disable-quic", "--disable-breakpad", "--enable-unsafe-webgpu",
                    format!("--user-data-dir={}", profile.display()),
                ]
            });
            if let Some(binary) = binary {
                options["binary"] = json!(binary);
            }
            json!({ "browserName": "chrome", "goog:chromeOptions": options })
        }
        Browser::Firefox => {
            let binary = std::env::var("QBENCH_FIREFOX").ok().or_else(|| existing("/usr/lib/firefox-esr/firefox-esr").map(String::from));
            let mut options = json!({
                // geckodriver makes a fresh temporary profile per session.
                "args": ["-headless"],
                "prefs": {
                    "dom.webgpu.enabled": true,
                    "gfx.webgpu.ignore-blocklist": true,
                    "toolkit.telemetry.enabled": false,
                    "datareporting.policy.dataSubmissionEnabled": false,
                    "browser.safebrowsing.malware.enabled": false,
                    "browser.safebrowsing.phishing.enabled": false,
                    "network.captive-portal-service.enabled": false,
                    "network.connectivity-service.enabled": false,
                    "app.update.enabled": false,
                    "browser.shell.checkDefaultBrowser": false,
                },
                "env": { "MOZ_HEADLESS": "1" },
            });
            if let Some(binary) = binary {
                options["binary"] = json!(binary);
            }
            json!({ "browserName": "firefox", "moz:firefoxOptions": options })
        }
    };
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("capabilities are an object"),
    }
}

impl Session {
    /// Starts the driver and a session with a fresh profile.
    pub async fn open(browser: Browser, log_dir: &Path) -> anyhow::Result<Self> {
        let exe = driver::find(browser)?;
        let driver = Driver::start(browser, &exe, log_dir).await?;
        let profile = tempfile::Builder::new().prefix(&format!("qbench-{browser}-")).tempdir()?;
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let client = ClientBuilder::new(connector)
            .capabilities(capabilities(browser, profile.path()))
            .connect(&driver.url())
            .await
            .with_context(|| format!("starting a {browser} session; driver log:\n{}", driver.log_text()))?;
        Ok(Self { client, driver, _profile: profile })
    }

    /// The driver's log so far.
    pub fn driver_log(&self) -> String {
        self.driver.log_text()
    }

    /// Loads the page afresh: a new wasm instance and a new WebGPU device.
    async fn load(&self, url: &str, limit: Duration) -> anyhow::Result<()> {
        self.client
            .update_timeouts(TimeoutConfiguration::new(Some(limit), Some(limit), Some(Duration::ZERO)))
            .await?;
        self.client.goto(url).await.with_context(|| format!("loading {url}"))?;
        Ok(())
    }

    /// Probes the browser and fills in its environment.
    pub async fn environment(&self, browser: Browser, url: &str) -> anyhow::Result<Environment> {
        self.load(url, Duration::from_secs(60)).await?;
        let text = self.call("return window.qbench.probe()", json!(null)).await?;
        let probe: Probe = serde_json::from_str(&text).with_context(|| format!("the page's probe answer is not a Probe: {text}"))?;
        let caps = self.client.capabilities().cloned().unwrap_or_default();
        let cap = |k: &str| caps.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
        Ok(Environment {
            browser: browser.name().into(),
            name: cap("browserName"),
            version: cap("browserVersion"),
            user_agent: probe.user_agent,
            cross_origin_isolated: Some(probe.cross_origin_isolated),
            timer_resolution_ms: Some(probe.timer_resolution_ms),
            wasm_simd: Some(probe.wasm_simd),
            webgpu: probe.webgpu,
            webgpu_unavailable_reason: probe.webgpu_unavailable_reason,
            extra: [("hardware_concurrency".to_string(), probe.hardware_concurrency.to_string())].into_iter().collect(),
        })
    }

    /// Runs one cell in a freshly loaded page.
    pub async fn run_cell(&self, url: &str, request: &CellRequest, fault: Option<Fault>, limit: Duration) -> anyhow::Result<CellResponse> {
        self.load(url, limit).await?;
        let mut arg = serde_json::to_value(request)?;
        if let Some(fault) = fault {
            arg["fault"] = json!(match fault {
                Fault::Throw => "throw",
                Fault::Hang => "hang",
            });
        }
        let text = self.call("return window.qbench.runCell(JSON.stringify(arg))", arg).await?;
        serde_json::from_str(&text).with_context(|| format!("the page's cell answer is not a CellResponse: {text}"))
    }

    /// Calls an async page function that resolves to a JSON string; a rejection
    /// comes back as an error naming the page's message.
    async fn call(&self, body: &str, arg: Value) -> anyhow::Result<String> {
        let script = format!(
            "const arg = arguments[0]; const done = arguments[arguments.length - 1];
             (async () => {{ {body} }})().then(
               (value) => done({{ ok: value }}),
               (e) => done({{ err: String(e && e.stack || e) + (globalThis.qbenchPanic ? ' | panic: ' + globalThis.qbenchPanic : '') }}));"
        );
        let answer = self.client.execute_async(&script, vec![arg]).await.context("WebDriver script call")?;
        match (answer.get("ok").and_then(Value::as_str), answer.get("err")) {
            (Some(text), _) => Ok(text.to_string()),
            (None, Some(err)) => anyhow::bail!("the page threw: {}", err.as_str().unwrap_or_default()),
            _ => anyhow::bail!("the page answered neither a result nor an error: {answer}"),
        }
    }

    /// Ends the session, giving up after 10 s (the drop kills the processes anyway).
    pub async fn close(self) {
        let _ = tokio::time::timeout(Duration::from_secs(10), self.client.close()).await;
    }
}
