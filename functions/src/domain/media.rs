//! Images, files and videos (issue 26): their keys and stable paths, limits, and what an
//! upload must be. Checked by signature and header, never by the name or type a client gives.
//! Pure; the pipeline is `service::media`.

use super::message::MessageKind;
use super::refusal::Refusal;
use image::ImageFormat;
use std::io::Cursor;

pub const MAX_IMAGE_BYTES: u64 = 10 * 1024 * 1024;
/// Forty megapixels: a phone camera's largest, and a bound on what decoding one costs.
pub const MAX_IMAGE_PIXELS: u64 = 40_000_000;
pub const MAX_FILE_BYTES: u64 = 25 * 1024 * 1024;
pub const MAX_VIDEO_BYTES: u64 = 50 * 1024 * 1024;
/// A thumbnail's long side, at most.
pub const THUMB_EDGE: u32 = 320;

/// The attachment kinds of the media pipeline (audio keeps its own, older rules).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Media {
    Image,
    File,
    Video,
}

impl Media {
    pub fn parse(kind: &str) -> Result<Media, Refusal> {
        match kind {
            "image" => Ok(Media::Image),
            "file" => Ok(Media::File),
            "video" => Ok(Media::Video),
            _ => Err(Refusal::invalid("kind must be image, file or video")),
        }
    }

    pub fn of(kind: MessageKind) -> Option<Media> {
        match kind {
            MessageKind::Image => Some(Media::Image),
            MessageKind::File => Some(Media::File),
            MessageKind::Video => Some(Media::Video),
            MessageKind::Text | MessageKind::Audio => None,
        }
    }

    pub fn max_bytes(self) -> u64 {
        match self {
            Media::Image => MAX_IMAGE_BYTES,
            Media::File => MAX_FILE_BYTES,
            Media::Video => MAX_VIDEO_BYTES,
        }
    }

    /// Where its objects live, and the path segment that serves them (`file/<prefix>/<name>`).
    pub fn prefix(self) -> &'static str {
        match self {
            Media::Image => "image",
            Media::File => "media",
            Media::Video => "video",
        }
    }

    /// The `Content-Type` an upload of this kind declares (and its presigned POST requires):
    /// an image's own type, a video's (MP4 by default), anything for a file.
    pub fn content_type(self, declared: Option<&str>) -> Result<String, Refusal> {
        let declared = declared.map(str::trim).filter(|t| !t.is_empty()).map(str::to_ascii_lowercase);
        let allowed: &[&str] = match self {
            Media::Image => &["image/jpeg", "image/png", "image/webp", "image/gif"],
            Media::Video => &["video/mp4", "video/quicktime"],
            Media::File => {
                return match declared {
                    None => Ok("application/octet-stream".into()),
                    Some(t) if is_media_type(&t) => Ok(t),
                    Some(_) => Err(Refusal::invalid("type must be a media type like application/pdf")),
                };
            }
        };
        match declared.as_deref() {
            None if self == Media::Video => Ok("video/mp4".into()),
            Some(t) if allowed.contains(&t) => Ok(t.to_string()),
            _ => Err(Refusal::invalid(format!("type must be one of {}", allowed.join(", ")))),
        }
    }
}

/// `type/subtype`, each a token.
fn is_media_type(text: &str) -> bool {
    let token = |part: &str| {
        !part.is_empty()
            && part.len() <= 64
            && part.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$&^_.+-".contains(&b))
    };
    text.split_once('/').is_some_and(|(kind, sub)| token(kind) && token(sub))
}

/// A fresh, unguessable key for an upload of `media` (128 random bits): `image/<32 hex>`.
pub fn new_key(media: Media) -> String {
    use rand::Rng;
    format!("{}/{:032x}", media.prefix(), rand::thread_rng().gen::<u128>())
}

/// Whether `key` is a key [`new_key`] makes for `media`.
pub fn is_key(media: Media, key: &str) -> bool {
    key.strip_prefix(media.prefix())
        .and_then(|rest| rest.strip_prefix('/'))
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|c| c.is_ascii_hexdigit()))
}

/// An image's thumbnail object: `media/<32 hex>.jpg` beside the files.
pub fn thumb_key(image_key: &str) -> String {
    format!("media/{}.jpg", image_key.strip_prefix("image/").unwrap_or(image_key))
}

/// The image a thumbnail object belongs to.
pub fn image_of_thumb(thumb: &str) -> Option<String> {
    let hex = thumb.strip_prefix("media/")?.strip_suffix(".jpg")?;
    let key = format!("image/{hex}");
    is_key(Media::Image, &key).then_some(key)
}

/// An image as it was checked: its format and size in pixels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Checked {
    pub format: ImageFormat,
    pub w: u32,
    pub h: u32,
}

/// Checks an image by its signature (JPEG, PNG, WebP or GIF) and its header's dimensions (at
/// most [`MAX_IMAGE_PIXELS`]), without decoding its pixels.
pub fn check_image(bytes: &[u8]) -> Result<Checked, Refusal> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif)) => f,
        _ => return Err(Refusal::UnsupportedMedia("an image must be JPEG, PNG, WebP or GIF".into())),
    };
    let reader = image::ImageReader::with_format(Cursor::new(bytes), format);
    let (w, h) = reader.into_dimensions().map_err(|_| Refusal::UnsupportedMedia("not a readable image".into()))?;
    if w == 0 || h == 0 {
        return Err(Refusal::UnsupportedMedia("an image without pixels".into()));
    }
    if u64::from(w) * u64::from(h) > MAX_IMAGE_PIXELS {
        return Err(Refusal::TooLarge(format!("an image has at most {MAX_IMAGE_PIXELS} pixels")));
    }
    Ok(Checked { format, w, h })
}

/// Whether a video's first bytes are an ISO media file's (`ftyp` box: MP4, QuickTime).
pub fn is_video(head: &[u8]) -> bool {
    head.get(4..8) == Some(b"ftyp")
}

/// The first bytes [`is_video`] reads.
pub const VIDEO_SIGNATURE_BYTES: usize = 12;

/// A JPEG thumbnail of an image, its long side at most [`THUMB_EDGE`]. Decoding is bounded by
/// the same pixel limit the attach checked.
pub fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    jpeg(&decode(bytes)?.thumbnail(THUMB_EDGE, THUMB_EDGE).into_rgb8(), 80)
}

/// The longest side of an avatar.
pub const AVATAR_EDGE: u32 = 512;

/// A profile picture from an image: its centre square, at most [`AVATAR_EDGE`] pixels a side,
/// as a JPEG (re-encoded from pixels, so nothing of the upload's metadata survives).
pub fn avatar(bytes: &[u8]) -> Result<Vec<u8>, Refusal> {
    let image = decode(bytes)?;
    let side = image.width().min(image.height());
    let square = image.crop_imm((image.width() - side) / 2, (image.height() - side) / 2, side, side);
    let edge = side.min(AVATAR_EDGE);
    let small = square.resize_exact(edge, edge, image::imageops::FilterType::Triangle).into_rgb8();
    jpeg(&small, 85)
}

fn decode(bytes: &[u8]) -> Result<image::DynamicImage, Refusal> {
    let unreadable = |_| Refusal::UnsupportedMedia("not a readable image".into());
    let mut reader = image::ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(unreadable)?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_IMAGE_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    reader.decode().map_err(|_| Refusal::UnsupportedMedia("not a decodable image".into()))
}

fn jpeg(pixels: &image::RgbImage, quality: u8) -> Result<Vec<u8>, Refusal> {
    let mut out = Cursor::new(Vec::new());
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality);
    pixels.write_with_encoder(encoder).map_err(|_| Refusal::invalid("the image could not be encoded"))?;
    Ok(out.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(w: u32, h: u32) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image::RgbImage::from_fn(w, h, |x, y| image::Rgb([x as u8, y as u8, 7]))
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn an_avatar_is_the_centre_square_at_most_512_pixels_as_jpeg() {
        let made = avatar(&png(1200, 700)).unwrap();
        let checked = check_image(&made).unwrap();
        assert_eq!((checked.format, checked.w, checked.h), (ImageFormat::Jpeg, 512, 512));
        let small = check_image(&avatar(&png(90, 300)).unwrap()).unwrap();
        assert_eq!((small.w, small.h), (90, 90), "never enlarged");
        assert!(avatar(b"GIF89a not really").is_err());
    }

    #[test]
    fn images_are_checked_by_signature_and_header() {
        let checked = check_image(&png(200, 100)).unwrap();
        assert_eq!((checked.format, checked.w, checked.h), (ImageFormat::Png, 200, 100));
        assert_eq!(check_image(b"GIF89a garbage").unwrap_err().status(), 415);
        assert_eq!(check_image(b"%PDF-1.7").unwrap_err().status(), 415);
        // A PNG header claiming 10000 x 10000 pixels is refused before anything is decoded.
        let mut huge = png(1, 1);
        huge[16..20].copy_from_slice(&10_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&10_000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]);
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        assert_eq!(check_image(&huge).unwrap_err().status(), 413);
    }

    /// PNG's chunk checksum (CRC-32, ISO 3309), for a header the test rewrites.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 { (crc >> 1) ^ 0xEDB8_8320 } else { crc >> 1 };
            }
        }
        !crc
    }

    #[test]
    fn thumbnails_are_jpegs_within_the_edge() {
        let thumb = thumbnail(&png(2000, 1000)).unwrap();
        let checked = image::load_from_memory(&thumb).unwrap();
        assert_eq!(image::guess_format(&thumb).unwrap(), ImageFormat::Jpeg);
        assert_eq!((checked.width(), checked.height()), (320, 160));
    }

    #[test]
    fn keys_types_and_videos() {
        let key = new_key(Media::Image);
        assert!(is_key(Media::Image, &key) && !is_key(Media::File, &key));
        assert_eq!(image_of_thumb(&thumb_key(&key)), Some(key));
        assert_eq!(image_of_thumb("media/../x.jpg"), None);
        assert_eq!(Media::Image.content_type(Some("image/PNG")).unwrap(), "image/png");
        assert!(Media::Image.content_type(Some("text/html")).is_err() && Media::Image.content_type(None).is_err());
        assert_eq!(Media::File.content_type(None).unwrap(), "application/octet-stream");
        assert!(Media::File.content_type(Some("text/html\r\nX: y")).is_err());
        assert!(is_video(b"\0\0\0\x18ftypmp42") && !is_video(b"RIFF....AVI "));
    }
}
