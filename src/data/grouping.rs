//! Turning validated rows into a customer-grouped, date-sorted log, in parallel.
//!
//! Two ways in: rows whose customers are already numbered (the row-by-row builder interns as it
//! goes) are grouped by a counting sort; columns of raw keys are grouped by hash partitioning,
//! which interns and groups in one parallel pass with mostly sequential memory traffic. Both
//! give the same layout — customers numbered in order of first appearance, each customer's
//! rows contiguous and sorted by (date, input row) — independent of the thread count.

use std::collections::HashMap;
use std::collections::hash_map::Entry as Entry_;
use std::hash::BuildHasher;

use rayon::prelude::*;

use super::customer_id::CustomerId;
use super::date::Date;
use super::transactions::{CustomerKey, LogReport, TransactionLog};
use crate::error::{Error, Position, Result};
use crate::par::{offsets_from_counts, split_by_offsets_mut};

/// Rows per chunk of the parallel passes: fixed, so chunk boundaries never depend on the
/// thread count.
pub(crate) const CHUNK: usize = 1 << 16;

/// Bits of the key hash that pick a partition: 256 partitions, enough to spread the work over
/// many threads and to keep each partition's hash table in cache.
const PARTITION_BITS: u32 = 8;
const PARTITIONS: usize = 1 << PARTITION_BITS;

/// Customers and their rows: `perm[offsets[c]..offsets[c + 1]]` are customer `c`'s row indices
/// (into the caller's columns), sorted by (date, row); `dates` and `amounts` are the columns
/// in that order.
pub(crate) struct Grouped {
    pub ids: Vec<CustomerId>,
    pub offsets: Vec<usize>,
    pub perm: Vec<u32>,
    pub dates: Vec<Date>,
    pub amounts: Vec<f64>,
}

/// Sorts one customer's rows by (date, row) unless they already are by date.
fn sort_by_date(rows: &mut [u32], dates: &[Date]) {
    if !rows.is_sorted_by_key(|&i| dates[i as usize]) {
        rows.sort_unstable_by_key(|&i| (dates[i as usize], i));
    }
}

/// Groups rows whose customer numbers are known (`cust[i] < ids.len()`).
pub(crate) fn group_by_codes(
    ids: Vec<CustomerId>,
    cust: &[u32],
    dates: &[Date],
    amounts: &[f64],
) -> Grouped {
    let mut counts = vec![0usize; ids.len()];
    for &c in cust {
        counts[c as usize] += 1;
    }
    let offsets = offsets_from_counts(counts);
    let mut next = offsets[..ids.len()].to_vec();
    let mut perm = vec![0u32; cust.len()];
    for (i, &c) in cust.iter().enumerate() {
        let slot = &mut next[c as usize];
        perm[*slot] = i as u32;
        *slot += 1;
    }
    split_by_offsets_mut(&mut perm, &offsets)
        .into_par_iter()
        .for_each(|rows| sort_by_date(rows, dates));
    Grouped {
        dates: perm.par_iter().map(|&i| dates[i as usize]).collect(),
        amounts: perm.par_iter().map(|&i| amounts[i as usize]).collect(),
        ids,
        offsets,
        perm,
    }
}

/// The hasher of the partitioning and the interning tables: fast, and fixed so that runs are
/// reproducible.
fn key_hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x6375_7374_7365_6721)
}

/// One partition's customers, grouped.
struct Partition<'k, K: ?Sized> {
    /// Each customer's key and first row, in first-appearance order within the partition.
    customers: Vec<(&'k K, u32)>,
    /// CSR offsets of `rows` per customer.
    offsets: Vec<u32>,
    /// Rows grouped by customer and sorted by (date, row): `[pack(date, row), amount bits]`.
    rows: Vec<[u64; 2]>,
}

/// A row as it travels to its partition, packed in words so that the buffer can be allocated
/// zeroed (and its pages faulted in by the parallel writers rather than by one initialising
/// thread): the key fingerprint; the date (biased to sort as unsigned) in the high half of the
/// second word with the row in the low half, so that sorting second words sorts by
/// (date, row); the amount's bits. Carrying date and amount along means the grouped columns
/// are copied per customer from contiguous memory instead of gathered row by row.
type Entry = [u64; 3];

fn pack(date: Date, row: u32) -> u64 {
    let biased = (date.days_since_epoch() as i64 - i32::MIN as i64) as u64;
    (biased << 32) | row as u64
}

fn row_of_packed(w: u64) -> u32 {
    w as u32
}

fn date_of_packed(w: u64) -> u64 {
    w >> 32
}

fn unpack_date(w: u64) -> Date {
    // Undoes the bias of `pack`: the result is the valid date that was packed.
    Date::from_epoch_days((date_of_packed(w) as i64 + i32::MIN as i64) as i32)
}

/// Customers per block of the final copy: each block writes one contiguous range of rows.
const COPY_BLOCK: usize = 1 << 12;

/// Groups the rows `i` with `include(i)` by their key.
///
/// Rows are partitioned by their key (a parallel radix scatter on a hash), so every customer
/// falls in exactly one partition, and partitions are interned and grouped independently. The
/// customers are then numbered by their first row, which gives exactly the numbering of a
/// sequential first-appearance pass. Integer keys are grouped by value; other keys by a 64-bit
/// hash, with every match confirmed by comparing the keys themselves.
/// `perm` is filled only when `want_rows` (netting needs the input rows for its errors).
pub(crate) fn group_by_keys<K: CustomerKey, F: Fn(usize) -> bool + Sync>(
    keys: &[K],
    dates: &[Date],
    amounts: &[f64],
    include: F,
    want_rows: bool,
) -> Grouped {
    let exact = keys.first().is_some_and(|k| k.exact_u64().is_some());
    let hasher = key_hasher();
    let fingerprint = |k: &K| match k.exact_u64() {
        Some(v) if exact => v,
        _ => hasher.hash_one(k),
    };
    let (part_offsets, entries) = partition_entries(keys, dates, amounts, &include, &fingerprint);

    let parts: Vec<Partition<'_, K>> = (0..PARTITIONS)
        .into_par_iter()
        .map(|p| group_partition(keys, exact, &entries[part_offsets[p]..part_offsets[p + 1]]))
        .collect();
    drop(entries);

    // Number customers by first row; first rows are distinct across partitions.
    let mut order: Vec<(u32, u16, u32)> = parts
        .iter()
        .enumerate()
        .flat_map(|(p, part)| {
            part.customers
                .iter()
                .enumerate()
                .map(move |(c, &(_, first))| (first, p as u16, c as u32))
        })
        .collect();
    order.par_sort_unstable_by_key(|o| o.0);
    let offsets = offsets_from_counts(order.iter().map(|&(_, p, c)| {
        let o = &parts[p as usize].offsets;
        (o[c as usize + 1] - o[c as usize]) as usize
    }));
    let n = offsets.last().copied().unwrap_or(0);
    // Filled in parallel so that the pages are faulted in by several threads.
    let mut out_dates: Vec<Date> = crate::mem::with_capacity(n);
    (0..n)
        .into_par_iter()
        .map(|_| Date::MIN)
        .collect_into_vec(&mut out_dates);
    let mut out_amounts: Vec<f64> = crate::mem::zeros(n);
    let mut perm: Vec<u32> = crate::mem::zeros(if want_rows { n } else { 0 });
    let block_offsets: Vec<usize> = offsets
        .iter()
        .step_by(COPY_BLOCK)
        .copied()
        .chain((!order.len().is_multiple_of(COPY_BLOCK)).then_some(n))
        .collect();
    let perm_blocks = if want_rows {
        split_by_offsets_mut(&mut perm, &block_offsets)
    } else {
        block_offsets
            .windows(2)
            .map(|_| <&mut [u32]>::default())
            .collect()
    };
    split_by_offsets_mut(&mut out_dates, &block_offsets)
        .into_par_iter()
        .zip(split_by_offsets_mut(&mut out_amounts, &block_offsets))
        .zip(perm_blocks)
        .zip(order.par_chunks(COPY_BLOCK))
        .for_each(|(((ds, am), rows), block)| {
            let mut j = 0;
            for &(_, p, c) in block {
                let part = &parts[p as usize];
                let src = &part.rows
                    [part.offsets[c as usize] as usize..part.offsets[c as usize + 1] as usize];
                for (k, &[packed, bits]) in src.iter().enumerate() {
                    ds[j + k] = unpack_date(packed);
                    am[j + k] = f64::from_bits(bits);
                    if let Some(r) = rows.get_mut(j + k) {
                        *r = row_of_packed(packed);
                    }
                }
                j += src.len();
            }
        });
    let ids = order
        .par_iter()
        .map(|&(_, p, c)| parts[p as usize].customers[c as usize].0.to_customer_id())
        .collect();
    Grouped {
        ids,
        offsets,
        perm,
        dates: out_dates,
        amounts: out_amounts,
    }
}

/// The partition of a key fingerprint: the top bits of a Fibonacci hash, which spreads
/// consecutive integer ids as well as it keeps hashes uniform.
fn partition_of(fp: u64) -> usize {
    (fp.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - PARTITION_BITS)) as usize
}

/// Scatters the included rows into partition-contiguous order (rows ascending within each
/// partition). Each chunk counts its rows per partition, then writes them into its own
/// disjoint segment of every partition, so the scatter runs in parallel without locks.
fn partition_entries<K: Sync, F: Fn(usize) -> bool + Sync, H: Fn(&K) -> u64 + Sync>(
    keys: &[K],
    dates: &[Date],
    amounts: &[f64],
    include: &F,
    fingerprint: &H,
) -> (Vec<usize>, Vec<Entry>) {
    let hist: Vec<[usize; PARTITIONS]> = keys
        .par_chunks(CHUNK)
        .enumerate()
        .map(|(ci, chunk)| {
            let mut h = [0usize; PARTITIONS];
            for (j, k) in chunk.iter().enumerate() {
                if include(ci * CHUNK + j) {
                    h[partition_of(fingerprint(k))] += 1;
                }
            }
            h
        })
        .collect();
    let chunks = hist.len();
    // Segments in (partition, chunk) order.
    let seg_offsets =
        offsets_from_counts((0..PARTITIONS).flat_map(|p| hist.iter().map(move |h| h[p])));
    let part_offsets: Vec<usize> = (0..=PARTITIONS).map(|p| seg_offsets[p * chunks]).collect();
    let mut entries: Vec<Entry> = crate::mem::zeros(seg_offsets[PARTITIONS * chunks]);
    let mut per_chunk: Vec<Vec<&mut [Entry]>> = (0..chunks)
        .map(|_| Vec::with_capacity(PARTITIONS))
        .collect();
    for (s, seg) in split_by_offsets_mut(&mut entries, &seg_offsets)
        .into_iter()
        .enumerate()
    {
        per_chunk[s % chunks].push(seg);
    }
    per_chunk
        .into_par_iter()
        .enumerate()
        .for_each(|(ci, mut segs)| {
            let mut cursor = [0usize; PARTITIONS];
            let lo = ci * CHUNK;
            let hi = (lo + CHUNK).min(keys.len());
            for row in lo..hi {
                if include(row) {
                    let fp = fingerprint(&keys[row]);
                    let p = partition_of(fp);
                    segs[p][cursor[p]] = [fp, pack(dates[row], row as u32), amounts[row].to_bits()];
                    cursor[p] += 1;
                }
            }
        });
    (part_offsets, entries)
}

/// Interns and groups one partition's entries (rows ascending).
fn group_partition<'k, K: CustomerKey>(
    keys: &'k [K],
    exact: bool,
    entries: &[Entry],
) -> Partition<'k, K> {
    let mut map: HashMap<u64, u32, _> =
        HashMap::with_capacity_and_hasher(entries.len() / 4, key_hasher());
    // Keys whose hash collided with another key's: looked up by the key itself.
    let mut collided: HashMap<&K, u32, _> = HashMap::with_hasher(key_hasher());
    let mut customers: Vec<(&K, u32)> = Vec::new();
    let mut codes = Vec::with_capacity(entries.len());
    for &[fp, packed, _] in entries {
        let row = row_of_packed(packed);
        let key = &keys[row as usize];
        let next = customers.len() as u32;
        let code = match map.entry(fp) {
            Entry_::Vacant(v) => {
                customers.push((key, row));
                *v.insert(next)
            }
            Entry_::Occupied(o) => {
                let c = *o.get();
                if exact || customers[c as usize].0 == key {
                    c
                } else {
                    *collided.entry(key).or_insert_with(|| {
                        customers.push((key, row));
                        next
                    })
                }
            }
        };
        codes.push(code);
    }
    let mut offsets = vec![0u32; customers.len() + 1];
    for &c in &codes {
        offsets[c as usize + 1] += 1;
    }
    for i in 1..offsets.len() {
        offsets[i] += offsets[i - 1];
    }
    let mut next: Vec<u32> = offsets[..customers.len()].to_vec();
    let mut grouped = vec![[0u64; 2]; entries.len()];
    for (e, &c) in entries.iter().zip(&codes) {
        let slot = &mut next[c as usize];
        grouped[*slot as usize] = [e[1], e[2]];
        *slot += 1;
    }
    for w in offsets.windows(2) {
        let g = &mut grouped[w[0] as usize..w[1] as usize];
        // Rows are ascending, so (date, row) order only needs a sort when dates are not.
        if !g.is_sorted_by_key(|x| date_of_packed(x[0])) {
            g.sort_unstable_by_key(|x| x[0]);
        }
    }
    Partition {
        customers,
        offsets,
        rows: grouped,
    }
}

/// Gathers the grouped rows into a log, applying [`ReturnPolicy::Net`](super::ReturnPolicy)
/// when `returns > 0`. `row_of` maps a column index to the input row named in errors.
#[allow(clippy::too_many_arguments)]
pub(crate) fn assemble(
    g: Grouped,
    quantities: Option<&[Option<u32>]>,
    returns: usize,
    row_of: &(dyn Fn(u32) -> usize + Sync),
    mut report: LogReport,
) -> Result<TransactionLog> {
    let Grouped {
        ids,
        mut offsets,
        perm,
        dates: mut out_dates,
        amounts: mut out_amounts,
    } = g;
    if out_dates.is_empty() {
        return Err(Error::EmptyInput {
            what: "transactions",
        });
    }
    let mut out_qty: Option<Vec<Option<u32>>> =
        quantities.map(|q| perm.par_iter().map(|&i| q[i as usize]).collect());
    let total_of_returns = check_returns_total;
    total_of_returns("dropped", report.amount_dropped)?;
    if returns > 0 {
        let (netted, amount) =
            net_returns(&ids, &offsets, &out_dates, &mut out_amounts, &perm, row_of)?;
        total_of_returns("netted", amount)?;
        report.returns_netted = netted;
        report.amount_netted = amount;
        let keep: Vec<bool> = out_amounts.par_iter().map(|&a| a >= 0.0).collect();
        let new_counts: Vec<usize> = offsets
            .windows(2)
            .map(|w| keep[w[0]..w[1]].iter().filter(|&&b| b).count())
            .collect();
        offsets = offsets_from_counts(new_counts);
        retain_by(&mut out_dates, &keep);
        retain_by(&mut out_amounts, &keep);
        if let Some(q) = out_qty.as_mut() {
            retain_by(q, &keep);
        }
    }
    report.rows_kept = out_dates.len();
    Ok(TransactionLog::from_grouped_parts(
        ids,
        offsets,
        out_dates,
        out_amounts,
        out_qty,
        report,
    ))
}

/// The report's totals of returns are sums of caller amounts: finite, or the log is refused
/// rather than reporting an infinity.
pub(crate) fn check_returns_total(what: &str, v: f64) -> Result<()> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(Error::InvalidRecord {
            at: Position::in_column("amount"),
            reason: format!("the {what} returns sum to {v}, beyond f64"),
        })
    }
}

fn retain_by<T>(v: &mut Vec<T>, keep: &[bool]) {
    let mut i = 0;
    v.retain(|_| {
        i += 1;
        keep[i - 1]
    });
}

/// Applies `ReturnPolicy::Net` customer by customer; returns how many returns were netted and
/// their total. The error reported is the failing return with the smallest input row, whatever
/// the thread count.
fn net_returns(
    ids: &[CustomerId],
    offsets: &[usize],
    dates: &[Date],
    amounts: &mut [f64],
    perm: &[u32],
    row_of: &(dyn Fn(u32) -> usize + Sync),
) -> Result<(usize, f64)> {
    let results: Vec<Result<(usize, f64)>> = split_by_offsets_mut(amounts, offsets)
        .into_par_iter()
        .enumerate()
        .map(|(c, amts)| {
            let lo = offsets[c];
            let hi = lo + amts.len();
            net_customer(&ids[c], &dates[lo..hi], amts, &perm[lo..hi], row_of)
        })
        .collect();
    let mut total = (0usize, 0.0f64);
    let mut first_err: Option<(usize, Error)> = None;
    for r in results {
        match r {
            Ok((n, a)) => {
                total.0 += n;
                total.1 += a;
            }
            Err(e) => {
                let row = e.position().and_then(Position::row).unwrap_or(usize::MAX);
                if first_err.as_ref().is_none_or(|(r, _)| row < *r) {
                    first_err = Some((row, e));
                }
            }
        }
    }
    match first_err {
        Some((_, e)) => Err(e),
        None => Ok(total),
    }
}

fn net_customer(
    id: &CustomerId,
    dates: &[Date],
    amounts: &mut [f64],
    perm: &[u32],
    row_of: &(dyn Fn(u32) -> usize + Sync),
) -> Result<(usize, f64)> {
    let (mut netted, mut total) = (0usize, 0.0f64);
    // Purchases that still have money left, latest on top; a day's purchases are all pushed
    // before its returns are applied, so a return can net against a same-day purchase that
    // appeared later in the input.
    let mut open: Vec<usize> = Vec::new();
    let mut spent_so_far = 0.0f64;
    let mut i = 0;
    while i < dates.len() {
        let mut end = i;
        while end < dates.len() && dates[end] == dates[i] {
            if amounts[end] > 0.0 {
                open.push(end);
                spent_so_far += amounts[end];
            }
            end += 1;
        }
        for j in i..end {
            let value = amounts[j];
            if value >= 0.0 {
                continue;
            }
            let available = spent_so_far;
            let mut remaining = -value;
            // Sums of cents in binary floating point leave residues of ~1e-17; anything below
            // this is rounding, not money.
            let eps = 1e-9 * value.abs().max(1.0);
            while remaining > eps {
                let Some(&top) = open.last() else { break };
                let take = amounts[top].min(remaining);
                amounts[top] -= take;
                remaining -= take;
                spent_so_far -= take;
                if amounts[top] <= eps {
                    amounts[top] = 0.0;
                    open.pop();
                }
            }
            // Nothing bought before it: even a return small enough to be rounding has
            // nothing to net against, and netting it would leave the customer no rows.
            if remaining > eps || available <= 0.0 {
                return Err(Error::ReturnExceedsPurchases {
                    at: Position::at_row(row_of(perm[j])).with_customer(id.to_string()),
                    value,
                    available,
                    date: dates[j],
                });
            }
            netted += 1;
            total += value;
        }
        i = end;
    }
    Ok((netted, total))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    /// A key whose hash is the same for every value: every fingerprint collides, so grouping
    /// must fall back on comparing keys.
    #[derive(PartialEq, Eq)]
    struct Colliding(String);

    impl std::hash::Hash for Colliding {
        fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
            state.write_u8(0);
        }
    }

    impl CustomerKey for Colliding {
        fn to_customer_id(&self) -> CustomerId {
            CustomerId::from(self.0.as_str())
        }
    }

    fn by_codes(keys: &[String], dates: &[Date], amounts: &[f64]) -> Grouped {
        let mut ids: Vec<CustomerId> = Vec::new();
        let mut index: HashMap<&str, u32> = HashMap::new();
        let cust: Vec<u32> = keys
            .iter()
            .map(|k| {
                *index.entry(k.as_str()).or_insert_with(|| {
                    ids.push(CustomerId::from(k.as_str()));
                    ids.len() as u32 - 1
                })
            })
            .collect();
        group_by_codes(ids, &cust, dates, amounts)
    }

    fn assert_same(a: &Grouped, b: &Grouped) {
        assert_eq!(a.ids, b.ids);
        assert_eq!(a.offsets, b.offsets);
        assert_eq!(a.perm, b.perm);
        assert_eq!(a.dates, b.dates);
        assert_eq!(a.amounts, b.amounts);
    }

    #[test]
    fn hashing_paths_agree_with_sequential_interning() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(5);
        for (n, customers) in [(1usize, 1u64), (50, 7), (5_000, 300), (200_000, 20_000)] {
            let ints: Vec<u64> = (0..n)
                .map(|_| rng.gen_range(0..customers) * 7_919)
                .collect();
            let text: Vec<String> = ints.iter().map(|k| k.to_string()).collect();
            let start = Date::from_ymd(2024, 1, 1).unwrap();
            let dates: Vec<Date> = (0..n)
                .map(|_| start.add_days(rng.gen_range(0..400)).unwrap())
                .collect();
            let amounts: Vec<f64> = (0..n).map(|i| i as f64 * 0.25).collect();
            let reference = by_codes(&text, &dates, &amounts);
            assert_same(
                &group_by_keys(&ints, &dates, &amounts, |_| true, true),
                &reference,
            );
            assert_same(
                &group_by_keys(&text, &dates, &amounts, |_| true, true),
                &reference,
            );
            if n <= 5_000 {
                let colliding: Vec<Colliding> = text.iter().map(|t| Colliding(t.clone())).collect();
                assert_same(
                    &group_by_keys(&colliding, &dates, &amounts, |_| true, true),
                    &reference,
                );
            }
            // Rows of a customer are sorted by (date, row).
            for w in reference.offsets.windows(2) {
                let rows = &reference.perm[w[0]..w[1]];
                assert!(
                    rows.windows(2)
                        .all(|r| (dates[r[0] as usize], r[0]) < (dates[r[1] as usize], r[1]))
                );
            }
        }
    }

    #[test]
    fn excluded_rows_are_left_out_of_grouping() {
        let keys = [3u64, 1, 3, 2, 1];
        let d = Date::from_ymd(2024, 1, 1).unwrap();
        let g = group_by_keys(&keys, &[d; 5], &[1.0; 5], |i| i != 1 && i != 3, true);
        assert!(
            group_by_keys(&keys, &[d; 5], &[1.0; 5], |_| true, false)
                .perm
                .is_empty()
        );
        let ids: Vec<&str> = g.ids.iter().map(CustomerId::as_str).collect();
        assert_eq!(ids, ["3", "1"]);
        assert_eq!(g.offsets, [0, 2, 3]);
        assert_eq!(g.perm, [0, 2, 4]);
    }
}
