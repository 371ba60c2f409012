// SPDX-License-Identifier: GPL-2.0
//! Why an image is not restored: the errno the caller gets and a stable,
//! lowercase reason for the one log line. No `unsafe` here.

use kernel::error::Error;
use kernel::prelude::*;

use crate::image_format::FormatError;
use crate::plan::PlanError;

/// A refusal before the point of no return.
pub(crate) struct Refusal {
    pub(crate) errno: Error,
    pub(crate) reason: &'static str,
}

pub(crate) type Checked<T> = core::result::Result<T, Refusal>;

pub(crate) fn refuse(errno: Error, reason: &'static str) -> Refusal {
    Refusal { errno, reason }
}

/// The kernel crate of 6.12 names no EOPNOTSUPP constant.
pub(crate) fn eopnotsupp() -> Error {
    Error::from_errno(-(kernel::bindings::EOPNOTSUPP as i32))
}

/// The kernel crate of 6.12 names no ESTALE constant.
pub(crate) fn estale() -> Error {
    Error::from_errno(-(kernel::bindings::ESTALE as i32))
}

impl From<FormatError> for Refusal {
    fn from(err: FormatError) -> Self {
        refuse(EINVAL, err.name())
    }
}

impl From<PlanError> for Refusal {
    fn from(err: PlanError) -> Self {
        let errno = match err {
            PlanError::TooLarge => ENOMEM,
            PlanError::UnsupportedFd => eopnotsupp(),
            _ => EINVAL,
        };
        refuse(errno, err.name())
    }
}

/// An open(2)-style failure, named for what was being opened: `what` is a
/// triple of reasons for a missing file, a permission problem, and anything
/// else.
pub(crate) fn open_failure(err: Error, what: (&'static str, &'static str, &'static str)) -> Refusal {
    let code = err.to_errno();
    if code == ENOENT.to_errno() || code == ENOTDIR.to_errno() {
        refuse(err, what.0)
    } else if code == EACCES.to_errno() || code == EPERM.to_errno() {
        refuse(err, what.1)
    } else {
        refuse(err, what.2)
    }
}
