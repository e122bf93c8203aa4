//! Arrow in and out (feature `arrow`): every accepted column type read as the slices API
//! reads the same values, nulls and bad types refused with their row and column, and
//! summaries and scores written and read back.

use std::sync::Arc;

use custseg::arrow::arrow_array::types::{Int8Type, UInt16Type};
use custseg::arrow::arrow_array::{
    Array, ArrayRef, Date32Array, Date64Array, Decimal32Array, Decimal64Array, Decimal128Array,
    Decimal256Array, DictionaryArray, Float32Array, Float64Array, Int8Array, Int16Array,
    Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
    TimestampMicrosecondArray, TimestampMillisecondArray, TimestampNanosecondArray,
    TimestampSecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use custseg::arrow::arrow_buffer::i256;
use custseg::arrow::arrow_schema::DataType;
use custseg::arrow::{
    PARTIAL_HISTORY_COLUMNS, ScoreBatch, ToRecordBatch, TransactionColumns, Transactions,
    UNIT_METADATA_KEY, partial_histories, summaries_from_partial_histories,
    summaries_from_record_batches,
};
use custseg::churn::ModelChurn;
use custseg::clv::{
    BgNbd, Discounting, GammaGamma, RftData, SpendData, TransactionModel, Valuation,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::rfm::RfmParams;
use custseg::{
    CustomerSummaries, Date, Error, Fit, ReturnPolicy, Score, SummaryConfig, TimeUnit,
    TransactionLog,
};

/// The CDNOW sample as rows, interleaved across customers (not grouped, not date-sorted).
fn cdnow_rows() -> (Vec<i64>, Vec<Date>, Vec<f64>) {
    let log = cdnow_sample();
    let mut rows = Vec::new();
    for c in log.iter_customers() {
        let id: i64 = c.customer_id.as_str().parse().expect("numeric CDNOW ids");
        for (d, a) in c.dates.iter().zip(c.amounts) {
            rows.push((id, *d, *a));
        }
    }
    // A fixed stride permutation: every customer's rows spread over the whole input.
    let n = rows.len();
    let stride = 7_919 % n;
    let order: Vec<usize> = (0..n).map(|i| (i * stride) % n).collect();
    let mut seen = vec![false; n];
    order.iter().for_each(|&i| seen[i] = true);
    assert!(seen.iter().all(|&s| s), "the stride is coprime with {n}");
    let ids = order.iter().map(|&i| rows[i].0).collect();
    let dates = order.iter().map(|&i| rows[i].1).collect();
    let amounts = order.iter().map(|&i| rows[i].2).collect();
    (ids, dates, amounts)
}

fn days(dates: &[Date]) -> Vec<i32> {
    dates.iter().map(|d| d.days_since_epoch()).collect()
}

/// Splits arrays into record batches of at most `size` rows.
fn batches(columns: &[(&str, ArrayRef)], size: usize) -> Vec<RecordBatch> {
    let n = columns[0].1.len();
    (0..n)
        .step_by(size)
        .map(|start| {
            let len = size.min(n - start);
            RecordBatch::try_from_iter(columns.iter().map(|(name, a)| (*name, a.slice(start, len))))
                .unwrap()
        })
        .collect()
}

#[test]
fn cdnow_from_batches_equals_the_slices_api() {
    let (ids, dates, amounts) = cdnow_rows();
    let cfg = cdnow_sample_config();
    let expected =
        CustomerSummaries::from_columns(&ids, &dates, &amounts, ReturnPolicy::Error, &cfg).unwrap();
    let expected_log =
        TransactionLog::from_columns(&ids, &dates, &amounts, ReturnPolicy::Error).unwrap();
    let text: Vec<String> = ids.iter().map(|i| format!("C{i}")).collect();
    let key_arrays: Vec<(&str, ArrayRef)> = vec![
        ("int64", Arc::new(Int64Array::from(ids.clone()))),
        ("utf8", Arc::new(StringArray::from(text.clone()))),
    ];
    for (kind, keys) in key_arrays {
        let columns = [
            ("customer_id", keys),
            (
                "date",
                Arc::new(Date32Array::from(days(&dates))) as ArrayRef,
            ),
            (
                "amount",
                Arc::new(Float64Array::from(amounts.clone())) as ArrayRef,
            ),
        ];
        // One batch (read in place) and 13 uneven batches (concatenated).
        for size in [ids.len(), 531] {
            let bs = batches(&columns, size);
            let tx =
                Transactions::from_record_batches(&bs, &TransactionColumns::default()).unwrap();
            assert_eq!(tx.len(), ids.len());
            let got = tx.summarise(ReturnPolicy::Error, &cfg).unwrap();
            let log = tx.to_log(ReturnPolicy::Error).unwrap();
            if kind == "int64" {
                assert_eq!(got, expected, "{kind}, batches of {size}");
                assert_eq!(log.customer_ids(), expected_log.customer_ids());
                for (a, b) in log.iter_customers().zip(expected_log.iter_customers()) {
                    assert_eq!((a.dates, a.amounts), (b.dates, b.amounts));
                }
            } else {
                let want = CustomerSummaries::from_columns(
                    &text,
                    &dates,
                    &amounts,
                    ReturnPolicy::Error,
                    &cfg,
                )
                .unwrap();
                assert_eq!(got, want, "{kind}, batches of {size}");
                // The same numbers as the integer keys, only the ids differ.
                assert_eq!(got.len(), expected.len());
                for (a, b) in got.iter().zip(expected.iter()) {
                    assert_eq!(a.customer_id().as_str(), format!("C{}", b.customer_id()));
                    assert_eq!(
                        (a.frequency(), a.recency(), a.age(), a.monetary()),
                        (b.frequency(), b.recency(), b.age(), b.monetary())
                    );
                }
            }
        }
    }
    // The published sample figures, through Arrow.
    assert_eq!(expected.iter().filter(|s| s.frequency() > 0).count(), 946);
}

#[test]
fn single_batch_columns_are_read_in_place() {
    let amounts = Float64Array::from(vec![1.0, 2.5, 3.0]);
    let keys = Int64Array::from(vec![1, 2, 1]);
    let dates = Date32Array::from(vec![0, 1, 2]);
    let tx = Transactions::from_arrays(&keys, &dates, &amounts).unwrap();
    // The same memory as Arrow's buffer: no copy of the amounts.
    assert_eq!(tx.amounts().as_ptr(), amounts.values().as_ptr());
    assert_eq!(tx.amounts(), &[1.0, 2.5, 3.0]);
    // A slice of a larger array is read in place at its offset.
    let sliced = amounts.slice(1, 2);
    let (k, d) = (keys.slice(1, 2), dates.slice(1, 2));
    let tx = Transactions::from_arrays(&k, &d, &sliced).unwrap();
    assert_eq!(tx.amounts(), &[2.5, 3.0]);
    assert_eq!(tx.amounts().as_ptr(), amounts.values()[1..].as_ptr());
}

/// Reads one row per customer key type and checks the ids and summaries against the slices
/// API on the equivalent integer or text keys.
#[test]
fn every_key_type_reads_as_its_value() {
    let dates = Date32Array::from(vec![19_000, 19_001, 19_002, 19_010]);
    let amounts = Float64Array::from(vec![1.0, 2.0, 3.0, 4.0]);
    let cfg = SummaryConfig::new(Date::from_days_since_epoch(19_020).unwrap());
    let summarise = |keys: &dyn Array| {
        let s = Transactions::from_arrays(keys, &dates, &amounts)
            .unwrap()
            .summarise(ReturnPolicy::Error, &cfg)
            .unwrap();
        s.iter()
            .map(|c| {
                (
                    c.customer_id().as_str().to_string(),
                    c.frequency(),
                    c.total_spend(),
                )
            })
            .collect::<Vec<_>>()
    };
    let want_ints = vec![("5".to_string(), 1, 4.0), ("7".to_string(), 1, 6.0)];
    let ints: Vec<ArrayRef> = vec![
        Arc::new(Int8Array::from(vec![5, 7, 5, 7])),
        Arc::new(Int16Array::from(vec![5, 7, 5, 7])),
        Arc::new(Int32Array::from(vec![5, 7, 5, 7])),
        Arc::new(Int64Array::from(vec![5, 7, 5, 7])),
        Arc::new(UInt8Array::from(vec![5, 7, 5, 7])),
        Arc::new(UInt16Array::from(vec![5, 7, 5, 7])),
        Arc::new(UInt32Array::from(vec![5, 7, 5, 7])),
        Arc::new(UInt64Array::from(vec![5, 7, 5, 7])),
    ];
    for keys in &ints {
        assert_eq!(summarise(keys.as_ref()), want_ints, "{}", keys.data_type());
    }
    // Negative integer keys print as the integer.
    let neg = Int64Array::from(vec![-5, 7, -5, 7]);
    assert_eq!(summarise(&neg)[0].0, "-5");

    let want_text = vec![("ann".to_string(), 1, 4.0), ("bo".to_string(), 1, 6.0)];
    let words = ["ann", "bo", "ann", "bo"];
    let text: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(words.to_vec())),
        Arc::new(LargeStringArray::from(words.to_vec())),
        Arc::new(StringViewArray::from(words.to_vec())),
        Arc::new(words.iter().copied().collect::<DictionaryArray<Int8Type>>()),
        Arc::new(
            words
                .iter()
                .copied()
                .collect::<DictionaryArray<UInt16Type>>(),
        ),
    ];
    for keys in &text {
        assert_eq!(summarise(keys.as_ref()), want_text, "{}", keys.data_type());
    }
}

#[test]
fn every_date_type_reads_as_the_calendar_day() {
    let day = |s: &str| s.parse::<Date>().unwrap();
    // 2024-03-01 23:30 and 1969-12-31 23:00 (a negative tick: floored, not truncated).
    let t = 19_783i64 * 86_400 + 23 * 3_600 + 30 * 60;
    let before_epoch = -3_600i64;
    let read = |dates: &dyn Array| -> Result<Vec<Date>, Error> {
        let keys = Int64Array::from(vec![1, 1]);
        let amounts = Float64Array::from(vec![1.0, 1.0]);
        Ok(Transactions::from_arrays(&keys, dates, &amounts)?
            .dates()
            .to_vec())
    };
    let naive = vec![day("2024-03-01"), day("1969-12-31")];
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Date32Array::from(vec![19_783, -1])),
        Arc::new(Date64Array::from(vec![t * 1_000, before_epoch * 1_000])),
        Arc::new(TimestampSecondArray::from(vec![t, before_epoch])),
        Arc::new(TimestampMillisecondArray::from(vec![
            t * 1_000,
            before_epoch * 1_000,
        ])),
        Arc::new(TimestampMicrosecondArray::from(vec![
            t * 1_000_000,
            before_epoch * 1_000_000,
        ])),
        Arc::new(TimestampNanosecondArray::from(vec![
            t * 1_000_000_000,
            before_epoch * 1_000_000_000,
        ])),
        Arc::new(TimestampSecondArray::from(vec![t, before_epoch]).with_timezone("UTC")),
    ];
    for a in &arrays {
        assert_eq!(read(a.as_ref()).unwrap(), naive, "{}", a.data_type());
    }
    // A fixed offset moves the instant to the local day: 23:30 UTC is the next day at +02:00,
    // 23:00 UTC on 1969-12-31 is still that day at -05:00.
    let plus2 = TimestampMicrosecondArray::from(vec![t * 1_000_000, before_epoch * 1_000_000])
        .with_timezone("+02:00");
    assert_eq!(
        read(&plus2).unwrap(),
        vec![day("2024-03-02"), day("1970-01-01")]
    );
    let minus5 = TimestampSecondArray::from(vec![t, before_epoch]).with_timezone("-0500");
    assert_eq!(
        read(&minus5).unwrap(),
        vec![day("2024-03-01"), day("1969-12-31")]
    );
    // A named zone is refused, not guessed.
    let named = TimestampSecondArray::from(vec![t, t]).with_timezone("Europe/Paris");
    let e = read(&named).unwrap_err();
    assert!(
        matches!(&e, Error::InvalidParameter { name: "time zone", value, .. } if value.contains("Europe/Paris")),
        "{e}"
    );
    // Ticks beyond year 9999 (and the extremes of i64) are a row error, not a panic.
    for extreme in [i64::MAX, i64::MIN] {
        let far = TimestampNanosecondArray::from(vec![0, extreme]);
        // Nanoseconds reach only ±292 years: valid days. Seconds reach far beyond.
        assert!(read(&far).is_ok());
        let far = TimestampSecondArray::from(vec![0, extreme]).with_timezone("+23:59");
        let e = read(&far).unwrap_err();
        assert!(matches!(e, Error::InvalidRecord { .. }), "{e}");
        let at = e.position().unwrap();
        assert_eq!((at.row(), at.column()), (Some(1), Some("date")));
    }
    let e = read(&Date64Array::from(vec![0, i64::MIN])).unwrap_err();
    assert_eq!(e.position().unwrap().row(), Some(1));
}

#[test]
fn every_amount_type_reads_as_its_number() {
    let keys = Int64Array::from(vec![1, 1, 2]);
    let dates = Date32Array::from(vec![0, 1, 2]);
    let read = |amounts: &dyn Array| -> Vec<f64> {
        Transactions::from_arrays(&keys, &dates, amounts)
            .unwrap()
            .amounts()
            .to_vec()
    };
    let whole = vec![3.0, 0.0, 250.0];
    let arrays: Vec<ArrayRef> = vec![
        Arc::new(Float32Array::from(vec![3.0, 0.0, 250.0])),
        Arc::new(Int8Array::from(vec![3, 0, 127])),
        Arc::new(Int16Array::from(vec![3, 0, 250])),
        Arc::new(Int32Array::from(vec![3, 0, 250])),
        Arc::new(Int64Array::from(vec![3, 0, 250])),
        Arc::new(UInt8Array::from(vec![3, 0, 250])),
        Arc::new(UInt16Array::from(vec![3, 0, 250])),
        Arc::new(UInt32Array::from(vec![3, 0, 250])),
        Arc::new(UInt64Array::from(vec![3, 0, 250])),
    ];
    for a in &arrays {
        let want = if *a.data_type() == DataType::Int8 {
            vec![3.0, 0.0, 127.0]
        } else {
            whole.clone()
        };
        assert_eq!(read(a.as_ref()), want, "{}", a.data_type());
    }
    // Decimals: the nearest double to the decimal, as parsing its text gives.
    let cents = [1_999i64, -5, 123_456_789];
    let want: Vec<f64> = ["19.99", "-0.05", "1234567.89"]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
    let decimals: Vec<ArrayRef> = vec![
        Arc::new(
            Decimal32Array::from(cents.iter().map(|&c| c as i32).collect::<Vec<_>>())
                .with_precision_and_scale(9, 2)
                .unwrap(),
        ),
        Arc::new(
            Decimal64Array::from(cents.to_vec())
                .with_precision_and_scale(18, 2)
                .unwrap(),
        ),
        Arc::new(
            Decimal128Array::from(cents.iter().map(|&c| c as i128).collect::<Vec<_>>())
                .with_precision_and_scale(38, 2)
                .unwrap(),
        ),
        Arc::new(
            Decimal256Array::from(
                cents
                    .iter()
                    .map(|&c| i256::from_i128(c as i128))
                    .collect::<Vec<_>>(),
            )
            .with_precision_and_scale(76, 2)
            .unwrap(),
        ),
    ];
    // Negative amounts are accepted here; the return policy applies when the log is built.
    for a in &decimals {
        assert_eq!(read(a.as_ref()), want, "{}", a.data_type());
    }
    let huge = Decimal256Array::from(vec![i256::MIN, i256::MAX, i256::from_i128(2)])
        .with_precision_and_scale(76, 0)
        .unwrap();
    let got = read(&huge);
    assert!(
        (got[1] / 5.78960446186581e76 - 1.0).abs() < 1e-12,
        "{}",
        got[1]
    );
    // Negative scale: units of a thousand.
    let thousands = Decimal128Array::from(vec![3i128, 0, 2])
        .with_precision_and_scale(10, -3)
        .unwrap();
    assert_eq!(read(&thousands), vec![3_000.0, 0.0, 2_000.0]);
}

#[test]
fn nulls_are_errors_naming_the_first_row_and_its_column() {
    let keys: ArrayRef = Arc::new(Int64Array::from(vec![Some(1), Some(2), Some(3), Some(4)]));
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![Some(0), Some(1), None, Some(3)]));
    let amounts: ArrayRef = Arc::new(Float64Array::from(vec![Some(1.0), None, Some(1.0), None]));
    let cols = [("customer_id", keys), ("date", dates), ("amount", amounts)];
    // In batches of 3 the first null is row 1 (amount), before row 2 (date).
    for size in [4, 3, 1] {
        let bs = batches(&cols, size);
        let e = Transactions::from_record_batches(&bs, &TransactionColumns::default()).unwrap_err();
        assert!(matches!(e, Error::Missing { .. }), "{e}");
        let at = e.position().unwrap();
        assert_eq!(
            (at.row(), at.column()),
            (Some(1), Some("amount")),
            "size {size}"
        );
        assert!(e.to_string().contains("missing"), "{e}");
    }
    // A null only in the second batch is named by its row across batches.
    let keys: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), Some("b"), None]));
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![0, 1, 2]));
    let amounts: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 1.0, 1.0]));
    let bs = batches(&[("k", keys), ("d", dates), ("a", amounts)], 2);
    let e = Transactions::from_record_batches(&bs, &TransactionColumns::new("k", "d", "a"))
        .unwrap_err();
    let at = e.position().unwrap();
    assert_eq!((at.row(), at.column()), (Some(2), Some("k")));
    // A dictionary key pointing at a null value is a null too.
    let values = StringArray::from(vec![Some("a"), None]);
    let dict = DictionaryArray::new(
        custseg::arrow::arrow_array::Int8Array::from(vec![0, 1]),
        Arc::new(values),
    );
    let e = Transactions::from_arrays(
        &dict,
        &Date32Array::from(vec![0, 1]),
        &Float64Array::from(vec![1.0, 1.0]),
    )
    .unwrap_err();
    assert_eq!(e.position().unwrap().row(), Some(1));
}

#[test]
fn bad_columns_are_refused_with_what_was_wrong() {
    let keys: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
    let dates: ArrayRef = Arc::new(Date32Array::from(vec![0, 1]));
    let amounts: ArrayRef = Arc::new(Float64Array::from(vec![1.0, 2.0]));
    let cols = TransactionColumns::default();
    // No batches; a missing column; a type that differs between batches; unsupported types.
    assert!(matches!(
        Transactions::from_record_batches(&[], &cols),
        Err(Error::EmptyInput { .. })
    ));
    let b = RecordBatch::try_from_iter([
        ("customer_id", keys.clone()),
        ("day", dates.clone()),
        ("amount", amounts.clone()),
    ])
    .unwrap();
    let e = Transactions::from_record_batches(std::slice::from_ref(&b), &cols).unwrap_err();
    assert!(
        e.to_string().contains("no such column") && e.to_string().contains("day"),
        "{e}"
    );
    let b1 = RecordBatch::try_from_iter([
        ("customer_id", keys.clone()),
        ("date", dates.clone()),
        ("amount", amounts.clone()),
    ])
    .unwrap();
    let b2 = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(Int32Array::from(vec![1, 2])) as ArrayRef,
        ),
        ("date", dates.clone()),
        ("amount", amounts.clone()),
    ])
    .unwrap();
    let e = Transactions::from_record_batches(&[b1, b2], &cols).unwrap_err();
    assert!(e.to_string().contains("batch 1"), "{e}");
    let floats = Float64Array::from(vec![1.0, 2.0]);
    let e = Transactions::from_arrays(&floats, dates.as_ref(), amounts.as_ref()).unwrap_err();
    assert!(
        matches!(
            e,
            Error::InvalidParameter {
                name: "column type",
                ..
            }
        ),
        "{e}"
    );
    let text = StringArray::from(vec!["1", "2"]);
    let e = Transactions::from_arrays(keys.as_ref(), dates.as_ref(), &text).unwrap_err();
    assert!(e.to_string().contains("amount: Utf8"), "{e}");
    let e = Transactions::from_arrays(keys.as_ref(), &floats, amounts.as_ref()).unwrap_err();
    assert!(e.to_string().contains("date: Float64"), "{e}");
    let short = Float64Array::from(vec![1.0]);
    assert!(matches!(
        Transactions::from_arrays(keys.as_ref(), dates.as_ref(), &short),
        Err(Error::LengthMismatch {
            got: 1,
            expected: 2,
            ..
        })
    ));
    // Values are checked by the log, with their row: NaN, an empty text key.
    let nan = Float64Array::from(vec![1.0, f64::NAN]);
    let e = Transactions::from_arrays(keys.as_ref(), dates.as_ref(), &nan)
        .unwrap()
        .summarise(
            ReturnPolicy::Error,
            &SummaryConfig::new(Date::from_days_since_epoch(5).unwrap()),
        )
        .unwrap_err();
    assert!(matches!(e, Error::NonFinite { .. }));
    assert_eq!(e.position().unwrap().row(), Some(1));
    let empty = StringArray::from(vec!["a", ""]);
    let e = Transactions::from_arrays(&empty, dates.as_ref(), amounts.as_ref())
        .unwrap()
        .to_log(ReturnPolicy::Error)
        .unwrap_err();
    assert_eq!(e.position().unwrap().row(), Some(1));
    // No rows at all.
    let none = Int64Array::from(Vec::<i64>::new());
    let (no_dates, no_amounts) = (
        Date32Array::from(Vec::<i32>::new()),
        Float64Array::from(Vec::<f64>::new()),
    );
    let tx = Transactions::from_arrays(&none, &no_dates, &no_amounts).unwrap();
    assert!(tx.is_empty());
    assert!(matches!(
        tx.to_log(ReturnPolicy::Error),
        Err(Error::EmptyInput { .. })
    ));
}

#[test]
fn summaries_round_trip_through_a_record_batch() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let batch = summaries.to_record_batch().unwrap();
    assert_eq!(batch.num_rows(), summaries.len());
    let names: Vec<&str> = batch
        .schema_ref()
        .fields()
        .iter()
        .map(|f| f.name().as_str())
        .collect();
    assert_eq!(
        names,
        [
            "customer_id",
            "first_purchase",
            "last_purchase",
            "frequency",
            "recency",
            "age",
            "monetary",
            "total_spend",
            "transactions",
            "holdout_frequency",
            "holdout_spend",
            "holdout_transactions"
        ]
    );
    assert_eq!(batch.schema_ref().metadata()[UNIT_METADATA_KEY], "weeks");
    let back = summaries_from_record_batches(
        &[
            batch.slice(0, 1000),
            batch.slice(1000, summaries.len() - 1000),
        ],
        TimeUnit::Weeks,
    )
    .unwrap();
    assert_eq!(back, summaries.as_slice());
    // Another unit than the batch records is refused.
    assert!(matches!(
        summaries_from_record_batches(std::slice::from_ref(&batch), TimeUnit::Days),
        Err(Error::UnitMismatch { .. })
    ));
    // An inconsistent row names its row, customer and column.
    let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
    let mut recency: Vec<f64> = summaries.iter().map(|s| s.recency()).collect();
    recency[7] = summaries[7].age() + 1.0;
    columns[4] = Arc::new(Float64Array::from(recency));
    let bad = RecordBatch::try_new(batch.schema(), columns).unwrap();
    let e = summaries_from_record_batches(&[bad], TimeUnit::Weeks).unwrap_err();
    let at = e.position().unwrap();
    assert_eq!(
        (at.row(), at.customer(), at.column()),
        (
            Some(7),
            Some(summaries[7].customer_id().as_str()),
            Some("recency")
        )
    );
    // Empty summaries are a batch of no rows with the configured unit.
    let none: &[custseg::CustomerSummary] = &[];
    assert_eq!(none.to_record_batch().unwrap().num_rows(), 0);
}

#[test]
fn scores_come_back_as_record_batches() {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let rft = RftData::from_summaries(&summaries).unwrap();
    let (model, _) = BgNbd::params().fit(&rft).unwrap();
    let (spend, _) = GammaGamma::params()
        .fit(&SpendData::from_summaries(&summaries).unwrap())
        .unwrap();
    let valuation = Valuation::new(
        model,
        spend,
        Discounting::lifetimes(12, 0.01, TimeUnit::Weeks).unwrap(),
    );
    let values = valuation.score_batch(&summaries).unwrap();
    let b = values.to_record_batch().unwrap();
    assert_eq!(b.num_rows(), summaries.len());
    let clv = b
        .column_by_name("clv")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    for (i, v) in values.iter().enumerate() {
        assert_eq!(clv.value(i).to_bits(), v.clv.to_bits());
    }
    let ids = b.column(0).as_any().downcast_ref::<StringArray>().unwrap();
    assert_eq!(ids.value(3), summaries[3].customer_id().as_str());

    let (rfm, _) = RfmParams::new(5)
        .unwrap()
        .fit(summaries.as_slice())
        .unwrap();
    let scores = rfm.score_batch(&summaries).unwrap();
    let b = scores.to_record_batch().unwrap();
    let cell = b
        .column_by_name("rfm_cell")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert_eq!(cell.value(0), scores[0].cell.code());
    let r = b
        .column_by_name("r")
        .unwrap()
        .as_any()
        .downcast_ref::<UInt8Array>()
        .unwrap();
    assert_eq!(r.value(10), scores[10].cell.r);

    let churn = ModelChurn::new(model);
    let risks = churn.score_batch(&summaries).unwrap();
    let b = risks.to_record_batch().unwrap();
    let tier = b
        .column_by_name("tier")
        .unwrap()
        .as_any()
        .downcast_ref::<StringArray>()
        .unwrap();
    assert!(["low", "medium", "high", "critical"].contains(&tier.value(0)));
    let risk = b
        .column_by_name("risk")
        .unwrap()
        .as_any()
        .downcast_ref::<Float64Array>()
        .unwrap();
    assert_eq!(risk.value(5), risks[5].risk);

    // Any per-customer numbers and segments, beside the ids.
    let p = model.p_alive_batch(&summaries).unwrap();
    let segments: Vec<Option<usize>> = p.iter().map(|&v| (v > 0.5).then_some(1)).collect();
    let b = ScoreBatch::new(summaries.iter().map(|s| s.customer_id()))
        .with_column("p_alive", &p)
        .unwrap()
        .with_segments("segment", &segments)
        .unwrap()
        .with_text("tier", vec!["x"; summaries.len()])
        .unwrap()
        .finish()
        .unwrap();
    assert_eq!(b.num_columns(), 4);
    let seg = b.column(2).as_any().downcast_ref::<UInt32Array>().unwrap();
    assert_eq!(
        seg.null_count(),
        segments.iter().filter(|s| s.is_none()).count()
    );
    let ids = || ScoreBatch::new(summaries.iter().map(|s| s.customer_id()));
    assert!(matches!(
        ids().with_column("p", &p[1..]),
        Err(Error::LengthMismatch { .. })
    ));
    assert!(ids().with_column("customer_id", &p).is_err());
    assert!(
        ids()
            .with_column("p", &p)
            .unwrap()
            .with_column("p", &p)
            .is_err()
    );
    assert!(
        ids()
            .with_segments("s", vec![Some(usize::MAX); p.len()])
            .is_err()
    );
}

/// Summaries sorted by customer id, so results whose customer order differs compare.
fn by_id(s: &CustomerSummaries) -> Vec<custseg::CustomerSummary> {
    let mut v = s.as_slice().to_vec();
    v.sort_by(|a, b| a.customer_id().as_str().cmp(b.customer_id().as_str()));
    v
}

/// Partial histories of any row split, merged in any order, give the one-pass summaries to
/// the bit — also for days of many rows whose amounts round differently in every order.
#[test]
fn partial_histories_merge_to_the_one_pass_summaries() {
    let (mut ids, mut dates, mut amounts) = cdnow_rows();
    // Customer 9_999 buys 40 times on one day with amounts whose running sum depends on the
    // order of the additions (small values lost beside 1e16 unless their errors are kept).
    let busy: Date = "1997-03-03".parse().unwrap();
    for i in 0..40 {
        ids.push(9_999);
        dates.push(busy);
        amounts.push([1e16, 1.0, 0.3, 3.0][i % 4] * (1.0 + i as f64 / 7.0));
    }
    let cfg = cdnow_sample_config();
    let one_pass =
        CustomerSummaries::from_columns(&ids, &dates, &amounts, ReturnPolicy::Error, &cfg).unwrap();
    let want = by_id(&one_pass);
    for parts in [1_usize, 2, 5, 16] {
        let mut partials = Vec::new();
        for p in 0..parts {
            // A row hash, not contiguous ranges: a customer-day is split across partitions.
            let rows: Vec<usize> = (0..ids.len())
                .filter(|&i| (i.wrapping_mul(2_654_435_761) >> 7) % parts == p)
                .collect();
            let k = Int64Array::from(rows.iter().map(|&i| ids[i]).collect::<Vec<_>>());
            let d = Date32Array::from(
                rows.iter()
                    .map(|&i| dates[i].days_since_epoch())
                    .collect::<Vec<_>>(),
            );
            let a = Float64Array::from(rows.iter().map(|&i| amounts[i]).collect::<Vec<_>>());
            let tx = Transactions::from_arrays(&k, &d, &a).unwrap();
            partials.push(partial_histories(&tx, ReturnPolicy::Error).unwrap());
        }
        assert_eq!(
            partials[0]
                .schema()
                .fields()
                .iter()
                .map(|f| f.name().as_str())
                .collect::<Vec<_>>(),
            PARTIAL_HISTORY_COLUMNS
        );
        partials.reverse();
        let merged = summaries_from_partial_histories(&partials, &cfg).unwrap();
        assert_eq!(by_id(&merged), want, "{parts} partitions");
    }
    // The busy day's spend is order-dependent when summed naively: the test means something.
    let naive: f64 = amounts[amounts.len() - 40..].iter().rev().sum();
    let forward: f64 = amounts[amounts.len() - 40..].iter().sum();
    assert_ne!(naive, forward);
}

#[test]
fn bad_partial_histories_are_refused_with_their_position() {
    let k = Int64Array::from(vec![1, 2]);
    let d = Date32Array::from(vec![10_000, 10_001]);
    let a = Float64Array::from(vec![1.0, -2.0]);
    let tx = Transactions::from_arrays(&k, &d, &a).unwrap();
    // Netting returns needs the whole customer.
    let err = partial_histories(&tx, ReturnPolicy::Net).unwrap_err();
    assert!(
        matches!(
            err,
            Error::InvalidParameter {
                name: "returns",
                ..
            }
        ),
        "{err}"
    );
    let good = partial_histories(&tx, ReturnPolicy::Drop).unwrap();
    assert_eq!(good.num_rows(), 1);
    let cfg = SummaryConfig::new(Date::from_days_since_epoch(10_100).unwrap());
    // A negative spend: row, customer and column named.
    let bad = RecordBatch::try_from_iter([
        (
            "customer_id",
            Arc::new(StringArray::from(vec!["a", "b"])) as ArrayRef,
        ),
        (
            "date",
            Arc::new(Date32Array::from(vec![10_000, 10_001])) as ArrayRef,
        ),
        (
            "spend",
            Arc::new(Float64Array::from(vec![1.0, -3.0])) as ArrayRef,
        ),
        (
            "residual",
            Arc::new(Float64Array::from(vec![0.0, 0.0])) as ArrayRef,
        ),
        (
            "transactions",
            Arc::new(Int64Array::from(vec![1, 1])) as ArrayRef,
        ),
    ])
    .unwrap();
    let err = summaries_from_partial_histories(&[good.clone(), bad.clone()], &cfg).unwrap_err();
    let at = err.position().expect("a position");
    assert_eq!(
        (at.row(), at.customer(), at.column()),
        (Some(2), Some("b"), Some("spend"))
    );
    // No transactions on a day; a null; a missing column; a column of another type.
    let zero = bad.clone().with_schema(bad.schema()).unwrap();
    let zero = RecordBatch::try_new(
        zero.schema(),
        vec![
            zero.column(0).clone(),
            zero.column(1).clone(),
            Arc::new(Float64Array::from(vec![1.0, 3.0])),
            zero.column(3).clone(),
            Arc::new(Int64Array::from(vec![1, 0])),
        ],
    )
    .unwrap();
    let err = summaries_from_partial_histories(&[zero], &cfg).unwrap_err();
    assert_eq!(
        err.position().and_then(|p| p.column()),
        Some("transactions")
    );
    let null = RecordBatch::try_from_iter([
        ("customer_id", bad.column(0).clone()),
        (
            "date",
            Arc::new(Date32Array::from(vec![Some(10_000), None])) as ArrayRef,
        ),
        (
            "spend",
            Arc::new(Float64Array::from(vec![1.0, 3.0])) as ArrayRef,
        ),
        ("residual", bad.column(3).clone()),
        ("transactions", bad.column(4).clone()),
    ])
    .unwrap();
    let err = summaries_from_partial_histories(&[null], &cfg).unwrap_err();
    assert!(matches!(err, Error::Missing { .. }), "{err}");
    assert_eq!(err.position().and_then(|p| p.row()), Some(1));
    let err =
        summaries_from_partial_histories(&[bad.project(&[0, 1, 2, 4]).unwrap()], &cfg).unwrap_err();
    assert!(err.to_string().contains("residual"), "{err}");
    let wrong = RecordBatch::try_new(
        Arc::new(custseg::arrow::arrow_schema::Schema::new(vec![
            custseg::arrow::arrow_schema::Field::new("customer_id", DataType::Int64, false),
            bad.schema().field(1).clone(),
            bad.schema().field(2).clone(),
            bad.schema().field(3).clone(),
            bad.schema().field(4).clone(),
        ])),
        vec![
            Arc::new(Int64Array::from(vec![1, 2])),
            bad.column(1).clone(),
            bad.column(2).clone(),
            bad.column(3).clone(),
            bad.column(4).clone(),
        ],
    )
    .unwrap();
    let err = summaries_from_partial_histories(&[wrong], &cfg).unwrap_err();
    assert!(err.to_string().contains("customer_id"), "{err}");
}
