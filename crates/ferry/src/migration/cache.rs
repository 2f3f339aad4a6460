//! The script cache: the checksum of each up script as it was when ferry
//! last read it, keyed by what `stat` says of the file (size, modification
//! and change times, inode, device). With thousands of migrations, reading
//! every file is most of what `ferry status`, `ferry plan` and a no-op
//! `ferry db migrate` cost; with the cache, a file whose stat is unchanged
//! is not opened until its text is needed (to run it, lint it, or show it).
//!
//! Only scripts with no `-- ferry:` directive that changes anything are
//! cached (the few with one are read every time, so that the cache holds
//! checksums and nothing else). A file changed within [`MARGIN`] of being
//! read is not cached: a second write in the same tick of the file system's
//! clock, with the same size, would leave its stat as it was (what git calls
//! "racily clean"). Any write after that moves the change time, which
//! `touch` cannot set back. A script read later from the cache is checked
//! against the cached checksum, so that a change that slipped past all of
//! this is refused rather than run.
//!
//! The file is `.ferry/cache/scripts-<folder>`: one line per script. It is
//! written whole to a temporary file and renamed over the old one (two
//! processes writing at once leave one of their two complete versions), and
//! not synced: losing it costs one slow run. A cache that cannot be read,
//! or was written by another version of ferry, is ignored; one that cannot
//! be written is left as it was. Writing one removes the caches beside it
//! that nothing has written for 30 days (a folder renamed or gone).
//!
//! Written by hand: the format is nine fields a line, read in a few
//! milliseconds for 10,000 scripts; no crate does "a map of file stamps".

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::migration::Checksum;

/// How long after its last change a file is first trusted to the cache.
pub(crate) const MARGIN: Duration = Duration::from_secs(2);

/// The first line: the format and the version of ferry that wrote it.
fn header() -> String {
    format!("ferry script cache 1 {}", env!("CARGO_PKG_VERSION"))
}

/// What `stat` says of a file, as far as telling a change goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    size: u64,
    modified: (i64, i64),
    changed: (i64, i64),
    inode: u64,
    device: u64,
}

impl Stamp {
    /// The stamp of a file's metadata.
    #[cfg(unix)]
    pub(crate) fn of(meta: &std::fs::Metadata) -> Option<Stamp> {
        use std::os::unix::fs::MetadataExt;
        Some(Stamp {
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
            changed: (meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
            device: meta.dev(),
        })
    }

    /// No stamps where there is no change time to key them on.
    #[cfg(not(unix))]
    pub(crate) fn of(_meta: &std::fs::Metadata) -> Option<Stamp> {
        None
    }

    /// Whether the file changed less than `margin` before `now`, or after it.
    fn is_recent(&self, now: SystemTime, margin: Duration) -> bool {
        let newest = self.modified.max(self.changed);
        let Ok(since) = now.duration_since(SystemTime::UNIX_EPOCH) else {
            return true;
        };
        let newest = Duration::new(newest.0.max(0) as u64, newest.1.clamp(0, 999_999_999) as u32);
        since.checked_sub(newest).is_none_or(|age| age < margin)
    }
}

/// The cache of one migrations folder.
#[derive(Debug)]
pub(crate) struct ScriptCache {
    file: PathBuf,
    /// The file as read; `entries` point into it.
    text: String,
    /// Sorted by name, as written.
    entries: Vec<Entry>,
    /// Which entries were asked for with their stamp: the others go.
    used: Vec<bool>,
    /// Scripts read this time, to add.
    added: Vec<(String, Stamp, Checksum)>,
    /// Where the next name asked for is likely to be.
    cursor: usize,
    margin: Duration,
    now: SystemTime,
}

#[derive(Debug)]
struct Entry {
    name: Range<usize>,
    checksum: Range<usize>,
    stamp: Stamp,
}

impl ScriptCache {
    /// Reads the cache in `file` (empty when there is none or it cannot be
    /// used), to trust files `margin` after their last change.
    pub(crate) fn open_with(file: &Path, margin: Duration) -> ScriptCache {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        let entries = parse(&text).unwrap_or_default();
        ScriptCache {
            file: file.to_owned(),
            used: vec![false; entries.len()],
            text,
            entries,
            added: Vec::new(),
            cursor: 0,
            margin,
            now: SystemTime::now(),
        }
    }

    /// The checksum of `name` if its stamp is the one cached; the entry is
    /// then kept in the next version of the cache.
    pub(crate) fn get(&mut self, name: &str, stamp: Stamp) -> Option<Checksum> {
        // Asked in name order, as the entries are written: try the next one
        // before searching.
        let next = self.cursor;
        let i = if self
            .entries
            .get(next)
            .is_some_and(|e| &self.text[e.name.clone()] == name)
        {
            next
        } else {
            self.entries
                .binary_search_by(|e| self.text[e.name.clone()].cmp(name))
                .ok()?
        };
        self.cursor = i + 1;
        let entry = &self.entries[i];
        if entry.stamp != stamp {
            return None;
        }
        self.used[i] = true;
        Some(Checksum(self.text[entry.checksum.clone()].to_owned()))
    }

    /// Records a script just read, unless it changed too recently to trust
    /// its stamp.
    pub(crate) fn put(&mut self, name: &str, stamp: Stamp, checksum: &Checksum) {
        if !stamp.is_recent(self.now, self.margin) {
            self.added.push((name.to_owned(), stamp, checksum.clone()));
        }
    }

    /// Writes the cache if it differs from what was read: best effort.
    pub(crate) fn save(self) {
        if self.added.is_empty() && self.used.iter().all(|u| *u) {
            return;
        }
        let mut lines: Vec<(&str, Stamp, &str)> = self
            .entries
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| **used)
            .map(|(e, _)| (&self.text[e.name.clone()], e.stamp, &self.text[e.checksum.clone()]))
            .chain(self.added.iter().map(|(n, s, c)| (n.as_str(), *s, c.as_str())))
            .collect();
        lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
        lines.dedup_by(|a, b| a.0 == b.0);
        let mut text = header();
        text.push('\n');
        for (name, s, checksum) in lines {
            text.push_str(&format!(
                "{checksum} {} {} {} {} {} {} {} {name}\n",
                s.size, s.modified.0, s.modified.1, s.changed.0, s.changed.1, s.inode, s.device
            ));
        }
        // Not synced: losing it costs one slow run.
        let written = std::fs::create_dir_all(crate::durable::parent(&self.file))
            .map_err(|e| crate::Error::io("cannot create", crate::durable::parent(&self.file), e))
            .and_then(|()| crate::durable::write_private(&self.file, text.as_bytes(), false));
        match written {
            Ok(()) => prune_stale(&self.file, self.now),
            Err(e) => tracing::debug!("the script cache {} was not written: {e}", self.file.display()),
        }
    }
}

/// How long a cache of another folder may go unwritten before it is taken
/// for one nothing uses any more.
const STALE: Duration = Duration::from_secs(30 * 24 * 3600);

/// Removes the caches beside `ours` (`scripts-*`) that nothing has written
/// for [`STALE`]: a folder renamed or removed, or a cache an earlier version
/// of ferry keyed otherwise, would otherwise stay for good. One still in use
/// costs a slow run and is written again. Best effort.
fn prune_stale(ours: &Path, now: SystemTime) {
    let Some(dir) = ours.parent() else { return };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let cache = entry.file_name().to_str().is_some_and(|n| n.starts_with("scripts-"));
        let age = entry
            .metadata()
            .ok()
            .and_then(|m| m.modified().ok())
            .and_then(|m| now.duration_since(m).ok());
        if path != ours && cache && age.is_some_and(|a| a > STALE) {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::debug!("removed the stale script cache {}", path.display()),
                Err(e) => tracing::debug!("left the stale script cache {}: {e}", path.display()),
            }
        }
    }
}

/// The entries of a cache file; `None` for one that is not whole, or was
/// written by another version. Lines are split by hand: with 10,000 of
/// them, the generic splitters' per-field set-up showed in profiles.
fn parse(text: &str) -> Option<Vec<Entry>> {
    let header = header();
    let body = text.strip_prefix(header.as_str())?.strip_prefix('\n')?;
    let base = text.len() - body.len();
    let bytes = text.as_bytes();
    let mut out: Vec<Entry> = Vec::with_capacity(body.len() / 120);
    let mut at = base;
    while at < bytes.len() {
        let end = at + bytes[at..].iter().position(|&b| b == b'\n')?;
        let mut fields: [Range<usize>; 9] = std::array::from_fn(|_| 0..0);
        let mut start = at;
        for (k, field) in fields.iter_mut().enumerate() {
            let stop = if k == 8 {
                end
            } else {
                start + bytes[start..end].iter().position(|&b| b == b' ')?
            };
            *field = start..stop;
            start = stop + 1;
        }
        let number = |k: usize| text[fields[k].clone()].parse::<i64>().ok();
        let checksum = fields[0].clone();
        if checksum.len() != 64 || !bytes[checksum.clone()].iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let name = fields[8].clone();
        if name.is_empty()
            || out
                .last()
                .is_some_and(|last| text[last.name.clone()] >= text[name.clone()])
        {
            return None; // written sorted, each name once
        }
        out.push(Entry {
            stamp: Stamp {
                size: number(1)? as u64,
                modified: (number(2)?, number(3)?),
                changed: (number(4)?, number(5)?),
                inode: number(6)? as u64,
                device: number(7)? as u64,
            },
            name,
            checksum,
        });
        at = end + 1;
    }
    Some(out)
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    fn stamp_of(path: &Path) -> Stamp {
        Stamp::of(&std::fs::metadata(path).unwrap()).unwrap()
    }

    #[test]
    fn a_saved_cache_answers_for_unchanged_files_only() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cache");
        let a = dir.path().join("a.up.sql");
        std::fs::write(&a, "SELECT 1;").unwrap();
        let sum = Checksum::of("SELECT 1;");
        let mut cache = ScriptCache::open_with(&file, Duration::ZERO);
        assert_eq!(cache.get("a.up.sql", stamp_of(&a)), None);
        cache.put("a.up.sql", stamp_of(&a), &sum);
        cache.save();
        let mut cache = ScriptCache::open_with(&file, Duration::ZERO);
        assert_eq!(cache.get("a.up.sql", stamp_of(&a)), Some(sum.clone()));
        // The same size, written again: the change time moves.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&a, "SELECT 2;").unwrap();
        assert_eq!(cache.get("a.up.sql", stamp_of(&a)), None);
    }

    #[test]
    fn a_write_removes_the_caches_beside_it_that_nothing_wrote_for_a_month() {
        let dir = tempfile::tempdir().unwrap();
        let ours = dir.path().join("scripts-ours");
        let aged = |name: &str, days: u64| {
            let path = dir.path().join(name);
            std::fs::write(&path, "x").unwrap();
            let then = SystemTime::now() - Duration::from_secs(days * 24 * 3600);
            std::fs::File::options()
                .write(true)
                .open(&path)
                .unwrap()
                .set_modified(then)
                .unwrap();
            path
        };
        let stale = aged("scripts-gone", 40);
        let recent = aged("scripts-other", 3);
        let unrelated = aged("notes", 40);
        let a = dir.path().join("a.up.sql");
        std::fs::write(&a, "SELECT 1;").unwrap();
        // Nothing to write: nothing is pruned either.
        ScriptCache::open_with(&ours, Duration::ZERO).save();
        assert!(stale.exists());
        let mut cache = ScriptCache::open_with(&ours, Duration::ZERO);
        cache.put("a.up.sql", stamp_of(&a), &Checksum::of("SELECT 1;"));
        cache.save();
        assert!(ours.exists());
        assert!(!stale.exists(), "a month unwritten: removed");
        assert!(recent.exists() && unrelated.exists());
    }

    #[test]
    fn recent_files_are_not_cached_and_a_foreign_cache_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cache");
        let a = dir.path().join("a.up.sql");
        std::fs::write(&a, "SELECT 1;").unwrap();
        let mut cache = ScriptCache::open_with(&file, MARGIN);
        cache.put("a.up.sql", stamp_of(&a), &Checksum::of("SELECT 1;"));
        cache.save();
        assert!(!file.exists(), "a file changed just now was cached");

        let line = format!("{} 9 1 2 3 4 5 6 a.up.sql\n", Checksum::of("x"));
        std::fs::write(&file, format!("{}\n{line}", header())).unwrap();
        assert_eq!(ScriptCache::open_with(&file, MARGIN).entries.len(), 1);
        std::fs::write(&file, format!("ferry script cache 1 0.0.0-other\n{line}")).unwrap();
        assert!(ScriptCache::open_with(&file, MARGIN).entries.is_empty());
        std::fs::write(&file, format!("{}\n{}", header(), &line[..40])).unwrap();
        assert!(
            ScriptCache::open_with(&file, MARGIN).entries.is_empty(),
            "a cut line was read"
        );
    }
}
