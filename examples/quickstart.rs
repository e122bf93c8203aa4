//! A tour of custseg on the CDNOW sample that ships with the crate.
//!
//! ```text
//! cargo run --release --example quickstart
//! ```
//!
//! Reads the embedded CDNOW transaction log, summarises every customer at the end of the
//! standard 39-week calibration period, and tours the crate: the customer base in the
//! calibration and holdout periods, CLV (BG/NBD, Pareto/NBD, Gamma-Gamma), churn tiers,
//! RFM scores and segments, a behavioral segmentation, segment portraits in words, lifecycle
//! stages and customer portraits, KPIs and campaign ROI per segment,
//! and how customers migrated between segments from the end of the calibration period to
//! the end of the holdout. Every segment table shown passes a k-anonymity floor of 10
//! customers (the CDNOW ids in the top-ten table are the public sample's own).

use std::time::Instant;

use custseg::churn::{ModelChurn, RiskTier};
use custseg::clv::{
    BgNbd, CustomerValue, Discounting, GammaGamma, ParetoNbd, RftData, SpendData, TransactionModel,
    Valuation,
};
use custseg::datasets::{cdnow_sample, cdnow_sample_config};
use custseg::report::{
    Aggregate, Campaign, Column, CustomerMetrics, KAnonymity, LifecycleStage, Portraits, Report,
    ReportRow, SegmentLayer, kpi_report, migration, segment_kpis, segment_portraits,
};
use custseg::rfm::{RfmParams, ScoreCounts, SegmentScheme};
use custseg::segment::{BehavioralRecord, BehavioralSegmenter};
use custseg::{Assign, CustomerId, CustomerSummary, Fit, Result, Score, SummaryConfig, TimeUnit};

fn main() -> Result<()> {
    let started = Instant::now();
    let log = cdnow_sample();
    let cfg = cdnow_sample_config();
    let summaries = log.summarise(&cfg)?;
    let (rfm, _) = RfmParams::new(5)?.fit(summaries.as_slice())?;
    let scores = rfm.score_batch(summaries.as_slice())?;
    let rfm_package = SegmentScheme::rfm_package().summarise(&scores)?;
    let tiers = SegmentScheme::five_tiers(5)?.summarise(&scores)?;
    let rft = RftData::from_summaries(summaries.as_slice())?;
    let (bgnbd, bg_fit) = BgNbd::params().fit(&rft)?;
    let (pnbd, pn_fit) = ParetoNbd::params().fit(&rft)?;
    let (spend, _) = GammaGamma::params().fit(&SpendData::from_summaries(summaries.as_slice())?)?;
    let horizon = Discounting::lifetimes(12, 0.01, TimeUnit::Weeks)?;
    let values = Valuation::new(bgnbd, spend, horizon).score_batch(&summaries)?;
    let holdout_weeks = summaries.holdout_length().unwrap_or(0.0);
    let bg_holdout = bgnbd.expected_purchases_batch(summaries.as_slice(), holdout_weeks)?;
    let pn_holdout = pnbd.expected_purchases_batch(summaries.as_slice(), holdout_weeks)?;
    let churn = ModelChurn::new(pnbd).score_batch(&summaries)?;
    // Behavioral segments at the end of calibration, and the same model (and RFM edges)
    // applied to everyone's history at the end of the holdout.
    let records: Vec<BehavioralRecord> = summaries
        .iter()
        .map(BehavioralRecord::from_summary)
        .collect();
    // The fit reports the training customers' segments.
    let (behavioral, fit) = BehavioralSegmenter::new(4)?.fit(&records)?;
    let segment = fit.labels;
    let later_cfg = SummaryConfig {
        observation_end: cfg.window_end(),
        holdout_end: None,
        ..cfg
    };
    let later = log.summarise(&later_cfg)?;
    let later_records: Vec<BehavioralRecord> =
        later.iter().map(BehavioralRecord::from_summary).collect();
    let later_segment = behavioral.assign_batch(&later_records)?;
    let seg_names: Vec<String> = behavioral
        .profiles()
        .iter()
        .map(|p| p.name.clone())
        .collect();
    let snapshot =
        |s: &[CustomerSummary], l: &[Option<usize>]| -> Vec<(CustomerId, Option<usize>)> {
            s.iter()
                .map(|c| c.customer_id().clone())
                .zip(l.iter().copied())
                .collect()
        };
    let moved = migration(
        &snapshot(summaries.as_slice(), &segment),
        &seg_names,
        &snapshot(later.as_slice(), &later_segment),
        &seg_names,
    )?;
    let tier_scheme = SegmentScheme::five_tiers(5)?;
    let tier_names = tier_scheme.segment_names().to_vec();
    let tier_of = |scores: &[custseg::rfm::RfmScore]| -> Result<Vec<Option<usize>>> {
        Ok(tier_scheme
            .assign(scores)?
            .into_iter()
            .map(|t| Some(t as usize))
            .collect())
    };
    let tier_moves = migration(
        &snapshot(summaries.as_slice(), &tier_of(&scores)?),
        &tier_names,
        &snapshot(
            later.as_slice(),
            &tier_of(&rfm.score_batch(later.as_slice())?)?,
        ),
        &tier_names,
    )?
    .moves(&["Gold", "Value", "Growth", "Other", "Dormant", "Lost"])?;
    let segment_values: Vec<CustomerMetrics> = (0..summaries.len())
        .map(|i| CustomerMetrics {
            revenue: summaries.as_slice()[i].total_spend(),
            clv: Some(values[i].clv),
            churn_risk: Some(churn[i].risk),
            expected_purchases: Some(values[i].expected_purchases),
        })
        .collect();
    let campaign = Campaign::new(0.5, 0.05, 0.3)?;
    let kpis = segment_kpis(&segment, &seg_names, &segment_values, Some(&campaign))?;
    let privacy = KAnonymity::default();
    let rfm_scheme = SegmentScheme::rfm_package();
    let portraits = Portraits::new(summaries.as_slice())
        .with_values(&values)
        .with_churn(&churn)
        .with_rfm(&scores, &rfm_scheme)
        .with_segments(SegmentLayer::from_profiles(
            "behavioral",
            &segment,
            behavioral.profiles(),
        ))
        .build()?;
    let compute = started.elapsed();

    println!("custseg quickstart: the CDNOW sample (embedded in the crate)");
    println!(
        "{} transactions of {} customers, {} to {}; {} zero-amount rows kept",
        thousands(log.len() as f64, 0),
        thousands(log.customers() as f64, 0),
        log.first_date(),
        log.last_date(),
        log.report().zero_amounts,
    );
    println!(
        "calibration to {}, holdout to {} ({} weeks); one purchase per customer and day\n",
        cfg.observation_end,
        cfg.window_end(),
        summaries.holdout_length().unwrap_or(0.0),
    );

    let s = summaries.as_slice();
    let n = s.len() as f64;
    let repeaters = s.iter().filter(|c| c.frequency() > 0).count() as f64;
    let active_holdout = s.iter().filter(|c| c.holdout_frequency() > 0).count() as f64;
    let cal_spend: f64 = s.iter().map(|c| c.total_spend()).sum();
    let hold_spend: f64 = s.iter().map(|c| c.holdout_spend()).sum();
    let cal_purchases = summaries.report().calibration_purchases as f64;
    let hold_purchases = summaries.report().holdout_purchases as f64;

    let rows = vec![
        row("customers", n, None, 0),
        row("buying in the period", n, Some(active_holdout), 0),
        row("repeat buyers (x ≥ 1)", repeaters, None, 0),
        row(
            "purchases (customer-days)",
            cal_purchases,
            Some(hold_purchases),
            0,
        ),
        row("revenue ($)", cal_spend, Some(hold_spend), 2),
        row(
            "revenue per customer ($)",
            cal_spend / n,
            Some(hold_spend / n),
            2,
        ),
        row(
            "revenue per purchase ($)",
            cal_spend / cal_purchases,
            Some(hold_spend / hold_purchases),
            2,
        ),
        row(
            "purchases per customer",
            cal_purchases / n,
            Some(hold_purchases / n),
            3,
        ),
        row(
            "mean weeks since last purchase",
            s.iter()
                .map(CustomerSummary::time_since_last_purchase)
                .sum::<f64>()
                / n,
            None,
            1,
        ),
    ];
    print_table(&["", "calibration", "holdout"], &rows);

    println!("\nRepeat purchases in the calibration period");
    let mut hist = [0usize; 8];
    for c in s {
        hist[(c.frequency() as usize).min(7)] += 1;
    }
    let rows: Vec<Vec<String>> = hist
        .iter()
        .enumerate()
        .map(|(x, &count)| {
            vec![
                if x == 7 { "7+".into() } else { x.to_string() },
                thousands(count as f64, 0),
                format!("{:.1}%", 100.0 * count as f64 / n),
                "#".repeat((60.0 * count as f64 / n).round() as usize),
            ]
        })
        .collect();
    print_table(&["x", "customers", "share", ""], &rows);

    println!("\nCustomer lifetime value: BG/NBD + Gamma-Gamma fitted on the calibration period");
    println!(
        "  BG/NBD r {:.4}, alpha {:.4}, a {:.4}, b {:.4} (log-likelihood {:.2}); \
         Pareto/NBD r {:.4}, alpha {:.4}, s {:.4}, beta {:.4} ({:.2})",
        bgnbd.r(),
        bgnbd.alpha(),
        bgnbd.a(),
        bgnbd.b(),
        bg_fit.log_likelihood,
        pnbd.r(),
        pnbd.alpha(),
        pnbd.s(),
        pnbd.beta(),
        pn_fit.log_likelihood,
    );
    println!(
        "  Gamma-Gamma p {:.3}, q {:.3}, gamma {:.3}: a new customer's transactions average ${:.2}",
        spend.p(),
        spend.q(),
        spend.gamma(),
        spend.population_mean_spend()?,
    );
    let actual = hold_purchases;
    println!(
        "  holdout check: {} purchase days happened in the {} holdout weeks; BG/NBD predicted \
         {:.0}, Pareto/NBD {:.0}",
        thousands(actual, 0),
        holdout_weeks,
        bg_holdout.iter().sum::<f64>(),
        pn_holdout.iter().sum::<f64>(),
    );
    let total_clv: f64 = values.iter().map(|v| v.clv).sum();
    println!(
        "  12-month CLV (1% a month, lifetimes' convention): ${} in total, ${:.2} per customer",
        thousands(total_clv, 0),
        total_clv / n,
    );

    println!("\nChurn risk: 1 − P(alive) under Pareto/NBD, tiers from 25/50/75%");
    let risk_tiers = [
        RiskTier::Low,
        RiskTier::Medium,
        RiskTier::High,
        RiskTier::Critical,
    ];
    let rows: Vec<Vec<String>> = risk_tiers
        .iter()
        .map(|t| {
            let members: Vec<usize> = (0..churn.len()).filter(|&i| churn[i].tier == *t).collect();
            let k = members.len() as f64;
            let bought = members
                .iter()
                .filter(|&&i| s[i].holdout_frequency() > 0)
                .count() as f64;
            vec![
                format!("{t:?}"),
                thousands(k, 0),
                format!("{:.1}%", 100.0 * k / n),
                if k > 0.0 {
                    format!("{:.1}%", 100.0 * bought / k)
                } else {
                    String::new()
                },
            ]
        })
        .collect();
    print_table(&["tier", "customers", "share", "bought in holdout"], &rows);

    println!("\nTop ten customers by 12-month CLV");
    let by_id: std::collections::HashMap<&str, &CustomerSummary> =
        s.iter().map(|c| (c.customer_id().as_str(), c)).collect();
    let mut top: Vec<&CustomerValue> = values.iter().collect();
    top.sort_by(|a, b| b.clv.total_cmp(&a.clv));
    let rows: Vec<Vec<String>> = top
        .iter()
        .take(10)
        .map(|v| {
            let c = by_id[v.customer_id.as_str()];
            let tier = churn
                .iter()
                .find(|r| r.customer_id == v.customer_id)
                .map_or_else(String::new, |r| format!("{:?}", r.tier));
            vec![
                c.customer_id().to_string(),
                c.frequency().to_string(),
                format!("{:.1}", c.recency()),
                format!("{:.1}", c.age()),
                thousands(c.total_spend(), 2),
                format!("{:.3}", v.p_alive),
                format!("{:.2}", v.expected_purchases),
                thousands(v.expected_spend, 2),
                thousands(v.clv, 2),
                tier,
                c.holdout_frequency().to_string(),
                thousands(c.holdout_spend(), 2),
            ]
        })
        .collect();
    print_table(
        &[
            "id",
            "x",
            "t_x",
            "T",
            "revenue ($)",
            "P(alive)",
            "E[buys 12m]",
            "E[spend] ($)",
            "CLV ($)",
            "churn tier",
            "holdout x",
            "holdout ($)",
        ],
        &rows,
    );

    println!("\nRFM scores 1-5 by quantiles of the calibration snapshot (recency in days)");
    let counts = ScoreCounts::of(&scores, 5);
    let edges = |e: &[f64]| {
        e.iter()
            .map(|x| thousands(*x, 2))
            .collect::<Vec<_>>()
            .join(" / ")
    };
    let rows = vec![
        vec![
            "R".to_string(),
            edges(rfm.recency_edges()),
            counts_line(&counts.recency),
        ],
        vec![
            "F".to_string(),
            edges(rfm.frequency_edges()),
            counts_line(&counts.frequency),
        ],
        vec![
            "M".to_string(),
            edges(rfm.monetary_edges()),
            counts_line(&counts.monetary),
        ],
    ];
    print_table(&["", "edges", "customers at scores 1..5"], &rows);
    println!(
        "  60% bought once, so the frequency edges coincide and F = 2 is empty: equal values \
         always share a score."
    );

    println!("\nRFM segments (the R `rfm` package's scheme), by revenue");
    print_report(by_revenue(Report::from(&rfm_package)), &privacy);
    println!("\nRFM tiers (Gold, Value, Growth, Dormant, Lost)");
    print_report(Report::from(&tiers), &privacy);

    println!(
        "\nBehavioral segments (k-means on log-scaled recency, frequency, spend, order value, cadence, tenure)"
    );
    print_report(Report::from(behavioral.profiles()), &privacy);

    println!("\nSegment portraits (behavioral), in words");
    let described = segment_portraits(behavioral.profiles(), &privacy);
    for p in &described.portraits {
        println!("  {}", p.text);
    }
    if described.suppressed > 0 {
        println!(
            "  ({} segments with fewer than {} customers not described)",
            described.suppressed,
            privacy.k()
        );
    }

    println!(
        "\nLifecycle stages (new ≤ 90 days, active ≤ 90 days quiet, at risk ≤ 180, lapsed ≤ 365; \
         P(alive) < 0.5 at risk)"
    );
    let stage_rows = LifecycleStage::ALL
        .iter()
        .map(|stage| {
            let members: Vec<usize> = (0..portraits.len())
                .filter(|&i| portraits[i].lifecycle == *stage)
                .collect();
            let k = members.len().max(1) as f64;
            let mean = |f: &dyn Fn(usize) -> f64| members.iter().map(|&i| f(i)).sum::<f64>() / k;
            ReportRow {
                label: stage.label().into(),
                customers: members.len(),
                values: vec![
                    Some(100.0 * members.len() as f64 / n),
                    Some(mean(&|i| portraits[i].days_since_last_purchase)),
                    Some(mean(&|i| values[i].clv)),
                    Some(100.0 * mean(&|i| f64::from(u8::from(s[i].holdout_frequency() > 0)))),
                ],
            }
        })
        .filter(|r| r.customers > 0)
        .collect();
    let stages = Report::new(
        "",
        vec![
            Column::new("share %", Aggregate::Share, 1),
            Column::new("days quiet", Aggregate::Mean, 0),
            Column::new("CLV ($)", Aggregate::Mean, 2),
            Column::new("bought in holdout %", Aggregate::Mean, 1),
        ],
        stage_rows,
    );
    print_report(stages, &privacy);

    println!("\nCustomer portraits: the first customer of each lifecycle stage");
    let rows: Vec<Vec<String>> = LifecycleStage::ALL
        .iter()
        .filter_map(|stage| portraits.iter().find(|p| p.lifecycle == *stage))
        .map(|p| {
            let v = p.value.as_ref();
            vec![
                p.customer_id.to_string(),
                p.lifecycle.label().to_string(),
                format!("{:.0}", p.days_since_last_purchase),
                p.purchases.to_string(),
                thousands(p.revenue, 2),
                v.map_or_else(String::new, |v| thousands(v.clv, 2)),
                v.map_or_else(String::new, |v| v.rank.to_string()),
                v.map_or_else(String::new, |v| format!("{:?}", v.tier)),
                p.churn_tier.map_or_else(String::new, |t| format!("{t:?}")),
                p.rfm
                    .as_ref()
                    .map_or_else(String::new, |r| format!("{} {}", r.cell.code(), r.segment)),
                p.tags.join(", "),
            ]
        })
        .collect();
    print_table(
        &[
            "id",
            "stage",
            "days quiet",
            "purchases",
            "revenue ($)",
            "CLV ($)",
            "CLV rank",
            "value tier",
            "churn tier",
            "RFM",
            "tags (behavioral segment)",
        ],
        &rows,
    );

    println!(
        "\nKPIs per behavioral segment; campaign at $0.50 a contact, 5% response, 30% margin on CLV"
    );
    print_report(kpi_report("", &kpis), &privacy);

    println!("\nMigration from the end of calibration to the end of the holdout (same model)");
    print_report(moved.report(""), &privacy);
    let (up, down, same) = tier_moves;
    println!(
        "  RFM tiers with the calibration edges: {up} customers moved up, {down} down, {same} stayed"
    );

    println!("\ncomputed in {:.1} ms", compute.as_secs_f64() * 1e3);
    Ok(())
}

fn counts_line(c: &[usize]) -> String {
    c.iter()
        .map(|n| format!("{n:>5}"))
        .collect::<Vec<_>>()
        .join("")
}

/// An RFM segment report with the segments bringing the most revenue first.
fn by_revenue(mut report: Report) -> Report {
    let revenue = |r: &custseg::report::ReportRow| r.values[1].unwrap_or(0.0);
    report
        .rows
        .sort_by(|a, b| revenue(b).total_cmp(&revenue(a)));
    report
}

/// Prints a report under the privacy floor, indented, without its title (printed above).
fn print_report(report: Report, privacy: &KAnonymity) {
    for line in report.guarded(privacy).to_string().lines().skip(1) {
        println!("  {line}");
    }
}

fn row(label: &str, cal: f64, hold: Option<f64>, decimals: usize) -> Vec<String> {
    vec![
        label.to_string(),
        thousands(cal, decimals),
        hold.map_or_else(String::new, |h| thousands(h, decimals)),
    ]
}

/// Formats a number with thousands separators.
fn thousands(v: f64, decimals: usize) -> String {
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = s
        .split_once('.')
        .map_or((s.as_str(), None), |(i, f)| (i, Some(f)));
    let mut out = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// Prints rows as an aligned table: the first column left-aligned, the others right-aligned.
fn print_table(header: &[&str], rows: &[Vec<String>]) {
    let cols = header.len();
    let mut width: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (w, cell) in width.iter_mut().zip(r) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = width[i] - cell.chars().count();
            if i == 0 || i == cols - 1 && cell.starts_with('#') {
                out.push_str(cell);
                out.push_str(&" ".repeat(pad));
            } else {
                out.push_str(&" ".repeat(pad));
                out.push_str(cell);
            }
            out.push_str("  ");
        }
        println!("  {}", out.trim_end());
    };
    line(header.to_vec());
    println!(
        "  {}",
        "-".repeat(width.iter().sum::<usize>() + 2 * (cols - 1))
    );
    for r in rows {
        line(r.iter().map(String::as_str).collect());
    }
}
