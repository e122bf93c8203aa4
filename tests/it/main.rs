//! Integration tests, one module per concern, in one test binary: each test target links the
//! crate once, so one binary instead of fifteen is most of a cold `cargo test`'s time saved.
//! Fixtures computed by the peers live in `tests/data/` (scripts in `benches/peers/`).

mod churn;
mod clv;
mod clv_api;
mod clv_numerics;
mod errors;
mod geographic;
mod psychographic;
mod report;
mod rfm;
mod robustness;
mod segment;
mod segment_models;
mod summaries;
mod synthetic;

/// A strategy fitted on numeric and categorical columns, with the training labels (the shape
/// the clustering tests compare against their references).
fn fit_strategy<'a>(
    s: &custseg::segment::Strategy,
    numeric: ndarray::ArrayView2<'a, f64>,
    categorical: ndarray::ArrayView2<'a, u32>,
) -> custseg::Result<(custseg::segment::Clustering, Vec<Option<usize>>)> {
    use custseg::Fit;
    s.fit(&custseg::segment::Points::mixed(numeric, categorical))
        .map(|(c, r)| (c, r.labels))
}
