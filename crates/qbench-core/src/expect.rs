//! Expectations: which outcome each cell is expected to have on a machine, the
//! idea of wpt's metadata files and the WebGPU CTS expectations. Entries match
//! cells by any of browser, backend, precision, batch, adapter and host; the
//! last matching entry wins; a cell no entry matches is expected `ok`.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use crate::matrix::{Agent, Backend, Browser};
use crate::precision::Precision;
use crate::schema::Status;

/// An expectations file: `[[cell]]` entries.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expectations {
    /// The entries, in file order.
    #[serde(default)]
    pub cell: Vec<Entry>,
}

/// One `[[cell]]` entry: which cells it matches (an absent key matches any) and
/// the outcomes expected of them.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    /// Browsers matched.
    pub browser: Option<OneOrMany<Browser>>,
    /// Backends matched.
    pub backend: Option<OneOrMany<Backend>>,
    /// Precisions matched.
    pub precision: Option<OneOrMany<Precision>>,
    /// Batch sizes matched.
    pub batch: Option<OneOrMany<u32>>,
    /// WebGPU adapter architectures matched (`adapter.info.architecture`, case-insensitive).
    pub adapter: Option<OneOrMany<String>>,
    /// Host labels matched.
    pub host: Option<OneOrMany<String>>,
    /// The outcomes expected; several mean a known flaky cell.
    pub status: OneOrMany<Status>,
    /// Why, shown in reports.
    pub reason: Option<String>,
}

/// A value or a list of values in the file.
#[derive(Debug, Clone, PartialEq)]
pub struct OneOrMany<T>(pub Vec<T>);

impl<T: PartialEq> OneOrMany<T> {
    fn contains(&self, value: &T) -> bool {
        self.0.contains(value)
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for OneOrMany<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Values<T>(PhantomData<T>);
        impl<'de, T: Deserialize<'de>> Visitor<'de> for Values<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a value or a list of values")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Vec<T>, E> {
                T::deserialize(v.into_deserializer()).map(|t| vec![t])
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Vec<T>, E> {
                T::deserialize(v.into_deserializer()).map(|t| vec![t])
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Vec<T>, E> {
                T::deserialize(v.into_deserializer()).map(|t| vec![t])
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
                let mut out = Vec::new();
                while let Some(v) = seq.next_element()? {
                    out.push(v);
                }
                if out.is_empty() {
                    return Err(de::Error::invalid_length(0, &"at least one value"));
                }
                Ok(out)
            }
        }
        deserializer
            .deserialize_any(Values(PhantomData))
            .map(OneOrMany)
    }
}

/// What an entry is matched against.
#[derive(Debug, Clone, Copy)]
pub struct Facts<'a> {
    /// Where the cell ran (`native` matches only entries without `browser`).
    pub browser: Agent,
    /// Backend.
    pub backend: Backend,
    /// Precision.
    pub precision: Precision,
    /// Batch.
    pub batch: u32,
    /// The browser's WebGPU adapter architecture, if it has an adapter.
    pub adapter: Option<&'a str>,
    /// Host label.
    pub host: Option<&'a str>,
}

impl Entry {
    fn matches(&self, f: &Facts) -> bool {
        let browser = self
            .browser
            .as_ref()
            .is_none_or(|b| b.0.iter().any(|b| Agent::Browser(*b) == f.browser));
        let adapter = self.adapter.as_ref().is_none_or(|a| {
            f.adapter
                .is_some_and(|have| a.0.iter().any(|want| want.eq_ignore_ascii_case(have)))
        });
        let host = self.host.as_ref().is_none_or(|h| {
            f.host
                .is_some_and(|have| h.0.iter().any(|want| want == have))
        });
        browser
            && adapter
            && host
            && self.backend.as_ref().is_none_or(|b| b.contains(&f.backend))
            && self
                .precision
                .as_ref()
                .is_none_or(|p| p.contains(&f.precision))
            && self.batch.as_ref().is_none_or(|b| b.contains(&f.batch))
    }
}

/// A cell's outcome measured against its expectation, in wpt's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Expectation {
    /// The outcome is one of those expected.
    Expected,
    /// Expected to work (or to fail differently) and did not.
    UnexpectedFailure,
    /// Expected not to work, and it did.
    UnexpectedPass,
}

impl Expectation {
    /// `expected`, `unexpected-failure` or `unexpected-pass`.
    pub fn name(self) -> &'static str {
        match self {
            Expectation::Expected => "expected",
            Expectation::UnexpectedFailure => "unexpected-failure",
            Expectation::UnexpectedPass => "unexpected-pass",
        }
    }

    /// Whether the outcome was not the one expected.
    pub fn is_unexpected(self) -> bool {
        self != Expectation::Expected
    }
}

/// The expectation a cell was judged against and the result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Judgement {
    /// The outcomes expected.
    pub expected: Vec<Status>,
    /// Whether the outcome met them.
    pub verdict: Expectation,
    /// The matching entry's reason, if it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Expectations {
    /// The outcomes expected of a cell and the reason: the last matching entry, or `ok`.
    pub fn expected(&self, facts: &Facts) -> (Vec<Status>, Option<String>) {
        match self.cell.iter().rev().find(|e| e.matches(facts)) {
            Some(e) => (e.status.0.clone(), e.reason.clone()),
            None => (vec![Status::Ok], None),
        }
    }

    /// Judges a cell's actual status.
    pub fn judge(&self, facts: &Facts, actual: Status) -> Judgement {
        let (expected, reason) = self.expected(facts);
        let verdict = if expected.contains(&actual) {
            Expectation::Expected
        } else if actual == Status::Ok {
            Expectation::UnexpectedPass
        } else {
            Expectation::UnexpectedFailure
        };
        Judgement {
            expected,
            verdict,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn facts(
        browser: &'static str,
        backend: Backend,
        precision: Precision,
        batch: u32,
        adapter: Option<&'static str>,
    ) -> Facts<'static> {
        Facts {
            browser: browser.parse().unwrap(),
            backend,
            precision,
            batch,
            adapter,
            host: Some("ci"),
        }
    }

    fn entry(status: &[Status]) -> Entry {
        Entry {
            browser: None,
            backend: None,
            precision: None,
            batch: None,
            adapter: None,
            host: None,
            status: OneOrMany(status.to_vec()),
            reason: None,
        }
    }

    #[test]
    fn unmatched_cells_are_expected_ok() {
        let e = Expectations::default();
        let f = facts("chromium", Backend::Cpu, Precision::F32, 1, None);
        assert_eq!(e.judge(&f, Status::Ok).verdict, Expectation::Expected);
        assert_eq!(
            e.judge(&f, Status::Timeout).verdict,
            Expectation::UnexpectedFailure
        );
        assert_eq!(
            e.judge(&f, Status::Unsupported).verdict,
            Expectation::UnexpectedFailure
        );
    }

    #[test]
    fn last_matching_entry_wins_and_every_key_narrows() {
        let e = Expectations {
            cell: vec![
                Entry {
                    backend: Some(OneOrMany(vec![Backend::Webgpu])),
                    ..entry(&[Status::Timeout])
                },
                Entry {
                    browser: Some(OneOrMany(vec![Browser::Chromium])),
                    precision: Some(OneOrMany(vec![Precision::F16Native])),
                    adapter: Some(OneOrMany(vec!["SwiftShader".into()])),
                    reason: Some("no shader-f16".into()),
                    ..entry(&[Status::Unsupported])
                },
                Entry {
                    batch: Some(OneOrMany(vec![32])),
                    host: Some(OneOrMany(vec!["other".into()])),
                    ..entry(&[Status::Error])
                },
            ],
        };
        let f16 = facts(
            "chromium",
            Backend::Webgpu,
            Precision::F16Native,
            1,
            Some("swiftshader"),
        );
        assert_eq!(
            e.expected(&f16),
            (vec![Status::Unsupported], Some("no shader-f16".into()))
        );
        let j = e.judge(&f16, Status::Ok);
        assert_eq!(j.verdict, Expectation::UnexpectedPass);
        // Another adapter: the first entry applies.
        let other = facts(
            "chromium",
            Backend::Webgpu,
            Precision::F16Native,
            1,
            Some("ampere"),
        );
        assert_eq!(e.expected(&other).0, vec![Status::Timeout]);
        // No adapter at all: an adapter entry cannot match.
        assert_eq!(
            e.expected(&facts(
                "chromium",
                Backend::Webgpu,
                Precision::F16Native,
                1,
                None
            ))
            .0,
            vec![Status::Timeout]
        );
        // The host key: this cell's host is `ci`, not `other`.
        assert_eq!(
            e.expected(&facts("firefox", Backend::Cpu, Precision::F32, 32, None))
                .0,
            vec![Status::Ok]
        );
    }

    #[test]
    fn a_list_of_statuses_is_a_flaky_cell() {
        let e = Expectations {
            cell: vec![entry(&[Status::Ok, Status::Timeout])],
        };
        let f = facts("firefox", Backend::Webgpu, Precision::F32, 1, None);
        assert_eq!(e.judge(&f, Status::Ok).verdict, Expectation::Expected);
        assert_eq!(e.judge(&f, Status::Timeout).verdict, Expectation::Expected);
        assert_eq!(
            e.judge(&f, Status::Error).verdict,
            Expectation::UnexpectedFailure
        );
    }
}
