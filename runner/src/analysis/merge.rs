//! Several machines' reports as one: rows become host × browser × adapter, the
//! view for comparing GPUs. Hosts must be told apart: two reports holding the
//! same cell on the same host label are refused.

use qbench_core::schema::{CellId, Report};

use crate::exit::bad_input;

/// Merges `reports` (with the names they were read from, for messages) into one.
pub fn merge(reports: &[(String, Report)]) -> anyhow::Result<Report> {
    let Some((_, first)) = reports.first() else {
        return Err(bad_input(anyhow::anyhow!(
            "nothing to merge: give at least one report"
        )));
    };
    let mut merged = Report::new(
        &first.qbench_version,
        &first.started,
        first.settings.clone(),
    );
    merged.git_commit = first.git_commit.clone();
    merged.bundle = first.bundle.clone();
    merged.finished = Some(String::new());
    let mut seen: Vec<(CellId, &str)> = Vec::new();
    for (name, r) in reports {
        for c in &r.cells {
            let id = c.id();
            if let Some((_, other)) = seen.iter().find(|(i, _)| *i == id) {
                let host = id.host.as_deref().unwrap_or("(unknown host)");
                return Err(bad_input(anyhow::anyhow!(
                    "{other} and {name} both hold {id} on host `{host}`: give each machine its own --host-label"
                )));
            }
            seen.push((id, name));
        }
        merged.started = merged.started.clone().min(r.started.clone());
        merged.finished = match (&merged.finished, &r.finished) {
            (Some(a), Some(b)) if r.is_complete() => Some(a.clone().max(b.clone())),
            _ => None,
        };
        if merged.interrupted.is_none() {
            merged.interrupted = r.interrupted.clone();
        }
        merged.planned.extend(r.planned.iter().cloned());
        merged.environments.extend(r.environments.iter().cloned());
        merged.cells.extend(r.cells.iter().cloned());
        merged.baseline.extend(r.baseline.iter().cloned());
        if merged.expectations.is_none() {
            merged.expectations = r.expectations.clone();
        }
    }
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use qbench_core::schema::{Cell, Environment};
    use qbench_core::{Backend, Precision};

    fn report(host: &str) -> Report {
        let mut r = Report::new(
            "0.1.0",
            &format!("2026-11-28T0{}:00:00Z", host.len()),
            crate::testing::settings(),
        );
        let mut c = Cell::new(
            "chromium".parse().unwrap(),
            Backend::Webgpu,
            Precision::F32,
            1,
            qbench_model::weights::memory(Precision::F32),
        );
        c.host = Some(host.into());
        r.planned.push(c.id());
        r.cells.push(c);
        r.environments.push(Environment {
            host: Some(host.into()),
            browser: "chromium".parse().unwrap(),
            ..Environment::default()
        });
        r.finished = Some(format!("2026-11-28T1{}:00:00Z", host.len()));
        r
    }

    #[test]
    fn two_hosts_become_one_report() {
        let m = merge(&[
            ("a.json".into(), report("gpu")),
            ("b.json".into(), report("laptop")),
        ])
        .unwrap();
        assert_eq!(
            m.hosts(),
            vec![Some("gpu".to_string()), Some("laptop".to_string())]
        );
        assert_eq!(
            (m.cells.len(), m.environments.len(), m.planned.len()),
            (2, 2, 2)
        );
        assert_eq!(m.started, "2026-11-28T03:00:00Z");
        assert_eq!(m.finished.as_deref(), Some("2026-11-28T16:00:00Z"));
        assert!(m.is_complete());
    }

    #[test]
    fn the_same_cell_on_the_same_host_twice_is_refused() {
        let err = merge(&[
            ("a.json".into(), report("ci")),
            ("b.json".into(), report("ci")),
        ])
        .unwrap_err();
        assert!(
            format!("{err:#}")
                .contains("a.json and b.json both hold ci chromium webgpu f32 batch 1"),
            "{err:#}"
        );
        assert_eq!(crate::exit::code_of(&err), 2);
        let mut partial = report("x");
        partial.finished = None;
        assert_eq!(
            merge(&[("a".into(), report("y")), ("b".into(), partial)])
                .unwrap()
                .finished,
            None
        );
    }
}
