//! The machine the bench runs on, for the report.

use serde::{Deserialize, Serialize};

/// What the summary says about the machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available to this process.
    pub cores: usize,
    /// Total memory, in GiB.
    pub memory_gib: f64,
    /// The CPU model, from `/proc/cpuinfo`.
    pub cpu: String,
    /// The kernel release.
    pub kernel: String,
    /// `/proc/loadavg`'s 1-, 5- and 15-minute load averages when the report was written: above
    /// the bench's own share, something else was using the machine.
    #[serde(default)]
    pub load_average: [f64; 3],
}

impl Machine {
    /// This machine.
    pub fn detect() -> Machine {
        let read = |path: &str| std::fs::read_to_string(path).unwrap_or_default();
        Machine {
            cores: std::thread::available_parallelism().map_or(1, usize::from),
            memory_gib: memory_kib(&read("/proc/meminfo")).unwrap_or(0) as f64 / (1024.0 * 1024.0),
            cpu: cpu_model(&read("/proc/cpuinfo")).unwrap_or_else(|| "unknown".to_owned()),
            kernel: read("/proc/sys/kernel/osrelease").trim().to_owned(),
            load_average: load_average(&read("/proc/loadavg")).unwrap_or_default(),
        }
    }
}

/// `MemTotal` from `/proc/meminfo`, in KiB.
fn memory_kib(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|line| line.starts_with("MemTotal:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The three load averages at the start of `/proc/loadavg`.
fn load_average(loadavg: &str) -> Option<[f64; 3]> {
    let mut fields = loadavg.split_whitespace().map(str::parse::<f64>);
    Some([
        fields.next()?.ok()?,
        fields.next()?.ok()?,
        fields.next()?.ok()?,
    ])
}

/// The first `model name` from `/proc/cpuinfo`.
fn cpu_model(cpuinfo: &str) -> Option<String> {
    cpuinfo.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key.trim() == "model name").then(|| value.trim().to_owned())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_meminfo_and_cpuinfo() {
        assert_eq!(
            memory_kib("MemTotal:       24575000 kB\nMemFree: 1 kB\n"),
            Some(24_575_000)
        );
        let cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n";
        assert_eq!(cpu_model(cpuinfo).as_deref(), Some("AMD EPYC 7B13"));
        assert_eq!(cpu_model(""), None);
        assert_eq!(
            load_average("4.61 4.59 4.95 3/612 21785\n"),
            Some([4.61, 4.59, 4.95])
        );
        assert_eq!(load_average(""), None);
    }
}
