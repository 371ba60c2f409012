//! std-only trait impls for the v1 error type (kept out of v1 so the
//! kernel build never pulls in formatting machinery).

use std::fmt;

use crate::v1::FormatError;

impl fmt::Display for FormatError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::error::Error for FormatError {}
