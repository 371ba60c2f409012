// SPDX-License-Identifier: GPL-2.0
//! binfmt_chkpt: execve of a checkpoint image resumes the checkpointed process.
//!
//! Files: loader.rs (the order of a restore, with the point of no return),
//! prepare.rs (checks against the caller before it), restore.rs (mapping
//! after it), refusal.rs (errnos and reasons), glue.rs (all `unsafe`, the
//! boundary to shim.c). The image format's validator and the stub's plan
//! builder are compiled from the very same sources the userspace tools use.

use kernel::prelude::*;

// The shared validator; the module uses only part of its API.
#[path = "../image-format/src/v1/mod.rs"]
#[allow(dead_code, unused_imports, unreachable_pub, missing_docs)]
mod image_format;
use image_format as fmt;
// The stub's plan builder (restorer/plan), shared with the userspace restorer.
#[path = "../restorer/plan/src/plan.rs"]
#[allow(dead_code, unreachable_pub, missing_docs)]
mod plan;
mod glue;
mod loader;
mod prepare;
mod refusal;
mod restore;

module! {
    type: BinfmtChkpt,
    name: "binfmt_chkpt",
    author: "binfmt_chkpt developers",
    description: "Restore checkpoint images on execve",
    license: "GPL",
}

struct BinfmtChkpt {
    _handler: glue::Registration,
}

impl kernel::Module for BinfmtChkpt {
    fn init(_module: &'static ThisModule) -> Result<Self> {
        let handler = glue::Registration::new();
        pr_info!("registered (image format v{})\n", image_format::VERSION_MAJOR);
        Ok(BinfmtChkpt { _handler: handler })
    }
}

impl Drop for BinfmtChkpt {
    fn drop(&mut self) {
        pr_info!("unregistered\n");
    }
}
