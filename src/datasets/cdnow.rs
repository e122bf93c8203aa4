//! The CDNOW sample: the standard data set of the buy-till-you-die literature.

use crate::data::{Date, ReturnPolicy, SummaryConfig, TimeUnit, TransactionLog};
use crate::error::{Error, Result};

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

/// Parses text in the CDNOW layout (`master_id customer_id yyyymmdd n_cds dollar_value`,
/// whitespace separated) into a log. Use it for the full CDNOW file, which has the same layout.
/// Blank lines are skipped.
///
/// # Errors
/// [`Error::Parse`] naming the line (from 1) and field, including amounts that are negative
/// or not finite; [`Error::EmptyInput`] for no rows.
pub fn parse_cdnow(text: &str) -> Result<TransactionLog> {
    let mut b = TransactionLog::builder().return_policy(ReturnPolicy::Error);
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let mut f = line.split_whitespace();
        let Some(first) = f.next() else { continue };
        let fields = [Some(first), f.next(), f.next(), f.next(), f.next()];
        let names = ["master_id", "customer_id", "date", "n_cds", "dollar_value"];
        let mut got = [""; 5];
        for (k, field) in fields.iter().enumerate() {
            got[k] = field.ok_or_else(|| Error::Parse {
                line: line_no,
                field: names[k],
                value: line.to_string(),
                reason: "missing field (expected 5 whitespace-separated fields)".into(),
            })?;
        }
        if let Some(extra) = f.next() {
            return Err(Error::Parse {
                line: line_no,
                field: "line",
                value: extra.to_string(),
                reason: "more than 5 fields".into(),
            });
        }
        let parse_err = |field: &'static str, value: &str, reason: String| Error::Parse {
            line: line_no,
            field,
            value: value.to_string(),
            reason,
        };
        let id: u64 = got[1]
            .parse()
            .map_err(|e| parse_err("customer_id", got[1], format!("{e}")))?;
        let date =
            Date::parse_compact(got[2]).map_err(|e| parse_err("date", got[2], e.to_string()))?;
        let n_cds: u32 = got[3]
            .parse()
            .map_err(|e| parse_err("n_cds", got[3], format!("{e}")))?;
        let amount: f64 = got[4]
            .parse()
            .map_err(|e| parse_err("dollar_value", got[4], format!("{e}")))?;
        // Checked here so the error names the line (the log would count rows, which skip
        // blank lines).
        if !(amount.is_finite() && amount >= 0.0) {
            return Err(parse_err(
                "dollar_value",
                got[4],
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
            matches!(
                e,
                Error::Parse {
                    line: 2,
                    field: "date",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 1,
                    field: "dollar_value",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2 abc").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    field: "dollar_value",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2 NaN").unwrap_err();
        assert!(
            matches!(
                e,
                Error::Parse {
                    line: 1,
                    field: "dollar_value",
                    ..
                }
            ),
            "{e}"
        );
        let e = parse_cdnow("00004 0001 19970101 2 1.0 7").unwrap_err();
        assert!(matches!(e, Error::Parse { field: "line", .. }), "{e}");
        assert!(matches!(parse_cdnow("\n\n"), Err(Error::EmptyInput { .. })));
    }
}
