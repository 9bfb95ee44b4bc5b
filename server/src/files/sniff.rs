//! What a file is, from its first bytes. The uploader's `Content-Type` is
//! never read: a file is served as what its bytes say, and only the image
//! types a browser renders without script are ever shown inline.

/// Bytes of the head that sniffing looks at.
pub const HEAD: usize = 512;

/// The content type of a file whose first bytes are `head`.
pub fn content_type(head: &[u8]) -> &'static str {
    const MAGIC: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"\x1f\x8b", "application/gzip"),
        (b"7z\xbc\xaf\x27\x1c", "application/x-7z-compressed"),
        (b"ID3", "audio/mpeg"),
        (b"OggS", "audio/ogg"),
        (b"\x1a\x45\xdf\xa3", "video/webm"),
    ];
    for (magic, ty) in MAGIC {
        if head.starts_with(magic) {
            return ty;
        }
    }
    if head.len() >= 12 && &head[0..4] == b"RIFF" && &head[8..12] == b"WEBP" {
        return "image/webp";
    }
    if head.len() >= 12 && &head[4..8] == b"ftyp" {
        return "video/mp4";
    }
    if head.contains(&0) {
        return "application/octet-stream";
    }
    // Text: markup first (a browser would render it), then plain text.
    let text = match std::str::from_utf8(head) {
        Ok(t) => t,
        // A head cut inside a multi-byte character is still text.
        Err(e) if e.valid_up_to() + 4 > head.len() => {
            std::str::from_utf8(&head[..e.valid_up_to()]).unwrap_or_default()
        }
        Err(_) => return "application/octet-stream",
    };
    let start = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .to_ascii_lowercase();
    if start.starts_with("<svg") || (start.starts_with("<?xml") && start.contains("<svg")) {
        return "image/svg+xml";
    }
    if [
        "<!doctype html",
        "<html",
        "<head",
        "<body",
        "<script",
        "<iframe",
    ]
    .iter()
    .any(|p| start.starts_with(p))
    {
        return "text/html";
    }
    if start.starts_with("<?xml") {
        return "application/xml";
    }
    "text/plain"
}

/// Image types shown inline (and thumbnailed): raster formats that cannot
/// carry script. SVG is not one of them.
pub fn is_inline_image(content_type: &str) -> bool {
    matches!(
        content_type,
        "image/png" | "image/jpeg" | "image/gif" | "image/webp"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_decide_not_names() {
        assert_eq!(content_type(b"\x89PNG\r\n\x1a\n...."), "image/png");
        assert_eq!(content_type(b"\xff\xd8\xff\xe0"), "image/jpeg");
        assert_eq!(content_type(b"RIFF\0\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(content_type(b"<svg xmlns='x'><script/>"), "image/svg+xml");
        assert_eq!(content_type(b"  <!DOCTYPE html><p>"), "text/html");
        assert_eq!(content_type(b"<?xml version='1.0'?><svg>"), "image/svg+xml");
        assert_eq!(content_type(b"hello, world"), "text/plain");
        assert_eq!(content_type(b"\x00\x01\x02"), "application/octet-stream");
        assert!(!is_inline_image("image/svg+xml"));
        assert!(is_inline_image("image/png"));
    }
}
