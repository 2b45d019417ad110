//! MP4 stores H.264 as length-prefixed NAL units (AVCC); OpenH264 reads the byte-stream format
//! (Annex B), where each NAL unit starts with `00 00 00 01`.

/// The Annex B start code.
const START_CODE: [u8; 4] = [0, 0, 0, 1];

/// Appends `nal` to `out` as Annex B.
pub(crate) fn push_nal(out: &mut Vec<u8>, nal: &[u8]) {
    out.extend_from_slice(&START_CODE);
    out.extend_from_slice(nal);
}

/// Converts one AVCC sample (NAL units each behind a big-endian length of `length_size` bytes)
/// to Annex B, appending to `out`. Fails on a length that runs past the sample.
pub(crate) fn avcc_to_annexb(
    sample: &[u8],
    length_size: usize,
    out: &mut Vec<u8>,
) -> Result<(), String> {
    let mut rest = sample;
    while !rest.is_empty() {
        if rest.len() < length_size {
            return Err(format!("{} stray bytes at the end of a sample", rest.len()));
        }
        let len = rest[..length_size]
            .iter()
            .fold(0usize, |acc, &b| (acc << 8) | b as usize);
        rest = &rest[length_size..];
        if len > rest.len() {
            return Err(format!(
                "a NAL unit of {len} bytes in {} remaining",
                rest.len()
            ));
        }
        push_nal(out, &rest[..len]);
        rest = &rest[len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_prefixed_units_become_start_coded() {
        let sample = [0, 0, 0, 2, 0x65, 0xAA, 0, 0, 0, 1, 0x41];
        let mut out = Vec::new();
        avcc_to_annexb(&sample, 4, &mut out).unwrap();
        assert_eq!(out, [0, 0, 0, 1, 0x65, 0xAA, 0, 0, 0, 1, 0x41]);
    }

    #[test]
    fn a_length_past_the_end_is_refused() {
        let mut out = Vec::new();
        assert!(avcc_to_annexb(&[0, 0, 0, 9, 0x65], 4, &mut out).is_err());
        assert!(avcc_to_annexb(&[0, 0], 4, &mut out).is_err());
    }
}
