//! Decoding photos safely: format sniffed from the bytes, EXIF orientation applied, and a pixel
//! limit checked from the header before any pixel is decoded (decompression bombs).

use std::io::Cursor;
use std::path::Path;

use image::{DynamicImage, ImageDecoder, ImageReader};

/// File extensions of the formats Ferrite reads (used when scanning folders).
pub const IMAGE_EXTENSIONS: &[&str] = &[
    "jpg", "jpeg", "png", "bmp", "gif", "tif", "tiff", "webp", "pgm", "ppm", "pnm",
];

/// Whether a path's extension is one of [`IMAGE_EXTENSIONS`] (any case).
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()))
}

/// Default limit on decoded pixels (50 megapixels).
pub const DEFAULT_MAX_PIXELS: u64 = 50_000_000;

/// Why an image could not be decoded. Messages are meant for users.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The file could not be read.
    #[error("cannot read the file: {0}")]
    Io(#[from] std::io::Error),
    /// Zero bytes.
    #[error("the file is empty (0 bytes)")]
    Empty,
    /// Not an image format Ferrite reads.
    #[error("not an image Ferrite can read (JPEG, PNG, WebP, BMP, GIF, TIFF, PNM)")]
    UnknownFormat,
    /// A format Ferrite reads, left out of this build (TIFF and WebP without the
    /// `all-formats` feature, as in the browser's private mode).
    #[error("a {0} image: this build of Ferrite reads JPEG, PNG, GIF, BMP and PNM only")]
    FormatNotInBuild(&'static str),
    /// More pixels than allowed.
    #[error("image is {width}x{height} = {pixels} pixels, over the limit of {limit} pixels")]
    TooLarge {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// Width times height.
        pixels: u64,
        /// The limit in force.
        limit: u64,
    },
    /// The header or the pixel data is damaged.
    #[error("corrupt or truncated image: {0}")]
    Corrupt(String),
}

fn corrupt(e: image::ImageError) -> DecodeError {
    match e {
        image::ImageError::Unsupported(_) => DecodeError::UnknownFormat,
        image::ImageError::IoError(io) => DecodeError::Corrupt(io.to_string()),
        other => DecodeError::Corrupt(other.to_string()),
    }
}

/// Decodes an image from memory, rejecting images over `max_pixels`, and turns it upright
/// according to its EXIF orientation.
pub fn decode_image(bytes: &[u8], max_pixels: u64) -> Result<DynamicImage, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError::Empty);
    }
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(DecodeError::Io)?;
    match reader.format() {
        None => return Err(DecodeError::UnknownFormat),
        Some(format @ (image::ImageFormat::Tiff | image::ImageFormat::WebP))
            if !format.reading_enabled() =>
        {
            return Err(DecodeError::FormatNotInBuild(format_name(format)))
        }
        Some(image::ImageFormat::Jpeg) if !jpeg_is_complete(bytes) => {
            return Err(DecodeError::Corrupt(
                "truncated JPEG (no end-of-image marker after the last scan)".into(),
            ))
        }
        Some(_) => {}
    }
    let mut decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    let pixels = width as u64 * height as u64;
    if pixels > max_pixels {
        return Err(DecodeError::TooLarge {
            width,
            height,
            pixels,
            limit: max_pixels,
        });
    }
    if pixels == 0 {
        return Err(DecodeError::Corrupt(format!("image is {width}x{height}")));
    }
    let orientation = decoder.orientation().map_err(corrupt)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
    image.apply_orientation(orientation);
    Ok(image)
}

/// The name of a format `all-formats` adds.
fn format_name(format: image::ImageFormat) -> &'static str {
    if format == image::ImageFormat::Tiff {
        "TIFF"
    } else {
        "WebP"
    }
}

/// Whether a JPEG's last scan is followed by its end-of-image marker. The JPEG decoder fills a
/// cut-off image with gray instead of failing, so truncation is checked here. Markers cannot
/// occur inside entropy-coded data (0xFF is stuffed as 0xFF00), so the last start-of-scan
/// (0xFFDA) belongs to the main image, after any embedded thumbnail.
fn jpeg_is_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    match last_scan {
        Some(start) => bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9]),
        None => false,
    }
}

/// Reads and decodes an image file (see [`decode_image`]).
pub fn decode_file(path: &Path, max_pixels: u64) -> Result<DynamicImage, DecodeError> {
    decode_image(&std::fs::read(path)?, max_pixels)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, ImageFormat, Luma, Rgb};

    fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        image.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    fn sample() -> DynamicImage {
        DynamicImage::ImageRgb8(ImageBuffer::from_fn(40, 30, |x, y| {
            Rgb([(x * 6) as u8, (y * 8) as u8, 90])
        }))
    }

    #[test]
    fn every_supported_format_decodes() {
        for format in [
            ImageFormat::Png,
            ImageFormat::Jpeg,
            ImageFormat::Bmp,
            ImageFormat::Gif,
            ImageFormat::Tiff,
            ImageFormat::WebP,
        ] {
            let decoded = decode_image(&encode(&sample(), format), DEFAULT_MAX_PIXELS)
                .unwrap_or_else(|e| panic!("{format:?}: {e}"));
            assert_eq!((decoded.width(), decoded.height()), (40, 30), "{format:?}");
        }
    }

    #[test]
    fn sixteen_bit_png_decodes() {
        let img =
            DynamicImage::ImageLuma16(ImageBuffer::from_fn(20, 10, |x, _| Luma([x as u16 * 3000])));
        let decoded = decode_image(&encode(&img, ImageFormat::Png), DEFAULT_MAX_PIXELS).unwrap();
        assert_eq!(decoded.color(), image::ColorType::L16);
    }

    #[test]
    fn pixel_limit_is_checked_from_the_header() {
        let bytes = encode(&sample(), ImageFormat::Png);
        match decode_image(&bytes, 1000) {
            Err(DecodeError::TooLarge { pixels: 1200, .. }) => {}
            other => panic!("expected TooLarge, got {other:?}"),
        }
    }

    #[test]
    fn bad_bytes_are_errors_not_panics() {
        assert!(matches!(
            decode_image(&[], DEFAULT_MAX_PIXELS),
            Err(DecodeError::Empty)
        ));
        assert!(matches!(
            decode_image(b"hello, I am text", DEFAULT_MAX_PIXELS),
            Err(DecodeError::UnknownFormat)
        ));
        let jpeg = encode(&sample(), ImageFormat::Jpeg);
        assert!(jpeg_is_complete(&jpeg));
        for cut in [jpeg.len() - 2, jpeg.len() / 2, 200] {
            assert!(
                matches!(
                    decode_image(&jpeg[..cut], DEFAULT_MAX_PIXELS),
                    Err(DecodeError::Corrupt(_))
                ),
                "cut at {cut}"
            );
        }
    }
}
