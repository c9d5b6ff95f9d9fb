//! Serves the page (`www/`), the built wasm package (`/pkg/`) and, for a paired
//! run, the baseline package (`/base/`), cross-origin
//! isolated (COOP + COEP) so the page gets fine-grained timers. On loopback by
//! default; on another address only by explicit choice, and then it answers
//! only requests for the host names it was told. Nothing outside the
//! folders is reachable: no `..`, plain or encoded, and no symlink out.

use std::net::SocketAddr;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::services::ServeDir;
use tower_http::set_header::SetResponseHeaderLayer;

use super::page::Page;

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    url_host: String,
    task: tokio::task::JoinHandle<()>,
    /// The built-in page written out, served while this lives.
    _page: Option<tempfile::TempDir>,
}

impl Server {
    /// The page's URL, as browsers reach it.
    pub fn url(&self) -> String {
        format!("http://{}:{}/", self.url_host, self.addr.port())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What may be asked for: the `Host` values answered, and the folders.
struct Rules {
    hosts: Vec<String>,
    www: PathBuf,
    pkg: PathBuf,
    base: Option<PathBuf>,
}

/// The router: `www/` at `/`, the run's defaults at `/defaults.json` (for the
/// page's form), the package at `/pkg/` (and a paired run's other
/// side at `/base/` when given: a baseline package, or TF.js), isolation headers on every answer,
/// the host check and the confinement in front.
fn router(rules: Arc<Rules>) -> Router {
    let header = |name: &'static str, value: &'static str| {
        SetResponseHeaderLayer::overriding(
            HeaderName::from_static(name),
            HeaderValue::from_static(value),
        )
    };
    let checks = rules.clone();
    let mut app = Router::new()
        .route(
            "/defaults.json",
            axum::routing::get(|| async {
                (
                    [(header::CONTENT_TYPE, "application/json")],
                    crate::defaults::page_json(),
                )
            }),
        )
        .nest_service("/pkg", ServeDir::new(&rules.pkg));
    if let Some(base) = &rules.base {
        app = app.nest_service("/base", ServeDir::new(base));
    }
    app.fallback_service(ServeDir::new(&rules.www))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            let rules = checks.clone();
            async move { guard(&rules, req, next).await }
        }))
        .layer(header("cross-origin-opener-policy", "same-origin"))
        .layer(header("cross-origin-embedder-policy", "require-corp"))
        .layer(header("cross-origin-resource-policy", "same-origin"))
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache"),
        ))
}

async fn guard(rules: &Rules, req: Request, next: Next) -> Response {
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if !rules.hosts.contains(&host) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "qbench serves only the host names it was given\n",
        )
            .into_response();
    }
    if !confined(rules, req.uri().path()) {
        return (StatusCode::NOT_FOUND, Body::from("not found\n")).into_response();
    }
    next.run(req).await
}

/// Whether `path` names something inside the folder it maps to: no `..` after
/// percent-decoding, and no symlink resolving outside.
fn confined(rules: &Rules, path: &str) -> bool {
    let Ok(decoded) = percent_encoding::percent_decode_str(path).decode_utf8() else {
        return false;
    };
    if decoded.contains('\\') || decoded.contains('\0') {
        return false;
    }
    let (root, rest) = match (
        decoded.strip_prefix("/pkg/"),
        decoded.strip_prefix("/base/"),
    ) {
        (Some(rest), _) => (&rules.pkg, rest),
        (None, Some(rest)) => match &rules.base {
            Some(base) => (base, rest),
            None => return false,
        },
        (None, None) => (&rules.www, decoded.trim_start_matches('/')),
    };
    let relative = Path::new(rest);
    if relative
        .components()
        .any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return false;
    }
    let candidate = root.join(relative);
    match (candidate.canonicalize(), root.canonicalize()) {
        (Ok(real), Ok(root)) => real.starts_with(root),
        // Nothing there: ServeDir answers 404 itself.
        _ => true,
    }
}

/// Starts serving the page, `pkg` and `base` (a paired run's baseline package)
/// on `addr` (port 0: any free port). `hosts` are the names browsers use to
/// reach it; a non-loopback address needs at least one.
pub async fn start(
    page: &Page,
    pkg: &Path,
    base: Option<&Path>,
    addr: SocketAddr,
    hosts: &[String],
) -> anyhow::Result<Server> {
    let (www, scratch) = page.folder()?;
    anyhow::ensure!(
        addr.ip().is_loopback() || !hosts.is_empty(),
        "{addr} is not loopback: name the host names browsers reach it by"
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the page server to {addr}"))?;
    let addr = listener.local_addr()?;
    let port = addr.port();
    let mut allowed: Vec<String> = hosts
        .iter()
        .flat_map(|h| {
            [
                h.to_ascii_lowercase(),
                format!("{}:{port}", h.to_ascii_lowercase()),
            ]
        })
        .collect();
    if addr.ip().is_loopback() {
        allowed.extend([
            format!("127.0.0.1:{port}"),
            format!("localhost:{port}"),
            format!("[::1]:{port}"),
        ]);
    } else {
        allowed.push(format!("{}:{port}", addr.ip()));
    }
    let url_host = hosts
        .first()
        .cloned()
        .unwrap_or_else(|| addr.ip().to_string());
    let rules = Arc::new(Rules {
        hosts: allowed,
        www,
        pkg: pkg.to_path_buf(),
        base: base.map(Path::to_path_buf),
    });
    let app = router(rules);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            eprintln!("qbench: page server stopped: {err}");
        }
    });
    Ok(Server {
        addr,
        url_host,
        task,
        _page: scratch,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn get_as(server: &Server, path: &str, host: &str) -> String {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", server.addr.port()))
            .await
            .unwrap();
        let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n");
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response.to_lowercase()
    }

    async fn get(server: &Server, path: &str) -> String {
        get_as(server, path, &format!("127.0.0.1:{}", server.addr.port())).await
    }

    /// `root/www/index.html`, `root/www/pkg-link`, `root/pkg/m.js`, and secrets beside
    /// and above them that traversal would reach.
    fn fixture() -> tempfile::TempDir {
        let root = tempfile::tempdir().unwrap();
        let (www, pkg) = (root.path().join("www"), root.path().join("pkg"));
        std::fs::create_dir_all(&www).unwrap();
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(www.join("index.html"), "<p>page</p>").unwrap();
        std::fs::write(pkg.join("m.js"), "export {}").unwrap();
        std::fs::write(root.path().join("secret.txt"), "top secret").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(root.path().join("secret.txt"), www.join("leak.txt"))
                .unwrap();
            std::os::unix::fs::symlink(root.path(), www.join("up")).unwrap();
        }
        root
    }

    async fn serve(root: &Path) -> Server {
        serve_with_base(root, None).await
    }

    async fn serve_with_base(root: &Path, base: Option<&Path>) -> Server {
        start(
            &Page::Folder(root.join("www")),
            &root.join("pkg"),
            base,
            "127.0.0.1:0".parse().unwrap(),
            &[],
        )
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn serves_page_and_package_isolated() {
        let root = fixture();
        let server = serve(root.path()).await;
        assert!(server.url().starts_with("http://127.0.0.1:"));
        let page = get(&server, "/").await;
        assert!(page.starts_with("http/1.1 200"), "{page}");
        assert!(page.contains("cross-origin-opener-policy: same-origin"));
        assert!(page.contains("cross-origin-embedder-policy: require-corp"));
        assert!(page.contains("<p>page</p>"));
        let module = get(&server, "/pkg/m.js").await;
        assert!(
            module.starts_with("http/1.1 200") && module.contains("text/javascript"),
            "{module}"
        );
    }

    #[tokio::test]
    async fn nothing_outside_the_folders_is_reachable() {
        let root = fixture();
        let server = serve(root.path()).await;
        // Each of these names root/secret.txt, which exists, if traversal worked.
        for path in [
            "/../secret.txt",
            "/pkg/../secret.txt",
            "/%2e%2e/secret.txt",
            "/pkg/%2e%2e/secret.txt",
            "/..%2fsecret.txt",
            "/%2E%2E%2Fsecret.txt",
            "/leak.txt",
            "/up/secret.txt",
        ] {
            let r = get(&server, path).await;
            assert!(!r.contains("top secret"), "{path}: {r}");
            assert!(r.starts_with("http/1.1 4"), "{path}: {r}");
        }
        // The confinement itself, without any client or server normalising the path first.
        let rules = Rules {
            hosts: vec![],
            www: root.path().join("www"),
            pkg: root.path().join("pkg"),
            base: None,
        };
        assert!(!confined(&rules, "/../secret.txt"));
        assert!(!confined(&rules, "/%2e%2e/secret.txt"));
        assert!(!confined(&rules, "/leak.txt"));
        assert!(!confined(&rules, "/up/secret.txt"));
        assert!(confined(&rules, "/index.html"));
        assert!(confined(&rules, "/pkg/m.js"));
        assert!(!confined(&rules, "/base/m.js"), "no baseline package given");
    }

    #[tokio::test]
    async fn serves_the_baseline_package_at_base_only_when_given() {
        let root = fixture();
        let without = serve(root.path()).await;
        assert!(
            get(&without, "/base/m.js")
                .await
                .starts_with("http/1.1 404")
        );
        let with = serve_with_base(root.path(), Some(&root.path().join("pkg"))).await;
        let module = get(&with, "/base/m.js").await;
        assert!(
            module.starts_with("http/1.1 200") && module.contains("cross-origin-embedder-policy"),
            "{module}"
        );
        for path in ["/base/../secret.txt", "/base/%2e%2e/secret.txt"] {
            let r = get(&with, path).await;
            assert!(
                r.starts_with("http/1.1 4") && !r.contains("top secret"),
                "{path}: {r}"
            );
        }
    }

    #[tokio::test]
    async fn only_known_host_names_are_answered() {
        let root = fixture();
        let server = serve(root.path()).await;
        let port = server.addr.port();
        assert!(
            get_as(&server, "/", &format!("localhost:{port}"))
                .await
                .starts_with("http/1.1 200")
        );
        let r = get_as(&server, "/", &format!("evil.example:{port}")).await;
        assert!(r.starts_with("http/1.1 421"), "{r}");
        // A non-loopback address must be given host names.
        let err = start(
            &Page::Folder(root.path().join("www")),
            &root.path().join("pkg"),
            None,
            "0.0.0.0:0".parse().unwrap(),
            &[],
        )
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains("not loopback"), "{err}");
        let named = start(
            &Page::Folder(root.path().join("www")),
            &root.path().join("pkg"),
            None,
            "127.0.0.1:0".parse().unwrap(),
            &["bench.local".into()],
        )
        .await
        .unwrap();
        assert!(
            named.url().starts_with("http://bench.local:"),
            "{}",
            named.url()
        );
        let r = get_as(&named, "/", &format!("bench.local:{}", named.addr.port())).await;
        assert!(r.starts_with("http/1.1 200"), "{r}");
    }

    #[tokio::test]
    async fn serves_the_built_in_page_from_any_folder() {
        let root = fixture();
        let server = start(
            &Page::BuiltIn,
            &root.path().join("pkg"),
            None,
            "127.0.0.1:0".parse().unwrap(),
            &[],
        )
        .await
        .unwrap();
        let page = get(&server, "/").await;
        assert!(page.starts_with("http/1.1 200"), "{page}");
        assert!(page.contains(super::super::page::BUILT_IN[0].1.lines().next().unwrap()));
        let script = get(&server, "/qbench.js").await;
        assert!(script.contains("window.qbench"), "{script}");
    }

    #[tokio::test]
    async fn refuses_a_folder_without_a_page() {
        let root = tempfile::tempdir().unwrap();
        let err = start(
            &Page::Folder(root.path().to_path_buf()),
            root.path(),
            None,
            "127.0.0.1:0".parse().unwrap(),
            &[],
        )
        .await
        .err()
        .unwrap();
        assert!(err.to_string().contains("no index.html there"), "{err}");
    }
}
