//! The program's terminal streams and output files.
//!
//! - [`Stream`] ([`stdout`], [`stderr`]): writers that never panic. When the reader goes away
//!   (`rlgrad fit data.csv | head -2`, a broken pipe) the rest of the output is dropped and
//!   the program goes on quietly; any other error is kept for [`Stream::finish`].
//! - [`OutputFile`]: an output path checked before the work starts (its directory exists and a
//!   file can be created there, tried by creating a temporary file and removing it at once; it
//!   is not a directory or a device; an existing file there is writable), then written
//!   atomically: a temporary file in the same directory is filled, flushed, synced and renamed
//!   over the path. An error or an interrupted run never leaves half a file at the path.
//! - [`same_file`]: whether two paths name one file (to refuse writing over an input).
//!
//! Written for the former `fit_csv` example; the examples compile this file into their
//! `examples/common/cli.rs` (`#[path]`), so the code exists once (the program must not
//! depend on `examples/`, so the dependency runs the other way).

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// A terminal stream whose write errors never panic (see the module docs). Write to it with
/// `writeln!(out, …)`, which returns `()`.
pub struct Stream<W: Write> {
    inner: W,
    state: State,
}

enum State {
    Open,
    /// The reader went away: further output is dropped.
    Closed,
    /// Any other error: further output is dropped, the error kept for `finish`.
    Failed(io::Error),
}

/// Standard output (line-buffered, locked for the program's lifetime).
pub fn stdout() -> Stream<io::StdoutLock<'static>> {
    Stream {
        inner: io::stdout().lock(),
        state: State::Open,
    }
}

/// Standard error (unbuffered).
pub fn stderr() -> Stream<io::Stderr> {
    Stream {
        inner: io::stderr(),
        state: State::Open,
    }
}

impl<W: Write> Stream<W> {
    /// Writes formatted text (what `write!` and `writeln!` call); errors change the state.
    pub fn write_fmt(&mut self, args: fmt::Arguments<'_>) {
        if matches!(self.state, State::Open)
            && let Err(e) = self.inner.write_fmt(args)
        {
            self.fail(e);
        }
    }

    /// Flushes what is buffered; errors change the state.
    pub fn flush(&mut self) {
        if matches!(self.state, State::Open)
            && let Err(e) = self.inner.flush()
        {
            self.fail(e);
        }
    }

    /// Flushes, then `Ok` if everything was written or the reader went away, else the first
    /// other error (a full disk behind `> file`, say).
    pub fn finish(&mut self) -> io::Result<()> {
        self.flush();
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Failed(e) => Err(e),
            State::Open | State::Closed => Ok(()),
        }
    }

    fn fail(&mut self, e: io::Error) {
        self.state = if e.kind() == io::ErrorKind::BrokenPipe {
            State::Closed
        } else {
            State::Failed(e)
        };
    }
}

/// An output file, checked by [`OutputFile::check`] before the work and written atomically
/// by [`OutputFile::write`] after it.
pub struct OutputFile {
    /// The path as the user gave it (for messages).
    shown: PathBuf,
    /// Where the file goes: the path, or the file a symbolic link there points to.
    target: PathBuf,
    /// The target's directory, where the temporary file is made.
    dir: PathBuf,
}

impl OutputFile {
    /// Checks that `path` can be written: it names a file, not a directory or a device (an
    /// existing file there must be a writable regular file; a symbolic link is followed), its
    /// directory exists, and a file can be created there (a temporary one is created and
    /// removed). `Err` is a message for the user naming the path.
    pub fn check(path: &Path) -> Result<OutputFile, String> {
        let fail = |why: String| format!("cannot write {}: {why}", path.display());
        let text = path.as_os_str().to_string_lossy();
        if text.is_empty() {
            return Err("an empty output file name".to_string());
        }
        if text.ends_with('/') || text.ends_with(std::path::MAIN_SEPARATOR) {
            return Err(fail("the name ends with a separator (a directory)".into()));
        }
        let target = match fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => fs::canonicalize(path)
                .map_err(|e| fail(format!("a symbolic link that cannot be followed ({e})")))?,
            _ => path.to_path_buf(),
        };
        match fs::metadata(&target) {
            Ok(m) if m.is_dir() => return Err(fail("it is a directory".into())),
            Ok(m) if !m.is_file() => {
                return Err(fail("it exists and is not a regular file".into()));
            }
            Ok(m) if m.permissions().readonly() => {
                return Err(fail("the file exists and is read-only".into()));
            }
            Ok(_) => {}
            // Nothing there yet (or a parent is a file): the directory check says which.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
                ) => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        let Some(name) = target.file_name() else {
            return Err(fail("not a file name".into()));
        };
        let name = name.to_os_string();
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        match fs::metadata(&dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Err(fail(format!("{} is not a directory", dir.display()))),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(fail(format!(
                    "the directory {} does not exist",
                    dir.display()
                )));
            }
            Err(e) => return Err(fail(format!("directory {}: {e}", dir.display()))),
        }
        let out = OutputFile {
            shown: path.to_path_buf(),
            target: dir.join(name),
            dir,
        };
        // Drop removes it: this only proves that a file can be created there, and leaves
        // nothing behind if the run is interrupted.
        out.temp().map_err(|e| {
            fail(format!(
                "cannot create a file in {}: {e}",
                out.dir.display()
            ))
        })?;
        Ok(out)
    }

    /// The path as given.
    pub fn path(&self) -> &Path {
        &self.shown
    }

    /// Writes the file atomically: `fill` writes the contents into a temporary file in the
    /// same directory, which is flushed, synced and renamed over the path. On any error the
    /// temporary file is removed and the path is untouched. `Err` names the path.
    pub fn write<E: fmt::Display>(
        &self,
        fill: impl FnOnce(&mut BufWriter<File>) -> Result<(), E>,
    ) -> Result<(), String> {
        let fail = |why: String| format!("cannot write {}: {why}", self.shown.display());
        let (file, mut temp) = self.temp().map_err(|e| fail(e.to_string()))?;
        // An existing file keeps its permissions (best effort).
        if let Ok(m) = fs::metadata(&self.target) {
            let _ = file.set_permissions(m.permissions());
        }
        let mut w = BufWriter::new(file);
        fill(&mut w).map_err(|e| fail(e.to_string()))?;
        let file = w
            .into_inner()
            .map_err(|e| fail(e.into_error().to_string()))?;
        file.sync_all().map_err(|e| fail(e.to_string()))?;
        drop(file);
        fs::rename(&temp.path, &self.target).map_err(|e| fail(e.to_string()))?;
        temp.renamed = true;
        // Make the rename itself durable (best effort; not every system can sync a directory).
        if let Ok(d) = File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// A new, empty temporary file next to the target, removed when the guard drops.
    fn temp(&self) -> io::Result<(File, TempGuard)> {
        let name = self
            .target
            .file_name()
            .unwrap_or_default()
            .to_string_lossy();
        let pid = std::process::id();
        let mut n = 0;
        loop {
            let path = self.dir.join(format!(".{name}.tmp-{pid}-{n}"));
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    let guard = TempGuard {
                        path,
                        renamed: false,
                    };
                    return Ok((file, guard));
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 100 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }
}

/// Removes a temporary file unless it has been renamed into place.
struct TempGuard {
    path: PathBuf,
    renamed: bool,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if !self.renamed {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Whether `a` and `b` name the same file: the same canonical path (for a path that does not
/// exist yet: its directory's canonical path and its name), or, on Unix, the same device and
/// inode (hard links).
pub fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(x), Ok(y)) = (fs::metadata(a), fs::metadata(b))
            && x.dev() == y.dev()
            && x.ino() == y.ino()
        {
            return true;
        }
    }
    matches!((canonical(a), canonical(b)), (Some(x), Some(y)) if x == y)
}

/// The canonical path, or for a path that does not exist, its directory's and its name.
fn canonical(p: &Path) -> Option<PathBuf> {
    fs::canonicalize(p).ok().or_else(|| {
        let dir = match p.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        Some(fs::canonicalize(dir).ok()?.join(p.file_name()?))
    })
}
