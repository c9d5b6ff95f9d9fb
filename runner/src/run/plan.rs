//! The matrix of cells a run will measure, in the order it measures them.

use qbench_core::{Backend, Browser, Precision};

/// One cell to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedCell {
    /// Browser.
    pub browser: Browser,
    /// Backend.
    pub backend: Backend,
    /// Precision.
    pub precision: Precision,
    /// Inputs per timed inference.
    pub batch: u32,
}

/// Every browser × backend × precision × batch, grouped by browser (one session
/// each) and backend, float32 first so other precisions can be compared with it.
pub fn cells(browsers: &[Browser], backends: &[Backend], precisions: &[Precision], batches: &[u32]) -> Vec<PlannedCell> {
    let mut precisions = dedup(precisions);
    precisions.sort_by_key(|p| *p != Precision::F32);
    let mut out = Vec::new();
    for &browser in &dedup(browsers) {
        for &backend in &dedup(backends) {
            for &precision in &precisions {
                for &batch in &dedup(batches) {
                    out.push(PlannedCell { browser, backend, precision, batch });
                }
            }
        }
    }
    out
}

fn dedup<T: Copy + PartialEq>(items: &[T]) -> Vec<T> {
    let mut out: Vec<T> = Vec::new();
    for &i in items {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_matrix_order() {
        let c = cells(Browser::ALL, Backend::ALL, &[Precision::Int8, Precision::F32], &[1, 32, 1]);
        assert_eq!(c.len(), 2 * 2 * 2 * 2);
        assert_eq!(c[0], PlannedCell { browser: Browser::Chromium, backend: Backend::Webgpu, precision: Precision::F32, batch: 1 });
        assert_eq!(c[1].batch, 32);
        assert_eq!(c[2].precision, Precision::Int8);
        assert_eq!(c[4].backend, Backend::Cpu);
        assert_eq!(c[8].browser, Browser::Firefox);
    }
}
