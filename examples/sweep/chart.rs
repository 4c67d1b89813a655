//! The chart: throughput against source chunk size (log scale), one line
//! per glob size, as SVG.

use std::path::Path;

use plotters::prelude::*;

use crate::human;
use crate::measure::Point;

/// Line colours, one per glob size, readable on white.
const COLORS: [RGBColor; 6] = [
    RGBColor(200, 30, 40),
    RGBColor(30, 90, 200),
    RGBColor(20, 140, 60),
    RGBColor(150, 60, 170),
    RGBColor(230, 120, 0),
    RGBColor(60, 60, 60),
];

pub(crate) fn draw(
    path: &Path,
    title: &str,
    points: &[Point],
) -> Result<(), Box<dyn std::error::Error>> {
    let root = SVGBackend::new(path, (720, 420)).into_drawing_area();
    root.fill(&WHITE)?;
    let xmin = points.iter().map(|p| p.chunk).min().unwrap_or(1) as f64;
    let xmax = points.iter().map(|p| p.chunk).max().unwrap_or(2) as f64;
    let (xmin, xmax) = if xmin == xmax {
        (xmin / 2.0, xmax * 2.0)
    } else {
        (xmin / 1.3, xmax * 1.3)
    };
    let ymax = points.iter().map(|p| p.max_mib_s()).fold(1.0, f64::max) * 1.1;
    let mut chunks: Vec<f64> = points.iter().map(|p| p.chunk as f64).collect();
    chunks.sort_by(f64::total_cmp);
    chunks.dedup();
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(64)
        .build_cartesian_2d(
            (xmin..xmax).log_scale().with_key_points(chunks.clone()),
            0.0..ymax,
        )?;
    chart
        .configure_mesh()
        .x_desc("source chunk size (bytes)")
        .y_desc("throughput (MiB/s)")
        .x_label_formatter(&|x| human(x.round() as usize))
        .y_label_formatter(&|y| format!("{y:.0}"))
        .light_line_style(WHITE)
        .draw()?;

    let mut globs: Vec<usize> = points.iter().map(|p| p.glob).collect();
    globs.sort_unstable();
    globs.dedup();
    for (i, glob) in globs.iter().enumerate() {
        let color = COLORS[i % COLORS.len()];
        let mut line: Vec<(f64, f64)> = points
            .iter()
            .filter(|p| p.glob == *glob)
            .map(|p| (p.chunk as f64, p.median_mib_s()))
            .collect();
        line.sort_by(|a, b| a.0.total_cmp(&b.0));
        let label = if *glob == 0 {
            "no glob".to_string()
        } else {
            format!("glob {}", human(*glob))
        };
        chart
            .draw_series(LineSeries::new(line.clone(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
        // The spread of each point, as a vertical bar from min to max.
        chart.draw_series(points.iter().filter(|p| p.glob == *glob).map(|p| {
            let x = p.chunk as f64;
            PathElement::new(
                vec![(x, p.min_mib_s()), (x, p.max_mib_s())],
                color.stroke_width(1),
            )
        }))?;
        chart.draw_series(
            line.iter()
                .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
        )?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
