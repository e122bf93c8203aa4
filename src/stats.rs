//! Summary statistics that stay finite for finite data near the limits of `f64`.
//!
//! The plain formulas (Σx / n, Σ(x − x̄)² / n) overflow once values pass about 1e154 (the
//! squares) or f64::MAX / n (the sums), although the mean and the spread of such data are
//! finite. Callers compute the plain form first, so ordinary data keeps its exact bits, and
//! fall back to these scaled forms only when it is not finite.

/// Mean and population standard deviation of finite values, computed on the values divided
/// by their largest magnitude and scaled back. `None` when a result is beyond f64 (a spread
/// wider than f64::MAX, as for ±1e308) or there are no values.
pub(crate) fn scaled_mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    let n = values.len() as f64;
    let scale = values.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    if values.is_empty() || !scale.is_finite() {
        return None;
    }
    if scale == 0.0 {
        return Some((0.0, 0.0));
    }
    let mean = values.iter().map(|v| v / scale).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|v| (v / scale - mean).powi(2))
        .sum::<f64>()
        / n;
    let (mean, sd) = (mean * scale, var.sqrt() * scale);
    (mean.is_finite() && sd.is_finite()).then_some((mean, sd))
}

/// The q-quantile of sorted values, linear between order statistics (numpy's default);
/// the values must not be empty.
pub(crate) fn quantile_sorted(v: &[f64], q: f64) -> f64 {
    let h = (v.len() - 1) as f64 * q;
    let i = h.floor() as usize;
    if i + 1 < v.len() {
        v[i] + (h - i as f64) * (v[i + 1] - v[i])
    } else {
        v[v.len() - 1]
    }
}

/// The plain mean and standard deviation when finite, else the scaled ones.
pub(crate) fn mean_sd(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / n).sqrt();
    if mean.is_finite() && sd.is_finite() {
        Some((mean, sd))
    } else {
        scaled_mean_sd(values)
    }
}

/// A column's mean and population standard deviation: ndarray's (exact bits for ordinary
/// data) when finite, else the scaled ones.
pub(crate) fn column_mean_sd(col: ndarray::ArrayView1<'_, f64>) -> Option<(f64, f64)> {
    let (mean, sd) = (col.mean()?, col.std(0.0));
    if mean.is_finite() && sd.is_finite() {
        Some((mean, sd))
    } else {
        scaled_mean_sd(&col.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn huge_values_keep_a_finite_mean_and_spread() {
        assert_eq!(mean_sd(&[1.0, 3.0]), Some((2.0, 1.0)));
        let (m, s) = mean_sd(&[1e308, 1e308, 0.0, 0.0]).unwrap();
        assert!((m / 5e307 - 1.0).abs() < 1e-15 && (s / 5e307 - 1.0).abs() < 1e-15);
        assert_eq!(mean_sd(&[]), None);
        assert_eq!(mean_sd(&[0.0, 0.0]), Some((0.0, 0.0)));
        // ±1e308: the mean is 0 but the spread is past f64::MAX.
        assert!(
            mean_sd(&[1e308, -1e308, 1e308, -1e308]).is_some_and(|(m, s)| m == 0.0 && s == 1e308)
        );
    }
}
