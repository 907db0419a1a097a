//! Business hours in the channel's time zone: open now, and the next opening.

use jiff::civil::{Date, Time, Weekday};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// Opening intervals of one weekday, minutes since midnight, `[start, end)`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DayHours(pub Vec<(u16, u16)>);

impl DayHours {
    /// Parses `"09:00-18:00"`, `"09:00-12:00,13:00-18:00"`, `"00:00-24:00"` or `"closed"`.
    pub fn parse(spec: &str) -> Option<DayHours> {
        let spec = spec.trim();
        if spec == "closed" {
            return Some(DayHours(Vec::new()));
        }
        let mut out = Vec::new();
        for part in spec.split(',') {
            let (a, b) = part.trim().split_once('-')?;
            let (start, end) = (minutes(a)?, minutes(b)?);
            if start >= end {
                return None;
            }
            out.push((start, end));
        }
        Some(DayHours(out))
    }
}

fn minutes(hhmm: &str) -> Option<u16> {
    let (h, m) = hhmm.trim().split_once(':')?;
    if h.len() != 2 || m.len() != 2 {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return None;
    }
    Some(h * 60 + m)
}

/// What happens to requests outside business hours.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterHours {
    /// Reply with the after-hours message and queue the request for when the desk opens.
    Wait,
    /// Reply with the after-hours message and refuse new requests.
    Refuse,
}

/// A channel's business hours.
#[derive(Debug, Clone)]
pub struct BusinessHours {
    /// Time zone.
    pub tz: TimeZone,
    /// Its name, for logs.
    pub tz_name: String,
    /// Monday first.
    pub days: [DayHours; 7],
    /// Whole days closed.
    pub holidays: Vec<Date>,
    /// Wait or refuse after hours.
    pub after_hours: AfterHours,
    /// After-hours reply.
    pub message: String,
}

fn day_index(w: Weekday) -> usize {
    w.to_monday_zero_offset() as usize
}

impl BusinessHours {
    fn intervals(&self, date: Date) -> &[(u16, u16)] {
        if self.holidays.contains(&date) { &[] } else { &self.days[day_index(date.weekday())].0 }
    }

    /// Open at `now` (Unix seconds).
    pub fn is_open(&self, now: u64) -> bool {
        let Ok(ts) = Timestamp::from_second(now as i64) else { return false };
        let local = ts.to_zoned(self.tz.clone());
        let minute = local.hour() as u16 * 60 + local.minute() as u16;
        self.intervals(local.date()).iter().any(|&(s, e)| s <= minute && minute < e)
    }

    /// Next opening after `now` (Unix seconds) within two weeks, if closed now.
    pub fn next_opening(&self, now: u64) -> Option<u64> {
        if self.is_open(now) {
            return None;
        }
        let ts = Timestamp::from_second(now as i64).ok()?;
        let today = ts.to_zoned(self.tz.clone()).date();
        for offset in 0..15 {
            let date = today.checked_add(offset.days()).ok()?;
            for &(start, _) in self.intervals(date) {
                let time = Time::new((start / 60) as i8, (start % 60) as i8, 0, 0).ok()?;
                let at = date.to_datetime(time).to_zoned(self.tz.clone()).ok()?.timestamp().as_second();
                if at > now as i64 {
                    return Some(at as u64);
                }
            }
        }
        None
    }

    /// The after-hours reply as stored in the conversation: the channel's message, then when it
    /// opens again in the channel's time zone, in Korean and English (or that it is not known
    /// within two weeks).
    pub fn reply(&self, now: u64) -> String {
        const KO_DAYS: [&str; 7] = ["월", "화", "수", "목", "금", "토", "일"];
        match self.next_opening(now).and_then(|at| Timestamp::from_second(at as i64).ok()) {
            Some(at) => {
                let z = at.to_zoned(self.tz.clone());
                let ko = format!("{}월 {}일 ({}) {:02}:{:02}", z.month(), z.day(), KO_DAYS[day_index(z.weekday())], z.hour(), z.minute());
                format!("{}\n다음 상담 시작: {ko} · Opens again {} ({})", self.message, z.strftime("%a %-d %b %H:%M"), self.tz_name)
            }
            None => self.message.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seoul_weekdays() -> BusinessHours {
        let nine_to_six = DayHours::parse("09:00-18:00").unwrap();
        let mut days: [DayHours; 7] = Default::default();
        for d in days.iter_mut().take(5) {
            *d = nine_to_six.clone();
        }
        BusinessHours {
            tz: TimeZone::get("Asia/Seoul").unwrap(),
            tz_name: "Asia/Seoul".into(),
            days,
            holidays: vec!["2025-12-25".parse().unwrap()],
            after_hours: AfterHours::Wait,
            message: "closed".into(),
        }
    }

    fn seoul(s: &str) -> u64 {
        format!("{s}[Asia/Seoul]").parse::<jiff::Zoned>().unwrap().timestamp().as_second() as u64
    }

    #[test]
    fn the_after_hours_reply_says_when_it_opens_in_the_channels_time_zone() {
        let h = seoul_weekdays();
        // Friday 19:00 in Seoul: closed until Monday 09:00 there.
        assert_eq!(h.reply(seoul("2025-12-19T19:00")), "closed\n다음 상담 시작: 12월 22일 (월) 09:00 · Opens again Mon 22 Dec 09:00 (Asia/Seoul)");
        let mut never = h.clone();
        never.days = Default::default();
        assert_eq!(never.reply(seoul("2025-12-19T19:00")), "closed", "no opening within two weeks: the message alone");
    }

    #[test]
    fn open_in_local_time_not_utc() {
        let h = seoul_weekdays();
        // Monday 2025-12-22, 09:30 in Seoul is 00:30 UTC.
        assert!(h.is_open(seoul("2025-12-22T09:30")));
        assert!(!h.is_open(seoul("2025-12-22T18:00")));
        assert!(!h.is_open(seoul("2025-12-25T10:00")), "holiday");
    }

    #[test]
    fn next_opening_skips_weekend_and_holiday() {
        let h = seoul_weekdays();
        assert_eq!(h.next_opening(seoul("2025-12-19T19:00")), Some(seoul("2025-12-22T09:00")));
        assert_eq!(h.next_opening(seoul("2025-12-24T20:00")), Some(seoul("2025-12-26T09:00")));
        assert_eq!(h.next_opening(seoul("2025-12-22T10:00")), None);
    }

    #[test]
    fn parses_split_days_and_rejects_nonsense() {
        assert_eq!(DayHours::parse("09:00-12:00,13:00-24:00").unwrap().0, vec![(540, 720), (780, 1440)]);
        assert!(DayHours::parse("18:00-09:00").is_none());
        assert!(DayHours::parse("9-18").is_none());
        assert!(DayHours::parse("24:30-25:00").is_none());
    }
}
