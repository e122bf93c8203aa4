//! Every churn back-end on the CDNOW sample, judged on the holdout period.
//!
//! ```text
//! cargo run --release --example churn_holdout
//! ```
//!
//! Customers are scored at the end of the calibration period (1997-09-30); a customer counts
//! as churned when they buy nothing in the 39-week holdout. The logistic model is fitted on
//! half of the customers and scored on the other half, and the other way round (two-fold
//! cross-fitting), so that no customer is scored by a model that saw their outcome.

use custseg::churn::metrics::{average_precision, brier, capture_at, lift_at, log_loss, roc_auc};
use custseg::churn::{
    ChurnScorer, Feature, LabelledCustomers, LogisticChurnParams, ModelChurn, RecencyRule,
};
use custseg::clv::{BgNbd, MbgNbd, ParetoNbd, RftData};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::{CustomerSummary, Result};
use custseg::{Fit, Score};

fn main() -> Result<()> {
    let summaries = cdnow_sample().summarise(&cdnow_sample_config())?.into_vec();
    let churned: Vec<bool> = summaries
        .iter()
        .map(|c| c.holdout_frequency() == 0)
        .collect();
    let rate = churned.iter().filter(|&&c| c).count() as f64 / churned.len() as f64;
    println!(
        "CDNOW sample: {} customers scored at 1997-09-30; {:.1}% buy nothing in the next 39 weeks\n",
        summaries.len(),
        100.0 * rate
    );

    let data = RftData::from_summaries(&summaries)?;
    let (bg, _) = BgNbd::params().fit(&data)?;
    let (mbg, _) = MbgNbd::params().fit(&data)?;
    let (pn, _) = ParetoNbd::params().fit(&data)?;

    let scorers: Vec<(&str, Box<dyn ChurnScorer<Record = CustomerSummary>>)> = vec![
        ("BG/NBD, 1 − P(alive) as is", Box::new(ModelChurn::new(bg))),
        (
            "BG/NBD, one-time buyers by MBG/NBD",
            Box::new(ModelChurn::new(bg).with_fallback(mbg)),
        ),
        (
            "BG/NBD, one-time buyers by 180-day half-life",
            Box::new(ModelChurn::new(bg).with_recency_half_life(180.0)?),
        ),
        ("MBG/NBD", Box::new(ModelChurn::new(mbg))),
        ("Pareto/NBD", Box::new(ModelChurn::new(pn))),
        ("recency > 120 days", Box::new(RecencyRule::fixed(120.0)?)),
        (
            "recency > 2 × own gap (else 120 days)",
            Box::new(RecencyRule::relative(2.0, 120.0)?),
        ),
    ];
    let mut rows = Vec::new();
    for (name, scorer) in &scorers {
        let risks: Vec<f64> = scorer
            .score_batch(&summaries)?
            .into_iter()
            .map(|r| r.risk)
            .collect();
        rows.push(evaluate(name, &churned, &risks)?);
    }
    rows.push(evaluate(
        "logistic regression (2-fold)",
        &churned,
        &cross_fitted(&summaries, &churned)?,
    )?);

    let header = [
        "back-end",
        "AUC",
        "PR-AUC",
        "Brier",
        "log-loss",
        "lift@10%",
        "capture@10%",
    ];
    let width = rows.iter().map(|r| r[0].chars().count()).max().unwrap_or(8);
    println!(
        "  {:<width$} {:>6} {:>7} {:>6} {:>9} {:>9} {:>12}",
        header[0], header[1], header[2], header[3], header[4], header[5], header[6]
    );
    for r in &rows {
        println!(
            "  {:<width$} {:>6} {:>7} {:>6} {:>9} {:>9} {:>12}",
            r[0], r[1], r[2], r[3], r[4], r[5], r[6]
        );
    }
    println!(
        "\n  Base rate: a constant prediction of {rate:.3} has Brier {:.3} and log-loss {:.3}.",
        rate * (1.0 - rate),
        -(rate * rate.ln() + (1.0 - rate) * (1.0 - rate).ln())
    );
    println!(
        "  BG/NBD as is ranks worse than chance: it calls every one-time buyer alive, and they\n  \
         are the likeliest to churn. The recency rules give 0/1 risks, not probabilities."
    );
    Ok(())
}

fn evaluate(name: &str, y: &[bool], risk: &[f64]) -> Result<Vec<String>> {
    Ok(vec![
        name.to_string(),
        format!("{:.3}", roc_auc(y, risk)?),
        format!("{:.3}", average_precision(y, risk)?),
        format!("{:.3}", brier(y, risk)?),
        format!("{:.3}", log_loss(y, risk)?),
        format!("{:.2}", lift_at(y, risk, 0.1)?),
        format!("{:.1}%", 100.0 * capture_at(y, risk, 0.1)?),
    ])
}

/// P(churn) of each customer from a logistic model fitted on the other half of the customers.
fn cross_fitted(s: &[CustomerSummary], y: &[bool]) -> Result<Vec<f64>> {
    let params = LogisticChurnParams::new(Feature::standard())?;
    let mut out = vec![0.0; s.len()];
    for fold in 0..2 {
        let (train, test): (Vec<usize>, Vec<usize>) = (0..s.len()).partition(|i| i % 2 != fold);
        let pick = |idx: &[usize]| idx.iter().map(|&i| s[i].clone()).collect::<Vec<_>>();
        let labels: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let (model, _) = params.fit(&LabelledCustomers::new(&pick(&train), &labels))?;
        for (i, p) in test.iter().zip(model.predict(&pick(&test), None)?) {
            out[*i] = p;
        }
    }
    Ok(out)
}
