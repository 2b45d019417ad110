//! Candidate boxes between MTCNN's stages: non-maximum suppression, the networks' box
//! corrections, squaring, and cutting each box out of the image as a network's window.

use ferrite_engine::layers::valid::Map;

use super::integral::Integral;

/// A box in the image's pixels (corners, right and bottom exclusive) with its face probability.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub(crate) x0: f32,
    pub(crate) y0: f32,
    pub(crate) x1: f32,
    pub(crate) y1: f32,
    pub(crate) score: f32,
}

/// What an overlap is measured against in [`suppress`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Overlap {
    /// Intersection over union.
    Union,
    /// Intersection over the smaller box (removes a box inside another).
    Min,
}

impl Candidate {
    fn area(&self) -> f32 {
        (self.x1 - self.x0).max(0.0) * (self.y1 - self.y0).max(0.0)
    }

    fn overlap(&self, other: &Candidate, over: Overlap) -> f32 {
        let w = (self.x1.min(other.x1) - self.x0.max(other.x0)).max(0.0);
        let h = (self.y1.min(other.y1) - self.y0.max(other.y0)).max(0.0);
        let inter = w * h;
        let base = match over {
            Overlap::Union => self.area() + other.area() - inter,
            Overlap::Min => self.area().min(other.area()),
        };
        if base > 0.0 {
            inter / base
        } else {
            0.0
        }
    }

    /// The box moved by a network's corrections (fractions of its width and height).
    pub(crate) fn corrected(&self, r: [f32; 4]) -> Candidate {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        Candidate {
            x0: self.x0 + r[0] * w,
            y0: self.y0 + r[1] * h,
            x1: self.x1 + r[2] * w,
            y1: self.y1 + r[3] * h,
            score: self.score,
        }
    }

    /// The square with the same centre and the longer side.
    pub(crate) fn squared(&self) -> Candidate {
        let (w, h) = (self.x1 - self.x0, self.y1 - self.y0);
        let side = w.max(h);
        let (x0, y0) = (self.x0 + (w - side) / 2.0, self.y0 + (h - side) / 2.0);
        Candidate {
            x0,
            y0,
            x1: x0 + side,
            y1: y0 + side,
            score: self.score,
        }
    }
}

/// A box and the corrections a network proposed for it, not yet applied.
pub(crate) type Judged = (Candidate, [f32; 4]);

/// Keeps the most probable boxes, dropping each box that overlaps a kept one by more than
/// `threshold`; most probable first.
pub(crate) fn suppress(mut boxes: Vec<Judged>, threshold: f32, over: Overlap) -> Vec<Judged> {
    boxes.sort_by(|a, b| b.0.score.total_cmp(&a.0.score));
    let mut kept: Vec<Judged> = Vec::new();
    for b in boxes {
        if kept.iter().all(|k| k.0.overlap(&b.0, over) <= threshold) {
            kept.push(b);
        }
    }
    kept
}

/// Each box with its corrections applied, then made square.
pub(crate) fn corrected_squares(boxes: Vec<Judged>) -> Vec<Candidate> {
    boxes
        .into_iter()
        .map(|(b, r)| b.corrected(r).squared())
        .collect()
}

/// Each box cut out of the image (zeros outside it, as MTCNN was trained), resampled to
/// `side x side` by area and normalised to MTCNN's `[-1, 1]`, as one batch.
pub(crate) fn windows(image: &Integral, boxes: &[Candidate], side: usize) -> Map {
    let mut data = Vec::with_capacity(boxes.len() * side * side);
    for b in boxes {
        let (x0, y0) = (b.x0 as i64, b.y0 as i64);
        let (w, h) = (
            ((b.x1 as i64) - x0).max(1) as usize,
            ((b.y1 as i64) - y0).max(1) as usize,
        );
        image.resample((x0, y0), (w, h), (side, side), normalise_value, &mut data);
    }
    Map::new(data, boxes.len(), side, side, 1)
}

/// A pixel value (0..=255, fractional after averaging) as MTCNN's networks read it.
pub(crate) fn normalise_value(v: f32) -> f32 {
    (v - 127.5) * 0.0078125
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(x0: f32, y0: f32, side: f32, score: f32) -> Candidate {
        Candidate {
            x0,
            y0,
            x1: x0 + side,
            y1: y0 + side,
            score,
        }
    }

    #[test]
    fn suppression_keeps_the_best_of_overlapping_boxes() {
        let judged = |b: Candidate| (b, [0.0; 4]);
        let kept = suppress(
            vec![
                judged(c(0.0, 0.0, 10.0, 0.5)),
                judged(c(1.0, 0.0, 10.0, 0.9)),
                judged(c(50.0, 0.0, 10.0, 0.7)),
            ],
            0.5,
            Overlap::Union,
        );
        assert_eq!(
            kept,
            vec![
                judged(c(1.0, 0.0, 10.0, 0.9)),
                judged(c(50.0, 0.0, 10.0, 0.7))
            ]
        );
        // A small box inside a big one overlaps little by union, fully by the smaller area.
        let nested = vec![
            judged(c(0.0, 0.0, 100.0, 0.9)),
            judged(c(10.0, 10.0, 20.0, 0.8)),
        ];
        assert_eq!(suppress(nested.clone(), 0.7, Overlap::Union).len(), 2);
        assert_eq!(suppress(nested, 0.7, Overlap::Min).len(), 1);
    }

    #[test]
    fn corrections_and_squaring_move_the_box() {
        let b = c(10.0, 20.0, 10.0, 1.0).corrected([0.1, 0.0, 0.1, 0.5]);
        assert_eq!((b.x0, b.y0, b.x1, b.y1), (11.0, 20.0, 21.0, 35.0));
        let s = b.squared();
        assert_eq!((s.x0, s.y0, s.x1, s.y1), (8.5, 20.0, 23.5, 35.0));
    }

    #[test]
    fn windows_outside_the_image_are_black() {
        let image = image::GrayImage::from_pixel(10, 10, image::Luma([255]));
        let map = windows(&Integral::new(&image), &[c(-10.0, 0.0, 20.0, 1.0)], 4);
        assert_eq!((map.n, map.height, map.width, map.channels), (1, 4, 4, 1));
        let row: Vec<f32> = map.data[..4].to_vec();
        assert_eq!(row[0], normalise_value(0.0));
        assert_eq!(row[3], normalise_value(255.0));
    }
}
