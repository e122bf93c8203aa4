//! The CDNOW sample: the standard data set of the buy-till-you-die literature.

use crate::data::{Date, ReturnPolicy, SummaryConfig, TimeUnit, TransactionLog};
use crate::error::{Error, Position, Result};

/// The CDNOW 1/10th sample as distributed with the lifetimes, BTYD and CLVTools packages
/// (Fader & Hardie's CDNOW data): 6,919 transactions of the 2,357 customers who made their first
/// purchase at CDNOW in the first quarter of 1997, followed until 30 June 1998. Whitespace
/// separated, no header: `master_id customer_id yyyymmdd n_cds dollar_value`.
const CDNOW_SAMPLE: &str = include_str!("cdnow_sample_transactions.txt");

/// End of the standard calibration period of the CDNOW sample, 1997-09-30 (39 weeks).
pub const CDNOW_CALIBRATION_END: Date = Date::ymd_unchecked(1997, 9, 30);

/// End of the standard holdout period of the CDNOW sample, 1998-06-30 (39 more weeks).
pub const CDNOW_HOLDOUT_END: Date = Date::ymd_unchecked(1998, 6, 30);

/// The CDNOW sample transaction log, compiled into the crate.
///
/// Customer ids are the sample's `customer_id` column without leading zeros ("1" … "2357"),
/// the `ID` of the published summaries; quantities are the number of CDs. The sample has 8
/// zero-dollar rows (the full CDNOW data, ten times larger, has 80) and no returns.
///
/// ```
/// let log = custseg::datasets::cdnow_sample();
/// assert_eq!(log.len(), 6_919);
/// assert_eq!(log.customers(), 2_357);
/// let summaries = log.summarise(&custseg::datasets::cdnow_sample_config())?;
/// assert_eq!(summaries.len(), 2_357);
/// # Ok::<(), custseg::Error>(())
/// ```
pub fn cdnow_sample() -> TransactionLog {
    // The embedded file is fixed at compile time and parsed by a unit test, so this cannot fail.
    parse_cdnow(CDNOW_SAMPLE).expect("the embedded CDNOW sample parses")
}

/// The standard split of the CDNOW sample: calibration to 1997-09-30, holdout to 1998-06-30,
/// times in weeks, one purchase per day.
pub fn cdnow_sample_config() -> SummaryConfig {
    SummaryConfig::new(CDNOW_CALIBRATION_END)
        .with_holdout_end(CDNOW_HOLDOUT_END)
        .with_unit(TimeUnit::Weeks)
}

/// The two whitespace-separated CDNOW layouts [`parse_cdnow`] reads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Layout {
    /// The 1/10th sample: `master_id customer_id yyyymmdd n_cds dollar_value`.
    Sample,
    /// The full master file: `customer_id yyyymmdd n_cds dollar_value`.
    Master,
}

/// Names both layouts, for every error about a line's shape.
const BOTH_LAYOUTS: &str = "expected the CDNOW sample layout (master_id customer_id yyyymmdd \
                            n_cds dollar_value: 5 fields) or the CDNOW master layout \
                            (customer_id yyyymmdd n_cds dollar_value: 4 fields)";

impl Layout {
    fn of_field_count(n: usize) -> Option<Layout> {
        match n {
            5 => Some(Layout::Sample),
            4 => Some(Layout::Master),
            _ => None,
        }
    }

    fn names(self) -> &'static [&'static str] {
        match self {
            Layout::Sample => &["master_id", "customer_id", "date", "n_cds", "dollar_value"],
            Layout::Master => &["customer_id", "date", "n_cds", "dollar_value"],
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Layout::Sample => "the CDNOW sample layout",
            Layout::Master => "the CDNOW master layout",
        }
    }
}

/// Whether a field is a finite number (header detection: column names are not).
fn is_number(field: &str) -> bool {
    field.parse::<f64>().is_ok_and(f64::is_finite)
}

fn is_compact_date_shape(field: &str) -> bool {
    field.len() == 8 && field.bytes().all(|c| c.is_ascii_digit())
}

/// Parses CDNOW transaction text into a log. Two whitespace-separated layouts are read:
///
/// * the 1/10th sample's (the compiled-in [`cdnow_sample`]):
///   `master_id customer_id yyyymmdd n_cds dollar_value`, e.g. `00004 0001 19970101 2 29.33`;
/// * the full CDNOW master file's (`CDNOW_master.txt`, 23,570 customers):
///   `customer_id yyyymmdd n_cds dollar_value`, e.g. `00001 19970101 1 11.77`.
///
/// The layout is detected from the field count of the first data line (5: sample, 4: master),
/// and every other line must have the same layout. Blank lines are skipped, and so is a header
/// of column names, but only as the first non-blank line and only when none of its fields is a
/// number. Customer ids lose their leading zeros (`00001` becomes `1`) in both layouts; the
/// sample's `master_id` is not used.
///
/// ```
/// let text = "customer_id date n_cds dollar_value\n\
///             00001 19970101 1 11.77\n\
///             00002 19970112 1 12.00\n\
///             00002 19970112 5 77.00\n";
/// let log = custseg::datasets::parse_cdnow(text)?;
/// assert_eq!((log.len(), log.customers()), (3, 2));
/// # Ok::<(), custseg::Error>(())
/// ```
///
/// # Errors
/// [`Error::Parse`] naming the line (from 1) and field, including amounts that are negative
/// or not finite; a line that fits neither layout, or not the layout of the first data line, is
/// reported with a reason naming both layouts. [`Error::EmptyInput`] for no rows.
pub fn parse_cdnow(text: &str) -> Result<TransactionLog> {
    let mut b = TransactionLog::builder().return_policy(ReturnPolicy::Error);
    // The layout and the line that set it, once the first data line is seen.
    let mut layout: Option<(Layout, usize)> = None;
    let mut seen_non_blank = false;
    let mut got: Vec<&str> = Vec::with_capacity(5);
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        got.clear();
        got.extend(line.split_whitespace());
        if got.is_empty() {
            continue;
        }
        let first_non_blank = !seen_non_blank;
        seen_non_blank = true;
        if first_non_blank && !got.iter().any(|f| is_number(f)) {
            continue; // a header of column names
        }
        let shape_err = |field: &'static str, detail: String| Error::Parse {
            at: Position::at_line(line_no).with_column(field),
            value: line.to_string(),
            reason: format!("{detail}; {BOTH_LAYOUTS}"),
        };
        let this = match layout {
            None => match Layout::of_field_count(got.len()) {
                // Four fields whose date is in the sample's place, not the master's: a sample
                // line with a field missing, not a master line with a bad date.
                Some(Layout::Master)
                    if !is_compact_date_shape(got[1]) && is_compact_date_shape(got[2]) =>
                {
                    return Err(shape_err(
                        "dollar_value",
                        "missing field: 4 fields, with the date in the sample layout's place"
                            .into(),
                    ));
                }
                Some(l) => {
                    layout = Some((l, line_no));
                    l
                }
                None => {
                    return Err(shape_err(
                        "line",
                        format!("{} fields on the first data line", got.len()),
                    ));
                }
            },
            Some((l, set_at)) => {
                let names = l.names();
                if got.len() != names.len() {
                    // Name the first missing field, as for a truncated line; "line" when too many.
                    let field = names.get(got.len()).copied().unwrap_or("line");
                    return Err(shape_err(
                        field,
                        format!(
                            "{} fields, but line {set_at} set {} ({} fields) and every line must \
                             have the same layout",
                            got.len(),
                            l.describe(),
                            names.len()
                        ),
                    ));
                }
                l
            }
        };
        let parse_err = |field: &'static str, value: &str, reason: String| Error::Parse {
            at: Position::at_line(line_no).with_column(field),
            value: value.to_string(),
            reason,
        };
        let rest = match this {
            Layout::Sample => &got[1..],
            Layout::Master => &got[..],
        };
        let (id, date, n_cds, amount) = (rest[0], rest[1], rest[2], rest[3]);
        let id: u64 = id
            .parse()
            .map_err(|e| parse_err("customer_id", id, format!("{e}")))?;
        let date = Date::parse_compact(date).map_err(|e| parse_err("date", date, e.to_string()))?;
        let n_cds: u32 = n_cds
            .parse()
            .map_err(|e| parse_err("n_cds", n_cds, format!("{e}")))?;
        let amount_text = amount;
        let amount: f64 = amount_text
            .parse()
            .map_err(|e| parse_err("dollar_value", amount_text, format!("{e}")))?;
        // Checked here so the error names the line (the log would count rows, which skip
        // blank lines).
        if !(amount.is_finite() && amount >= 0.0) {
            return Err(parse_err(
                "dollar_value",
                amount_text,
                "a finite amount ≥ 0 (the CDNOW format has no returns)".into(),
            ));
        }
        b.push_with_quantity(&id.to_string(), date, amount, n_cds)?;
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_sample_parses_with_known_counts() {
        let log = parse_cdnow(CDNOW_SAMPLE).unwrap();
        assert_eq!(log.len(), 6_919);
        assert_eq!(log.customers(), 2_357);
        assert_eq!(log.report().zero_amounts, 8);
        assert_eq!(log.first_date().to_string(), "1997-01-01");
        assert_eq!(log.last_date().to_string(), "1998-06-30");
        assert_eq!(CDNOW_CALIBRATION_END.to_string(), "1997-09-30");
        assert_eq!(CDNOW_HOLDOUT_END.to_string(), "1998-06-30");
    }

    #[test]
    fn parse_errors_name_line_and_field() {
        let e =
            parse_cdnow("00004 0001 19970101 2 29.33\n00004 0001 19970132 2 1.0\n").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.line()) == Some(2)
                && e.position().and_then(|p| p.column()) == Some("date"),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.line()) == Some(1)
                && e.position().and_then(|p| p.column()) == Some("dollar_value"),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2 abc").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.column()) == Some("dollar_value"),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2 NaN").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.line()) == Some(1)
                && e.position().and_then(|p| p.column()) == Some("dollar_value"),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2 1.0 7").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.column()) == Some("line"),
            "{e}"
        );
        assert!(matches!(parse_cdnow("\n\n"), Err(Error::EmptyInput { .. })));
    }

    const MASTER: &str = "00001 19970101 1 11.77\n\
                          00002 19970112 1 12.00\n\
                          00002 19970112 5 77.00\n\
                          \n\
                          \x20 00003 19970102 2 20.76\n\
                          00003 19970330 2 20.76\n";

    #[test]
    fn master_layout_with_and_without_header() {
        let header = "customer_id date n_cds dollar_value\n";
        for text in [
            MASTER.to_string(),
            format!("{header}{MASTER}"),
            format!("\n\n{header}{MASTER}"),
        ] {
            let log = parse_cdnow(&text).unwrap();
            assert_eq!(log.len(), 5, "{text}");
            assert_eq!(log.customers(), 3);
            let total = log.total_amount();
            assert!((total - 142.29).abs() < 1e-9, "{total}");
            assert_eq!(log.first_date().to_string(), "1997-01-01");
            assert_eq!(log.last_date().to_string(), "1997-03-30");
        }
        // Same ids as the sample layout: leading zeros dropped.
        let sample = parse_cdnow("00004 0001 19970101 2 29.33").unwrap();
        let master = parse_cdnow("0001 19970101 2 29.33").unwrap();
        assert_eq!(sample.customer_ids(), master.customer_ids());
        assert_eq!(sample.customer_ids()[0].to_string(), "1");
        assert_eq!(sample.first_date(), master.first_date());
        assert_eq!(sample.total_amount(), master.total_amount());
        // The sample layout also takes a header.
        let log =
            parse_cdnow("master_id id date cds dollars\n00004 0001 19970101 2 29.33").unwrap();
        assert_eq!(log.len(), 1);
    }

    #[test]
    fn header_only_as_first_non_blank_line() {
        // A non-numeric line after the first is data, and wrong.
        let text = format!("{MASTER}customer_id date n_cds dollar_value\n");
        let e = parse_cdnow(&text).unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.line()) == Some(7)
                && e.position().and_then(|p| p.column()) == Some("customer_id"),
            "{e}"
        );
        // A first line with a number in it is data, not a header to skip.
        let e = parse_cdnow("x1 19970101 1 11.77\n00001 19970101 1 11.77").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.line()) == Some(1)
                && e.position().and_then(|p| p.column()) == Some("customer_id"),
            "{e}"
        );
        // A header and nothing else is no rows.
        assert!(matches!(
            parse_cdnow("customer_id date n_cds dollar_value\n"),
            Err(Error::EmptyInput { .. })
        ));
    }

    #[test]
    fn mixed_or_unknown_layouts_name_the_line_and_both_layouts() {
        let both = |e: &Error| {
            let Error::Parse { reason, .. } = e else {
                panic!("{e}")
            };
            assert!(
                reason.contains("CDNOW sample layout (master_id customer_id"),
                "{e}"
            );
            assert!(
                reason.contains("CDNOW master layout (customer_id yyyymmdd"),
                "{e}"
            );
        };
        // Master first, then a sample line.
        let e = parse_cdnow("00001 19970101 1 11.77\n\n00004 0001 19970101 2 29.33\n").unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. })
                && e.position().and_then(|p| p.line()) == Some(3)
                && e.position().and_then(|p| p.column()) == Some("line"),
            "{e}"
        );
        assert!(
            e.to_string().contains("line 1 set the CDNOW master layout"),
            "{e}"
        );
        both(&e);
        // Sample first, then a master line.
        let e = parse_cdnow("header here\n00004 0001 19970101 2 29.33\n00001 19970101 1 11.77")
            .unwrap_err();
        assert!(
            matches!(e, Error::Parse { .. }) && e.position().and_then(|p| p.line()) == Some(3),
            "{e}"
        );
        assert!(
            e.to_string().contains("line 2 set the CDNOW sample layout"),
            "{e}"
        );
        both(&e);
        // Neither layout on the first data line.
        for (text, line) in [
            ("00001 19970101 11.77", 1),
            ("\n00004 0001 19970101 2 29.33 7", 2),
            ("id date n dollars\n00001", 2),
        ] {
            let e = parse_cdnow(text).unwrap_err();
            assert!(
                matches!(e, Error::Parse { .. })
                    && e.position().and_then(|p| p.line()) == Some(line)
                    && e.position().and_then(|p| p.column()) == Some("line"),
                "{e}"
            );
            both(&e);
        }
    }
}
