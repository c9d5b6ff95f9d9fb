//! Fixtures shared by the unit tests of every layer (compiled for tests only).

use qbench_core::schema::RunSettings;

/// Settings for tests.
pub fn settings() -> RunSettings {
    RunSettings {
        warmup: 1,
        warmup_ms: 0,
        settle_ms: 0,
        samples: 5,
        time_per_cell_ms: 1,
        timeout_per_cell_ms: 1,
        quality_inputs: 1,
        min_samples: 5,
        ci_target: 0.02,
        timer_steps: 0,
        throughput_samples: 0,
        rounds: 1,
        seed: 0,
        retries: 0,
        retry_busy: 0,
        pin_browser: None,
    }
}

/// What a quiet host did during a 1-second page, or a busy one's (`busy_reason`).
pub fn host_activity(busy_reason: Option<&str>) -> qbench_core::host::HostActivity {
    qbench_core::host::HostActivity {
        seconds: 1.0,
        load_before: 0.5,
        load_after: 0.5,
        busy: 0.5,
        ours: 0.5,
        others: 0.0,
        steal: 0.0,
        main_thread: None,
        anon_huge_kib: 0,
        busy_reason: busy_reason.map(String::from),
    }
}

/// A round of `median` ms: 10 samples, the host unwatched.
pub fn round(median: f64) -> qbench_core::schema::Round {
    qbench_core::schema::Round {
        median,
        first: median * 10.0,
        samples: 10,
        repetitions: None,
        timer_step_ms: None,
        stop: qbench_core::sampling::Stop::Max,
        warmup: None,
        device_init_ms: None,
        model_load_ms: None,
        host: None,
    }
}

/// An expectations entry that matches every cell and expects `status`.
pub fn every_cell(status: &[qbench_core::schema::Status]) -> qbench_core::expect::Entry {
    qbench_core::expect::Entry {
        browser: None,
        backend: None,
        precision: None,
        batch: None,
        adapter: None,
        host: None,
        status: qbench_core::expect::OneOrMany(status.to_vec()),
        reason: None,
    }
}

/// A cell of `browser`, `backend`, `precision` and `batch` on host `ci`,
/// not yet run.
pub fn cell_on_ci(
    browser: &str,
    backend: qbench_core::Backend,
    precision: qbench_core::Precision,
    batch: u32,
) -> qbench_core::schema::Cell {
    let mut c = qbench_core::schema::Cell::new(
        browser.parse().expect("a browser name"),
        backend,
        precision,
        batch,
        qbench_model::weights::memory(precision),
    );
    c.host = Some("ci".into());
    c
}
