//! Shell completion scripts and man pages, generated from the same clap definitions as the
//! parser, so they cannot drift from the commands they describe.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, roman};

use crate::export::{ExportError, write_atomic};

use super::Cli;

/// The name the shells complete and the pages are titled by.
const BIN: &str = "costscope";

/// Writes the completion script for `shell`.
pub fn write_completions(shell: Shell, w: &mut dyn Write) -> io::Result<()> {
    // clap_complete panics on a failed write (a `| head` that closed the pipe): it writes into
    // memory, and the I/O error, if any, comes from our own write.
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), BIN, &mut script);
    w.write_all(&script)
}

/// Writes one self-contained man page: the global options and the source options once, then
/// each command (nested ones included) with its synopsis, description and own options, then
/// the exit codes.
pub fn write_man_page(w: &mut dyn Write) -> io::Result<()> {
    let mut cmd = command();
    cmd.build();
    let man = titled(Man::new(cmd.clone()), &cmd);
    man.render_title(w)?;
    write_part(|w| man.render_name_section(w), Some("NAME"), w)?;
    write_part(|w| man.render_synopsis_section(w), Some("SYNOPSIS"), w)?;
    write_part(|w| man.render_description_section(w), Some("DESCRIPTION"), w)?;
    write_part(|w| man.render_options_section(w), Some("OPTIONS"), w)?;
    // Most commands read the same sources: their options are listed once, here.
    let sources = <super::SourceArgs as clap::Args>::augment_args(clap::Command::new(BIN))
        .disable_help_flag(true);
    let source_ids: Vec<clap::Id> = sources.get_arguments().map(|a| a.get_id().clone()).collect();
    let sources = Man::new(sources);
    write_part(|w| sources.render_options_section(w), Some("SOURCES"), w)?;
    // And the global options (help included) were listed above: each command lists only its
    // own.
    let mut shared: Vec<clap::Id> =
        cmd.get_arguments().filter(|a| a.is_global_set()).map(|a| a.get_id().clone()).collect();
    shared.push(clap::Id::from("help"));
    shared.extend(source_ids.iter().cloned());
    let mut commands = Roff::default();
    commands.control("SH", ["COMMANDS"]);
    w.write_all(commands.to_roff().as_bytes())?;
    for sub in cmd.get_subcommands() {
        write_command_section(sub, &shared, &source_ids, w)?;
    }
    w.write_all(exit_status().to_roff().as_bytes())?;
    write_part(|w| man.render_version_section(w), Some("VERSION"), w)
}

/// One command of the single page, as a subsection (`.SS costscope report`), and its own
/// subcommands after it. `shared` are the options listed once for all commands, `sources`
/// those of SOURCES.
fn write_command_section(
    cmd: &clap::Command,
    shared: &[clap::Id],
    sources: &[clap::Id],
    w: &mut dyn Write,
) -> io::Result<()> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let mut own = cmd.clone();
    for arg in cmd.get_arguments().filter(|a| shared.contains(a.get_id())) {
        own = own.mut_arg(arg.get_id(), |a| a.hide(true));
    }
    let reads_sources = cmd.get_arguments().any(|a| sources.contains(a.get_id()));
    let man = Man::new(own);
    let mut heading = Roff::default();
    heading.control("SS", [cmd.get_bin_name().unwrap_or_else(|| cmd.get_name())]);
    w.write_all(heading.to_roff().as_bytes())?;
    write_part(|w| man.render_synopsis_section(w), None, w)?;
    write_part(|w| man.render_description_section(w), None, w)?;
    if reads_sources {
        let mut note = Roff::default();
        note.control("PP", []).text([roman("Reads the sources of SOURCES.")]);
        w.write_all(note.to_roff().as_bytes())?;
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set() && !shared.contains(a.get_id())) {
        write_part(|w| man.render_options_section(w), None, w)?;
    }
    for sub in cmd.get_subcommands() {
        write_command_section(sub, shared, sources, w)?;
    }
    Ok(())
}

/// Writes a part clap_mangen renders on its own, as part of a bigger page: without the
/// apostrophe preamble it repeats on every call (the title wrote it once at the top), and with
/// its `.SH` heading replaced by `heading`, or by a paragraph break when `None`.
fn write_part(
    render: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    heading: Option<&str>,
    w: &mut dyn Write,
) -> io::Result<()> {
    let mut part = Vec::new();
    render(&mut part)?;
    for line in String::from_utf8_lossy(&part).lines() {
        if line.starts_with(".ie \\n(.g .ds Aq") || line.starts_with(".el .ds Aq") {
            continue;
        }
        if line.starts_with(".SH ") {
            let mut roff = Roff::default();
            match heading {
                Some(heading) => roff.control("SH", [heading]),
                None => roff.control("PP", []),
            };
            w.write_all(roff.to_roff().as_bytes())?;
            continue;
        }
        writeln!(w, "{line}")?;
    }
    Ok(())
}

/// Writes into `dir` (created if missing) `costscope.1` and one page per command, nested
/// commands included (`costscope-report.1`, `costscope-rules-check.1`, …), each atomically,
/// as packages install them into `man1/`. Returns the files written, in the order written.
pub fn write_man_pages(dir: &Path) -> Result<Vec<PathBuf>, ExportError> {
    std::fs::create_dir_all(dir)
        .map_err(|source| ExportError::Write { path: dir.to_path_buf(), source })?;
    // Building the top command gives each subcommand its display name (`costscope-report`),
    // which titles its page and names its file.
    let mut cmd = command();
    cmd.build();
    let top = dir.join(format!("{BIN}.1"));
    write_atomic(&top, |w| render(&titled(Man::new(cmd.clone()), &cmd), w))?;
    let mut written = vec![top];
    for sub in cmd.get_subcommands() {
        write_sub_pages(sub, dir, &mut written)?;
    }
    Ok(written)
}

fn write_sub_pages(
    cmd: &clap::Command,
    dir: &Path,
    written: &mut Vec<PathBuf>,
) -> Result<(), ExportError> {
    if cmd.is_hide_set() {
        return Ok(());
    }
    let man = titled(Man::new(cmd.clone()), cmd);
    let path = dir.join(man.get_filename());
    write_atomic(&path, |w| render(&man, w))?;
    written.push(path);
    for sub in cmd.get_subcommands() {
        write_sub_pages(sub, dir, written)?;
    }
    Ok(())
}

/// clap_mangen's page with an EXIT STATUS section before its VERSION: every command shares
/// the exit codes, and the gates (exit 4) are how cron jobs and CI use most of them.
fn render(man: &Man, w: &mut dyn Write) -> io::Result<()> {
    let mut page = Vec::new();
    man.render(&mut page)?;
    let at = page.windows(VERSION.len()).position(|s| s == VERSION).unwrap_or(page.len());
    let (head, tail) = page.split_at(at);
    w.write_all(head)?;
    w.write_all(exit_status().to_roff().as_bytes())?;
    w.write_all(tail)
}

const VERSION: &[u8] = b".SH VERSION\n";

/// The command as the pages describe it: without clap's `help` subcommand, which would get a
/// page of its own and say nothing `--help` does not.
fn command() -> clap::Command {
    Cli::command().disable_help_subcommand(true)
}

/// Titles upper case by convention (`.TH COSTSCOPE-REPORT 1`).
fn titled(man: Man, cmd: &clap::Command) -> Man {
    let name = cmd.get_display_name().unwrap_or_else(|| cmd.get_name());
    // The footer names the program, not the subcommand clap_mangen would put there ("check").
    man.title(name.to_uppercase()).source(format!("{BIN} {}", env!("CARGO_PKG_VERSION")))
}

/// The exit codes of PRODUCT.md.
fn exit_status() -> Roff {
    let mut roff = Roff::default();
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in [
        ("0", "Success."),
        ("1", "A failure that is not bad input (for example, the output could not be written)."),
        ("2", "Bad usage or bad input; the message names the file, line and field."),
        (
            "3",
            "The output was written, but a source failed or was partial (the output says which).",
        ),
        (
            "4",
            "A gate was crossed: --fail-on-savings, --fail-on-budget or --fail-on-anomaly \
             (the output is written first).",
        ),
    ] {
        roff.control("TP", []);
        roff.text([roman(code)]);
        roff.text([roman(meaning)]);
    }
    roff
}
