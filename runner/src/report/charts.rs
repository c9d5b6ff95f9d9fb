//! Charts of `report.html`, drawn by plotters as inline SVG. A chart is data
//! (categories along x, named series of values); this module only draws it.

use plotters::coord::Shift;
use plotters::prelude::*;

/// How a chart's series are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A marker per value with its interval as a whisker; series side by side.
    Whiskers,
    /// Bars side by side in each category.
    Bars,
    /// A line per series across the categories (e.g. runs over time).
    Lines,
}

/// One value of a series.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Index of the category.
    pub category: usize,
    /// The value.
    pub value: f64,
    /// Its interval, when it has one.
    pub interval: Option<(f64, f64)>,
}

/// A named series.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// Legend text.
    pub name: String,
    /// Colour, `0xRRGGBB`.
    pub color: u32,
    /// Values, at most one per category.
    pub points: Vec<Point>,
}

/// A reference value for one category, drawn as a dashed line across it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Index of the category.
    pub category: usize,
    /// The value.
    pub value: f64,
}

/// What to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// The caption.
    pub title: String,
    /// Label of the y axis.
    pub y_label: String,
    /// Names of the categories along x.
    pub categories: Vec<String>,
    /// Logarithmic y axis.
    pub log: bool,
    /// Fixed y range; `None` fits the data.
    pub y_range: Option<(f64, f64)>,
    /// How series are drawn.
    pub kind: Kind,
    /// The series.
    pub series: Vec<Series>,
    /// Reference lines and their legend text (e.g. the native float32 reference).
    pub references: Option<(String, Vec<Reference>)>,
}

/// Width and height of a chart, pixels.
pub const SIZE: (u32, u32) = (620, 340);

impl Chart {
    /// Whether there is anything to draw.
    pub fn is_empty(&self) -> bool {
        self.series.iter().all(|s| s.points.is_empty())
    }

    fn y_bounds(&self) -> (f64, f64) {
        if let Some(r) = self.y_range {
            return r;
        }
        let values = self
            .series
            .iter()
            .flat_map(|s| &s.points)
            .flat_map(|p| {
                let (lo, hi) = p.interval.unwrap_or((p.value, p.value));
                [p.value, lo, hi]
            })
            .chain(
                self.references
                    .iter()
                    .flat_map(|(_, r)| r.iter().map(|r| r.value)),
            )
            .filter(|v| v.is_finite() && (!self.log || *v > 0.0));
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        match (self.log, lo.is_finite()) {
            (_, false) => (if self.log { 0.1 } else { 0.0 }, 1.0),
            (true, true) => (lo / 1.6, hi * 1.6),
            (false, true) => (0.0_f64.min(lo), if hi > 0.0 { hi * 1.15 } else { 1.0 }),
        }
    }
}

/// The chart as an SVG document, without a legend: the page draws the legend
/// ([`Chart::series`] names and colours) as text beside it.
pub fn render(chart: &Chart) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE)?;
        draw(&root, chart).map_err(|e| anyhow::anyhow!("drawing `{}`: {e}", chart.title))?;
        root.present()
            .map_err(|e| anyhow::anyhow!("drawing `{}`: {e}", chart.title))?;
    }
    Ok(svg)
}

fn color(rgb: u32) -> RGBColor {
    RGBColor((rgb >> 16) as u8, (rgb >> 8) as u8, rgb as u8)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

fn draw(root: &DrawingArea<SVGBackend<'_>, Shift>, chart: &Chart) -> DrawResult {
    let n = chart.categories.len().max(1);
    let (lo, hi) = chart.y_bounds();
    // Category i sits at x = i, so the axis's whole-number ticks name them.
    let categories = chart.categories.clone();
    let label = move |x: &f64| {
        if (x - x.round()).abs() > 1e-9 || *x < 0.0 {
            return String::new();
        }
        categories
            .get(x.round() as usize)
            .cloned()
            .unwrap_or_default()
    };
    let mut builder = ChartBuilder::on(root);
    builder
        .caption(&chart.title, ("sans-serif", 21))
        .margin(12)
        .x_label_area_size(34)
        .y_label_area_size(62);
    let x = -0.5..n as f64 - 0.5;
    // The same axes on a logarithmic or a linear y: two coordinate types.
    macro_rules! draw_on {
        ($y:expr) => {{
            let mut ctx = builder.build_cartesian_2d(x, $y)?;
            ctx.configure_mesh()
                .disable_x_mesh()
                .y_labels(7)
                .light_line_style(RGBColor(244, 245, 247))
                .label_style(("sans-serif", 15))
                .axis_desc_style(("sans-serif", 15))
                .x_labels(n + 1)
                .x_label_formatter(&label)
                .y_desc(&chart.y_label)
                .y_label_formatter(&|v| short(*v))
                .draw()?;
            series(&mut ctx, chart, lo)?;
        }};
    }
    if chart.log {
        draw_on!((lo..hi).log_scale());
    } else {
        draw_on!(lo..hi);
    }
    Ok(())
}

/// A tick label: few digits, whatever the magnitude.
fn short(v: f64) -> String {
    match v.abs() {
        0.0 => "0".into(),
        a if a >= 1e6 => format!("{:.1}M", v / 1e6),
        a if a >= 1e4 => format!("{:.0}k", v / 1e3),
        a if a >= 100.0 && (v - v.round()).abs() < 0.05 => format!("{v:.0}"),
        a if a >= 1.0 => format!("{v:.1}"),
        a if a >= 0.01 => format!("{v:.2}"),
        _ => format!("{v:.0e}"),
    }
}

fn series<'a, Y>(
    ctx: &mut ChartContext<
        'a,
        SVGBackend<'a>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, Y>,
    >,
    chart: &Chart,
    floor: f64,
) -> DrawResult
where
    Y: Ranged<ValueType = f64>,
{
    let count = chart.series.len().max(1) as f64;
    // Series sit side by side inside a category's band.
    let band = 0.7;
    let width = band / count;
    let slot =
        |category: usize, index: usize| category as f64 - band / 2.0 + width * (index as f64 + 0.5);
    for (index, s) in chart.series.iter().enumerate() {
        let c = color(s.color);
        match chart.kind {
            Kind::Whiskers => ctx.draw_series(s.points.iter().map(|p| {
                let (low, high) = p.interval.unwrap_or((p.value, p.value));
                ErrorBar::new_vertical(
                    slot(p.category, index),
                    low,
                    p.value,
                    high,
                    c.filled().stroke_width(2),
                    8,
                )
            }))?,
            Kind::Bars => ctx.draw_series(s.points.iter().map(|p| {
                let x = slot(p.category, index);
                Rectangle::new(
                    [(x - width * 0.45, floor), (x + width * 0.45, p.value)],
                    c.filled(),
                )
            }))?,
            Kind::Lines => {
                let mut points: Vec<(f64, f64)> = s
                    .points
                    .iter()
                    .map(|p| (p.category as f64, p.value))
                    .collect();
                points.sort_by(|a, b| a.0.total_cmp(&b.0));
                ctx.draw_series(
                    points
                        .iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, c.filled())),
                )?;
                ctx.draw_series(LineSeries::new(points, c.stroke_width(2)))?
            }
        };
    }
    if let Some((_, references)) = &chart.references {
        let style = ShapeStyle::from(&BLACK).stroke_width(1);
        for r in references {
            let from = r.category as f64 - band / 2.0 - 0.05;
            let to = r.category as f64 + band / 2.0 + 0.05;
            ctx.draw_series(DashedLineSeries::new(
                [(from, r.value), (to, r.value)],
                6,
                4,
                style,
            ))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chart(kind: Kind, log: bool) -> Chart {
        Chart {
            title: "latency <chromium>".into(),
            y_label: "ms".into(),
            categories: vec!["batch 1".into(), "batch 32".into()],
            log,
            y_range: None,
            kind,
            series: vec![
                Series {
                    name: "f32".into(),
                    color: 0x1f77b4,
                    points: vec![
                        Point {
                            category: 0,
                            value: 1.0,
                            interval: Some((0.9, 1.1)),
                        },
                        Point {
                            category: 1,
                            value: 30.0,
                            interval: Some((29.0, 31.0)),
                        },
                    ],
                },
                Series {
                    name: "f16".into(),
                    color: 0xff7f0e,
                    points: vec![Point {
                        category: 0,
                        value: 2.0,
                        interval: None,
                    }],
                },
            ],
            references: Some((
                "native f32".into(),
                vec![Reference {
                    category: 0,
                    value: 0.5,
                }],
            )),
        }
    }

    #[test]
    fn every_kind_draws_an_svg_with_its_labels_escaped() {
        for kind in [Kind::Whiskers, Kind::Bars, Kind::Lines] {
            for log in [true, false] {
                let svg = render(&chart(kind, log)).unwrap();
                assert!(svg.starts_with("<svg"), "{kind:?} {log}");
                assert!(
                    svg.contains("\nlatency &lt;chromium&gt;\n"),
                    "{kind:?} {log}"
                );
                assert!(svg.contains("\nbatch 32\n</text>"), "{kind:?} {log}: {svg}");
                assert!(svg.contains("stroke-dasharray") || svg.matches("<line").count() > 3);
                assert!(!svg.contains("<chromium>"));
            }
        }
    }

    #[test]
    fn log_bounds_include_every_value_interval_and_reference() {
        let (lo, hi) = chart(Kind::Whiskers, true).y_bounds();
        assert!(lo < 0.5 && hi > 31.0, "{lo} {hi}");
        let (lo, hi) = chart(Kind::Bars, false).y_bounds();
        assert_eq!(lo, 0.0);
        assert!(hi > 31.0);
    }

    #[test]
    fn an_empty_chart_is_empty() {
        let mut c = chart(Kind::Bars, true);
        c.series.iter_mut().for_each(|s| s.points.clear());
        c.references = None;
        assert!(c.is_empty());
        assert_eq!(c.y_bounds(), (0.1, 1.0));
    }

    #[test]
    fn tick_labels_stay_short() {
        assert_eq!(short(0.0), "0");
        assert_eq!(short(1_687_040.0), "1.7M");
        assert_eq!(short(25_000.0), "25k");
        assert_eq!(short(388.0), "388");
        assert_eq!(short(100.5), "100.5");
        assert_eq!(short(36.5), "36.5");
        assert_eq!(short(0.55), "0.55");
        assert_eq!(short(0.001), "1e-3");
    }
}
