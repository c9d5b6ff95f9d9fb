//! Milliseconds from a monotonic clock: `performance.now()` in the browser,
//! `Instant` natively.

#[cfg(target_family = "wasm")]
thread_local! {
    static PERFORMANCE: web_sys::Performance = web_sys::window()
        .and_then(|w| w.performance())
        .expect("qbench runs in a window with performance.now()");
}

/// Milliseconds since an arbitrary fixed point.
#[cfg(target_family = "wasm")]
pub fn now_ms() -> f64 {
    PERFORMANCE.with(|p| p.now())
}

/// Milliseconds since an arbitrary fixed point.
#[cfg(not(target_family = "wasm"))]
pub fn now_ms() -> f64 {
    use std::sync::OnceLock;
    use std::time::Instant;
    static START: OnceLock<Instant> = OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_secs_f64() * 1e3
}

/// The smallest positive step between consecutive readings of [`now_ms`],
/// over at most 50 ms or 200 steps.
pub fn step_ms() -> f64 {
    let start = now_ms();
    let (mut last, mut best, mut steps) = (start, f64::INFINITY, 0);
    while steps < 200 && last - start < 50.0 {
        let t = now_ms();
        if t > last {
            best = best.min(t - last);
            steps += 1;
            last = t;
        }
    }
    best
}
