//! Image dimensions and thumbnails, made by the server from the stored
//! bytes (the `image` crate), with the decoded size bounded first so that
//! a small file declaring a huge picture (a decompression bomb) is refused
//! before anything is allocated for it.

use std::io::Cursor;
use std::path::Path;

/// Most pixels an image may declare: 40 megapixels (a 50 MP camera's photo
/// is refused; a 7,000 × 5,000 one is not). Decoded as RGBA that is 160 MB
/// at most for the one decode in flight per upload.
pub const MAX_PIXELS: u64 = 40_000_000;

/// Longest side any image may declare: stops a 1 × 40,000,000 strip too.
const MAX_SIDE: u32 = 20_000;

/// What a thumbnail fits in (CSS pixels; 2× for sharp screens would double
/// the bytes for little gain in a chat line).
pub const THUMB_SIDE: u32 = 320;

/// Decoder memory ceiling, above the largest allowed image's RGBA buffer.
const MAX_ALLOC: u64 = MAX_PIXELS * 4 + 64 * 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ThumbError {
    #[error("the image declares {width} × {height} pixels; at most {MAX_PIXELS} are accepted")]
    TooManyPixels { width: u32, height: u32 },
    #[error("the image cannot be read: {0}")]
    Unreadable(String),
}

/// An image's size and its thumbnail (PNG bytes).
pub struct Thumbnail {
    pub width: u32,
    pub height: u32,
    pub png: Vec<u8>,
}

fn limits() -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(MAX_ALLOC);
    l
}

/// Read the image at `path` (blocking: call off the async threads). The
/// declared size is checked before decoding.
pub fn make(path: &Path) -> Result<Thumbnail, ThumbError> {
    let unreadable = |e: &dyn std::fmt::Display| ThumbError::Unreadable(e.to_string());
    let open = || -> Result<image::ImageReader<_>, ThumbError> {
        let mut r = image::ImageReader::open(path)
            .map_err(|e| unreadable(&e))?
            .with_guessed_format()
            .map_err(|e| unreadable(&e))?;
        r.limits(limits());
        Ok(r)
    };
    let (width, height) = match open()?.into_dimensions() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => {
            return Err(ThumbError::TooManyPixels {
                width: u32::MAX,
                height: u32::MAX,
            });
        }
        Err(e) => return Err(unreadable(&e)),
    };
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ThumbError::TooManyPixels { width, height });
    }
    let image = match open()?.decode() {
        Ok(i) => i,
        Err(image::ImageError::Limits(_)) => {
            return Err(ThumbError::TooManyPixels { width, height });
        }
        Err(e) => return Err(unreadable(&e)),
    };
    let small = image.thumbnail(THUMB_SIDE, THUMB_SIDE);
    let mut png = Vec::new();
    small
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| unreadable(&e))?;
    Ok(Thumbnail { width, height, png })
}
