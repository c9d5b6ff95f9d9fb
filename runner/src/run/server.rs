//! Serves the page (`www/`) and the built wasm package (`/pkg/`) on
//! `127.0.0.1` at a free port, cross-origin isolated (COOP + COEP) so the page
//! gets fine-grained timers. Nothing outside those two folders is reachable.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use axum::Router;
use axum::http::{HeaderName, HeaderValue, header};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Server {
    /// The page's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The router: `www/` at `/`, the package at `/pkg/`, isolation headers on every answer.
pub fn router(www: &Path, pkg: &Path) -> Router {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(HeaderName::from_static(name), HeaderValue::from_static(value))
    };
    Router::new()
        .nest_service("/pkg", ServeDir::new(pkg))
        .fallback_service(ServeDir::new(www))
        .layer(header("cross-origin-opener-policy", "same-origin"))
        .layer(header("cross-origin-embedder-policy", "require-corp"))
        .layer(header("cross-origin-resource-policy", "same-origin"))
        .layer(SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
}

/// Starts serving on `127.0.0.1:port` (0: any free port).
pub async fn start(www: &Path, pkg: &Path, port: u16) -> anyhow::Result<Server> {
    anyhow::ensure!(www.join("index.html").is_file(), "no index.html in {}", www.display());
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("binding 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    let app = router(www, pkg);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("qbench: page server stopped: {err}");
        }
    });
    Ok(Server { addr, task })
}
