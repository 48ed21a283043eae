//! The chart of `docs/BENCHMARKS.md`: throughput and p99 latency against concurrency, one line
//! per setup, as a self-contained SVG written by hand (no plotting dependency).
//!
//! Both panels put concurrency on a log₂ axis. Throughput is on a linear axis from zero; p99 is
//! on a log₁₀ axis, since it spans orders of magnitude between 1 and 256 callers.

use std::fmt::Write as _;

use crate::report::Row;

const PANEL_WIDTH: f64 = 460.0;
const HEIGHT: f64 = 380.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 30.0;
const TOP: f64 = 72.0;
const BOTTOM: f64 = 50.0;
const COLOURS: [&str; 6] = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
];

/// One panel's vertical scale.
enum Scale {
    Linear {
        max: f64,
    },
    Log10 {
        min_exponent: i32,
        max_exponent: i32,
    },
}

impl Scale {
    /// Position in 0..=1 from the bottom.
    fn fraction(&self, value: f64) -> f64 {
        match self {
            Self::Linear { max } => value / max,
            Self::Log10 {
                min_exponent,
                max_exponent,
            } => {
                let value = value.max(10f64.powi(*min_exponent));
                (value.log10() - f64::from(*min_exponent)) / f64::from(max_exponent - min_exponent)
            }
        }
    }

    fn ticks(&self) -> Vec<f64> {
        match self {
            Self::Linear { max } => {
                let step = max / 5.0;
                (0..=5).map(|tick| step * f64::from(tick)).collect()
            }
            Self::Log10 {
                min_exponent,
                max_exponent,
            } => (*min_exponent..=*max_exponent)
                .map(|exponent| 10f64.powi(exponent))
                .collect(),
        }
    }
}

/// The smallest of 1, 2, 2.5, 5 × 10ⁿ that is ≥ `value` / 5, times 5: a round axis maximum.
fn round_maximum(value: f64) -> f64 {
    if value <= 0.0 || !value.is_finite() {
        return 1.0;
    }
    let rough_step = value / 5.0;
    let magnitude = 10f64.powf(rough_step.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|factor| factor * magnitude)
        .find(|step| *step >= rough_step)
        .unwrap_or(10.0 * magnitude);
    step * 5.0
}

fn log_scale(values: impl Iterator<Item = f64>) -> Scale {
    let (low, high) = values
        .filter(|value| *value > 0.0)
        .fold((f64::INFINITY, 0.0_f64), |(low, high), value| {
            (low.min(value), high.max(value))
        });
    if !low.is_finite() {
        return Scale::Log10 {
            min_exponent: -1,
            max_exponent: 1,
        };
    }
    let min_exponent = low.log10().floor() as i32;
    let max_exponent = (high.log10().ceil() as i32).max(min_exponent + 1);
    Scale::Log10 {
        min_exponent,
        max_exponent,
    }
}

fn tick_label(value: f64) -> String {
    if value >= 1000.0 {
        format!("{}k", value / 1000.0)
    } else if value >= 1.0 || value == 0.0 {
        format!("{value}")
    } else {
        format!("{value:.3}")
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_owned()
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The SVG for `rows`, setups in the order given.
pub fn svg(rows: &[Row], setups: &[String], title: &str) -> String {
    let mut concurrencies: Vec<usize> = rows.iter().map(|row| row.concurrency).collect();
    concurrencies.sort_unstable();
    concurrencies.dedup();
    let width = 2.0 * PANEL_WIDTH;
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{HEIGHT}" viewBox="0 0 {width} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        out,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" text-anchor="middle" font-size="14">{}</text>"#,
        width / 2.0,
        escape(title)
    );
    // Legend.
    for (index, setup) in setups.iter().enumerate() {
        let x = width / 2.0 - 60.0 * setups.len() as f64 + 120.0 * index as f64;
        let colour = COLOURS[index % COLOURS.len()];
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="40" x2="{}" y2="40" stroke="{colour}" stroke-width="3"/><text x="{}" y="44">{}</text>"#,
            x + 20.0,
            x + 25.0,
            escape(setup)
        );
    }
    let throughput = Scale::Linear {
        max: round_maximum(rows.iter().map(|row| row.rps).fold(0.0, f64::max)),
    };
    let p99 = log_scale(rows.iter().map(|row| row.latency_ms[2]));
    panel(
        &mut out,
        0.0,
        "throughput (requests/s)",
        &throughput,
        rows,
        setups,
        &concurrencies,
        |row| row.rps,
    );
    panel(
        &mut out,
        PANEL_WIDTH,
        "p99 latency (ms, log scale)",
        &p99,
        rows,
        setups,
        &concurrencies,
        |row| row.latency_ms[2],
    );
    out.push_str("</svg>\n");
    out
}

#[allow(clippy::too_many_arguments)]
fn panel(
    out: &mut String,
    offset: f64,
    label: &str,
    scale: &Scale,
    rows: &[Row],
    setups: &[String],
    concurrencies: &[usize],
    value: impl Fn(&Row) -> f64,
) {
    let plot_left = offset + LEFT;
    let plot_width = PANEL_WIDTH - LEFT - RIGHT;
    let plot_height = HEIGHT - TOP - BOTTOM;
    let bottom = HEIGHT - BOTTOM;
    let log2 = |concurrency: usize| (concurrency.max(1) as f64).log2();
    let (x_low, x_high) = match (concurrencies.first(), concurrencies.last()) {
        (Some(&low), Some(&high)) if high > low => (log2(low), log2(high)),
        (Some(&low), _) => (log2(low) - 1.0, log2(low) + 1.0),
        _ => (0.0, 1.0),
    };
    let x = |concurrency: usize| {
        plot_left + (log2(concurrency) - x_low) / (x_high - x_low) * plot_width
    };
    let y = |value: f64| bottom - scale.fraction(value).clamp(0.0, 1.0) * plot_height;

    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle" font-size="13">{}</text>"#,
        plot_left + plot_width / 2.0,
        TOP - 6.0,
        escape(label)
    );
    for tick in scale.ticks() {
        let tick_y = y(tick);
        let _ = writeln!(
            out,
            r##"<line x1="{plot_left}" y1="{tick_y:.1}" x2="{:.1}" y2="{tick_y:.1}" stroke="#ddd"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            plot_left + plot_width,
            plot_left - 6.0,
            tick_y + 4.0,
            tick_label(tick)
        );
    }
    for &concurrency in concurrencies {
        let tick_x = x(concurrency);
        let _ = writeln!(
            out,
            r##"<line x1="{tick_x:.1}" y1="{TOP}" x2="{tick_x:.1}" y2="{bottom}" stroke="#eee"/><text x="{tick_x:.1}" y="{:.1}" text-anchor="middle">{concurrency}</text>"##,
            bottom + 16.0
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">concurrent callers</text><rect x="{plot_left}" y="{TOP}" width="{plot_width}" height="{plot_height}" fill="none" stroke="black"/>"#,
        plot_left + plot_width / 2.0,
        bottom + 36.0
    );
    for (index, setup) in setups.iter().enumerate() {
        let colour = COLOURS[index % COLOURS.len()];
        let mut points: Vec<(f64, f64)> = rows
            .iter()
            .filter(|row| &row.setup == setup)
            .map(|row| (x(row.concurrency), y(value(row))))
            .collect();
        points.sort_by(|a, b| a.0.total_cmp(&b.0));
        let path = points
            .iter()
            .map(|(px, py)| format!("{px:.1},{py:.1}"))
            .collect::<Vec<_>>()
            .join(" ");
        let _ = writeln!(
            out,
            r#"<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>"#
        );
        for (px, py) in points {
            let _ = writeln!(
                out,
                r#"<circle cx="{px:.1}" cy="{py:.1}" r="3" fill="{colour}"/>"#
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::tests::row;

    #[test]
    fn round_maxima() {
        assert_eq!(round_maximum(9_300.0), 10_000.0);
        assert_eq!(round_maximum(11_000.0), 12_500.0);
        assert_eq!(round_maximum(0.0), 1.0);
    }

    #[test]
    fn log_scale_covers_the_values_in_whole_decades() {
        let scale = log_scale([0.2, 35.0].into_iter());
        assert_eq!(scale.ticks(), vec![0.1, 1.0, 10.0, 100.0]);
        assert!((scale.fraction(1.0) - 1.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn draws_one_line_per_setup() {
        let rows = vec![
            row("direct", 1, 1000.0, 0.5),
            row("direct", 64, 9000.0, 20.0),
            row("kruispunt", 1, 400.0, 2.0),
            row("kruispunt", 64, 3000.0, 60.0),
        ];
        let setups = vec!["direct".to_owned(), "kruispunt".to_owned()];
        let svg = svg(&rows, &setups, "a <test>");
        assert!(svg.starts_with("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches("<polyline").count(), 4);
        assert!(svg.contains("a &lt;test&gt;"));
    }
}
