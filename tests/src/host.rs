//! The host: loads the components named in `spin.toml`, routes HTTP requests
//! to them, and runs each request in a fresh instance, as Spin does.
//!
//! Components are compiled once and pre-instantiated; a request costs one
//! instantiation from the pooling allocator plus the guest's own work. What
//! a guest prints is captured per request and kept in [`GuestLogs`], so a
//! failing test can show it.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context as TaskContext, Poll};
use std::time::Instant;

use anyhow::{Context, Result};
use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, InstanceAllocationStrategy, PoolingAllocationConfig, Store};
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::ProxyPre;
use wasmtime_wasi_http::p2::bindings::http::types::Scheme;
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{WasiHttpCtx, WasiHttpCtxView, WasiHttpView};

use crate::manifest::{self, Manifest, Route};
use crate::outbound::AllowedHost;
use crate::outbound_http::OutboundHttp;
use crate::spin::{self, Grants, RedisKeyValue, SpinCtx};
use crate::sqlite;

/// How much of one request's guest output is kept.
const CAPTURE_BYTES: usize = 1 << 20;
/// How many requests' guest output [`GuestLogs`] keeps.
const KEPT_LOGS: usize = 4096;

/// How the host is set up.
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// The application manifest.
    pub manifest: PathBuf,
    /// Application variable values, as `SPIN_VARIABLE_*` gives them to Spin.
    pub variables: BTreeMap<String, String>,
    /// The Redis URL behind each key-value store label, as
    /// a Spin runtime configuration maps them (no Tombola component uses one).
    pub key_value_stores: BTreeMap<String, String>,
    /// The file behind each SQLite database label, as Spin's runtime
    /// configuration maps them (`default`: `.spin/sqlite_db.db`).
    pub sqlite_databases: BTreeMap<String, PathBuf>,
    /// Whether guest output is also printed to the host's stderr as it comes.
    pub echo_guest_output: bool,
    /// Seconds added to the wall clock the guests read (negative: behind),
    /// as on a machine whose clock is set wrong.
    pub wall_clock_offset_seconds: i64,
}

/// The host's wall clock moved by a fixed number of seconds.
struct OffsetWallClock(i64);

impl wasmtime_wasi::HostWallClock for OffsetWallClock {
    fn resolution(&self) -> std::time::Duration {
        std::time::Duration::from_nanos(1)
    }

    fn now(&self) -> std::time::Duration {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("the system clock is after 1970");
        let offset = std::time::Duration::from_secs(self.0.unsigned_abs());
        if self.0 < 0 {
            now.saturating_sub(offset)
        } else {
            now + offset
        }
    }
}

/// One request's captured guest output.
#[derive(Debug, Clone)]
pub struct GuestLog {
    /// The component that served it.
    pub component: String,
    /// Method and path.
    pub request: String,
    /// What the guest wrote to stdout and stderr.
    pub output: String,
}

/// The most recent requests' guest output.
#[derive(Debug, Default)]
pub struct GuestLogs(Mutex<VecDeque<GuestLog>>);

impl GuestLogs {
    fn push(&self, log: GuestLog) {
        let mut logs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if logs.len() == KEPT_LOGS {
            logs.pop_front();
        }
        logs.push_back(log);
    }

    /// Everything kept, oldest first.
    pub fn snapshot(&self) -> Vec<GuestLog> {
        let logs = self.0.lock().unwrap_or_else(|p| p.into_inner());
        logs.iter().cloned().collect()
    }
}

struct LoadedComponent {
    id: String,
    pre: ProxyPre<RequestState>,
    grants: Arc<Grants>,
    sqlite: Arc<sqlite::Grants>,
}

/// The running application: components compiled and ready to instantiate.
pub struct Host {
    engine: Engine,
    components: Vec<LoadedComponent>,
    routes: Vec<(Route, usize)>,
    logs: Arc<GuestLogs>,
    echo: bool,
    clock_offset: i64,
    stats: Arc<InstantiationStats>,
    writes: Arc<SocketWrites>,
}

/// How many instances the host created and how long that took in all.
#[derive(Debug, Default)]
pub struct InstantiationStats {
    count: AtomicU64,
    nanos: AtomicU64,
}

impl InstantiationStats {
    fn record(&self, started: Instant) {
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.count.fetch_add(1, Ordering::Relaxed);
        self.nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Instances created so far.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    /// Mean time to create one instance, in microseconds.
    pub fn mean_micros(&self) -> f64 {
        let count = self.count();
        if count == 0 {
            return 0.0;
        }
        self.nanos.load(Ordering::Relaxed) as f64 / count as f64 / 1000.0
    }
}

/// How many writes the HTTP server has made on each open connection, by
/// client address: a response that took more than one write is one that
/// Nagle's algorithm can hold back.
#[derive(Debug, Default)]
pub struct SocketWrites(Mutex<HashMap<SocketAddr, Arc<AtomicU64>>>);

impl SocketWrites {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<SocketAddr, Arc<AtomicU64>>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn track(&self, stream: TcpStream, client: SocketAddr) -> CountedWrites {
        let writes = Arc::new(AtomicU64::new(0));
        self.lock().insert(client, writes.clone());
        CountedWrites { stream, writes }
    }

    fn forget(&self, client: SocketAddr) {
        self.lock().remove(&client);
    }

    /// The writes that put bytes on the connection from `client` so far,
    /// or `None` once it is closed.
    pub fn count(&self, client: SocketAddr) -> Option<u64> {
        self.lock().get(&client).map(|w| w.load(Ordering::SeqCst))
    }
}

/// A connection that counts the writes that moved bytes, each one `write`
/// or `writev` call on the socket, and otherwise passes everything through.
struct CountedWrites {
    stream: TcpStream,
    writes: Arc<AtomicU64>,
}

impl CountedWrites {
    fn counted(&self, polled: Poll<std::io::Result<usize>>) -> Poll<std::io::Result<usize>> {
        if let Poll::Ready(Ok(n)) = &polled
            && *n > 0
        {
            self.writes.fetch_add(1, Ordering::SeqCst);
        }
        polled
    }
}

impl AsyncRead for CountedWrites {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedWrites {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write(cx, buf);
        self.counted(polled)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.stream).poll_write_vectored(cx, bufs);
        self.counted(polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(
        mut self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// Per-request store data.
pub struct RequestState {
    hooks: OutboundHttp,
    table: ResourceTable,
    wasi: WasiCtx,
    http: WasiHttpCtx,
    grants: Arc<Grants>,
    sqlite: sqlite::SqliteState,
}

impl WasiView for RequestState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

impl WasiHttpView for RequestState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView {
            ctx: &mut self.http,
            table: &mut self.table,
            hooks: &mut self.hooks,
        }
    }
}

impl RequestState {
    fn spin(&mut self) -> SpinCtx<'_> {
        SpinCtx {
            table: &mut self.table,
            grants: &self.grants,
        }
    }
}

/// A tiny `HasData` marker for the Spin interfaces' view of a request.
struct SpinView;

impl wasmtime::component::HasData for SpinView {
    type Data<'a> = SpinCtx<'a>;
}

fn engine() -> Result<Engine> {
    let mut pooling = PoolingAllocationConfig::default();
    pooling
        .total_component_instances(1024)
        .total_core_instances(4096)
        .total_memories(1024)
        .total_tables(2048)
        .total_stacks(1024)
        .max_memory_size(256 << 20);
    let mut config = Config::new();
    config
        .wasm_component_model(true)
        .allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
    Ok(Engine::new(&config)?)
}

type CompiledCache = Mutex<BTreeMap<PathBuf, (std::time::SystemTime, Component)>>;

/// Compiles a component once per process and file version: test suites
/// start many hosts over the same `.wasm`.
fn compile(engine: &Engine, path: &Path) -> Result<Component> {
    static CACHE: std::sync::OnceLock<CompiledCache> = std::sync::OnceLock::new();
    let modified = std::fs::metadata(path)
        .and_then(|m| m.modified())
        .with_context(|| {
            format!(
                "component {} is missing: build it with `cargo xtask build`",
                path.display()
            )
        })?;
    let cache = CACHE.get_or_init(Default::default);
    if let Some((at, component)) = cache.lock().unwrap_or_else(|p| p.into_inner()).get(path)
        && *at == modified
    {
        return Ok(component.clone());
    }
    let component = Component::from_file(engine, path)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("cannot compile component {}", path.display()))?;
    cache
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .insert(path.to_owned(), (modified, component.clone()));
    Ok(component)
}

fn shared_engine() -> Result<Engine> {
    static ENGINE: std::sync::OnceLock<Engine> = std::sync::OnceLock::new();
    if let Some(engine) = ENGINE.get() {
        return Ok(engine.clone());
    }
    let engine = engine()?;
    Ok(ENGINE.get_or_init(|| engine).clone())
}

impl Host {
    /// Loads the manifest, resolves variables and grants, and compiles and
    /// links every component.
    ///
    /// Fails when the manifest is invalid, a required variable has no
    /// value, a component file is missing, or a component imports something
    /// this host does not provide.
    pub fn new(options: &HostOptions) -> Result<Self> {
        let manifest = Manifest::load(&options.manifest)?;
        let values = manifest.resolve_variables(&options.variables)?;
        let engine = shared_engine()?;

        let mut linker: Linker<RequestState> = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker)?;
        spin::SpinHost::add_to_linker::<_, SpinView>(&mut linker, RequestState::spin)?;
        sqlite::add_to_linker(&mut linker, |state: &mut RequestState| &mut state.sqlite)?;

        // One store per label for the whole application, shared by every
        // component granted it, as Spin's runtime config makes them.
        let stores: BTreeMap<String, Arc<RedisKeyValue>> = options
            .key_value_stores
            .iter()
            .map(|(label, url)| (label.clone(), Arc::new(RedisKeyValue::new(url.clone()))))
            .collect();
        let mut components = Vec::new();
        let mut routes = Vec::new();
        for component in &manifest.components {
            let variables = component
                .variables
                .iter()
                .map(|(name, template)| Ok((name.clone(), manifest::render(template, &values)?)))
                .collect::<Result<BTreeMap<_, _>>>()
                .with_context(|| format!("component {}", component.id))?;
            let allowed_hosts = component
                .allowed_outbound_hosts
                .iter()
                .map(|entry| AllowedHost::parse(&manifest::render(entry, &variables)?))
                .collect::<Result<Vec<_>>>()
                .with_context(|| format!("allowed_outbound_hosts of {}", component.id))?;
            let mut key_value_stores = BTreeMap::new();
            for label in &component.key_value_stores {
                let store = stores.get(label).with_context(|| {
                    format!(
                        "component {} uses key-value store {label:?}, which the host has no backend for",
                        component.id
                    )
                })?;
                key_value_stores.insert(label.clone(), store.clone());
            }
            let sqlite = sqlite::grants_for(
                &component.id,
                &component.sqlite_databases,
                &options.sqlite_databases,
            )?;
            let compiled = compile(&engine, &component.source)?;
            let pre = linker
                .instantiate_pre(&compiled)
                .map_err(anyhow::Error::from)
                .with_context(|| format!("cannot link component {}", component.id))?;
            let pre = ProxyPre::new(pre)
                .map_err(anyhow::Error::from)
                .with_context(|| {
                    format!(
                        "component {} does not export wasi:http/incoming-handler",
                        component.id
                    )
                })?;
            for route in &component.routes {
                routes.push((route.clone(), components.len()));
            }
            components.push(LoadedComponent {
                id: component.id.clone(),
                pre,
                grants: Arc::new(Grants {
                    variables,
                    allowed_hosts,
                    key_value_stores,
                }),
                sqlite: Arc::new(sqlite),
            });
        }
        Ok(Self {
            engine,
            components,
            routes,
            logs: Arc::new(GuestLogs::default()),
            echo: options.echo_guest_output,
            clock_offset: options.wall_clock_offset_seconds,
            stats: Arc::new(InstantiationStats::default()),
            writes: Arc::new(SocketWrites::default()),
        })
    }

    /// Instantiation counts and times.
    pub fn stats(&self) -> Arc<InstantiationStats> {
        self.stats.clone()
    }

    /// The writes made on each open connection.
    pub fn socket_writes(&self) -> Arc<SocketWrites> {
        self.writes.clone()
    }

    /// The guest output of recent requests.
    pub fn logs(&self) -> Arc<GuestLogs> {
        self.logs.clone()
    }

    fn route(&self, path: &str) -> Option<(&Route, &LoadedComponent)> {
        self.routes
            .iter()
            .filter_map(|(route, index)| Some((route.specificity(path)?, route, *index)))
            .max_by_key(|(rank, _, _)| *rank)
            .map(|(_, route, index)| (route, &self.components[index]))
    }

    /// Serves one request: routes it, instantiates the component, and runs
    /// its handler.
    pub async fn handle<B>(
        &self,
        request: hyper::Request<B>,
        client: SocketAddr,
    ) -> Result<hyper::Response<HyperOutgoingBody>>
    where
        B: hyper::body::Body<Data = Bytes> + Send + 'static,
        B::Error: Into<wasmtime_wasi_http::Error>,
    {
        let path = request.uri().path().to_owned();
        let Some((route, component)) = self.route(&path) else {
            return Ok(not_found());
        };
        let request = with_spin_headers(request, route, client)?;
        let label = format!("{} {}", request.method(), request.uri());

        let capture = MemoryOutputPipe::new(CAPTURE_BYTES);
        let wasi = WasiCtx::builder()
            .stdout(capture.clone())
            .stderr(capture.clone())
            .wall_clock(OffsetWallClock(self.clock_offset))
            .build();
        let mut store = Store::new(
            &self.engine,
            RequestState {
                hooks: OutboundHttp::new(component.grants.clone()),
                table: ResourceTable::new(),
                wasi,
                http: WasiHttpCtx::new(),
                grants: component.grants.clone(),
                sqlite: sqlite::SqliteState::new(component.sqlite.clone()),
            },
        );
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let incoming = store
            .data_mut()
            .http()
            .new_incoming_request(Scheme::Http, request)?;
        let outparam = store.data_mut().http().new_response_outparam(sender)?;
        let pre = component.pre.clone();
        let logs = self.logs.clone();
        let echo = self.echo;
        let id = component.id.clone();
        let stats = self.stats.clone();

        // The guest may go on writing the body after it has set the
        // response, so it runs in a task of its own.
        let task = tokio::spawn(async move {
            let result = async {
                let started = Instant::now();
                let proxy = pre.instantiate_async(&mut store).await?;
                stats.record(started);
                proxy
                    .wasi_http_incoming_handler()
                    .call_handle(&mut store, incoming, outparam)
                    .await
            }
            .await;
            drop(store);
            let output = String::from_utf8_lossy(&capture.contents()).into_owned();
            if echo && !output.is_empty() {
                for line in output.lines() {
                    eprintln!("[{id}] {line}");
                }
            }
            logs.push(GuestLog {
                component: id,
                request: label,
                output,
            });
            result
        });

        match receiver.await {
            Ok(Ok(response)) => {
                // As Spin does, the guest runs on after its answer, and
                // what fails then is only logged.
                let component = component.id.clone();
                tokio::spawn(async move {
                    let error = match task.await {
                        Ok(Ok(())) => return,
                        Ok(Err(e)) => anyhow::Error::from(e),
                        Err(e) => anyhow::Error::new(e),
                    };
                    tracing::warn!(
                        component,
                        "component error after response started: {error:#}"
                    );
                });
                Ok(response)
            }
            Ok(Err(code)) => Err(anyhow::anyhow!("guest answered with an error: {code:?}")),
            Err(_) => {
                let error = match task.await {
                    Ok(Ok(())) => anyhow::anyhow!("guest never set a response"),
                    Ok(Err(e)) => {
                        anyhow::Error::from(e).context("guest trapped before setting a response")
                    }
                    Err(e) => anyhow::Error::new(e).context("guest task failed"),
                };
                Err(error)
            }
        }
    }

    /// Accepts connections on `listener` and serves them until the task is
    /// dropped or aborted.
    ///
    /// Connections are served as Spin 4.0.2's HTTP trigger serves them:
    /// HTTP/1.1 or HTTP/2 by what the client speaks, keep-alive on, and
    /// Nagle's algorithm left on (Spin never sets `TCP_NODELAY`), so a
    /// response the guest writes in more than one piece can wait for the
    /// client's delayed ACK exactly as it would under Spin.
    pub async fn serve(self: Arc<Self>, listener: TcpListener) -> Result<()> {
        loop {
            let (stream, client) = listener.accept().await?;
            let stream = self.writes.track(stream, client);
            let host = self.clone();
            let host_writes = self.writes.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let host = host.clone();
                    async move {
                        let response = match host.handle(request, client).await {
                            Ok(response) => response,
                            Err(error) => {
                                tracing::error!(
                                    error = format!("{error:#}"),
                                    "request failed in the host"
                                );
                                internal_error(&error)
                            }
                        };
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                if let Err(error) =
                    hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await
                {
                    tracing::debug!(%client, %error, "connection closed with an error");
                }
                host_writes.forget(client);
            });
        }
    }
}

/// Adds the headers Spin gives every request.
fn with_spin_headers<B>(
    request: hyper::Request<B>,
    route: &Route,
    client: SocketAddr,
) -> Result<hyper::Request<B>> {
    let (mut parts, body) = request.into_parts();
    let path = parts.uri.path().to_owned();
    let host = parts
        .headers
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or("localhost")
        .to_owned();
    let path_info = path.strip_prefix(route.base()).unwrap_or("").to_owned();
    let full_url = format!(
        "http://{host}{}",
        parts.uri.path_and_query().map_or("/", |p| p.as_str())
    );
    let headers = [
        ("spin-full-url", full_url),
        ("spin-path-info", path_info),
        ("spin-matched-route", route.as_manifest()),
        ("spin-component-route", route.base().to_owned()),
        ("spin-raw-component-route", route.as_manifest()),
        ("spin-base-path", "/".to_owned()),
        ("spin-client-addr", client.to_string()),
    ];
    for (name, value) in headers {
        parts.headers.insert(name, value.parse()?);
    }
    Ok(hyper::Request::from_parts(parts, body))
}

fn full_body(status: u16, content_type: &str, body: String) -> hyper::Response<HyperOutgoingBody> {
    let body: UnsyncBoxBody<Bytes, wasmtime_wasi_http::Error> =
        http_body_util::Full::new(Bytes::from(body))
            .map_err(|never| match never {})
            .boxed_unsync();
    hyper::Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(body)
        .expect("static response parts are valid")
}

fn not_found() -> hyper::Response<HyperOutgoingBody> {
    full_body(404, "text/plain", "no route\n".into())
}

fn internal_error(error: &anyhow::Error) -> hyper::Response<HyperOutgoingBody> {
    full_body(500, "text/plain", format!("host error: {error:#}\n"))
}
