//! ckpt-restore: the userspace restorer. `ckpt-restore IMAGE [ARGS...]`
//! replaces its own process with the one checkpointed in IMAGE. It is also
//! what binfmt_misc runs for `./saved.ckpt` (argv: the restorer, the image's
//! path, the original arguments, which the restored process does not use:
//! it has its own). See restorer/README.md for the design.
//!
//! Everything that can fail for a reason the caller could fix is checked
//! before the restorer touches its own address space; such a failure is one
//! line on stderr and an exit status (error.rs).
//!
//! No Rust runtime start-up (`no_main`, start.rs): glibc calls `main`
//! below, which does the part of std's start-up a restore needs.

#![cfg_attr(not(test), no_main)]

mod addr;
mod brk;
mod cpu;
mod enter;
mod error;
mod host;
mod image;
mod mm;
mod ops;
mod pidns;
mod probe;
mod start;
mod stream;
mod tree;

use std::fs::File;
use std::os::fd::AsRawFd;
use std::os::unix::ffi::OsStrExt;

use image_format::limits::USER_SPACE_END;
use image_format::Image;
use restore_plan::Placement;
use restore_policy::{find_hole, Reason, REASONS};

use crate::error::{exit, refuse, Checked, Refusal};
use crate::host::UserHost;

/// The restorer stub (restorer/stub, built by build.rs): entry at offset 0,
/// its final page last. The kernel module embeds the same blob.
static STUB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/stub.bin"));

const USAGE: &str = "usage: ckpt-restore IMAGE [ARGS...] | ckpt-restore [--stdin FILE] - | ckpt-restore --refusal-table";

/// The C entry glibc's start-up calls (std's own `main` shim is left out:
/// see start.rs). Unit tests have the test harness's entry instead.
#[cfg_attr(not(test), no_mangle)]
pub extern "C" fn main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    start::run(run)
}

fn run() {
    let args: Vec<String> = std::env::args().collect();
    let mut rest = args.iter().skip(1).map(String::as_str);
    // Run by binfmt_misc (AT_EXECFD), argv[1] is the executed image's path
    // whatever it looks like (a file named `-` or `--stdin`): no options.
    let by_binfmt = image::exec_fd().is_some();
    let (stdin, path) = match (rest.next(), rest.next(), rest.next()) {
        (Some(path), ..) if by_binfmt => (None, path),
        (Some("--refusal-table"), ..) => {
            print_refusal_table();
            return;
        }
        (Some("--stdin"), Some(file), Some(path)) => (Some(file), path),
        (Some("--stdin"), ..) | (None, ..) => {
            eprintln!("{USAGE}");
            std::process::exit(exit::USAGE);
        }
        (Some(path), ..) => (None, path),
    };
    // Opened before the stream is read, so that a wrong name is said at once.
    let stdin = stdin.map(|f| match File::open(f) {
        Ok(file) => file,
        Err(e) => {
            eprintln!("ckpt-restore: --stdin {f}: {e}");
            std::process::exit(exit::USAGE);
        }
    });
    let loaded = match path {
        "-" if !by_binfmt => stream::image_from_stdin().and_then(|f| image::Loaded::read(f, path)),
        _ => image::Loaded::open(path),
    };
    // After the image's path: a tree member's selector, or the caller's
    // arguments, which a restore ignores (the process has its own).
    let after: Vec<&[u8]> = args.iter().skip_while(|a| a.as_str() != path).skip(1).map(|a| a.as_bytes()).collect();
    let selector = restore_plan::parse_selector(&after);
    let r = loaded.and_then(|l| {
        if let Some(f) = stdin {
            // The restored process inherits fd 0 (its image marks stdio so).
            nix::unistd::dup2_stdin(f).map_err(|e| error::internal("--stdin", e))?;
        }
        restore_any(path, l, selector)
    });
    if let Err(r) = r {
        eprintln!("ckpt-restore: {path}: {r}");
        std::process::exit(r.code());
    }
}

/// A single image, a tree's root, or (with a selector) one member of a
/// tree. Returns only on a refusal.
fn restore_any(path: &str, loaded: image::Loaded, selector: Option<Result<restore_plan::Selector, ()>>) -> Checked<()> {
    let root = loaded.image()?;
    let recs: Vec<_> = root.tree_processes().collect();
    let image_fd = loaded.file.as_raw_fd() as u64;
    match selector {
        None if recs.is_empty() => restore(path, &loaded, &root, 0, None),
        Some(Err(())) => Err(refuse(Reason::MemberSelector, "argv after the image: ckpt-tree-member INDEX FD_BASE")),
        Some(Ok(_)) if recs.is_empty() => Err(refuse(Reason::MemberSelector, "the image is no process tree")),
        None => {
            if path == "-" && image::exec_fd().is_none() {
                return Err(refuse(Reason::TreeFromStream, ""));
            }
            // Every member read and validated before anything changes.
            let parts = recs
                .iter()
                .map(|r| if r.image_offset == 0 || r.state == image_format::TreeState::Zombie { Ok(None) } else { loaded.member(r, path).map(Some) })
                .collect::<Checked<Vec<_>>>()?;
            let mut images = Vec::with_capacity(recs.len());
            for (i, p) in parts.iter().enumerate() {
                images.push(match p {
                    Some(m) => Some(m.image()?),
                    None if i == 0 => Some(root),
                    None => None,
                });
            }
            let own = addr::own()?;
            let mut host = UserHost { image_file: &loaded.file, image_base: 0, own: &own, stub_len: STUB.len() as u64, files: Vec::new(), file_of: Vec::new() };
            let (nproc, nofile) = (restore_policy::Host::rlimit_nproc(&mut host), restore_policy::Host::rlimit_nofile(&mut host));
            let tree = tree::check_root(&recs, &images, image_fd, nproc, nofile)?;
            // Each member's own checks, as its restorer will make them.
            for (rec, img) in recs.iter().zip(&images).skip(1) {
                if let Some(img) = img {
                    let mut h = UserHost { image_file: &loaded.file, image_base: rec.image_offset, own: &own, stub_len: STUB.len() as u64, files: Vec::new(), file_of: Vec::new() };
                    restore_policy::check(img, &mut h).map_err(|r| Refusal::from_policy(r, img))?;
                }
            }
            restore(path, &loaded, &root, 0, Some(tree::Role::Root(&tree)))
        }
        Some(Ok(sel)) => {
            let rec = tree::selected(&recs, sel)?;
            let member = loaded.member(&rec, path)?;
            let image = member.image()?;
            let plan = tree::for_member(&recs, &image, sel)?;
            restore(path, &loaded, &image, rec.image_offset, Some(tree::Role::Member(plan)))
        }
    }
}

/// Restores `image`, at `base` in the image file, with its part of a tree.
/// Returns only on a refusal.
fn restore(path: &str, loaded: &image::Loaded, image: &Image<'_>, base: u64, tree: Option<tree::Role<'_, '_, '_>>) -> Checked<()> {
    let image = *image;
    let own = addr::own()?;
    addr::check_unsealed(&own)?;
    let mut host = UserHost { image_file: &loaded.file, image_base: base, own: &own, stub_len: STUB.len() as u64, files: Vec::new(), file_of: Vec::new() };
    let checked = restore_policy::check(&image, &mut host).map_err(|r| Refusal::from_policy(r, &image))?;
    // The root's block once its mapped files are open: its fd base
    // lies above them.
    let tree = match tree {
        Some(tree::Role::Root(r)) => Some(tree::for_root(r)?),
        Some(tree::Role::Member(p)) => Some(p),
        None => None,
    };
    let UserHost { files: mapped, file_of, .. } = host;
    // From here on in the process that is restored: the caller, or its
    // child with the PID at dump when the caller is a PID namespace's init.
    let tids: Vec<u32> = image.threads().map(|t| t.state.tid).filter(|&t| t != image.process.pid).collect();
    let keep_tids = pidns::arrange(image.process.pid, &tids);

    let image_fd = loaded.file.as_raw_fd() as u64;
    let file_fds: Vec<u64> = mapped.iter().map(|f| f.as_raw_fd() as u64).collect();
    let shared = tree.as_ref().map(|t| tree::shared_region_fds(&image, t.me.fd_base)).unwrap_or_default();
    let region_ops = ops::region_ops(&image, image_fd, base, &file_of, &file_fds, &shared)?;

    let nr_ops = 2 + region_ops.len();
    let tree_len = match &tree {
        Some(t) => restore_plan::tree_len(t.children.len(), t.nr_objects, &t.ends, t.regions.len())?,
        None => 0,
    };
    let layout = restore_plan::layout_with_tree(&image, nr_ops, tree_len)?;
    let stub_len = STUB.len() as u64;
    // The hole must be free here too. Something mapped since
    // /proc/self/maps was read (a large buffer) may have taken it: then
    // look once more, around everything mapped now.
    let block_len = layout.len + stub_len;
    let mut avoid = own.ranges.clone();
    let mut retried = false;
    let (at, plan) = loop {
        avoid.sort_unstable();
        let at = find_hole(&image, &avoid, block_len, USER_SPACE_END, &mut || Ok(()))
            .map_err(|_| refuse(Reason::NoRoomForRestorer, "no free address range outside the image's memory"))?;
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
    let place = Placement { plan: at, stub: at + layout.len, stub_len, vdso_base: checked.vdso_base };

    let mut ops = ops::teardown(at, at + block_len, USER_SPACE_END).to_vec();
    ops.extend(region_ops);
    restore_plan::write(&image, &layout, &place, &ops, plan)?;
    restore_plan::set_report(plan, &layout, Some(restore_plan::STDERR), format!("ckpt-restore: {path}: ").as_bytes())?;
    restore_plan::set_keep_tids(plan, &layout, keep_tids)?;
    restore_plan::set_creds(plan, &image, &layout, checked.set_creds)?;
    if let Some(t) = &tree {
        restore_plan::write_tree(&layout, plan, &t.me, &t.children, t.nr_objects, &t.ends, &t.regions, &t.own)?;
        // Children run ckpt-restore itself on the image's fd: a tree
        // restores without a binfmt_misc entry.
        let me = std::env::current_exe().map_err(|e| error::internal("/proc/self/exe", e))?;
        restore_plan::set_tree_restorer(plan, &layout, me.as_os_str().as_bytes())?;
    }
    let mm = mm::MmMap::new(&image);
    // Tests take the path of kernels that refuse PR_SET_MM_MAP (no
    // CONFIG_CHECKPOINT_RESTORE, or an LSM) on any machine.
    let skip_mm_map = std::env::var_os("CKPT_RESTORE_NO_MM_MAP").is_some();

    enter::block_all_signals()?;
    // Nothing allocates from here on except an error on its way out:
    // PR_SET_MM_MAP moves the kernel's break under glibc's malloc, and the
    // fallback's break shrink takes glibc's heap and static TLS away.
    // The stub repeats PR_SET_MM_MAP with the program's fd only where
    // the layout is the image's (never on the fallback's break).
    let brk = if !skip_mm_map && mm.apply() {
        restore_plan::set_exe_link(plan, &image, &layout, checked.exe_link)?;
        0
    } else {
        let start_brk = addr::start_brk()?;
        brk::check_fallback(&image, start_brk)?;
        start_brk
    };
    enter::unregister_rseq()?;
    // The files stay open for the memory steps, which close them.
    std::mem::forget(mapped);
    // `loaded` (the image's fd, which the memory steps close) is the
    // caller's: never dropped, as enter returns only on a refusal.
    let entry = enter::Entry { plan: at, stack: at + layout.stack_top, stub: at + layout.len };
    enter::enter(&entry, brk)
}

/// The refusal table both restorers share (restore-policy), one reason a
/// line: its name, the module's errno, ckpt-restore's exit status. The
/// validator's reasons follow, then the plan builder's. A reader that stops
/// early (`| head`) just ends the listing.
fn print_refusal_table() {
    use std::io::Write;
    // The plan's UnsupportedFd is named fd-not-reopenable, a row already.
    let plan = [restore_plan::PlanError::TooLarge, restore_plan::PlanError::NoThreads];
    let rows = REASONS
        .iter()
        .map(|&(name, errno, _, status, _)| (name, errno, status))
        .chain(image_format::FormatError::ALL.iter().map(|&e| Reason::Format(e)).chain(plan.map(Reason::Plan)).map(|r| (r.name(), r.errno(), r.exit_status())));
    let mut out = std::io::stdout().lock();
    for (name, errno, status) in rows {
        let errno = restore_policy::errno::name(errno).unwrap_or("EIO");
        if writeln!(out, "{name} {errno} {status}").is_err() {
            return;
        }
    }
}
