//! `costscope completions SHELL` and `costscope man`, run through the real binary: the bash
//! script is loaded into bash and asked for completions the way readline asks; the other shells'
//! scripts are syntax-checked when the shell is installed, and always checked for every command
//! of the clap definitions; the man pages are rendered by man and groff with warnings on.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Stdio;

use assert_cmd::Command;
use clap::CommandFactory;

fn costscope() -> Command {
    let mut cmd = Command::cargo_bin("costscope").unwrap();
    // Never pick up the developer's own config.
    cmd.env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
        .env("XDG_DATA_HOME", "/nonexistent-costscope-test")
        .env_remove("RUST_LOG");
    cmd
}

fn stdout_of(args: &[&str]) -> String {
    let out = costscope().args(args).output().unwrap();
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Every command as a path of names (`["rules", "check"]`), nested ones included, from the
/// same definitions the binary parses with: a command added later is checked without editing
/// this test.
fn command_paths() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, prefix: &[String], out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let mut path = prefix.to_vec();
            path.push(sub.get_name().to_string());
            out.push(path.clone());
            walk(sub, &path, out);
        }
    }
    let mut out = Vec::new();
    walk(&costscope::cli::Cli::command(), &[], &mut out);
    out
}

fn top_commands() -> Vec<String> {
    command_paths().into_iter().filter(|p| p.len() == 1).map(|p| p[0].clone()).collect()
}

fn installed(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

fn script_file(dir: &Path, shell: &str) -> PathBuf {
    let path = dir.join(format!("costscope.{shell}"));
    std::fs::write(&path, stdout_of(&["completions", shell])).unwrap();
    path
}

/// Runs bash on `program` with `args` as `$1…`, returning stdout; fails on a non-zero exit or
/// anything on stderr.
fn bash(program: &str, args: &[&str]) -> String {
    let out = std::process::Command::new("bash")
        .arg("--norc")
        .arg("-c")
        .arg(program)
        .arg("bash")
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && stderr.is_empty(), "bash {args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// What the script completes for the command line `words` (the last one is the word under
/// the cursor), called as bash's programmable completion calls the `-F` function.
fn bash_complete(script: &Path, words: &[&str]) -> Vec<String> {
    const DRIVER: &str = r#"
        source "$1" || exit 1
        shift
        fn=$(complete -p costscope | sed -n 's/.* -F \([^ ]*\) .*/\1/p')
        COMP_WORDS=("$@")
        COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
        COMP_LINE="${COMP_WORDS[*]}"
        COMP_POINT=${#COMP_LINE}
        "$fn" costscope "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
        printf '%s\n' "${COMPREPLY[@]}"
    "#;
    let mut args = vec![script.to_str().unwrap()];
    args.extend_from_slice(words);
    bash(DRIVER, &args)
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn bash_script_parses_registers_and_completes() {
    let dir = tempfile::tempdir().unwrap();
    let script = script_file(dir.path(), "bash");
    let status = std::process::Command::new("bash").arg("-n").arg(&script).status().unwrap();
    assert!(status.success(), "bash -n rejects the script");

    // Sourcing registers a completion function for the command, and the function exists.
    let registered = bash(
        r#"source "$1" && complete -p costscope && declare -F _costscope"#,
        &[script.to_str().unwrap()],
    );
    assert!(
        registered.contains(" -F _costscope ") && registered.ends_with("costscope\n_costscope\n"),
        "{registered}"
    );

    // `costscope rep<TAB>` and `costscope report --for<TAB>`: one candidate each.
    assert_eq!(bash_complete(&script, &["costscope", "rep"]), ["report"]);
    assert_eq!(bash_complete(&script, &["costscope", "report", "--for"]), ["--format"]);
    // `--fo` is ambiguous in `report` (a source flag and the output flag).
    assert_eq!(bash_complete(&script, &["costscope", "report", "--fo"]), ["--focus", "--format"]);

    // `costscope <TAB>` offers every command of the definitions.
    let all = bash_complete(&script, &["costscope", ""]);
    for name in top_commands() {
        assert!(all.contains(&name), "`costscope <TAB>` lacks {name}: {all:?}");
    }
    // Nested commands and value lists complete too.
    let rules = bash_complete(&script, &["costscope", "rules", ""]);
    assert!(rules.contains(&"list".into()) && rules.contains(&"check".into()), "{rules:?}");
    let shells = bash_complete(&script, &["costscope", "completions", ""]);
    for shell in ["bash", "elvish", "fish", "powershell", "zsh"] {
        assert!(shells.contains(&shell.to_string()), "{shell} missing: {shells:?}");
    }
    // An option's value is not completed as a command.
    assert_eq!(bash_complete(&script, &["costscope", "completions", "z"]), ["zsh"]);
}

#[test]
fn zsh_fish_powershell_and_elvish_scripts_name_every_command() {
    let dir = tempfile::tempdir().unwrap();
    // zsh and fish check syntax without running when they are installed (CI images may lack
    // them: the content checks below run everywhere).
    let zsh = script_file(dir.path(), "zsh");
    if installed("zsh") {
        let status = std::process::Command::new("zsh").arg("-n").arg(&zsh).status().unwrap();
        assert!(status.success(), "zsh -n rejects the script");
    }
    let fish = script_file(dir.path(), "fish");
    if installed("fish") {
        let status =
            std::process::Command::new("fish").arg("--no-execute").arg(&fish).status().unwrap();
        assert!(status.success(), "fish --no-execute rejects the script");
    }
    let zsh = std::fs::read_to_string(zsh).unwrap();
    let fish = std::fs::read_to_string(fish).unwrap();
    let powershell = stdout_of(&["completions", "powershell"]);
    let elvish = stdout_of(&["completions", "elvish"]);

    assert!(zsh.starts_with("#compdef costscope\n"), "{}", &zsh[..40]);
    assert!(fish.contains("complete -c costscope "));
    assert!(powershell.contains("Register-ArgumentCompleter -Native -CommandName 'costscope'"));
    assert!(elvish.contains("set edit:completion:arg-completer[costscope]"));
    for path in command_paths() {
        let name = path.last().unwrap();
        // How each shell lists a command as a candidate, with its description.
        assert!(zsh.contains(&format!("'{name}:")), "zsh lacks {path:?}");
        assert!(fish.contains(&format!(" -a \"{name}\" -d '")), "fish lacks {path:?}");
        assert!(
            powershell.contains(&format!("[CompletionResult]::new('{name}', '{name}',")),
            "powershell lacks {path:?}"
        );
        assert!(elvish.contains(&format!("cand {name} '")), "elvish lacks {path:?}");
    }
    // The flags of a command are there too.
    assert!(zsh.contains("'--format=[Output format]"), "zsh lacks report's --format");
    assert!(fish.contains("__fish_costscope_using_subcommand report\" -l format"));
    assert!(powershell.contains("[CompletionResult]::new('--format', '--format',"));
}

/// They describe the command line, not the data: a config file that would stop every other
/// command does not stop them.
#[test]
fn a_broken_config_does_not_stop_completions_or_the_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("costscope.toml");
    std::fs::write(&config, "[tags\nrequired = 3\n").unwrap();
    let config = config.to_str().unwrap();
    let report = costscope().args(["--config", config, "report", "--sample"]).output().unwrap();
    assert_eq!(report.status.code(), Some(2), "the config is broken for other commands");
    let bash = costscope().args(["--config", config, "completions", "bash"]).output().unwrap();
    assert!(bash.status.success(), "{}", String::from_utf8_lossy(&bash.stderr));
    assert!(String::from_utf8_lossy(&bash.stdout).contains("_costscope"));
    let man = costscope().args(["--config", config, "man"]).output().unwrap();
    assert!(man.status.success(), "{}", String::from_utf8_lossy(&man.stderr));
    assert!(
        man.stdout.starts_with(b".TH COSTSCOPE 1")
            || String::from_utf8_lossy(&man.stdout).contains(".TH COSTSCOPE 1")
    );
}

#[test]
fn an_unknown_shell_is_bad_usage() {
    let out = costscope().args(["completions", "tcsh"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("invalid value 'tcsh'") && stderr.contains("bash"), "{stderr}");
    assert_eq!(costscope().arg("completions").output().unwrap().status.code(), Some(2));
}

#[test]
fn a_closed_stdout_is_not_a_failure() {
    // The reader is gone before the script is written: the write fails with EPIPE, which
    // clap_complete itself would turn into a panic (exit 101).
    for args in [["completions", "fish"], ["man", "--quiet"]] {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_costscope"))
            .args(args)
            .env("XDG_CONFIG_HOME", "/nonexistent-costscope-test")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stderr.is_empty(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Renders a page as a reader sees it, failing on any warning of man or groff.
fn render(page: &Path) -> String {
    // groff with every warning on (-ww) and the page's UTF-8 read as such (-k).
    let out = std::process::Command::new("groff")
        .args(["-k", "-man", "-Tutf8", "-ww", "-z"])
        .arg(page)
        .output()
        .unwrap();
    assert!(out.status.success(), "groff failed on {}", page.display());
    assert!(out.stderr.is_empty(), "{}: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    let out = std::process::Command::new("man")
        .arg("-l")
        .arg(page)
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "200")
        .env("MAN_KEEP_FORMATTING", "")
        .env("LANG", "C.UTF-8")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(out.status.success(), "man -l {}", page.display());
    assert!(out.stderr.is_empty(), "{}: {}", page.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn man_page_describes_every_command_and_renders_cleanly() {
    let page = stdout_of(&["man"]);
    let title = page.lines().find(|l| l.starts_with(".TH")).unwrap();
    assert!(title.starts_with(".TH COSTSCOPE 1 "), "{title}");
    // Only clap_mangen's two-line apostrophe preamble before the title.
    assert!(page.lines().take_while(|l| !l.starts_with(".TH")).count() <= 2);
    for path in command_paths() {
        let heading = format!(".SS \"costscope {}\"\n", path.join(" "));
        assert!(page.contains(&heading), "no section {heading:?}");
    }
    assert!(page.contains("\\fB\\-\\-format\\fR \\fI<csv|json|markdown|html|prometheus|xlsx>\\fR"));

    let man_available = installed("man") && installed("groff");
    if !man_available {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("costscope.1");
    std::fs::write(&file, &page).unwrap();
    let text = render(&file);
    for heading in
        ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SOURCES", "COMMANDS", "EXIT STATUS"]
    {
        assert!(text.lines().any(|l| l == heading), "no {heading} section:\n{text}");
    }
    assert!(text.contains("costscope - FinOps cost analyzer for the terminal"));
    assert!(text.contains("costscope report [--format] [-o|--out] [--fail-on-savings]"), "{text}");
    assert!(text.contains("--format <csv|json|markdown|html|prometheus|xlsx> [default: csv]"));
    // Source and global options are listed once, not under each of the commands reading them.
    assert_eq!(text.matches("--focus <FILE>").count(), 1, "{text}");
    assert_eq!(text.matches("--lock-timeout <SECS>").count(), 1, "{text}");
    assert!(text.contains("4      A gate was crossed"), "{text}");
}

#[test]
fn man_out_dir_writes_a_page_per_command() {
    let dir = tempfile::tempdir().unwrap();
    // A directory that does not exist yet, as a package's staging tree.
    let man1 = dir.path().join("share/man/man1");
    let out = costscope().args(["man", "--out-dir"]).arg(&man1).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.stdout.is_empty());

    let mut expected: Vec<String> = command_paths()
        .iter()
        .map(|p| format!("costscope-{}.1", p.join("-")))
        .chain(["costscope.1".to_string()])
        .collect();
    expected.sort();
    let mut files: Vec<String> = std::fs::read_dir(&man1)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(files, expected);
    assert!(files.contains(&"costscope-rules-check.1".into()));

    for file in &files {
        let page = std::fs::read_to_string(man1.join(file)).unwrap();
        let name = file.strip_suffix(".1").unwrap();
        let title = page.lines().find(|l| l.starts_with(".TH")).unwrap();
        let expected_title = format!(".TH {} 1 ", name.to_uppercase());
        assert!(title.starts_with(&expected_title), "{file}: {title}");
        assert!(page.contains(".SH \"EXIT STATUS\"\n"), "{file}");
    }
    let top = std::fs::read_to_string(man1.join("costscope.1")).unwrap();
    for name in top_commands() {
        assert!(top.contains(&format!("costscope\\-{name}(1)")), "costscope.1 lacks {name}");
    }
    if !(installed("man") && installed("groff")) {
        return;
    }
    for file in &files {
        render(&man1.join(file));
    }
    let report = render(&man1.join("costscope-report.1"));
    assert!(report.contains("costscope-report - Savings recommendations with evidence"));
    assert!(report.contains("--format <csv|json|markdown|html|prometheus|xlsx> [default: csv]"));
    assert!(report.contains("--focus <FILE>"), "a page per command is complete: {report}");
    let check = render(&man1.join("costscope-rules-check.1"));
    assert!(check.contains("costscope rules check"), "{check}");
    assert!(check.contains("[DIR]"), "{check}");
}
