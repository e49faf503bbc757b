//! Device access rules, in the kernel's cgroup v1 form (`c 1:3 rwm`), and Mesos's default
//! whitelist.
//!
//! A rule allows one kind of device (`c`haracter, `b`lock or `a`ll), one major and minor number
//! or any (`*`), and some of `r`ead, `w`rite and `m`knod. An access is allowed when one rule
//! covers all of it (`security/device_cgroup.c`, `match_exception`); everything else is denied.
//! The same rules become v1 `devices.allow` lines ([`crate::V1Cgroup`]) and an eBPF program on
//! v2 ([`crate::ebpf`]).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The kind of device a rule is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DeviceKind {
    /// `a`: character and block devices.
    All,
    /// `c`: character devices.
    Char,
    /// `b`: block devices.
    Block,
}

impl DeviceKind {
    fn letter(self) -> char {
        match self {
            DeviceKind::All => 'a',
            DeviceKind::Char => 'c',
            DeviceKind::Block => 'b',
        }
    }
}

/// A set of `r`, `w`, `m`. The bits are the kernel's `BPF_DEVCG_ACC_*` (`include/uapi/linux/bpf.h`),
/// so the eBPF program compares them as they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceAccess(u8);

impl DeviceAccess {
    /// `m`: create the device node with `mknod(2)`.
    pub const MKNOD: DeviceAccess = DeviceAccess(1);
    /// `r`: open it for reading.
    pub const READ: DeviceAccess = DeviceAccess(2);
    /// `w`: open it for writing.
    pub const WRITE: DeviceAccess = DeviceAccess(4);
    /// `rwm`.
    pub const ALL: DeviceAccess = DeviceAccess(7);

    /// The union of two sets.
    pub const fn with(self, other: DeviceAccess) -> DeviceAccess {
        DeviceAccess(self.0 | other.0)
    }

    /// Whether every access of `other` is in `self`.
    pub const fn covers(self, other: DeviceAccess) -> bool {
        other.0 & !self.0 == 0
    }

    /// The `BPF_DEVCG_ACC_*` bits.
    pub const fn bits(self) -> u8 {
        self.0
    }
}

impl fmt::Display for DeviceAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (access, letter) in [(Self::READ, 'r'), (Self::WRITE, 'w'), (Self::MKNOD, 'm')] {
            if self.covers(access) {
                write!(f, "{letter}")?;
            }
        }
        Ok(())
    }
}

/// Why a rule's text did not parse; the message quotes it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RuleParseError(String);

/// One allowed kind, major, minor and access; `None` is `*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DeviceRule {
    pub kind: DeviceKind,
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: DeviceAccess,
}

impl DeviceRule {
    /// A rule; `None` stands for any major or minor.
    pub const fn new(kind: DeviceKind, major: Option<u32>, minor: Option<u32>, access: DeviceAccess) -> Self {
        DeviceRule { kind, major, minor, access }
    }

    /// `a *:* rwm`: every device, every access (the v1 root's whitelist, and what `deny` of it
    /// removes).
    pub const fn everything() -> DeviceRule {
        DeviceRule::new(DeviceKind::All, None, None, DeviceAccess::ALL)
    }

    /// Whether this rule covers `access` to the device `kind` `major`:`minor` (`kind` is
    /// [`DeviceKind::Char`] or [`DeviceKind::Block`], as the kernel asks).
    pub fn allows(&self, kind: DeviceKind, major: u32, minor: u32, access: DeviceAccess) -> bool {
        (self.kind == DeviceKind::All || self.kind == kind)
            && self.major.is_none_or(|m| m == major)
            && self.minor.is_none_or(|m| m == minor)
            && self.access.covers(access)
    }

    /// Parses the kernel's form (`c 1:3 rwm`, `b *:* m`, `a`), as v1 `devices.list` shows it.
    pub fn parse(text: &str) -> Result<DeviceRule, RuleParseError> {
        Self::parse_text(text).map_err(RuleParseError)
    }

    fn parse_text(text: &str) -> Result<DeviceRule, String> {
        let mut fields = text.split_whitespace();
        let kind = match fields.next() {
            Some("a") => DeviceKind::All,
            Some("c") => DeviceKind::Char,
            Some("b") => DeviceKind::Block,
            _ => return Err(format!("'{text}' does not start with a, b or c")),
        };
        let (numbers, access) = (fields.next(), fields.next());
        if kind == DeviceKind::All && numbers.is_none() {
            return Ok(DeviceRule::everything());
        }
        let number = |n: &str| match n {
            "*" => Ok(None),
            n => n.parse().map(Some).map_err(|_| format!("'{text}' has a bad device number '{n}'")),
        };
        let (major, minor) =
            numbers.and_then(|n| n.split_once(':')).ok_or_else(|| format!("'{text}' has no major:minor"))?;
        let mut bits = DeviceAccess(0);
        for letter in access.ok_or_else(|| format!("'{text}' has no access"))?.chars() {
            bits = bits.with(match letter {
                'r' => DeviceAccess::READ,
                'w' => DeviceAccess::WRITE,
                'm' => DeviceAccess::MKNOD,
                _ => return Err(format!("'{text}' has a bad access '{letter}'")),
            });
        }
        if fields.next().is_some() {
            return Err(format!("'{text}' has more than three fields"));
        }
        Ok(DeviceRule::new(kind, number(major)?, number(minor)?, bits))
    }
}

impl fmt::Display for DeviceRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let number = |n: Option<u32>| n.map_or("*".to_owned(), |n| n.to_string());
        write!(f, "{} {}:{} {}", self.kind.letter(), number(self.major), number(self.minor), self.access)
    }
}

const fn char_dev(major: u32, minor: Option<u32>) -> DeviceRule {
    DeviceRule::new(DeviceKind::Char, Some(major), minor, DeviceAccess::ALL)
}

/// Mesos's `DEFAULT_WHITELIST_ENTRIES`, in its order, the same for cgroup v1 and v2
/// (`src/slave/containerizer/mesos/isolators/cgroups/subsystems/devices.cpp` and
/// `.../cgroups2/controllers/devices.cpp`): `mknod` of any character or block device, and full
/// access to the console, ttys, ptys, `/dev/net/tun` and the memory devices a process expects
/// (null, zero, full, random, urandom). Everything else, for example the loop devices (`b 7:*`)
/// or `/dev/mem` (`c 1:1`), is denied.
pub const DEFAULT_WHITELIST: [DeviceRule; 14] = [
    DeviceRule::new(DeviceKind::Char, None, None, DeviceAccess::MKNOD), // c *:* m
    DeviceRule::new(DeviceKind::Block, None, None, DeviceAccess::MKNOD), // b *:* m
    char_dev(5, Some(1)),                                               // /dev/console
    char_dev(4, Some(0)),                                               // /dev/tty0
    char_dev(4, Some(1)),                                               // /dev/tty1
    char_dev(136, None),                                                // /dev/pts/*
    char_dev(5, Some(2)),                                               // /dev/ptmx
    char_dev(10, Some(200)),                                            // /dev/net/tun
    char_dev(1, Some(3)),                                               // /dev/null
    char_dev(1, Some(5)),                                               // /dev/zero
    char_dev(1, Some(7)),                                               // /dev/full
    char_dev(5, Some(0)),                                               // /dev/tty
    char_dev(1, Some(9)),                                               // /dev/urandom
    char_dev(1, Some(8)),                                               // /dev/random
];

/// Whether any of `rules` allows the access.
pub fn allowed(rules: &[DeviceRule], kind: DeviceKind, major: u32, minor: u32, access: DeviceAccess) -> bool {
    rules.iter().any(|rule| rule.allows(kind, major, minor, access))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Mesos's list, verbatim.
    const MESOS: [&str; 14] = [
        "c *:* m",
        "b *:* m",
        "c 5:1 rwm",
        "c 4:0 rwm",
        "c 4:1 rwm",
        "c 136:* rwm",
        "c 5:2 rwm",
        "c 10:200 rwm",
        "c 1:3 rwm",
        "c 1:5 rwm",
        "c 1:7 rwm",
        "c 5:0 rwm",
        "c 1:9 rwm",
        "c 1:8 rwm",
    ];

    #[test]
    fn the_default_whitelist_is_mesos_s() {
        let ours: Vec<String> = DEFAULT_WHITELIST.iter().map(ToString::to_string).collect();
        assert_eq!(ours, MESOS);
        for (rule, text) in DEFAULT_WHITELIST.iter().zip(MESOS) {
            assert_eq!(DeviceRule::parse(text).as_ref(), Ok(rule));
        }
    }

    #[test]
    fn what_the_default_whitelist_allows() {
        use DeviceKind::{Block, Char};
        let (r, w, m) = (DeviceAccess::READ, DeviceAccess::WRITE, DeviceAccess::MKNOD);
        let ok = |kind, major, minor, access| allowed(&DEFAULT_WHITELIST, kind, major, minor, access);
        assert!(ok(Char, 1, 3, r.with(w)), "/dev/null read-write");
        assert!(ok(Char, 136, 42, r), "any pty");
        assert!(ok(Block, 7, 0, m), "mknod of a loop device");
        assert!(!ok(Block, 7, 0, r), "reading a loop device");
        assert!(!ok(Char, 1, 1, r), "/dev/mem");
        assert!(!ok(Char, 4, 2, w), "tty2");
    }

    #[test]
    fn parse_and_display() {
        assert_eq!(DeviceRule::parse("a").unwrap(), DeviceRule::everything());
        assert_eq!(DeviceRule::parse("a *:* rwm").unwrap(), DeviceRule::everything());
        assert_eq!(DeviceRule::everything().to_string(), "a *:* rwm");
        let rule = DeviceRule::parse("b 8:* rw").unwrap();
        assert_eq!(
            rule,
            DeviceRule::new(DeviceKind::Block, Some(8), None, DeviceAccess::READ.with(DeviceAccess::WRITE))
        );
        for bad in ["", "x 1:3 rwm", "c 1 rwm", "c 1:3", "c 1:3 rwx", "c a:3 r", "c 1:3 r extra"] {
            assert!(DeviceRule::parse(bad).is_err(), "{bad:?}");
        }
    }
}
