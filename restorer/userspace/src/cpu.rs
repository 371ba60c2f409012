//! This CPU's XSAVE state as user space sees it: the enabled features
//! (XCR0) and the size of a standard-format XSAVE area for them, which is
//! what `image_format::check_cpu` compares with the image.

use std::arch::x86_64::{__cpuid, __cpuid_count};

/// (XCR0, XSAVE area size); (3, 512 + 64) without XSAVE (x87 and SSE only).
pub fn xstate() -> (u64, u32) {
    // CPUID.1:ECX.OSXSAVE[bit 27]: the OS enabled XSAVE, so XGETBV is allowed.
    let osxsave = __cpuid(1).ecx & (1 << 27) != 0;
    if !osxsave {
        return (3, 576);
    }
    let xcr0 = xgetbv0();
    // CPUID.(EAX=0xD,ECX=0):EBX: bytes needed for the features enabled in XCR0.
    let size = __cpuid_count(0xd, 0).ebx;
    (xcr0, size)
}

fn xgetbv0() -> u64 {
    let (lo, hi): (u32, u32);
    // SAFETY: XGETBV with ECX=0 reads XCR0; it is valid in user mode because
    // the caller checked CPUID.OSXSAVE. It touches no memory.
    unsafe {
        std::arch::asm!("xgetbv", in("ecx") 0u32, out("eax") lo, out("edx") hi, options(nomem, nostack, preserves_flags));
    }
    (u64::from(hi) << 32) | u64::from(lo)
}
