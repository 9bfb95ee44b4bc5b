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

/// Decode the image `open` reads, checking its declared size first (a
/// decompression bomb is refused before anything is allocated for it).
/// `open` is called twice: once for the header, once to decode.
fn decode_bounded<R: std::io::BufRead + std::io::Seek>(
    open: impl Fn() -> Result<image::ImageReader<R>, ThumbError>,
) -> Result<(u32, u32, image::DynamicImage), ThumbError> {
    let unreadable = |e: &dyn std::fmt::Display| ThumbError::Unreadable(e.to_string());
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
    match open()?.decode() {
        Ok(i) => Ok((width, height, i)),
        Err(image::ImageError::Limits(_)) => Err(ThumbError::TooManyPixels { width, height }),
        Err(e) => Err(unreadable(&e)),
    }
}

fn encode_png(image: &image::DynamicImage) -> Result<Vec<u8>, ThumbError> {
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| ThumbError::Unreadable(e.to_string()))?;
    Ok(png)
}

/// Read the image at `path` (blocking: call off the async threads). The
/// declared size is checked before decoding.
pub fn make(path: &Path) -> Result<Thumbnail, ThumbError> {
    let unreadable = |e: &dyn std::fmt::Display| ThumbError::Unreadable(e.to_string());
    let (width, height, image) = decode_bounded(|| {
        let mut r = image::ImageReader::open(path)
            .map_err(|e| unreadable(&e))?
            .with_guessed_format()
            .map_err(|e| unreadable(&e))?;
        r.limits(limits());
        Ok(r)
    })?;
    let small = image.thumbnail(THUMB_SIDE, THUMB_SIDE);
    let png = encode_png(&small)?;
    Ok(Thumbnail { width, height, png })
}

/// A profile picture from an uploaded image held in memory (blocking: call
/// off the async threads): decoded under the same bounds as a thumbnail,
/// centre-cropped to a square, scaled to `side` × `side` and re-encoded as
/// PNG. Nothing of the uploaded bytes but their pixels survives (no
/// metadata, no second image, no trailing data).
pub fn square_png(bytes: &[u8], side: u32) -> Result<Vec<u8>, ThumbError> {
    let unreadable = |e: &dyn std::fmt::Display| ThumbError::Unreadable(e.to_string());
    let (width, height, image) = decode_bounded(|| {
        let mut r = image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|e| unreadable(&e))?;
        r.limits(limits());
        Ok(r)
    })?;
    let edge = width.min(height);
    if edge == 0 {
        return Err(ThumbError::Unreadable("the image has no pixels".into()));
    }
    let square = image.crop_imm((width - edge) / 2, (height - edge) / 2, edge, edge);
    let small = square.resize_exact(side, side, image::imageops::FilterType::Triangle);
    encode_png(&image::DynamicImage::ImageRgba8(small.to_rgba8()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_of(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, _| image::Rgb([(x % 256) as u8, 10, 200]));
        encode_png(&image::DynamicImage::ImageRgb8(img)).unwrap_or_default()
    }

    #[test]
    fn a_wide_image_becomes_a_small_square_png() {
        let png = square_png(&png_of(300, 100), 128).expect("decodes");
        let back = image::load_from_memory(&png).expect("a PNG");
        assert_eq!((back.width(), back.height()), (128, 128));
        assert!(png.starts_with(b"\x89PNG"));
    }

    #[test]
    fn garbage_is_unreadable() {
        assert!(matches!(
            square_png(b"\x89PNG\r\n\x1a\nnot really", 128),
            Err(ThumbError::Unreadable(_))
        ));
    }
}
