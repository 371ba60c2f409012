//! ckpt-restore: the userspace restorer. `ckpt-restore IMAGE [ARGS...]`
//! replaces its own process with the one checkpointed in IMAGE. It is also
//! what binfmt_misc runs for `./saved.ckpt` (argv: the restorer, the image's
//! path, the original arguments, which the restored process does not use:
//! it has its own). See restorer/README.md for the design.
//!
//! Everything that can fail for a reason the caller could fix is checked
//! before the restorer touches its own address space; such a failure is one
//! line on stderr and an exit status (error.rs).

mod addr;
mod brk;
mod cpu;
mod enter;
mod error;
mod files;
mod image;
mod mm;
mod ops;
mod vdso;

use std::os::fd::AsRawFd;

use image_format::check_cpu;
use image_format::limits::USER_SPACE_END;
use nix::sys::statvfs::{fstatvfs, FsFlags};
use restore_plan::Placement;

use crate::error::{exit, refuse, Checked};

/// The restorer stub (restorer/stub, built by build.rs): entry at offset 0,
/// its final page last. The kernel module embeds the same blob.
static STUB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stub.bin"));

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let Some(path) = args.get(1) else {
        eprintln!("usage: ckpt-restore IMAGE [ARGS...]");
        std::process::exit(exit::USAGE);
    };
    if let Err(r) = restore(path) {
        eprintln!("ckpt-restore: {path}: {r}");
        std::process::exit(r.code);
    }
}

/// Returns only on a refusal.
fn restore(path: &str) -> Checked<()> {
    let loaded = image::Loaded::open(path)?;
    let image = loaded.image()?;

    let (xcr0, xsave_size) = cpu::xstate();
    check_cpu(&image.process, xcr0, xsave_size)?;
    if ops::maps_image_exec(&image) && fstatvfs(&loaded.file).is_ok_and(|s| s.flags().contains(FsFlags::ST_NOEXEC)) {
        return Err(refuse(exit::INCOMPATIBLE, "image-on-noexec-mount", "its executable pages cannot be mapped"));
    }
    ops::check_limits(&image)?;
    let mapped = files::open_mapped(&image)?;
    files::check_fds(&image)?;
    files::check_cwd(&image)?;
    let own = addr::own()?;
    addr::check_unsealed()?;
    let vdso_base = vdso::check(&image, &loaded.file, &own.vdso)?;

    let image_fd = loaded.file.as_raw_fd() as u64;
    let file_fds: Vec<u64> = mapped.files.iter().map(|f| f.as_raw_fd() as u64).collect();
    let region_ops = ops::region_ops(&image, image_fd, &mapped, &file_fds)?;

    let nr_ops = 2 + region_ops.len();
    let layout = restore_plan::layout(&image, nr_ops)?;
    let stub_len = STUB.len() as u64;
    // The hole must be free here too. Something mapped since
    // /proc/self/maps was read (a large buffer) may have taken it: then
    // look once more, around everything mapped now.
    let block_len = layout.len + stub_len;
    let mut avoid = own.ranges.clone();
    let mut retried = false;
    let (at, plan) = loop {
        let at = addr::find_hole(&image, &avoid, block_len)?;
        match enter::map_block(at, layout.len, STUB) {
            Ok(plan) => break (at, plan),
            Err(_) if !retried => {
                retried = true;
                avoid.extend(addr::own()?.ranges);
                avoid.push((at, at + block_len));
            }
            Err(e) => return Err(e),
        }
    };
    let place = Placement { plan: at, stub: at + layout.len, stub_len, vdso_base };

    let mut ops = ops::teardown(at, at + block_len, USER_SPACE_END).to_vec();
    ops.extend(region_ops);
    restore_plan::write(&image, &layout, &place, &ops, plan)?;
    restore_plan::set_report(plan, &layout, Some(restore_plan::STDERR), format!("ckpt-restore: {path}: ").as_bytes())?;
    let mm = mm::MmMap::new(&image);
    // Tests take the path of kernels that refuse PR_SET_MM_MAP (no
    // CONFIG_CHECKPOINT_RESTORE, or an LSM) on any machine.
    let skip_mm_map = std::env::var_os("CKPT_RESTORE_NO_MM_MAP").is_some();

    enter::block_all_signals()?;
    // Nothing allocates from here on except an error on its way out:
    // PR_SET_MM_MAP moves the kernel's break under glibc's malloc, and the
    // fallback's break shrink takes glibc's heap and static TLS away.
    let brk = if !skip_mm_map && mm.apply() {
        0
    } else {
        brk::check_fallback(&image, own.start_brk)?;
        own.start_brk
    };
    enter::unregister_rseq()?;
    // The files stay open for the memory steps, which close them.
    std::mem::forget(mapped);
    std::mem::forget(loaded);
    let entry = enter::Entry { plan: at, stack: at + layout.stack_top, stub: at + layout.len };
    enter::enter(&entry, brk)
}
