//! The runner's modules point one way: a module imports only from lower
//! layers, or from its own layer without a cycle. Every `crate::…` path in
//! `runner/src` (imports, inline paths and test code alike) is checked against
//! the table below, which is the one in `runner/src/lib.rs` and
//! `docs/architecture.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layers, top to bottom, and their top-level modules.
const LAYERS: &[(&str, &[&str])] = &[
    ("command line", &["main", "lib", "cli", "bin"]),
    ("commands", &["commands", "train"]),
    ("configuration", &["config"]),
    ("executors", &["exec"]),
    ("scheduler", &["schedule"]),
    ("collection", &["collect"]),
    ("analysis", &["analysis"]),
    ("exporters and stores", &["report", "history"]),
    ("plan", &["plan"]),
    ("helpers", &["defaults", "fmt", "exit", "cancel", "testing"]),
];

fn layer_of(module: &str) -> Option<usize> {
    LAYERS.iter().position(|(_, mods)| mods.contains(&module))
}

/// The top-level module a source file belongs to (`exec/browser.rs` → `exec`).
fn module_of(src: &Path, file: &Path) -> String {
    let rel = file.strip_prefix(src).unwrap();
    let first = rel
        .components()
        .next()
        .unwrap()
        .as_os_str()
        .to_string_lossy();
    first.trim_end_matches(".rs").to_string()
}

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level modules a source text names through `crate::` paths,
/// `use crate::{a, b::c}` groups included. Comments are skipped.
fn imports(text: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for line in text.lines() {
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let after = &rest[at + "crate::".len()..];
            if let Some(group) = after.strip_prefix('{') {
                // `crate::{a, b::c}` on this line: the first segment of each item.
                let inner = group.split('}').next().unwrap_or_default();
                for item in inner.split(',') {
                    let name: String = item
                        .trim()
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    if !name.is_empty() && name != "self" {
                        found.insert(name);
                    }
                }
            } else {
                let name: String = after
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    found.insert(name);
                }
            }
            rest = after;
        }
    }
    found
}

/// Every wrong import of the tree at `src`, said plainly.
fn violations(src: &Path) -> Vec<String> {
    let mut files = Vec::new();
    sources(src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut wrong = Vec::new();
    for file in &files {
        let from = module_of(src, file);
        let Some(from_layer) = layer_of(&from) else {
            wrong.push(format!(
                "{}: module `{from}` is in no layer of tests/layers.rs",
                file.display()
            ));
            continue;
        };
        let text = std::fs::read_to_string(file).unwrap();
        for to in imports(&text) {
            if to == from {
                continue;
            }
            match layer_of(&to) {
                None => wrong.push(format!(
                    "{}: imports `crate::{to}`, which is in no layer",
                    file.display()
                )),
                Some(to_layer) if to_layer < from_layer => wrong.push(format!(
                    "{}: `{from}` ({}) imports `crate::{to}` from a layer above ({})",
                    file.display(),
                    LAYERS[from_layer].0,
                    LAYERS[to_layer].0
                )),
                Some(_) => {
                    graph.entry(from.clone()).or_default().insert(to);
                }
            }
        }
    }
    // Within a layer, imports must not go round.
    for (from, tos) in &graph {
        for to in tos {
            if reaches(&graph, to, from, &mut BTreeSet::new()) {
                wrong.push(format!("`{from}` and `{to}` import each other (a cycle)"));
            }
        }
    }
    wrong
}

fn reaches(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
    target: &str,
    seen: &mut BTreeSet<String>,
) -> bool {
    if from == target {
        return true;
    }
    if !seen.insert(from.to_string()) {
        return false;
    }
    graph
        .get(from)
        .is_some_and(|tos| tos.iter().any(|t| reaches(graph, t, target, seen)))
}

fn runner_src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn every_runner_module_imports_only_downward() {
    let wrong = violations(&runner_src());
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn an_upward_import_or_a_cycle_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path();
    std::fs::create_dir_all(src.join("report")).unwrap();
    std::fs::write(src.join("fmt.rs"), "//! helpers\n").unwrap();
    std::fs::write(
        src.join("report/html.rs"),
        "use crate::fmt::significant;\nuse crate::{history::store, fmt};\n",
    )
    .unwrap();
    std::fs::write(
        src.join("history.rs"),
        "// use crate::report; (a comment)\n",
    )
    .unwrap();
    assert!(violations(src).is_empty(), "{:?}", violations(src));

    // A helper that reaches up into the exporters.
    std::fs::write(src.join("fmt.rs"), "use crate::report::html;\n").unwrap();
    let wrong = violations(src);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("imports `crate::report` from a layer above"));

    // Two modules of one layer that import each other.
    std::fs::write(src.join("fmt.rs"), "").unwrap();
    std::fs::write(
        src.join("history.rs"),
        "fn f() { crate::report::html::x(); }\n",
    )
    .unwrap();
    let wrong = violations(src);
    assert_eq!(wrong.len(), 2, "{wrong:?}");
    assert!(wrong.iter().all(|w| w.contains("a cycle")), "{wrong:?}");

    // A module nobody placed.
    std::fs::write(src.join("history.rs"), "").unwrap();
    std::fs::write(src.join("stray.rs"), "").unwrap();
    let wrong = violations(src);
    assert_eq!(wrong.len(), 1, "{wrong:?}");
    assert!(wrong[0].contains("in no layer"), "{wrong:?}");
}

#[test]
fn imports_reads_paths_groups_and_skips_comments() {
    let found = imports(
        "use crate::exec::{browser, driver};\nuse crate::{fmt, exit::Ended};\n\
         // crate::commands is only named here\nlet x = crate::plan::cells();\n",
    );
    let want: BTreeSet<String> = ["exec", "fmt", "exit", "plan"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(found, want);
}

/// The longest a function of the runner's production code may be, in lines
/// (signature to closing brace). Longer ones are cut into named phases.
const MAX_FUNCTION_LINES: usize = 80;

/// Functions of `text` (outside its test module) longer than `max` lines, as
/// `name (n lines)`. A test module is the file's `#[cfg(test)] mod …` to its end.
fn long_functions(text: &str, max: usize) -> Vec<String> {
    let lines: Vec<&str> = text.lines().collect();
    let end = lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod "))
        .unwrap_or(lines.len());
    let mut long = Vec::new();
    let mut i = 0;
    while i < end {
        let line = lines[i];
        let indent = line.len() - line.trim_start().len();
        let words: Vec<&str> = line.split_whitespace().collect();
        let at = words.iter().position(|w| *w == "fn");
        let is_fn = at.is_some_and(|k| {
            words[..k].iter().all(|w| {
                matches!(*w, "pub" | "async" | "const" | "unsafe") || w.starts_with("pub(")
            })
        });
        if !is_fn {
            i += 1;
            continue;
        }
        let name: String = words[at.unwrap() + 1]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect();
        // The body opens on the line that ends with `{`; a declaration ends with `;`.
        let Some(open) = (i..end).find(|&j| {
            let t = lines[j].trim_end();
            t.ends_with('{') || t.ends_with(';')
        }) else {
            break;
        };
        if lines[open].trim_end().ends_with(';') {
            i = open + 1;
            continue;
        }
        let close = format!("{}}}", " ".repeat(indent));
        let Some(last) = (open + 1..end).find(|&j| lines[j] == close) else {
            break;
        };
        let n = last - i + 1;
        if n > max {
            long.push(format!("{name} ({n} lines)"));
        }
        i += 1;
    }
    long
}

#[test]
fn no_production_function_of_the_runner_is_long() {
    let src = runner_src();
    let mut files = Vec::new();
    sources(&src, &mut files);
    let mut long = Vec::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        // Test-only modules: the scheduler's mock executor, the shared fixtures.
        if rel == Path::new("schedule/mock.rs") || rel == Path::new("testing.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for f in long_functions(&text, MAX_FUNCTION_LINES) {
            long.push(format!("{}: {f}", rel.display()));
        }
    }
    assert!(
        long.is_empty(),
        "over {MAX_FUNCTION_LINES} lines; cut into named phases:\n{}",
        long.join("\n")
    );
}

#[test]
fn a_long_function_is_found_and_tests_are_left_out() {
    let body = "    let x = 1;\n".repeat(5);
    let text = format!(
        "pub fn short() {{\n{body}}}\n\nimpl A {{\n    pub(crate) async fn long(\n        a: u32,\n    ) -> u32 {{\n{body}{body}    }}\n}}\n\nfn declared();\n\n#[cfg(test)]\nmod tests {{\n    fn long_test() {{\n{body}{body}{body}    }}\n}}\n"
    );
    assert_eq!(long_functions(&text, 8), ["long (14 lines)"]);
    assert!(long_functions(&text, 20).is_empty());
}
