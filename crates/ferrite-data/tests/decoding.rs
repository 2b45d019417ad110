//! Decode paths on images made in code: EXIF orientation, CMYK, 16-bit, animated GIF, and the
//! errors for bad bytes.

use std::io::Cursor;

use ferrite_data::{decode_image, DecodeError, DEFAULT_MAX_PIXELS};
use image::{DynamicImage, ImageBuffer, ImageFormat, Rgb, Rgba};

fn encode(image: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    image.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// A JPEG whose EXIF says "rotate 90 degrees clockwise to display" (orientation 6).
fn jpeg_with_orientation(image: &DynamicImage, orientation: u16) -> Vec<u8> {
    let jpeg = encode(image, ImageFormat::Jpeg);
    // TIFF header (little endian), one IFD entry: Orientation (0x0112), SHORT, count 1.
    let mut tiff = b"II*\0\x08\0\0\0\x01\0".to_vec();
    tiff.extend_from_slice(&0x0112u16.to_le_bytes());
    tiff.extend_from_slice(&3u16.to_le_bytes());
    tiff.extend_from_slice(&1u32.to_le_bytes());
    tiff.extend_from_slice(&orientation.to_le_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec(); // SOI
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&((app1.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Left half dark, right half light, 60x30.
fn halves() -> DynamicImage {
    DynamicImage::ImageRgb8(ImageBuffer::from_fn(60, 30, |x, _| {
        if x < 30 {
            Rgb([20, 20, 20])
        } else {
            Rgb([230, 230, 230])
        }
    }))
}

#[test]
fn exif_orientation_is_applied() {
    let decoded = decode_image(&jpeg_with_orientation(&halves(), 6), DEFAULT_MAX_PIXELS).unwrap();
    // Rotated 90 degrees clockwise: 30 wide, 60 high, the dark half now on top.
    assert_eq!((decoded.width(), decoded.height()), (30, 60));
    let gray = decoded.to_luma8();
    assert!(gray.get_pixel(15, 5).0[0] < 80, "top should be dark");
    assert!(gray.get_pixel(15, 55).0[0] > 170, "bottom should be light");
}

#[test]
fn cmyk_tiff_is_converted() {
    let (w, h) = (16u32, 8u32);
    // Pure cyan on the left, white (no ink) on the right.
    let mut cmyk = Vec::new();
    for _ in 0..h {
        for x in 0..w {
            cmyk.extend_from_slice(if x < w / 2 {
                &[255, 0, 0, 0]
            } else {
                &[0, 0, 0, 0]
            });
        }
    }
    let mut bytes = Cursor::new(Vec::new());
    tiff::encoder::TiffEncoder::new(&mut bytes)
        .unwrap()
        .write_image::<tiff::encoder::colortype::CMYK8>(w, h, &cmyk)
        .unwrap();
    let decoded = decode_image(bytes.get_ref(), DEFAULT_MAX_PIXELS).unwrap();
    let rgb = decoded.to_rgb8();
    let left = rgb.get_pixel(2, 2).0;
    let right = rgb.get_pixel(w - 2, 2).0;
    assert!(
        left[0] < 60 && left[1] > 200 && left[2] > 200,
        "cyan, got {left:?}"
    );
    assert!(right.iter().all(|&c| c > 240), "white, got {right:?}");
}

#[test]
fn sixteen_bit_rgba_png_decodes() {
    let img = DynamicImage::ImageRgba16(ImageBuffer::from_fn(10, 10, |x, _| {
        Rgba([x as u16 * 6000, 0, 0, 65535])
    }));
    let decoded = decode_image(&encode(&img, ImageFormat::Png), DEFAULT_MAX_PIXELS).unwrap();
    assert_eq!((decoded.width(), decoded.height()), (10, 10));
    assert!(decoded.to_luma8().get_pixel(9, 0).0[0] > decoded.to_luma8().get_pixel(0, 0).0[0]);
}

#[test]
fn animated_gif_gives_its_first_frame() {
    use image::codecs::gif::GifEncoder;
    use image::Frame;
    let frame = |v: u8| Frame::new(ImageBuffer::from_pixel(12, 12, Rgba([v, v, v, 255])));
    let mut bytes = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut bytes);
        enc.encode_frames([frame(10), frame(240)]).unwrap();
    }
    let decoded = decode_image(&bytes, DEFAULT_MAX_PIXELS).unwrap();
    assert!(decoded.to_luma8().get_pixel(5, 5).0[0] < 40);
}

#[test]
fn truncated_and_fake_files_are_errors() {
    let png = encode(&halves(), ImageFormat::Png);
    let err = decode_image(&png[..png.len() / 2], DEFAULT_MAX_PIXELS).unwrap_err();
    assert!(matches!(err, DecodeError::Corrupt(_)), "{err:?}");
    let err = decode_image(b"<html>not an image</html>", DEFAULT_MAX_PIXELS).unwrap_err();
    assert!(err.to_string().contains("not an image"), "{err}");
}
