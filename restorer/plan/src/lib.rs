//! The restore plan that both restorers hand to the stub
//! (`restorer/stub/plan.h`), built from a validated image.
//!
//! The builder itself is `plan.rs`, which the kernel module compiles too
//! (`#[path]`, next to the image format). It sees the format as
//! `super::fmt`, which this crate root provides.

#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

use image_format::v1 as fmt;

mod plan;
pub use plan::*;
