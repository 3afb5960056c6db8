//! Keeps the test servers alive for the life of the test binary, and cleans up after them.
//!
//! Each server is started on a thread of its own that then sleeps forever holding it: the
//! servers are started with "kill me when my parent thread dies", and test threads come and go,
//! so a long-lived thread must be the parent. When the binary exits, an `atexit` hook kills the
//! servers and removes their scratch directories; directories left by a crashed run are removed
//! by the next one.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, Once, mpsc};

use devservers::{ServerProcess, StartError};

/// Servers started by this binary and their scratch directories, for the exit hook.
static STARTED: Mutex<Vec<(u32, PathBuf)>> = Mutex::new(Vec::new());

/// Starts a server with a fresh scratch directory and keeps it running until the binary exits.
/// Returns its port.
pub(super) fn start_kept<F>(name: &'static str, start: F) -> Result<u16, String>
where
    F: FnOnce(&Path) -> Result<ServerProcess, StartError> + Send + 'static,
{
    let dir = scratch_dir(name)?;
    let (port_tx, port_rx) = mpsc::channel();
    std::thread::Builder::new()
        .name(format!("keep-{name}"))
        .spawn(move || match start(&dir) {
            Ok(process) => {
                register(process.pid(), dir);
                let _ = port_tx.send(Ok(process.port()));
                let _kept = process;
                loop {
                    std::thread::park();
                }
            }
            Err(error) => {
                let _ = std::fs::remove_dir_all(&dir);
                let _ = port_tx.send(Err(format!("could not start {name}: {error}")));
            }
        })
        .map_err(|error| format!("could not start a thread for {name}: {error}"))?;
    port_rx
        .recv()
        .map_err(|_| format!("the thread starting {name} died"))?
}

/// A real `mongod` starts as an uninitiated replica set member; make it a one-node replica set
/// (transactions need one) and wait until it is primary. Runs on its own thread because the
/// caller may be inside a test's async runtime.
pub(super) fn ensure_replica_set(uri: &str, port: u16) -> Result<(), String> {
    use mongodb::bson::doc;

    let uri = uri.to_owned();
    blocking(move || async move {
        let client = mongodb::Client::with_uri_str(&uri).await?;
        let admin = client.database("admin");
        let is_primary = || async {
            admin
                .run_command(doc! { "hello": 1 })
                .await
                .ok()
                .and_then(|hello| hello.get_bool("isWritablePrimary").ok())
                .unwrap_or(false)
        };
        if is_primary().await {
            return Ok(());
        }
        let members = vec![doc! { "_id": 0, "host": format!("127.0.0.1:{port}") }];
        // An error here usually means "already initiated"; the wait below decides.
        let _ = admin
            .run_command(doc! { "replSetInitiate": { "_id": "rs0", "members": members } })
            .await;
        for _ in 0..300 {
            if is_primary().await {
                return Ok(());
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        anyhow::bail!("mongod did not become a replica set primary within 30 s")
    })
}

/// Runs the future `make` returns to its end on a runtime of its own, on a thread of its own:
/// the caller may be inside a test's async runtime, which cannot block on another.
pub(super) fn blocking<F, Fut, E>(make: F) -> Result<(), String>
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: std::future::Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let run = move || -> Result<(), String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| error.to_string())?;
        runtime
            .block_on(make())
            .map_err(|error| format!("{:#}", error.into()))
    };
    std::thread::spawn(run)
        .join()
        .map_err(|_| "a set-up thread of the test harness panicked".to_owned())?
}

fn register(pid: u32, dir: PathBuf) {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: registering a plain `extern "C" fn` that takes no arguments is always sound.
        #[allow(unsafe_code)]
        unsafe {
            libc::atexit(stop_all);
        }
    });
    if let Ok(mut started) = STARTED.lock() {
        started.push((pid, dir));
    }
}

/// The exit hook: kill each server, reap it, remove its files.
extern "C" fn stop_all() {
    let Ok(started) = STARTED.lock() else { return };
    for (pid, dir) in started.iter() {
        devservers::process::signal(*pid, libc::SIGKILL);
        if let Ok(pid) = libc::pid_t::try_from(*pid) {
            // SAFETY: waitpid on our own child with a null status pointer is sound.
            #[allow(unsafe_code)]
            unsafe {
                libc::waitpid(pid, std::ptr::null_mut(), 0);
            }
        }
        let _ = std::fs::remove_dir_all(dir);
    }
}

/// `<tmp>/ticketing-rs-tests/<pid>-<name>`, after removing what dead test runs left behind.
fn scratch_dir(name: &str) -> Result<PathBuf, String> {
    let root = std::env::temp_dir().join("ticketing-rs-tests");
    if let Ok(entries) = std::fs::read_dir(&root) {
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let owner = file_name
                .to_string_lossy()
                .split('-')
                .next()
                .map(str::to_owned);
            let alive = owner.is_some_and(|pid| Path::new("/proc").join(pid).exists());
            if !alive {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let dir = root.join(format!("{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir)
        .map_err(|error| format!("creating {}: {error}", dir.display()))?;
    Ok(dir)
}
