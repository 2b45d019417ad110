//! From a detected face box to the 48x48 face the model reads, framed like FER2013's faces.

use image::{DynamicImage, GrayImage};

use ferrite_data::face_from_image;

use crate::detect::Detection;

/// How a detector box is turned into a FER2013-like square frame. FER2013 faces show the whole
/// face, cropped tight; MTCNN's boxes run from the eyebrows to the chin and are taller than
/// wide, so the frame is a little smaller than the box's longer side. Calibrated by
/// `examples/calibrate_crop.rs` on FER2013 faces.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framing {
    /// Frame side divided by the box's larger side.
    pub scale: f32,
    /// Horizontal offset of the frame's centre from the box's, in box widths.
    pub shift_x: f32,
    /// Vertical offset of the frame's centre from the box's, in box heights (positive: down).
    pub shift_y: f32,
}

/// The calibrated framing for MTCNN's boxes: on 400 PublicTest faces pasted 4x into a scene
/// (360 found), the FER2013 frame is a median 0.95 times the box's longer side, centred on it
/// (median offsets 0.017 of the width across, -0.006 of the height down: left at 0).
pub const FER_FRAMING: Framing = Framing {
    scale: 0.95,
    shift_x: 0.0,
    shift_y: 0.0,
};

/// A square region of the image, in pixels; it may reach past the edges.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Frame {
    /// Left edge.
    pub x: f32,
    /// Top edge.
    pub y: f32,
    /// Side.
    pub side: f32,
}

impl Framing {
    /// The square frame around a detection.
    pub fn frame(&self, d: &Detection) -> Frame {
        let side = d.width.max(d.height) * self.scale;
        let cx = d.x + d.width * (0.5 + self.shift_x);
        let cy = d.y + d.height * (0.5 + self.shift_y);
        Frame {
            x: cx - side / 2.0,
            y: cy - side / 2.0,
            side,
        }
    }
}

/// Cuts `frame` out of `gray` (edge pixels repeated where it reaches past the image) and turns
/// it into a 48x48 face through the shared preprocessing path.
pub fn crop_face(gray: &GrayImage, frame: &Frame) -> Vec<u8> {
    let side = frame.side.round().max(1.0) as u32;
    let (w, h) = gray.dimensions();
    let (x0, y0) = (frame.x.round() as i64, frame.y.round() as i64);
    let region = GrayImage::from_fn(side, side, |x, y| {
        let sx = (x0 + x as i64).clamp(0, w as i64 - 1) as u32;
        let sy = (y0 + y as i64).clamp(0, h as i64 - 1) as u32;
        *gray.get_pixel(sx, sy)
    });
    face_from_image(&DynamicImage::ImageLuma8(region))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ferrite_data::FACE_PIXELS;

    #[test]
    fn frame_is_square_and_centred_by_the_framing() {
        let d = Detection {
            x: 100.0,
            y: 50.0,
            width: 80.0,
            height: 60.0,
            score: 5.0,
        };
        let framing = Framing {
            scale: 1.5,
            shift_x: 0.0,
            shift_y: 0.1,
        };
        let f = framing.frame(&d);
        assert_eq!(f.side, 120.0);
        assert!((f.x + f.side / 2.0 - 140.0).abs() < 1e-4);
        assert!((f.y + f.side / 2.0 - 86.0).abs() < 1e-4);
    }

    #[test]
    fn crop_inside_matches_the_pixels_and_outside_repeats_edges() {
        let gray = GrayImage::from_fn(96, 96, |x, _| image::Luma([if x < 48 { 10 } else { 200 }]));
        let left = crop_face(
            &gray,
            &Frame {
                x: 0.0,
                y: 0.0,
                side: 48.0,
            },
        );
        assert_eq!(left.len(), FACE_PIXELS);
        assert!(left.iter().all(|&p| p == 10));
        // A frame hanging off the right edge repeats the last column (200).
        let right = crop_face(
            &gray,
            &Frame {
                x: 60.0,
                y: 10.0,
                side: 48.0,
            },
        );
        assert!(right.iter().all(|&p| p == 200));
    }
}
