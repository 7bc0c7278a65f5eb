//! The text form of names the kernel keeps as bytes (a sync daemon's
//! interface, scheduler and persistence-engine names).
//!
//! The kernel compares these names byte for byte and does not require UTF-8:
//! an interface may be called `eth\xff`. The model keeps them as `String`s so
//! that every binding (Python `str`, C `char *`, rules text) sees plain text,
//! and stays lossless with one escape: a byte that is not part of valid UTF-8
//! is written as `:` followed by two lowercase hex digits (`eth:ff`). The
//! colon never occurs in a real name (Linux refuses it in interface names and
//! no scheduler or persistence-engine module has one); should the kernel hold
//! one anyway, it is escaped too (`:3a`), so the text form of a name is
//! unambiguous and writing it back sends the kernel's own bytes.

/// The escape character of the text form.
pub(crate) const ESCAPE: char = ':';

/// The text form of a name the kernel holds (up to its first NUL).
pub(crate) fn decode(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    let mut rest = &bytes[..end];
    let mut out = String::with_capacity(rest.len());
    loop {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                push_text(&mut out, s);
                return out;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // `good` is valid UTF-8 by construction
                push_text(&mut out, std::str::from_utf8(good).unwrap_or_default());
                let n = e.error_len().unwrap_or(bad.len()).max(1);
                for b in &bad[..n] {
                    out.push_str(&format!("{ESCAPE}{b:02x}"));
                }
                rest = &bad[n..];
            }
        }
    }
}

/// Appends valid UTF-8 text, escaping the escape character itself.
fn push_text(out: &mut String, s: &str) {
    for part in s.split_inclusive(ESCAPE) {
        match part.strip_suffix(ESCAPE) {
            Some(before) => {
                out.push_str(before);
                out.push_str(&format!("{ESCAPE}{:02x}", ESCAPE as u8));
            }
            None => out.push_str(part),
        }
    }
}

/// The bytes a text form stands for.
///
/// # Errors
/// A reason when the text has a `:` that is not followed by two hex digits.
pub(crate) fn encode(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != ESCAPE {
            let mut b = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut b).as_bytes());
            continue;
        }
        let hex = text
            .get(i + 1..i + 3)
            .filter(|h| h.bytes().all(|b| b.is_ascii_hexdigit()));
        match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
            Some(b) => {
                out.push(b);
                chars.next();
                chars.next();
            }
            None => {
                return Err(format!(
                "'{ESCAPE}' is not allowed in a name except as the escape '{ESCAPE}xx' of a byte"
            ))
            }
        }
    }
    Ok(out)
}

/// Checks a name's text form: 1 to `max` bytes once unescaped, no NUL.
///
/// # Errors
/// The reason, for an error message.
pub(crate) fn check(text: &str, max: usize) -> Result<Vec<u8>, String> {
    let bytes = encode(text)?;
    if bytes.is_empty() {
        return Err("is empty".into());
    }
    if bytes.len() > max {
        return Err(format!(
            "is {} bytes long; the kernel accepts at most {max}",
            bytes.len()
        ));
    }
    if bytes.contains(&0) {
        return Err("contains a NUL byte".into());
    }
    Ok(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_of_non_utf8() {
        let raw = b"eth\xff\xc3x\xe2\x82";
        let text = decode(raw);
        assert_eq!(text, "eth:ff:c3x:e2:82");
        assert_eq!(encode(&text).unwrap(), raw.to_vec());
        assert_eq!(decode("wlc\0junk".as_bytes()), "wlc");
        assert_eq!(decode("é".as_bytes()), "é");
        // a colon the kernel holds is escaped, so ":CA" after it is no escape
        // (found by the ipvs_attrs fuzz target)
        let raw = b"\xff:CA";
        assert_eq!(decode(raw), ":ff:3aCA");
        assert_eq!(encode(&decode(raw)).unwrap(), raw.to_vec());
        assert_eq!(decode(b"a::"), "a:3a:3a");
        assert!(encode("a:b").is_err());
        assert!(encode("a:").is_err());
        assert!(check("", 15).is_err());
        assert!(check("0123456789abcdef", 15).is_err());
        assert_eq!(check("a:00", 15), Err("contains a NUL byte".into()));
    }
}
