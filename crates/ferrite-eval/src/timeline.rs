//! A video's emotions over time: one panel per face track, each emotion's probability a line in
//! its colour.

use std::path::Path;

use plotters::prelude::*;

use ferrite_data::{Emotion, NUM_CLASSES};

use crate::annotate::emotion_colour;
use crate::plot::{draw_err, ensure_font, render_png};

/// Panels drawn at most (the longest tracks); a video with more tracks says so in the title.
const MAX_PANELS: usize = 6;

/// One track's probabilities over time: `(time_s, probabilities in label order)`.
pub type TrackSeries = (usize, Vec<(f64, [f32; NUM_CLASSES])>);

/// Draws the tracks' probabilities over the video's `duration_s`, saved as PNG.
pub fn plot_timeline(
    tracks: &[TrackSeries],
    title: &str,
    duration_s: f64,
    path: &Path,
) -> Result<(), String> {
    ensure_font();
    let mut longest: Vec<&TrackSeries> = tracks.iter().collect();
    longest.sort_by_key(|(_, points)| std::cmp::Reverse(points.len()));
    longest.truncate(MAX_PANELS);
    longest.sort_by_key(|(id, _)| *id);
    let panels = longest.len().max(1);
    let height = 70 + 200 * panels as u32;
    let title = if tracks.len() > MAX_PANELS {
        format!("{title} ({MAX_PANELS} longest of {} tracks)", tracks.len())
    } else {
        title.to_string()
    };
    render_png(path, (1100, height), |root| {
        let root = root.titled(&title, ("sans-serif", 22)).map_err(draw_err)?;
        let areas = root.split_evenly((panels, 1));
        for (area, (id, points)) in areas.iter().zip(&longest) {
            let mut chart = ChartBuilder::on(area)
                .caption(format!("track {id}"), ("sans-serif", 16))
                .margin(8)
                .x_label_area_size(30)
                .y_label_area_size(40)
                .build_cartesian_2d(0.0..duration_s.max(1e-3), 0.0f32..1.0f32)
                .map_err(draw_err)?;
            chart
                .configure_mesh()
                .x_desc("seconds")
                .label_style(("sans-serif", 12))
                .draw()
                .map_err(draw_err)?;
            for emotion in Emotion::ALL {
                let (r, g, b) = emotion_colour(emotion);
                let colour = RGBColor(r, g, b);
                chart
                    .draw_series(LineSeries::new(
                        points.iter().map(|(t, p)| (*t, p[emotion.index()])),
                        colour.stroke_width(2),
                    ))
                    .map_err(draw_err)?
                    .label(emotion.name())
                    .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 11))
                .draw()
                .map_err(draw_err)?;
        }
        Ok(())
    })
}
