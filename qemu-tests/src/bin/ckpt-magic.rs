//! Prints the image magic (and nothing else) so guest scenarios can build
//! images that pass the module's first check without hard-coding its bytes.

use std::io::Write;

fn main() {
    std::io::stdout().write_all(&image_format::MAGIC).expect("writing the magic to stdout");
}
