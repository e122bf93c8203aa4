//! Figures of the diagnostics, the segments and their migration, as SVG text (feature
//! `plots`).
//!
//! Every function takes one of the crate's result records and returns a self-contained SVG
//! document as a `String`: write it to a file with [`write()`], embed it in an HTML report, or
//! test it as text. Nothing is drawn from raw data: compute the record first (the
//! diagnostics in [`clv`](crate::clv), [`choose_k`](crate::segment::choose_k), a model's
//! profiles, [`migration`](crate::report::migration)), then plot it. The figures are drawn
//! with [plotters](https://docs.rs/plotters)' SVG backend, which is pure Rust: text is written
//! as SVG `<text>` elements in the generic `sans-serif` family and laid out by whatever shows
//! the file, so no font or system library is needed to build or to draw.
//!
//! What each figure shows, and how to read it:
//!
//! * [`tracking`] — repeat purchases of the whole customer base, cumulated week by week over
//!   calibration and holdout, actual against what the model expects of customers acquired
//!   when they were; a vertical line marks the end of calibration. A good model follows the
//!   actual curve in calibration (it was fitted there) and keeps following it after the
//!   line; a gap that opens in the holdout is the forecast error of the total.
//!   [`tracking_incremental`] shows the same per period, where seasonality and one-off
//!   spikes the model cannot know about show up.
//! * [`conditional_expectations`] ("calibration vs holdout") — customers grouped by their
//!   repeat purchases in calibration; per group, their mean purchases in the holdout against
//!   the model's mean conditional expectation. The two lines should lie together; a model
//!   that overestimates its heavy buyers bends above the actual line on the right.
//! * [`frequency_fit`] — how many customers made 0, 1, 2 … repeat purchases in calibration,
//!   against the model's expected counts (the last bar pools the rest). Bars of equal height
//!   mean the model has the distribution of purchase counts right; the title gives Pearson's
//!   χ².
//! * [`alive_matrix`] — P(alive) for every history of one age T: repeat purchases across,
//!   the time of the last purchase up; yellow is alive, dark purple is gone. High along the top
//!   (recent buyers), falling towards the bottom right: customers who used to buy often and
//!   stopped are the likeliest to have left.
//! * [`k_choice`] — the criterion that chose the number of segments, for every k tried, with
//!   the chosen k marked. A clear peak (or dip, for criteria where lower is better) is a
//!   natural number of segments; a flat curve says the data has no obvious one.
//! * [`segment_profiles`] — one small panel per feature, a bar per segment with its mean of
//!   that feature in the feature's own unit, and the mean over all customers as a grey line.
//!   Bars far from the line are what set a segment apart.
//! * [`migration`] — where each segment's customers went between two snapshots: one row per
//!   segment before, one column per segment after; each cell gives the customers and their
//!   share of the row, and its colour is that share. A strong diagonal is a stable base;
//!   "(gone)" and "(new)" collect customers present in only one snapshot.
//!
//! Sizes, titles and the model's name in legends are set with [`PlotOptions`]. Titles and
//! axis labels that would not fit are set smaller, then cut with an ellipsis.
//!
//! Records are checked before anything is drawn: an empty record, a NaN or a ragged table
//! is an error of kind [`ErrorKind::Data`](crate::ErrorKind::Data) naming the row and
//! series, never a panic or an empty picture. Should plotters itself fail (not expected for
//! a checked record at a valid size), the error is [`Error::InvalidParameter`] naming the
//! figure and its size.
//!
//! ```
//! use custseg::clv::{BgNbd, FrequencyFit};
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! use custseg::plot::{self, PlotOptions};
//! let model = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?;
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! let fit = FrequencyFit::new(&model, summaries.as_slice(), 7)?;
//! let svg = plot::frequency_fit(&fit, &PlotOptions::default().with_model("BG/NBD"))?;
//! assert!(svg.starts_with("<svg"));
//! assert!(svg.contains("expected (BG/NBD)"));
//! // plot::write("target/plots/frequency.svg", &svg)?; to keep it
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::io;
use std::ops::Range;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::clv::{AliveMatrix, ConditionalExpectations, FrequencyFit, Tracking};
use crate::error::{Error, Position, Result};
use crate::report::Migration;
use crate::segment::{KChoice, KCriterion, SegmentProfile};

/// Size, title and series names of a figure.
///
/// The default is 800 × 500 pixels, each figure's own title, and "expected" as the legend of
/// the model's series.
///
/// ```
/// use custseg::plot::PlotOptions;
/// let opts = PlotOptions::default()
///     .with_size(1200, 700)?
///     .with_title("CDNOW: tracking")
///     .with_model("Pareto/NBD");
/// assert_eq!((opts.width(), opts.height()), (1200, 700));
/// assert!(PlotOptions::default().with_size(10, 10).is_err());
/// # Ok::<(), custseg::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlotOptions {
    width: u32,
    height: u32,
    title: Option<String>,
    model: Option<String>,
}

impl Default for PlotOptions {
    fn default() -> Self {
        PlotOptions {
            width: 800,
            height: 500,
            title: None,
            model: None,
        }
    }
}

/// Smallest and largest side of a figure, in pixels: below, the labels no longer fit.
const MIN_SIDE: u32 = 400;
const MAX_SIDE: u32 = 10_000;

impl PlotOptions {
    /// The figure's width and height in pixels (SVG user units), each from 400 to 10,000.
    ///
    /// # Errors
    /// [`Error::InvalidParameter`] for a side outside that range.
    pub fn with_size(mut self, width: u32, height: u32) -> Result<Self> {
        for (name, v) in [("width", width), ("height", height)] {
            if !(MIN_SIDE..=MAX_SIDE).contains(&v) {
                return Err(Error::InvalidParameter {
                    name,
                    value: v.to_string(),
                    reason: format!("{MIN_SIDE} to {MAX_SIDE} pixels"),
                });
            }
        }
        self.width = width;
        self.height = height;
        Ok(self)
    }

    /// A title instead of the figure's own.
    pub fn with_title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// The model's name, shown in legends as "expected (name)".
    pub fn with_model(mut self, name: impl Into<String>) -> Self {
        self.model = Some(name.into());
        self
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    fn title_or(&self, default: impl Into<String>) -> String {
        self.title.clone().unwrap_or_else(|| default.into())
    }

    fn expected_label(&self) -> String {
        match &self.model {
            Some(m) => format!("expected ({m})"),
            None => "expected".into(),
        }
    }
}

/// Writes an SVG document to `path`, creating the folders above it.
///
/// # Errors
/// The file system's error (this is I/O, not the crate's [`Error`]).
pub fn write(path: impl AsRef<Path>, svg: &str) -> io::Result<()> {
    let path = path.as_ref();
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, svg)
}

// ---------------------------------------------------------------------------------------
// The figures.

/// The tracking plot: cumulative repeat purchases of the whole base per period, actual
/// against expected, with the end of calibration marked.
///
/// ```
/// use custseg::clv::{BgNbd, Tracking};
/// use custseg::datasets::{cdnow_sample, cdnow_sample_config};
/// use custseg::{plot, TimeUnit};
/// let model = BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)?.with_unit(TimeUnit::Weeks);
/// let t = Tracking::weekly(&model, &cdnow_sample(), &cdnow_sample_config())?;
/// let svg = plot::tracking(&t, &Default::default())?;
/// assert!(svg.contains("end of calibration"));
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::EmptyInput`] without periods; [`Error::LengthMismatch`] when the cumulative
/// series do not have one value per period; [`Error::NonFinite`] for a NaN or infinite value
/// and [`Error::InvalidRecord`] for one too large to plot (|v| > 1e100) or more
/// calibration periods than periods (each naming the row and series).
pub fn tracking(t: &Tracking, opts: &PlotOptions) -> Result<String> {
    check_tracking(t, true)?;
    render("tracking", opts, |root| draw_tracking(root, t, opts, true))
}

/// Repeat purchases per period (not cumulated), actual against expected, with the end of
/// calibration marked: the tracking plot's increments, where seasonality shows.
///
/// # Errors
/// As [`tracking`], for the per-period series.
pub fn tracking_incremental(t: &Tracking, opts: &PlotOptions) -> Result<String> {
    check_tracking(t, false)?;
    render("incremental tracking", opts, |root| {
        draw_tracking(root, t, opts, false)
    })
}

/// Calibration vs holdout: per group of calibration frequency, the customers' mean holdout
/// purchases against the model's mean conditional expectation, with the holdout totals and
/// the per-customer RMSE in a note.
///
/// # Errors
/// [`Error::EmptyInput`] without groups; [`Error::NonFinite`] or [`Error::InvalidRecord`]
/// for a mean that is not finite or too large to plot (naming the group's row).
pub fn conditional_expectations(c: &ConditionalExpectations, opts: &PlotOptions) -> Result<String> {
    if c.groups.is_empty() {
        return Err(Error::EmptyInput {
            what: "frequency groups",
        });
    }
    let actual: Vec<f64> = c.groups.iter().map(|g| g.mean_actual).collect();
    let expected: Vec<f64> = c.groups.iter().map(|g| g.mean_expected).collect();
    plottable("mean_actual", &actual)?;
    plottable("mean_expected", &expected)?;
    let labels: Vec<String> = c
        .groups
        .iter()
        .map(|g| {
            if g.pooled {
                format!("{}+", g.frequency)
            } else {
                g.frequency.to_string()
            }
        })
        .collect();
    let title =
        opts.title_or("Calibration vs holdout: mean holdout purchases by calibration frequency");
    let note = if c.total_actual.is_finite() && c.total_expected.is_finite() {
        let error = if c.total_actual > 0.0 {
            format!(
                " ({:+.1} %)",
                100.0 * (c.total_expected - c.total_actual) / c.total_actual
            )
        } else {
            String::new()
        };
        format!(
            "holdout total: actual {}, expected {}{error}; RMSE {} per customer",
            thousands(c.total_actual),
            thousands(c.total_expected),
            short(c.rmse)
        )
    } else {
        String::new()
    };
    render("calibration vs holdout", opts, |root| {
        let root = titled(root, &title)?;
        let n = labels.len();
        let y = value_range(actual.iter().chain(&expected).copied(), 0.12);
        let (x_desc, y_desc, desc) = axis_titles(
            &root,
            70,
            "repeat purchases in calibration",
            "mean repeat purchases in the holdout",
        );
        let mut chart = ChartBuilder::on(&root)
            .margin(15)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, y.clone())?;
        let x_fmt = |x: &f64| category(*x, &labels);
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v: &f64| short(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .axis_desc_style(desc)
            .draw()?;
        let expected_label = opts.expected_label();
        for (values, colour, label) in [
            (&actual, ACTUAL, "actual"),
            (&expected, EXPECTED, expected_label.as_str()),
        ] {
            let points: Vec<(f64, f64)> = values
                .iter()
                .enumerate()
                .map(|(i, &v)| (i as f64, v))
                .collect();
            chart
                .draw_series(LineSeries::new(points.clone(), colour.stroke_width(2)))?
                .label(label)
                .legend(move |(x, y)| line_glyph(x, y, colour));
            chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, colour.filled())))?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
        if !note.is_empty() {
            let (x0, x1) = (
                chart.backend_coord(&(-0.5, y.start)).0,
                chart.backend_coord(&(n as f64 - 0.5, y.start)).0,
            );
            let (note, size) = fit_text(&note, 13.0, 9.0, f64::from(x1 - x0) - 16.0);
            chart.draw_series(std::iter::once(
                EmptyElement::at((n as f64 - 0.5, y.start))
                    + Text::new(
                        note,
                        (-8, -8),
                        ("sans-serif", size)
                            .into_font()
                            .color(&BLACK)
                            .pos(Pos::new(HPos::Right, VPos::Bottom)),
                    ),
            ))?;
        }
        Ok(())
    })
}

/// The frequency PMF: customers by repeat purchases in calibration, actual and expected, as
/// pairs of bars (the last pools every larger count), with Pearson's χ² in the title.
///
/// # Errors
/// [`Error::EmptyInput`] without counts; [`Error::LengthMismatch`] when actual and expected
/// counts do not match the frequencies; [`Error::NonFinite`] or [`Error::InvalidRecord`]
/// for a count that is not finite or too large to plot (naming the row).
pub fn frequency_fit(f: &FrequencyFit, opts: &PlotOptions) -> Result<String> {
    let n = f.frequency.len();
    if n == 0 {
        return Err(Error::EmptyInput {
            what: "frequencies",
        });
    }
    same_len("actual", n, f.actual.len())?;
    same_len("expected", n, f.expected.len())?;
    plottable("actual", &f.actual)?;
    plottable("expected", &f.expected)?;
    let labels: Vec<String> = f
        .frequency
        .iter()
        .enumerate()
        .map(|(i, k)| {
            if i + 1 == n && n > 1 {
                format!("{k}+")
            } else {
                k.to_string()
            }
        })
        .collect();
    let title = opts.title_or(if f.chi_square.is_finite() {
        format!(
            "Customers by repeat purchases in calibration (χ² = {})",
            short(f.chi_square)
        )
    } else {
        "Customers by repeat purchases in calibration".to_string()
    });
    render("frequency fit", opts, |root| {
        let root = titled(root, &title)?;
        let y = value_range(f.actual.iter().chain(&f.expected).copied(), 0.08);
        let (x_desc, y_desc, desc) =
            axis_titles(&root, 70, "repeat purchases in calibration", "customers");
        let mut chart = ChartBuilder::on(&root)
            .margin(15)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..n as f64 - 0.5, y)?;
        let x_fmt = |x: &f64| category(*x, &labels);
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_x_mesh()
            .x_labels(n + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v: &f64| thousands(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .axis_desc_style(desc)
            .draw()?;
        let expected_label = opts.expected_label();
        for (values, colour, offset, label) in [
            (&f.actual, ACTUAL, -0.4, "actual"),
            (&f.expected, EXPECTED, 0.0, expected_label.as_str()),
        ] {
            chart
                .draw_series(values.iter().enumerate().map(|(i, &v)| {
                    let x = i as f64 + offset;
                    Rectangle::new([(x, 0.0), (x + 0.4, v)], colour.filled())
                }))?
                .label(label)
                .legend(move |(x, y)| box_glyph(x, y, colour));
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// Most cells a heat map may have: more would make an SVG of tens of megabytes that no
/// viewer shows well.
pub const MAX_CELLS: usize = 250_000;

/// P(alive) over the frequency–recency grid as a heat map with its colour scale: repeat
/// purchases across, recency (time of the last purchase) up, one cell per history.
///
/// # Errors
/// [`Error::EmptyInput`] for a grid without rows or columns; [`Error::LengthMismatch`] for
/// rows of P(alive) that do not match the recencies and frequencies; [`Error::NonFinite`]
/// for a NaN or infinite probability (naming its row and frequency);
/// [`Error::InvalidParameter`] for more than [`MAX_CELLS`] cells.
pub fn alive_matrix(m: &AliveMatrix, opts: &PlotOptions) -> Result<String> {
    let (rows, cols) = (m.recency.len(), m.frequency.len());
    if rows == 0 || cols == 0 {
        return Err(Error::EmptyInput {
            what: "P(alive) grid",
        });
    }
    same_len("P(alive) rows", rows, m.p_alive.len())?;
    cells_within(rows, cols)?;
    for (i, row) in m.p_alive.iter().enumerate() {
        same_len("P(alive) row", cols, row.len())?;
        if let Some(j) = row.iter().position(|v| !v.is_finite()) {
            return Err(Error::NonFinite {
                at: Position::at_row(i).with_column(format!("frequency {}", m.frequency[j])),
                value: row[j],
            });
        }
    }
    plottable("recency", &m.recency)?;
    let title = opts.title_or(format!(
        "P(alive) by purchase history, customers of age T = {}",
        short(m.age)
    ));
    render("P(alive) matrix", opts, |root| {
        let root = titled(root, &title)?;
        let (left, right) = root.split_horizontally(root.dim_in_pixel().0.saturating_sub(110));
        let (x_desc, y_desc, desc) = axis_titles(
            &left,
            70,
            "repeat purchases (frequency)",
            "time of the last purchase (recency)",
        );
        let mut chart = ChartBuilder::on(&left)
            .margin(15)
            .x_label_area_size(48)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..cols as f64 - 0.5, -0.5..rows as f64 - 0.5)?;
        let x_fmt = |x: &f64| index_label(*x, cols, |j| m.frequency[j].to_string());
        let y_fmt = |y: &f64| index_label(*y, rows, |i| short(m.recency[i]));
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_mesh()
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .axis_desc_style(desc)
            .draw()?;
        chart.draw_series(m.p_alive.iter().enumerate().flat_map(|(i, row)| {
            row.iter().enumerate().map(move |(j, &p)| {
                let (x, y) = (j as f64, i as f64);
                Rectangle::new(
                    [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)],
                    viridis(p).filled(),
                )
            })
        }))?;
        colour_bar(&right, "P(alive)", 15, 48, |v| format!("{v:.1}"))
    })
}

/// The choice of k: the criterion that chose it, for every k tried, with the chosen k
/// marked by a vertical line and a larger point.
///
/// # Errors
/// [`Error::EmptyInput`] for an empty table; [`Error::NonFinite`] for a criterion value that
/// is not finite; [`Error::InvalidRecord`] for a BIC criterion without BIC values, a value
/// too large to plot, or a chosen k that is not in the table.
pub fn k_choice(c: &KChoice, opts: &PlotOptions) -> Result<String> {
    if c.table.is_empty() {
        return Err(Error::EmptyInput { what: "k table" });
    }
    let (column, axis) = match c.criterion {
        KCriterion::Silhouette => ("silhouette", "silhouette (higher is better)"),
        KCriterion::CalinskiHarabasz => (
            "calinski_harabasz",
            "Calinski–Harabasz index (higher is better)",
        ),
        KCriterion::DaviesBouldin => ("davies_bouldin", "Davies–Bouldin index (lower is better)"),
        KCriterion::Bic => ("bic", "BIC (lower is better)"),
    };
    let values: Vec<f64> = c
        .table
        .iter()
        .enumerate()
        .map(|(i, s)| match c.criterion {
            KCriterion::Silhouette => Ok(s.silhouette),
            KCriterion::CalinskiHarabasz => Ok(s.calinski_harabasz),
            KCriterion::DaviesBouldin => Ok(s.davies_bouldin),
            KCriterion::Bic => s.bic.ok_or_else(|| Error::InvalidRecord {
                at: Position::at_row(i).with_column("bic"),
                reason: format!("k = {} has no BIC to plot", s.k),
            }),
        })
        .collect::<Result<_>>()?;
    plottable(column, &values)?;
    let Some(chosen) = c.table.iter().position(|s| s.k == c.chosen) else {
        return Err(Error::InvalidRecord {
            at: Position::in_column("chosen"),
            reason: format!("the chosen k = {} is not in the table", c.chosen),
        });
    };
    let ks: Vec<f64> = c.table.iter().map(|s| s.k as f64).collect();
    plottable("k", &ks)?;
    let criterion = column.replace('_', " ");
    let title = opts.title_or(format!("Choice of k: {criterion} by number of segments"));
    render("choice of k", opts, |root| {
        let root = titled(root, &title)?;
        let (lo, hi) = ks
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &k| {
                (l.min(k), h.max(k))
            });
        let y = tight_range(&values);
        let (x_desc, y_desc, desc) = axis_titles(&root, 80, "number of segments k", axis);
        let mut chart = ChartBuilder::on(&root)
            .margin(15)
            .x_label_area_size(48)
            .y_label_area_size(80)
            .build_cartesian_2d(lo - 0.5..hi + 0.5, y.clone())?;
        let x_fmt = |x: &f64| {
            if (x - x.round()).abs() < 1e-9 {
                format!("{}", x.round())
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_x_mesh()
            .x_labels(((hi - lo) as usize + 2).min(25))
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&|v: &f64| short(*v))
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .axis_desc_style(desc)
            .draw()?;
        let k = ks[chosen];
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(k, y.start), (k, y.end)],
            GREY.stroke_width(1),
        )))?;
        let points: Vec<(f64, f64)> = ks.iter().copied().zip(values.iter().copied()).collect();
        chart
            .draw_series(LineSeries::new(points.clone(), ACTUAL.stroke_width(2)))?
            .label(criterion.clone())
            .legend(|(x, y)| line_glyph(x, y, ACTUAL));
        chart.draw_series(points.iter().map(|&p| Circle::new(p, 4, ACTUAL.filled())))?;
        chart
            .draw_series(std::iter::once(Circle::new(
                points[chosen],
                8,
                EXPECTED.filled(),
            )))?
            .label(format!("chosen: k = {}", c.chosen))
            .legend(|(x, y)| Circle::new((x + 10, y), 6, EXPECTED.filled()));
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
        Ok(())
    })
}

/// Most segments and features a profile figure shows: past these the panels and bars are
/// too small to read.
const MAX_PROFILE_SEGMENTS: usize = 24;
const MAX_PROFILE_FEATURES: usize = 30;

/// Segment profiles: one panel per feature, in the feature's own unit, with a bar per
/// segment at its mean (the value printed above it) and a grey line at the mean over all
/// customers; the legend names each segment with its size.
///
/// # Errors
/// [`Error::EmptyInput`] without profiles or features; [`Error::LengthMismatch`] when the
/// profiles do not have the same number of features; [`Error::InvalidRecord`] when they
/// name different features (or too large a mean to plot); [`Error::NonFinite`] for a mean
/// that is not finite (naming the profile's row and the feature);
/// [`Error::InvalidParameter`] for more than 24 segments or 30 features.
pub fn segment_profiles(profiles: &[SegmentProfile], opts: &PlotOptions) -> Result<String> {
    let Some(first) = profiles.first() else {
        return Err(Error::EmptyInput {
            what: "segment profiles",
        });
    };
    let d = first.features.len();
    if d == 0 {
        return Err(Error::EmptyInput { what: "features" });
    }
    if profiles.len() > MAX_PROFILE_SEGMENTS || d > MAX_PROFILE_FEATURES {
        return Err(Error::InvalidParameter {
            name: "profiles",
            value: format!("{} segments of {d} features", profiles.len()),
            reason: format!(
                "at most {MAX_PROFILE_SEGMENTS} segments and {MAX_PROFILE_FEATURES} features fit in one figure"
            ),
        });
    }
    for (i, p) in profiles.iter().enumerate() {
        same_len("profile features", d, p.features.len())?;
        for (f, base) in p.features.iter().zip(&first.features) {
            if f.feature != base.feature {
                return Err(Error::InvalidRecord {
                    at: Position::at_row(i).with_column(f.feature.as_str()),
                    reason: format!(
                        "segment {} has feature {:?} where the first has {:?}",
                        p.segment, f.feature, base.feature
                    ),
                });
            }
            for v in [f.mean, f.overall_mean] {
                if !v.is_finite() {
                    return Err(Error::NonFinite {
                        at: Position::at_row(i).with_column(f.feature.as_str()),
                        value: v,
                    });
                }
                within_bounds(i, f.feature.as_str(), v)?;
            }
        }
    }
    let title = opts.title_or("Segment profiles: each segment's mean of every feature");
    render("segment profiles", opts, |root| {
        let root = titled(root, &title)?;
        let (w, _) = root.dim_in_pixel();
        // The legend: one entry per segment, then the overall mean, in as many columns as
        // fit at about 260 pixels each.
        let entries = profiles.len() + 1;
        let per_row = ((w as usize).saturating_sub(30) / 260).clamp(1, entries);
        let legend_rows = entries.div_ceil(per_row);
        let (legend_area, body) = root.split_vertically(legend_rows as u32 * 20 + 12);
        let column_width = (w as i32 - 30) / per_row as i32;
        let text = label_font().pos(Pos::new(HPos::Left, VPos::Center));
        for e in 0..entries {
            let (x, y) = (
                15 + (e % per_row) as i32 * column_width,
                12 + (e / per_row) as i32 * 20,
            );
            let max_chars = (column_width as usize).saturating_sub(30) / 7;
            if let Some(p) = profiles.get(e) {
                let colour = segment_colour(e);
                legend_area.draw(&Rectangle::new(
                    [(x, y - 6), (x + 14, y + 6)],
                    colour.filled(),
                ))?;
                let label = format!(
                    "{} ({}, {:.0} %)",
                    p.name,
                    thousands(p.size as f64),
                    100.0 * p.share
                );
                legend_area.draw(&Text::new(
                    fit_label(&label, max_chars),
                    (x + 20, y),
                    text.clone(),
                ))?;
            } else {
                legend_area.draw(&PathElement::new(
                    vec![(x, y), (x + 14, y)],
                    GREY.stroke_width(2),
                ))?;
                legend_area.draw(&Text::new(
                    "all customers".to_string(),
                    (x + 20, y),
                    text.clone(),
                ))?;
            }
        }
        let grid_cols = if d <= 3 { d } else { d.div_ceil(2).min(4) };
        let grid_rows = d.div_ceil(grid_cols);
        let panels = body.split_evenly((grid_rows, grid_cols));
        let s = profiles.len();
        for (j, panel) in panels.iter().enumerate().take(d) {
            let means: Vec<f64> = profiles.iter().map(|p| p.features[j].mean).collect();
            let overall = first.features[j].overall_mean;
            let y = value_range(means.iter().copied().chain([overall]), 0.18);
            let (caption, size) = fit_text(
                &first.features[j].feature,
                15.0,
                10.0,
                f64::from(panel.dim_in_pixel().0) - 20.0,
            );
            let mut chart = ChartBuilder::on(panel)
                .caption(caption, ("sans-serif", size))
                .margin(8)
                .x_label_area_size(6)
                .y_label_area_size(55)
                .build_cartesian_2d(-0.6..s as f64 - 0.4, y)?;
            chart
                .configure_mesh()
                .max_light_lines(1)
                .disable_x_mesh()
                .x_labels(0)
                .y_labels(5)
                .y_label_formatter(&|v: &f64| short(*v))
                .label_style(label_font())
                .draw()?;
            chart.draw_series(means.iter().enumerate().map(|(i, &v)| {
                let x = i as f64;
                Rectangle::new([(x - 0.38, 0.0), (x + 0.38, v)], segment_colour(i).filled())
            }))?;
            chart.draw_series(std::iter::once(PathElement::new(
                vec![(-0.6, overall), (s as f64 - 0.4, overall)],
                GREY.stroke_width(2),
            )))?;
            chart.draw_series(means.iter().enumerate().map(|(i, &v)| {
                let (dy, v_pos) = if v >= 0.0 {
                    (-3, VPos::Bottom)
                } else {
                    (3, VPos::Top)
                };
                EmptyElement::at((i as f64, v))
                    + Text::new(
                        short(v),
                        (0, dy),
                        note_font().pos(Pos::new(HPos::Center, v_pos)),
                    )
            }))?;
        }
        Ok(())
    })
}

/// Most segments on a side of a migration matrix.
const MAX_MIGRATION_SEGMENTS: usize = 100;

/// Migration between two snapshots as a heat map: a row per segment before, a column per
/// segment after; each cell gives its customers and their share of the row, coloured by
/// that share. Customers without a segment, customers only in the first snapshot
/// ("(gone)") and only in the second ("(new)") get a row or column of their own when there
/// are any.
///
/// # Errors
/// [`Error::EmptyInput`] when no customer is in either snapshot; [`Error::LengthMismatch`]
/// when the counts do not have a row and column per segment plus one for "no segment";
/// [`Error::InvalidParameter`] for more than 100 segments on a side.
pub fn migration(m: &Migration, opts: &PlotOptions) -> Result<String> {
    let (nb, na) = (m.before.len(), m.after.len());
    if nb > MAX_MIGRATION_SEGMENTS || na > MAX_MIGRATION_SEGMENTS {
        return Err(Error::InvalidParameter {
            name: "migration",
            value: format!("{nb} segments before, {na} after"),
            reason: format!("at most {MAX_MIGRATION_SEGMENTS} on a side fit in one figure"),
        });
    }
    same_len("migration rows", nb + 1, m.counts.len())?;
    for row in &m.counts {
        same_len("migration row", na + 1, row.len())?;
    }
    same_len("vanished", nb + 1, m.vanished.len())?;
    same_len("new customers", na + 1, m.new_customers.len())?;
    let total = m
        .counts
        .iter()
        .flatten()
        .chain(&m.vanished)
        .chain(&m.new_customers)
        .fold(0u128, |a, &c| a + c as u128);
    if total == 0 {
        return Err(Error::EmptyInput {
            what: "migration (no customers)",
        });
    }
    // Rows: segments before, "(no segment)" and "(new)" when used; columns likewise with
    // "(gone)". A cell is `None` where no customer can be (new and gone at once).
    let no_segment_row = m.counts[nb].iter().any(|&c| c > 0) || m.vanished[nb] > 0;
    let no_segment_col = m.counts.iter().any(|r| r[na] > 0) || m.new_customers[na] > 0;
    let gone = m.vanished.iter().any(|&c| c > 0);
    let new = m.new_customers.iter().any(|&c| c > 0);
    let mut row_names: Vec<String> = m.before.clone();
    let mut before_rows: Vec<usize> = (0..nb).collect();
    if no_segment_row {
        row_names.push("(no segment)".into());
        before_rows.push(nb);
    }
    let mut col_names: Vec<String> = m.after.clone();
    let mut after_cols: Vec<usize> = (0..na).collect();
    if no_segment_col {
        col_names.push("(no segment)".into());
        after_cols.push(na);
    }
    let mut cells: Vec<Vec<Option<usize>>> = before_rows
        .iter()
        .map(|&i| {
            let mut row: Vec<Option<usize>> =
                after_cols.iter().map(|&j| Some(m.counts[i][j])).collect();
            if gone {
                row.push(Some(m.vanished[i]));
            }
            row
        })
        .collect();
    if gone {
        col_names.push("(gone)".into());
    }
    if new {
        let mut row: Vec<Option<usize>> = after_cols
            .iter()
            .map(|&j| Some(m.new_customers[j]))
            .collect();
        if gone {
            row.push(None);
        }
        cells.push(row);
        row_names.push("(new)".into());
    }
    let (rows, cols) = (row_names.len(), col_names.len());
    if rows == 0 || cols == 0 {
        return Err(Error::EmptyInput {
            what: "migration segments",
        });
    }
    let title = opts.title_or("Migration: where each segment's customers went");
    render("migration", opts, |root| {
        let root = titled(root, &title)?;
        let (w, h) = root.dim_in_pixel();
        let longest = row_names
            .iter()
            .map(|n| n.chars().count())
            .max()
            .unwrap_or(0);
        let y_area = ((longest * 7 + 40) as u32).clamp(60, w / 3);
        let (left, right) = root.split_horizontally(w.saturating_sub(110));
        let (x_desc, y_desc, desc) = axis_titles(&left, y_area, "segment after", "segment before");
        let plot_width = w.saturating_sub(110 + y_area + 30);
        // About 6.5 pixels a character at the labels' size.
        let col_chars = (plot_width as usize / cols).saturating_sub(6) * 2 / 13;
        let row_chars = (y_area as usize).saturating_sub(40) / 7;
        let mut chart = ChartBuilder::on(&left)
            .margin(15)
            .x_label_area_size(48)
            .y_label_area_size(y_area)
            .build_cartesian_2d(-0.5..cols as f64 - 0.5, -0.5..rows as f64 - 0.5)?;
        // Row r is drawn at y = rows − 1 − r: the first segment on top.
        let x_fmt = |x: &f64| index_label(*x, cols, |j| fit_label(&col_names[j], col_chars.max(3)));
        let y_fmt = |y: &f64| {
            index_label(*y, rows, |i| {
                fit_label(&row_names[rows - 1 - i], row_chars.max(3))
            })
        };
        chart
            .configure_mesh()
            .max_light_lines(1)
            .disable_mesh()
            .x_labels(cols + 1)
            .y_labels(rows + 1)
            .x_label_formatter(&x_fmt)
            .y_label_formatter(&y_fmt)
            .x_desc(x_desc)
            .y_desc(y_desc)
            .label_style(label_font())
            .axis_desc_style(desc)
            .draw()?;
        let cell_px = (h as usize / (rows + 2)).min(plot_width as usize / cols);
        let font_px = (cell_px / 4).clamp(8, 14) as u32;
        for (r, row) in cells.iter().enumerate() {
            let row_total: usize = row.iter().flatten().sum();
            let y = (rows - 1 - r) as f64;
            for (c, cell) in row.iter().enumerate() {
                let x = c as f64;
                let corners = [(x - 0.5, y - 0.5), (x + 0.5, y + 0.5)];
                let Some(count) = *cell else {
                    chart.draw_series(std::iter::once(Rectangle::new(corners, WHITE.filled())))?;
                    continue;
                };
                let share = if row_total > 0 {
                    count as f64 / row_total as f64
                } else {
                    0.0
                };
                let fill = viridis(share);
                chart.draw_series(std::iter::once(Rectangle::new(corners, fill.filled())))?;
                let ink = if share < 0.6 { WHITE } else { BLACK };
                let font = ("sans-serif", font_px).into_font().color(&ink);
                let mut texts = vec![(thousands(count as f64), if count > 0 { -1 } else { 0 })];
                if count > 0 {
                    let percent = if share < 0.005 {
                        "<1 %".to_string()
                    } else {
                        format!("{:.0} %", 100.0 * share)
                    };
                    texts.push((percent, 1));
                }
                chart.draw_series(texts.into_iter().map(|(t, line)| {
                    let v_pos = match line {
                        -1 => VPos::Bottom,
                        1 => VPos::Top,
                        _ => VPos::Center,
                    };
                    EmptyElement::at((x, y))
                        + Text::new(t, (0, line), font.pos(Pos::new(HPos::Center, v_pos)))
                }))?;
            }
        }
        colour_bar(&right, "share of the row", 15, 48, |v| {
            format!("{:.0} %", 100.0 * v)
        })
    })
}

// ---------------------------------------------------------------------------------------
// Shared drawing.

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;
type Drawn = std::result::Result<(), DrawingAreaErrorKind<io::Error>>;

/// The Okabe–Ito colours, distinguishable with every common colour-vision deficiency.
const ACTUAL: RGBColor = RGBColor(0, 114, 178);
const EXPECTED: RGBColor = RGBColor(213, 94, 0);
const GREY: RGBColor = RGBColor(110, 110, 110);
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
    RGBColor(204, 121, 167),
    RGBColor(0, 0, 0),
    RGBColor(150, 150, 150),
];

fn segment_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn desc_font(size: f64) -> TextStyle<'static> {
    ("sans-serif", size).into_font().color(&BLACK)
}

/// Roughly how many pixels `text` takes at font `size` (plotters' sizes, written as
/// size / 1.24 in the SVG; sans-serif letters average a little over half an em).
fn text_px(text: &str, size: f64) -> f64 {
    text.chars().count() as f64 * size * 0.45
}

/// `text` at the largest font size up to `size`, and not below `min`, that fits `px`
/// pixels; cut with an ellipsis when even `min` is too large.
fn fit_text(text: &str, size: f64, min: f64, px: f64) -> (String, f64) {
    let wide = text_px(text, size);
    if wide <= px {
        return (text.to_string(), size);
    }
    let size = (size * px / wide).max(min);
    let chars = (px.max(0.0) / (size * 0.45)).floor() as usize;
    (fit_label(text, chars.max(3)), size)
}

/// The figure's title, shrunk or cut to fit its width, above the rest of the area.
fn titled<'a>(
    root: &Area<'a>,
    title: &str,
) -> std::result::Result<Area<'a>, DrawingAreaErrorKind<io::Error>> {
    let width = f64::from(root.dim_in_pixel().0);
    let (title, size) = fit_text(title, 20.0, 12.0, width - 20.0);
    root.titled(&title, ("sans-serif", size).into_font().color(&BLACK))
}

/// The axis titles of a chart on `area` with a y label area `y_area` pixels wide, shrunk
/// or cut to fit the axes, and their font.
fn axis_titles(
    area: &Area<'_>,
    y_area: u32,
    x: &str,
    y: &str,
) -> (String, String, TextStyle<'static>) {
    let (w, h) = area.dim_in_pixel();
    let (x, x_size) = fit_text(x, 16.0, 10.0, f64::from(w) - f64::from(y_area) - 30.0);
    let (y, y_size) = fit_text(y, 16.0, 10.0, f64::from(h) - 48.0 - 30.0);
    (x, y, desc_font(x_size.min(y_size)))
}

fn label_font() -> TextStyle<'static> {
    ("sans-serif", 14).into_font().color(&BLACK)
}

fn note_font() -> TextStyle<'static> {
    ("sans-serif", 13).into_font().color(&BLACK)
}

/// Draws a figure into an SVG string; plotters' errors (none are expected from a string
/// backend once the inputs are checked) become the crate's.
fn render(
    figure: &'static str,
    opts: &PlotOptions,
    draw: impl FnOnce(&Area<'_>) -> Drawn,
) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (opts.width, opts.height)).into_drawing_area();
        root.fill(&WHITE)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present())
            .map_err(|e| Error::InvalidParameter {
                name: "plot options",
                value: format!("{figure} at {} × {} pixels", opts.width, opts.height),
                reason: format!("the figure could not be drawn: {e}"),
            })?;
    }
    Ok(svg)
}

/// The cumulative or the per-period tracking curves.
fn draw_tracking(root: &Area<'_>, t: &Tracking, opts: &PlotOptions, cumulative: bool) -> Drawn {
    let (actual, expected, title, y_desc, legend_at) = if cumulative {
        (
            &t.cumulative_actual,
            &t.cumulative_expected,
            "Tracking: cumulative repeat purchases, actual and expected",
            "repeat purchases, cumulative",
            SeriesLabelPosition::LowerRight,
        )
    } else {
        (
            &t.actual,
            &t.expected,
            "Tracking: repeat purchases per period, actual and expected",
            "repeat purchases in the period",
            SeriesLabelPosition::UpperRight,
        )
    };
    let root = titled(root, &opts.title_or(title))?;
    let n = t.period_ends.len();
    let y = value_range(actual.iter().chain(expected).copied(), 0.1);
    let mut chart = ChartBuilder::on(&root)
        .margin(15)
        .x_label_area_size(48)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..n as f64, y.clone())?;
    let unit = match t.period_days {
        7 => "weeks".to_string(),
        1 => "days".to_string(),
        d => format!("periods of {d} days"),
    };
    let start = t.period_ends[0]
        .add_days(-(i64::from(t.period_days) - 1))
        .map(|d| format!(" (from {d})"))
        .unwrap_or_default();
    let (x_title, y_title, desc) = axis_titles(
        &root,
        70,
        &format!("{unit} since the first purchase in the log{start}"),
        y_desc,
    );
    chart
        .configure_mesh()
        .max_light_lines(1)
        .x_label_formatter(&|x: &f64| format!("{x:.0}"))
        .y_label_formatter(&|v: &f64| thousands(*v))
        .x_desc(x_title)
        .y_desc(y_title)
        .label_style(label_font())
        .axis_desc_style(desc)
        .draw()?;
    let cp = t.calibration_periods;
    if cp > 0 && cp < n {
        let x = cp as f64;
        chart.draw_series(std::iter::once(PathElement::new(
            vec![(x, y.start), (x, y.end)],
            GREY.stroke_width(1),
        )))?;
        // The longest labels that fit between the line and the plot's edges.
        let end = t.period_ends[cp - 1];
        let px = |x: f64| f64::from(chart.backend_coord(&(x, y.end)).0);
        let (left, line, right) = (px(0.0), px(x), px(n as f64));
        let size = 13.0;
        let before = [format!("end of calibration ({end})"), "calibration".into()]
            .into_iter()
            .find(|l| text_px(l, size) + 10.0 <= line - left);
        let after = Some("holdout".to_string()).filter(|l| text_px(l, size) + 10.0 <= right - line);
        let labels = [(before, -4, HPos::Right), (after, 4, HPos::Left)];
        chart.draw_series(labels.into_iter().filter_map(|(label, dx, h)| {
            label.map(|l| {
                EmptyElement::at((x, y.end))
                    + Text::new(l, (dx, 6), note_font().pos(Pos::new(h, VPos::Top)))
            })
        }))?;
    }
    // Cumulative curves start from nothing at the log's first day; increments are points
    // at the end of each period.
    let series = |values: &[f64]| -> Vec<(f64, f64)> {
        let points = values.iter().enumerate().map(|(k, &v)| ((k + 1) as f64, v));
        if cumulative {
            std::iter::once((0.0, 0.0)).chain(points).collect()
        } else {
            points.collect()
        }
    };
    let expected_label = opts.expected_label();
    for (values, colour, label) in [
        (actual, ACTUAL, "actual"),
        (expected, EXPECTED, expected_label.as_str()),
    ] {
        chart
            .draw_series(LineSeries::new(series(values), colour.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| line_glyph(x, y, colour));
    }
    legend(&mut chart, legend_at)?;
    Ok(())
}

/// A vertical colour scale from 0 (bottom) to 1 (top), its labels formatted by `format`.
fn colour_bar(
    area: &Area<'_>,
    desc: &str,
    top: u32,
    bottom: u32,
    format: impl Fn(f64) -> String,
) -> Drawn {
    const STEPS: usize = 50;
    let mut bar = ChartBuilder::on(area)
        .margin_top(top)
        .margin_bottom(15)
        .margin_right(30)
        .x_label_area_size(bottom)
        .y_label_area_size(62)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)?;
    bar.configure_mesh()
        .max_light_lines(1)
        .disable_mesh()
        .disable_x_axis()
        .set_all_tick_mark_size(5)
        .y_labels(6)
        .y_label_formatter(&|v: &f64| format(*v))
        .y_desc(desc)
        .label_style(label_font())
        .axis_desc_style(desc_font(16.0))
        .draw()?;
    bar.draw_series((0..STEPS).map(|k| {
        let (lo, hi) = (k as f64 / STEPS as f64, (k + 1) as f64 / STEPS as f64);
        Rectangle::new([(0.0, lo), (1.0, hi)], viridis((lo + hi) / 2.0).filled())
    }))?;
    Ok(())
}

fn legend<'a, 'b>(
    chart: &mut ChartContext<
        'a,
        SVGBackend<'b>,
        Cartesian2d<plotters::coord::types::RangedCoordf64, plotters::coord::types::RangedCoordf64>,
    >,
    at: SeriesLabelPosition,
) -> Drawn
where
    'b: 'a,
{
    chart
        .configure_series_labels()
        .position(at)
        .margin(10)
        .label_font(label_font())
        .background_style(WHITE.mix(0.9))
        .border_style(GREY)
        .draw()
}

fn line_glyph(x: i32, y: i32, colour: RGBColor) -> PathElement<(i32, i32)> {
    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
}

fn box_glyph(x: i32, y: i32, colour: RGBColor) -> Rectangle<(i32, i32)> {
    Rectangle::new([(x + 2, y - 6), (x + 16, y + 6)], colour.filled())
}

/// The viridis colour map at `t` in [0, 1] (clamped): dark blue through green to yellow,
/// even in lightness, readable in grey and with colour-vision deficiencies.
fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 45, 123),
        (59, 82, 139),
        (44, 114, 142),
        (33, 145, 140),
        (40, 174, 128),
        (94, 201, 98),
        (173, 220, 48),
        (253, 231, 37),
    ];
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let mix = |a: u8, b: u8| (f64::from(a) + f * (f64::from(b) - f64::from(a))).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

// ---------------------------------------------------------------------------------------
// Checks and numbers.

/// Values past this are not plotted: axis arithmetic on them would overflow.
const MAX_MAGNITUDE: f64 = 1e100;

fn check_tracking(t: &Tracking, cumulative: bool) -> Result<()> {
    let n = t.period_ends.len();
    if n == 0 {
        return Err(Error::EmptyInput {
            what: "tracking periods",
        });
    }
    let (a, e, actual, expected) = if cumulative {
        (
            "cumulative_actual",
            "cumulative_expected",
            &t.cumulative_actual,
            &t.cumulative_expected,
        )
    } else {
        ("actual", "expected", &t.actual, &t.expected)
    };
    same_len(a, n, actual.len())?;
    same_len(e, n, expected.len())?;
    plottable(a, actual)?;
    plottable(e, expected)?;
    if t.calibration_periods > n {
        return Err(Error::InvalidRecord {
            at: Position::in_column("calibration_periods"),
            reason: format!(
                "{} calibration periods of {n} periods",
                t.calibration_periods
            ),
        });
    }
    Ok(())
}

fn same_len(what: &'static str, expected: usize, got: usize) -> Result<()> {
    if expected == got {
        Ok(())
    } else {
        Err(Error::LengthMismatch {
            what,
            expected,
            got,
        })
    }
}

/// Every value finite and small enough for the axis arithmetic.
fn plottable(column: &'static str, values: &[f64]) -> Result<()> {
    for (i, &v) in values.iter().enumerate() {
        if !v.is_finite() {
            return Err(Error::NonFinite {
                at: Position::at_row(i).with_column(column),
                value: v,
            });
        }
        within_bounds(i, column, v)?;
    }
    Ok(())
}

fn within_bounds(row: usize, column: &str, v: f64) -> Result<()> {
    if v.abs() > MAX_MAGNITUDE {
        return Err(Error::InvalidRecord {
            at: Position::at_row(row).with_column(column),
            reason: format!("{v:e} is too large to plot (at most {MAX_MAGNITUDE:e} in size)"),
        });
    }
    Ok(())
}

fn cells_within(rows: usize, cols: usize) -> Result<()> {
    if rows.saturating_mul(cols) > MAX_CELLS {
        return Err(Error::InvalidParameter {
            name: "grid",
            value: format!("{rows} × {cols} cells"),
            reason: format!("at most {MAX_CELLS} cells in a heat map"),
        });
    }
    Ok(())
}

/// From 0 (or below, for negative values) to the largest value with `headroom` above it;
/// never an empty range.
fn value_range(values: impl Iterator<Item = f64>, headroom: f64) -> Range<f64> {
    let (lo, hi) = values.fold((0.0f64, 0.0f64), |(l, h), v| (l.min(v), h.max(v)));
    let span = hi - lo;
    if span <= 0.0 {
        return 0.0..1.0;
    }
    let pad = span * headroom;
    (if lo < 0.0 { lo - pad } else { 0.0 })..(hi + pad)
}

/// From just below the smallest value to just above the largest (for criteria whose level
/// means nothing, only their differences).
fn tight_range(values: &[f64]) -> Range<f64> {
    let (lo, hi) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
            (l.min(v), h.max(v))
        });
    let span = hi - lo;
    let pad = if span > 0.0 {
        span * 0.12
    } else {
        (hi.abs() * 0.05).max(0.05)
    };
    (lo - pad)..(hi + pad)
}

/// The label of category `x` (an integer position) or nothing between categories.
fn category(x: f64, labels: &[String]) -> String {
    index_label(x, labels.len(), |i| labels[i].clone())
}

fn index_label(x: f64, n: usize, label: impl Fn(usize) -> String) -> String {
    let i = x.round();
    if (x - i).abs() < 1e-6 && i >= 0.0 && (i as usize) < n {
        label(i as usize)
    } else {
        String::new()
    }
}

/// A label cut to `max_chars` characters with an ellipsis.
fn fit_label(label: &str, max_chars: usize) -> String {
    if label.chars().count() <= max_chars {
        label.to_string()
    } else {
        let mut cut: String = label.chars().take(max_chars.saturating_sub(1)).collect();
        cut.push('…');
        cut
    }
}

/// A count with thousands separators: 1,882.
fn thousands(v: f64) -> String {
    let r = v.round();
    if r.abs() >= 1e15 {
        return format!("{r:e}");
    }
    let digits = format!("{}", r.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if r < 0.0 { format!("−{out}") } else { out }
}

/// Three significant figures or so: 0.253, 4.41, 38.2, 1,653.
fn short(v: f64) -> String {
    let a = v.abs();
    let s = if a == 0.0 {
        "0".to_string()
    } else if a >= 1000.0 || (a.fract() == 0.0 && a < 1e15) {
        return thousands(v);
    } else if a >= 100.0 {
        format!("{a:.0}")
    } else if a >= 10.0 {
        format!("{a:.1}")
    } else if a >= 1.0 {
        format!("{a:.2}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else if a >= 0.01 {
        format!("{a:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
    } else {
        format!("{a:.1e}")
    };
    if v < 0.0 { format!("−{s}") } else { s }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_plainly() {
        assert_eq!(thousands(1882.0), "1,882");
        assert_eq!(thousands(-1234567.4), "−1,234,567");
        assert_eq!(thousands(12.0), "12");
        assert_eq!(short(0.2531), "0.253");
        assert_eq!(short(4.4135), "4.41");
        assert_eq!(short(2.0), "2");
        assert_eq!(short(38.25), "38.2");
        assert_eq!(short(80.0), "80");
        assert_eq!(short(1653.4), "1,653");
        assert_eq!(short(-0.5), "−0.5");
        assert_eq!(fit_label("high-value loyal", 8), "high-va…");
    }

    #[test]
    fn viridis_runs_dark_to_light() {
        assert_eq!(viridis(0.0), RGBColor(68, 1, 84));
        assert_eq!(viridis(1.0), RGBColor(253, 231, 37));
        assert_eq!(viridis(f64::NAN), viridis(0.0));
        assert_eq!(viridis(2.0), viridis(1.0));
    }

    #[test]
    fn ranges_are_never_empty() {
        assert_eq!(value_range([0.0, 0.0].into_iter(), 0.1), 0.0..1.0);
        let r = tight_range(&[0.3, 0.3]);
        assert!(r.start < 0.3 && r.end > 0.3);
    }
}
