//! A PostgreSQL server of the test's own (Debian's binaries, a fresh data directory, a free
//! port), which the test may stop and start again: the shared test cluster must stay up for
//! the other tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct PrivatePostgres {
    bin: PathBuf,
    data: PathBuf,
    pub port: u16,
    _dir: tempfile::TempDir,
}

/// Debian installs each major version under /usr/lib/postgresql/N/bin; the newest is used.
fn bin_dir() -> PathBuf {
    let mut versions: Vec<u32> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (tests/run installs it)")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .collect();
    versions.sort_unstable();
    PathBuf::from(format!("/usr/lib/postgresql/{}/bin", versions.last().expect("a PostgreSQL version")))
}

/// Runs a PostgreSQL tool, as the `postgres` user when the tests run as root (the server
/// refuses to run as root); whether it succeeded.
fn try_run(bin: &Path, tool: &str, args: &[&str]) -> bool {
    let tool = bin.join(tool);
    let status = if nix_is_root() {
        Command::new("runuser").arg("-u").arg("postgres").arg("--").arg(&tool).args(args).stdout(Stdio::null()).status()
    } else {
        Command::new(&tool).args(args).stdout(Stdio::null()).status()
    };
    status.is_ok_and(|s| s.success())
}

fn run(bin: &Path, tool: &str, args: &[&str]) {
    assert!(try_run(bin, tool, args), "{tool} {args:?} failed");
}

fn nix_is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// A temporary directory the server may write, and the data directory inside it.
fn data_directory() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    if nix_is_root() {
        let ok = Command::new("chown").arg("postgres:postgres").arg(dir.path()).status().map(|s| s.success()).unwrap_or(false);
        assert!(ok, "chown the data directory to postgres");
    }
    (dir, data)
}

impl PrivatePostgres {
    pub fn start() -> Self {
        let (dir, data) = data_directory();
        let bin = bin_dir();
        let data_s = data.to_str().expect("utf-8 path");
        run(&bin, "initdb", &["-D", data_s, "-U", "nixa", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        let port = super::free_port();
        let pg = Self { bin, data, port, _dir: dir };
        pg.start_again();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgres://nixa@127.0.0.1:{}/postgres", self.port)
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub fn start_again(&self) {
        let opts = format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.data.display());
        let log = self.data.join("server.log");
        run(
            &self.bin,
            "pg_ctl",
            &["-D", self.data.to_str().expect("utf-8"), "-o", &opts, "-l", log.to_str().expect("utf-8"), "-w", "start"],
        );
    }

    /// A streaming replica of `primary` (a base backup with `standby.signal` and the primary's
    /// address written by `pg_basebackup -R`), started and following it.
    pub fn replica_of(primary: &PrivatePostgres) -> Self {
        let (dir, data) = data_directory();
        let bin = bin_dir();
        let (data_s, port_s) = (data.to_str().expect("utf-8 path"), primary.port.to_string());
        run(&bin, "pg_basebackup", &["-h", "127.0.0.1", "-p", &port_s, "-U", "nixa", "-D", data_s, "-R", "-X", "stream", "--no-sync"]);
        let replica = Self { bin, data, port: super::free_port(), _dir: dir };
        replica.start_again();
        replica
    }

    /// Ends recovery: the replica becomes a primary that takes writes.
    pub fn promote(&self) {
        run(&self.bin, "pg_ctl", &["-D", self.data.to_str().expect("utf-8"), "-w", "promote"]);
    }

    /// One SQL statement through psql; its output, unaligned.
    pub fn query(&self, sql: &str) -> String {
        let psql = self.bin.join("psql");
        let port = self.port.to_string();
        let args = ["-h", "127.0.0.1", "-p", &port, "-U", "nixa", "-d", "postgres", "-qAtc", sql];
        let out = Command::new(&psql).args(args).output().expect("psql");
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Stops the server at once (`-m immediate`: connections are cut, as in a crash).
    pub fn stop(&self) {
        run(&self.bin, "pg_ctl", &["-D", self.data.to_str().expect("utf-8"), "-m", "immediate", "-w", "stop"]);
    }
}

impl Drop for PrivatePostgres {
    fn drop(&mut self) {
        try_run(&self.bin, "pg_ctl", &["-D", self.data.to_str().unwrap_or_default(), "-m", "immediate", "-w", "stop"]);
    }
}
