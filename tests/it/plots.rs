//! The figures (feature `plots`): each renders to well-formed SVG with the series it should
//! have, and bad records give errors rather than panics or empty pictures.
#![cfg(feature = "plots")]

use custseg::clv::{
    AliveMatrix, BgNbd, ConditionalExpectations, FrequencyFit, FrequencyGroup, Tracking,
};
use custseg::datasets::{BlobsConfig, blobs, cdnow_sample, cdnow_sample_config};
use custseg::plot::{self, PlotOptions};
use custseg::report::{Migration, migration};
use custseg::segment::{
    FeatureContrast, KChoice, KCriterion, KMeansParams, KScore, KSearch, SegmentProfile, choose_k,
};
use custseg::{CustomerId, Error, ErrorKind, TimeUnit};

const ACTUAL: &str = "#0072B2";
const EXPECTED: &str = "#D55E00";

fn bgnbd() -> BgNbd {
    // Fader, Hardie & Lee (2005), CDNOW sample in weeks.
    BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258)
        .unwrap()
        .with_unit(TimeUnit::Weeks)
}

fn opts() -> PlotOptions {
    PlotOptions::default().with_model("BG/NBD")
}

/// Parses the SVG and checks its root, handing the tree to `check`.
fn svg_tree(svg: &str, check: impl FnOnce(&roxmltree::Document)) {
    let doc = roxmltree::Document::parse(svg).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "svg");
    assert_eq!(
        root.tag_name().namespace(),
        Some("http://www.w3.org/2000/svg")
    );
    assert!(root.attribute("viewBox").is_some());
    check(&doc);
}

fn elements<'a>(doc: &'a roxmltree::Document, tag: &str) -> Vec<roxmltree::Node<'a, 'a>> {
    doc.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == tag)
        .collect()
}

fn count(doc: &roxmltree::Document, tag: &str) -> usize {
    elements(doc, tag).len()
}

/// Every text of the figure, trimmed.
fn texts(doc: &roxmltree::Document) -> Vec<String> {
    elements(doc, "text")
        .iter()
        .map(|t| t.text().unwrap_or("").trim().to_string())
        .collect()
}

fn has_text(doc: &roxmltree::Document, text: &str) -> bool {
    texts(doc).iter().any(|t| t == text)
}

/// The number of points of each polyline stroked in `colour` with more than two points (the
/// legend's glyphs have two).
fn series_lengths(doc: &roxmltree::Document, colour: &str) -> Vec<usize> {
    elements(doc, "polyline")
        .iter()
        .filter(|p| p.attribute("stroke") == Some(colour))
        .map(|p| {
            p.attribute("points")
                .unwrap_or("")
                .split_whitespace()
                .count()
        })
        .filter(|&n| n > 2)
        .collect()
}

fn filled(doc: &roxmltree::Document, tag: &str, colour: &str) -> usize {
    elements(doc, tag)
        .iter()
        .filter(|r| r.attribute("fill") == Some(colour))
        .count()
}

fn tracking_cdnow() -> Tracking {
    Tracking::weekly(&bgnbd(), &cdnow_sample(), &cdnow_sample_config()).unwrap()
}

#[test]
fn tracking_draws_both_curves_and_the_end_of_calibration() {
    let t = tracking_cdnow();
    let svg = plot::tracking(&t, &opts()).unwrap();
    svg_tree(&svg, |doc| {
        // From the log's first day (0) to the end of each of the 78 weeks.
        assert_eq!(series_lengths(doc, ACTUAL), [79]);
        assert_eq!(series_lengths(doc, EXPECTED), [79]);
        assert!(has_text(doc, "actual"));
        assert!(has_text(doc, "expected (BG/NBD)"));
        assert!(has_text(doc, "end of calibration (1997-09-30)"));
        assert!(has_text(doc, "holdout"));
        assert!(has_text(
            doc,
            "weeks since the first purchase in the log (from 1997-01-01)"
        ));
    });
    let svg = plot::tracking_incremental(&t, &opts()).unwrap();
    svg_tree(&svg, |doc| {
        assert_eq!(series_lengths(doc, ACTUAL), [78]);
        assert_eq!(series_lengths(doc, EXPECTED), [78]);
        assert!(has_text(doc, "repeat purchases in the period"));
    });
}

#[test]
fn calibration_vs_holdout_has_a_point_per_group_and_the_totals() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let check = ConditionalExpectations::new(&bgnbd(), summaries.as_slice(), 39.0, 7).unwrap();
    let svg = plot::conditional_expectations(&check, &opts()).unwrap();
    svg_tree(&svg, |doc| {
        assert_eq!(series_lengths(doc, ACTUAL), [8]);
        assert_eq!(series_lengths(doc, EXPECTED), [8]);
        assert_eq!(filled(doc, "circle", ACTUAL), 8);
        assert_eq!(filled(doc, "circle", EXPECTED), 8);
        for label in ["0", "6", "7+", "actual", "expected (BG/NBD)"] {
            assert!(has_text(doc, label), "{label}");
        }
        assert!(
            texts(doc)
                .iter()
                .any(|t| t.starts_with("holdout total: actual 1,882, expected 1,653")),
            "{:?}",
            texts(doc)
        );
    });
}

#[test]
fn frequency_fit_has_a_pair_of_bars_per_count() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let fit = FrequencyFit::new(&bgnbd(), summaries.as_slice(), 7).unwrap();
    let svg = plot::frequency_fit(&fit, &opts()).unwrap();
    svg_tree(&svg, |doc| {
        // Eight bars each and one legend swatch.
        assert_eq!(filled(doc, "rect", ACTUAL), 9);
        assert_eq!(filled(doc, "rect", EXPECTED), 9);
        assert!(has_text(doc, "7+"));
        assert!(has_text(doc, "customers"));
        assert!(texts(doc).iter().any(|t| t.contains("χ² = ")));
    });
}

#[test]
fn alive_matrix_has_a_cell_per_history_and_a_colour_scale() {
    let m = AliveMatrix::new(&bgnbd(), 29, 38.0).unwrap();
    let one = AliveMatrix::new(&bgnbd(), 0, 0.0).unwrap();
    let (svg, svg_one) = (
        plot::alive_matrix(&m, &opts()).unwrap(),
        plot::alive_matrix(&one, &opts()).unwrap(),
    );
    let (mut rects, mut rects_one) = (0, 0);
    svg_tree(&svg, |doc| {
        rects = count(doc, "rect");
        assert!(has_text(doc, "P(alive)"));
        assert!(has_text(doc, "repeat purchases (frequency)"));
        assert!(has_text(doc, "time of the last purchase (recency)"));
    });
    svg_tree(&svg_one, |doc| rects_one = count(doc, "rect"));
    // Everything else (background, colour scale) is the same in both.
    assert_eq!(rects - rects_one, 39 * 30 - 1);
}

#[test]
fn k_choice_draws_the_criterion_and_marks_the_chosen_k() {
    let b = blobs(&BlobsConfig::new(600, 2, 3).with_spread(0.3).with_seed(1)).unwrap();
    let search = KSearch::new(2..=6, KCriterion::CalinskiHarabasz).unwrap();
    let choice = choose_k(b.data.view(), KMeansParams::new, &search).unwrap();
    let svg = plot::k_choice(&choice, &PlotOptions::default()).unwrap();
    svg_tree(&svg, |doc| {
        assert_eq!(series_lengths(doc, ACTUAL), [5]);
        assert_eq!(filled(doc, "circle", ACTUAL), 5);
        // The chosen k's marker and its legend glyph.
        assert_eq!(filled(doc, "circle", EXPECTED), 2);
        assert!(has_text(doc, "chosen: k = 3"));
        assert!(has_text(doc, "Calinski–Harabasz index (higher is better)"));
        assert!(has_text(doc, "number of segments k"));
    });
}

fn profile(segment: usize, name: &str, means: &[f64]) -> SegmentProfile {
    let features = ["recency_days", "frequency"];
    SegmentProfile {
        segment,
        name: name.into(),
        size: 100 * (segment + 1),
        share: (segment + 1) as f64 / 6.0,
        features: features
            .iter()
            .zip(means)
            .map(|(f, &mean)| FeatureContrast {
                feature: f.to_string(),
                mean,
                overall_mean: 10.0,
                index: Some(10.0 * mean),
                z: 0.0,
            })
            .collect(),
        tags: vec![],
    }
}

fn three_profiles() -> Vec<SegmentProfile> {
    vec![
        profile(0, "loyal", &[12.0, 5.5]),
        profile(1, "at risk", &[80.0, 2.0]),
        profile(2, "lost", &[200.0, 1.0]),
    ]
}

#[test]
fn segment_profiles_have_a_panel_per_feature_and_a_bar_per_segment() {
    let svg = plot::segment_profiles(&three_profiles(), &PlotOptions::default()).unwrap();
    svg_tree(&svg, |doc| {
        // Per segment: one bar in each of the two panels and its legend swatch.
        for colour in [ACTUAL, EXPECTED, "#009E73"] {
            assert_eq!(filled(doc, "rect", colour), 3, "{colour}");
        }
        for label in [
            "recency_days",
            "frequency",
            "loyal (100, 17 %)",
            "at risk (200, 33 %)",
            "lost (300, 50 %)",
            "all customers",
            "5.5",
            "200",
        ] {
            assert!(has_text(doc, label), "{label}: {:?}", texts(doc));
        }
    });
}

fn snapshot(pairs: &[(&str, Option<usize>)]) -> Vec<(CustomerId, Option<usize>)> {
    pairs.iter().map(|&(id, s)| (id.into(), s)).collect()
}

#[test]
fn migration_has_a_cell_per_transition_with_counts_and_shares() {
    let names = vec!["gold".to_string(), "silver".to_string()];
    let before = snapshot(&[
        ("a", Some(0)),
        ("b", Some(0)),
        ("c", Some(1)),
        ("d", Some(1)),
        ("e", Some(1)),
    ]);
    let after = snapshot(&[
        ("a", Some(0)),
        ("b", Some(1)),
        ("c", Some(1)),
        ("f", Some(0)),
    ]);
    let m = migration(&before, &names, &after, &names).unwrap();
    let one = migration(
        &snapshot(&[("a", Some(0))]),
        &names[..1],
        &snapshot(&[("a", Some(0))]),
        &names[..1],
    )
    .unwrap();
    let (mut rects, mut rects_one) = (0, 0);
    svg_tree(&plot::migration(&m, &opts()).unwrap(), |doc| {
        rects = count(doc, "rect");
        for label in [
            "gold", "silver", "(gone)", "(new)", "50 %", "33 %", "100 %", "2",
        ] {
            assert!(has_text(doc, label), "{label}: {:?}", texts(doc));
        }
        assert!(has_text(doc, "segment before"));
        assert!(has_text(doc, "segment after"));
        assert!(has_text(doc, "share of the row"));
    });
    svg_tree(&plot::migration(&one, &opts()).unwrap(), |doc| {
        rects_one = count(doc, "rect")
    });
    // Gold, silver and new customers before; gold, silver and gone after.
    assert_eq!(rects - rects_one, 3 * 3 - 1);
}

#[test]
fn every_figure_draws_at_the_smallest_size() {
    let small = PlotOptions::default().with_size(400, 400).unwrap();
    let t = tracking_cdnow();
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let check = ConditionalExpectations::new(&bgnbd(), summaries.as_slice(), 39.0, 7).unwrap();
    let fit = FrequencyFit::new(&bgnbd(), summaries.as_slice(), 7).unwrap();
    let m = AliveMatrix::new(&bgnbd(), 10, 10.0).unwrap();
    let choice = KChoice {
        table: (2..=9)
            .map(|k| KScore {
                k,
                silhouette: 0.3,
                calinski_harabasz: 100.0 * k as f64,
                davies_bouldin: 1.0,
                bic: None,
            })
            .collect(),
        chosen: 9,
        criterion: KCriterion::CalinskiHarabasz,
    };
    let moved = Migration {
        before: vec!["a rather long segment name".into(), "b".into()],
        after: vec!["a rather long segment name".into(), "b".into()],
        counts: vec![vec![5, 1, 0], vec![2, 7, 1], vec![0, 0, 0]],
        new_customers: vec![1, 0, 0],
        vanished: vec![0, 3, 0],
    };
    for svg in [
        plot::tracking(&t, &small),
        plot::tracking_incremental(&t, &small),
        plot::conditional_expectations(&check, &small),
        plot::frequency_fit(&fit, &small),
        plot::alive_matrix(&m, &small),
        plot::k_choice(&choice, &small),
        plot::segment_profiles(&three_profiles(), &small),
        plot::migration(&moved, &small),
    ] {
        svg_tree(&svg.unwrap(), |_| {});
    }
}

#[test]
fn plot_options_check_their_size_and_set_the_title() {
    assert!(PlotOptions::default().with_size(399, 500).is_err());
    assert!(PlotOptions::default().with_size(800, 10_001).is_err());
    let opts = PlotOptions::default().with_title("My tracking");
    let svg = plot::tracking(&tracking_cdnow(), &opts).unwrap();
    svg_tree(&svg, |doc| {
        assert!(has_text(doc, "My tracking"));
        assert!(has_text(doc, "expected"));
    });
}

fn data_error(result: custseg::Result<String>) -> Error {
    let e = result.expect_err("an error, not a figure");
    assert_eq!(e.kind(), ErrorKind::Data, "{e}");
    e
}

#[test]
fn empty_and_non_finite_records_are_errors() {
    let o = PlotOptions::default();
    let mut t = tracking_cdnow();
    t.cumulative_expected[5] = f64::NAN;
    let e = data_error(plot::tracking(&t, &o));
    let at = e.position().unwrap();
    assert_eq!(
        (at.row(), at.column()),
        (Some(5), Some("cumulative_expected"))
    );
    t.expected.pop();
    assert!(matches!(
        plot::tracking_incremental(&t, &o),
        Err(Error::LengthMismatch { .. })
    ));
    t.actual[0] = 1e300;
    t.expected.push(0.0);
    assert!(matches!(
        plot::tracking_incremental(&t, &o),
        Err(Error::InvalidRecord { .. })
    ));
    let mut t = tracking_cdnow();
    t.calibration_periods = 1_000;
    data_error(plot::tracking(&t, &o));
    let empty = Tracking {
        period_days: 7,
        period_ends: vec![],
        calibration_periods: 0,
        actual: vec![],
        expected: vec![],
        cumulative_actual: vec![],
        cumulative_expected: vec![],
    };
    assert!(matches!(
        plot::tracking(&empty, &o),
        Err(Error::EmptyInput { .. })
    ));

    let mut c = ConditionalExpectations {
        holdout_length: 39.0,
        groups: vec![],
        rmse: 0.0,
        mae: 0.0,
        total_actual: 0.0,
        total_expected: 0.0,
        total_relative_error: 0.0,
    };
    data_error(plot::conditional_expectations(&c, &o));
    c.groups.push(FrequencyGroup {
        frequency: 0,
        pooled: false,
        customers: 3,
        mean_actual: 0.5,
        mean_expected: f64::INFINITY,
    });
    data_error(plot::conditional_expectations(&c, &o));

    let f = FrequencyFit {
        frequency: vec![0, 1],
        actual: vec![3.0, f64::NAN],
        expected: vec![2.0, 2.0],
        chi_square: f64::NAN,
    };
    data_error(plot::frequency_fit(&f, &o));
    let f = FrequencyFit {
        frequency: vec![],
        actual: vec![],
        expected: vec![],
        chi_square: 0.0,
    };
    data_error(plot::frequency_fit(&f, &o));

    let mut m = AliveMatrix::new(&bgnbd(), 3, 3.0).unwrap();
    m.p_alive[2][1] = f64::NAN;
    let e = data_error(plot::alive_matrix(&m, &o));
    assert_eq!(e.position().unwrap().row(), Some(2));
    m.p_alive[2].pop();
    data_error(plot::alive_matrix(&m, &o));
    m.p_alive.clear();
    m.recency.clear();
    data_error(plot::alive_matrix(&m, &o));
    let huge = AliveMatrix {
        age: 1.0,
        frequency: (0..1_000).collect(),
        recency: (0..1_000).map(f64::from).collect(),
        p_alive: vec![vec![0.5; 1_000]; 1_000],
    };
    assert_eq!(
        plot::alive_matrix(&huge, &o).unwrap_err().kind(),
        ErrorKind::Parameter
    );

    let score = |k: usize, s: f64| KScore {
        k,
        silhouette: s,
        calinski_harabasz: 1.0,
        davies_bouldin: 1.0,
        bic: None,
    };
    let mut choice = KChoice {
        table: vec![],
        chosen: 2,
        criterion: KCriterion::Silhouette,
    };
    data_error(plot::k_choice(&choice, &o));
    choice.table = vec![score(2, 0.4), score(3, f64::NAN)];
    data_error(plot::k_choice(&choice, &o));
    choice.table[1].silhouette = 0.3;
    choice.chosen = 7; // not in the table
    data_error(plot::k_choice(&choice, &o));
    choice.chosen = 2;
    choice.criterion = KCriterion::Bic; // without BIC values
    data_error(plot::k_choice(&choice, &o));

    data_error(plot::segment_profiles(&[], &o));
    let mut p = three_profiles();
    p[1].features[0].mean = f64::NAN;
    let e = data_error(plot::segment_profiles(&p, &o));
    let at = e.position().unwrap();
    assert_eq!((at.row(), at.column()), (Some(1), Some("recency_days")));
    let mut p = three_profiles();
    p[2].features.pop();
    data_error(plot::segment_profiles(&p, &o));
    let mut p = three_profiles();
    p[2].features[1].feature = "spend".into();
    data_error(plot::segment_profiles(&p, &o));

    let mut m = Migration {
        before: vec!["a".into()],
        after: vec!["a".into()],
        counts: vec![vec![0, 0], vec![0, 0]],
        new_customers: vec![0, 0],
        vanished: vec![0, 0],
    };
    data_error(plot::migration(&m, &o));
    m.counts.pop();
    data_error(plot::migration(&m, &o));
}

#[test]
fn write_creates_the_folder() {
    let dir = std::env::temp_dir().join(format!("custseg-plots-{}", std::process::id()));
    let path = dir.join("nested").join("k.svg");
    plot::write(&path, "<svg xmlns=\"http://www.w3.org/2000/svg\"/>").unwrap();
    assert!(std::fs::read_to_string(&path).unwrap().starts_with("<svg"));
    std::fs::remove_dir_all(&dir).unwrap();
}
