//! Takes the metadata out of an image before anyone else downloads it: a phone's photo carries
//! where it was taken (EXIF GPS), the camera, often a name. Done on the bytes, segment by
//! segment, so the picture itself is not re-encoded: JPEG's APP1 (EXIF, XMP), APP13 (IPTC) and
//! comments; PNG's eXIf, text and time chunks; WebP's EXIF and XMP chunks. What the picture
//! needs to show right (JFIF, ICC profiles, Adobe's colour transform) stays. GIF carries no
//! camera metadata and is kept as it is.

use image::ImageFormat;

/// The image without its metadata; `None` when its structure is broken (the caller refuses it).
pub fn strip_metadata(format: ImageFormat, bytes: &[u8]) -> Option<Vec<u8>> {
    match format {
        ImageFormat::Jpeg => jpeg(bytes),
        ImageFormat::Png => png(bytes),
        ImageFormat::WebP => webp(bytes),
        _ => Some(bytes.to_vec()),
    }
}

fn jpeg(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut out = vec![0xFF, 0xD8];
    let mut at = 2;
    loop {
        let marker = *bytes.get(at + 1)?;
        if *bytes.get(at)? != 0xFF {
            return None;
        }
        // Start of scan: the entropy-coded picture and everything after it, as it is.
        if marker == 0xDA || marker == 0xD9 {
            out.extend_from_slice(&bytes[at..]);
            return Some(out);
        }
        if marker == 0xFF {
            at += 1; // fill byte
            continue;
        }
        let length = usize::from(u16::from_be_bytes([*bytes.get(at + 2)?, *bytes.get(at + 3)?]));
        let end = at.checked_add(2 + length).filter(|&end| end <= bytes.len() && length >= 2)?;
        // APP1 (EXIF, XMP), APP13 (IPTC, Photoshop), COM.
        if !matches!(marker, 0xE1 | 0xED | 0xFE) {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
    }
}

const PNG_SIGNATURE: &[u8] = b"\x89PNG\r\n\x1a\n";

fn png(bytes: &[u8]) -> Option<Vec<u8>> {
    if !bytes.starts_with(PNG_SIGNATURE) {
        return None;
    }
    let mut out = PNG_SIGNATURE.to_vec();
    let mut at = PNG_SIGNATURE.len();
    while at < bytes.len() {
        let length = u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = bytes.get(at + 4..at + 8)?;
        let end = at.checked_add(12 + length).filter(|&end| end <= bytes.len())?;
        if !matches!(kind, b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME") {
            out.extend_from_slice(&bytes[at..end]);
        }
        at = end;
        if kind == b"IEND" {
            break;
        }
    }
    Some(out)
}

fn webp(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.get(..4)? != b"RIFF" || bytes.get(8..12)? != b"WEBP" {
        return None;
    }
    let mut body = b"WEBP".to_vec();
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let kind = &bytes[at..at + 4];
        let length = u32::from_le_bytes(bytes[at + 4..at + 8].try_into().ok()?) as usize;
        let end = at.checked_add(8 + length + length % 2)?.min(bytes.len());
        if at + 8 + length > bytes.len() {
            return None;
        }
        match kind {
            b"EXIF" | b"XMP " => {}
            b"VP8X" => {
                let mut chunk = bytes[at..end].to_vec();
                // The extended header's flags say which chunks follow: not these any more.
                if let Some(flags) = chunk.get_mut(8) {
                    *flags &= !(0x08 | 0x04);
                }
                body.extend_from_slice(&chunk);
            }
            _ => body.extend_from_slice(&bytes[at..end]),
        }
        at = end;
    }
    let mut out = b"RIFF".to_vec();
    out.extend_from_slice(&u32::try_from(body.len()).ok()?.to_le_bytes());
    out.extend_from_slice(&body);
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, data: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((data.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn a_jpeg_loses_its_exif_and_comments_and_keeps_its_picture() {
        let mut photo = vec![0xFF, 0xD8];
        photo.extend(segment(0xE0, b"JFIF\0\x01\x01"));
        photo.extend(segment(0xE1, b"Exif\0\0GPS 48.8566N 2.3522E"));
        photo.extend(segment(0xFE, b"taken by ann"));
        photo.extend(segment(0xDB, &[0; 65]));
        photo.extend([0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]);
        let clean = strip_metadata(ImageFormat::Jpeg, &photo).unwrap();
        let text = String::from_utf8_lossy(&clean);
        assert!(!text.contains("GPS") && !text.contains("taken by") && text.contains("JFIF"));
        assert!(clean.ends_with(&[0xFF, 0xDA, 0, 2, 1, 2, 3, 0xFF, 0xD9]));
        assert_eq!(strip_metadata(ImageFormat::Jpeg, &photo[..20]), None, "a cut file is broken");
    }

    #[test]
    fn a_png_loses_its_text_chunks_and_still_decodes() {
        let mut out = std::io::Cursor::new(Vec::new());
        image::RgbImage::new(4, 3).write_to(&mut out, ImageFormat::Png).unwrap();
        let plain = out.into_inner();
        // A tEXt chunk (CRC not checked by the stripper) after the header chunk.
        let mut tagged = plain[..33].to_vec();
        tagged.extend_from_slice(&14u32.to_be_bytes());
        tagged.extend_from_slice(b"tEXtLocation\0Paris");
        tagged.extend_from_slice(&[0, 0, 0, 0]);
        tagged.extend_from_slice(&plain[33..]);
        let clean = strip_metadata(ImageFormat::Png, &tagged).unwrap();
        assert!(!String::from_utf8_lossy(&clean).contains("Location"));
        assert_eq!(clean, plain);
        assert_eq!(image::load_from_memory(&clean).unwrap().width(), 4);
    }

    #[test]
    fn a_webp_loses_its_exif_chunk_and_flag() {
        let mut vp8x = b"VP8X".to_vec();
        vp8x.extend_from_slice(&10u32.to_le_bytes());
        vp8x.extend_from_slice(&[0x08, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        let mut exif = b"EXIF".to_vec();
        exif.extend_from_slice(&3u32.to_le_bytes());
        exif.extend_from_slice(b"GPS\0");
        let mut body = b"WEBP".to_vec();
        body.extend(&vp8x);
        body.extend(&exif);
        let mut file = b"RIFF".to_vec();
        file.extend_from_slice(&(body.len() as u32).to_le_bytes());
        file.extend(body);
        let clean = strip_metadata(ImageFormat::WebP, &file).unwrap();
        assert!(!String::from_utf8_lossy(&clean).contains("GPS"));
        assert_eq!(clean[20] & 0x08, 0, "the EXIF flag is off");
        assert_eq!(u32::from_le_bytes(clean[4..8].try_into().unwrap()) as usize, clean.len() - 8);
    }
}
