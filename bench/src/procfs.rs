//! What Linux's `/proc` says about a process: memory, CPU time, its program and environment.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;
use std::path::PathBuf;

use anyhow::{Context as _, bail};

/// Resident memory of `pid`: now (`VmRSS`) and at its peak (`VmHWM`), in KiB.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// Resident now.
    pub rss_kib: u64,
    /// The most it has ever been resident.
    pub peak_kib: u64,
}

/// Reads `pid`'s memory from `/proc/<pid>/status`.
pub fn memory(pid: u32) -> anyhow::Result<Memory> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .with_context(|| format!("could not read the status of process {pid}"))?;
    parse_memory(&status).with_context(|| format!("no VmRSS/VmHWM for process {pid}"))
}

/// `VmRSS` and `VmHWM` from the text of `/proc/<pid>/status`.
pub fn parse_memory(status: &str) -> Option<Memory> {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse().ok()
        })
    };
    Some(Memory {
        rss_kib: field("VmRSS")?,
        peak_kib: field("VmHWM")?,
    })
}

/// CPU time `pid` has used so far (user + system), in clock ticks.
pub fn cpu_ticks(pid: u32) -> anyhow::Result<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .with_context(|| format!("could not read the stat of process {pid}"))?;
    parse_cpu_ticks(&stat).with_context(|| format!("unreadable /proc/{pid}/stat"))
}

/// utime + stime (fields 14 and 15) of a `/proc/<pid>/stat` line; the command name, field 2,
/// may hold spaces and parentheses, so counting starts after its last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let user: u64 = fields.next()?.parse().ok()?;
    let system: u64 = fields.next()?.parse().ok()?;
    Some(user + system)
}

/// CPU time the live threads of `pid` whose name starts with `prefix` have used so far
/// (user + system), in clock ticks.
pub fn threads_cpu_ticks(pid: u32, prefix: &str) -> anyhow::Result<u64> {
    let tasks = format!("/proc/{pid}/task");
    let mut ticks = 0;
    for task in std::fs::read_dir(&tasks).with_context(|| format!("could not list {tasks}"))? {
        let task = task
            .with_context(|| format!("could not list {tasks}"))?
            .path();
        // A thread that ended since the listing has nothing more to add.
        let Ok(stat) = std::fs::read_to_string(task.join("stat")) else {
            continue;
        };
        if thread_name(&stat).is_some_and(|name| name.starts_with(prefix)) {
            ticks += parse_cpu_ticks(&stat)
                .with_context(|| format!("unreadable {}/stat", task.display()))?;
        }
    }
    Ok(ticks)
}

/// The command (thread) name of a `/proc/<pid>/stat` line: between the first `(` and the last
/// `)`.
pub fn thread_name(stat: &str) -> Option<&str> {
    stat.get(stat.find('(')? + 1..stat.rfind(')')?)
}

/// The whole machine's CPU time so far, in clock ticks: `(busy, total)`, busy being all but idle
/// and I/O wait.
pub fn machine_cpu_ticks() -> anyhow::Result<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").context("could not read /proc/stat")?;
    parse_machine_cpu_ticks(&stat).context("unreadable /proc/stat")
}

/// The `cpu` line of `/proc/stat`: user nice system idle iowait irq softirq steal ...
pub fn parse_machine_cpu_ticks(stat: &str) -> Option<(u64, u64)> {
    let line = stat.lines().find(|line| line.starts_with("cpu "))?;
    let ticks: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let total: u64 = ticks.iter().sum();
    let waiting = ticks.get(3)? + ticks.get(4)?;
    Some((total - waiting, total))
}

/// Clock ticks per second (`getconf CLK_TCK`: 100 on Linux).
pub const TICKS_PER_SECOND: f64 = 100.0;

/// The program `pid` runs.
pub fn executable(pid: u32) -> anyhow::Result<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe"))
        .with_context(|| format!("could not read the executable of process {pid}"))
}

/// The environment `pid` was started with.
pub fn environment(pid: u32) -> anyhow::Result<Vec<(OsString, OsString)>> {
    let raw = std::fs::read(format!("/proc/{pid}/environ"))
        .with_context(|| format!("could not read the environment of process {pid}"))?;
    let vars = parse_environment(&raw);
    if vars.is_empty() {
        bail!("process {pid} has an empty environment");
    }
    Ok(vars)
}

/// `NAME=value` pairs, NUL-separated, as in `/proc/<pid>/environ`.
pub fn parse_environment(raw: &[u8]) -> Vec<(OsString, OsString)> {
    raw.split(|byte| *byte == 0)
        .filter_map(|entry| {
            let equals = entry.iter().position(|byte| *byte == b'=')?;
            let (name, value) = (&entry[..equals], &entry[equals + 1..]);
            Some((
                OsString::from_vec(name.to_vec()),
                OsString::from_vec(value.to_vec()),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_memory_from_status() {
        let status =
            "Name:\tauth\nVmPeak:\t  900000 kB\nVmHWM:\t   24000 kB\nVmRSS:\t   12345 kB\n";
        assert_eq!(
            parse_memory(status),
            Some(Memory {
                rss_kib: 12345,
                peak_kib: 24000
            })
        );
        assert_eq!(parse_memory("Name:\tx\n"), None);
    }

    #[test]
    fn reads_the_machines_busy_and_total_ticks() {
        let stat = "cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 50 2 25 400 10 1 1 0 0 0\n";
        assert_eq!(parse_machine_cpu_ticks(stat), Some((160, 980)));
        assert_eq!(parse_machine_cpu_ticks("cpu0 1 2 3\n"), None);
        let (busy, total) = machine_cpu_ticks().unwrap();
        assert!(busy <= total && total > 0);
    }

    #[test]
    fn reads_cpu_ticks_after_the_command_name() {
        let stat =
            "123 (tokio (rt) x) S 1 123 123 0 -1 4194560 500 0 0 0 250 31 0 0 20 0 4 0 100 0 0";
        assert_eq!(parse_cpu_ticks(stat), Some(281));
        assert_eq!(parse_cpu_ticks("garbage"), None);
        assert_eq!(thread_name(stat), Some("tokio (rt) x"));
        assert_eq!(thread_name("garbage"), None);
    }

    #[test]
    fn counts_only_the_threads_named_so() {
        let pid = std::process::id();
        // Two threads, `spin-0` and `else-0`, each burn CPU until it has used 30 ticks (0.3 s)
        // of its own, say where their stat is, then wait.
        let (spun_tx, spun) = std::sync::mpsc::channel::<String>();
        let (done_tx, done) = std::sync::mpsc::channel::<()>();
        let done = std::sync::Arc::new(std::sync::Mutex::new(done));
        let spinners: Vec<_> = ["spin-0", "else-0"]
            .into_iter()
            .map(|name| {
                let (spun_tx, done) = (spun_tx.clone(), done.clone());
                std::thread::Builder::new()
                    .name(name.to_owned())
                    .spawn(move || {
                        let start = std::time::Instant::now();
                        let own = || {
                            std::fs::read_to_string("/proc/thread-self/stat")
                                .ok()
                                .and_then(|stat| parse_cpu_ticks(&stat))
                        };
                        while own().unwrap_or(0) < 30 && start.elapsed().as_secs() < 20 {
                            std::hint::black_box((0..10_000u64).sum::<u64>());
                        }
                        let me = std::fs::read_link("/proc/thread-self").unwrap();
                        spun_tx
                            .send(format!("/proc/{}/stat", me.display()))
                            .unwrap();
                        let _ = done.lock().unwrap().recv();
                    })
                    .unwrap()
            })
            .collect();
        // A running thread's own stat counts its time up to now, the process's only up to its
        // last switch or tick: read both once the two sleep (state `S`).
        for stat_path in [spun.recv().unwrap(), spun.recv().unwrap()] {
            for _ in 0..400 {
                let stat = std::fs::read_to_string(&stat_path).unwrap();
                let after_name = &stat[stat.rfind(')').unwrap() + 1..];
                if after_name.split_whitespace().next() == Some("S") {
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
        }
        let spin = threads_cpu_ticks(pid, "spin-").unwrap();
        let other = threads_cpu_ticks(pid, "else-").unwrap();
        assert!(spin >= 30, "spin-0's ticks: {spin}");
        assert!(other >= 30, "else-0's ticks: {other}");
        // A thread stops within a tick or so of 30; counting else-0 too would make it 60.
        assert!(spin < 45, "only spin-0 counted, not else-0: {spin}");
        assert_eq!(threads_cpu_ticks(pid, "no-such-thread-").unwrap(), 0);
        // Both are parts of the process's time. Each figure is a sum of user and system time,
        // each truncated to whole ticks on its own, so the process's may fall short of the sum
        // of its threads' by a tick per field.
        let process = cpu_ticks(pid).unwrap();
        assert!(
            spin + other <= process + 2,
            "threads {spin} + {other} within the process's {process}"
        );
        for _ in &spinners {
            done_tx.send(()).unwrap();
        }
        for spinner in spinners {
            spinner.join().unwrap();
        }
    }

    #[test]
    fn reads_this_process() {
        let pid = std::process::id();
        assert!(memory(pid).unwrap().rss_kib > 0);
        assert!(cpu_ticks(pid).is_ok());
        assert!(executable(pid).is_ok());
        let env = parse_environment(b"A=1\0B=x=y\0junk\0");
        assert_eq!(env.len(), 2);
        assert_eq!(env[1], ("B".into(), "x=y".into()));
    }
}
