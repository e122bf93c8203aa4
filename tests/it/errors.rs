//! Error positions are data: row, line, customer and column read with methods, and every
//! error says whether the data, the call or the model is at fault.

use crate::cluster;
use custseg::clv::{BgNbd, HistoryColumns, TransactionModel};
use custseg::datasets::{cdnow_sample, cdnow_sample_config, parse_cdnow};
use custseg::rfm::RfmParams;
use custseg::segment::{KMeansParams, Points};
use custseg::{
    CustomerSummary, Date, Error, ErrorKind, Fit, Position, ReturnPolicy, TransactionLog,
};
use ndarray::{Array1, array};

fn parts(e: &Error) -> (Option<usize>, Option<usize>, Option<&str>, Option<&str>) {
    let at = e.position().unwrap_or_else(|| panic!("no position in {e}"));
    (at.row(), at.line(), at.customer(), at.column())
}

#[test]
fn transaction_rows_name_row_customer_and_column() {
    let day: Date = "2024-01-05".parse().unwrap();
    let e = TransactionLog::from_columns(
        &["ann", "bob", "cy"],
        &[day; 3],
        &[1.0, 2.0, f64::INFINITY],
        ReturnPolicy::Error,
    )
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data);
    assert_eq!(parts(&e), (Some(2), None, Some("cy"), Some("amount")));
    let e = TransactionLog::from_columns(
        &["ann", "bob"],
        &[day; 2],
        &[1.0, -2.0],
        ReturnPolicy::Error,
    )
    .unwrap_err();
    assert!(
        matches!(e, Error::NegativeAmount { value, .. } if value == -2.0),
        "{e}"
    );
    assert_eq!(parts(&e), (Some(1), None, Some("bob"), None));
}

#[test]
fn text_inputs_name_line_and_field() {
    let e = parse_cdnow("00004 0001 19970101 2 29.33\n00004 0001 19970132 2 1.0\n").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data);
    assert_eq!(parts(&e), (None, Some(2), None, Some("date")));
    assert!(e.to_string().starts_with("line 2, column date: "), "{e}");
}

#[test]
fn summaries_name_the_customer_and_the_field() {
    let summaries = cdnow_sample()
        .summarise(&cdnow_sample_config())
        .unwrap()
        .into_vec();
    let mut bad = summaries[7].clone().into_record();
    bad.recency = bad.age + 1.0;
    let e = CustomerSummary::try_from(bad).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data);
    assert_eq!(
        e.position().unwrap().customer(),
        Some(summaries[7].customer_id().as_str())
    );
}

#[test]
fn matrices_name_row_and_column_index() {
    let data = array![[0.0, 1.0], [2.0, f64::NAN], [3.0, 4.0]];
    let e = cluster(&KMeansParams::new(2).unwrap(), Points::numeric(data.view())).unwrap_err();
    assert_eq!(parts(&e), (Some(1), None, None, Some("1")));
    // Columns of x, t_x, T: the row of a non-integer x.
    let m = BgNbd::new(0.24, 4.41, 0.79, 2.43).unwrap();
    let x = Array1::from(vec![1.0, 2.5]);
    let t = Array1::from(vec![1.0, 1.0]);
    let e = m.p_alive_view(x.view(), t.view(), t.view()).unwrap_err();
    assert_eq!(parts(&e), (Some(1), None, None, Some("x")));
    // A history checked alone has no position; its row is added by the column reader.
    let t_x = Array1::from(vec![1.0, 3.0]);
    let e = m
        .p_alive_view(Array1::from(vec![1.0, 1.0]).view(), t_x.view(), t.view())
        .unwrap_err();
    assert_eq!(e.position().unwrap().row(), Some(1));
}

#[test]
fn parameter_and_model_errors_are_told_apart_from_data_errors() {
    let e = RfmParams::new(0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Parameter);
    assert!(e.position().is_none());
    let e = BgNbd::new(-1.0, 1.0, 1.0, 1.0).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Parameter);
    let at = Position::at_row(3)
        .with_customer("ann")
        .with_column("amount");
    assert_eq!(at.to_string(), "row 3, customer ann, column amount");
    assert_eq!(Position::default().to_string(), "(no position)");
}

#[test]
fn column_predictions_report_overflow_as_the_batch_form_does() {
    // α + t_x and α + T both overflow to infinity: their log ratio is NaN.
    let m = BgNbd::new(1.0, 1.7e308, 1.0, 1.0).unwrap();
    let x = Array1::from(vec![1.0, 1.0]);
    let t_x = Array1::from(vec![1.0, 1e308]);
    let big_t = Array1::from(vec![2.0, 1.5e308]);
    let e = m
        .p_alive_view(x.view(), t_x.view(), big_t.view())
        .unwrap_err();
    assert!(
        matches!(
            e,
            Error::Overflow {
                quantity: "P(alive)",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(
        (e.kind(), e.position().unwrap().row()),
        (ErrorKind::Model, Some(1))
    );
    // The columnar fast path (vectorised P(alive)) says the same of the same row.
    let (xs, txs, ts) = ([1u32, 1], [1.0, 1e308], [2.0, 1.5e308]);
    let columns = HistoryColumns::new(&xs, &txs, &ts).unwrap();
    let e = m.p_alive_columns(&columns).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Overflow {
                quantity: "P(alive)",
                ..
            }
        ),
        "{e}"
    );
    assert_eq!(e.position().unwrap().row(), Some(1));
    let e = m
        .expected_purchases_view(x.view(), t_x.view(), big_t.view(), 10.0)
        .unwrap_err();
    assert_eq!(e.position().unwrap().row(), Some(1));
    // The first row alone is fine.
    let one = |a: &Array1<f64>| a.slice(ndarray::s![..1]).to_owned();
    let p = m
        .p_alive_view(one(&x).view(), one(&t_x).view(), one(&big_t).view())
        .unwrap();
    assert!(p[0].is_finite());
}

#[test]
fn a_record_checked_alone_has_no_position_and_says_so_plainly() {
    let e = custseg::clv::Rft::new(0, 1.0, 2.0).unwrap_err();
    assert_eq!(e.position(), Some(&Position::default()));
    assert!(!e.to_string().contains("no position"), "{e}");
    assert!(e.to_string().starts_with("x = 0 but t_x = 1"), "{e}");
}

#[test]
fn record_fields_are_columns_not_text() {
    use custseg::segment::{GeoMode, GeoRecord, GeographicSegmenter};
    let records = vec![
        GeoRecord::new("a", 48.85, 2.35),
        GeoRecord::new("b", 95.0, 2.35),
        GeoRecord::new("c", 45.0, 3.0),
    ];
    let e = GeographicSegmenter::new(GeoMode::KMeans(KMeansParams::new(2).unwrap()))
        .unwrap()
        .fit(&records)
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data);
    assert_eq!(parts(&e), (Some(1), None, Some("b"), Some("latitude")));
}

/// Problems in the data a caller passed are data errors naming the column, not parameter
/// errors: one outcome only, one cluster, a column with no value.
#[test]
fn problems_in_the_data_are_data_errors() {
    use custseg::churn::{Feature, LabelledCustomers, LogisticChurnParams};
    use custseg::segment::silhouette;
    let summaries = cdnow_sample()
        .summarise(&cdnow_sample_config())
        .unwrap()
        .into_vec();
    let nobody = vec![false; summaries.len()];
    let e = LogisticChurnParams::new(Feature::standard())
        .unwrap()
        .fit(&LabelledCustomers::new(&summaries, &nobody))
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e}");
    assert_eq!(e.position().and_then(|p| p.column()), Some("churned"));
    let x = array![[0.0], [1.0], [2.0]];
    let e = silhouette(x.view(), &[0, 0, 0]).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Data, "{e}");
    assert_eq!(e.position().and_then(|p| p.column()), Some("labels"));
}
