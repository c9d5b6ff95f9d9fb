//! The manual against the command line: every flag in the README's table of
//! `qbench run` flags exists with the default `--help` shows, every flag of
//! `run` is documented, every subcommand is in the README's table of
//! commands, and `native` takes `run`'s defaults.

use std::collections::BTreeMap;
use std::path::Path;

fn read(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)).unwrap()
}

/// The rows of the Markdown table under `heading`: each row's cells, trimmed.
fn table(text: &str, heading: &str) -> Vec<Vec<String>> {
    let at = text
        .find(heading)
        .unwrap_or_else(|| panic!("no `{heading}` in the text"));
    text[at..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A subcommand's flags: long name → (help text, the default its help shows).
fn flags(sub: &str) -> BTreeMap<String, (String, Option<String>)> {
    let command = qbench::cli::command();
    let sub = command
        .find_subcommand(sub)
        .unwrap_or_else(|| panic!("no subcommand {sub}"));
    sub.get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?.to_string();
            let help = a.get_help().map(|h| h.to_string()).unwrap_or_default();
            let shown = match a.get_default_values() {
                [] => help
                    .rfind("[default: ")
                    .map(|at| help[at + 10..help.len() - 1].to_string()),
                values => Some(
                    values
                        .iter()
                        .map(|v| v.to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join(","),
                ),
            };
            Some((long, (help, shown)))
        })
        .collect()
}

/// The errors of the README's flag table against `run --help`.
fn flag_table_errors(readme: &str) -> Vec<String> {
    let run = flags("run");
    let mut errors = Vec::new();
    for row in table(readme, "### `qbench run` flags") {
        let flag = row[0].trim_matches('`');
        let name = flag.split(' ').next().unwrap().trim_start_matches("--");
        let Some((_, shown)) = run.get(name) else {
            errors.push(format!("the README's `--{name}` is not a flag of run"));
            continue;
        };
        // A default written as one code span is a value: it must be the one
        // `--help` shows. Words ("host name", "none", "off") describe.
        let cell = &row[1];
        let value = cell
            .strip_prefix('`')
            .and_then(|c| c.strip_suffix('`'))
            .filter(|c| !c.contains('`'));
        if let Some(value) = value
            && shown.as_deref() != Some(value)
        {
            errors.push(format!(
                "--{name}: the README says `{value}`, --help says {shown:?}"
            ));
        }
    }
    errors
}

#[test]
fn every_flag_in_the_readme_exists_with_the_default_help_shows() {
    let readme = read("README.md");
    assert!(table(&readme, "### `qbench run` flags").len() >= 30);
    assert_eq!(flag_table_errors(&readme), Vec::<String>::new());
}

#[test]
fn a_planted_mismatch_is_caught() {
    let readme = read("README.md");
    let planted = readme.replacen(
        "| `--max-samples N` | `100` |",
        "| `--max-samples N` | `50` |",
        1,
    );
    assert_ne!(planted, readme, "the row to plant in is there");
    assert_eq!(
        flag_table_errors(&planted),
        ["--max-samples: the README says `50`, --help says Some(\"100\")"]
    );
    let planted = readme.replacen("| `--rounds N` |", "| `--round N` |", 1);
    assert_eq!(
        flag_table_errors(&planted),
        ["the README's `--round` is not a flag of run"]
    );
}

#[test]
fn every_flag_of_run_is_documented() {
    let mut docs = read("README.md");
    for page in [
        "methodology",
        "performance",
        "report-format",
        "architecture",
    ] {
        docs.push_str(&read(&format!("docs/{page}.md")));
    }
    let missing: Vec<String> = flags("run")
        .into_keys()
        .filter(|name| name != "help")
        .filter(|name| {
            let flag = format!("--{name}");
            !docs.match_indices(&flag).any(|(at, _)| {
                let next = docs[at + flag.len()..].chars().next();
                !next.is_some_and(|c| c.is_ascii_alphanumeric() || c == '-')
            })
        })
        .collect();
    assert_eq!(missing, Vec::<String>::new(), "flags of run no page names");
}

#[test]
fn every_subcommand_is_in_the_readme() {
    let readme = read("README.md");
    let listed: Vec<String> = table(&readme, "## Commands")
        .into_iter()
        .map(|row| row[0].clone())
        .collect();
    for sub in qbench::cli::command().get_subcommands() {
        if sub.is_hide_set() {
            continue;
        }
        let name = format!("`qbench {}", sub.get_name());
        assert!(
            listed.iter().any(|l| l.starts_with(&name)),
            "{name}` is not in the README's table of commands: {listed:?}"
        );
    }
}

#[test]
fn native_takes_the_defaults_of_run() {
    let run = flags("run");
    let native = flags("native");
    let mut shared = 0;
    for (name, (_, shown)) in &native {
        if let Some((_, in_run)) = run.get(name)
            && shown.is_some()
        {
            assert_eq!(shown, in_run, "--{name}");
            shared += 1;
        }
    }
    assert!(shared >= 10, "{shared} flags shared");
}
