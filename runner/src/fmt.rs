//! Formatting helpers shared by every layer: significant digits, byte sizes,
//! an adapter's names, cut text, the time now. The bottom of the runner: it
//! imports nothing of the crate.

/// A latency with three significant digits (36.5, 1.03, 388).
pub fn significant(ms: f64) -> String {
    match ms.abs() {
        v if v >= 100.0 => format!("{ms:.0}"),
        v if v >= 10.0 => format!("{ms:.1}"),
        v if v >= 1.0 => format!("{ms:.2}"),
        _ => format!("{ms:.3}"),
    }
}

/// Bytes in binary units: `512 B`, `3.0 KiB`, `1.50 MiB`.
pub fn human_bytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 => format!("{:.2} MiB", b as f64 / f64::from(1 << 20)),
        b if b >= 1 << 10 => format!("{:.1} KiB", b as f64 / 1024.0),
        b => format!("{b} B"),
    }
}

/// An adapter's names, or a note that it reports none.
pub fn adapter_name(a: &qbench_core::schema::Adapter) -> String {
    let name = [
        a.vendor.as_str(),
        a.architecture.as_str(),
        a.device.as_str(),
        a.description.as_str(),
    ]
    .iter()
    .filter(|s| !s.is_empty())
    .copied()
    .collect::<Vec<_>>()
    .join(" / ");
    if name.is_empty() {
        "(adapter reports no names)".to_string()
    } else {
        name
    }
}

/// Cuts `text` to at most `max` characters, saying how much was left out.
pub fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}… ({} more bytes)", &text[..at], text.len() - at),
    }
}

/// Now, RFC 3339 (UTC).
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncates_on_characters() {
        assert_eq!(truncate("abc", 5), "abc");
        assert_eq!(truncate("ééééé", 2), "éé… (6 more bytes)");
    }

    #[test]
    fn significant_keeps_three_digits() {
        assert_eq!(significant(388.4), "388");
        assert_eq!(significant(36.54), "36.5");
        assert_eq!(significant(1.034), "1.03");
        assert_eq!(significant(0.1754), "0.175");
    }
}
