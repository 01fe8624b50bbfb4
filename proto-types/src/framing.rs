//! Framing of entry streams (docs/FORMAT.md §Export): each entry's canonical bytes preceded by
//! its length as a 4-byte big-endian integer. The API's raw stream, the peer catch-up chunks
//! and export files (after their header line) all use it.

/// Why bytes are not a sequence of frames.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Fewer than 4 bytes where a length was expected.
    #[error("truncated frame length at byte {0}")]
    TruncatedLength(usize),
    /// A frame's length runs past the end.
    #[error("frame at byte {at} claims {len} bytes; only {left} remain")]
    TruncatedFrame {
        /// Where the frame starts.
        at: usize,
        /// Its claimed length.
        len: usize,
        /// Bytes left.
        left: usize,
    },
}

/// Frames entries (each shorter than 4 GiB, as every canonical entry is).
pub fn frame<E: AsRef<[u8]>>(entries: &[E]) -> Vec<u8> {
    let mut out = Vec::with_capacity(entries.iter().map(|e| e.as_ref().len() + 4).sum());
    for e in entries {
        let e = e.as_ref();
        out.extend_from_slice(&(e.len() as u32).to_be_bytes());
        out.extend_from_slice(e);
    }
    out
}

/// Splits framed bytes into entries.
pub fn unframe(bytes: &[u8]) -> Result<Vec<Vec<u8>>, FrameError> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len_bytes: [u8; 4] = bytes
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .ok_or(FrameError::TruncatedLength(at))?;
        let len = u32::from_be_bytes(len_bytes) as usize;
        let start = at + 4;
        let frame =
            bytes
                .get(start..start.saturating_add(len))
                .ok_or(FrameError::TruncatedFrame {
                    at,
                    len,
                    left: bytes.len() - start,
                })?;
        out.push(frame.to_vec());
        at = start + len;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_truncation_is_named() {
        let entries = vec![b"abc".to_vec(), Vec::new(), vec![7u8; 300]];
        let framed = frame(&entries);
        assert_eq!(unframe(&framed), Ok(entries));
        assert_eq!(unframe(&framed[..2]), Err(FrameError::TruncatedLength(0)));
        assert!(matches!(
            unframe(&framed[..framed.len() - 1]),
            Err(FrameError::TruncatedFrame { .. })
        ));
        assert_eq!(unframe(&[]), Ok(Vec::new()));
    }
}
