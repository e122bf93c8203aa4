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
