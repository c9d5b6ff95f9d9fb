//! The static constructors, run once per instance.
//!
//! cubecl and pliron register things through the `inventory` crate, whose
//! constructors wasm-ld calls from `__wasm_call_ctors`. A module that never
//! calls that function itself is linked as a "command": wasm-ld wraps every
//! export in a call to it, so each call into the WebGPU module, down to
//! wasm-bindgen's externref bookkeeping for every JS object passed in, re-ran
//! about 4,900 constructors (docs/performance.md, "What limits each backend"). Calling it here makes
//! the linker wrap nothing, so it must run before anything reads what they
//! register: [`run`] is called when the module starts (`bindings::start`) and
//! again, a no-op then, before a WebGPU device is opened (a test harness may
//! start the module without `bindings::start`).

#[allow(unsafe_code)]
unsafe extern "C" {
    fn __wasm_call_ctors();
}

/// Runs the static constructors the first time it is called.
pub fn run() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    // SAFETY: the linker's own wrappers called this at the start of every
    // export; here it runs once per instance, before anything that reads what
    // the constructors register. The CPU module has none: it is empty.
    #[allow(unsafe_code)]
    ONCE.call_once(|| unsafe { __wasm_call_ctors() });
}
