//! What `cargo xtask` prints: its own steps, errors, and every child's output line by line,
//! prefixed with the child's name (coloured when stdout is a terminal).

#![allow(
    clippy::print_stdout,
    reason = "printing to the terminal is what this module is for"
)]

use std::fmt::Display;
use std::fs::File;
use std::io::{IsTerminal as _, Write as _};
use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;

use devservers::LineSink;

/// Prints one step of progress: `==> building auth (release)`.
pub(crate) fn step(message: impl Display) {
    println!("==> {message}");
}

/// Prints an indented detail line under a step.
pub(crate) fn detail(message: impl Display) {
    println!("    {message}");
}

/// Prints an error to stderr.
pub(crate) fn error(message: impl Display) {
    eprintln!("error: {message}");
}

/// Foreground colours for the name prefixes, handed out in turn.
const PALETTE: [u8; 6] = [36, 33, 32, 35, 34, 31];

/// Builds the sinks that prefix each child's lines with its name, all names padded alike.
#[derive(Debug)]
pub(crate) struct Console {
    names: Vec<String>,
    width: usize,
    colour: bool,
    /// When set, the children's lines go to this file instead of stdout.
    log: Option<Arc<Mutex<File>>>,
    /// When set, the children's lines also go to this file, for a check to read.
    copy: Option<Arc<Mutex<File>>>,
}

impl Console {
    /// A console for children with these names; colours only when stdout is a terminal and
    /// `NO_COLOR` is not set.
    pub(crate) fn new<'a>(names: impl IntoIterator<Item = &'a str>) -> Console {
        let names: Vec<String> = names.into_iter().map(str::to_owned).collect();
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
        Console {
            names,
            width,
            colour,
            log: None,
            copy: None,
        }
    }

    /// A console for children with these names whose lines go to stdout and to the file
    /// `copy` (created or truncated), uncoloured there.
    pub(crate) fn copying_to<'a>(
        names: impl IntoIterator<Item = &'a str>,
        copy: &Path,
    ) -> anyhow::Result<Console> {
        let file =
            File::create(copy).with_context(|| format!("could not create {}", copy.display()))?;
        let mut console = Console::new(names);
        console.copy = Some(Arc::new(Mutex::new(file)));
        Ok(console)
    }

    /// A console for children with these names whose lines go to the file `log` (created or
    /// truncated), uncoloured, instead of stdout: for runs whose children log too much to watch.
    pub(crate) fn to_file<'a>(
        names: impl IntoIterator<Item = &'a str>,
        log: &Path,
    ) -> anyhow::Result<Console> {
        let file =
            File::create(log).with_context(|| format!("could not create {}", log.display()))?;
        let mut console = Console::new(names);
        console.colour = false;
        console.log = Some(Arc::new(Mutex::new(file)));
        Ok(console)
    }

    /// Where the output of the child called `name` goes.
    pub(crate) fn sink(&self, name: &str) -> LineSink {
        let colour = (self.colour && self.log.is_none()).then(|| {
            let index = self
                .names
                .iter()
                .position(|known| known == name)
                .unwrap_or(0);
            PALETTE[index % PALETTE.len()]
        });
        let prefix = prefix(name, self.width, colour);
        match &self.log {
            Some(file) => {
                let file = file.clone();
                Arc::new(move |line: &str| {
                    if let Ok(mut file) = file.lock() {
                        let _ = writeln!(file, "{prefix}{line}");
                    }
                })
            }
            None => {
                let copy = self.copy.clone();
                let plain = self::prefix(name, self.width, None);
                Arc::new(move |line: &str| {
                    println!("{prefix}{line}");
                    if let Some(mut file) = copy.as_ref().and_then(|copy| copy.lock().ok()) {
                        let _ = writeln!(file, "{plain}{line}");
                    }
                })
            }
        }
    }
}

/// `auth       | `, or the same wrapped in an ANSI colour.
fn prefix(name: &str, width: usize, colour: Option<u8>) -> String {
    match colour {
        Some(code) => format!("\x1b[{code}m{name:<width$} |\x1b[0m "),
        None => format!("{name:<width$} | "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_padded_to_the_longest_name() {
        assert_eq!(prefix("auth", 10, None), "auth       | ");
        assert_eq!(prefix("expiration", 10, None), "expiration | ");
        assert_eq!(prefix("nats", 4, Some(36)), "\x1b[36mnats |\x1b[0m ");
    }

    #[test]
    fn the_console_pads_to_its_longest_name() {
        let console = Console::new(["mongo", "expiration"]);
        assert_eq!(console.width, "expiration".len());
    }
}
