//! Byte counts in stout's `Bytes` text, as Mesos prints and parses them: the largest unit that
//! loses nothing (`0B`, `513B`, `10KB`, `20MB`, `1GB`, `2TB`), and a number followed by `B`,
//! `KB`, `MB`, `GB` or `TB` for the `--xfs_quota_headroom` flag.

use module_params::ValueError;

const KB: u64 = 1024;
const MB: u64 = 1024 * KB;
const GB: u64 = 1024 * MB;
const TB: u64 = 1024 * GB;

/// `bytes` as stout's `operator<<(Bytes)` writes it (used in Mesos's limitation messages).
pub fn format_bytes(bytes: u64) -> String {
    match bytes {
        0 => "0B".to_owned(),
        b if b % KB != 0 => format!("{b}B"),
        b if b % MB != 0 => format!("{}KB", b / KB),
        b if b % GB != 0 => format!("{}MB", b / MB),
        b if b % TB != 0 => format!("{}GB", b / GB),
        b => format!("{}TB", b / TB),
    }
}

/// stout's `Bytes::parse`: digits (and a `.`) then a unit.
pub fn parse_bytes(text: &str) -> Result<u64, ValueError> {
    let split = text.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| ValueError::Other(format!("expected a number of bytes such as '10MB', got '{text}'")))?;
    let scale = match unit {
        "B" => 1,
        "KB" => KB,
        "MB" => MB,
        "GB" => GB,
        "TB" => TB,
        _ => return Err(ValueError::Other(format!("unknown unit '{unit}' (expected B, KB, MB, GB or TB)"))),
    };
    Ok((value * scale as f64) as u64)
}

/// Megabytes (Mesos's unit of the `disk` resource) as bytes.
pub fn mb_to_bytes(mb: f64) -> u64 {
    (mb * MB as f64) as u64
}

/// Bytes as (fractional) megabytes, for a limitation's `disk` resource.
pub fn bytes_to_mb(bytes: u64) -> f64 {
    bytes as f64 / MB as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_stout() {
        assert_eq!(format_bytes(0), "0B");
        assert_eq!(format_bytes(513), "513B");
        assert_eq!(format_bytes(10 * KB), "10KB");
        assert_eq!(format_bytes(MB + KB), "1025KB");
        assert_eq!(format_bytes(20 * MB), "20MB");
        assert_eq!(format_bytes(GB), "1GB");
        assert_eq!(format_bytes(2 * TB), "2TB");
    }

    #[test]
    fn parses_like_stout() {
        assert_eq!(parse_bytes("10MB").unwrap(), 10 * MB);
        assert_eq!(parse_bytes("0B").unwrap(), 0);
        assert_eq!(parse_bytes("1.5KB").unwrap(), 1536);
        assert_eq!(parse_bytes("2GB").unwrap(), 2 * GB);
        for bad in ["", "10", "MB", "-1MB", "10mb", "10 MB"] {
            assert!(parse_bytes(bad).is_err(), "{bad}");
        }
    }
}
