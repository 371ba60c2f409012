// SPDX-License-Identifier: GPL-2.0
//! Refusals as the module returns them: the shared policy's reason and
//! errno (restorer/policy's table) as a kernel `Error`, and a reason for
//! the one log line. No `unsafe` here.

use kernel::error::Error;

pub(crate) use crate::policy::{Detail, Reason, Refusal};

pub(crate) type Checked<T> = core::result::Result<T, Refusal>;

/// The errno the caller's execve returns.
pub(crate) fn error_of(r: &Refusal) -> Error {
    Error::from_errno(-r.errno)
}

/// A refusal for `reason` caused by a kernel call that failed with `err`.
pub(crate) fn failed(reason: Reason, err: Error) -> Refusal {
    Refusal::with_errno(reason, err.to_errno().saturating_neg(), Detail::None)
}
