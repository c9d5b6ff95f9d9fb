//! Browsers under WebDriver: a session on a local driver qbench starts, or on a
//! remote end (a Selenium Grid); capabilities that give headless WebGPU on these
//! machines; the two calls the page answers (probe, run a cell), each bounded in
//! time; and the [`BrowserExecutor`] the scheduler drives.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use fantoccini::error::CmdError;
use fantoccini::wd::TimeoutConfiguration;
use fantoccini::{Client, ClientBuilder};
use qbench_core::Browser;
use qbench_core::host::HostActivity;
use qbench_core::protocol::{CellRequest, CellResponse, PowerPreference, Probe};
use qbench_core::schema::{Environment, PairedWith};
use serde_json::{Map, Value, json};

use super::driver::{self, Driver};
use super::host;
use crate::fmt::truncate;
use crate::plan::{Agent, PlannedCell};
use crate::schedule::{ExecError, Executor};

/// Where sessions are opened.
#[derive(Debug, Clone, PartialEq)]
pub enum Endpoint {
    /// A driver qbench starts on this machine; its log goes to `log_dir`.
    Local {
        /// Folder for the driver logs.
        log_dir: PathBuf,
        /// The CPUs the driver and its browser run on (`None`: any).
        pin: Option<Vec<usize>>,
    },
    /// A W3C WebDriver remote end (a Selenium Grid hub or standalone).
    Remote {
        /// Its URL.
        url: String,
    },
}

impl Endpoint {
    /// `local`, or the remote URL.
    pub fn label(&self) -> String {
        match self {
            Endpoint::Local { .. } => "local".into(),
            Endpoint::Remote { url } => url.clone(),
        }
    }
}

/// Limit for a WebDriver call that should answer at once (close, capabilities).
const QUICK: Duration = Duration::from_secs(10);

/// A browser under WebDriver. Dropping it kills the local driver and its browsers.
pub struct Session {
    client: Client,
    driver: Option<Driver>,
    _profile: Option<tempfile::TempDir>,
}

fn existing(path: &str) -> Option<&str> {
    Path::new(path).is_file().then_some(path)
}

/// The browser binary a local session starts: `QBENCH_CHROMIUM` /
/// `QBENCH_FIREFOX` / `QBENCH_WEBKIT`, else Debian's; `None` when neither is
/// there.
pub fn local_binary(browser: Browser) -> Option<String> {
    let (var, debian) = match browser {
        Browser::Chromium => ("QBENCH_CHROMIUM", "/usr/lib/chromium/chromium"),
        Browser::Firefox => ("QBENCH_FIREFOX", "/usr/lib/firefox-esr/firefox-esr"),
        Browser::Webkit => ("QBENCH_WEBKIT", WEBKIT_MINIBROWSER),
    };
    std::env::var(var)
        .ok()
        .or_else(|| existing(debian).map(String::from))
}

/// Where Debian's WebKitGTK 4.1 (a dependency of `webkit2gtk-driver`) keeps
/// its MiniBrowser.
const WEBKIT_MINIBROWSER: &str = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

/// How to install a browser on Debian.
pub fn install_hint(browser: Browser) -> &'static str {
    match browser {
        Browser::Chromium => "apt-get install -y chromium",
        Browser::Firefox => "apt-get install -y firefox-esr mesa-vulkan-drivers libvulkan1",
        Browser::Webkit => "apt-get install -y webkit2gtk-driver xvfb",
    }
}

/// WebDriver capabilities for `browser`. Locally the binary (Debian's, or
/// `QBENCH_CHROMIUM` / `QBENCH_FIREFOX`) and a fresh profile folder are named;
/// remotely neither is, unless `extra` names them. `extra` is merged in last.
pub fn capabilities(
    browser: Browser,
    local_profile: Option<&Path>,
    extra: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let (name, key, mut options) = match browser {
        Browser::Chromium => (
            "chrome",
            "goog:chromeOptions",
            chromium_options(local_profile),
        ),
        Browser::Firefox => ("firefox", "moz:firefoxOptions", firefox_options()),
        // MiniBrowser runs under WebDriver only with `--automation`; WebKitGTK
        // has no headless mode, so it draws on a virtual display
        // (`driver::Display`).
        Browser::Webkit => (
            "MiniBrowser",
            "webkitgtk:browserOptions",
            json!({ "args": ["--automation"] }),
        ),
    };
    // A remote end names its own binary.
    if let Some(binary) = local_binary(browser).filter(|_| local_profile.is_some()) {
        options["binary"] = json!(binary);
    }
    let mut caps = json!({ "browserName": name, key: options });
    if let Some(extra) = extra {
        merge(&mut caps, &Value::Object(extra.clone()));
    }
    // Another browser of the engine (`browserName = "safari"` for Safari
    // through safaridriver or a Grid) takes none of WebKitGTK's options.
    if browser == Browser::Webkit
        && caps["browserName"] != "MiniBrowser"
        && let Value::Object(map) = &mut caps
    {
        map.remove("webkitgtk:browserOptions");
    }
    match caps {
        Value::Object(map) => map,
        _ => unreachable!("capabilities are an object"),
    }
}

/// Chromium's switches: headless, quiet, WebGPU on; a fresh profile locally.
fn chromium_options(local_profile: Option<&Path>) -> Value {
    let mut args = vec![
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--disable-quic",
        "--disable-breakpad",
        "--enable-unsafe-webgpu",
    ]
    .into_iter()
    .map(String::from)
    .collect::<Vec<_>>();
    if let Some(profile) = local_profile {
        args.push(format!("--user-data-dir={}", profile.display()));
    }
    json!({ "args": args })
}

/// Firefox's preferences: headless, WebGPU on, nothing phoning home.
fn firefox_options() -> Value {
    json!({
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
    })
}

/// Merges `extra` into `base`: objects key by key, anything else replaced.
fn merge(base: &mut Value, extra: &Value) {
    match (base, extra) {
        (Value::Object(b), Value::Object(e)) => {
            for (k, v) in e {
                merge(b.entry(k.clone()).or_insert(Value::Null), v);
            }
        }
        (b, e) => *b = e.clone(),
    }
}

impl Session {
    /// Opens a session on `endpoint`: locally, starts the driver first.
    pub async fn open(
        browser: Browser,
        endpoint: &Endpoint,
        extra: Option<&Map<String, Value>>,
    ) -> anyhow::Result<Self> {
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        match endpoint {
            Endpoint::Local { log_dir, pin } => {
                let exe = driver::find(browser)?;
                let driver = Driver::start(browser, &exe, log_dir, pin.as_deref()).await?;
                let profile = tempfile::Builder::new()
                    .prefix(&format!("qbench-{browser}-"))
                    .tempdir()?;
                let client = ClientBuilder::new(connector)
                    .capabilities(capabilities(browser, Some(profile.path()), extra))
                    .connect(&driver.url())
                    .await
                    .with_context(|| {
                        format!(
                            "starting a {browser} session; driver log:\n{}",
                            driver.log_text()
                        )
                    })?;
                Ok(Self {
                    client,
                    driver: Some(driver),
                    _profile: Some(profile),
                })
            }
            Endpoint::Remote { url } => {
                let client = ClientBuilder::new(connector)
                    .capabilities(capabilities(browser, None, extra))
                    .connect(url)
                    .await
                    .map_err(|e| anyhow::anyhow!("{}", describe_new_session(&e)))
                    .with_context(|| {
                        format!("opening a {browser} session at WebDriver endpoint {url}")
                    })?;
                Ok(Self {
                    client,
                    driver: None,
                    _profile: None,
                })
            }
        }
    }

    /// The process group of the local driver and its browser (`None` for a remote end).
    pub fn process_group(&self) -> Option<u32> {
        self.driver.as_ref().and_then(Driver::process_group)
    }

    /// The local driver's log so far (empty for a remote end).
    pub fn driver_log(&self) -> String {
        self.driver
            .as_ref()
            .map(Driver::log_text)
            .unwrap_or_default()
    }

    /// Loads the page afresh: a new wasm instance and a new WebGPU device. The
    /// browser's own limits are a little longer than `limit`, so qbench's
    /// client-side limit fires first and a hang is told as one.
    async fn load(&self, url: &str, limit: Duration) -> Result<(), CmdError> {
        let browser_limit = limit + Duration::from_secs(30);
        self.client
            .update_timeouts(TimeoutConfiguration::new(
                Some(browser_limit),
                Some(browser_limit),
                Some(Duration::ZERO),
            ))
            .await?;
        self.client.goto(url).await
    }

    /// Probes the browser (the adapter requested with `preference`) and fills in its environment.
    pub async fn environment(
        &self,
        browser: Browser,
        url: &str,
        preference: PowerPreference,
    ) -> anyhow::Result<Environment> {
        self.load(url, Duration::from_secs(60))
            .await
            .with_context(|| format!("loading {url}"))?;
        let text = match self
            .call("return window.qbench.probe(arg)", json!(preference.name()))
            .await?
        {
            Ok(text) => text,
            Err(page) => anyhow::bail!("the probe threw: {page}"),
        };
        let probe: Probe = serde_json::from_str(&text).with_context(|| {
            format!(
                "the page's probe answer is not a Probe: {}",
                truncate(&text, 300)
            )
        })?;
        let caps = self.client.capabilities().cloned().unwrap_or_default();
        let cap = |k: &str| {
            caps.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        Ok(Environment {
            browser: browser.into(),
            name: cap("browserName"),
            version: cap("browserVersion"),
            user_agent: probe.user_agent,
            cross_origin_isolated: Some(probe.cross_origin_isolated),
            timer_resolution_ms: Some(probe.timer_resolution_ms),
            wasm_simd: Some(probe.wasm_simd),
            wasm_relaxed_simd: Some(probe.wasm_relaxed_simd),
            webgpu: probe.webgpu,
            webgpu_unavailable_reason: probe.webgpu_unavailable_reason,
            readback_floor_ms: probe.readback_floor_ms,
            power_preference: Some(preference),
            extra: [(
                "hardware_concurrency".to_string(),
                probe.hardware_concurrency.to_string(),
            )]
            .into_iter()
            .collect(),
            ..Environment::default()
        })
    }

    /// Runs one cell in a freshly loaded page; `paired`: against what the
    /// server has at `/base/`, samples alternating (the answer carries both).
    pub async fn run_cell(
        &self,
        url: &str,
        request: &CellRequest,
        paired: Option<PairedWith>,
        limit: Duration,
    ) -> Result<CellResponse, ExecError> {
        self.load(url, limit)
            .await
            .map_err(|e| lost("loading the page", &e))?;
        let request = CellRequest {
            paired,
            ..request.clone()
        };
        let arg = serde_json::to_value(&request).expect("requests serialise");
        let text = match self
            .call("return window.qbench.runCell(JSON.stringify(arg))", arg)
            .await
            .map_err(|e| lost("running the cell", &e))?
        {
            Ok(text) => text,
            Err(page) => return Err(ExecError::Page(format!("the page threw: {page}"))),
        };
        parse_answer(&text)
    }

    /// Calls an async page function that resolves to a JSON string: `Ok(Ok(text))`,
    /// or `Ok(Err(message))` when the page rejected; `Err` when WebDriver failed.
    async fn call(&self, body: &str, arg: Value) -> Result<Result<String, String>, CmdError> {
        // A wasm panic inside a task the call does not await (a WebGPU
        // callback, a spawned future) aborts the module without settling the
        // call's promise: the panic hook's message ends the call instead of
        // the cell's timeout.
        let script = format!(
            "const arg = arguments[0]; const done = arguments[arguments.length - 1];
             const panicked = setInterval(() => {{
               if (globalThis.qbenchPanic) {{ clearInterval(panicked); done({{ err: 'the module panicked: ' + globalThis.qbenchPanic }}); }}
             }}, 50);
             (async () => {{
               // WebKit may answer the page load before the page's module
               // script has run: wait for it (the call's own limit bounds this).
               while (!window.qbench) await new Promise((r) => setTimeout(r, 10));
               {body}
             }})().then(
               (value) => done({{ ok: value }}),
               (e) => {{
                 // V8's stack starts with the message; SpiderMonkey's and
                 // JavaScriptCore's hold only the frames.
                 const text = String(e), stack = e && e.stack ? String(e.stack) : '';
                 const told = stack.startsWith(text) ? stack : text + (stack ? '\\n' + stack : '');
                 done({{ err: told + (globalThis.qbenchPanic ? ' | panic: ' + globalThis.qbenchPanic : '') }});
               }})
               .finally(() => clearInterval(panicked));"
        );
        let answer = self.client.execute_async(&script, vec![arg]).await?;
        Ok(
            match (answer.get("ok").and_then(Value::as_str), answer.get("err")) {
                (Some(text), _) => Ok(text.to_string()),
                (None, Some(err)) => Err(err.as_str().unwrap_or_default().to_string()),
                _ => Ok(answer.to_string()),
            },
        )
    }

    /// Ends the session, each call bounded; dropping `self` then kills a local driver.
    pub async fn close(self) {
        let _ = tokio::time::timeout(QUICK, self.client.close()).await;
    }
}

fn lost(doing: &str, e: &CmdError) -> ExecError {
    ExecError::SessionLost(format!("WebDriver failed while {doing}: {e}"))
}

/// A page answer as a cell response; one that breaks the protocol is an error
/// with a truncated message, keeping whatever latency it carried.
pub fn parse_answer(text: &str) -> Result<CellResponse, ExecError> {
    serde_json::from_str::<CellResponse>(text).map_err(|e| {
        let partial = serde_json::from_str::<Value>(text).ok().and_then(|v| {
            let samples: Vec<f64> = v
                .get("samples_ms")?
                .as_array()?
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            let first = v.get("first_ms").and_then(Value::as_f64);
            Some(Box::new(CellResponse {
                first_ms: first,
                samples_ms: samples,
                ..CellResponse::failed(qbench_core::schema::Status::Error, "")
            }))
        });
        ExecError::BadAnswer {
            message: format!(
                "the page's answer is not a cell response ({}): {}",
                truncate(&e.to_string(), 200),
                truncate(text, 200)
            ),
            partial,
        }
    })
}

/// A session that could not be created, said plainly (the Grid's own message included).
fn describe_new_session(e: &fantoccini::error::NewSessionError) -> String {
    use fantoccini::error::NewSessionError as E;
    match e {
        E::Failed(_) | E::FailedC(_) | E::Lost(_) => format!("nothing answers there ({e})"),
        E::SessionNotCreated(wd) => {
            format!("it refused the session: {}", truncate(&wd.to_string(), 400))
        }
        other => truncate(&other.to_string(), 400),
    }
}

/// Runs cells in browsers on one endpoint, one session at a time.
pub struct BrowserExecutor {
    /// Where sessions are opened.
    pub endpoint: Endpoint,
    /// The page's URL as the browsers reach it.
    pub url: String,
    /// Extra capabilities per browser (merged over the defaults).
    pub capabilities: Vec<(Browser, Map<String, Value>)>,
    /// Limit for one cell (the page's own limits are set a little longer).
    pub cell_limit: Duration,
    /// The adapter's power preference, for the probe.
    pub power_preference: PowerPreference,
    /// Every cell runs paired with what the server has at `/base/`: the
    /// baseline package, or TF.js.
    pub paired: Option<PairedWith>,
    session: Option<Session>,
    /// What the host did during the last page (local browsers only).
    host: Option<HostActivity>,
}

impl BrowserExecutor {
    /// An executor with no session open yet.
    pub fn new(endpoint: Endpoint, url: String, cell_limit: Duration) -> Self {
        Self {
            endpoint,
            url,
            capabilities: Vec::new(),
            cell_limit,
            power_preference: PowerPreference::default(),
            paired: None,
            session: None,
            host: None,
        }
    }
}

impl Executor for BrowserExecutor {
    fn endpoint(&self) -> String {
        self.endpoint.label()
    }

    async fn open(&mut self, agent: Agent) -> Result<Environment, ExecError> {
        let Agent::Browser(browser) = agent else {
            return Err(ExecError::Start(
                "a browser executor runs browsers only".into(),
            ));
        };
        self.discard();
        let extra = self
            .capabilities
            .iter()
            .find(|(b, _)| *b == browser)
            .map(|(_, c)| c);
        let session = Session::open(browser, &self.endpoint, extra)
            .await
            .map_err(|e| ExecError::Start(format!("{e:#}")))?;
        let env = match session
            .environment(browser, &self.url, self.power_preference)
            .await
        {
            Ok(env) => env,
            Err(err) => {
                let log = session.driver_log();
                return Err(ExecError::Start(format!(
                    "the probe failed: {err:#}{}",
                    if log.is_empty() {
                        String::new()
                    } else {
                        format!("\ndriver log:\n{log}")
                    }
                )));
            }
        };
        let pinned = match &self.endpoint {
            Endpoint::Local { pin, .. } => pin.clone(),
            Endpoint::Remote { .. } => None,
        };
        let env = Environment {
            machine: session
                .process_group()
                .and_then(|_| host::machine())
                .map(|m| host::Machine {
                    browser_cpus: pinned,
                    ..m
                }),
            ..env
        };
        self.session = Some(session);
        Ok(env)
    }

    async fn run(
        &mut self,
        _cell: &PlannedCell,
        request: &CellRequest,
    ) -> Result<CellResponse, ExecError> {
        self.host = None;
        let session = self
            .session
            .as_ref()
            .ok_or_else(|| ExecError::SessionLost("no session is open".into()))?;
        let watch = session.process_group().and_then(host::Watch::start);
        let answer = session
            .run_cell(&self.url, request, self.paired, self.cell_limit)
            .await;
        self.host = watch.and_then(host::Watch::finish);
        answer
    }

    fn host_activity(&mut self) -> Option<HostActivity> {
        self.host.take()
    }

    async fn close(&mut self) {
        if let Some(session) = self.session.take() {
            session.close().await;
        }
    }

    fn discard(&mut self) {
        // Dropping a local session kills its driver's process group, browsers included.
        self.session = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_capabilities_name_no_local_paths_unless_given() {
        let local = capabilities(Browser::Chromium, Some(Path::new("/tmp/p")), None);
        let args = local["goog:chromeOptions"]["args"].as_array().unwrap();
        assert!(args.iter().any(|a| a == "--user-data-dir=/tmp/p"));
        assert!(args.iter().any(|a| a == "--enable-unsafe-webgpu"));
        let remote = capabilities(Browser::Chromium, None, None);
        assert!(remote["goog:chromeOptions"].get("binary").is_none());
        assert!(
            !remote["goog:chromeOptions"]["args"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a.as_str().unwrap().starts_with("--user-data-dir"))
        );
        let extra: Map<String, Value> = serde_json::from_value(json!({"moz:firefoxOptions": {"binary": "/opt/ff", "prefs": {"x": 1}}, "platformName": "linux"})).unwrap();
        let ff = capabilities(Browser::Firefox, None, Some(&extra));
        assert_eq!(ff["moz:firefoxOptions"]["binary"], "/opt/ff");
        assert_eq!(ff["moz:firefoxOptions"]["prefs"]["x"], 1);
        assert_eq!(
            ff["moz:firefoxOptions"]["prefs"]["dom.webgpu.enabled"], true,
            "defaults kept beside the extra"
        );
        assert_eq!(ff["platformName"], "linux");
    }

    #[test]
    fn webkit_is_minibrowser_under_automation_with_its_binary_only_locally() {
        let local = capabilities(Browser::Webkit, Some(Path::new("/tmp/p")), None);
        assert_eq!(local["browserName"], "MiniBrowser");
        let options = &local["webkitgtk:browserOptions"];
        assert_eq!(options["args"], json!(["--automation"]));
        assert_eq!(
            options["binary"].as_str(),
            local_binary(Browser::Webkit).as_deref(),
            "Debian's MiniBrowser, or QBENCH_WEBKIT"
        );
        let remote = capabilities(Browser::Webkit, None, None);
        assert!(remote["webkitgtk:browserOptions"].get("binary").is_none());
        // Safari, named in an endpoint's capabilities, gets none of WebKitGTK's options.
        let extra: Map<String, Value> =
            serde_json::from_value(json!({"browserName": "safari"})).unwrap();
        let safari = capabilities(Browser::Webkit, None, Some(&extra));
        assert_eq!(Value::Object(safari), json!({"browserName": "safari"}));
    }

    #[test]
    fn the_in_browser_tests_ask_for_the_same_browsers() {
        let file: Value =
            serde_json::from_str(include_str!("../../../crates/qbench-wasm/webdriver.json"))
                .unwrap();
        let chromium = capabilities(Browser::Chromium, None, None);
        // wasm-bindgen-test-runner adds its own headless, sandbox and shm switches.
        let runner_adds = ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage"];
        let ours: Vec<&Value> = chromium["goog:chromeOptions"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| !runner_adds.contains(&a.as_str().unwrap()))
            .collect();
        let theirs: Vec<&Value> = file["goog:chromeOptions"]["args"]
            .as_array()
            .unwrap()
            .iter()
            .collect();
        assert_eq!(ours, theirs);
        let firefox = capabilities(Browser::Firefox, None, None);
        assert_eq!(
            firefox["moz:firefoxOptions"]["prefs"],
            file["moz:firefoxOptions"]["prefs"]
        );
        assert_eq!(
            firefox["moz:firefoxOptions"]["env"],
            file["moz:firefoxOptions"]["env"]
        );
    }

    #[test]
    fn a_broken_answer_keeps_its_samples() {
        let err =
            parse_answer(r#"{"status":"ok","first_ms":3.0,"samples_ms":[1.0,2.0],"oops":true"#)
                .unwrap_err();
        assert!(
            matches!(err, ExecError::BadAnswer { partial: None, .. }),
            "not JSON at all: nothing kept"
        );
        let err = parse_answer(r#"{"status":"weird","first_ms":3.0,"samples_ms":[1.0,2.0]}"#)
            .unwrap_err();
        let ExecError::BadAnswer { message, partial } = err else {
            panic!("bad answer")
        };
        assert!(
            message.starts_with("the page's answer is not a cell response"),
            "{message}"
        );
        let partial = partial.unwrap();
        assert_eq!(
            (partial.first_ms, partial.samples_ms),
            (Some(3.0), vec![1.0, 2.0])
        );
        let long = format!("\"{}\"", "x".repeat(5000));
        let ExecError::BadAnswer { message, .. } = parse_answer(&long).unwrap_err() else {
            panic!()
        };
        assert!(message.len() < 600, "{}", message.len());
    }
}
