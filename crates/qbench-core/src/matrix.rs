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
    /// `given` was not one of `names`, for a `what`.
    pub fn new(what: &'static str, given: &str, names: &[&str]) -> Self {
        Self {
            what,
            given: given.to_string(),
            expected: names.join(", "),
        }
    }
}

/// Declares a fieldless enum whose `Display`, `FromStr` and serde form are the
/// given names, so a name is written once (the runner uses it too).
#[macro_export]
macro_rules! named_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, ::serde::Serialize, ::serde::Deserialize)]
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

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::matrix::ParseNameError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::matrix::ParseNameError::new($what, s, &[$($text),+])),
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
        /// WebKitGTK's MiniBrowser (Safari's engine), driven by WebKitWebDriver
        /// on a virtual display.
        Webkit => "webkit",
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

/// What runs a cell: a browser, or the native `qbench cell` process. In a
/// report it is the `browser` field: `chromium`, `firefox`, `webkit` or `native`.
///
/// `Default` (native) is there only so that records holding an agent can
/// derive `Default` for struct-update syntax; a real record names its agent.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(into = "String", try_from = "String")]
pub enum Agent {
    /// A headless browser over WebDriver.
    Browser(Browser),
    /// burn-flex natively, in a child process (`qbench native`).
    #[default]
    Native,
}

impl Agent {
    /// The name of cells measured outside any browser.
    pub const NATIVE: &'static str = "native";

    /// `chromium`, `firefox`, `webkit` or `native`: the report's `browser` field.
    pub fn name(self) -> &'static str {
        match self {
            Agent::Browser(b) => b.name(),
            Agent::Native => Self::NATIVE,
        }
    }

    /// The browser, when it is one.
    pub fn browser(self) -> Option<Browser> {
        match self {
            Agent::Browser(b) => Some(b),
            Agent::Native => None,
        }
    }
}

impl fmt::Display for Agent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Agent {
    type Err = ParseNameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == Self::NATIVE {
            return Ok(Agent::Native);
        }
        s.parse().map(Agent::Browser).map_err(|_| {
            let mut names: Vec<&str> = Browser::ALL.iter().map(|b| b.name()).collect();
            names.push(Self::NATIVE);
            ParseNameError::new("browser", s, &names)
        })
    }
}

impl From<Browser> for Agent {
    fn from(b: Browser) -> Self {
        Agent::Browser(b)
    }
}

impl From<Agent> for String {
    fn from(a: Agent) -> Self {
        a.name().to_string()
    }
}

impl TryFrom<String> for Agent {
    type Error = ParseNameError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

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
    fn agents_are_browsers_or_native_with_the_same_names_everywhere() {
        for a in [
            Agent::Browser(Browser::Chromium),
            Agent::Browser(Browser::Firefox),
            Agent::Browser(Browser::Webkit),
            Agent::Native,
        ] {
            assert_eq!(a.name().parse::<Agent>().unwrap(), a);
            let json = serde_json::to_string(&a).unwrap();
            assert_eq!(json, format!("\"{a}\""));
            assert_eq!(serde_json::from_str::<Agent>(&json).unwrap(), a);
        }
        assert_eq!(
            "safari".parse::<Agent>().unwrap_err().to_string(),
            "unknown browser `safari`; expected one of: chromium, firefox, webkit, native"
        );
        assert!(serde_json::from_str::<Agent>("\"safari\"").is_err());
        // Browsers in their order, then native.
        assert!(Agent::Browser(Browser::Chromium) < Agent::Browser(Browser::Firefox));
        assert!(Agent::Browser(Browser::Firefox) < Agent::Browser(Browser::Webkit));
        assert!(Agent::Browser(Browser::Webkit) < Agent::Native);
    }

    #[test]
    fn unknown_name_says_what_is_accepted() {
        let err = "safari".parse::<Browser>().unwrap_err();
        assert_eq!(
            err.to_string(),
            "unknown browser `safari`; expected one of: chromium, firefox, webkit"
        );
    }
}
