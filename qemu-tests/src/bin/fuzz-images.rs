//! `fuzz-images COUNT SEED OUTDIR IMAGE...`: writes COUNT mutated copies of
//! the given real images (round robin) to OUTDIR/NNNNNN.ckpt, executable,
//! and OUTDIR/index.txt with one line per image saying what was changed.
//! Deterministic: the same SEED and images give the same files.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::process::ExitCode;

use qemu_tests::mutate::{mutate, Rng};

fn run(args: &[String]) -> Result<(), String> {
    let [count, seed, outdir, images @ ..] = args else {
        return Err("usage: fuzz-images COUNT SEED OUTDIR IMAGE...".into());
    };
    let count: usize = count.parse().map_err(|_| format!("bad COUNT {count}"))?;
    let seed: u64 = seed.parse().map_err(|_| format!("bad SEED {seed}"))?;
    if images.is_empty() {
        return Err("no seed image given".into());
    }
    let seeds: Vec<(String, Vec<u8>)> = images
        .iter()
        .map(|p| std::fs::read(p).map(|b| (p.clone(), b)).map_err(|e| format!("{p}: {e}")))
        .collect::<Result<_, _>>()?;
    std::fs::create_dir_all(outdir).map_err(|e| format!("{outdir}: {e}"))?;
    let mut index = std::fs::File::create(format!("{outdir}/index.txt")).map_err(|e| e.to_string())?;
    let mut rng = Rng::new(seed);
    for i in 0..count {
        let (name, bytes) = &seeds[i % seeds.len()];
        let (mutated, what) = mutate(bytes, &mut rng);
        let path = format!("{outdir}/{seed:04}-{i:06}.ckpt");
        std::fs::write(&path, &mutated).map_err(|e| format!("{path}: {e}"))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).map_err(|e| e.to_string())?;
        writeln!(index, "{path} from {name}: {what}").map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fuzz-images: {e}");
            ExitCode::from(2)
        }
    }
}
