//! A started server process: output forwarding, readiness, and stopping it.

use std::collections::VecDeque;
use std::fmt;
use std::io::{BufRead, BufReader, Read};
use std::net::TcpStream;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Where a server's output lines go (stdout and stderr alike), after readiness is checked.
pub type LineSink = Arc<dyn Fn(&str) + Send + Sync>;

/// A sink that drops every line (the default for tests: the last lines are still kept for
/// error reports).
pub fn discard() -> LineSink {
    Arc::new(|_| {})
}

/// Reads the port a server announces from one line of its output, if the line announces it.
pub type PortMatcher = dyn Fn(&str) -> Option<u16> + Send + Sync;

/// How to tell that a server is ready, and on which port.
pub enum Readiness {
    /// A line of its output names the port it listens on.
    LogLine(Box<PortMatcher>),
    /// It listens on this known port once a TCP connection succeeds.
    Tcp(u16),
}

impl Readiness {
    /// One of the workspace's services, bound to `port`: it logs `listening address=HOST:PORT`
    /// once bound (`common::server::Server::bind`, at `info`). Unlike [`Readiness::Tcp`],
    /// another process already listening on the port cannot pass for it.
    pub fn service_on(port: u16) -> Readiness {
        Readiness::LogLine(Box::new(move |line: &str| {
            let (_, after) = line.split_once("listening address=")?;
            let address = after.split_whitespace().next()?;
            let (_, announced) = address.rsplit_once(':')?;
            (announced.parse() == Ok(port)).then_some(port)
        }))
    }
}

/// Why a server could not be started.
#[derive(Debug)]
pub enum StartError {
    /// The program could not be executed at all.
    Spawn {
        program: String,
        source: std::io::Error,
    },
    /// It exited before it was ready.
    Exited {
        name: String,
        status: ExitStatus,
        last_lines: Vec<String>,
    },
    /// It did not get ready in time.
    Timeout {
        name: String,
        after: Duration,
        last_lines: Vec<String>,
    },
}

impl StartError {
    /// Whether the failure looks like a port that was taken in the meantime (worth a retry).
    pub fn is_address_in_use(&self) -> bool {
        match self {
            StartError::Exited { last_lines, .. } | StartError::Timeout { last_lines, .. } => {
                last_lines
                    .iter()
                    .any(|line| line.to_lowercase().contains("address already in use"))
            }
            StartError::Spawn { .. } => false,
        }
    }
}

impl fmt::Display for StartError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartError::Spawn { program, source } => write!(f, "could not run {program}: {source}"),
            StartError::Exited {
                name,
                status,
                last_lines,
            } => {
                write!(f, "{name} exited before it was ready ({status})")?;
                write_lines(f, last_lines)
            }
            StartError::Timeout {
                name,
                after,
                last_lines,
            } => {
                write!(f, "{name} was not ready after {after:?}")?;
                write_lines(f, last_lines)
            }
        }
    }
}

fn write_lines(f: &mut fmt::Formatter<'_>, lines: &[String]) -> fmt::Result {
    if !lines.is_empty() {
        write!(f, "; its last output:")?;
        for line in lines {
            write!(f, "\n    {line}")?;
        }
    }
    Ok(())
}

impl std::error::Error for StartError {}

const KEPT_LINES: usize = 20;

/// A running server. Dropping it stops the server (SIGTERM, then SIGKILL after a grace period).
pub struct ServerProcess {
    name: String,
    child: Child,
    port: u16,
}

impl fmt::Debug for ServerProcess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerProcess")
            .field("name", &self.name)
            .field("pid", &self.child.id())
            .field("port", &self.port)
            .finish()
    }
}

impl ServerProcess {
    /// Starts `command` and waits until `readiness` says it is ready.
    ///
    /// The child runs in its own process group (a terminal's Ctrl-C reaches only the parent,
    /// which stops its children in order) and is killed by the kernel if the thread that started
    /// it ends, so a crashed parent leaves no orphan behind: start servers from a thread that
    /// lives as long as they should.
    pub fn start(
        name: &str,
        mut command: Command,
        readiness: Readiness,
        sink: LineSink,
        timeout: Duration,
    ) -> Result<ServerProcess, StartError> {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        die_with_parent(&mut command);
        // An error a Rust server exits with stays its last words: with `RUST_BACKTRACE=1` in
        // the environment, anyhow would follow it with a backtrace longer than the lines kept,
        // hiding why it stopped (and an "address already in use" from the retry that would
        // follow it). Panics still print theirs.
        if std::env::var_os("RUST_LIB_BACKTRACE").is_none() {
            command.env("RUST_LIB_BACKTRACE", "0");
        }
        let program = command.get_program().to_string_lossy().into_owned();
        let mut child = command
            .spawn()
            .map_err(|source| StartError::Spawn { program, source })?;

        let last_lines = Arc::new(Mutex::new(VecDeque::with_capacity(KEPT_LINES)));
        let (port_tx, port_rx) = mpsc::channel();
        let matcher: Option<Arc<PortMatcher>> = match readiness {
            Readiness::LogLine(matcher) => Some(Arc::from(matcher)),
            Readiness::Tcp(port) => {
                let _ = port_tx.send(port);
                None
            }
        };
        let tcp_probe = matcher.is_none();
        let mut readers = Vec::new();
        if let Some(stdout) = child.stdout.take() {
            readers.push(forward(
                stdout,
                sink.clone(),
                matcher.clone(),
                port_tx.clone(),
                last_lines.clone(),
            ));
        }
        if let Some(stderr) = child.stderr.take() {
            readers.push(forward(stderr, sink, matcher, port_tx, last_lines.clone()));
        }

        let snapshot = |lines: &Arc<Mutex<VecDeque<String>>>| -> Vec<String> {
            lines
                .lock()
                .map(|lines| lines.iter().cloned().collect())
                .unwrap_or_default()
        };
        let started = Instant::now();
        let mut announced: Option<u16> = None;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                // Let the readers catch the last words, which usually say why.
                let drained = Instant::now();
                while readers.iter().any(|reader| !reader.is_finished())
                    && drained.elapsed() < Duration::from_secs(1)
                {
                    std::thread::sleep(Duration::from_millis(10));
                }
                return Err(StartError::Exited {
                    name: name.to_owned(),
                    status,
                    last_lines: snapshot(&last_lines),
                });
            }
            if announced.is_none() {
                announced = port_rx.recv_timeout(Duration::from_millis(20)).ok();
            }
            if let Some(port) = announced {
                let ready = !tcp_probe
                    || TcpStream::connect_timeout(
                        &([127, 0, 0, 1], port).into(),
                        Duration::from_millis(200),
                    )
                    .is_ok();
                if ready {
                    return Ok(ServerProcess {
                        name: name.to_owned(),
                        child,
                        port,
                    });
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if started.elapsed() > timeout {
                let mut process = ServerProcess {
                    name: name.to_owned(),
                    child,
                    port: 0,
                };
                process.kill();
                return Err(StartError::Timeout {
                    name: name.to_owned(),
                    after: timeout,
                    last_lines: snapshot(&last_lines),
                });
            }
        }
    }

    /// Starts a server with `start(port)`: on `port`, or on a free port when it is 0. While a
    /// start fails because another process took the port in the meantime, tries again on
    /// another free port, `attempts` times in all.
    pub fn start_on_port(
        port: u16,
        attempts: u32,
        mut start: impl FnMut(u16) -> Result<ServerProcess, StartError>,
    ) -> Result<ServerProcess, StartError> {
        let free_port = || {
            crate::free_port().map_err(|source| StartError::Spawn {
                program: "a listener on a free port".to_owned(),
                source,
            })
        };
        let mut port = if port == 0 { free_port()? } else { port };
        let mut attempt = 1;
        loop {
            match start(port) {
                Err(error) if error.is_address_in_use() && attempt < attempts => {
                    attempt += 1;
                    port = free_port()?;
                }
                result => return result,
            }
        }
    }

    /// The server's name, as given to [`ServerProcess::start`].
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The TCP port it listens on (127.0.0.1).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Whether it is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Its exit status, once it has exited.
    pub fn try_wait(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Stops it gracefully: SIGTERM, then SIGKILL if it has not exited after `grace`.
    pub fn stop(&mut self, grace: Duration) {
        if !self.is_running() {
            return;
        }
        signal(self.child.id(), libc::SIGTERM);
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if !self.is_running() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.kill();
    }

    /// Kills it at once (SIGKILL) and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// Reads `stream` line by line on a thread: checks readiness, keeps the last lines, forwards.
fn forward(
    stream: impl Read + Send + 'static,
    sink: LineSink,
    matcher: Option<Arc<PortMatcher>>,
    port_tx: mpsc::Sender<u16>,
    last_lines: Arc<Mutex<VecDeque<String>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let reader = BufReader::new(stream);
        for line in reader.lines() {
            let Ok(line) = line else { break };
            if let Some(port) = matcher.as_ref().and_then(|matcher| matcher(&line)) {
                let _ = port_tx.send(port);
            }
            if let Ok(mut lines) = last_lines.lock() {
                if lines.len() == KEPT_LINES {
                    lines.pop_front();
                }
                lines.push_back(line.clone());
            }
            sink(&line);
        }
    })
}

/// Sends `sig` to the process `pid`.
#[allow(unsafe_code)]
pub fn signal(pid: u32, sig: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) has no memory-safety preconditions; a stale pid only yields ESRCH.
        unsafe {
            libc::kill(pid, sig);
        }
    }
}

/// Puts the child in its own process group and asks the kernel to SIGKILL it when the thread
/// that spawned it dies (the parent crashed or was killed), so no server outlives its owner.
#[allow(unsafe_code)]
pub fn die_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    // SAFETY: the closure runs between fork and exec and calls only prctl(2) and getppid(2),
    // both async-signal-safe, allocating nothing.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The parent may have died before prctl took effect.
            if libc::getppid() == 1 {
                return Err(std::io::Error::other("parent exited"));
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_the_port_from_a_log_line_and_stops_the_process() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'listening on port 4321'; exec sleep 30"]);
        let readiness = Readiness::LogLine(Box::new(|line: &str| {
            line.strip_prefix("listening on port ")
                .and_then(|port| port.parse().ok())
        }));
        let mut server = ServerProcess::start(
            "sleeper",
            command,
            readiness,
            discard(),
            Duration::from_secs(5),
        )
        .unwrap();
        assert_eq!(server.port(), 4321);
        assert!(server.is_running());
        server.stop(Duration::from_secs(2));
        assert!(!server.is_running());
    }

    #[test]
    fn a_service_is_ready_only_once_it_announces_its_own_port() {
        let Readiness::LogLine(matcher) = Readiness::service_on(4321) else {
            panic!("a service announces its port in its log");
        };
        let line =
            "2026-12-06T13:00:00.000Z  INFO common::server: listening address=127.0.0.1:4321";
        assert_eq!(matcher(line), Some(4321));
        let other =
            "2026-12-06T13:00:00.000Z  INFO common::server: listening address=127.0.0.1:43210";
        assert_eq!(matcher(other), None);
        assert_eq!(matcher("Error: Address already in use (os error 98)"), None);
    }

    #[test]
    fn a_port_taken_meanwhile_is_replaced_by_another_free_one() {
        let mut tried = Vec::new();
        let started = ServerProcess::start_on_port(4321, 3, |port| {
            tried.push(port);
            let script = if tried.len() == 1 {
                "echo 'bind: Address already in use' >&2; exit 1".to_owned()
            } else {
                format!("echo 'listening on port {port}'; exec sleep 30")
            };
            let mut command = Command::new("sh");
            command.args(["-c", &script]);
            let readiness = Readiness::LogLine(Box::new(|line: &str| {
                line.strip_prefix("listening on port ")
                    .and_then(|port| port.parse().ok())
            }));
            ServerProcess::start(
                "sleeper",
                command,
                readiness,
                discard(),
                Duration::from_secs(5),
            )
        });
        let mut server = started.unwrap();
        assert_eq!(tried.len(), 2);
        assert_eq!(tried[0], 4321);
        assert_ne!(tried[1], 4321);
        assert_eq!(server.port(), tried[1]);
        server.stop(Duration::from_secs(2));

        // Only a taken port is worth another try, and only `attempts` times.
        let mut calls = 0;
        let failed = ServerProcess::start_on_port(0, 2, |_| {
            calls += 1;
            let mut command = Command::new("sh");
            command.args(["-c", "echo 'bind: Address already in use' >&2; exit 1"]);
            ServerProcess::start(
                "failing",
                command,
                Readiness::LogLine(Box::new(|_: &str| None)),
                discard(),
                Duration::from_secs(5),
            )
        });
        assert!(failed.unwrap_err().is_address_in_use());
        assert_eq!(calls, 2);
    }

    #[test]
    fn a_process_that_exits_early_is_an_error_with_its_output() {
        let mut command = Command::new("sh");
        command.args(["-c", "echo 'bind: Address already in use' >&2; exit 3"]);
        let readiness = Readiness::LogLine(Box::new(|_: &str| None));
        let error = ServerProcess::start(
            "failing",
            command,
            readiness,
            discard(),
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(matches!(error, StartError::Exited { .. }), "{error}");
        assert!(error.is_address_in_use());
        assert!(error.to_string().contains("Address already in use"));
    }
}
