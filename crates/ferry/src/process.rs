//! Child processes (pg_dump, pg_restore, psql, the mariadb tools, hooks and
//! check commands) that never outlive ferry.
//!
//! - Each child asks the kernel to kill it when ferry dies
//!   (`PR_SET_PDEATHSIG`), so a `kill -9` of ferry alone does not leave a
//!   restore finishing on its own.
//! - Every running child is registered; [`terminate_children`] kills them
//!   all (with their process groups, for hooks), which the CLI calls when it
//!   receives SIGINT or SIGTERM. A library does not install signal handlers
//!   behind its host application's back.
//! - Hooks and commands run in a process group of their own, so a timeout
//!   ends the whole group, not only the shell.
//!
//! Timeouts poll `try_wait` every few milliseconds: no crate waits on a
//! child with a timeout without installing a process-wide SIGCHLD handler,
//! which a library must not do.

use std::io::Read;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};

/// Running children: (pid, whether it leads a process group of its own).
static CHILDREN: Mutex<Vec<(u32, bool)>> = Mutex::new(Vec::new());

/// Work folders to remove if ferry is told to stop.
static WORK_DIRS: Mutex<Vec<std::path::PathBuf>> = Mutex::new(Vec::new());

/// Sets up `cmd` so that its process dies with ferry, and, with
/// `own_group`, leads a process group of its own.
pub(crate) fn die_with_parent(cmd: &mut Command, own_group: bool) {
    use std::os::unix::process::CommandExt;
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: the closure runs in the child between fork and exec and calls
    // only async-signal-safe functions (setpgid, prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if own_group {
                libc::setpgid(0, 0);
            }
            #[cfg(target_os = "linux")]
            {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                // ferry died before the line above: do not run orphaned.
                if libc::getppid() != parent {
                    libc::_exit(1);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = parent;
            Ok(())
        });
    }
}

pub(crate) struct Registered(u32);

impl Registered {
    fn new(child: &Child, group: bool) -> Self {
        if let Ok(mut c) = CHILDREN.lock() {
            c.push((child.id(), group));
        }
        Registered(child.id())
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let Ok(mut c) = CHILDREN.lock() {
            c.retain(|(pid, _)| *pid != self.0);
        }
    }
}

/// The signal a stop was asked with (0: none).
static STOP: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

/// How many operations now stop at safe points when asked.
static SAFE_POINTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// While held, the operation running stops at its next safe point when a
/// stop is asked for (an upgrade run: between steps, journaled).
#[must_use]
pub struct SafePoints(());

impl SafePoints {
    /// The operation running from here checks [`stop_asked`] at its safe points.
    pub fn enter() -> Self {
        SAFE_POINTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        SafePoints(())
    }
}

impl Drop for SafePoints {
    fn drop(&mut self) {
        SAFE_POINTS.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// Asks the operation running to stop at its next safe point, for the
/// signal `signal` (the CLI's SIGTERM handler: what Kubernetes sends a pod
/// first). False when nothing running stops at safe points: the caller
/// then stops the process at once.
pub fn ask_to_stop(signal: i32) -> bool {
    if SAFE_POINTS.load(std::sync::atomic::Ordering::SeqCst) == 0 {
        return false;
    }
    STOP.store(signal, std::sync::atomic::Ordering::SeqCst);
    true
}

/// The signal a stop was asked with, if one was.
pub fn stop_asked() -> Option<i32> {
    match STOP.load(std::sync::atomic::Ordering::SeqCst) {
        0 => None,
        signal => Some(signal),
    }
}

/// Kills every child ferry is running (each hook's whole process group) and
/// removes the work folders of unfinished backups and restores. For the
/// CLI's SIGINT/SIGTERM handler; safe to call from any thread.
pub fn terminate_children() {
    let children = CHILDREN.lock().map(|c| c.clone()).unwrap_or_default();
    for (pid, group) in children {
        let target = if group {
            -(pid as libc::pid_t)
        } else {
            pid as libc::pid_t
        };
        // SAFETY: kill(2) with a pid or a negated process group id.
        unsafe {
            libc::kill(target, libc::SIGKILL);
        }
    }
    let dirs = WORK_DIRS.lock().map(|d| d.clone()).unwrap_or_default();
    for d in dirs {
        let _ = std::fs::remove_dir_all(d);
    }
}

/// Registers a work folder to remove if ferry is told to stop; unregistered
/// when the guard is dropped.
pub(crate) struct WorkDir(std::path::PathBuf);

impl WorkDir {
    pub(crate) fn register(path: &std::path::Path) -> Self {
        if let Ok(mut d) = WORK_DIRS.lock() {
            d.push(path.to_owned());
        }
        WorkDir(path.to_owned())
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if let Ok(mut d) = WORK_DIRS.lock() {
            d.retain(|p| *p != self.0);
        }
    }
}

/// Spawns `cmd` (which must not have been set up already), registered so
/// that it dies with ferry.
pub(crate) fn spawn(mut cmd: Command, what: &str, own_group: bool) -> Result<(Child, Registered)> {
    die_with_parent(&mut cmd, own_group);
    let child = cmd.spawn().map_err(|e| Error::db(format!("cannot run {what}"), e))?;
    let reg = Registered::new(&child, own_group);
    Ok((child, reg))
}

/// Runs `cmd` to the end with no input, capturing its output. A non-zero
/// exit is an error quoting its standard error (URLs redacted).
pub(crate) fn output(mut cmd: Command, what: &str) -> Result<std::process::Output> {
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let (child, _reg) = spawn(cmd, what, false)?;
    let out = child
        .wait_with_output()
        .map_err(|e| Error::db(format!("cannot run {what}"), e))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(Error::db(
            format!("{what} failed ({})", describe(out.status)),
            crate::redact::redact_text(String::from_utf8_lossy(&out.stderr).trim()),
        ))
    }
}

/// How a process ended, in words.
pub(crate) fn describe(status: ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => format!("exit status {c}"),
        (None, Some(s)) => format!("killed by signal {s}"),
        _ => status.to_string(),
    }
}

/// What a timed command did.
#[derive(Debug, Clone)]
pub(crate) struct Ran {
    /// How it ended; `None` when it was killed at its timeout.
    pub status: Option<ExitStatus>,
    /// Its standard output and error, interleaved as written, at most the
    /// last [`KEEP`] bytes.
    pub output: String,
    /// How long it ran.
    pub elapsed: Duration,
}

/// How much of a command's output is kept.
pub(crate) const KEEP: usize = 64 * 1024;

/// Runs `cmd` in a process group of its own with no input, killing the
/// group at `timeout`. Output (stdout and stderr together) is captured.
pub(crate) fn run_timed(mut cmd: Command, what: &str, timeout: Duration) -> Result<Ran> {
    let (reader, writer) = std::io::pipe().map_err(|e| Error::db(format!("cannot run {what}"), e))?;
    let writer2 = writer
        .try_clone()
        .map_err(|e| Error::db(format!("cannot run {what}"), e))?;
    cmd.stdin(Stdio::null()).stdout(writer).stderr(writer2);
    let start = Instant::now();
    // `spawn` drops the command, and with it our copies of the writing ends:
    // the reader sees the end when the child (and anything it started) closes them.
    let (mut child, _reg) = spawn(cmd, what, true)?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut reader = reader;
        let mut kept: Vec<u8> = Vec::new();
        let mut buf = [0u8; 8192];
        loop {
            match reader.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    kept.extend_from_slice(&buf[..n]);
                    if kept.len() > 2 * KEEP {
                        kept.drain(..kept.len() - KEEP);
                    }
                }
            }
        }
        let _ = tx.send(kept);
    });
    let mut wait = Duration::from_millis(2);
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) => {}
            Err(e) => return Err(Error::db(format!("cannot wait for {what}"), e)),
        }
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            // SAFETY: kill(2) on the child's own process group.
            unsafe {
                libc::kill(-(child.id() as libc::pid_t), libc::SIGKILL);
            }
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(wait.min(timeout - elapsed));
        wait = (wait * 2).min(Duration::from_millis(25));
    };
    let elapsed = start.elapsed();
    // A background process the command started may hold the output open:
    // wait a little for the end of it, then go on without it.
    let mut kept = rx.recv_timeout(Duration::from_millis(500)).unwrap_or_default();
    if kept.len() > KEEP {
        kept.drain(..kept.len() - KEEP);
    }
    Ok(Ran {
        status,
        output: String::from_utf8_lossy(&kept).into_owned(),
        elapsed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_commands_capture_output_and_end_at_their_timeout() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo out; echo err >&2; exit 3"]);
        let ran = run_timed(cmd, "sh", Duration::from_secs(5)).unwrap();
        assert_eq!(ran.status.and_then(|s| s.code()), Some(3));
        assert!(
            ran.output.contains("out") && ran.output.contains("err"),
            "{}",
            ran.output
        );

        // A shell whose child sleeps: the whole group ends at the timeout.
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "sleep 30; echo never"]);
        let start = Instant::now();
        let ran = run_timed(cmd, "sh", Duration::from_millis(300)).unwrap();
        assert!(ran.status.is_none());
        assert!(start.elapsed() < Duration::from_secs(3), "{:?}", start.elapsed());
        assert!(!ran.output.contains("never"));
    }

    #[test]
    fn failures_quote_the_tool_without_secrets() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'cannot reach postgres://app:hunter2@db/app' >&2; exit 1"]);
        let e = output(cmd, "pg_dump").unwrap_err().to_string();
        assert!(
            e.contains("pg_dump failed (exit status 1)") && !e.contains("hunter2"),
            "{e}"
        );
    }
}
