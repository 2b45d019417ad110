//! MTCNN (Zhang et al., "Joint Face Detection and Alignment using Multi-task Cascaded
//! Convolutional Networks", 2016) on the engine: P-Net proposes windows over an image pyramid,
//! R-Net and O-Net judge each surviving box again at 24x24 and 48x48, each stage correcting the
//! boxes and suppressing overlaps. The steps and thresholds follow facenet-pytorch's
//! `detect_face`, whose converted weights these are.

mod boxes;
mod integral;
mod nets;

use ferrite_engine::layers::valid::Map;
use image::GrayImage;
use rayon::prelude::*;

use boxes::{corrected_squares, normalise_value, suppress, windows, Candidate, Judged, Overlap};
use integral::Integral;
use nets::Nets;

/// The side of the window P-Net judges at each pyramid level.
const CELL: f32 = 12.0;
/// Pixels between P-Net's windows.
const STRIDE: f32 = 2.0;
/// Scale between pyramid levels (MTCNN's).
const PYRAMID_FACTOR: f32 = 0.709;
/// The face probability P-Net's windows need (facenet-pytorch's default).
const PROPOSAL_THRESHOLD: f32 = 0.6;
/// The face probability R-Net's boxes need; O-Net's is the caller's
/// `MtcnnSettings::threshold`. facenet-pytorch uses 0.7; 0.6 lets O-Net see a few more boxes
/// and found 2 more of the 240 faces of `examples/detect_costs.rs`'s scenes and a downcast,
/// half-hidden face of a real group photo that 0.7 missed, for about 1 ms more a scene.
const REFINE_THRESHOLD: f32 = 0.6;
/// Overlap above which the less probable of two of a pyramid level's windows is dropped.
const LEVEL_OVERLAP: f32 = 0.5;
/// Overlap above which the less probable of two boxes is dropped after each stage (by union,
/// or by the smaller box after O-Net). Harder suppression after R-Net (0.6 or 0.5) was faster
/// with many faces and lost some (README, Face detection).
const STAGE_OVERLAP: f32 = 0.7;

/// MTCNN's settings that callers choose.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct MtcnnSettings {
    /// Smallest face side looked for, in pixels.
    pub(crate) min_face: f32,
    /// The face probability a box needs after the last network.
    pub(crate) threshold: f32,
}

/// The faces in `image`: boxes in its pixels, each with its face probability.
pub(crate) fn detect(image: &GrayImage, settings: MtcnnSettings) -> Vec<Candidate> {
    let nets = Nets::shared();
    let image = &Integral::new(image);
    let proposals = propose(image, settings.min_face, nets);
    if proposals.is_empty() {
        return proposals;
    }
    let refined = judge(image, &proposals, &nets.refine, REFINE_THRESHOLD);
    let refined = corrected_squares(suppress(refined, STAGE_OVERLAP, Overlap::Union));
    if refined.is_empty() {
        return refined;
    }
    let faces = judge(image, &refined, &nets.output, settings.threshold)
        .into_iter()
        .map(|(b, r)| (b.corrected(r), [0.0; 4]))
        .collect();
    suppress(faces, STAGE_OVERLAP, Overlap::Min)
        .into_iter()
        .map(|(b, _)| b)
        .collect()
}

/// The pyramid's scales: the first maps `min_face` to P-Net's 12 px window, the last keeps the
/// shorter side at least 12 px.
fn scales(width: usize, height: usize, min_face: f32) -> Vec<f32> {
    let first = CELL / min_face;
    let mut shorter = width.min(height) as f32 * first;
    let mut scale = first;
    let mut all = Vec::new();
    while shorter >= CELL {
        all.push(scale);
        scale *= PYRAMID_FACTOR;
        shorter *= PYRAMID_FACTOR;
    }
    all
}

/// P-Net over every pyramid level (the levels in parallel), each level's windows above the
/// threshold suppressed among themselves, then all together; boxes corrected and squared.
fn propose(image: &Integral, min_face: f32, nets: &Nets) -> Vec<Candidate> {
    let levels: Vec<Vec<Judged>> = scales(image.width(), image.height(), min_face)
        .into_par_iter()
        .map(|scale| level_proposals(image, scale, nets))
        .collect();
    corrected_squares(suppress(levels.concat(), STAGE_OVERLAP, Overlap::Union))
}

/// P-Net's windows at one pyramid level, suppressed among themselves, uncorrected.
fn level_proposals(image: &Integral, scale: f32, nets: &Nets) -> Vec<Judged> {
    let (w, h) = (
        (image.width() as f32 * scale + 1.0) as usize,
        (image.height() as f32 * scale + 1.0) as usize,
    );
    let mut pixels = Vec::with_capacity(w * h);
    let whole = (image.width(), image.height());
    image.resample((0, 0), whole, (w, h), normalise_value, &mut pixels);
    let map = Map::new(pixels, 1, h, w, 1);
    if map.height < CELL as usize || map.width < CELL as usize {
        return Vec::new();
    }
    let (_, grid_width, outputs) = nets.proposal.windows(&map);
    let found: Vec<Judged> = outputs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.face >= PROPOSAL_THRESHOLD)
        .map(|(i, o)| {
            let (gx, gy) = ((i % grid_width) as f32, (i / grid_width) as f32);
            let window = Candidate {
                x0: ((STRIDE * gx + 1.0) / scale).floor(),
                y0: ((STRIDE * gy + 1.0) / scale).floor(),
                x1: ((STRIDE * gx + CELL) / scale).floor(),
                y1: ((STRIDE * gy + CELL) / scale).floor(),
                score: o.face,
            };
            (window, o.regression)
        })
        .collect();
    suppress(found, LEVEL_OVERLAP, Overlap::Union)
}

/// Windows a network judges in one call. Small parts keep each call's im2col rows in the
/// cache (O-Net's second convolution makes 0.5 MB of them a window): parts of 8 took a photo
/// of 10 faces from 17.5 to 15-16 ms, against one part a thread.
const WINDOWS_PER_PART: usize = 8;

/// Each box judged by `net` on its window: those above `threshold`, with the network's
/// probability and corrections. Parts of the windows go through in parallel.
fn judge(
    image: &Integral,
    boxes: &[Candidate],
    net: &nets::WindowNet,
    threshold: f32,
) -> Vec<Judged> {
    boxes
        .par_chunks(WINDOWS_PER_PART)
        .flat_map_iter(|part| {
            let outputs = net.classify(windows(image, part, net.side));
            part.iter()
                .zip(outputs)
                .filter(|(_, o)| o.face > threshold)
                .map(|(b, o)| {
                    let judged = Candidate {
                        score: o.face,
                        ..*b
                    };
                    (judged, o.regression)
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyramid_starts_at_the_smallest_face_and_stops_at_the_window() {
        let s = scales(640, 480, 40.0);
        assert!((s[0] - 0.3).abs() < 1e-6);
        assert!(s.iter().all(|scale| 480.0 * scale >= CELL));
        assert!(480.0 * s.last().unwrap() * PYRAMID_FACTOR < CELL);
        assert!(scales(20, 20, 40.0).is_empty());
    }

    #[test]
    fn blank_images_have_no_faces() {
        let settings = MtcnnSettings {
            min_face: 20.0,
            threshold: 0.7,
        };
        assert!(detect(&GrayImage::new(320, 240), settings).is_empty());
        assert!(detect(&GrayImage::new(5, 300), settings).is_empty());
    }
}
