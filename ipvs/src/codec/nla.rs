//! Netlink message and attribute framing over plain byte buffers.
//!
//! Writing appends to a `Vec<u8>` so many requests can share one buffer (one
//! `sendmsg` for a whole batch); reading borrows the received bytes.

use crate::error::{Error, Result};

/// Size of `struct nlmsghdr`.
pub const NLMSG_HDRLEN: usize = 16;
/// Size of `struct genlmsghdr`.
pub const GENL_HDRLEN: usize = 4;
/// Size of `struct nlattr`.
pub const NLA_HDRLEN: usize = 4;
/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 1 << 15;
/// `NLA_F_NET_BYTEORDER`.
pub const NLA_F_NET_BYTEORDER: u16 = 1 << 14;
/// Mask of the attribute type bits.
pub const NLA_TYPE_MASK: u16 = !(NLA_F_NESTED | NLA_F_NET_BYTEORDER);

/// `NLMSG_ERROR`.
pub const NLMSG_ERROR: u16 = 2;
/// `NLMSG_DONE`.
pub const NLMSG_DONE: u16 = 3;
/// `NLMSG_OVERRUN`.
pub const NLMSG_OVERRUN: u16 = 4;

/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_MULTI`.
pub const NLM_F_MULTI: u16 = 0x2;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP` (`NLM_F_ROOT | NLM_F_MATCH`).
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLM_F_DUMP_INTR`.
pub const NLM_F_DUMP_INTR: u16 = 0x10;
/// `NLM_F_CREATE`, `NLM_F_EXCL` (rtnetlink new requests).
pub const NLM_F_CREATE: u16 = 0x400;
/// `NLM_F_EXCL`.
pub const NLM_F_EXCL: u16 = 0x200;

/// Rounds up to the netlink alignment of 4 bytes.
pub const fn align(n: usize) -> usize {
    (n + 3) & !3
}

/// Starts a netlink message in `buf`; returns its start offset for [`end_msg`].
pub fn begin_msg(buf: &mut Vec<u8>, ty: u16, flags: u16, seq: u32) -> usize {
    let start = buf.len();
    let mut h = [0u8; 16];
    h[4..6].copy_from_slice(&ty.to_ne_bytes());
    h[6..8].copy_from_slice(&flags.to_ne_bytes());
    h[8..12].copy_from_slice(&seq.to_ne_bytes());
    buf.extend_from_slice(&h);
    start
}

/// Appends a generic netlink header.
#[inline]
pub fn put_genl(buf: &mut Vec<u8>, cmd: u8, version: u8) {
    buf.extend_from_slice(&[cmd, version, 0, 0]);
}

/// Finishes the message begun at `start` by writing its length.
///
/// # Errors
/// [`Error::InvalidInput`] when the message is larger than netlink allows.
#[inline]
pub fn end_msg(buf: &mut [u8], start: usize) -> Result<()> {
    let len = buf.len() - start;
    let len32 =
        u32::try_from(len).map_err(|_| Error::invalid_input("netlink message", "too large"))?;
    buf[start..start + 4].copy_from_slice(&len32.to_ne_bytes());
    Ok(())
}

/// The first `N` bytes of an attribute: its 4-byte header (`len`, saturated
/// at `u16::MAX`, and `ty`), then zeros for the caller's payload.
#[inline]
fn attr_start<const N: usize>(len: usize, ty: u16) -> [u8; N] {
    let mut a = [0u8; N];
    a[..2].copy_from_slice(&(len.min(u16::MAX as usize) as u16).to_ne_bytes());
    a[2..4].copy_from_slice(&ty.to_ne_bytes());
    a
}

/// Appends an attribute with its padding.
#[inline]
pub fn put(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    if (1..=4).contains(&data.len()) {
        return put_small(buf, ty, data);
    }
    let len = NLA_HDRLEN + data.len();
    buf.reserve(align(len));
    // attribute payloads we write are small and bounded by the model
    buf.extend_from_slice(&attr_start::<4>(len, ty));
    buf.extend_from_slice(data);
    buf.extend_from_slice(&[0u8; 3][..align(len) - len]);
}

/// Writes an attribute (header, `data`, zero padding) at the start of `dst`,
/// for a caller that lays out several attributes in one array before one
/// copy; returns its aligned length.
///
/// # Panics
/// If `dst` is shorter than the aligned attribute (a fixed layout too small
/// for what it holds: a bug of the caller, never of the input).
#[inline]
pub fn write_attr(dst: &mut [u8], ty: u16, data: &[u8]) -> usize {
    let len = NLA_HDRLEN + data.len();
    dst[..NLA_HDRLEN].copy_from_slice(&attr_start::<NLA_HDRLEN>(len, ty));
    dst[NLA_HDRLEN..len].copy_from_slice(data);
    dst[len..align(len)].fill(0);
    align(len)
}

/// A nested attribute's header for a nest of `len` bytes in all.
#[inline]
pub fn nest_header(len: usize, ty: u16) -> [u8; NLA_HDRLEN] {
    attr_start::<NLA_HDRLEN>(len, ty | NLA_F_NESTED)
}

/// Appends an attribute of 1 to 4 bytes: always 8 bytes with its header
/// and padding, written in one copy.
#[inline]
fn put_small(buf: &mut Vec<u8>, ty: u16, data: &[u8]) {
    let mut a = [0u8; 8];
    write_attr(&mut a, ty, &data[..data.len().min(4)]);
    buf.extend_from_slice(&a);
}

/// Appends a 16-byte attribute (an address) in one copy.
#[inline]
pub fn put_16(buf: &mut Vec<u8>, ty: u16, data: &[u8; 16]) {
    let mut a = [0u8; 20];
    write_attr(&mut a, ty, data);
    buf.extend_from_slice(&a);
}

/// Appends a native-endian u8 attribute.
#[inline]
pub fn put_u8(buf: &mut Vec<u8>, ty: u16, v: u8) {
    put_small(buf, ty, &[v]);
}
/// Appends a native-endian u16 attribute.
#[inline]
pub fn put_u16(buf: &mut Vec<u8>, ty: u16, v: u16) {
    put_small(buf, ty, &v.to_ne_bytes());
}
/// Appends a big-endian u16 attribute.
#[inline]
pub fn put_be16(buf: &mut Vec<u8>, ty: u16, v: u16) {
    put_small(buf, ty, &v.to_be_bytes());
}
/// Appends a native-endian u32 attribute.
#[inline]
pub fn put_u32(buf: &mut Vec<u8>, ty: u16, v: u32) {
    put_small(buf, ty, &v.to_ne_bytes());
}
/// Appends a NUL-terminated string attribute.
pub fn put_str(buf: &mut Vec<u8>, ty: u16, s: &str) {
    let len = NLA_HDRLEN + s.len() + 1;
    buf.reserve(align(len));
    buf.extend_from_slice(&attr_start::<4>(len, ty));
    buf.extend_from_slice(s.as_bytes());
    // the NUL and the padding
    buf.extend_from_slice(&[0u8; 4][..align(len) - len + 1]);
}

/// Appends a NUL-terminated string attribute from raw bytes (names the
/// kernel keeps as bytes, which need not be UTF-8).
pub fn put_bytes_z(buf: &mut Vec<u8>, ty: u16, s: &[u8]) {
    let len = NLA_HDRLEN + s.len() + 1;
    buf.reserve(align(len));
    buf.extend_from_slice(&attr_start::<4>(len, ty));
    buf.extend_from_slice(s);
    buf.extend_from_slice(&[0u8; 4][..align(len) - len + 1]);
}

/// Starts a nested attribute; returns its offset for [`end_nest`].
#[inline]
pub fn begin_nest(buf: &mut Vec<u8>, ty: u16) -> usize {
    let at = buf.len();
    // the length is written by end_nest
    buf.extend_from_slice(&nest_header(0, ty));
    at
}

/// Finishes a nested attribute.
///
/// # Errors
/// [`Error::InvalidInput`] when it would exceed the 64 KiB an attribute can hold.
#[inline]
pub fn end_nest(buf: &mut [u8], at: usize) -> Result<()> {
    let len = buf.len() - at;
    let len16 = u16::try_from(len).map_err(|_| {
        Error::invalid_input("netlink attribute", "nested attribute larger than 64 KiB")
    })?;
    buf[at..at + 2].copy_from_slice(&len16.to_ne_bytes());
    Ok(())
}

/// One netlink message header, as read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgHeader {
    /// Total length.
    pub len: u32,
    /// Message type.
    pub ty: u16,
    /// Flags.
    pub flags: u16,
    /// Sequence number.
    pub seq: u32,
    /// Port id.
    pub pid: u32,
}

/// Iterates over the messages of one received datagram.
pub struct Messages<'a> {
    data: &'a [u8],
}

impl<'a> Messages<'a> {
    /// Messages in `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Messages { data }
    }
}

impl<'a> Iterator for Messages<'a> {
    type Item = Result<(MsgHeader, &'a [u8])>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.data.is_empty() {
            return None;
        }
        if self.data.len() < NLMSG_HDRLEN {
            self.data = &[];
            return Some(Err(Error::protocol(
                "reading a netlink reply",
                "truncated message header",
            )));
        }
        let u32_at = |i: usize| {
            u32::from_ne_bytes([
                self.data[i],
                self.data[i + 1],
                self.data[i + 2],
                self.data[i + 3],
            ])
        };
        let u16_at = |i: usize| u16::from_ne_bytes([self.data[i], self.data[i + 1]]);
        let h = MsgHeader {
            len: u32_at(0),
            ty: u16_at(4),
            flags: u16_at(6),
            seq: u32_at(8),
            pid: u32_at(12),
        };
        let len = h.len as usize;
        if len < NLMSG_HDRLEN || len > self.data.len() {
            self.data = &[];
            return Some(Err(Error::protocol(
                "reading a netlink reply",
                format!(
                    "message length {len} does not fit the {} bytes received",
                    self.data.len()
                ),
            )));
        }
        let payload = &self.data[NLMSG_HDRLEN..len];
        let next = align(len).min(self.data.len());
        self.data = &self.data[next..];
        Some(Ok((h, payload)))
    }
}

/// Iterates over attributes; yields `(type without flags, payload)`.
#[derive(Clone)]
pub struct Attrs<'a> {
    data: &'a [u8],
}

impl<'a> Attrs<'a> {
    /// Attributes in `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Attrs { data }
    }
}

impl<'a> Iterator for Attrs<'a> {
    type Item = Result<(u16, &'a [u8])>;
    #[inline]
    fn next(&mut self) -> Option<Self::Item> {
        let data = self.data;
        let [l0, l1, t0, t1, ..] = *data else {
            // trailing padding shorter than a header is ignored
            return None;
        };
        let len = u16::from_ne_bytes([l0, l1]) as usize;
        let ty = u16::from_ne_bytes([t0, t1]) & NLA_TYPE_MASK;
        match data.get(NLA_HDRLEN..len) {
            Some(payload) => {
                self.data = data.get(align(len)..).unwrap_or(&[]);
                Some(Ok((ty, payload)))
            }
            None => {
                self.data = &[];
                Some(Err(bad_attr_len(ty, len)))
            }
        }
    }
}

#[cold]
#[inline(never)]
fn bad_attr_len(ty: u16, len: usize) -> Error {
    Error::protocol(
        "reading netlink attributes",
        format!("attribute {ty} claims {len} bytes"),
    )
}

#[cold]
#[inline(never)]
fn bad(what: &str, n: usize, got: &[u8]) -> Error {
    Error::protocol(
        "decoding an attribute",
        format!("{what}: expected {n} bytes, got {}", got.len()),
    )
}

/// Reads a u8 attribute payload.
#[inline]
pub fn get_u8(what: &str, p: &[u8]) -> Result<u8> {
    p.first().copied().ok_or_else(|| bad(what, 1, p))
}
/// Reads a native-endian u16 attribute payload.
#[inline]
pub fn get_u16(what: &str, p: &[u8]) -> Result<u16> {
    p.get(..2)
        .map(|b| u16::from_ne_bytes([b[0], b[1]]))
        .ok_or_else(|| bad(what, 2, p))
}
/// Reads a big-endian u16 attribute payload.
#[inline]
pub fn get_be16(what: &str, p: &[u8]) -> Result<u16> {
    p.get(..2)
        .map(|b| u16::from_be_bytes([b[0], b[1]]))
        .ok_or_else(|| bad(what, 2, p))
}
/// Reads a native-endian u32 attribute payload.
#[inline]
pub fn get_u32(what: &str, p: &[u8]) -> Result<u32> {
    p.get(..4)
        .map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        .ok_or_else(|| bad(what, 4, p))
}
/// Reads a native-endian u64 attribute payload.
#[inline]
pub fn get_u64(what: &str, p: &[u8]) -> Result<u64> {
    p.get(..8)
        .map(|b| u64::from_ne_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]))
        .ok_or_else(|| bad(what, 8, p))
}
/// Reads a string attribute payload, up to its first NUL.
pub fn get_str(what: &str, p: &[u8]) -> Result<String> {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8(p[..end].to_vec())
        .map_err(|_| Error::protocol("decoding an attribute", format!("{what}: not UTF-8")))
}

impl MsgHeader {
    /// Parses the header at the start of `data`.
    pub fn parse(data: &[u8]) -> Option<Self> {
        let b = data.get(..NLMSG_HDRLEN)?;
        Some(MsgHeader {
            len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            ty: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        })
    }
}
