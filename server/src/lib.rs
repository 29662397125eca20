//! The server: configuration, start-up and the HTTP wiring of the console.
//! The runtime REST API (`api`) and the admin REST API (`admin_api`) are
//! thin: each handler extracts, calls one use case, and answers.

pub mod admin_api;
pub mod api;
pub mod config;
pub mod demo;
pub mod demo_upstream;
pub mod services;
pub mod upstream;

pub use api::dispatch::Gateway;

use std::sync::Arc;
use std::time::Duration;

use app::{shell, App};
use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use leptos::config::LeptosOptions;
use leptos::prelude::provide_context;
use leptos_axum::{generate_route_list, LeptosRoutes};
use tower_http::limit::RequestBodyLimitLayer;
use usecases::admins::CreateAdminError;
use usecases::web::{admin_from_headers, host_allowed};
use usecases::{Console, Settings};

use crate::config::Config;

/// mimalloc for every binary built on this crate (the server, its tests and
/// benchmarks): a runtime call allocates a few dozen small blocks, and with
/// glibc's malloc that was half its CPU time in the gateway profile.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Requests larger than this are refused with 413.
pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] store::DbSetupError),
    #[error("{0}")]
    Seed(String),
    #[error("cannot load the permissions: {0}")]
    Load(#[from] store::StoreError),
    #[error("cannot register the services: {0}")]
    Register(usecases::Error),
    #[error(
        "CONSOLE_PUBLIC_ORIGINS: `{0}` is not an origin; write scheme://host[:port], e.g. https://console.example.com"
    )]
    PublicOrigin(String),
    #[error("set both CONSOLE_ADMIN_EMAIL and CONSOLE_ADMIN_PASSWORD, or neither")]
    HalfAdmin,
    #[error("cannot create the console admin: {0}")]
    Admin(#[from] CreateAdminError),
}

pub fn settings(config: &Config) -> Result<Settings, StartError> {
    Ok(Settings {
        session_timeout: Duration::from_secs(config.session_timeout_secs),
        max_failed_logins: config.login_max_failures.max(1),
        lockout: Duration::from_secs(config.login_lockout_secs),
        registration: config.allow_registration,
        public_origins: public_origins(config.public_origins.as_deref(), config.site_addr)?.into(),
        upstream_max_body_bytes: config.upstream_max_body_bytes,
        upstream_max_response_bytes: config.upstream_max_response_bytes,
        impersonation: (config.impersonation_minutes > 0)
            .then(|| Duration::from_secs(config.impersonation_minutes * 60)),
    })
}

/// The console's public origins: as configured (each `http(s)://host[:port]`,
/// no path), or derived from the listening address. A scheme's default
/// port is left out, as browsers leave it out of `Origin` and `Host`.
pub fn public_origins(
    configured: Option<&str>,
    site_addr: std::net::SocketAddr,
) -> Result<Vec<String>, StartError> {
    if let Some(list) = configured.filter(|list| !list.trim().is_empty()) {
        return list
            .split(',')
            .map(str::trim)
            .filter(|origin| !origin.is_empty())
            .map(|origin| {
                let lower = origin.to_lowercase();
                let (scheme, authority) = lower
                    .split_once("://")
                    .filter(|(scheme, authority)| {
                        matches!(*scheme, "http" | "https")
                            && !authority.is_empty()
                            && !authority.contains(['/', '?', '#', '@', ' '])
                    })
                    .ok_or_else(|| StartError::PublicOrigin(origin.to_string()))?;
                Ok(without_default_port(scheme, authority))
            })
            .collect();
    }
    let port = site_addr.port();
    let ip = site_addr.ip();
    let hosts = if ip.is_loopback() || ip.is_unspecified() {
        let mut hosts = vec![
            "127.0.0.1".to_string(),
            "localhost".to_string(),
            "[::1]".to_string(),
        ];
        if ip.is_unspecified() {
            hosts.push(ip.to_string());
        }
        hosts
    } else {
        vec![match ip {
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            std::net::IpAddr::V4(ip) => ip.to_string(),
        }]
    };
    // either scheme: a TLS-terminating proxy in front keeps the authority
    Ok(hosts
        .iter()
        .flat_map(|host| {
            ["http", "https"].map(|scheme| without_default_port(scheme, &format!("{host}:{port}")))
        })
        .collect())
}

/// `scheme://authority`, without `:80` for http or `:443` for https.
fn without_default_port(scheme: &str, authority: &str) -> String {
    let default = if scheme == "https" { ":443" } else { ":80" };
    let authority = authority.strip_suffix(default).unwrap_or(authority);
    format!("{scheme}://{authority}")
}

/// Connects, migrates, registers the services and seeds as the configuration asks.
pub async fn prepare_state(
    config: &Config,
    registry: &services::Registry,
) -> Result<Console, StartError> {
    if config.admin_email.is_some() != config.admin_password.is_some() {
        return Err(StartError::HalfAdmin);
    }
    let (pool, engine) = store::connect_and_migrate(&config.database_url).await?;
    let console = Console::open(pool, engine, settings(config)?).await?;
    usecases::services::register(&console, &registry.descriptions())
        .await
        .map_err(StartError::Register)?;
    if config.demo {
        let fresh = demo::seed(&console).await.map_err(StartError::Seed)?;
        demo::seed_upstream(&console, &demo_upstream_url(config.site_addr), fresh)
            .await
            .map_err(StartError::Seed)?;
    }
    if let (Some(email), Some(password)) = (&config.admin_email, &config.admin_password) {
        if usecases::admins::ensure_admin(&console, email, password).await? {
            tracing::info!(admin = %email, "console admin created from the configuration");
        }
    }
    Ok(console)
}

/// Where this server serves the demo upstream, as the gateway reaches it.
pub fn demo_upstream_url(site_addr: std::net::SocketAddr) -> String {
    let host = match site_addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_string(),
        std::net::IpAddr::V4(ip) => ip.to_string(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
    };
    format!(
        "http://{host}:{}{}",
        site_addr.port(),
        demo_upstream::PREFIX
    )
}

pub fn leptos_options(config: &Config) -> LeptosOptions {
    let hash_file = hash_file(&config.site_root);
    LeptosOptions::builder()
        .output_name("console")
        .site_root(config.site_root.display().to_string())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(hash_file.is_some())
        .hash_file(hash_file.map_or_else(|| HASH_FILE.into(), Into::into))
        .build()
}

/// The list of the site's file names by content (`console.<hash>.wasm`),
/// which a release build writes (`hash-files` in Cargo.toml) and
/// `scripts/build.sh` copies into the site, so a site folder carries the
/// names of its own files wherever it is deployed; otherwise the one
/// cargo-leptos left beside this executable. `None`: the names carry no
/// hash (a build without `hash-files`). An absolute path, as Leptos reads
/// it relative to the executable's folder.
fn hash_file(site_root: &std::path::Path) -> Option<String> {
    let beside_exe = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.join(HASH_FILE)));
    [Some(site_root.join(HASH_FILE)), beside_exe]
        .into_iter()
        .flatten()
        .filter_map(|path| std::path::absolute(path).ok())
        .find(|path| path.is_file())
        .map(|path| path.display().to_string())
}

const HASH_FILE: &str = "hash.txt";

/// The site's wasm, script and styles: sent precompressed (brotli or gzip,
/// as the browser accepts; `cargo leptos build --precompress` writes the
/// copies), with `Vary: Accept-Encoding` so no cache hands one encoding to
/// a browser that asked for another. A file whose name carries the hash of
/// its own bytes never changes under that name, so browsers keep it a year
/// without asking again; a new build brings new names. Every other file
/// is revalidated on every load (`no-cache`) by the hash of its bytes
/// (`ETag`), never by its date: a rollback copied with its old dates, or
/// two builds within a second, must not be answered "not modified".
fn static_files(dir: &std::path::Path) -> Router {
    let files = Arc::new(SiteFiles::read(dir));
    Router::new()
        .fallback_service(
            tower_http::services::ServeDir::new(dir)
                .precompressed_br()
                .precompressed_gzip(),
        )
        .layer(middleware::from_fn(
            move |mut request: Request, next: Next| {
                let files = files.clone();
                async move {
                    let read = matches!(*request.method(), Method::GET | Method::HEAD);
                    let name = request.uri().path().strip_prefix('/').map(str::to_owned);
                    let file = match &name {
                        Some(name) if read => files.get(name).await,
                        _ => None,
                    };
                    if let Some(file) = &file {
                        let headers = request.headers_mut();
                        headers.remove(header::IF_MODIFIED_SINCE);
                        headers.remove(header::IF_UNMODIFIED_SINCE);
                        if file.matches(headers) {
                            let mut response = StatusCode::NOT_MODIFIED.into_response();
                            describe(Some(file), response.headers_mut());
                            return response;
                        }
                    }
                    let mut response = next.run(request).await;
                    let status = response.status();
                    if status.is_success() || status == StatusCode::NOT_MODIFIED {
                        // a file kept a year must be the file hashed: one
                        // rewritten in place (a deploy's copy over the
                        // folder) between the hash's check and the file
                        // server's read may be sent cut short, so it is
                        // sent to be asked for again instead
                        let file = match (file, &name) {
                            (Some(file), Some(name)) if file.content_named => {
                                files.unchanged(file, name).await
                            }
                            (other, _) => other,
                        };
                        let headers = response.headers_mut();
                        if file.is_some() {
                            headers.remove(header::LAST_MODIFIED);
                        }
                        describe(file.as_ref(), headers);
                    }
                    response
                }
            },
        ))
}

/// The files of the site's folder, each hashed from its bytes: at start,
/// and again when it or one of its compressed copies is no longer the file
/// that was hashed (a deploy or a rollback copied over the folder while the
/// server runs).
struct SiteFiles {
    dir: std::path::PathBuf,
    hashed: std::sync::RwLock<std::collections::HashMap<String, SiteFile>>,
}

/// What the server knows of one file of the site from its bytes.
#[derive(Clone)]
struct SiteFile {
    /// the file and its brotli and gzip copies as they were hashed
    seen: Seen,
    /// named `<stem>.<hash>.<extension>` by the hash of its own bytes
    content_named: bool,
    /// quoted base64url MD5 of its bytes and its copies' bytes: the file
    /// server may send either copy, so a copy replaced on its own is a new
    /// version too
    opaque: String,
}

/// A file and its `.br` and `.gz` copies, each as its stamp (`None`: absent).
#[derive(Clone, PartialEq, Eq)]
struct Seen([Option<Stamp>; 3]);

/// What tells one version of a file from another without reading it: size
/// and date, and on unix the inode and the change time, which a copy made
/// with the old date and size still moves.
#[derive(Clone, PartialEq, Eq)]
struct Stamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

impl Stamp {
    fn of(path: &std::path::Path) -> Option<Stamp> {
        let metadata = std::fs::metadata(path).ok()?;
        Some(Stamp {
            len: metadata.len(),
            modified: metadata.modified().ok(),
            #[cfg(unix)]
            inode: {
                use std::os::unix::fs::MetadataExt;
                (
                    metadata.dev(),
                    metadata.ino(),
                    metadata.ctime(),
                    metadata.ctime_nsec(),
                )
            },
        })
    }
}

/// The compressed copies the file server may send for a file.
const COPIES: [&str; 2] = ["br", "gz"];

impl Seen {
    /// `None` when the file itself is absent.
    fn of(path: &std::path::Path) -> Option<Seen> {
        let plain = Stamp::of(path)?;
        let [br, gz] = COPIES.map(|extension| Stamp::of(&with_extension(path, extension)));
        Some(Seen([Some(plain), br, gz]))
    }
}

fn with_extension(path: &std::path::Path, extension: &str) -> std::path::PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".");
    name.push(extension);
    name.into()
}

/// A file of the folder itself, named as stored: one plain component,
/// nothing encoded, not a compressed copy.
fn is_site_file_name(name: &str) -> bool {
    let mut components = std::path::Path::new(name).components();
    matches!(components.next(), Some(std::path::Component::Normal(_)))
        && components.next().is_none()
        && !name.contains(['/', '\\', '%'])
        && !COPIES
            .iter()
            .any(|extension| name.ends_with(&format!(".{extension}")))
}

impl SiteFiles {
    /// Every file of `dir` (not the `.br` and `.gz` copies), hashed.
    fn read(dir: &std::path::Path) -> SiteFiles {
        let mut hashed = std::collections::HashMap::new();
        match std::fs::read_dir(dir) {
            Ok(entries) => {
                for entry in entries.filter_map(Result::ok) {
                    let Ok(name) = entry.file_name().into_string() else {
                        continue;
                    };
                    if let Some(file) = SiteFile::hash(&dir.join(&name), &name) {
                        hashed.insert(name, file);
                    }
                }
            }
            Err(error) => tracing::warn!(
                folder = %dir.display(),
                %error,
                "cannot read the site's files: /pkg answers 404 until they are there"
            ),
        }
        SiteFiles {
            dir: dir.to_path_buf(),
            hashed: std::sync::RwLock::new(hashed),
        }
    }

    /// The file of the folder itself named `name`, hashed as its bytes are
    /// now; `None` for anything else, which is left to the file server as
    /// it is.
    async fn get(&self, name: &str) -> Option<SiteFile> {
        if !is_site_file_name(name) {
            return None;
        }
        let path = self.dir.join(name);
        let known = self
            .hashed
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(name)
            .cloned();
        let owned = name.to_string();
        let (file, fresh) = tokio::task::spawn_blocking(move || {
            let seen = Seen::of(&path)?;
            match known {
                Some(file) if file.seen == seen => Some((file, false)),
                _ => SiteFile::hash(&path, &owned).map(|file| (file, true)),
            }
        })
        .await
        .ok()??;
        if fresh {
            self.hashed
                .write()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .insert(name.to_string(), file.clone());
        }
        Some(file)
    }

    /// `file`, the file named `name`, if it and its copies are still the
    /// ones it was hashed from; `None` if not.
    async fn unchanged(&self, file: SiteFile, name: &str) -> Option<SiteFile> {
        let full = self.dir.join(name);
        let seen = tokio::task::spawn_blocking(move || Seen::of(&full))
            .await
            .ok()??;
        (seen == file.seen).then_some(file)
    }
}

impl SiteFile {
    /// The file at `path` named `name`, from its bytes and its copies'
    /// bytes; `None` for a compressed copy or a file that cannot be read.
    /// A name is checked against the bytes rather than assumed: the split
    /// build's main script and module are named before the split loader's
    /// name is written into them, so their names do not follow their
    /// content (a year's cache would keep an old script that imports a
    /// loader a new build no longer has).
    fn hash(path: &std::path::Path, name: &str) -> Option<SiteFile> {
        use md5::Digest;
        if !is_site_file_name(name) {
            return None;
        }
        // stamped before reading: bytes written meanwhile are newer than
        // the stamp, so the next request hashes them
        let seen = Seen::of(path)?;
        let bytes = std::fs::read(path).ok()?;
        let own = md5::Md5::digest(&bytes);
        let mut version = md5::Md5::new();
        version.update(own);
        for extension in COPIES {
            match std::fs::read(with_extension(path, extension)) {
                Ok(copy) => {
                    version.update([1]);
                    version.update(md5::Md5::digest(&copy));
                }
                Err(_) => version.update([0]),
            }
        }
        Some(SiteFile {
            seen,
            content_named: name.contains(&format!(".{}.", base64url(&own))),
            opaque: format!("\"{}\"", base64url(&version.finalize())),
        })
    }

    /// Whether `If-None-Match` names these bytes, by weak comparison (the
    /// brotli, gzip and plain copies differ in bytes but not in meaning).
    fn matches(&self, headers: &axum::http::HeaderMap) -> bool {
        headers
            .get_all(header::IF_NONE_MATCH)
            .iter()
            .filter_map(|value| value.to_str().ok())
            .flat_map(|value| value.split(','))
            .map(|tag| tag.trim())
            .any(|tag| tag == "*" || tag.trim_start_matches("W/") == self.opaque)
    }
}

/// A digest as file names and tags carry it: base64url, unpadded.
fn base64url(digest: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest)
}

/// How long a browser may keep a file of the site (`None`: not one the
/// server hashed), and which version it is.
fn describe(file: Option<&SiteFile>, headers: &mut axum::http::HeaderMap) {
    let cache = match file {
        Some(file) if file.content_named => "public, max-age=31536000, immutable",
        _ => "no-cache",
    };
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    if let Some(etag) =
        file.and_then(|file| HeaderValue::from_str(&format!("W/{}", file.opaque)).ok())
    {
        headers.insert(header::ETAG, etag);
    }
}

/// The whole HTTP surface: runtime API, admin API, console pages, server
/// functions, static files; the runtime's service calls are dispatched
/// before the router ([`api::dispatch`]).
pub fn router(
    console: Console,
    registry: Arc<services::Registry>,
    options: LeptosOptions,
) -> Gateway {
    let upstreams = upstream::Upstreams::new(
        console.settings.upstream_max_body_bytes,
        console.settings.upstream_max_response_bytes,
    )
    .map_err(|error| tracing::error!(%error, "cannot build the HTTP client for upstream services"))
    .ok();
    let api_state = api::ApiState::new(console.clone(), registry, upstreams);
    let apis = api::router(api_state.clone()).merge(admin_api::router(console.clone()));
    let routes = generate_route_list(App);
    let context_console = console.clone();
    let assets = std::path::Path::new(&*options.site_root).join(&*options.site_pkg_dir);
    let router = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .nest_service("/pkg", static_files(&assets))
        .leptos_routes_with_context(
            &options,
            routes,
            move || provide_context(context_console.clone()),
            {
                let options = options.clone();
                move || shell(options.clone())
            },
        )
        .fallback(leptos_axum::file_and_error_handler(shell))
        .layer(middleware::from_fn_with_state(console, page_guard))
        .layer(middleware::from_fn(server_fn_status))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT_BYTES))
        .with_state(options)
        .merge(apis);
    Gateway::new(api_state, router)
}

/// A server function whose arguments cannot be read fails before it runs,
/// where the framework answers every error 500: the error it carries says
/// which status it is (400 for arguments), as the functions' own errors do.
async fn server_fn_status(request: Request, next: Next) -> Response {
    let server_fn = request.uri().path().starts_with("/console/fn/");
    let response = next.run(request).await;
    if !server_fn || response.status() != StatusCode::INTERNAL_SERVER_ERROR {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    // an error is a few hundred bytes; anything else is left a 500
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024).await else {
        return StatusCode::INTERNAL_SERVER_ERROR.into_response();
    };
    if let Ok(error) = serde_json::from_slice::<app::error::AppError>(&bytes) {
        parts.status = error.status_code();
    }
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// Console pages need a signed-in admin: without one, the browser goes to
/// the sign-in page; a signed-in admin asking for sign-in goes to the app.
/// APIs and static files answer for themselves.
async fn page_guard(State(console): State<Console>, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let exempt = [
        "/pkg/",
        "/console/fn/",
        "/console/api/",
        "/api/",
        "/healthz",
        "/favicon.svg",
    ];
    if exempt.iter().any(|prefix| path.starts_with(prefix)) {
        return next.run(request).await;
    }
    // a runtime call under an application's key that no route took
    if let Some(answer) = api::unknown_keyed_call(&console, path) {
        return answer;
    }
    // a DNS-rebinding page reaches the console under a host name of its own
    if !host_allowed(request.headers(), &console.settings.public_origins) {
        return (
            StatusCode::MISDIRECTED_REQUEST,
            "this console is not served under that host name; see CONSOLE_PUBLIC_ORIGINS",
        )
            .into_response();
    }
    let admin = match admin_from_headers(&console, request.headers()).await {
        Ok(admin) => admin,
        Err(error) => {
            let error = app::error::AppError::from(error);
            return (error.status_code(), error.to_string()).into_response();
        }
    };
    let mut response = match (path == "/sign-in", admin.is_some()) {
        (true, true) => Redirect::to("/").into_response(),
        (false, false) => Redirect::to("/sign-in").into_response(),
        _ => next.run(request).await,
    };
    // no console page may be framed (clickjacking), whatever else it sends
    let headers = response.headers_mut();
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("frame-ancestors 'none'"),
        );
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use tower::ServiceExt;

    /// A site folder of its own under the system's temporary folder.
    fn site(name: &str, files: &[(&str, &[u8])]) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("console-site-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for (file, bytes) in files {
            std::fs::write(dir.join(file), bytes).unwrap();
        }
        dir
    }

    async fn get(router: &Router, path: &str, headers: &[(header::HeaderName, &str)]) -> Response {
        let mut request = Request::get(path);
        for (name, value) in headers {
            request = request.header(name, *value);
        }
        router
            .clone()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap()
    }

    fn header_of(response: &Response, name: header::HeaderName) -> Option<&str> {
        response
            .headers()
            .get(name)
            .and_then(|value| value.to_str().ok())
    }

    #[tokio::test]
    async fn a_file_not_named_by_its_bytes_is_revalidated_by_its_bytes_not_its_date() {
        let dir = site("rollback", &[("console.old.wasm", b"the first build")]);
        let router = static_files(&dir);
        let first = get(&router, "/console.old.wasm", &[]).await;
        assert_eq!(first.status(), StatusCode::OK);
        assert_eq!(header_of(&first, header::CACHE_CONTROL), Some("no-cache"));
        assert_eq!(header_of(&first, header::LAST_MODIFIED), None);
        let etag = header_of(&first, header::ETAG).unwrap().to_owned();
        assert!(etag.starts_with("W/\""), "{etag}");
        let again = get(
            &router,
            "/console.old.wasm",
            &[(header::IF_NONE_MATCH, &etag)],
        )
        .await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED);
        assert_eq!(header_of(&again, header::ETAG), Some(etag.as_str()));
        assert_eq!(header_of(&again, header::CACHE_CONTROL), Some("no-cache"));

        // other bytes under the same name and the same date, as a rollback
        // copied with its dates keeps them, and the server started again
        let modified = std::fs::metadata(dir.join("console.old.wasm"))
            .unwrap()
            .modified()
            .unwrap();
        std::fs::write(dir.join("console.old.wasm"), b"the second build").unwrap();
        std::fs::File::options()
            .write(true)
            .open(dir.join("console.old.wasm"))
            .unwrap()
            .set_modified(modified)
            .unwrap();
        // the same server: the new bytes are hashed again when asked for
        // a date after the file's: by date alone it would be "not modified"
        let since = "Fri, 01 Jan 2100 00:00:00 GMT";
        let after = get(
            &router,
            "/console.old.wasm",
            &[
                (header::IF_NONE_MATCH, &etag),
                (header::IF_MODIFIED_SINCE, since),
            ],
        )
        .await;
        assert_eq!(after.status(), StatusCode::OK, "the new bytes are sent");
        assert_ne!(header_of(&after, header::ETAG), Some(etag.as_str()));
        let body = axum::body::to_bytes(after.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"the second build");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn only_a_file_named_by_its_bytes_is_kept_a_year() {
        use md5::Digest;
        let bytes = b"a chunk of the site";
        let hash = base64url(&md5::Md5::digest(bytes));
        let named = format!("chunk.{hash}.wasm");
        let dir = site(
            "named",
            &[(&named, bytes), ("chunk.notitshash.wasm", bytes)],
        );
        let router = static_files(&dir);
        let kept = get(&router, &format!("/{named}"), &[]).await;
        assert_eq!(
            header_of(&kept, header::CACHE_CONTROL),
            Some("public, max-age=31536000, immutable")
        );
        assert_eq!(header_of(&kept, header::VARY), Some("accept-encoding"));
        let asked = get(&router, "/chunk.notitshash.wasm", &[]).await;
        assert_eq!(header_of(&asked, header::CACHE_CONTROL), Some("no-cache"));
        // a file added while the server runs is hashed when first asked for
        std::fs::write(dir.join("late.js"), b"a later file").unwrap();
        let late = get(&router, "/late.js", &[]).await;
        let etag = header_of(&late, header::ETAG).unwrap().to_owned();
        let tag = etag.trim_start_matches("W/");
        let again = get(&router, "/late.js", &[(header::IF_NONE_MATCH, tag)]).await;
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "weak comparison");
        // only a file of the folder itself, named as stored
        for path in [
            format!("/sub/{named}"),
            format!("/{}", named.replace('.', "%2E")),
        ] {
            let reply = get(&router, &path, &[(header::IF_NONE_MATCH, "*")]).await;
            assert_ne!(reply.status(), StatusCode::NOT_MODIFIED, "{path}");
        }
        let missing = get(&router, "/chunk.gone.wasm", &[(header::IF_NONE_MATCH, "*")]).await;
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        assert_eq!(
            header_of(&missing, header::CACHE_CONTROL),
            None,
            "a 404 is never cached"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_build_copied_over_with_the_old_size_and_date_or_a_new_compressed_copy_is_a_new_version(
    ) {
        let dir = site("copies", &[("console.js", b"build one")]);
        let router = static_files(&dir);
        let first = get(&router, "/console.js", &[]).await;
        let etag = header_of(&first, header::ETAG).unwrap().to_owned();

        // the same size and date, moved into place as deploy tools do
        let path = dir.join("console.js");
        let modified = std::fs::metadata(&path).unwrap().modified().unwrap();
        let staged = dir.join(".console.js.new");
        std::fs::write(&staged, b"build two").unwrap();
        std::fs::File::options()
            .write(true)
            .open(&staged)
            .unwrap()
            .set_modified(modified)
            .unwrap();
        std::fs::rename(&staged, &path).unwrap();
        let after = get(&router, "/console.js", &[(header::IF_NONE_MATCH, &etag)]).await;
        assert_eq!(after.status(), StatusCode::OK, "the new bytes are sent");
        let second = header_of(&after, header::ETAG).unwrap().to_owned();
        assert_ne!(second, etag);
        let body = axum::body::to_bytes(after.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"build two");

        // a brotli copy written later may be what is sent: a new version
        std::fs::write(dir.join("console.js.br"), b"brotli bytes").unwrap();
        let brotli = get(
            &router,
            "/console.js",
            &[
                (header::IF_NONE_MATCH, &second),
                (header::ACCEPT_ENCODING, "br"),
            ],
        )
        .await;
        assert_eq!(brotli.status(), StatusCode::OK, "not 304 with the old tag");
        assert_eq!(header_of(&brotli, header::CONTENT_ENCODING), Some("br"));
        let third = header_of(&brotli, header::ETAG).unwrap().to_owned();
        assert_ne!(third, second);
        let body = axum::body::to_bytes(brotli.into_body(), 1024)
            .await
            .unwrap();
        assert_eq!(&body[..], b"brotli bytes");
        // and every encoding shares the new tag (compared weakly)
        let plain = get(&router, "/console.js", &[(header::IF_NONE_MATCH, &third)]).await;
        assert_eq!(plain.status(), StatusCode::NOT_MODIFIED);

        // a copy's name, or a path of several parts, is never a site file
        for name in [
            "console.js.br",
            "console.js.gz",
            "./console.js",
            "pkg/console.js",
            "..",
        ] {
            assert!(!is_site_file_name(name), "{name}");
        }
        assert!(is_site_file_name("console.js"));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[tokio::test]
    async fn a_file_kept_a_year_is_sent_as_such_only_while_it_is_the_file_hashed() {
        use md5::Digest;
        let bytes = b"a chunk";
        let hash = base64url(&md5::Md5::digest(bytes));
        let named = format!("chunk.{hash}.wasm");
        let dir = site("rewritten", &[(&named, bytes)]);
        let files = SiteFiles::read(&dir);
        let file = files.get(&named).await.unwrap();
        assert!(file.content_named);
        assert!(files.unchanged(file.clone(), &named).await.is_some());
        // rewritten in place meanwhile, as a copy over the folder does
        std::fs::write(dir.join(".staged"), b"a chu").unwrap();
        std::fs::rename(dir.join(".staged"), dir.join(&named)).unwrap();
        assert!(files.unchanged(file, &named).await.is_none());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
