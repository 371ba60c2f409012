//! An image written on two threads: the caller's reads the process's
//! memory into a buffer while a second one checksums and writes the one
//! before.
//!
//! For a large dump, reading the target's memory (process_vm_readv,
//! /proc/PID/mem) and checksumming plus writing take about as long as each
//! other, and a frozen target waits for both: one after the other they
//! added up. The bytes are those `write_prepared_with` writes (the same
//! chunk plan, `page_chunks`); two buffers of WRITE_CHUNK go round between
//! the threads, so memory use stays flat.

use std::io::{self, Write};
use std::sync::mpsc;
use std::vec;
use std::vec::Vec;

use crate::v1::Crc32c;
use crate::write::{chunk_buffer_len, head_bytes, page_chunks, tail_bytes, Prepared, RunChecksums, WriteError};

/// Buffers in flight: one being filled, one being written.
const BUFFERS: usize = 2;

/// Writes `p` into `out` as `write_prepared_with` does, `fill(addr, buf)`
/// reading the memory on the caller's thread, `checksum` and the writes on
/// another; returns the bytes written. When `fill` fails, no more pages
/// are written and its error is returned.
pub fn write_prepared_threaded<W: Write + Send>(
    p: &Prepared,
    out: &mut W,
    mut fill: impl FnMut(u64, &mut [u8]) -> io::Result<()>,
    checksum: impl Fn(&mut Crc32c, &[u8]) + Send,
) -> Result<u64, WriteError> {
    out.write_all(&head_bytes(p))?;
    let chunks = page_chunks(p);
    let size = chunk_buffer_len(&chunks);
    let (to_writer, filled) = mpsc::sync_channel::<(Vec<u8>, usize)>(BUFFERS);
    let (to_reader, free) = mpsc::channel::<Vec<u8>>();
    for _ in 0..BUFFERS.min(chunks.len()) {
        to_reader.send(vec![0u8; size]).expect("the receiver is here");
    }
    let chunks = &chunks;
    let pages = std::thread::scope(|s| {
        let writer = s.spawn(move || -> io::Result<(RunChecksums, &mut W)> {
            let mut sums = RunChecksums::new(p);
            for (buf, index) in filled {
                let used = sums.add(&chunks[index], &buf, &checksum);
                out.write_all(&buf[..used])?;
                // The reader may have stopped (a failed fill): no matter.
                let _ = to_reader.send(buf);
            }
            Ok((sums, out))
        });
        let mut failed = None;
        for (index, pieces) in chunks.iter().enumerate() {
            // None: the writer stopped (its error comes from join).
            let Ok(mut buf) = free.recv() else { break };
            if let Some(e) = pieces.iter().find_map(|x| fill(x.addr, &mut buf[x.at..x.at + x.len]).err()) {
                failed = Some(e);
                break;
            }
            if to_writer.send((buf, index)).is_err() {
                break;
            }
        }
        drop(to_writer);
        let written = writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        match (failed, written) {
            (Some(e), _) | (None, Err(e)) => Err(e),
            (None, Ok(done)) => Ok(done),
        }
    });
    let (sums, out) = pages?;
    out.write_all(&tail_bytes(p, &sums.crcs))?;
    Ok(p.header.file_len)
}
