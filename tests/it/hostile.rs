//! The reproductions of the hostile-input sweep (issue 14), one per class: each must be an
//! answer or a typed error, never an abort, a panic, a hang or a NaN inside `Ok`.

use crate::fit_strategy;
use custseg::Date;
use custseg::report::{Refits, stability};
use custseg::segment::{
    Clustering, DbscanParams, GaussianMixtureParams, KCriterion, KMeansParams, KSearch,
    MAX_COORDINATE, Points, Strategy, choose_k,
};
use ndarray::{Array2, ShapeBuilder, array};

fn no_cat(n: usize) -> Array2<u32> {
    Array2::zeros((n, 0))
}

/// A1, A5: coordinates whose squared distances overflow sent linfa's k-d tree into endless
/// recursion (a stack overflow) and its k-means++ into a panic; every distance-based
/// strategy now refuses them, naming the row and column, directly and through `choose_k`
/// and `stability`.
#[test]
fn coordinates_beyond_the_bound_are_refused_not_aborted() {
    let huge = Array2::from_shape_fn((17, 1), |(i, _)| if i % 2 == 0 { 1e308 } else { -1e308 });
    let strategies = [
        Strategy::Dbscan(DbscanParams::new(1.0, 2).unwrap()),
        Strategy::GaussianMixture(GaussianMixtureParams::new(2).unwrap()),
        Strategy::LinfaKMeans(KMeansParams::new(2).unwrap()),
        Strategy::KMeans(KMeansParams::new(2).unwrap()),
    ];
    for s in &strategies {
        let e = fit_strategy(s, huge.view(), no_cat(17).view()).unwrap_err();
        assert_eq!(
            e.position().and_then(|p| p.row()),
            Some(0),
            "{}: {e}",
            s.name()
        );
    }
    let spread = array![[0.0], [1e200], [1.0]];
    for s in &strategies {
        assert!(fit_strategy(s, spread.view(), no_cat(3).view()).is_err());
    }
    // At the bound itself the fit works.
    let edge = array![[0.0], [MAX_COORDINATE], [1.0], [-MAX_COORDINATE]];
    let (c, _) = fit_strategy(&strategies[3], edge.view(), no_cat(4).view()).unwrap();
    assert_eq!(c.segments(), 2);
    let search = KSearch::new(2..=3, KCriterion::Silhouette).unwrap();
    assert!(choose_k(huge.view(), KMeansParams::new, &search).is_err());
    let dbscan = DbscanParams::new(1.0, 2).unwrap();
    let refits = Refits::new(1, 1, 0).unwrap();
    assert!(stability(Points::numeric(huge.view()), &dbscan, &refits).is_err());
}

/// A2: a DBSCAN clustering edited to hold such points is refused when loaded, and queries
/// beyond the bound are refused when assigned.
#[test]
fn loaded_and_queried_points_beyond_the_bound_are_refused() {
    let x = Array2::from_shape_fn((80, 1), |(i, _)| (i % 40) as f64 * 0.01);
    let (c, _) = fit_strategy(
        &Strategy::Dbscan(DbscanParams::new(0.05, 3).unwrap()),
        x.view(),
        no_cat(80).view(),
    )
    .unwrap();
    let mut v = serde_json::to_value(&c).unwrap();
    v["Density"]["points"]["data"][0] = serde_json::json!(1e308);
    assert!(serde_json::from_value::<Clustering>(v).is_err());
    let far = array![[1e300]];
    assert!(c.assign_batch(far.view(), no_cat(1).view()).is_err());
    assert!(c.assign(far.row(0), no_cat(1).row(0)).is_err());
}

/// A3, A4: column-major (Fortran-order) views made linfa-nn panic ("views should be
/// contiguous") in the DBSCAN fit and in assigning a batch to a model with more than 64 core
/// points; they now give what the row-major layout gives.
#[test]
fn column_major_views_cluster_like_row_major_ones() {
    let n = 200;
    let values: Vec<f64> = (0..2 * n)
        .map(|i| ((i * 37) % 101) as f64 * 0.01 + if i % 2 == 0 { 0.0 } else { 5.0 })
        .collect();
    let fortran = Array2::from_shape_vec((n, 2).f(), values).unwrap();
    let standard = fortran.as_standard_layout().into_owned();
    let dbscan = Strategy::Dbscan(DbscanParams::new(0.3, 4).unwrap());
    let (c, labels) = fit_strategy(&dbscan, fortran.view(), no_cat(n).view()).unwrap();
    let (c2, labels2) = fit_strategy(&dbscan, standard.view(), no_cat(n).view()).unwrap();
    assert_eq!((&c, &labels), (&c2, &labels2));
    let Clustering::Density { points, .. } = &c else {
        panic!("DBSCAN gives a density clustering")
    };
    assert!(
        points.nrows() > 64,
        "the k-d tree path: {} core points",
        points.nrows()
    );
    assert_eq!(
        c.assign_batch(fortran.view(), no_cat(n).view()).unwrap(),
        c.assign_batch(standard.view(), no_cat(n).view()).unwrap()
    );
}

/// W3: a point exactly between two clusters went to one cluster when assigned alone and to
/// the other in a batch (the k-d tree returned either tie); both now take the lowest core
/// point index, as the one-at-a-time scan does.
#[test]
fn dbscan_ties_agree_one_by_one_and_in_a_batch() {
    let x = Array2::from_shape_fn((80, 1), |(i, _)| if i < 40 { 0.0 } else { 2.0 });
    let (c, _) = fit_strategy(
        &Strategy::Dbscan(DbscanParams::new(1.0, 5).unwrap()),
        x.view(),
        no_cat(80).view(),
    )
    .unwrap();
    let queries = Array2::from_shape_fn((70, 1), |(i, _)| if i % 2 == 0 { 1.0 } else { 1.5 });
    let batch = c.assign_batch(queries.view(), no_cat(70).view()).unwrap();
    let single: Vec<Option<usize>> = (0..70)
        .map(|i| c.assign(queries.row(i), no_cat(1).row(0)).unwrap())
        .collect();
    assert_eq!(batch, single);
    assert_eq!(batch[0], Some(0));
}

/// A7, H5: edited settings with counts at the integer limits are refused when read, before
/// any work or arithmetic on them.
#[test]
fn counts_at_the_integer_limits_are_refused() {
    let mut v = serde_json::to_value(KMeansParams::new(3).unwrap()).unwrap();
    v["n_init"] = serde_json::json!(usize::MAX);
    assert!(serde_json::from_value::<KMeansParams>(v).is_err());
    let strategy = serde_json::json!({"KMeans": {"k": 3, "n_init": usize::MAX, "max_iter": 300,
        "tol": 1e-4, "seed": 0}});
    assert!(serde_json::from_value::<Strategy>(strategy).is_err());
    let bands = serde_json::json!({"Bands": {"bands": [[usize::MAX, [1.0], ["a", "b"]]]}});
    assert!(serde_json::from_value::<Clustering>(bands).is_err());
    let many: Vec<(usize, Vec<f64>, Vec<String>)> = (0..65)
        .map(|c| (c, vec![0.0], vec!["a".into(), "b".into()]))
        .collect();
    assert!(custseg::segment::RuleBands::new(many).is_err());
    let day: Date = "2024-01-01".parse().unwrap();
    assert!(day.add_days(i64::MAX).is_err());
    assert!(day.add_days(i64::MIN).is_err());
}
