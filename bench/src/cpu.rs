//! Who used the CPU over a stretch of a run: each process of the stack, a service's threads of
//! one kind apart from the rest of it, and the rest of the machine (wrk, the bench, the system).

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::procfs;
use crate::target::Stack;

/// One process's (or group of threads') CPU use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessCpu {
    /// The process.
    pub name: String,
    /// CPU time over wall time, in percent of one core.
    pub percent: f64,
}

/// What a [`Meter`] reads.
#[derive(Debug, Clone)]
enum Source {
    /// A whole process.
    Process { name: String, pid: u32 },
    /// The threads of `pid` whose name starts with `prefix` (row `label`), and the rest of
    /// its threads.
    Split {
        name: String,
        pid: u32,
        prefix: String,
        label: String,
    },
}

/// CPU ticks of one source: the process, or (for a split) its named threads and the whole.
type Reading = Option<(u64, u64)>;

/// What the machine's "everything else" row is called.
const REST_OF_MACHINE: &str = "the rest of the machine (wrk, the bench, the system)";

/// CPU time measured from [`Meter::start`] to [`Meter::stop`].
#[derive(Debug)]
pub struct Meter {
    sources: Vec<Source>,
    before: Vec<Reading>,
    machine_before: Option<u64>,
    started: Instant,
}

/// A service whose threads of one kind get a row of their own beside the rest of it.
#[derive(Debug, Clone, Copy)]
pub struct Split<'a> {
    /// The service.
    pub service: &'a str,
    /// How the threads' names start (`scrypt-`).
    pub prefix: &'a str,
    /// Their row (`auth: scrypt threads`); the rest is `<service>: other threads`.
    pub label: &'a str,
}

impl Meter {
    /// Starts measuring every service and server of `stack` and the `extra` processes.
    pub fn start(stack: &Stack, extra: &[(&str, u32)], split: Option<Split<'_>>) -> Meter {
        let processes = stack
            .services
            .iter()
            .map(|service| (service.name.clone(), service.pid))
            .chain(
                stack
                    .servers
                    .iter()
                    .map(|server| (server.name.clone(), server.pid)),
            )
            .chain(extra.iter().map(|(name, pid)| ((*name).to_owned(), *pid)));
        let sources: Vec<Source> = processes
            .map(|(name, pid)| match split {
                Some(split) if split.service == name => Source::Split {
                    name,
                    pid,
                    prefix: split.prefix.to_owned(),
                    label: split.label.to_owned(),
                },
                _ => Source::Process { name, pid },
            })
            .collect();
        let before = sources.iter().map(read).collect();
        Meter {
            sources,
            before,
            machine_before: machine_busy(),
            started: Instant::now(),
        }
    }

    /// Each source's share of one core since the start, busiest first, and the rest of the
    /// machine last; a process that could not be read is left out.
    pub fn stop(self) -> Vec<ProcessCpu> {
        let after: Vec<Reading> = self.sources.iter().map(read).collect();
        let machine_after = machine_busy();
        let seconds = self.started.elapsed().as_secs_f64();
        let percent = |ticks: u64| ticks as f64 / procfs::TICKS_PER_SECOND / seconds * 100.0;
        let mut rows = Vec::new();
        let mut listed = 0;
        for ((source, before), after) in self.sources.iter().zip(&self.before).zip(&after) {
            let (Some(before), Some(after)) = (before, after) else {
                continue;
            };
            let part = after.0.saturating_sub(before.0);
            let whole = after.1.saturating_sub(before.1);
            listed += whole;
            match source {
                Source::Process { name, .. } => rows.push(ProcessCpu {
                    name: name.clone(),
                    percent: percent(whole),
                }),
                Source::Split { name, label, .. } => {
                    rows.push(ProcessCpu {
                        name: label.clone(),
                        percent: percent(part),
                    });
                    rows.push(ProcessCpu {
                        name: format!("{name}: other threads"),
                        percent: percent(whole.saturating_sub(part)),
                    });
                }
            }
        }
        rows.sort_by(|a, b| b.percent.total_cmp(&a.percent));
        if let (Some(before), Some(after)) = (self.machine_before, machine_after) {
            rows.push(ProcessCpu {
                name: REST_OF_MACHINE.to_owned(),
                percent: percent(after.saturating_sub(before).saturating_sub(listed)),
            });
        }
        rows
    }
}

/// `(part, whole)`: for a process both its ticks, for a split its named threads' and its own.
fn read(source: &Source) -> Reading {
    match source {
        Source::Process { pid, .. } => {
            let ticks = procfs::cpu_ticks(*pid).ok()?;
            Some((ticks, ticks))
        }
        Source::Split { pid, prefix, .. } => {
            let whole = procfs::cpu_ticks(*pid).ok()?;
            let part = procfs::threads_cpu_ticks(*pid, prefix).ok()?;
            Some((part, whole))
        }
    }
}

fn machine_busy() -> Option<u64> {
    procfs::machine_cpu_ticks().ok().map(|(busy, _)| busy)
}

/// The first `count` rows of `cpu` for a progress line: `auth: scrypt threads 182%, mongo 3%`.
pub fn summary(cpu: &[ProcessCpu], count: usize) -> String {
    let rows: Vec<String> = cpu
        .iter()
        .take(count)
        .map(|process| format!("{} {:.0}%", process.name, process.percent))
        .collect();
    rows.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_the_first_rows_with_whole_percentages() {
        let cpu: Vec<ProcessCpu> = [
            ("auth: scrypt threads", 181.6),
            ("mongo", 2.5),
            ("nats", 0.4),
        ]
        .into_iter()
        .map(|(name, percent)| ProcessCpu {
            name: name.to_owned(),
            percent,
        })
        .collect();
        assert_eq!(summary(&cpu, 2), "auth: scrypt threads 182%, mongo 2%");
        assert_eq!(
            summary(&cpu, 9),
            "auth: scrypt threads 182%, mongo 2%, nats 0%"
        );
        assert_eq!(summary(&[], 4), "");
    }
}
