//! What the example programs share as command-line tools: their command line, their
//! terminal output and their output files.
//!
//! - [`operands`]: a command line with `-h`/`--help` and file operands only.
//! - [`stdout`], [`stderr`] ([`Stream`]) and [`OutputFile`]: the `rlgrad` program's writers
//!   that never panic (quiet on a closed stdout) and its output files checked before the work
//!   and written atomically, from `src/bin/rlgrad/io.rs` (one copy of that code).
//! - [`finish`], [`usage_error`] and the exit statuses; [`plot_main`], the whole `main` of an
//!   example whose one operand is the path of its plot.
//!
//! Compiled into each example with `#[path = "common/cli.rs"] mod cli;`.
#![allow(dead_code)]

use std::ffi::OsString;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

// The streams and output files are the `rlgrad` program's own (one copy of that code).
#[path = "../../src/bin/rlgrad/io.rs"]
mod io_files;

pub use io_files::{OutputFile, Stream, stderr, stdout};

/// What a command line without options of its own asks for.
pub enum Command {
    /// `-h` or `--help` appeared (anywhere before `--`).
    Help,
    /// Run with these operands (file names), in order.
    Run(Vec<PathBuf>),
}

/// Whether `-h` or `--help` appears before `--` (or anywhere, without `--`): help wins over
/// every other argument, even a bad one.
pub fn asks_for_help(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| *a != "--")
        .any(|a| a == "-h" || a == "--help")
}

/// Reads a command line (after the program name) whose only option is `-h`/`--help`: help
/// wherever it appears, else the operands. `--` ends the options (a file called `-x` is
/// `-- -x`). `Err` is a message for the user naming the unknown option.
pub fn operands(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let args: Vec<OsString> = args.into_iter().collect();
    if asks_for_help(&args) {
        return Ok(Command::Help);
    }
    let options_end = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let mut files = Vec::new();
    for (i, arg) in args.into_iter().enumerate() {
        if i < options_end && arg.to_string_lossy().starts_with('-') {
            return Err(format!("unknown option `{}`", arg.to_string_lossy()));
        }
        if i != options_end {
            files.push(PathBuf::from(arg));
        }
    }
    Ok(Command::Run(files))
}

/// Exit statuses: 0 success, 1 the work failed (or stdout could not be written), 2 a bad
/// command line.
pub const FAILED: u8 = 1;
/// See [`FAILED`].
pub const BAD_ARGUMENTS: u8 = 2;

/// The end of every example's `main`: `status` as the exit code, raised to [`FAILED`] when
/// stdout could not be written (a full disk behind `> file`; a closed pipe is not an error).
pub fn finish(
    name: &str,
    status: u8,
    out: &mut Stream<impl Write>,
    err: &mut Stream<impl Write>,
) -> ExitCode {
    match out.finish() {
        Ok(()) => ExitCode::from(status),
        Err(e) => {
            writeln!(err, "{name}: error: cannot write to stdout: {e}");
            ExitCode::from(status.max(FAILED))
        }
    }
}

/// A command-line mistake: the message, a pointer to `--help`, and [`BAD_ARGUMENTS`].
pub fn usage_error(name: &str, message: &str, err: &mut Stream<impl Write>) -> u8 {
    writeln!(err, "{name}: {message}");
    writeln!(err, "run `{name} --help` for usage");
    BAD_ARGUMENTS
}

/// The whole `main` of an example that draws one plot: its only operand is the plot's path,
/// `default` when absent (whose directory is created, for a default under `target/`). The path
/// is checked before `run` starts; `run` prints on stdout and writes the plot.
pub fn plot_main<E: fmt::Display>(
    name: &str,
    usage: &str,
    default: &str,
    run: impl FnOnce(&mut Stream<io::StdoutLock<'static>>, &OutputFile) -> Result<(), E>,
) -> ExitCode {
    let mut out = stdout();
    let mut err = stderr();
    let status = match plot_path(default) {
        Err(message) => usage_error(name, &message, &mut err),
        Ok(None) => {
            writeln!(out, "{usage}");
            0
        }
        Ok(Some(path)) => match default_dir(&path, default).and_then(|()| OutputFile::check(&path))
        {
            Err(message) => {
                writeln!(err, "{name}: error: {message}");
                FAILED
            }
            Ok(plot_file) => match run(&mut out, &plot_file) {
                Ok(()) => 0,
                Err(e) => {
                    writeln!(err, "{name}: error: {e}");
                    FAILED
                }
            },
        },
    };
    finish(name, status, &mut out, &mut err)
}

/// Creates the directory of the default output path (`target/` for a fresh clone); a path
/// the user gave is taken as it is.
fn default_dir(path: &Path, default: &str) -> Result<(), String> {
    if path != Path::new(default) {
        return Ok(());
    }
    match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(dir) => fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create the directory {}: {e}", dir.display())),
        None => Ok(()),
    }
}

/// The plot's path from the command line (`default` when there is no operand), or `None` for
/// help. `Err` is a message for the user.
fn plot_path(default: &str) -> Result<Option<PathBuf>, String> {
    match operands(std::env::args_os().skip(1))? {
        Command::Help => Ok(None),
        Command::Run(files) => match <[PathBuf; 1]>::try_from(files) {
            Ok([path]) => Ok(Some(path)),
            Err(files) if files.is_empty() => Ok(Some(PathBuf::from(default))),
            Err(files) => Err(format!(
                "one plot path at most, got {}: {}",
                files.len(),
                files
                    .iter()
                    .map(|f| format!("`{}`", f.display()))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        },
    }
}
