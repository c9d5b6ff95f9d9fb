//! The axes of the benchmark matrix besides precision: browsers and backends.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A name on the command line or in a report that is not one of the known values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} `{given}`; expected one of: {expected}")]
pub struct ParseNameError {
    /// What was being parsed (`browser`, `backend`, `precision`).
    pub what: &'static str,
    /// The text that did not match.
    pub given: String,
    /// The accepted names, comma separated.
    pub expected: String,
}

impl ParseNameError {
    pub(crate) fn new(what: &'static str, given: &str, names: &[&str]) -> Self {
        Self {
            what,
            given: given.to_string(),
            expected: names.join(", "),
        }
    }
}

/// Declares a fieldless enum whose `Display`, `FromStr` and serde form are the given names.
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vmeta])* #[serde(rename = $text)] $variant),+
        }

        impl $name {
            /// Every value, in matrix order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used on the command line and in reports.
            pub fn name(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }

        impl FromStr for $name {
            type Err = ParseNameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(ParseNameError::new($what, s, &[$($text),+])),
                }
            }
        }
    };
}
pub(crate) use named_enum;

named_enum!(
    /// A headless browser qbench drives over WebDriver.
    Browser, "browser", {
        /// Debian's Chromium, driven by ChromeDriver.
        Chromium => "chromium",
        /// Debian's Firefox ESR, driven by geckodriver.
        Firefox => "firefox",
    }
);

named_enum!(
    /// Where the network's arithmetic runs.
    Backend, "backend", {
        /// burn-wgpu on the browser's WebGPU (or natively on Vulkan).
        Webgpu => "webgpu",
        /// burn's pure-Rust CPU backend (burn-flex), compiled to wasm in the browser.
        Cpu => "cpu",
    }
);

/// The `browser` value of cells measured outside any browser by `qbench native`.
pub const NATIVE_BROWSER: &str = "native";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for b in Browser::ALL {
            assert_eq!(b.name().parse::<Browser>().unwrap(), *b);
        }
        for b in Backend::ALL {
            assert_eq!(b.to_string().parse::<Backend>().unwrap(), *b);
        }
    }

    #[test]
    fn unknown_name_says_what_is_accepted() {
        let err = "safari".parse::<Browser>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown browser `safari`; expected one of: chromium, firefox"
        );
    }
}
