//! Module kinds and the oldest module-abi version each still accepts.
//!
//! Unlike Mesos, where every kind is pinned to the current release (so every module must be rebuilt
//! for every release), these are real minimums: a kind's minimum moves only when its table or its
//! messages change incompatibly.

use std::ffi::CStr;
use std::fmt;

/// The kinds of module a host knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Isolator,
    Containerizer,
    Anonymous,
    TestModule,
}

impl Kind {
    /// Every kind, in a stable order.
    pub const ALL: [Kind; 4] = [Kind::Isolator, Kind::Containerizer, Kind::Anonymous, Kind::TestModule];

    /// The kind's name as it appears in a descriptor.
    pub const fn c_name(self) -> &'static CStr {
        match self {
            Kind::Isolator => c"Isolator",
            Kind::Containerizer => c"Containerizer",
            Kind::Anonymous => c"Anonymous",
            Kind::TestModule => c"TestModule",
        }
    }

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self.c_name().to_str() {
            Ok(name) => name,
            Err(_) => unreachable!("kind names are ASCII"),
        }
    }

    /// The kind named `name`, if any.
    pub fn from_name(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// The oldest module-abi version a module of this kind may be built against.
    pub const fn minimum_version(self) -> &'static str {
        match self {
            Kind::Isolator | Kind::Containerizer | Kind::Anonymous | Kind::TestModule => "1.0.0",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for kind in Kind::ALL {
            assert_eq!(Kind::from_name(kind.name()), Some(kind));
        }
        assert_eq!(Kind::from_name("Hook"), None);
    }
}
