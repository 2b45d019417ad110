//! Pictures of predictions: boxes and labels drawn over a photo, one colour per emotion.

use ferrite_data::Emotion;
use image::RgbImage;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::plot::{draw_err, ensure_font};

/// The colour of each emotion in pictures and charts (the dashboard uses the same ones).
pub fn emotion_colour(emotion: Emotion) -> (u8, u8, u8) {
    match emotion {
        Emotion::Angry => (220, 38, 38),
        Emotion::Disgust => (101, 163, 13),
        Emotion::Fear => (147, 51, 234),
        Emotion::Happy => (234, 179, 8),
        Emotion::Neutral => (100, 116, 139),
        Emotion::Sad => (37, 99, 235),
        Emotion::Surprise => (249, 115, 22),
    }
}

/// A box to draw: `[x, y, width, height]` in pixels, its emotion and caption.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelledBox {
    /// `[x, y, width, height]`.
    pub rect: [u32; 4],
    /// Emotion, for the colour.
    pub emotion: Emotion,
    /// Caption drawn above the box (e.g. "happy 93%").
    pub caption: String,
}

/// Draws each box with its caption onto `image`, scaled to the image's size.
pub fn draw_boxes(image: &mut RgbImage, boxes: &[LabelledBox]) -> Result<(), String> {
    ensure_font();
    let (w, h) = image.dimensions();
    let line = (w.max(h) / 300).max(2) as i32;
    let root = BitMapBackend::with_buffer(image.as_mut(), (w, h)).into_drawing_area();
    for b in boxes {
        let (r, g, bl) = emotion_colour(b.emotion);
        let colour = RGBColor(r, g, bl);
        let [x, y, bw, bh] = b.rect.map(|v| v as i32);
        for i in 0..line {
            root.draw(&Rectangle::new(
                [(x - i, y - i), (x + bw + i, y + bh + i)],
                colour.stroke_width(1),
            ))
            .map_err(draw_err)?;
        }
        // Captions scale with their face, so crowded group photos stay readable.
        let font_px = (bw as f64 * 0.32).clamp(11.0, 48.0);
        let style = ("sans-serif", font_px)
            .into_font()
            .color(&WHITE)
            .pos(Pos::new(HPos::Left, VPos::Center));
        let (tw, th) = root
            .estimate_text_size(&b.caption, &style)
            .map_err(draw_err)?;
        let (tw, th) = (tw as i32 + 8, th as i32 + 6);
        // Caption above the box, or inside it when the box touches the top edge.
        let top = if y - line - th >= 0 { y - line - th } else { y };
        root.draw(&Rectangle::new(
            [(x - line, top), (x - line + tw, top + th)],
            colour.filled(),
        ))
        .map_err(draw_err)?;
        root.draw(&Text::new(
            b.caption.clone(),
            (x - line + 4, top + th / 2),
            style,
        ))
        .map_err(draw_err)?;
    }
    root.present().map_err(draw_err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn box_outline_takes_the_emotion_colour_and_inside_is_kept() {
        let mut img = RgbImage::from_pixel(300, 200, image::Rgb([0, 0, 0]));
        let b = LabelledBox {
            rect: [100, 80, 60, 60],
            emotion: Emotion::Sad,
            caption: "sad 80%".into(),
        };
        draw_boxes(&mut img, &[b]).unwrap();
        let (r, g, bl) = emotion_colour(Emotion::Sad);
        assert_eq!(img.get_pixel(100, 110).0, [r, g, bl]);
        assert_eq!(img.get_pixel(130, 110).0, [0, 0, 0]);
        // The caption's background sits above the box.
        assert_eq!(img.get_pixel(101, 70).0, [r, g, bl]);
    }

    #[test]
    fn every_emotion_has_its_own_colour() {
        let colours: std::collections::HashSet<_> =
            Emotion::ALL.iter().map(|&e| emotion_colour(e)).collect();
        assert_eq!(colours.len(), Emotion::ALL.len());
    }
}
