//! Fuzz findings in a guest console: the images the fuzz_kmod scenario
//! printed (base64, between markers) after one of them made the kernel
//! report a problem. Pure: console text in, named images out.

/// One image the guest printed as a finding: its file name, bytes, and
/// what the guest said about it (the mutation, the kernel's complaint,
/// the threads of a process that would not die), so that a CI log that
/// keeps only the test's message still says what went wrong.
#[derive(Debug, PartialEq, Eq)]
pub struct Finding {
    pub name: String,
    pub image: Vec<u8>,
    pub report: String,
}

fn sextet(c: u8) -> Option<u32> {
    Some(match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' => 62,
        b'/' => 63,
        _ => return None,
    } as u32)
}

/// Decodes base64 text as busybox `base64` prints it (padded, wrapped);
/// None if it is not base64.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let chars: Vec<u8> = text.bytes().filter(|c| !c.is_ascii_whitespace()).collect();
    if chars.len() % 4 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(chars.len() / 4 * 3);
    for quad in chars.chunks(4) {
        let pad = quad.iter().rev().take_while(|&&c| c == b'=').count();
        if pad > 2 {
            return None;
        }
        let mut v = 0u32;
        for &c in &quad[..4 - pad] {
            v = v << 6 | sextet(c)?;
        }
        v <<= 6 * pad as u32;
        out.extend_from_slice(&v.to_be_bytes()[1..4 - pad]);
    }
    Some(out)
}

/// Every finding in `console` (kernel log lines interleaved with the
/// base64 are skipped: they start with '['). Its report is every line
/// from its "=== FUZZ FINDING" line to its image.
pub fn findings(console: &str) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut current: Option<(String, String)> = None;
    let mut report: Option<String> = None;
    for line in console.lines() {
        if line.starts_with("=== FUZZ FINDING ") {
            report = Some(String::new());
        }
        if let Some(name) = line.strip_prefix("=== FUZZ IMAGE BEGIN ") {
            current = Some((name.trim().to_string(), String::new()));
        } else if line.starts_with("=== FUZZ IMAGE END") {
            if let Some((name, text)) = current.take() {
                if let Some(image) = decode_base64(&text) {
                    out.push(Finding { name, image, report: report.take().unwrap_or_default() });
                }
            }
        } else if let (None, Some(r)) = (&current, report.as_mut()) {
            r.push_str(line);
            r.push('\n');
        } else if let Some((_, text)) = current.as_mut() {
            if !line.starts_with('[') {
                text.push_str(line.trim());
            }
        }
    }
    out
}

/// Saves each finding as `dir/NAME` (a reproducer for fuzz_regressions).
pub fn save(found: &[Finding], dir: &std::path::Path) -> std::io::Result<Vec<std::path::PathBuf>> {
    std::fs::create_dir_all(dir)?;
    found
        .iter()
        .map(|f| {
            let path = dir.join(&f.name);
            std::fs::write(&path, &f.image).map(|()| path)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_as_busybox_prints_it() {
        assert_eq!(decode_base64("aGVsbG8gd29ybGQ=").unwrap(), b"hello world");
        assert_eq!(decode_base64("YQ==\n").unwrap(), b"a");
        assert_eq!(decode_base64("YWJj").unwrap(), b"abc");
        assert_eq!(decode_base64("YW=c"), None);
        assert_eq!(decode_base64("abc"), None);
        let all: Vec<u8> = (0..=255).collect();
        // base64 of 0..=255 as coreutils prints it, wrapped at 76.
        let text = std::process::Command::new("base64").arg("-w").arg("76").stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).spawn().and_then(|mut c| {
            use std::io::Write;
            c.stdin.take().unwrap().write_all(&all)?;
            c.wait_with_output()
        });
        if let Ok(out) = text {
            assert_eq!(decode_base64(&String::from_utf8(out.stdout).unwrap()).unwrap(), all);
        }
    }

    #[test]
    fn findings_are_cut_out_of_the_console_between_kernel_lines() {
        let console = "noise\n=== FUZZ FINDING 0001-000007.ckpt: x\n[  1.0] WARNING: at foo\n=== FUZZ IMAGE BEGIN 0001-000007.ckpt\naGVs\n[  1.1] kernel line\nbG8=\n=== FUZZ IMAGE END\nmore\n";
        let f = findings(console);
        let report = "=== FUZZ FINDING 0001-000007.ckpt: x\n[  1.0] WARNING: at foo\n".to_string();
        assert_eq!(f, vec![Finding { name: "0001-000007.ckpt".into(), image: b"hello".to_vec(), report }]);
        assert!(findings("=== FUZZ IMAGE BEGIN x\nabc").is_empty(), "an unterminated image is not a finding");
    }
}
