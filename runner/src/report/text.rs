//! Text that came from outside qbench, made safe for the formats that show it.
//!
//! A cell's reason, a browser's start error, an adapter's names, a version: all
//! of these are written by the page under test, a driver, or a report read
//! back, and in a pull-request gate the page is the pull request's own code.
//! In Markdown (the report, the comparison, the step summary that GitHub
//! renders) such text must stay text: it cannot open a tag, an image, a link,
//! a heading, a list, code or a new table cell, and it stays on its line.
//! JUnit messages are XML-escaped by the writer; they get the same folding and
//! cutting here.

use crate::fmt::truncate;

/// How many characters of outside text a Markdown line or a JUnit message
/// keeps before it is cut.
pub const MAX_CHARS: usize = 400;

/// Characters Markdown (CommonMark and GitHub's tables) gives a meaning to
/// inside a line; each is written with a backslash before it.
const MARKDOWN_SPECIAL: &[char] = &[
    '\\', '`', '*', '_', '[', ']', '(', ')', '|', '~', '#', '!', '{', '}', '$',
];

/// `text` on one line: every line break, tab or other control character is a
/// space, and runs of spaces are one.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    for ch in text.chars() {
        if ch.is_control() || ch.is_whitespace() {
            if !space && !out.is_empty() {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(ch);
            space = false;
        }
    }
    out.truncate(out.trim_end().len());
    out
}

/// Outside text for a Markdown line or table cell: on one line, cut at
/// [`MAX_CHARS`], HTML's `&`, `<` and `>` as entities and Markdown's special
/// characters escaped with a backslash.
pub fn markdown(text: &str) -> String {
    let folded = truncate(&one_line(text), MAX_CHARS);
    let mut out = String::with_capacity(folded.len() + 8);
    for ch in folded.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            c if MARKDOWN_SPECIAL.contains(&c) => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// Outside text for a JUnit message (the writer escapes XML): on one line,
/// cut at [`MAX_CHARS`].
pub fn message(text: &str) -> String {
    truncate(&one_line(text), MAX_CHARS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The hostile reasons of the tests: markup, a heading and a table break.
    pub const HOSTILE: &str = "<script>alert(1)</script><img src=x onerror=alert(2)>\n## heading\n| a | b |\n![x](http://x/y.png) [link](http://x) `code` **bold**";

    #[test]
    fn markdown_keeps_outside_text_as_text() {
        let safe = markdown(HOSTILE);
        assert!(!safe.contains('\n'), "{safe}");
        assert!(!safe.contains('<') && !safe.contains('>'), "{safe}");
        assert!(safe.starts_with("&lt;script&gt;alert\\(1\\)&lt;/script&gt;&lt;img src=x onerror=alert\\(2\\)&gt; \\#\\# heading \\| a \\| b \\|"), "{safe}");
        assert!(safe.contains("\\!\\[x\\]\\(http://x/y.png\\) \\[link\\]\\(http://x\\) \\`code\\` \\*\\*bold\\*\\*"), "{safe}");
        // Every special character is escaped: no unescaped one is left.
        let mut chars = safe.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                assert!(MARKDOWN_SPECIAL.contains(&chars.next().unwrap()), "{safe}");
            } else {
                assert!(!MARKDOWN_SPECIAL.contains(&c), "{c} in {safe}");
            }
        }
        assert_eq!(markdown("no answer within 20 s"), "no answer within 20 s");
    }

    #[test]
    fn long_text_is_cut_with_a_marker_on_characters() {
        let long = "é".repeat(MAX_CHARS + 25);
        let safe = markdown(&long);
        let kept = "é".repeat(MAX_CHARS);
        assert_eq!(safe, format!("{kept}… \\(50 more bytes\\)"));
        assert_eq!(message(&long), format!("{kept}… (50 more bytes)"));
        assert_eq!(message("abc"), "abc");
    }

    /// A report whose page wrote [`HOSTILE`] everywhere it can: a cell's
    /// reason, an expectation's reason, a browser's start error, an adapter's
    /// name, a browser version; and a comparison in which that cell broke.
    fn hostile_report() -> (
        qbench_core::schema::Report,
        qbench_core::comparison::Comparison,
    ) {
        use qbench_core::schema::{Adapter, Cell, Environment, Outcome};
        use qbench_core::{Backend, Precision};
        let old = qbench_core::schema::Report::new(
            "0.1.0",
            "2026-12-01T00:00:00Z",
            crate::testing::settings(),
        );
        let cell = |outcome| Cell {
            outcome,
            ..Cell::new(
                "chromium".parse().unwrap(),
                Backend::Cpu,
                Precision::Int8,
                1,
                qbench_model::weights::memory(Precision::Int8),
            )
        };
        let mut new = old;
        new.cells = vec![cell(Outcome::Error {
            message: HOSTILE.into(),
        })];
        new.environments = vec![
            Environment {
                browser: "chromium".parse().unwrap(),
                version: HOSTILE.into(),
                webgpu: Some(Adapter {
                    vendor: HOSTILE.into(),
                    ..Adapter::default()
                }),
                ..Environment::default()
            },
            Environment {
                browser: "firefox".parse().unwrap(),
                start_error: Some(HOSTILE.into()),
                ..Environment::default()
            },
        ];
        use qbench_core::comparison::{CellChange, Comparison, LatencyChange, Transition};
        use qbench_core::schema::Status;
        let comparison = Comparison {
            cells: vec![CellChange {
                id: new.cells[0].id(),
                before: Some(Status::Ok),
                after: Some(Status::Error),
                transition: Transition::Breakage,
                medians: None,
                latency: LatencyChange::NotComparable(HOSTILE.into()),
                throughput: LatencyChange::Missing,
                quality: None,
            }],
            threshold: 0.05,
            partial: false,
            rounds: 1,
            paired: None,
            learned_from: None,
        };
        (new, comparison)
    }

    #[test]
    fn outside_text_stays_text_in_every_markdown_output_and_junit() {
        let (report, comparison) = hostile_report();
        let outputs = [
            ("report.md", super::super::markdown::render(&report)),
            (
                "summary",
                super::super::summary::render(&report, Some(&comparison)),
            ),
            ("comparison", super::super::compare::render(&comparison)),
        ];
        for (name, text) in &outputs {
            for bad in ["<script", "<img", "\n## heading", "\n| a", "![x]", "](http"] {
                assert!(!text.contains(bad), "{name} holds {bad:?}:\n{text}");
            }
            // The summary names no reasons; the others show them, escaped.
            assert!(
                *name == "summary" || text.contains("&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
                "{name} shows the text, escaped:\n{text}"
            );
        }
        // Without the comparison, the failure's message is the cell's reason.
        let junit = super::super::junit::render(&report, None).unwrap();
        assert!(
            !junit.contains("<script") && !junit.contains("<img"),
            "{junit}"
        );
        assert!(
            junit.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
            "{junit}"
        );
        assert!(!junit.contains("\n## heading"), "{junit}");
    }

    #[test]
    fn lines_fold_into_one() {
        assert_eq!(one_line("a\r\nb\t\tc \u{7} d\n"), "a b c d");
        assert_eq!(message("line one\nline two"), "line one line two");
    }
}
