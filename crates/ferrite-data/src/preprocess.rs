//! The single preprocessing path: any image to a 48x48 grayscale face, and that face to the
//! model's input scale. Training, evaluation and inference all go through these functions.

use image::{imageops::FilterType, DynamicImage, GrayImage};

/// Side of the square face the model reads.
pub const FACE_SIZE: usize = 48;
/// Number of pixels of a face.
pub const FACE_PIXELS: usize = FACE_SIZE * FACE_SIZE;

/// Converts any decoded image (colour or gray, 8 or 16 bit, any size) to a 48x48 8-bit
/// grayscale face, row-major. Images already 48x48 gray are copied unchanged.
pub fn face_from_image(image: &DynamicImage) -> Vec<u8> {
    let gray: GrayImage = image.to_luma8();
    if gray.width() as usize == FACE_SIZE && gray.height() as usize == FACE_SIZE {
        return gray.into_raw();
    }
    let side = FACE_SIZE as u32;
    // Triangle (bilinear) after an area-averaging pre-shrink keeps downscaled faces smooth.
    let filter = if gray.width() > 2 * side || gray.height() > 2 * side {
        FilterType::CatmullRom
    } else {
        FilterType::Triangle
    };
    image::imageops::resize(&gray, side, side, filter).into_raw()
}

/// Scales a face's 8-bit pixels to the model's input range `[0, 1]` (the report's rescale 1/255).
pub fn face_to_input(face: &[u8], out: &mut [f32]) {
    debug_assert_eq!(face.len(), out.len());
    for (o, &p) in out.iter_mut().zip(face) {
        *o = p as f32 * (1.0 / 255.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Luma, Rgb};

    #[test]
    fn gray_48_is_kept_exactly() {
        let img = ImageBuffer::from_fn(48, 48, |x, y| Luma([(x * 5 + y) as u8]));
        let face = face_from_image(&DynamicImage::ImageLuma8(img.clone()));
        assert_eq!(face, img.into_raw());
    }

    #[test]
    fn colour_and_large_images_become_48x48_gray() {
        let img = ImageBuffer::from_fn(200, 100, |x, _| Rgb([x as u8, 0, 0]));
        let face = face_from_image(&DynamicImage::ImageRgb8(img));
        assert_eq!(face.len(), FACE_PIXELS);
        // Red increases left to right; so must the gray value.
        assert!(face[FACE_SIZE - 1] > face[0]);
    }

    #[test]
    fn sixteen_bit_images_are_scaled_to_eight_bits() {
        let img = ImageBuffer::from_fn(48, 48, |_, _| Luma([65535u16]));
        let face = face_from_image(&DynamicImage::ImageLuma16(img));
        assert!(face.iter().all(|&p| p == 255));
    }

    #[test]
    fn input_scale_is_zero_to_one() {
        let mut out = [0.0f32; 3];
        face_to_input(&[0, 51, 255], &mut out);
        for (o, e) in out.iter().zip([0.0, 0.2, 1.0]) {
            assert!((o - e).abs() < 1e-6, "{out:?}");
        }
    }
}
