//! PNG plots with plotters: the confusion matrix heatmap, the reliability diagram and training
//! curves.

use std::path::Path;
use std::sync::Once;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{register_font, FontStyle};
use serde::{Deserialize, Serialize};

use crate::{Calibration, EvalReport};

/// One epoch of training history, as plotted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryPoint {
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Training loss.
    pub loss: f64,
    /// Training accuracy.
    pub acc: f64,
    /// Validation loss.
    pub val_loss: f64,
    /// Validation accuracy.
    pub val_acc: f64,
}

pub(crate) fn ensure_font() {
    static FONT: Once = Once::new();
    FONT.call_once(|| {
        // The font ships inside the binary, so plots render the same on any machine.
        let _ = register_font(
            "sans-serif",
            FontStyle::Normal,
            epaint_default_fonts::UBUNTU_LIGHT,
        );
    });
}

pub(crate) fn draw_err(e: impl std::fmt::Display) -> String {
    format!("could not draw the plot: {e}")
}

/// Draws into an RGB buffer of `size` with `draw`, then writes it as PNG to `path`.
pub(crate) fn render_png(
    path: &Path,
    size: (u32, u32),
    draw: impl FnOnce(DrawingArea<BitMapBackend, plotters::coord::Shift>) -> Result<(), String>,
) -> Result<(), String> {
    let mut pixels = vec![0u8; (size.0 * size.1 * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, size).into_drawing_area();
        root.fill(&WHITE).map_err(draw_err)?;
        draw(root.clone())?;
        root.present().map_err(draw_err)?;
    }
    image::RgbImage::from_raw(size.0, size.1, pixels)
        .expect("buffer matches its size")
        .save(path)
        .map_err(|e| format!("{}: {e}", path.display()))
}

/// Draws the row-normalised confusion matrix with counts in each cell, saved as PNG.
pub fn plot_confusion(report: &EvalReport, title: &str, path: &Path) -> Result<(), String> {
    ensure_font();
    render_png(path, (860, 800), |root| {
        draw_confusion(report, title, &root)
    })
}

fn draw_confusion(
    report: &EvalReport,
    title: &str,
    root: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
) -> Result<(), String> {
    let n = report.labels.len();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((0..n - 1).into_segmented(), (0..n - 1).into_segmented())
        .map_err(draw_err)?;
    let label_at = |v: &SegmentValue<usize>, flip: bool| match v {
        SegmentValue::CenterOf(i) if *i < n => {
            report.labels[if flip { n - 1 - i } else { *i }].clone()
        }
        _ => String::new(),
    };
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc("predicted")
        .y_desc("true")
        .x_labels(n)
        .y_labels(n)
        .x_label_formatter(&|v| label_at(v, false))
        .y_label_formatter(&|v| label_at(v, true))
        .label_style(("sans-serif", 16))
        .axis_desc_style(("sans-serif", 18))
        .draw()
        .map_err(draw_err)?;
    let centre = Pos::new(HPos::Center, VPos::Center);
    for (t, row) in report.confusion.iter().enumerate() {
        let sum: u64 = row.iter().sum();
        let y = n - 1 - t;
        for (p, &count) in row.iter().enumerate() {
            let v = if sum > 0 {
                count as f64 / sum as f64
            } else {
                0.0
            };
            let shade = (255.0 * (1.0 - 0.85 * v)) as u8;
            let fill = RGBColor(shade, shade, 255);
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [
                        (SegmentValue::Exact(p), SegmentValue::Exact(y)),
                        (SegmentValue::Exact(p + 1), SegmentValue::Exact(y + 1)),
                    ],
                    fill.filled(),
                )))
                .map_err(draw_err)?;
            let colour = if v > 0.55 { WHITE } else { BLACK };
            let style = ("sans-serif", 15).into_font().color(&colour).pos(centre);
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{v:.2} ({count})"),
                    (SegmentValue::CenterOf(p), SegmentValue::CenterOf(y)),
                    style,
                )))
                .map_err(draw_err)?;
        }
    }
    Ok(())
}

/// Draws loss and accuracy per epoch (train and validation), saved as PNG.
pub fn plot_history(history: &[HistoryPoint], path: &Path) -> Result<(), String> {
    ensure_font();
    render_png(path, (1100, 420), |root| draw_history(history, &root))
}

fn draw_history(
    history: &[HistoryPoint],
    root: &DrawingArea<BitMapBackend, plotters::coord::Shift>,
) -> Result<(), String> {
    let (left, right) = root.split_horizontally(550);
    let epochs = history.len().max(2);
    let max_loss = history
        .iter()
        .flat_map(|h| [h.loss, h.val_loss])
        .filter(|v| v.is_finite())
        .fold(0.1, f64::max);
    type Getter = fn(&HistoryPoint) -> f64;
    let panels: [(&_, &str, f64, Getter, Getter, SeriesLabelPosition); 2] = [
        (
            &left,
            "loss",
            max_loss * 1.05,
            |h| h.loss,
            |h| h.val_loss,
            SeriesLabelPosition::LowerLeft,
        ),
        (
            &right,
            "accuracy",
            1.0,
            |h| h.acc,
            |h| h.val_acc,
            SeriesLabelPosition::UpperLeft,
        ),
    ];
    for (area, name, top, train, val, legend) in panels {
        let mut chart = ChartBuilder::on(area)
            .caption(name, ("sans-serif", 22))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(50)
            .build_cartesian_2d(1..epochs, 0.0..top)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .label_style(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
        for (getter, colour, label) in [(train, BLUE, "train"), (val, RED, "validation")] {
            chart
                .draw_series(LineSeries::new(
                    history.iter().map(|h| (h.epoch, getter(h))),
                    colour.stroke_width(2),
                ))
                .map_err(draw_err)?
                .label(label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], colour));
        }
        chart
            .configure_series_labels()
            .position(legend)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()
            .map_err(draw_err)?;
    }
    Ok(())
}

/// Draws the reliability diagram (each bin's accuracy against its mean confidence, the
/// diagonal for a calibrated model, the faces per bin as a share), saved as PNG.
pub fn plot_reliability(calibration: &Calibration, title: &str, path: &Path) -> Result<(), String> {
    ensure_font();
    render_png(path, (640, 640), |root| {
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{title} (ECE {:.3})", calibration.ece),
                ("sans-serif", 22),
            )
            .margin(16)
            .x_label_area_size(50)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..1f64, 0f64..1f64)
            .map_err(draw_err)?;
        chart
            .configure_mesh()
            .x_desc("confidence")
            .y_desc("accuracy")
            .label_style(("sans-serif", 15))
            .axis_desc_style(("sans-serif", 17))
            .draw()
            .map_err(draw_err)?;
        let total = calibration.bins.iter().map(|b| b.count).sum::<u64>().max(1) as f64;
        let share = calibration.bins.iter().map(|b| {
            let height = b.count as f64 / total;
            Rectangle::new(
                [(b.lower, 0.0), (b.upper, height)],
                RGBColor(200, 200, 200).filled(),
            )
        });
        chart.draw_series(share).map_err(draw_err)?;
        let bars = calibration.bins.iter().filter(|b| b.count > 0).map(|b| {
            let inset = (b.upper - b.lower) * 0.15;
            let top = (b.lower + inset, b.accuracy);
            Rectangle::new(
                [top, (b.upper - inset, 0.0)],
                RGBColor(70, 110, 220).mix(0.8).filled(),
            )
        });
        chart.draw_series(bars).map_err(draw_err)?;
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (1.0, 1.0)],
                RED.stroke_width(2),
            ))
            .map_err(draw_err)?;
        Ok(())
    })
}
