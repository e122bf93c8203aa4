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
