//! Whether a WebGPU adapter is a real GPU or a software rasteriser: a speed
//! comparison between the two says nothing about either, so every report
//! shows the class and comparisons refuse to mix them.

use serde::{Deserialize, Serialize};

use crate::schema::Adapter;

/// Hardware or software adapter.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AdapterClass {
    /// A GPU.
    Hardware,
    /// A CPU implementation (SwiftShader, lavapipe/llvmpipe, WARP, …) or the browser's fallback adapter.
    Software,
}

impl AdapterClass {
    /// `hardware` or `software`.
    pub fn name(self) -> &'static str {
        match self {
            AdapterClass::Hardware => "hardware",
            AdapterClass::Software => "software",
        }
    }
}

/// Names of software adapters, matched case-insensitively in the adapter's
/// vendor, architecture, device and description.
const SOFTWARE_NAMES: [&str; 7] = [
    "swiftshader",
    "lavapipe",
    "llvmpipe",
    "softpipe",
    "warp",
    "microsoft basic render driver",
    "software rasterizer",
];

/// The class of `adapter` and why.
pub fn classify(adapter: &Adapter) -> (AdapterClass, String) {
    if adapter.is_fallback_adapter {
        return (
            AdapterClass::Software,
            "the browser marks it as its fallback adapter (isFallbackAdapter)".into(),
        );
    }
    let fields = [
        &adapter.vendor,
        &adapter.architecture,
        &adapter.device,
        &adapter.description,
    ];
    for field in fields {
        let lower = field.to_lowercase();
        if let Some(name) = SOFTWARE_NAMES.iter().find(|n| lower.contains(*n)) {
            return (
                AdapterClass::Software,
                format!("`{field}` names the software adapter {name}"),
            );
        }
    }
    (
        AdapterClass::Hardware,
        "not a fallback adapter and no software adapter named".into(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn adapter(architecture: &str, description: &str, fallback: bool) -> Adapter {
        Adapter {
            architecture: architecture.into(),
            description: description.into(),
            is_fallback_adapter: fallback,
            ..Adapter::default()
        }
    }

    #[test]
    fn software_adapters_are_recognised() {
        assert_eq!(
            classify(&adapter("swiftshader", "", false)).0,
            AdapterClass::Software
        );
        assert_eq!(
            classify(&adapter("", "llvmpipe (LLVM 15.0.6, 256 bits)", false)).0,
            AdapterClass::Software
        );
        assert_eq!(
            classify(&adapter("", "Microsoft Basic Render Driver", false)).0,
            AdapterClass::Software
        );
        // Firefox on lavapipe: every string empty, only the fallback flag.
        let (class, why) = classify(&adapter("", "", true));
        assert_eq!(class, AdapterClass::Software);
        assert!(why.contains("isFallbackAdapter"), "{why}");
    }

    #[test]
    fn gpus_are_hardware() {
        assert_eq!(
            classify(&adapter("ampere", "NVIDIA GeForce RTX 3080", false)).0,
            AdapterClass::Hardware
        );
        assert_eq!(
            classify(&adapter("gen-12lp", "", false)).0,
            AdapterClass::Hardware
        );
    }
}
