// SPDX-License-Identifier: GPL-2.0
//! Open file descriptions the stub creates that the caller might not be
//! allowed to create (decided here, before the point of no return): a pipe
//! larger than pipe-max-size, a timerfd on an alarm clock.

use super::fmt::{FileKind, Image};
use super::host::FdLimits;
use super::reason::{Detail, Reason, Refusal};

/// The size every pipe starts with: no F_SETPIPE_SZ needed.
const DEFAULT_PIPE_SIZE: u64 = 65_536;
/// CLOCK_REALTIME_ALARM and CLOCK_BOOTTIME_ALARM.
const ALARM_CLOCKS: [u64; 2] = [8, 9];

/// Whether the caller may create the descriptions of `image` (`index` of
/// the first refused one is in the detail as its FILES index).
pub fn check_fd_kinds(image: &Image<'_>, limits: &FdLimits, yield_now: &mut dyn FnMut() -> Result<(), Refusal>) -> Result<(), Refusal> {
    for f in image.files() {
        yield_now()?;
        match f.kind {
            FileKind::Pipe if f.value0 > DEFAULT_PIPE_SIZE && f.value0 > limits.pipe_max_size && !limits.exceed_pipe_max => {
                return Err(Refusal::new(Reason::PipeTooLarge, Detail::Limit { need: f.value0, limit: limits.pipe_max_size }));
            }
            FileKind::TimerFd if ALARM_CLOCKS.contains(&f.value0) && !limits.wake_alarm => {
                return Err(Reason::TimerNeedsWakeAlarm.into());
            }
            _ => {}
        }
    }
    Ok(())
}
