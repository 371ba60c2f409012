//! binfmt_chkpt checkpoint image format.
//!
//! `v1` is the `no_std` part shared with the kernel module (layout,
//! validator, reader). The writer and owned "decoded" types need `std` and
//! live outside `v1` so the kernel never sees them.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(feature = "std")]
extern crate std;

pub mod v1;
pub use v1::*;

#[cfg(feature = "std")]
mod desc;
#[cfg(feature = "std")]
mod display;
#[cfg(feature = "std")]
pub mod fields;
#[cfg(feature = "std")]
mod pages;
#[cfg(feature = "std")]
mod reseal;
#[cfg(feature = "std")]
mod write;
#[cfg(feature = "std")]
mod write_threads;
#[cfg(feature = "std")]
mod sockaddr;
#[cfg(feature = "std")]
pub use sockaddr::sockaddr_text;
mod tree_read;
#[cfg(feature = "std")]
mod tree_write;

#[cfg(feature = "std")]
pub use desc::{Blob, ByteString, FdDesc, FileDesc, ImageDesc, ProcessDesc, RegionDesc, RunDesc, SeccompDesc, ThreadDesc};
#[cfg(feature = "std")]
pub use pages::verify_pages;
#[cfg(feature = "std")]
pub use reseal::reseal_checksums;
#[cfg(feature = "std")]
pub use write::{
    chunk_buffer_len, head_bytes, page_chunks, prepare, prepare_with, tail_bytes, write_image, write_prepared, write_prepared_with, ChunkPiece, Options,
    Prepared, RawSection, WriteError,
};
#[cfg(feature = "std")]
pub use write_threads::write_prepared_threaded;
#[cfg(feature = "std")]
pub use tree_read::{parse_tree_bytes, TreeImages};
#[cfg(feature = "std")]
pub use tree_write::{prepare_tree, write_tree, write_tree_prepared, write_tree_prepared_threaded, PreparedTree, TreeLinks, TreeMemberDesc};
