//! Reports: sessions grouped per day, channel, entry point, category or agent, from the session
//! milestones the store keeps (never from messages, so retention and erasure keep the counts).
//! Pure functions: rows in, numbers, CSV and SVG out.
//!
//! Definitions, per group of sessions opened in the period:
//! - `sessions`: opened.
//! - `bot_resolved`: closed without ever entering the queue; `bot_resolved_share` = that / sessions.
//! - `first_reply_p50_s` / `p90`: queue entry → first agent message, nearest-rank percentiles.
//! - `handle_time_avg_s`: first assignment → close, mean.
//! - `transfers`: agent-to-agent hand-overs.
//! - `left_waiting`: closed while queued, before any agent had it.
//! - `csat_avg`: mean rating (1–5); `csat_asked`: closed sessions an agent had (the widget asks
//!   those); `csat_response_rate` = ratings / asked.

use jiff::tz::TimeZone;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::{Deserialize, Serialize};

use crate::store::ReportRow;

/// How sessions are grouped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GroupBy {
    /// UTC day of opening, `YYYY-MM-DD`.
    Day,
    /// Channel id.
    Channel,
    /// Entry point label.
    Entry,
    /// Bot category.
    Category,
    /// The agent who had it last.
    Agent,
}

impl GroupBy {
    /// From a query parameter.
    pub fn parse(s: &str) -> Option<GroupBy> {
        Some(match s {
            "day" => GroupBy::Day,
            "channel" => GroupBy::Channel,
            "entry" => GroupBy::Entry,
            "category" => GroupBy::Category,
            "agent" => GroupBy::Agent,
            _ => return None,
        })
    }

    /// The query parameter's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupBy::Day => "day",
            GroupBy::Channel => "channel",
            GroupBy::Entry => "entry",
            GroupBy::Category => "category",
            GroupBy::Agent => "agent",
        }
    }

    fn key(self, r: &ReportRow, tz: &TimeZone) -> String {
        let none = || "(none)".to_string();
        match self {
            GroupBy::Day => day_of(r.opened_ms, tz),
            GroupBy::Channel => r.channel.clone(),
            GroupBy::Entry => r.entry.clone().unwrap_or_else(none),
            GroupBy::Category => r.category.clone().unwrap_or_else(none),
            GroupBy::Agent => r.agent.clone().unwrap_or_else(none),
        }
    }
}

/// `YYYY-MM-DD` of a Unix-ms instant in the reports' time zone.
pub fn day_of(ms: u64, tz: &TimeZone) -> String {
    jiff::Timestamp::from_millisecond(ms as i64).map(|t| t.to_zoned(tz.clone()).date().to_string()).unwrap_or_default()
}

/// One group's numbers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportLine {
    /// The group (a day, a channel id, an entry point…).
    pub key: String,
    /// Sessions opened.
    pub sessions: u64,
    /// Closed without a person.
    pub bot_resolved: u64,
    /// `bot_resolved / sessions`.
    pub bot_resolved_share: f64,
    /// Median queue → first agent reply, ms.
    pub first_reply_p50_ms: Option<u64>,
    /// 90th percentile of the same, ms.
    pub first_reply_p90_ms: Option<u64>,
    /// Mean assignment → close, ms.
    pub handle_time_avg_ms: Option<u64>,
    /// Transfers.
    pub transfers: u64,
    /// Closed while waiting for a person.
    pub left_waiting: u64,
    /// Mean rating.
    pub csat_avg: Option<f64>,
    /// Ratings given.
    pub csat_responses: u64,
    /// Closed sessions an agent had.
    pub csat_asked: u64,
    /// `csat_responses / csat_asked`.
    pub csat_response_rate: Option<f64>,
}

/// Nearest-rank percentile of sorted values (`p` in 0–100).
pub fn percentile(sorted: &[u64], p: u64) -> Option<u64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p * sorted.len() as u64).div_ceil(100).max(1) as usize;
    Some(sorted[rank - 1])
}

fn line(key: String, rows: &[&ReportRow]) -> ReportLine {
    let sessions = rows.len() as u64;
    let bot_resolved = rows.iter().filter(|r| r.closed_ms.is_some() && r.queued_ms.is_none()).count() as u64;
    let mut replies: Vec<u64> =
        rows.iter().filter_map(|r| Some(r.first_reply_ms?.saturating_sub(r.queued_ms?))).collect();
    replies.sort_unstable();
    let handles: Vec<u64> = rows.iter().filter_map(|r| Some(r.closed_ms?.saturating_sub(r.assigned_ms?))).collect();
    let asked = rows.iter().filter(|r| r.closed_ms.is_some() && r.assigned_ms.is_some()).count() as u64;
    let ratings: Vec<u64> = rows.iter().filter_map(|r| r.rating.map(u64::from)).collect();
    ReportLine {
        key,
        sessions,
        bot_resolved,
        bot_resolved_share: if sessions == 0 { 0.0 } else { bot_resolved as f64 / sessions as f64 },
        first_reply_p50_ms: percentile(&replies, 50),
        first_reply_p90_ms: percentile(&replies, 90),
        handle_time_avg_ms: (!handles.is_empty()).then(|| handles.iter().sum::<u64>() / handles.len() as u64),
        transfers: rows.iter().map(|r| u64::from(r.transfers)).sum(),
        left_waiting: rows.iter().filter(|r| r.closed_ms.is_some() && r.queued_ms.is_some() && r.assigned_ms.is_none()).count() as u64,
        csat_avg: (!ratings.is_empty()).then(|| ratings.iter().sum::<u64>() as f64 / ratings.len() as f64),
        csat_responses: ratings.len() as u64,
        csat_asked: asked,
        csat_response_rate: (asked > 0).then(|| ratings.len() as f64 / asked as f64),
    }
}

/// Groups rows; lines sorted by key (days in order), then a `total` line.
pub fn aggregate(rows: &[ReportRow], by: GroupBy, tz: &TimeZone) -> Vec<ReportLine> {
    let mut groups: BTreeMap<String, Vec<&ReportRow>> = BTreeMap::new();
    for r in rows {
        groups.entry(by.key(r, tz)).or_default().push(r);
    }
    let mut out: Vec<ReportLine> = groups.into_iter().map(|(k, rs)| line(k, &rs)).collect();
    out.push(line("total".into(), &rows.iter().collect::<Vec<_>>()));
    out
}

fn secs(ms: Option<u64>) -> String {
    ms.map(|m| format!("{:.1}", m as f64 / 1000.0)).unwrap_or_default()
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map(|x| format!("{x:.digits$}")).unwrap_or_default()
}

/// A CSV field: quoted when needed; a leading `= + - @` is defused so spreadsheets show text.
pub fn csv_field(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) { format!("'{s}") } else { s.to_string() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// The CSV header.
pub const CSV_HEADER: &str = "group,key,sessions,bot_resolved,bot_resolved_share,first_reply_p50_s,first_reply_p90_s,handle_time_avg_s,transfers,left_waiting,csat_avg,csat_responses,csat_asked,csat_response_rate";

/// The same numbers as CSV, one line per group (seconds with one decimal).
pub fn csv(lines: &[ReportLine], by: GroupBy) -> String {
    let mut out = String::from(CSV_HEADER);
    out.push('\n');
    for l in lines {
        let _ = writeln!(
            out,
            "{},{},{},{},{:.3},{},{},{},{},{},{},{},{},{}",
            by.as_str(),
            csv_field(&l.key),
            l.sessions,
            l.bot_resolved,
            l.bot_resolved_share,
            secs(l.first_reply_p50_ms),
            secs(l.first_reply_p90_ms),
            secs(l.handle_time_avg_ms),
            l.transfers,
            l.left_waiting,
            opt(l.csat_avg, 2),
            l.csat_responses,
            l.csat_asked,
            opt(l.csat_response_rate, 3),
        );
    }
    out
}

/// A chart's metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Metric {
    /// Sessions opened.
    Sessions,
    /// Share resolved by the bot, %.
    BotShare,
    /// First reply p50 and p90, s.
    FirstReply,
    /// Mean handle time, minutes.
    HandleTime,
    /// Transfers.
    Transfers,
    /// Left while waiting.
    LeftWaiting,
    /// CSAT average (1–5).
    Csat,
    /// CSAT response rate, %.
    CsatRate,
}

impl Metric {
    /// From a query parameter.
    pub fn parse(s: &str) -> Option<Metric> {
        Some(match s {
            "sessions" => Metric::Sessions,
            "bot_share" => Metric::BotShare,
            "first_reply" => Metric::FirstReply,
            "handle_time" => Metric::HandleTime,
            "transfers" => Metric::Transfers,
            "left_waiting" => Metric::LeftWaiting,
            "csat" => Metric::Csat,
            "csat_rate" => Metric::CsatRate,
            _ => return None,
        })
    }

    fn title(self) -> &'static str {
        match self {
            Metric::Sessions => "Sessions",
            Metric::BotShare => "Resolved by the bot (%)",
            Metric::FirstReply => "Time to first agent reply (s)",
            Metric::HandleTime => "Handle time, mean (min)",
            Metric::Transfers => "Transfers",
            Metric::LeftWaiting => "Left while waiting",
            Metric::Csat => "Satisfaction, mean of 1-5",
            Metric::CsatRate => "Satisfaction response rate (%)",
        }
    }

    /// The bar values of a line (one or two series) and their text.
    fn values(self, l: &ReportLine) -> Vec<Option<f64>> {
        let s = |ms: Option<u64>| ms.map(|m| m as f64 / 1000.0);
        match self {
            Metric::Sessions => vec![Some(l.sessions as f64)],
            Metric::BotShare => vec![Some(l.bot_resolved_share * 100.0)],
            Metric::FirstReply => vec![s(l.first_reply_p50_ms), s(l.first_reply_p90_ms)],
            Metric::HandleTime => vec![l.handle_time_avg_ms.map(|m| m as f64 / 60_000.0)],
            Metric::Transfers => vec![Some(l.transfers as f64)],
            Metric::LeftWaiting => vec![Some(l.left_waiting as f64)],
            Metric::Csat => vec![l.csat_avg],
            Metric::CsatRate => vec![l.csat_response_rate.map(|r| r * 100.0)],
        }
    }
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn num(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 { format!("{v:.0}") } else { format!("{v:.1}") }
}

/// A horizontal bar chart of one metric over the lines (the `total` line left out), as SVG.
pub fn chart_svg(lines: &[ReportLine], metric: Metric) -> String {
    let lines: Vec<&ReportLine> = lines.iter().filter(|l| l.key != "total").collect();
    let series = metric.values(&empty_line()).len();
    let (width, label_w, row_h, top) = (560.0_f64, 130.0_f64, if series == 2 { 34.0 } else { 24.0 }, 36.0);
    let bar_w = width - label_w - 70.0;
    let max = lines.iter().flat_map(|l| metric.values(l)).flatten().fold(if metric == Metric::Csat { 5.0 } else { 0.0 }, f64::max);
    let height = top + row_h * lines.len().max(1) as f64 + 12.0;
    let colours = ["#2563eb", "#93c5fd"];
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{}\" font-family=\"system-ui, sans-serif\" font-size=\"13\">",
        xml(metric.title())
    );
    let _ = write!(svg, "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/><text x=\"8\" y=\"20\" font-size=\"15\" font-weight=\"600\" fill=\"#111827\">{}</text>", xml(metric.title()));
    if series == 2 {
        // Which bar is which: a key on the right of the title.
        for (k, name) in ["p50", "p90"].iter().enumerate() {
            let x = width - 110.0 + 52.0 * k as f64;
            let _ = write!(svg, "<rect x=\"{x}\" y=\"10\" width=\"10\" height=\"10\" fill=\"{}\"/><text x=\"{}\" y=\"19\" fill=\"#374151\">{name}</text>", colours[k], x + 14.0);
        }
    }
    if lines.is_empty() {
        let _ = write!(svg, "<text x=\"8\" y=\"{}\" fill=\"#6b7280\">No sessions in this period</text>", top + 14.0);
    }
    for (i, l) in lines.iter().enumerate() {
        let y = top + row_h * i as f64;
        let label: String = l.key.chars().take(22).collect();
        let _ = write!(svg, "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" fill=\"#374151\">{}</text>", label_w - 8.0, y + row_h / 2.0 + 4.0, xml(&label));
        let h = (row_h - 6.0) / series as f64;
        for (k, v) in metric.values(l).into_iter().enumerate() {
            let by = y + 3.0 + h * k as f64;
            match v {
                Some(v) => {
                    let w = if max > 0.0 { (v / max * bar_w).max(1.0) } else { 1.0 };
                    let _ = write!(
                        svg,
                        "<rect x=\"{label_w}\" y=\"{by:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\" rx=\"2\"/><text x=\"{:.1}\" y=\"{:.1}\" fill=\"#111827\">{}</text>",
                        h - 1.0,
                        colours[k],
                        label_w + w + 4.0,
                        by + h / 2.0 + 4.0,
                        num(v)
                    );
                }
                None => {
                    let _ = write!(svg, "<text x=\"{}\" y=\"{:.1}\" fill=\"#9ca3af\">–</text>", label_w + 2.0, by + h / 2.0 + 4.0);
                }
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

fn empty_line() -> ReportLine {
    line(String::new(), &[])
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_are_the_reports_time_zone_days() {
        // 2026-11-26 16:00 UTC is already the 27th in Seoul.
        let ms = 1_795_708_800_000;
        assert_eq!(day_of(ms, &TimeZone::UTC), "2026-11-26");
        assert_eq!(day_of(ms, &TimeZone::get("Asia/Seoul").unwrap()), "2026-11-27");
    }

    use super::*;

    fn row(opened: u64) -> ReportRow {
        ReportRow {
            channel: "shop".into(),
            entry: Some("b".into()),
            category: None,
            agent: None,
            opened_ms: opened,
            queued_ms: None,
            assigned_ms: None,
            first_reply_ms: None,
            closed_ms: None,
            transfers: 0,
            rating: None,
        }
    }

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<u64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
    }

    #[test]
    fn csv_defuses_formulas_and_quotes() {
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("x\"y,"), "\"x\"\"y,\"");
    }

    #[test]
    fn chart_escapes_labels_and_draws_a_bar_per_group() {
        let mut a = row(0);
        a.entry = Some("<script>".into());
        let lines = aggregate(&[a, row(1)], GroupBy::Entry, &TimeZone::UTC);
        let svg = chart_svg(&lines, Metric::Sessions);
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
        assert_eq!(svg.matches("<rect x=").count(), 2);
    }
}
