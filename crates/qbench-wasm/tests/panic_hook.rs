//! A panic inside the module is reported through qbench's hook with its
//! message (the runner reads `globalThis.qbenchPanic`). In a page of its own:
//! the trap a panic ends in leaves the module unfit for more tests.
#![cfg(target_family = "wasm")]

use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
fn a_panic_is_reported_through_the_hook() {
    qbench_wasm::bindings::start();
    let boom = Closure::<dyn Fn()>::new(|| panic!("deliberate test panic 42"));
    let f: &js_sys::Function = boom.as_ref().unchecked_ref();
    assert!(
        f.call0(&JsValue::NULL).is_err(),
        "the panic ends the call in a trap"
    );
    let message = js_sys::Reflect::get(&js_sys::global(), &"qbenchPanic".into())
        .unwrap()
        .as_string()
        .unwrap_or_default();
    assert!(
        message.contains("deliberate test panic 42"),
        "hook stored: {message:?}"
    );
}
