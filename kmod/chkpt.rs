// SPDX-License-Identifier: GPL-2.0
//! binfmt_chkpt: execve of a checkpoint image resumes the checkpointed process.
//!
//! Files: loader.rs (the order of a restore, with the point of no return),
//! prepare.rs (checks against the caller before it: the shared policy,
//! with host.rs gathering its facts), restore.rs (mapping
//! after it), refusal.rs (errnos and reasons), glue.rs (all `unsafe`, the
//! boundary to shim.c). The image format's validator and the stub's plan
//! builder are compiled from the very same sources the userspace tools use.

// Every `unsafe` block says why it is sound (glue.rs); the kernel's
// CLIPPY=1 build only warns about it.
#![deny(clippy::undocumented_unsafe_blocks)]

use kernel::prelude::*;

// The shared validator, compiled from the userspace tools' source. The
// module uses only part of it: not the encoders, page checks and some
// re-exports (dead_code, unused_imports), and the source's `pub` items are
// private here (unreachable_pub, which the kernel build turns on).
// `expect`, not `allow`: a lint that stops firing is reported.
#[path = "../image-format/src/v1/mod.rs"]
#[expect(dead_code, unused_imports, unreachable_pub)]
mod image_format;
// plan.rs names the format as `super::fmt`, as in restorer/plan's lib.rs.
use image_format as fmt;
// The stub's plan builder (restorer/plan), shared with the userspace
// restorer; the module uses neither the plan's memory steps nor the words
// only the stub reads (dead_code).
#[path = "../restorer/plan/src/plan.rs"]
#[expect(dead_code, unreachable_pub)]
mod plan;
// The restore policy (restorer/policy), shared with the userspace restorer.
#[path = "../restorer/policy/src/rules/mod.rs"]
#[expect(dead_code, unused_imports, unreachable_pub)]
mod policy;
mod glue;
mod host;
mod loader;
mod prepare;
mod refusal;
mod restore;
mod tree;

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
