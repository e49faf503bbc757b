//! stout's `Duration::parse`, the form of every duration flag of a Mesos agent
//! (`--cgroups_destroy_timeout=60secs`, `--executor_registration_timeout=10mins`): a non-negative
//! decimal number directly followed by one unit. There is no default unit and no short form (`60s`
//! is refused, as stout refuses it), so a value means the same here as on a Mesos agent.

use std::time::Duration;

/// The units stout accepts, with their length in seconds.
const UNITS: [(&str, f64); 8] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("ms", 1e-3),
    ("secs", 1.0),
    ("mins", 60.0),
    ("hrs", 3_600.0),
    ("days", 86_400.0),
    ("weeks", 604_800.0),
];

/// Why a duration text does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Nothing but digits and dots: stout has no default unit.
    #[error(
        "no unit (expected a number followed by ns, us, ms, secs, mins, hrs, days or weeks, e.g. '60secs')"
    )]
    NoUnit,
    /// The part before the unit is not a number (empty, `1.2.3`, a sign).
    #[error("'{0}' is not a non-negative number")]
    Number(String),
    /// A unit stout does not know (`s`, `min`, `hours`).
    #[error("unknown duration unit '{0}' (expected ns, us, ms, secs, mins, hrs, days or weeks)")]
    Unit(String),
    /// More than a `std::time::Duration` holds.
    #[error("'{0}' is out of range")]
    Range(String),
}

/// Parses stout's duration text: `60secs`, `0.5secs`, `10mins`, `100ms`.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).ok_or(DurationError::NoUnit)?;
    let (number, unit) = text.split_at(split);
    let value: f64 = number.parse().map_err(|_| DurationError::Number(number.to_owned()))?;
    let (_, seconds) =
        UNITS.iter().find(|(name, _)| *name == unit).ok_or_else(|| DurationError::Unit(unit.to_owned()))?;
    Duration::try_from_secs_f64(value * seconds).map_err(|_| DurationError::Range(text.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_of_stout() {
        assert_eq!(parse_duration("60secs"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_duration("0.5secs"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("10mins"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("1.5mins"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("250ns"), Ok(Duration::from_nanos(250)));
        assert_eq!(parse_duration("3us"), Ok(Duration::from_micros(3)));
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2hrs"), Ok(Duration::from_secs(7_200)));
        assert_eq!(parse_duration("1days"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("2weeks"), Ok(Duration::from_secs(1_209_600)));
        assert_eq!(parse_duration("0secs"), Ok(Duration::ZERO));
        assert_eq!(parse_duration(".5secs"), Ok(Duration::from_millis(500)));
    }

    #[test]
    fn what_stout_refuses() {
        assert_eq!(parse_duration("60"), Err(DurationError::NoUnit));
        assert_eq!(parse_duration(""), Err(DurationError::NoUnit));
        assert_eq!(parse_duration("60s"), Err(DurationError::Unit("s".into())));
        assert_eq!(parse_duration("1min"), Err(DurationError::Unit("min".into())));
        assert_eq!(parse_duration("10 secs"), Err(DurationError::Unit(" secs".into())));
        assert_eq!(parse_duration("secs"), Err(DurationError::Number(String::new())));
        assert_eq!(parse_duration("-1secs"), Err(DurationError::Number(String::new())));
        assert_eq!(parse_duration("1.2.3secs"), Err(DurationError::Number("1.2.3".into())));
        assert!(matches!(parse_duration("1e300weeks"), Err(DurationError::Unit(_))));
        assert_eq!(
            parse_duration(&format!("{}weeks", "9".repeat(30))),
            Err(DurationError::Range(format!("{}weeks", "9".repeat(30))))
        );
    }

    #[test]
    fn errors_say_what_is_expected() {
        let err = parse_duration("60").unwrap_err().to_string();
        assert!(err.contains("e.g. '60secs'"), "{err}");
        let err = parse_duration("5m").unwrap_err().to_string();
        assert_eq!(err, "unknown duration unit 'm' (expected ns, us, ms, secs, mins, hrs, days or weeks)");
    }
}
