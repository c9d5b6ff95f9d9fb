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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get(server: &Server, path: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response.to_lowercase()
    }

    #[tokio::test]
    async fn serves_page_and_package_isolated_and_nothing_else() {
        let root = tempfile::tempdir().unwrap();
        let (www, pkg) = (root.path().join("www"), root.path().join("pkg"));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(www.join("index.html"), "<p>page</p>").unwrap();
        std::fs::write(pkg.join("m.js"), "export {}").unwrap();
        std::fs::write(root.path().join("secret.txt"), "secret").unwrap();
        let server = start(&www, &pkg, 0).await.unwrap();
        assert!(server.url().starts_with("http://127.0.0.1:"));

        let page = get(&server, "/").await;
        assert!(page.starts_with("http/1.1 200"), "{page}");
        assert!(page.contains("cross-origin-opener-policy: same-origin"));
        assert!(page.contains("cross-origin-embedder-policy: require-corp"));
        assert!(page.contains("<p>page</p>"));
        let module = get(&server, "/pkg/m.js").await;
        assert!(module.starts_with("http/1.1 200") && module.contains("text/javascript"), "{module}");
        for path in ["/../secret.txt", "/pkg/../../secret.txt", "/%2e%2e/secret.txt"] {
            let r = get(&server, path).await;
            assert!(!r.contains("secret") || r.starts_with("http/1.1 4"), "{path}: {r}");
            assert!(!r.starts_with("http/1.1 200"), "{path}: {r}");
        }
    }

    #[tokio::test]
    async fn refuses_a_folder_without_a_page() {
        let root = tempfile::tempdir().unwrap();
        let err = start(root.path(), root.path(), 0).await.err().unwrap();
        assert!(err.to_string().contains("no index.html in"), "{err}");
    }
}
