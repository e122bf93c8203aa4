//! Psychographic segments of the BFI survey: 2,800 people, 25 Big Five items on a 1–6 scale,
//! 508 missing answers (`tests/data/bfi_big_five.csv`, from the R package psych).
//!
//! ```text
//! cargo run --release --example psychographic_bfi
//! ```
//!
//! Prints the factor count each rule gives, the varimax loadings of the five-factor solution
//! (reverse-keyed items scored reversed), and four segments on the factor scores, named after
//! the factors once they are recognised from the loadings.

use custseg::Fit;
use custseg::segment::{FactorCount, PsychographicSegmenter, SurveyItem, SurveyResponse};

const REVERSED: [&str; 7] = ["A1", "C4", "C5", "E1", "E2", "O2", "O5"];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/bfi_big_five.csv"
    ))?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().ok_or("empty file")?.split(',').collect();
    let items: Vec<SurveyItem> = header[1..26]
        .iter()
        .map(|n| {
            if REVERSED.contains(n) {
                SurveyItem::reversed(n)
            } else {
                SurveyItem::new(n)
            }
        })
        .collect();
    let mut responses = Vec::new();
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let answers = f[1..26]
            .iter()
            .map(|v| {
                if v.is_empty() {
                    Ok(None)
                } else {
                    v.parse().map(Some)
                }
            })
            .collect::<Result<_, _>>()?;
        responses.push(SurveyResponse {
            customer_id: f[0].into(),
            answers,
            tags: Vec::new(),
        });
    }
    let base = PsychographicSegmenter::new(items, 1.0, 6.0, 4)?;
    for (rule, count) in [
        ("Kaiser", FactorCount::Kaiser),
        ("parallel analysis", FactorCount::parallel()),
    ] {
        let (m, _) = base.clone().with_factors(count)?.fit(&responses)?;
        println!("{rule}: {} factors", m.loadings().factors.len());
    }
    let (mut model, _) = base.with_factors(FactorCount::Fixed(5))?.fit(&responses)?;
    let l = model.loadings();
    println!("eigenvalues: {:.2?}", &l.eigenvalues[..8]);
    println!(
        "excluded (fewer than half the items answered): {}",
        model.excluded().len()
    );
    println!("\nvarimax loadings, five factors:\n{l}");
    // Name each factor after the trait whose items load on it most.
    let names: Vec<(usize, &str)> = (0..5)
        .map(|f| {
            let (t, _) = [
                ("agreeableness", 'A'),
                ("conscientiousness", 'C'),
                ("extraversion", 'E'),
                ("neuroticism", 'N'),
                ("openness", 'O'),
            ]
            .iter()
            .map(|(name, letter)| {
                let s: f64 = (0..25)
                    .filter(|&i| l.items[i].starts_with(*letter))
                    .map(|i| l.loadings[[i, f]].abs())
                    .sum();
                (*name, s)
            })
            .fold(("", f64::MIN), |b, c| if c.1 > b.1 { c } else { b });
            (f, t)
        })
        .collect();
    for (f, name) in names {
        model.rename_factor(f, name)?;
    }
    println!("segments on the factor scores (k-means, k = 4):");
    for p in model.profiles() {
        let means: Vec<String> = p
            .features
            .iter()
            .map(|f| format!("{} {:+.2}", f.feature, f.mean))
            .collect();
        println!(
            "  {:<58} {:>5} ({:>4.1}%)  {}",
            p.name,
            p.size,
            100.0 * p.share,
            means.join(", ")
        );
    }
    Ok(())
}
