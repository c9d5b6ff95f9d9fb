//! NumPy `.npy` (format 1.0) for float32 tensors: written by `inspect --export`
//! and read back by its tests.

const MAGIC: &[u8] = b"\x93NUMPY\x01\x00";

/// A little-endian float32 C-order `.npy` file holding `values` with `shape`.
pub fn to_bytes(shape: &[usize], values: &[f32]) -> Vec<u8> {
    assert_eq!(
        shape.iter().product::<usize>(),
        values.len(),
        "shape must hold the values"
    );
    let dims = match shape {
        [one] => format!("{one},"),
        _ => shape
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({dims}), }}");
    // Magic (8) + length (2) + header + '\n' is padded to a multiple of 64.
    let unpadded = MAGIC.len() + 2 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 2 + header.len() + values.len() * 4);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Reads a file written by [`to_bytes`]: shape and values.
#[cfg(test)]
pub fn from_bytes(bytes: &[u8]) -> anyhow::Result<(Vec<usize>, Vec<f32>)> {
    use anyhow::{Context, bail};
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        bail!("not a version 1.0 .npy file");
    }
    let len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
    let header = std::str::from_utf8(bytes.get(10..10 + len).context("truncated header")?)?;
    if !header.contains("'descr': '<f4'") || !header.contains("'fortran_order': False") {
        bail!("only little-endian float32 C-order arrays are read, header: {header}");
    }
    let dims = header
        .split("'shape': (")
        .nth(1)
        .and_then(|s| s.split(')').next())
        .context("no shape in header")?;
    let shape = dims
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::parse)
        .collect::<Result<Vec<usize>, _>>()?;
    let data = &bytes[10 + len..];
    if data.len() != shape.iter().product::<usize>() * 4 {
        bail!(
            "data is {} bytes, shape {shape:?} needs {}",
            data.len(),
            shape.iter().product::<usize>() * 4
        );
    }
    Ok((
        shape,
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_is_aligned_and_round_trips() {
        let bytes = to_bytes(&[2, 3], &[1.0, 2.0, 3.0, 4.0, 5.0, -0.0]);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(
            &bytes[10..10 + 72.min(header_len)][..52],
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (2".as_slice()
        );
        let (shape, values) = from_bytes(&bytes).unwrap();
        assert_eq!(shape, vec![2, 3]);
        assert_eq!(values[5].to_bits(), (-0.0f32).to_bits());
    }

    #[test]
    fn one_dimensional_shape_has_trailing_comma() {
        let bytes = to_bytes(&[3], &[1.0, 2.0, 3.0]);
        assert!(String::from_utf8_lossy(&bytes).contains("'shape': (3,)"));
        assert_eq!(from_bytes(&bytes).unwrap().0, vec![3]);
    }
}
