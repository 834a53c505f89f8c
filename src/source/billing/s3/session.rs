//! The S3 client of the billing reader, and the async runtime it needs, kept on a thread of
//! their own.
//!
//! The billing reader is synchronous and may be called from anywhere: the command line, a
//! `spawn_blocking` thread of the dashboard, or code already inside a tokio runtime. Blocking on
//! a runtime from inside another panics, so no `block_on` happens on the caller's thread:
//! requests are futures sent to the runtime thread, answers come back over std channels, and
//! an object's body arrives in a bounded channel the caller reads as a [`Read`].

use std::future::Future;
use std::io::Read;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};

use aws_config::SdkConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::sync::Notify;

use crate::source::aws::{ApiFailure, client};

type Job = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Chunks of a body in flight between the runtime and the reader (hyper's are 8-16 KiB).
const IN_FLIGHT: usize = 16;

/// A connection to S3: cheap to clone, and every clone shares the runtime thread, which stops
/// when the last clone is dropped.
#[derive(Clone)]
pub struct Session {
    jobs: tokio::sync::mpsc::UnboundedSender<Job>,
    config: SdkConfig,
    client: Client,
    /// GET requests made (measurements, tests).
    gets: Arc<AtomicU64>,
}

/// A failure before any S3 answer: no runtime or the runtime thread is gone.
fn stopped() -> String {
    "the S3 reader's runtime stopped".to_string()
}

impl Session {
    /// The default credential chain (`AWS_PROFILE` and the rest) and its region, else us-east-1;
    /// the endpoint is aws-config's own (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`).
    pub fn connect() -> Result<Session, String> {
        Session::start(None)
    }

    /// A session with `config` as it is (tests: an emulator's endpoint and credentials).
    pub fn with_config(config: SdkConfig) -> Result<Session, String> {
        Session::start(Some(config))
    }

    fn start(config: Option<SdkConfig>) -> Result<Session, String> {
        let (jobs, mut queue) = tokio::sync::mpsc::unbounded_channel::<Job>();
        let (ready_tx, ready_rx) = std::sync::mpsc::sync_channel::<Result<(), String>>(1);
        std::thread::Builder::new()
            .name("costscope-s3".to_string())
            .spawn(move || {
                let runtime =
                    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                        Ok(runtime) => runtime,
                        Err(e) => {
                            let _ = ready_tx.send(Err(format!("no async runtime: {e}")));
                            return;
                        }
                    };
                let _ = ready_tx.send(Ok(()));
                runtime.block_on(async move {
                    while let Some(job) = queue.recv().await {
                        tokio::spawn(job);
                    }
                });
            })
            .map_err(|e| format!("cannot start the S3 reader's thread: {e}"))?;
        ready_rx.recv().map_err(|_| stopped())??;
        let config = match config {
            Some(config) => config,
            None => run(&jobs, client::load(None, None, client::Timeouts::default()))?,
        };
        let client = crate::source::aws::s3::client(&config);
        Ok(Session { jobs, config, client, gets: Arc::new(AtomicU64::new(0)) })
    }

    /// The same session with a client in `region` (a bucket answers only from its own).
    pub fn in_region(&self, region: &str) -> Session {
        let config = client::in_region(&self.config, region);
        let client = crate::source::aws::s3::client(&config);
        Session { client, config, ..self.clone() }
    }

    /// Runs `make`'s future on the runtime thread and waits for its output.
    pub fn run<T, F>(&self, make: impl FnOnce(Client) -> F) -> Result<T, String>
    where
        T: Send + 'static,
        F: Future<Output = T> + Send + 'static,
    {
        run(&self.jobs, make(self.client.clone()))
    }

    /// GET requests made so far by this session and its clones.
    pub fn gets(&self) -> u64 {
        self.gets.load(Ordering::Relaxed)
    }

    /// Starts a GET of `key` (bytes from `start` on, or the whole object) and returns its body
    /// as a reader once S3 has answered; `Err` is S3's refusal, said as [`ApiFailure`] does.
    pub fn open(&self, bucket: &str, key: &str, start: Option<u64>) -> Result<ObjectBody, String> {
        self.gets.fetch_add(1, Ordering::Relaxed);
        let (bucket, key) = (bucket.to_string(), key.to_string());
        let answer = self.run(move |s3| async move {
            let mut get = s3.get_object().bucket(bucket).key(key);
            if let Some(start) = start {
                get = get.range(format!("bytes={start}-"));
            }
            get.send().await.map_err(|e| ApiFailure::new("S3", "GetObject", e).to_string())
        })??;
        let (tx, rx) = std::sync::mpsc::sync_channel(IN_FLIGHT);
        let wake = Arc::new(Notify::new());
        let closed = Arc::new(AtomicBool::new(false));
        let pump = pump(answer.body, tx, Arc::clone(&wake), Arc::clone(&closed));
        self.jobs.send(Box::pin(pump)).map_err(|_| stopped())?;
        Ok(ObjectBody { rx, wake, closed, current: Bytes::new(), ended: false })
    }

    /// `len` bytes of `key` from `start`, in one ranged GET.
    pub fn range(&self, bucket: &str, key: &str, start: u64, len: u64) -> Result<Bytes, String> {
        if len == 0 {
            return Ok(Bytes::new());
        }
        self.gets.fetch_add(1, Ordering::Relaxed);
        let (bucket, key) = (bucket.to_string(), key.to_string());
        let last = start + len - 1;
        let bytes = self.run(move |s3| async move {
            let answer = s3
                .get_object()
                .bucket(bucket)
                .key(key)
                .range(format!("bytes={start}-{last}"))
                .send()
                .await
                .map_err(|e| ApiFailure::new("S3", "GetObject", e).to_string())?;
            answer
                .body
                .collect()
                .await
                .map(|b| b.into_bytes())
                .map_err(|e| format!("S3 GetObject: {}", crate::error_chain(&e)))
        })??;
        if bytes.len() as u64 != len {
            return Err(format!(
                "S3 answered {} bytes for the {len} asked at offset {start}",
                bytes.len()
            ));
        }
        Ok(bytes)
    }
}

fn run<T, F>(jobs: &tokio::sync::mpsc::UnboundedSender<Job>, future: F) -> Result<T, String>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job = async move {
        let _ = tx.send(future.await);
    };
    jobs.send(Box::pin(job)).map_err(|_| stopped())?;
    rx.recv().map_err(|_| stopped())
}

enum Piece {
    Chunk(Bytes),
    End,
    Failed(String),
}

/// Moves a body's chunks into the reader's channel. The channel is bounded and the runtime
/// thread must never block, so a full channel is waited on with `wake`, which the reader
/// signals after each chunk it takes (and once more when it is dropped, setting `closed`).
async fn pump(
    mut body: ByteStream,
    tx: SyncSender<Piece>,
    wake: Arc<Notify>,
    closed: Arc<AtomicBool>,
) {
    loop {
        let piece = match body.next().await {
            Some(Ok(bytes)) => Piece::Chunk(bytes),
            Some(Err(e)) => Piece::Failed(format!("S3 GetObject: {}", crate::error_chain(&e))),
            None => Piece::End,
        };
        let last = !matches!(piece, Piece::Chunk(_));
        let mut piece = piece;
        loop {
            match tx.try_send(piece) {
                Ok(()) => break,
                Err(TrySendError::Disconnected(_)) => return,
                Err(TrySendError::Full(p)) => {
                    if closed.load(Ordering::Acquire) {
                        return;
                    }
                    piece = p;
                    wake.notified().await;
                }
            }
        }
        if last {
            return;
        }
    }
}

/// An object's body as a [`Read`]. A body cut off (the connection, the runtime) is an error,
/// never a short read that would pass for the end of the data.
pub struct ObjectBody {
    rx: Receiver<Piece>,
    wake: Arc<Notify>,
    closed: Arc<AtomicBool>,
    current: Bytes,
    ended: bool,
}

impl Read for ObjectBody {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            if self.ended {
                return Ok(0);
            }
            let piece = self.rx.recv();
            self.wake.notify_one();
            match piece {
                Ok(Piece::Chunk(bytes)) => self.current = bytes,
                Ok(Piece::End) => self.ended = true,
                Ok(Piece::Failed(message)) => return Err(std::io::Error::other(message)),
                Err(_) => return Err(std::io::Error::other(stopped())),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

impl Drop for ObjectBody {
    fn drop(&mut self) {
        // A body left unread (a bad row, a Parquet object sniffed) frees its pump.
        self.closed.store(true, Ordering::Release);
        self.wake.notify_one();
    }
}
