//! A loopback TCP proxy in front of a server, for fault tests: it forwards
//! bytes both ways, and on command drops the next reply, closing the
//! client's connection at the first byte the server answers with (the
//! server has then done the request; the client never learns it, as when a
//! network fails between a server's commit and its answer), or hangs: the
//! connections it then accepts are read and never answered, as by a server
//! that has stopped responding, until they are let go.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use anyhow::Result;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

#[derive(Default)]
struct Faults {
    drop_next_reply: AtomicBool,
    dropped: AtomicU64,
    hang: AtomicBool,
    hung: AtomicU64,
    let_go: Notify,
}

/// The proxy, serving until dropped.
pub struct FaultProxy {
    addr: SocketAddr,
    faults: Arc<Faults>,
    task: JoinHandle<()>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards every connection to
    /// `upstream`.
    pub async fn start(upstream: SocketAddr) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let faults = Arc::new(Faults::default());
        let shared = faults.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                tokio::spawn(forward(client, upstream, shared.clone()));
            }
        });
        Ok(Self { addr, faults, task })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The next reply the server starts is dropped: its connection to the
    /// client is closed without a byte of it.
    pub fn drop_next_reply(&self) {
        self.faults.drop_next_reply.store(true, Ordering::SeqCst);
    }

    /// How many replies were dropped.
    pub fn dropped(&self) -> u64 {
        self.faults.dropped.load(Ordering::SeqCst)
    }

    /// Whether the connections accepted from now on are left unanswered.
    pub fn hang(&self, hang: bool) {
        self.faults.hang.store(hang, Ordering::SeqCst);
    }

    /// How many connections have sent a request and been left unanswered.
    pub fn hung(&self) -> u64 {
        self.faults.hung.load(Ordering::SeqCst)
    }

    /// Closes every connection left unanswered so far, as a server that
    /// stopped responding and is then restarted does.
    pub fn let_hung_go(&self) {
        self.faults.let_go.notify_waiters();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Copies `client`'s bytes to a new connection to `upstream` and the
/// answers back, until either side closes or a reply is dropped; when
/// hanging, reads the client's bytes until it gives up.
async fn forward(mut client: TcpStream, upstream: SocketAddr, faults: Arc<Faults>) {
    if faults.hang.load(Ordering::SeqCst) {
        let let_go = faults.let_go.notified();
        let mut buffer = vec![0; 16 * 1024];
        let held = async {
            if matches!(client.read(&mut buffer).await, Ok(read) if read > 0) {
                faults.hung.fetch_add(1, Ordering::SeqCst);
                while matches!(client.read(&mut buffer).await, Ok(read) if read > 0) {}
            }
        };
        tokio::select! {
            () = held => {}
            () = let_go => {}
        }
        return;
    }
    let Ok(server) = TcpStream::connect(upstream).await else {
        return;
    };
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let requests = tokio::spawn(async move {
        let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
        let _ = server_write.shutdown().await;
    });
    let mut buffer = vec![0; 16 * 1024];
    loop {
        let read = match server_read.read(&mut buffer).await {
            Ok(0) | Err(_) => break,
            Ok(read) => read,
        };
        if faults.drop_next_reply.swap(false, Ordering::SeqCst) {
            faults.dropped.fetch_add(1, Ordering::SeqCst);
            break;
        }
        if client_write.write_all(&buffer[..read]).await.is_err() {
            break;
        }
    }
    // Both connections close here: the client's reading half goes with
    // the copying task.
    requests.abort();
}
