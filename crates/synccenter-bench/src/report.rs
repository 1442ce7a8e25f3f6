//! The benchmark's report: every figure with its baseline and ratio, printed as it is measured, then as one
//! Markdown table (the one `docs/performance.md` carries) and as a JSON file.

use std::time::Duration;

use serde_json::{Value, json};

/// Latencies of one measurement, sorted.
#[derive(Clone, Debug)]
pub(crate) struct Lat(Vec<Duration>);

impl Lat {
    pub(crate) fn new(mut samples: Vec<Duration>) -> Lat {
        samples.sort();
        Lat(samples)
    }

    pub(crate) fn pct(&self, p: f64) -> Duration {
        if self.0.is_empty() {
            return Duration::ZERO;
        }
        self.0[((self.0.len() - 1) as f64 * p).round() as usize]
    }

    /// Median in µs.
    pub(crate) fn p50(&self) -> f64 {
        us(self.pct(0.5))
    }

    /// 99th percentile in µs.
    pub(crate) fn p99(&self) -> f64 {
        us(self.pct(0.99))
    }

    /// Maximum in µs.
    pub(crate) fn max(&self) -> f64 {
        us(self.pct(1.0))
    }

    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }

    pub(crate) fn json(&self) -> Value {
        json!({"p50_us": self.p50(), "p99_us": self.p99(), "max_us": self.max(), "samples": self.len()})
    }

    /// "12.3 µs p50, 45.6 µs p99" (with the maximum when `max`), in ms when large.
    pub(crate) fn text(&self, max: bool) -> String {
        let mut s = format!("{} p50, {} p99", fmt_us(self.p50()), fmt_us(self.p99()));
        if max {
            s.push_str(&format!(", {} max", fmt_us(self.max())));
        }
        s
    }
}

pub(crate) fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub(crate) fn fmt_us(v: f64) -> String {
    if v >= 1000.0 {
        format!("{:.2} ms", v / 1000.0)
    } else if v >= 10.0 {
        format!("{v:.1} µs")
    } else {
        format!("{v:.3} µs")
    }
}

/// A count with thousands separators.
pub(crate) fn n(v: f64) -> String {
    let s = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 { format!("-{out}") } else { out }
}

/// Whether a figure meets the target.
#[derive(Clone, Debug)]
pub(crate) enum Verdict {
    /// No target for this figure (a baseline, or a figure reported for information).
    None,
    Met(String),
    Missed(String),
}

impl Verdict {
    pub(crate) fn check(ok: bool, target: impl Into<String>) -> Verdict {
        let target = target.into();
        if ok { Verdict::Met(target) } else { Verdict::Missed(target) }
    }

    fn text(&self) -> String {
        match self {
            Verdict::None => String::new(),
            Verdict::Met(t) => format!("{t}: met"),
            Verdict::Missed(t) => format!("{t}: NOT met"),
        }
    }
}

/// One line of the report.
#[derive(Clone, Debug)]
pub(crate) struct Figure {
    pub(crate) section: &'static str,
    pub(crate) name: String,
    /// What was measured, for a person.
    pub(crate) result: String,
    /// The ratio to the baseline, for a person ("12.3x the bare ingest"); empty for a baseline.
    pub(crate) ratio: String,
    pub(crate) verdict: Verdict,
    /// The same, for machines.
    pub(crate) data: Value,
}

#[derive(Debug, Default)]
pub(crate) struct Report {
    figures: Vec<Figure>,
    section: Option<&'static str>,
}

impl Report {
    /// Prints a section's heading.
    pub(crate) fn section(&mut self, name: &'static str, title: &str) {
        self.section = Some(name);
        println!("\n[{name}] {title}");
    }

    /// Records and prints a figure of the current section.
    pub(crate) fn add(
        &mut self,
        name: impl Into<String>,
        result: String,
        ratio: String,
        verdict: Verdict,
        data: Value,
    ) {
        let f = Figure { section: self.section.unwrap_or("-"), name: name.into(), result, ratio, verdict, data };
        let mut line = format!("  {:<58} {}", f.name, f.result);
        if !f.ratio.is_empty() {
            line.push_str(&format!("   [{}]", f.ratio));
        }
        let v = f.verdict.text();
        if !v.is_empty() {
            line.push_str(&format!("   <{v}>"));
        }
        println!("{line}");
        self.figures.push(f);
    }

    /// The Markdown table of every figure.
    pub(crate) fn markdown(&self) -> String {
        let mut s = String::from("| section | figure | result | vs baseline | target |\n|---|---|---|---|---|\n");
        for f in &self.figures {
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                f.section,
                f.name,
                f.result,
                f.ratio,
                f.verdict.text()
            ));
        }
        s
    }

    pub(crate) fn json(&self, header: Value) -> Value {
        let figures: Vec<Value> = self
            .figures
            .iter()
            .map(|f| {
                let (verdict, target) = match &f.verdict {
                    Verdict::None => (Value::Null, Value::Null),
                    Verdict::Met(t) => (json!("met"), json!(t)),
                    Verdict::Missed(t) => (json!("missed"), json!(t)),
                };
                json!({"section": f.section, "figure": f.name, "result": f.result, "vs_baseline": f.ratio,
                       "target": target, "verdict": verdict, "data": f.data})
            })
            .collect();
        json!({"run": header, "figures": figures})
    }
}
