//! `--thumbnail`: what the media pipeline's heaviest steps cost in memory and time, measured in
//! a fresh child process each (so nothing else counts in its peak RSS): the send's attach of a
//! 40-megapixel JPEG just under 10 MB (header check and metadata strip: the send functions
//! run at 128 MB), and the thumbnail function's decode and resize of the same file (its
//! `MemorySize` in template.yaml is chosen from this).

use std::io::Cursor;
use std::time::Instant;

/// The child's work, by flag: `--attach-child <file>` or `--thumbnail-child <file>`.
pub fn child(step: &str, file: &str) {
    let bytes = std::fs::read(file).expect("the bench image");
    let before = peak_rss_mib();
    let started = Instant::now();
    match step {
        "--attach-child" => {
            let checked = im_functions::domain::media::check_image(&bytes).expect("a valid image");
            let clean = im_functions::domain::strip::strip_metadata(checked.format, &bytes).expect("a whole image");
            assert!(clean.len() <= bytes.len());
        }
        _ => {
            let thumb = im_functions::domain::media::thumbnail(&bytes).expect("a thumbnail");
            assert!(!thumb.is_empty());
        }
    }
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    println!("{:.0} {:.0} {ms:.0}", before, peak_rss_mib());
}

/// Makes the image, then runs each step in a child and prints a table row per step.
pub fn measure() {
    let path = im_local::project_root().join("target/bench-40mp.jpg");
    let (w, h) = (8000u32, 5000u32);
    let image = image::RgbImage::from_fn(w, h, |x, y| {
        let noise = (x.wrapping_mul(2654435761) ^ y.wrapping_mul(40503)) >> 27;
        image::Rgb([(x / 32) as u8 ^ noise as u8, (y / 20) as u8, ((x + y) / 52) as u8])
    });
    let mut jpeg = Cursor::new(Vec::new());
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, 85).encode_image(&image).expect("a JPEG");
    drop(image);
    let jpeg = jpeg.into_inner();
    std::fs::write(&path, &jpeg).expect("the bench image written");
    println!("## Images: memory and time of the heaviest steps\n");
    println!("A {w}x{h} JPEG ({:.1} MB, 40 megapixels): each step in a fresh process.\n", jpeg.len() as f64 / 1e6);
    println!("| step | where | peak RSS before | peak RSS after | time |");
    println!("| --- | --- | --- | --- | --- |");
    for (step, what, function) in [
        ("--attach-child", "header check and metadata strip", "the send (128 MB)"),
        ("--thumbnail-child", "decode, resize to 320 px, JPEG", "the thumbnail function"),
    ] {
        let out = std::process::Command::new(std::env::current_exe().expect("the bench binary"))
            .args([step, path.to_str().expect("a UTF-8 path")])
            .output()
            .expect("the child runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let numbers: Vec<&str> = text.split_whitespace().collect();
        match numbers.as_slice() {
            [before, after, ms] => println!("| {what} | {function} | {before} MiB | {after} MiB | {ms} ms |"),
            _ => println!("| {what} | {function} | failed: {} | | |", String::from_utf8_lossy(&out.stderr)),
        }
    }
}

/// This process's peak resident set so far (`VmHWM`), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib =
        status.lines().find_map(|l| l.strip_prefix("VmHWM:")).and_then(|v| v.trim().split(' ').next()?.parse().ok());
    kib.unwrap_or(0.0) / 1024.0
}
