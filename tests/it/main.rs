//! Integration tests, one module per concern, in one test binary: each test target links the
//! crate once, so one binary instead of fifteen is most of a cold `cargo test`'s time saved.
//! Fixtures computed by the peers live in `tests/data/` (scripts in `benches/peers/`).

#[cfg(feature = "arrow")]
mod arrow;
mod bgbb_diagnostics;
mod churn;
mod clv;
mod clv_api;
mod clv_columns;
mod clv_numerics;
mod columnar_summaries;
mod convergence;
mod diagnostics;
mod errors;
mod experiment;
mod fuzz;
mod geographic;
mod hostile;
mod live;
mod plots;
mod portrait;
mod predictions;
mod psychographic;
mod report;
mod rfm;
mod robustness;
mod rules;
mod segment;
mod segment_models;
mod summaries;
mod synthetic;
mod uncertainty;

/// `f` run on a rayon pool of `n` threads (for the thread-count invariance tests).
fn with_threads<T: Send>(n: usize, f: impl FnOnce() -> T + Send) -> T {
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .build()
        .unwrap()
        .install(f)
}

/// A clusterer fitted through the public contract, in the shape the algorithm tests read:
/// the clustering, every point's segment (no noise: the algorithms tested this way label
/// every point) and the criterion the algorithm minimised.
#[derive(Debug)]
struct Clustered {
    clustering: custseg::segment::Clustering,
    labels: Vec<usize>,
    objective: f64,
}

impl Clustered {
    /// The categorical part of k-prototypes' prototypes and the mismatch weight γ.
    fn modes_and_gamma(&self) -> (&ndarray::Array2<u32>, f64) {
        match &self.clustering {
            custseg::segment::Clustering::Prototypes { modes, gamma, .. } => (modes, *gamma),
            other => panic!("not k-prototypes: {other:?}"),
        }
    }
}

fn cluster<C: custseg::segment::Clusterer>(
    c: &C,
    points: custseg::segment::Points<'_>,
) -> custseg::Result<Clustered> {
    let (clustering, report) = c.fit(&points)?;
    Ok(Clustered {
        clustering,
        labels: report.labels.iter().map(|l| l.expect("no noise")).collect(),
        objective: report.objective.expect("an objective"),
    })
}

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
