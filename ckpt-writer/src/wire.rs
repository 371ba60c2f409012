//! The migration protocol: one TCP connection, framed messages. Each
//! frame is a kind byte, a little-endian u32 payload length, and the
//! payload. Every kind has a fixed or bounded length, checked before a
//! byte of the payload is read, so a hostile peer gets an error naming
//! what was wrong, never a large allocation or a hang on a bogus length.
//!
//! Source to receiver:
//! * HELLO: magic "CKPTMIGR", protocol version (u32), page size (u32);
//! * LAYOUT (version 2): the state taken at the tracking freeze, encoded
//!   as STATE is, sent before any page: the receiver lays out its
//!   temporary image from it and writes every page it receives straight
//!   to that page's place in the file (optional: without it, the STATE
//!   is the layout);
//! * PAGES: address (u64, page-aligned), then whole pages (1..=256);
//!   a later copy of a page replaces an earlier one;
//! * ROUND: a pre-copy round ended (round number u32, for the summary);
//! * STATE: the process's state, sent while it is frozen: a page-less
//!   image (u32 length + an ordinary image whose regions have no stored
//!   pages: the format itself serialises the state), then the stored page
//!   runs (u32 count, then per run: region index u32, first page u64,
//!   page count u64);
//! * END: every page the image stores has been sent;
//! * COMMIT: the source saw READY and is still frozen: put the image in
//!   place;
//! * SOURCE_DONE: what became of the source (u8: 0 killed, 1 left stopped,
//!   2 left running).
//!
//! Receiver to source: READY (the image is complete in a temporary file,
//! its metadata validated; u8: 0 the pages were in place and only header,
//! metadata and checksums were written, 1 the layout had changed and the
//! pages were moved to their final places on STATE), DONE (synced and renamed into place), ERROR
//! (UTF-8 text, at most 4 KiB).

use std::io::{self, Read, Write};

use crate::error::{Error, Result};

pub const MAGIC: &[u8; 8] = b"CKPTMIGR";
/// 2: LAYOUT, READY's payload.
pub const VERSION: u32 = 2;
pub const PAGE: u64 = 4096;
/// Pages in one PAGES frame.
pub const MAX_FRAME_PAGES: u64 = 256;
const MAX_ERROR: u32 = 4096;
/// A STATE frame: the page-less image (at most the format's metadata
/// limit plus its header and tail) and the runs.
pub const MAX_STATE_IMAGE: u32 = (image_format::v1::limits::MAX_METADATA_LEN as u32) + (1 << 20);
pub const RUN_BYTES: u32 = 20;
const MAX_STATE: u32 = 4 + MAX_STATE_IMAGE + 4 + image_format::v1::limits::MAX_PAGE_RUNS * RUN_BYTES;

/// Frame kinds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Kind {
    Hello = 1,
    Pages = 2,
    Round = 3,
    State = 4,
    End = 5,
    Commit = 6,
    SourceDone = 7,
    Layout = 8,
    Ready = 16,
    Done = 17,
    Error = 18,
}

impl Kind {
    fn from_byte(b: u8) -> Option<Kind> {
        Some(match b {
            1 => Kind::Hello,
            2 => Kind::Pages,
            3 => Kind::Round,
            4 => Kind::State,
            5 => Kind::End,
            6 => Kind::Commit,
            7 => Kind::SourceDone,
            8 => Kind::Layout,
            16 => Kind::Ready,
            17 => Kind::Done,
            18 => Kind::Error,
            _ => return None,
        })
    }

    /// Whether `len` is a valid payload length for this kind.
    fn len_ok(self, len: u32) -> bool {
        match self {
            Kind::Hello => len == 16,
            Kind::Pages => len > 8 && (u64::from(len) - 8) % PAGE == 0 && u64::from(len) - 8 <= MAX_FRAME_PAGES * PAGE,
            Kind::Round => len == 4,
            Kind::State | Kind::Layout => (8..=MAX_STATE).contains(&len),
            Kind::End | Kind::Commit | Kind::Done => len == 0,
            Kind::SourceDone | Kind::Ready => len == 1,
            Kind::Error => len <= MAX_ERROR,
        }
    }
}

/// A protocol violation by the peer.
pub fn bad_peer(why: impl Into<String>) -> Error {
    Error::Peer(format!("bad input from the peer: {}", why.into()))
}

fn lost(e: io::Error) -> Error {
    let what = match e.kind() {
        io::ErrorKind::UnexpectedEof => "the connection closed".to_string(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut => "no data from the peer in time".to_string(),
        _ => "the connection failed".to_string(),
    };
    Error::Peer(format!("{what}: {e}"))
}

/// A frame header read; its payload is read next by the caller.
pub struct Header {
    pub kind: Kind,
    pub len: u32,
}

/// Reads one frame header, checks the kind is one of `allowed` and the
/// length fits the kind.
pub fn read_header(r: &mut impl Read, allowed: &[Kind]) -> Result<Header> {
    let mut h = [0u8; 5];
    r.read_exact(&mut h).map_err(lost)?;
    let len = u32::from_le_bytes([h[1], h[2], h[3], h[4]]);
    let kind = Kind::from_byte(h[0]).ok_or_else(|| bad_peer(format!("unknown frame kind {}", h[0])))?;
    if !allowed.contains(&kind) {
        return Err(bad_peer(format!("unexpected {kind:?} frame (expected one of {allowed:?})")));
    }
    if !kind.len_ok(len) {
        return Err(bad_peer(format!("{kind:?} frame of bad length {len}")));
    }
    Ok(Header { kind, len })
}

/// Reads a payload of `len` bytes, growing the buffer only as bytes come.
pub fn read_payload(r: &mut impl Read, len: u32) -> Result<Vec<u8>> {
    let mut out = Vec::with_capacity((len as usize).min(1 << 20));
    let got = r.take(u64::from(len)).read_to_end(&mut out).map_err(lost)?;
    if got != len as usize {
        return Err(lost(io::Error::from(io::ErrorKind::UnexpectedEof)));
    }
    Ok(out)
}

/// Reads exactly `buf.len()` bytes of a payload.
pub fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<()> {
    r.read_exact(buf).map_err(lost)
}

/// Writes one frame whose payload is the concatenation of `parts`.
pub fn write_frame(w: &mut impl Write, kind: Kind, parts: &[&[u8]]) -> Result<()> {
    let len: usize = parts.iter().map(|p| p.len()).sum();
    let len = u32::try_from(len).map_err(|_| bad_peer("frame too long"))?;
    debug_assert!(kind.len_ok(len), "{kind:?} {len}");
    let mut h = [0u8; 5];
    h[0] = kind as u8;
    h[1..].copy_from_slice(&len.to_le_bytes());
    w.write_all(&h).map_err(lost)?;
    for p in parts {
        w.write_all(p).map_err(lost)?;
    }
    Ok(())
}

/// Flushes a buffered writer (before waiting for an answer).
pub fn flush(w: &mut impl Write) -> Result<()> {
    w.flush().map_err(lost)
}

/// The HELLO payload.
pub fn hello() -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(MAGIC);
    b[8..12].copy_from_slice(&VERSION.to_le_bytes());
    b[12..].copy_from_slice(&(PAGE as u32).to_le_bytes());
    b
}

/// Checks a HELLO payload.
pub fn check_hello(b: &[u8]) -> Result<()> {
    if &b[..8] != MAGIC {
        return Err(bad_peer("not a ckpt-writer migration (bad magic)"));
    }
    let version = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
    if version != VERSION {
        return Err(bad_peer(format!("protocol version {version}, this receiver speaks {VERSION}")));
    }
    let page = u32::from_le_bytes([b[12], b[13], b[14], b[15]]);
    if u64::from(page) != PAGE {
        return Err(bad_peer(format!("page size {page}, this machine's is {PAGE}")));
    }
    Ok(())
}

/// Reads an ERROR frame's text (after its header) and turns it into an error.
pub fn peer_error(r: &mut impl Read, len: u32) -> Error {
    match read_payload(r, len) {
        Ok(b) => Error::Peer(format!("the peer failed: {}", String::from_utf8_lossy(&b))),
        Err(e) => e,
    }
}

/// Sends an ERROR frame, best effort (the connection may be gone).
pub fn send_error(w: &mut impl Write, e: &Error) {
    let mut text = e.to_string().into_bytes();
    text.truncate(MAX_ERROR as usize);
    let _ = write_frame(w, Kind::Error, &[&text]).and_then(|()| flush(w));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: u8, payload: &[u8]) -> Vec<u8> {
        let mut v = vec![kind];
        v.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn a_frame_round_trips() {
        let mut buf = Vec::new();
        write_frame(&mut buf, Kind::Round, &[&7u32.to_le_bytes()]).unwrap();
        let mut r = &buf[..];
        let h = read_header(&mut r, &[Kind::Round]).unwrap();
        assert_eq!((h.kind, h.len), (Kind::Round, 4));
        assert_eq!(read_payload(&mut r, h.len).unwrap(), 7u32.to_le_bytes());
    }

    #[test]
    fn bad_frames_are_refused_before_their_payload_is_read() {
        let refuse = |bytes: Vec<u8>, allowed: &[Kind], want: &str| {
            let Err(e) = read_header(&mut &bytes[..], allowed) else { panic!("accepted, wanted {want}") };
            let e = e.to_string();
            assert!(e.contains(want), "{e} lacks {want}");
        };
        refuse(frame(99, &[]), &[Kind::Hello], "unknown frame kind 99");
        refuse(frame(2, &[0; 8]), &[Kind::Hello], "unexpected Pages frame");
        refuse(frame(1, &[0; 15]), &[Kind::Hello], "Hello frame of bad length 15");
        refuse(frame(2, &[0; 8 + 100]), &[Kind::Pages], "bad length 108");
        refuse(frame(2, &[0; 8]), &[Kind::Pages], "bad length 8");
        let mut huge = vec![2u8];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        refuse(huge, &[Kind::Pages], "bad length");
        let mut big_state = vec![4u8];
        big_state.extend_from_slice(&(MAX_STATE + 1).to_le_bytes());
        refuse(big_state, &[Kind::State], "bad length");
        let short = frame(1, &hello())[..10].to_vec();
        assert!(read_header(&mut &short[..], &[Kind::Hello]).is_ok(), "the header itself is whole");
        let e = read_payload(&mut &short[5..], 16).unwrap_err().to_string();
        assert!(e.contains("closed"), "{e}");
    }

    #[test]
    fn hello_checks_magic_version_and_page_size() {
        check_hello(&hello()).unwrap();
        let mut b = hello();
        b[0] = b'X';
        assert!(check_hello(&b).unwrap_err().to_string().contains("bad magic"));
        let mut b = hello();
        b[8] = 1;
        assert!(check_hello(&b).unwrap_err().to_string().contains("protocol version 1"));
        let mut b = hello();
        b[13] = 0x20;
        assert!(check_hello(&b).unwrap_err().to_string().contains("page size"));
    }
}
