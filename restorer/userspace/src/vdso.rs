//! The vdso must be this kernel's, byte for byte, laid out as here
//! ([vvar], [vvar_vclock] on 6.13+, then [vdso]): restored code may hold
//! pointers into it. The stub maps a fresh one at the image's address with
//! arch_prctl(ARCH_MAP_VDSO_64), which maps the same layout as here.

use std::fs::File;
use std::io::IoSliceMut;
use std::os::unix::fs::FileExt;

use nix::sys::uio::{process_vm_readv, RemoteIoVec};
use nix::unistd::Pid;

use image_format::{Image, RegionKind};

use crate::addr::VdsoHere;
use crate::error::{exit, internal, refuse, Checked};

fn differs(what: &str) -> crate::error::Refusal {
    refuse(exit::INCOMPATIBLE, "vdso-layout-differs", what.to_string())
}

fn len(r: Option<(u64, u64)>) -> Option<u64> {
    r.map(|(s, e)| e - s)
}

/// Returns where the stub maps the vdso (the start of the image's [vvar]),
/// or 0 if the image has none.
pub fn check(image: &Image<'_>, image_file: &File, here: &VdsoHere) -> Checked<u64> {
    let find = |k: RegionKind| image.regions().find(|r| r.kind == k);
    let Some(vdso) = find(RegionKind::Vdso) else {
        return Ok(0);
    };
    let (Some(here_vdso), Some(_)) = (here.vdso, here.vvar) else {
        return Err(refuse(exit::INCOMPATIBLE, "caller-has-no-vdso", ""));
    };
    let vvar = find(RegionKind::Vvar).ok_or_else(|| differs("the image has a [vdso] but no [vvar]"))?;
    let clock = find(RegionKind::VvarVclock);
    let sizes_same = Some(vdso.end - vdso.start) == len(here.vdso)
        && Some(vvar.end - vvar.start) == len(here.vvar)
        && clock.map(|c| c.end - c.start) == len(here.vvar_vclock);
    if !sizes_same {
        return Err(differs("[vvar]/[vvar_vclock]/[vdso] sizes"));
    }
    // Contiguous in the image as arch_prctl maps them here.
    let contiguous = match clock {
        Some(c) => vvar.end == c.start && c.end == vdso.start,
        None => vvar.end == vdso.start,
    };
    if !contiguous {
        return Err(differs("[vvar], [vvar_vclock] and [vdso] are not adjacent"));
    }
    let mut runs = image.page_runs(&vdso);
    let whole = match (runs.next(), runs.next()) {
        (Some(run), None) if run.page_index == 0 && run.page_count == vdso.pages() => run,
        _ => return Err(refuse(exit::INCOMPATIBLE, "vdso-not-stored", "")),
    };
    let n = (vdso.end - vdso.start) as usize;
    let mut stored = vec![0u8; n];
    image_file.read_exact_at(&mut stored, whole.file_offset).map_err(|e| internal("image-read-error", e))?;
    // process_vm_readv reads our own vdso without an unsafe slice; not
    // /proc/self/mem, which a process that is not dumpable (restoring an
    // image its caller cannot read: the kernel's would_dump) may not open.
    let mut live = vec![0u8; n];
    let remote = [RemoteIoVec { base: here_vdso.0 as usize, len: n }];
    let got = process_vm_readv(Pid::this(), &mut [IoSliceMut::new(&mut live)], &remote)
        .map_err(|e| internal("caller-vdso-unreadable", e))?;
    if got != n {
        return Err(internal("caller-vdso-unreadable", format!("{got} of {n} bytes")));
    }
    if stored != live {
        return Err(refuse(exit::INCOMPATIBLE, "vdso-differs-from-this-kernel", ""));
    }
    Ok(vvar.start)
}
