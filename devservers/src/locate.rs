//! Finding server programs.
//!
//! Debian installs `nats-server` and `nginx` under `/usr/sbin`, which is not on a normal user's
//! `PATH`, and `cargo install` puts `secantusd-rs` under `~/.cargo/bin`, which CI shells may not
//! have on theirs; so besides `PATH` those places are searched too.

use std::path::{Path, PathBuf};

/// The MongoDB-compatible server found on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MongoServer {
    /// A real `mongod` (preferred when present).
    Mongod(PathBuf),
    /// `secantusd-rs` from the `secantus-mdb` crate, a MongoDB-wire-compatible server.
    Secantus(PathBuf),
}

impl MongoServer {
    /// The program's path.
    pub fn path(&self) -> &Path {
        match self {
            MongoServer::Mongod(path) | MongoServer::Secantus(path) => path,
        }
    }
}

/// The directories searched after `PATH`.
fn extra_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    for dir in [
        "/usr/local/sbin",
        "/usr/local/bin",
        "/usr/sbin",
        "/usr/bin",
        "/sbin",
        "/bin",
    ] {
        dirs.push(PathBuf::from(dir));
    }
    dirs
}

/// Finds an executable by name on `PATH`, then in the usual install places.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path_dirs = std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default();
    path_dirs
        .into_iter()
        .chain(extra_dirs())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .map(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// A real `mongod` when one is installed, else `secantusd-rs`.
pub fn find_mongo() -> Option<MongoServer> {
    find_program("mongod")
        .map(MongoServer::Mongod)
        .or_else(|| find_program("secantusd-rs").map(MongoServer::Secantus))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_a_program_that_exists_and_not_one_that_does_not() {
        assert!(find_program("sh").is_some());
        assert!(find_program("no-such-program-ticketing-rs").is_none());
    }
}
