//! The page the browsers load. `www/` is compiled into the binary, so an
//! installed `qbench` needs no checkout to serve it; `--www DIR` serves a
//! folder instead (for working on the page, and for the tests, which inject
//! faults into a copy of it).

use std::path::{Path, PathBuf};

use anyhow::Context;

/// A file of `www/`, compiled in: its name and text.
type File = (&'static str, &'static str);

macro_rules! www {
    ($($name:literal),+ $(,)?) => {
        [$(($name, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../www/", $name)))),+]
    };
}

/// Every file of `www/` (a test keeps this list equal to the folder).
pub const BUILT_IN: [File; 4] = www!("index.html", "qbench.js", "tfjs.js", "ui.js");

/// Where the page comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Page {
    /// The `www/` this binary was built with.
    BuiltIn,
    /// A folder holding `index.html` and what it loads.
    Folder(PathBuf),
}

impl Page {
    /// The folder `--www` names, or the built-in page.
    pub fn from_flag(www: Option<&Path>) -> Self {
        www.map_or(Page::BuiltIn, |dir| Page::Folder(dir.to_path_buf()))
    }

    /// A folder to serve the page from: the given one, or the built-in files
    /// written into a new temporary folder, returned with it (the page is
    /// there while it lives).
    pub fn folder(&self) -> anyhow::Result<(PathBuf, Option<tempfile::TempDir>)> {
        match self {
            Page::Folder(dir) => {
                anyhow::ensure!(
                    dir.join("index.html").is_file(),
                    "--www {}: no index.html there",
                    dir.display()
                );
                Ok((dir.clone(), None))
            }
            Page::BuiltIn => {
                let scratch = tempfile::Builder::new()
                    .prefix("qbench-page-")
                    .tempdir()
                    .context("a folder for the page")?;
                for (name, text) in BUILT_IN {
                    let path = scratch.path().join(name);
                    std::fs::write(&path, text)
                        .with_context(|| format!("writing the page's {}", path.display()))?;
                }
                Ok((scratch.path().to_path_buf(), Some(scratch)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_page_is_every_file_of_www() {
        let www = Path::new(env!("CARGO_MANIFEST_DIR")).join("../www");
        let mut on_disk: Vec<String> = std::fs::read_dir(&www)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        on_disk.sort();
        let built_in: Vec<&str> = BUILT_IN.iter().map(|(name, _)| *name).collect();
        assert_eq!(on_disk, built_in, "add the new file to BUILT_IN");
        for (name, text) in BUILT_IN {
            assert_eq!(std::fs::read_to_string(www.join(name)).unwrap(), text);
        }
    }

    #[test]
    fn the_built_in_page_is_written_out_and_a_folder_is_checked() {
        let (dir, scratch) = Page::BuiltIn.folder().unwrap();
        assert!(scratch.is_some_and(|s| s.path() == dir));
        let (dir, _scratch) = Page::BuiltIn.folder().unwrap();
        assert!(dir.join("index.html").is_file());
        assert_eq!(
            std::fs::read_to_string(dir.join("qbench.js")).unwrap(),
            BUILT_IN[1].1
        );
        let empty = tempfile::tempdir().unwrap();
        let err = Page::from_flag(Some(empty.path())).folder().unwrap_err();
        assert!(err.to_string().contains("no index.html"), "{err}");
    }
}
