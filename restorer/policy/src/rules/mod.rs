// SPDX-License-Identifier: GPL-2.0
//! The restore policy: every decision the kernel module and `ckpt-restore`
//! make before the point of no return, as pure functions of the image and
//! of facts each restorer gathers ([`Host`]).
//!
//! Shared by both restorers: the module includes this directory with
//! `#[path]`, the userspace restorer through the `restore-policy` crate.
//! Rules as in the image format's `v1`: `core` only, no allocation, no
//! panicking operation, no `crate::` paths; the format is `super::fmt`,
//! the plan builder `super::plan`.
//!
//! - reason.rs: why an image is refused: one table of stable names, the
//!   module's errno and ckpt-restore's exit status.
//! - regions.rs: how each region is restored (mapped, copied, left to the
//!   stub) and which regions are refused.
//! - footprint.rs: the mappings and bytes the restored process will have,
//!   counted as the kernel counts them, against vm.max_map_count and
//!   RLIMIT_AS.
//! - hole.rs: where the `[plan][stub]` block goes.
//! - vdso.rs: whether the image's vdso can be this kernel's.
//! - files.rs: mapped files, fds to reopen and the working directory,
//!   judged from what opening them with the caller's credentials gave.
//! - host.rs: the facts a restorer provides; check.rs: the checks in order.
//! - fdkinds.rs: open file descriptions the caller may not create.
//! - sockets.rs: addresses the stub binds sockets to again are free.
//! - inotify.rs: paths the stub watches again exist.
//! - fifo.rs: named FIFOs the stub opens again are still FIFOs.
//! - terminal.rs: the caller's terminals the stub opens again exist, pty
//!   pairs can be created.
//! - tree.rs: process trees: sessions and groups, limits, the fd base,
//!   the objects a member inherits.
//! - tree_plan.rs: the tree part of a plan, assembled once from those rules.

mod check;
mod fdkinds;
mod files;
mod footprint;
mod hole;
mod fifo;
mod terminal;
mod inotify;
mod host;
mod reason;
mod regions;
mod sockets;
mod tree;
mod tree_plan;
mod vdso;

use super::fmt;
use super::plan;

pub use check::{check, exe_link, Checked};
pub use files::{
    check_reopened, mapped_open_flags, open_failure, reopen_check_flags, reopen_type, same_file, writable_shared, FileFacts,
    OpenWhat,
};
pub use footprint::{check_footprint, footprint, Footprint, BLOCK_MAPPINGS};
pub use hole::{find_hole, GUARD, MIN_ADDR, ROOM_ABOVE};
pub use fdkinds::check_fd_kinds;
pub use host::{FdLimits, Host, MappedFile};
pub use reason::{errno, exit, Detail, Reason, Refusal, REASONS};
pub use regions::{check_region, copies_pages, kernel_provided, map_flags, may_map_from_image, region_map, region_pages, PageModes, RegionMap, RegionPages, COPY_BUDGET, SMALL_ANON};
pub use sockets::{bind_refusal, check_sockets, probe_options, SocketProbe};
pub use tree::{
    check_inherited_objects, check_member_fd_base, check_tree_nproc, children, object_ends, object_slot, proc_of, region_objects, state_code,
    tree_fd_base,
    set_pids, tree_object_fits, tree_object_supported, PidFacts, Proc,
};
pub use tree_plan::{check_root_tree, member_tree, root_tree, selected, tree_object_refs, RootFacts, RootTree, TreeHead, TreeHost, TreeOut};
pub use vdso::{vdso_plan, Special, VdsoHere, VdsoPlan};
