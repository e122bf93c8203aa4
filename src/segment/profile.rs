//! Segment profiles and automatic names.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Position, Result};
use crate::stats::column_mean_sd;

/// How a feature reads in a segment name when it is high or low, e.g. ("frequent",
/// "infrequent") for a purchase count or ("recent", "lapsed") for days since the last
/// purchase (where high means long ago, so the words are swapped).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vocabulary {
    /// Word for a segment well above the average.
    pub high: String,
    /// Word for a segment well below the average.
    pub low: String,
}

impl Vocabulary {
    /// Words for high and low.
    pub fn new(high: &str, low: &str) -> Self {
        Vocabulary {
            high: high.into(),
            low: low.into(),
        }
    }
}

/// The most segments a segmentation may have (rule bands multiply quickly): a bound that
/// keeps a corrupt or mistaken model from allocating without limit.
pub const MAX_SEGMENTS: usize = 1 << 20;

/// Sets segment `segment`'s name (`slot`, `None` when there is no such segment among
/// `segments`), refusing a blank name; shared by every fitted model's `rename`.
pub(crate) fn rename_segment(
    slot: Option<&mut String>,
    segment: usize,
    segments: usize,
    name: &str,
) -> Result<()> {
    match slot {
        Some(s) if !name.trim().is_empty() => {
            *s = name.to_string();
            Ok(())
        }
        _ => Err(Error::InvalidParameter {
            name: "segment",
            value: format!("{segment} ({name:?})"),
            reason: format!("an existing segment (0..{segments}) and a non-empty name"),
        }),
    }
}

/// A feature's level in one segment against the whole base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureContrast {
    /// Feature name.
    pub feature: String,
    /// Mean in the segment.
    pub mean: f64,
    /// Mean over all customers.
    pub overall_mean: f64,
    /// 100 × segment mean / overall mean (100 = average; `None` when the overall mean is 0).
    pub index: Option<f64>,
    /// (segment mean − overall mean) / overall standard deviation (0 for a constant feature).
    pub z: f64,
}

/// One segment's profile.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SegmentProfile {
    /// Segment number.
    pub segment: usize,
    /// Its name (automatic unless overridden).
    pub name: String,
    /// Customers.
    pub size: usize,
    /// Share of the customers with a segment.
    pub share: f64,
    /// Every feature's contrast, in feature order.
    pub features: Vec<FeatureContrast>,
    /// The segment's tags: the word of every feature that sets it apart (|z| > 0.5), largest
    /// |z| first ("frequent", "high value", "urban" …). The automatic name is the first three;
    /// renaming a segment leaves its tags, which describe the data. Empty in models saved
    /// before tags existed.
    #[serde(default)]
    pub tags: Vec<String>,
}

impl SegmentProfile {
    /// The features that set the segment apart, by |z|, largest first.
    pub fn distinguishing(&self, n: usize) -> Vec<&FeatureContrast> {
        let mut f: Vec<&FeatureContrast> = self.features.iter().collect();
        f.sort_by(|a, b| b.z.abs().total_cmp(&a.z.abs()));
        f.truncate(n);
        f
    }
}

/// Profiles of segments over raw (unscaled, interpretable) feature values. Rows without a
/// segment (DBSCAN noise) are left out of the segments but count in the overall means.
///
/// Names: the words of the (up to) three features with the largest |z| above 0.5, joined by
/// " · " — e.g. "high value · frequent · recent" — or "average" when nothing stands out.
/// Features without a vocabulary entry read "high name" / "low name".
///
/// # Errors
/// [`Error::LengthMismatch`] when `labels` has not one entry per row or `names` not one per
/// column; [`Error::InvalidRecord`] for a label of `segments` or more (naming the row);
/// [`Error::InvalidParameter`] for more than [`MAX_SEGMENTS`] segments; [`Error::NonFinite`] for a NaN or infinite value.
pub fn profiles(
    values: ArrayView2<'_, f64>,
    names: &[String],
    vocab: &[Vocabulary],
    labels: &[Option<usize>],
    segments: usize,
) -> Result<Vec<SegmentProfile>> {
    let n = values.nrows();
    let d = values.ncols();
    if labels.len() != n {
        return Err(Error::LengthMismatch {
            what: "labels",
            expected: n,
            got: labels.len(),
        });
    }
    if names.len() != d {
        return Err(Error::LengthMismatch {
            what: "feature names",
            expected: d,
            got: names.len(),
        });
    }
    if segments > MAX_SEGMENTS {
        return Err(Error::InvalidParameter {
            name: "segments",
            value: segments.to_string(),
            reason: format!("at most {MAX_SEGMENTS}"),
        });
    }
    // A label outside the segments would drop its row from every profile unseen.
    if let Some((i, l)) = labels
        .iter()
        .enumerate()
        .find_map(|(i, l)| l.filter(|&l| l >= segments).map(|l| (i, l)))
    {
        return Err(Error::InvalidRecord {
            at: Position::at_row(i).with_column("label"),
            reason: format!(
                "segment {l}: segments are numbered 0 to {}",
                segments.saturating_sub(1)
            ),
        });
    }
    if let Some(((i, j), v)) = values.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(Error::NonFinite {
            at: Position::at_row(i).with_column(names[j].as_str()),
            value: *v,
        });
    }
    // The plain statistics where finite (their exact bits); near f64::MAX the scaled ones,
    // and a column whose spread is past f64 is an error rather than an infinite profile
    // that the model could not load again.
    let mut overall_mean = Vec::with_capacity(d);
    let mut overall_sd = Vec::with_capacity(d);
    for (j, name) in names.iter().enumerate() {
        let col = values.column(j);
        // An empty column (no points) has mean 0 and spread 0, as before.
        let (m, s) = if col.is_empty() {
            (0.0, 0.0)
        } else {
            column_mean_sd(col).ok_or_else(|| Error::InvalidRecord {
                at: Position::in_column(name.as_str()),
                reason: "values too far apart for a mean and a spread in f64".into(),
            })?
        };
        overall_mean.push(m);
        overall_sd.push(s);
    }
    let mut sums = vec![vec![0.0; d]; segments];
    let mut sizes = vec![0usize; segments];
    for i in 0..n {
        if let Some(s) = labels[i].filter(|&s| s < segments) {
            sizes[s] += 1;
            for j in 0..d {
                sums[s][j] += values[[i, j]];
            }
        }
    }
    let assigned: usize = sizes.iter().sum();
    Ok((0..segments)
        .map(|s| {
            let features: Vec<FeatureContrast> = (0..d)
                .map(|j| {
                    let mean = match sizes[s] {
                        0 => overall_mean[j],
                        size => {
                            let m = sums[s][j] / size as f64;
                            // A sum that overflowed: the mean of the values divided by the
                            // size, which lies between the column's extremes, so is finite.
                            if m.is_finite() {
                                m
                            } else {
                                (0..n)
                                    .filter(|&i| labels[i] == Some(s))
                                    .map(|i| values[[i, j]] / size as f64)
                                    .sum()
                            }
                        }
                    };
                    FeatureContrast {
                        feature: names
                            .get(j)
                            .cloned()
                            .unwrap_or_else(|| format!("feature {j}")),
                        mean,
                        overall_mean: overall_mean[j],
                        // An index past f64 (a mean far above a mean near 0) is no index.
                        index: (overall_mean[j] != 0.0)
                            .then(|| 100.0 * mean / overall_mean[j])
                            .filter(|v| v.is_finite()),
                        z: if overall_sd[j] > 0.0 {
                            let z = (mean - overall_mean[j]) / overall_sd[j];
                            // The difference of two means near ±f64::MAX overflows; the
                            // quotients do not.
                            if z.is_finite() {
                                z
                            } else {
                                mean / overall_sd[j] - overall_mean[j] / overall_sd[j]
                            }
                        } else {
                            0.0
                        },
                    }
                })
                .collect();
            let mut profile = SegmentProfile {
                segment: s,
                name: String::new(),
                size: sizes[s],
                share: if assigned > 0 {
                    sizes[s] as f64 / assigned as f64
                } else {
                    0.0
                },
                features,
                tags: Vec::new(),
            };
            profile.tags = tags(&profile, names, vocab);
            profile.name = if profile.tags.is_empty() {
                "average".into()
            } else {
                profile.tags[..profile.tags.len().min(3)].join(" · ")
            };
            profile
        })
        .collect())
}

/// The words of the features with |z| > 0.5, largest |z| first. Features without a
/// vocabulary entry read "high name" / "low name".
fn tags(p: &SegmentProfile, names: &[String], vocab: &[Vocabulary]) -> Vec<String> {
    p.distinguishing(p.features.len())
        .into_iter()
        .filter(|f| f.z.abs() > 0.5)
        .map(|f| {
            let j = names.iter().position(|n| *n == f.feature);
            match j.and_then(|j| vocab.get(j)) {
                Some(v) if f.z > 0.0 => v.high.clone(),
                Some(v) => v.low.clone(),
                None if f.z > 0.0 => format!("high {}", f.feature),
                None => format!("low {}", f.feature),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn labels_out_of_range_are_errors_not_lost_rows() {
        let x = array![[0.0], [1.0], [5.0], [6.0]];
        let names = vec!["a".to_string()];
        let vocab = vec![Vocabulary::new("high", "low")];
        let labels = [Some(0), Some(7), Some(1), None];
        let err = profiles(x.view(), &names, &vocab, &labels, 2).unwrap_err();
        assert_eq!(err.position().and_then(|p| p.row()), Some(1), "{err}");
        assert!(profiles(x.view(), &names, &vocab, &[None; 4], usize::MAX).is_err());
    }
}
