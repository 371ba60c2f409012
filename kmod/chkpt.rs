// SPDX-License-Identifier: GPL-2.0
//! binfmt_chkpt: execve of a checkpoint image resumes the checkpointed process.
//!
//! Files: glue.rs (all `unsafe`, the boundary to shim.c), loader.rs (the
//! load_binary logic), and the image-format crate's validator, compiled from
//! the very same source the userspace tools use.

use kernel::prelude::*;

// The shared validator; the module uses only part of its API.
#[path = "../image-format/src/v1/mod.rs"]
#[allow(dead_code, unused_imports, unreachable_pub, missing_docs)]
mod image_format;
mod glue;
mod loader;

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
