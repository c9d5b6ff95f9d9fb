//! A report page as a person sees it: `report.html` opened from disk in real
//! headless Chromium over WebDriver; what its DOM holds, what it asked the
//! network for, what the console said, and a full-page screenshot kept as an
//! artifact under `target/test-artifacts/`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::ClientBuilder;
use serde_json::{Value, json};

/// What the page showed.
#[derive(Debug)]
pub struct Facts {
    /// Matrix entries that are cells (`td[data-cell]`).
    pub entries: usize,
    /// Each chart's name and its data marks (SVG circles and rectangles other
    /// than the background: markers, whisker ends, bars).
    pub charts: Vec<(String, usize)>,
    /// Every resource the page loaded (Resource Timing).
    pub requests: Vec<String>,
    /// Every `src` / `href` that is not a same-page anchor.
    pub links: Vec<String>,
    /// Section headings.
    pub sections: Vec<String>,
    /// Console messages at level SEVERE or WARNING.
    pub console: Vec<String>,
    /// Height of the whole page, pixels.
    pub height: u64,
}

/// Chromium's console (chromedriver's log endpoint; not in W3C WebDriver).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base: &url::Url,
        session: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base.join(&format!("session/{}/se/log", session.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (
            http::Method::POST,
            Some(r#"{"type":"browser"}"#.to_string()),
        )
    }
}

/// chromedriver on a free port, killed on drop.
struct Driver(Child, u16);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_driver() -> Driver {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let binary = std::env::var("CHROMEDRIVER").unwrap_or_else(|_| "chromedriver".into());
    let child = Command::new(&binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting {binary}: {e}"));
    Driver(child, port)
}

const FACTS: &str = r#"
const svgCount = f => { const s = f.querySelector('svg'); return s ? s.querySelectorAll('circle, rect').length - 1 : 0; };
return {
  entries: document.querySelectorAll('td[data-cell]').length,
  charts: [...document.querySelectorAll('figure.chart')].map(f => [f.dataset.chart, svgCount(f)]),
  requests: performance.getEntriesByType('resource').map(e => e.name),
  links: [...document.querySelectorAll('[src],[href]')]
    .map(e => e.getAttribute('src') || e.getAttribute('href'))
    .filter(u => !u.startsWith('#')),
  sections: [...document.querySelectorAll('h2')].map(h => h.textContent),
  height: document.documentElement.scrollHeight,
};
"#;

/// Opens `page` in headless Chromium and reads what it shows; saves a full-page
/// screenshot as `target/test-artifacts/{name}.png`.
pub fn open(page: &Path, name: &str) -> Facts {
    let driver = start_driver();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let facts = runtime.block_on(async {
        let mut options = json!({
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1360,1000"]
        });
        if let Ok(binary) = std::env::var("QBENCH_CHROMIUM") {
            options["binary"] = json!(binary);
        }
        let caps = json!({
            "browserName": "chrome",
            "goog:chromeOptions": options,
            "goog:loggingPrefs": { "browser": "ALL" },
        });
        let Value::Object(caps) = caps else { unreachable!() };
        let started = Instant::now();
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{}", driver.1))
                .await
            {
                Ok(c) => break c,
                Err(_) if started.elapsed() < Duration::from_secs(30) => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("no chromedriver session: {e}"),
            }
        };
        let url = format!("file://{}", page.canonicalize().unwrap().display());
        client.goto(&url).await.unwrap();
        let v = client.execute(FACTS, vec![]).await.unwrap();
        let log = client.issue_cmd(BrowserLog).await.unwrap();
        let console: Vec<String> = log
            .as_array()
            .into_iter()
            .flatten()
            .filter(|m| m["level"] == "SEVERE" || m["level"] == "WARNING")
            .map(|m| m["message"].as_str().unwrap_or_default().to_string())
            .collect();
        let height = v["height"].as_u64().unwrap();
        let dir = artifacts();
        std::fs::create_dir_all(&dir).unwrap();
        // The top of the page as a reader first sees it (the README's picture:
        // `docs/report.png` is `report-chromium-top.png`, see CONTRIBUTING.md).
        client.set_window_size(1360, 1300).await.unwrap();
        let top = client.screenshot().await.unwrap();
        assert_eq!(&top[1..4], b"PNG", "a PNG screenshot");
        std::fs::write(dir.join(format!("{name}-top.png")), top).unwrap();
        client
            .set_window_size(1360, height.clamp(600, 16_000) as u32)
            .await
            .unwrap();
        let png = client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
        client.close().await.unwrap();
        let strings = |key: &str| -> Vec<String> {
            v[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_string())
                .collect()
        };
        Facts {
            entries: v["entries"].as_u64().unwrap() as usize,
            charts: v["charts"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| (c[0].as_str().unwrap().to_string(), c[1].as_u64().unwrap() as usize))
                .collect(),
            requests: strings("requests"),
            links: strings("links"),
            sections: strings("sections"),
            console,
            height,
        }
    });
    drop(driver);
    facts
}

/// Where screenshots are kept.
pub fn artifacts() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-artifacts")
}

/// The checks every report page must pass: no console errors, no request, no
/// outside link, one matrix entry per cell, every chart drawn.
pub fn check(page: &Path, name: &str, cells: usize, sections: &[&str]) -> Facts {
    let facts = open(page, name);
    assert_eq!(facts.console, Vec::<String>::new(), "console of {name}");
    assert_eq!(facts.requests, Vec::<String>::new(), "{name} made requests");
    assert_eq!(
        facts.links,
        Vec::<String>::new(),
        "{name} links outside itself"
    );
    assert_eq!(facts.entries, cells, "{name}: one matrix entry per cell");
    assert!(!facts.charts.is_empty(), "{name} has no chart");
    for (chart, marks) in &facts.charts {
        assert!(*marks > 0, "{name}: chart {chart} draws no data");
    }
    for s in sections {
        assert!(
            facts.sections.iter().any(|x| x == s),
            "{name}: no section {s}: {:?}",
            facts.sections
        );
    }
    facts
}

/// The checks can fail: the same page with an image from the network gets a
/// console error from the page's Content-Security-Policy, and no request.
pub fn check_a_network_request_is_caught(page: &Path) {
    let html = std::fs::read_to_string(page).unwrap();
    let tampered = page.with_file_name("tampered.html");
    std::fs::write(
        &tampered,
        html.replacen(
            "<main>",
            "<main><img src=\"https://example.invalid/x.png\">",
            1,
        ),
    )
    .unwrap();
    let facts = open(&tampered, "tampered");
    assert!(
        facts
            .console
            .iter()
            .any(|m| m.contains("Content Security Policy")),
        "{:?}",
        facts.console
    );
    assert_eq!(facts.links, ["https://example.invalid/x.png"]);
}
