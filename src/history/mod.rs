//! What the worker gave, kept across restarts in `history.json`: CPU time per local day and a
//! timeline (UTC; a segment lasts until the next) of what it was doing. No IO and no clock here:
//! [`file`] reads and writes it, [`page`] draws it, the supervisor says what and when.
//! ```json
//! { "version": 1,
//!   "days": { "2026-11-29": { "cpu_secs": 3600.0 } },
//!   "timeline": [ { "from": "2026-11-29T08:00:00Z", "state": "connected" },
//!                 { "from": "2026-11-29T12:30:00Z", "state": "paused", "reason": "user" } ] }
//! ```

pub mod file;
pub mod page;

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::model::{Activity, ContributionSummary};
use crate::supervisor::settings::{HISTORY_KEEP_DAYS, TIMELINE_KEEP_DAYS, TIMELINE_MAX_SEGMENTS};

pub const FORMAT_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub version: u32,
    #[serde(default)]
    pub days: BTreeMap<NaiveDate, DayTotal>,
    /// Oldest first.
    #[serde(default)]
    pub timeline: Vec<Segment>,
}

impl Default for History {
    fn default() -> Self {
        History {
            version: FORMAT_VERSION,
            days: BTreeMap::new(),
            timeline: Vec::new(),
        }
    }
}

/// The most CPU time a day holds: 86,400 s × 1,024 CPUs. A fixed cap, generous for any laptop:
/// `stats` reads the history where the machine's CPU count is not at hand.
pub const DAY_CPU_SECS_MAX: f64 = 86_400.0 * 1024.0;

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct DayTotal {
    #[serde(deserialize_with = "day_cpu_secs")]
    pub cpu_secs: f64,
}

/// A day's CPU-seconds as read: a number from 0 to [`DAY_CPU_SECS_MAX`], or the file is no
/// history (its sums would be infinite, and infinity has no JSON).
fn day_cpu_secs<'de, D: serde::Deserializer<'de>>(from: D) -> Result<f64, D::Error> {
    let secs = f64::deserialize(from)?;
    let expected = &"0 to 88473600 CPU-seconds in a day";
    let wrong = || serde::de::Error::invalid_value(serde::de::Unexpected::Float(secs), expected);
    let within = (0.0..=DAY_CPU_SECS_MAX).contains(&secs);
    within.then_some(secs).ok_or_else(wrong)
}

/// From `from` on (until the next segment), the worker did `activity`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub from: DateTime<Utc>,
    #[serde(flatten)]
    pub activity: Activity,
}

/// A segment with its end, as the page draws it and `stats` prints it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Span {
    /// Both clipped to the window asked for.
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
    #[serde(flatten)]
    pub activity: Activity,
}

/// What `stats --json` prints: the figures, 30 days of totals, a week's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub today: NaiveDate,
    pub today_cpu_hours: f64,
    pub week_cpu_hours: f64,
    pub month_cpu_hours: f64,
    pub days: Vec<StatsDay>,
    /// Oldest first; the last segment ends now.
    pub timeline: Vec<Span>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatsDay {
    pub date: NaiveDate,
    pub cpu_hours: f64,
}

impl History {
    pub fn add_cpu(&mut self, day: NaiveDate, cpu: Duration) {
        let total = &mut self.days.entry(day).or_default().cpu_secs;
        // Kept to the millisecond, so the file reads "3600.5", not "3600.4999999999995".
        let sum = (*total + cpu.as_secs_f64()).min(DAY_CPU_SECS_MAX);
        *total = (sum * 1000.0).round() / 1000.0;
    }

    /// From `at` on the worker does `activity`. The same activity again is no new segment; a time
    /// before the last segment's (a clock stepped back) is taken as that one's.
    pub fn record(&mut self, at: DateTime<Utc>, activity: Activity) {
        let last = self.timeline.last();
        if last.is_some_and(|last| last.activity == activity) {
            return;
        }
        // Whole seconds: the file reads "08:00:00Z", not "08:00:00.726821202Z".
        let at = chrono::SubsecRound::trunc_subsecs(at, 0);
        let from = last.map_or(at, |last| at.max(last.from));
        self.timeline.push(Segment { from, activity });
    }

    /// The app starts again. A history that ended without quitting has no `off`: while connected
    /// the file is written every minute, so after `last_written` it was off (no guess otherwise).
    pub fn resumed(&mut self, last_written: DateTime<Utc>) {
        if let Some(last) = self.timeline.last() {
            if last.activity == Activity::Connected && last_written > last.from {
                self.record(last_written, Activity::Off);
            }
        }
    }

    /// Drops day totals before `today` − [`HISTORY_KEEP_DAYS`], segments that ended before `now` −
    /// [`TIMELINE_KEEP_DAYS`], and the oldest beyond [`TIMELINE_MAX_SEGMENTS`].
    pub fn prune(&mut self, now: DateTime<Utc>, today: NaiveDate) {
        let first_day = today - chrono::Days::new(HISTORY_KEEP_DAYS.unsigned_abs() - 1);
        self.days.retain(|day, _| *day >= first_day);
        let since = now - chrono::Duration::days(TIMELINE_KEEP_DAYS);
        // The last segment that began before the window still covers its start: keep it.
        let first_kept = self
            .timeline
            .iter()
            .rposition(|segment| segment.from <= since)
            .unwrap_or(0);
        let too_many = self.timeline.len().saturating_sub(TIMELINE_MAX_SEGMENTS);
        self.timeline.drain(..first_kept.max(too_many));
    }

    pub fn cpu_secs(&self, day: NaiveDate) -> f64 {
        self.days.get(&day).map_or(0.0, |total| total.cpu_secs)
    }

    /// The `count` days ending with `today`, oldest first, with their CPU-seconds.
    pub fn last_days(&self, today: NaiveDate, count: u32) -> Vec<(NaiveDate, f64)> {
        (0..count)
            .rev()
            .map(|back| {
                let day = today - chrono::Days::new(u64::from(back));
                (day, self.cpu_secs(day))
            })
            .collect()
    }

    pub fn summary(&self, today: NaiveDate) -> ContributionSummary {
        ContributionSummary {
            today_cpu_secs: self.cpu_secs(today),
            week_cpu_secs: self.last_days(today, 7).iter().map(|(_, secs)| secs).sum(),
        }
    }

    /// The timeline between `since` and `until`, each segment clipped and ended by the next.
    pub fn spans(&self, since: DateTime<Utc>, until: DateTime<Utc>) -> Vec<Span> {
        let ends = self.timeline.iter().skip(1).map(|next| next.from);
        let ends = ends.chain([until]).map(|end| end.min(until));
        let spans = self.timeline.iter().zip(ends).map(|(segment, end)| Span {
            from: segment.from.max(since),
            until: end,
            activity: segment.activity,
        });
        spans.filter(|span| span.until > span.from).collect()
    }

    pub fn stats(&self, now: DateTime<Utc>, today: NaiveDate) -> Stats {
        let hours = |secs: f64| (secs / 3600.0 * 1000.0).round() / 1000.0;
        let days = self.last_days(today, 30);
        let summary = self.summary(today);
        Stats {
            today,
            today_cpu_hours: hours(summary.today_cpu_secs),
            week_cpu_hours: hours(summary.week_cpu_secs),
            month_cpu_hours: hours(days.iter().map(|(_, secs)| secs).sum()),
            days: days
                .into_iter()
                .map(|(date, secs)| StatsDay {
                    date,
                    cpu_hours: hours(secs),
                })
                .collect(),
            timeline: self.spans(now - chrono::Duration::days(TIMELINE_KEEP_DAYS), now),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PauseReason;
    use chrono::TimeZone;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).expect("date")
    }

    fn at(d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, d, h, 0, 0)
            .single()
            .expect("time")
    }

    #[test]
    fn cpu_time_adds_up_per_day_and_the_week_is_the_last_seven() {
        let mut history = History::default();
        history.add_cpu(day(29), Duration::from_secs(3600));
        history.add_cpu(day(29), Duration::from_secs(1800));
        history.add_cpu(day(23), Duration::from_secs(7200));
        history.add_cpu(day(22), Duration::from_secs(99_999));
        let summary = history.summary(day(29));
        assert_eq!(summary.today_cpu_secs, 5400.0);
        assert_eq!(summary.week_cpu_secs, 12_600.0, "the 22nd is 8 days back");
        let days = history.last_days(day(29), 30);
        assert_eq!(days.len(), 30);
        assert_eq!(days[29], (day(29), 5400.0));
        assert_eq!(
            days[0].0,
            NaiveDate::from_ymd_opt(2026, 10, 31).expect("date")
        );
    }

    #[test]
    fn the_same_activity_twice_is_one_segment_and_a_backward_clock_is_held() {
        let mut history = History::default();
        history.record(at(29, 8), Activity::Connected);
        history.record(at(29, 9), Activity::Connected);
        history.record(at(29, 7), Activity::Disconnected);
        assert_eq!(history.timeline.len(), 2);
        assert_eq!(history.timeline[1].from, at(29, 8));
    }

    #[test]
    fn pruning_keeps_400_days_of_totals_and_7_days_of_timeline() {
        let mut history = History::default();
        let today = day(29);
        for back in 0..500u64 {
            history.add_cpu(today - chrono::Days::new(back), Duration::from_secs(60));
        }
        for h in 0..(24 * 20) {
            let activity = if h % 2 == 0 {
                Activity::Connected
            } else {
                Activity::Paused {
                    reason: PauseReason::User,
                }
            };
            history.record(at(9, 0) + chrono::Duration::hours(h), activity);
        }
        let now = at(29, 0);
        history.prune(now, today);
        assert_eq!(history.days.len(), 400);
        let first = history.timeline[0].from;
        assert!(first <= now - chrono::Duration::days(7), "{first}");
        assert!(first > now - chrono::Duration::days(7) - chrono::Duration::hours(2));
        let spans = history.spans(now - chrono::Duration::days(7), now);
        assert_eq!(spans[0].from, now - chrono::Duration::days(7));
        assert_eq!(spans.len(), 7 * 24);
    }

    #[test]
    fn a_flapping_week_is_capped() {
        let mut history = History::default();
        for s in 0..(TIMELINE_MAX_SEGMENTS as i64 + 500) {
            let activity = if s % 2 == 0 {
                Activity::Connected
            } else {
                Activity::Disconnected
            };
            history.record(at(28, 0) + chrono::Duration::seconds(s * 5), activity);
        }
        history.prune(at(29, 0), day(29));
        assert_eq!(history.timeline.len(), TIMELINE_MAX_SEGMENTS);
    }

    #[test]
    fn a_run_that_ended_without_quitting_is_closed_at_its_last_write_while_connected() {
        let mut history = History::default();
        history.record(at(29, 8), Activity::Connected);
        history.resumed(at(29, 10));
        assert_eq!(
            history.timeline.last().map(|s| (s.from, s.activity)),
            Some((at(29, 10), Activity::Off))
        );
        history.resumed(at(29, 11));
        assert_eq!(history.timeline.len(), 2, "an off is not closed again");
        let mut paused = History::default();
        paused.record(
            at(29, 8),
            Activity::Paused {
                reason: PauseReason::User,
            },
        );
        paused.resumed(at(29, 9));
        assert_eq!(paused.timeline.len(), 1, "nothing guessed for a pause");
    }

    #[test]
    fn spans_end_at_the_next_segment_and_the_last_at_now() {
        let mut history = History::default();
        history.record(at(29, 8), Activity::Connected);
        history.record(
            at(29, 10),
            Activity::Paused {
                reason: PauseReason::OnBattery,
            },
        );
        let spans = history.spans(at(29, 0), at(29, 12));
        assert_eq!(spans.len(), 2);
        assert_eq!((spans[0].from, spans[0].until), (at(29, 8), at(29, 10)));
        assert_eq!((spans[1].from, spans[1].until), (at(29, 10), at(29, 12)));
    }

    #[test]
    fn the_json_format_is_the_documented_one() {
        let mut history = History::default();
        history.add_cpu(day(29), Duration::from_millis(3_600_500));
        history.record(at(29, 8), Activity::Connected);
        history.record(
            at(29, 12),
            Activity::Paused {
                reason: PauseReason::User,
            },
        );
        let json = serde_json::to_value(&history).expect("json");
        assert_eq!(
            json,
            serde_json::json!({
                "version": 1,
                "days": { "2026-11-29": { "cpu_secs": 3600.5 } },
                "timeline": [
                    { "from": "2026-11-29T08:00:00Z", "state": "connected" },
                    { "from": "2026-11-29T12:00:00Z", "state": "paused", "reason": "user" }
                ]
            })
        );
        let back: History = serde_json::from_value(json).expect("read back");
        assert_eq!(back, history);
    }
}
