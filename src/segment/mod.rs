//! Segmentation: prepare features, cluster, profile and name segments.
//!
//! Every segment model follows the same path, and keeps what it learned at each step so that
//! a new customer is treated exactly like the training customers:
//!
//! 1. **Features**: numeric columns are transformed (log1p for skewed
//!    counts and money) and scaled (standard, min-max or robust); categorical columns are
//!    one-hot or ordinal numbers, or kept as categories for k-prototypes. A missing number
//!    is an error or takes the training median (counted, never silent); a missing category is
//!    a level of its own, "(missing)". A constant column is kept and scaled by 1.
//! 2. **Clustering** ([`Strategy`] → [`Clustering`]): our k-means (k-means++ seeding, Lloyd
//!    iterations with Hamerly's bounds, restarts), mini-batch k-means for very large bases,
//!    our Gaussian mixture (EM with full, diagonal or spherical covariances) and DBSCAN (a
//!    k-d tree and a concurrent union–find), all rayon-parallel and the same at any thread
//!    count and the last two giving scikit-learn's answers; k-prototypes for mixed numeric
//!    and categorical data (Huang 1998); explicit rule bands; and linfa's k-means, Gaussian
//!    mixture and DBSCAN for comparison.
//! 3. **Profiles and names** ([`SegmentProfile`]): each segment's size and share, and per
//!    feature its mean against the overall mean as an index (100 = average) and a z-score;
//!    the features that set it apart give it an automatic name, e.g. "high value · frequent ·
//!    recent", which the caller can override.
//!
//! [`SegmentModel`] holds the three; the typed models wrap one and take typed records:
//! [`BehavioralSegmenter`] (recency, frequency, spend, order value, cadence, tenure,
//! engagement counts; segments named by value and activity: "high-value loyal", "at risk",
//! "lost" …) and [`DemographicSegmenter`] (age, gender, income, education, occupation,
//! household size, region and columns of your own; rule bands or k-prototypes).
//!
//! To choose k, [`choose_k`] fits a range of k in parallel and scores each with the
//! silhouette (exact, or on a seeded sample for large n), Calinski-Harabasz, Davies-Bouldin
//! or, for mixtures, BIC. [`adjusted_rand_index`] compares two segmentations (or one against
//! planted labels).
//!
//! Fitted models are plain serde data; deserializing checks that the parts agree (centre
//! widths match the prepared features, one profile per segment, mixture weights sum to 1),
//! so a corrupt model is an error rather than a wrong segment.
//!
//! ```
//! use custseg::segment::{BehavioralRecord, BehavioralSegmenter};
//! use custseg::datasets::{cdnow_sample, cdnow_sample_config};
//! use custseg::{Assign, Fit};
//!
//! let summaries = cdnow_sample().summarise(&cdnow_sample_config())?;
//! let records: Vec<BehavioralRecord> = summaries.iter().map(BehavioralRecord::from_summary).collect();
//! let (model, _) = BehavioralSegmenter::new(4)?.fit(&records)?;
//! for p in model.profiles() {
//!     println!("{:<22} {:>5} customers", p.name, p.size);
//! }
//! let segments = model.assign_batch(&records)?;
//! assert_eq!(segments.len(), 2357);
//! # Ok::<(), custseg::Error>(())
//! ```

mod behavioral;
mod choose_k;
mod clusterer;
mod dbscan;
mod demographic;
mod factor;
mod features;
mod geographic;
mod kdtree;
mod kmeans;
mod kprototypes;
mod minibatch;
mod mixture;
mod model;
mod panel;
mod profile;
mod psychographic;
mod rules;
mod strategy;
mod validity;

pub use behavioral::{BehavioralModel, BehavioralRecord, BehavioralSegmenter};
pub use choose_k::{KChoice, KCriterion, KScore, KSearch, choose_k};
pub use clusterer::{Clusterer, Points};
pub use dbscan::DbscanParams;
pub use demographic::{
    DemographicField, DemographicMode, DemographicModel, DemographicRecord, DemographicSegmenter,
    DemographicValue, ExtraColumn, IncomeTiers,
};
pub use factor::{FactorCount, Rotation};
pub use features::MISSING_LEVEL;
pub use geographic::{
    GeoMode, GeoProfile, GeoRecord, GeographicModel, GeographicSegmenter, MAX_REGION_DEPTH, Store,
};
pub use kmeans::{KMeansParams, MAX_ITERATIONS, MAX_RESTARTS};
pub use kprototypes::KPrototypesParams;
pub use minibatch::MiniBatchParams;
pub use mixture::{CovarianceType, GaussianMixtureParams, MixtureInit};
pub use model::{SegmentFitReport, SegmentModel};
pub use profile::{FeatureContrast, MAX_SEGMENTS, SegmentProfile};
#[cfg(test)]
pub(crate) use profile::{Vocabulary, profiles};
pub use psychographic::{
    FactorLoadings, PsychographicModel, PsychographicSegmenter, SurveyItem, SurveyResponse,
};
pub use rules::{
    Condition, MAX_RULE_DEPTH, Rule, RuleFitReport, RuleTreeParams, SegmentRules, SegmentedPoints,
    Side, TargetFitReport, TargetPoints, TargetTreeParams,
};
pub use strategy::{Clustering, MAX_COORDINATE, RuleBands, Strategy};
pub use validity::{
    adjusted_rand_index, calinski_harabasz, davies_bouldin, silhouette, silhouette_sampled,
};
