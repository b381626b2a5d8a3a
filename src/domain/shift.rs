//! How the stable aliases move to a new version: all at once, or gradually through
//! Lambda's weighted alias routing (`traffic-shift`), and the grammar of that input.

use std::fmt;
use std::time::Duration;

use serde::Serialize;

/// The grammar of `traffic-shift`, shown with every error about it.
pub(crate) const GRAMMAR: &str = "`all-at-once`, `canary <P>% <D>` or `linear <P>% every <D>`, with P from 1 to 99 and D as <n>s, <n>m or <n>h (e.g. `canary 10% 5m`, `linear 25% every 2m`)";

/// Longest duration of one step: a shift runs inside a CI job, which GitHub ends after 6 h.
const MAX_STEP: Duration = Duration::from_secs(6 * 3600);

/// How the stable aliases reach the new version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum TrafficShift {
    /// Every alias points at the new version in one write (the default).
    AllAtOnce,
    /// `percent` % goes to the new version for `hold`, then all of it.
    Canary {
        percent: u8,
        #[serde(with = "secs")]
        hold: Duration,
    },
    /// `percent` % more goes to the new version every `every`, until all of it.
    Linear {
        percent: u8,
        #[serde(with = "secs")]
        every: Duration,
    },
}

mod secs {
    use std::time::Duration;

    pub(crate) fn serialize<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_secs())
    }
}

impl TrafficShift {
    /// The weights (percent on the new version) the aliases hold in turn before they move
    /// all the way, and how long each is held; empty for [`TrafficShift::AllAtOnce`].
    pub fn steps(&self) -> (Vec<u8>, Duration) {
        match *self {
            TrafficShift::AllAtOnce => (Vec::new(), Duration::ZERO),
            TrafficShift::Canary { percent, hold } => (vec![percent], hold),
            TrafficShift::Linear { percent, every } => {
                let steps = (1..)
                    .map(|k: u32| k * u32::from(percent))
                    .take_while(|w| *w < 100)
                    .filter_map(|w| u8::try_from(w).ok())
                    .collect();
                (steps, every)
            }
        }
    }

    /// Whether the aliases move gradually.
    pub(crate) fn is_gradual(&self) -> bool {
        *self != TrafficShift::AllAtOnce
    }

    /// Parses the `traffic-shift` input; the error says what is wrong and shows the grammar.
    pub fn parse(value: &str) -> Result<Self, String> {
        let words: Vec<&str> = value.split_whitespace().collect();
        let bad = |why: String| format!("{why}; use {GRAMMAR}");
        match words.as_slice() {
            [w] if w.eq_ignore_ascii_case("all-at-once") => Ok(TrafficShift::AllAtOnce),
            [kind, p, d] if kind.eq_ignore_ascii_case("canary") => {
                let percent = percent(p).map_err(bad)?;
                let hold = duration(d).map_err(bad)?;
                Ok(TrafficShift::Canary { percent, hold })
            }
            [kind, p, every, d]
                if kind.eq_ignore_ascii_case("linear") && every.eq_ignore_ascii_case("every") =>
            {
                let percent = percent(p).map_err(bad)?;
                let every = duration(d).map_err(bad)?;
                Ok(TrafficShift::Linear { percent, every })
            }
            _ => Err(bad(format!("'{}' is not a traffic shift", value.trim()))),
        }
    }
}

/// A CloudWatch alarm as a shift reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Alarm {
    pub name: String,
    /// `OK`, `ALARM` or `INSUFFICIENT_DATA`.
    pub state: String,
    /// What it watches: `Namespace/MetricName`, or the rule of a composite alarm.
    pub metric: String,
    /// Why it is in its state, as CloudWatch says.
    pub reason: String,
}

impl Alarm {
    pub(crate) fn firing(&self) -> bool {
        self.state == "ALARM"
    }
}

fn percent(word: &str) -> Result<u8, String> {
    let Some(n) = word.strip_suffix('%') else {
        return Err(format!(
            "'{word}' is not a percentage: write it with %, e.g. 10%"
        ));
    };
    match n.parse::<u8>() {
        Ok(p) if (1..=99).contains(&p) => Ok(p),
        _ => Err(format!(
            "'{word}' is not a percentage from 1% to 99% (100% is all-at-once)"
        )),
    }
}

fn duration(word: &str) -> Result<Duration, String> {
    let unit = word.chars().last().unwrap_or(' ');
    let n = &word[..word.len() - unit.len_utf8().min(word.len())];
    let secs = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        _ => return Err(format!("'{word}' is not a duration: end it with s, m or h")),
    };
    let d = n
        .parse::<u64>()
        .ok()
        .filter(|n| *n > 0)
        .and_then(|n| n.checked_mul(secs))
        .map(Duration::from_secs);
    match d {
        Some(d) if d <= MAX_STEP => Ok(d),
        Some(_) => Err(format!("'{word}' is longer than a CI job may run (6h)")),
        None => Err(format!(
            "'{word}' is not a duration: give a whole number over 0"
        )),
    }
}

impl fmt::Display for TrafficShift {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrafficShift::AllAtOnce => write!(f, "all-at-once"),
            TrafficShift::Canary { percent, hold } => {
                write!(f, "canary {percent}% {}", show(*hold))
            }
            TrafficShift::Linear { percent, every } => {
                write!(f, "linear {percent}% every {}", show(*every))
            }
        }
    }
}

fn show(d: Duration) -> String {
    let s = d.as_secs();
    if s.is_multiple_of(3600) {
        format!("{}h", s / 3600)
    } else if s.is_multiple_of(60) {
        format!("{}m", s / 60)
    } else {
        format!("{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_forms_parse_and_print_back() {
        for (input, shown) in [
            ("all-at-once", "all-at-once"),
            ("canary 10% 5m", "canary 10% 5m"),
            ("  Canary 25%   30s ", "canary 25% 30s"),
            ("linear 20% every 1h", "linear 20% every 1h"),
            ("linear 1% every 90s", "linear 1% every 90s"),
        ] {
            let s = TrafficShift::parse(input).unwrap();
            assert_eq!(s.to_string(), shown, "{input}");
        }
    }

    #[test]
    fn steps_stop_short_of_all_the_traffic() {
        let linear = TrafficShift::parse("linear 30% every 2s").unwrap();
        assert_eq!(linear.steps(), (vec![30, 60, 90], Duration::from_secs(2)));
        let even = TrafficShift::parse("linear 25% every 1m").unwrap();
        assert_eq!(even.steps().0, vec![25, 50, 75]);
        let canary = TrafficShift::parse("canary 99% 1h").unwrap();
        assert_eq!(canary.steps(), (vec![99], Duration::from_secs(3600)));
        assert_eq!(TrafficShift::AllAtOnce.steps().0, Vec::<u8>::new());
    }

    #[test]
    fn bad_values_say_why_and_show_the_grammar() {
        for (input, why) in [
            ("canary 0% 5m", "from 1% to 99%"),
            ("canary 100% 5m", "from 1% to 99%"),
            ("canary 10 5m", "write it with %"),
            ("canary 10% 5", "end it with s, m or h"),
            ("canary 10% 5é", "end it with s, m or h"),
            ("canary 10% 0s", "a whole number over 0"),
            ("canary 10% 7h", "6h"),
            ("linear 10% 5m", "is not a traffic shift"),
            ("linear 10% each 5m", "is not a traffic shift"),
            ("blue-green", "is not a traffic shift"),
            ("canary 10% 5m extra", "is not a traffic shift"),
        ] {
            let e = TrafficShift::parse(input).unwrap_err();
            assert!(e.contains(why), "{input}: {e}");
            assert!(e.ends_with(&format!("use {GRAMMAR}")), "{input}: {e}");
        }
    }
}
