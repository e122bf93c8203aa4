//! Real-time updates: a customer's history updated one purchase at a time, in any order,
//! summarises and scores exactly as the batch log does.

use custseg::clv::{BgNbd, Discounting, GammaGamma, Valuation};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{CustomerHistory, CustomerId, Score};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use std::collections::HashMap;

/// Every CDNOW purchase replayed as a live event, shuffled (out of order), into one history
/// per customer: each customer's summary equals the batch summary of the whole log, and the
/// CLV rescored from it equals the batch CLV. Duplicated events count twice, as a repeated log
/// row does; bad amounts are errors that leave the history unchanged.
#[test]
fn live_updates_in_any_order_equal_the_batch_summaries_and_scores() {
    let log = cdnow_sample();
    let cfg = cdnow_sample_config();
    let batch = log.summarise(&cfg).unwrap();
    let mut events: Vec<(CustomerId, custseg::Date, f64)> = Vec::new();
    for (c, id) in log.customer_ids().iter().enumerate() {
        let rows = log.customer(c).unwrap();
        for (d, a) in rows.dates.iter().zip(rows.amounts) {
            events.push((id.clone(), *d, *a));
        }
    }
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
    events.shuffle(&mut rng);
    let mut live: HashMap<CustomerId, CustomerHistory> = HashMap::new();
    for (id, date, amount) in &events {
        live.entry(id.clone())
            .or_default()
            .record(*date, *amount)
            .unwrap();
    }
    let valuation = Valuation::new(
        BgNbd::new(0.2426, 4.4135, 0.7929, 2.4258).unwrap(),
        GammaGamma::new(6.25, 3.74, 15.44).unwrap(),
        Discounting::new(4.345, 12, 0.01).unwrap(),
    );
    let mut checked = 0;
    for s in batch.iter() {
        let id = s.customer_id();
        let one = live[id].summarise(id, &cfg).unwrap();
        // Amounts within a day are added in another order: spend equal to rounding.
        assert_eq!(
            (
                one.frequency(),
                one.recency(),
                one.age(),
                one.transactions()
            ),
            (s.frequency(), s.recency(), s.age(), s.transactions()),
            "{id}"
        );
        assert!((one.monetary() - s.monetary()).abs() <= 1e-12 * s.monetary().max(1.0));
        let (a, b) = (valuation.score(&one).unwrap(), valuation.score(s).unwrap());
        assert!((a.clv - b.clv).abs() <= 1e-12 * b.clv.max(1.0), "{id}");
        checked += 1;
    }
    assert_eq!(checked, batch.len());
    // A duplicate is another row; a bad amount changes nothing.
    let mut h = CustomerHistory::default();
    let day: custseg::Date = "1997-02-01".parse().unwrap();
    h.record(day, 10.0).unwrap();
    h.record(day, 10.0).unwrap();
    assert_eq!((h.days()[0].transactions, h.days()[0].spend), (2, 20.0));
    h.record(day, f64::MAX).unwrap();
    let before = h.clone();
    let e = h.record(day, f64::NAN).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.column()), Some("amount"), "{e}");
    let e = h.record(day, f64::MAX).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.column()), Some("spend"), "{e}");
    assert_eq!(h, before);
    // Not yet a customer at the observation end: an error naming them.
    let mut late = CustomerHistory::default();
    late.record("1999-01-01".parse().unwrap(), 5.0).unwrap();
    let e = late.summarise(&"zoe".into(), &cfg).unwrap_err();
    assert_eq!(e.position().and_then(|p| p.customer()), Some("zoe"), "{e}");
}

/// One customer's segment, as a live service asks for it after each event, is the batch
/// answer for a batch of one: the same segment, and the same error for a bad record (NaN,
/// a value log1p refuses, a missing count under each policy, engagement of another length),
/// for k-means, the mixture and DBSCAN.
#[test]
fn one_customer_segments_equal_the_batch_answers() {
    use custseg::Assign;
    use custseg::Fit;
    use custseg::segment::{BehavioralRecord, BehavioralSegmenter, DbscanParams, Strategy};
    let summaries = cdnow_sample().summarise(&cdnow_sample_config()).unwrap();
    let records: Vec<BehavioralRecord> = summaries
        .iter()
        .map(|s| {
            let mut r = BehavioralRecord::from_summary(s);
            // Some customers without an email count: imputed at the median.
            let emails = (s.frequency() % 3 != 0).then(|| s.total_spend() % 7.0);
            r.engagement = vec![Some((s.frequency() % 5) as f64), emails];
            r
        })
        .collect();
    let strategies = [
        Strategy::KMeans(custseg::segment::KMeansParams::new(4).unwrap()),
        Strategy::GaussianMixture(custseg::segment::GaussianMixtureParams::new(3).unwrap()),
        Strategy::Dbscan(DbscanParams::new(0.8, 10).unwrap()),
    ];
    // Bad records after fitting: each must fail (or not) exactly as in a batch of one.
    let mut probes = records[..300].to_vec();
    probes[0].monetary = f64::NAN;
    probes[1].frequency = -2.0;
    probes[2].cadence_days = None;
    probes[3].engagement = vec![Some(1.0)];
    probes[4].recency_days = f64::INFINITY;
    probes[5].engagement = vec![None, Some(f64::MAX)];
    for strategy in strategies {
        let (model, _) = BehavioralSegmenter::new(4)
            .unwrap()
            .with_strategy(strategy)
            .unwrap()
            .with_engagement(vec!["visits".into(), "emails".into()])
            .fit(&records)
            .unwrap();
        let mut errors = 0;
        for r in &probes {
            let one = model.assign(r);
            errors += usize::from(one.is_err());
            let batch = model
                .assign_batch(std::slice::from_ref(r))
                .map(|mut v| v.pop().unwrap());
            match (&one, &batch) {
                (Ok(a), Ok(b)) => assert_eq!(a, b),
                // The batch's error, without its row (there is one record).
                (Err(a), Err(b)) => {
                    assert_eq!(a.to_string(), b.to_string().replace("row 0, ", ""));
                    assert_eq!(a.position().and_then(|p| p.row()), None, "{a}");
                    assert_eq!(
                        a.position().and_then(|p| p.column()),
                        b.position().and_then(|p| p.column())
                    );
                }
                _ => panic!("{one:?} vs {batch:?}"),
            }
        }
        // NaN, log1p(−2), the short engagement and the infinite recency.
        assert_eq!(errors, 4);
    }
}
