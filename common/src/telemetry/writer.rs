//! Where the log lines go: a buffer in memory, which a thread of its own writes out every
//! [`INTERVAL`], or as soon as half of its lines' limit waits.
//!
//! A line is formatted on the thread that logs it and copied into the buffer under a lock held
//! for that copy alone: no system call and no wake-up of another thread per line. A channel to
//! a writer thread that waits for each line (tracing-appender's) costs a wake-up and a write per
//! line whenever that thread keeps up, and at tens of thousands of requests a second that was
//! a fifth of what a request cost. At most `limit` lines wait; past that, logging waits for
//! room rather than dropping a line. Dropping the [`Flusher`] writes out every line waiting.

use std::io::Write;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::Duration;

use tracing_subscriber::fmt::MakeWriter;

use crate::locks::lock;

/// How long a line waits, at most, before it is written.
pub const INTERVAL: Duration = Duration::from_millis(50);

/// What the loggers and the writing thread share.
struct Shared {
    waiting: Mutex<Waiting>,
    /// Wakes the writing thread early: half the limit waits, or the process ends.
    filled: Condvar,
    /// Wakes loggers waiting for room: the lines were taken.
    emptied: Condvar,
    /// The most lines that may wait.
    limit: usize,
}

/// The lines not yet taken by the writing thread.
#[derive(Default)]
struct Waiting {
    bytes: Vec<u8>,
    lines: usize,
    closing: bool,
}

impl Shared {
    fn waiting(&self) -> MutexGuard<'_, Waiting> {
        lock(&self.waiting)
    }
}

/// The lines' writer, for the formatting layer. Cheap to clone.
#[derive(Clone)]
pub struct Lines(Arc<Shared>);

/// Writes out what waits, and stops the writing thread, when dropped.
#[must_use = "dropping it stops the log writer"]
pub struct Flusher {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// Starts the thread writing to `out`; at most `limit` lines (at least 2) wait for it.
pub fn start<W: Write + Send + 'static>(out: W, limit: usize) -> std::io::Result<(Lines, Flusher)> {
    let shared = Arc::new(Shared {
        waiting: Mutex::default(),
        filled: Condvar::new(),
        emptied: Condvar::new(),
        limit: limit.max(2),
    });
    let writing = shared.clone();
    let thread = std::thread::Builder::new()
        .name("log-writer".to_owned())
        .spawn(move || write_out(&writing, out))?;
    Ok((
        Lines(shared.clone()),
        Flusher {
            shared,
            thread: Some(thread),
        },
    ))
}

/// The writing thread: takes what waits every [`INTERVAL`] (or when woken early) and writes
/// it, until the process ends and nothing waits.
fn write_out(shared: &Shared, mut out: impl Write) {
    let mut taken = Vec::new();
    loop {
        let waiting = shared.waiting();
        let (mut waiting, _) = shared
            .filled
            .wait_timeout_while(waiting, INTERVAL, |waiting| {
                !waiting.closing && waiting.lines < shared.limit / 2
            })
            .unwrap_or_else(PoisonError::into_inner);
        std::mem::swap(&mut waiting.bytes, &mut taken);
        waiting.lines = 0;
        let closing = waiting.closing;
        drop(waiting);
        shared.emptied.notify_all();
        if !taken.is_empty() {
            // Nowhere to report a failure to write the log: the line is dropped.
            let _ = out.write_all(&taken).and_then(|()| out.flush());
            taken.clear();
        }
        if closing && shared.waiting().bytes.is_empty() {
            return;
        }
    }
}

impl Drop for Flusher {
    fn drop(&mut self) {
        self.shared.waiting().closing = true;
        self.shared.filled.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// One logger's handle: each write is one line (the formatting layer writes a whole line at
/// once).
pub struct Line<'a>(&'a Shared);

impl Write for Line<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let shared = self.0;
        let mut waiting = shared.waiting();
        while waiting.lines >= shared.limit && !waiting.closing {
            waiting = shared
                .emptied
                .wait(waiting)
                .unwrap_or_else(PoisonError::into_inner);
        }
        waiting.bytes.extend_from_slice(bytes);
        waiting.lines += 1;
        if waiting.lines == shared.limit / 2 {
            shared.filled.notify_one();
        }
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Lines {
    type Writer = Line<'a>;

    fn make_writer(&'a self) -> Line<'a> {
        Line(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;
    use std::time::Instant;

    use super::*;

    /// A writer that hands each write to a channel, and can be held up.
    struct Out {
        writes: mpsc::Sender<Vec<u8>>,
        gate: Arc<Mutex<()>>,
    }

    impl Write for Out {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            let _open = lock(&self.gate);
            let _ = self.writes.send(bytes.to_vec());
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn started(limit: usize) -> (Lines, Flusher, mpsc::Receiver<Vec<u8>>, Arc<Mutex<()>>) {
        let (writes, written) = mpsc::channel();
        let gate = Arc::new(Mutex::new(()));
        let out = Out {
            writes,
            gate: gate.clone(),
        };
        let (lines, flusher) = start(out, limit).unwrap();
        (lines, flusher, written, gate)
    }

    #[test]
    fn lines_are_written_in_order_a_batch_at_a_time_within_the_interval() {
        let (lines, _flusher, written, _gate) = started(1000);
        let logged = Instant::now();
        let expected: String = (0..100).map(|n| format!("line {n}\n")).collect();
        for n in 0..100 {
            lines
                .make_writer()
                .write_all(format!("line {n}\n").as_bytes())
                .unwrap();
        }
        let mut all = Vec::new();
        let mut writes = 0;
        while all.len() < expected.len() {
            all.extend(written.recv_timeout(INTERVAL * 20).unwrap());
            writes += 1;
        }
        assert!(logged.elapsed() < INTERVAL * 20);
        assert_eq!(String::from_utf8(all).unwrap(), expected);
        // Logged within a millisecond or so: one batch, two if an interval ended meanwhile.
        assert!(writes <= 2, "{writes} writes for 100 lines");
    }

    #[test]
    fn half_the_limit_is_written_at_once_and_a_full_buffer_waits_for_room() {
        let (lines, flusher, written, gate) = started(4);
        // The writing thread is held up in its write: nothing it takes is written yet.
        let held = lock(&gate);
        let logger = std::thread::spawn(move || {
            for n in 0..10 {
                lines
                    .make_writer()
                    .write_all(format!("{n}\n").as_bytes())
                    .unwrap();
            }
        });
        std::thread::sleep(INTERVAL * 4);
        // Two lines woke the writer, which took them and is held; four more fill the buffer,
        // and the logger waits for room rather than dropping a line.
        assert!(
            !logger.is_finished(),
            "a full buffer did not hold the logger up"
        );
        drop(held);
        logger.join().unwrap();
        drop(flusher);
        let all: Vec<u8> = written.try_iter().flatten().collect();
        let expected: String = (0..10).map(|n| format!("{n}\n")).collect();
        assert_eq!(String::from_utf8(all).unwrap(), expected);
    }

    #[test]
    fn dropping_the_flusher_writes_out_what_waits() {
        let (lines, flusher, written, _gate) = started(1000);
        lines.make_writer().write_all(b"last words\n").unwrap();
        drop(flusher);
        let all: Vec<u8> = written.try_iter().flatten().collect();
        assert_eq!(all, b"last words\n");
    }
}
