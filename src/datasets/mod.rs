//! Data that ships with the crate: the CDNOW sample and a seeded synthetic customer base.
//!
//! * [`cdnow_sample`] — the 2,357-customer CDNOW sample that the buy-till-you-die literature
//!   publishes its numbers on, compiled in; [`cdnow_sample_config`] gives its standard
//!   calibration / holdout split.
//! * [`synthetic`] — a customer base of any size with purchases, spend, demographics, survey
//!   answers and locations, generated from planted personas with a seed; the examples and
//!   benchmarks run on it.
//! * [`blobs`] and [`mixed_blobs`] — planted clusters (numeric, or numeric and categorical)
//!   for comparing segmentation strategies.
//! * [`scattered_locations`] — customer locations around given places and across the globe.

mod blobs;
mod cdnow;
mod cities;
mod locations;
mod synthetic;

pub use blobs::{Blobs, BlobsConfig, MixedBlobs, blobs, mixed_blobs};
pub use cdnow::{
    CDNOW_CALIBRATION_END, CDNOW_HOLDOUT_END, cdnow_sample, cdnow_sample_config, parse_cdnow,
};
pub use cities::{CityRecord, EUROPEAN_CITIES};
pub use locations::scattered_locations;
pub use synthetic::{
    Demographics, ExportedRows, LatentTraits, OCCUPATIONS, Persona, PurchaseProcess, SURVEY_ITEMS,
    SpendProcess, SurveyQuestion, SyntheticBase, SyntheticConfig, SyntheticCustomer, synthetic,
    synthetic_summaries,
};
