//! What both restorers decide before the point of no return, in one place.
//!
//! The rules themselves are in `rules/`, which the kernel module compiles
//! too (`#[path]`, beside the image format and the plan builder). They see
//! the format as `super::fmt` and the plan builder as `super::plan`, which
//! this crate root provides, exactly as the module's root does.
//!
//! A restorer implements [`Host`]: it gathers facts (opens files with the
//! caller's credentials, reads limits, finds its vdso) and keeps what the
//! restore needs; [`check`] decides. See rules/mod.rs.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use image_format::v1 as fmt;
use restore_plan as plan;

mod rules;
pub use rules::*;
