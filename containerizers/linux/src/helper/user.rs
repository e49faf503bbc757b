//! Who the command runs as: the launch info's `user`, else the container config's (Mesos takes it
//! from `CommandInfo.user`, the harness from `run --user`), resolved in the helper after it
//! entered the rootfs, so a name is looked up in the container's own `/etc/passwd` and
//! `/etc/group`, as runc and Mesos do.
//!
//! The user is a name or a numeric `uid[:gid]` ([`crate::spec::parse_user`]). A name must be in
//! the passwd database; a numeric uid need not be, nor the database exist (runc's rule: then its
//! group is `gid`, else 0).
//! The supplementary groups are the user's groups from the group database (`getgrouplist`, its
//! primary group included) followed by the launch info's `supplementary_groups`, each once, as
//! Mesos's launcher sets them.

use std::ffi::CString;

use nix::errno::Errno;
use nix::unistd::{Gid, Uid, User, getgrouplist};

use crate::spec::UserSpec;

/// The resolved identity of the command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub uid: libc::uid_t,
    pub gid: libc::gid_t,
    /// The supplementary groups, in order, without repeats.
    pub groups: Vec<libc::gid_t>,
}

/// Resolves `spec` with the extra `supplementary` groups.
pub fn resolve(spec: &UserSpec, supplementary: &[u32]) -> Result<Identity, String> {
    let (uid, gid, name) = match spec {
        UserSpec::Name(name) => {
            let user = User::from_name(name)
                .map_err(|e| format!("failed to look up user '{name}': {e}"))?
                .ok_or_else(|| format!("unknown user '{name}' (not in the container's /etc/passwd)"))?;
            (user.uid.as_raw(), user.gid.as_raw(), Some(user.name))
        }
        UserSpec::Numeric { uid, gid } => {
            // A rootfs without /etc/passwd (ENOENT from the lookup) has no entry for any uid.
            let user = match User::from_uid(Uid::from_raw(*uid)) {
                Err(Errno::ENOENT) => None,
                found => found.map_err(|e| format!("failed to look up uid {uid}: {e}"))?,
            };
            let default_gid = user.as_ref().map_or(0, |u| u.gid.as_raw());
            (*uid, gid.unwrap_or(default_gid), user.map(|u| u.name))
        }
    };
    let mut groups: Vec<libc::gid_t> = match &name {
        Some(name) => {
            let c_name =
                CString::new(name.as_str()).map_err(|_| format!("user name '{name}' holds a NUL"))?;
            getgrouplist(&c_name, Gid::from_raw(gid))
                .map_err(|e| format!("failed to list the groups of user '{name}': {e}"))?
                .into_iter()
                .map(Gid::as_raw)
                .collect()
        }
        None => vec![gid],
    };
    for &group in supplementary {
        if !groups.contains(&group) {
            groups.push(group);
        }
    }
    Ok(Identity { uid, gid, groups })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_by_name_and_number() {
        let by_name = resolve(&UserSpec::Name("root".into()), &[]).unwrap();
        assert_eq!((by_name.uid, by_name.gid), (0, 0));
        assert!(by_name.groups.contains(&0));
        let by_number = resolve(&UserSpec::Numeric { uid: 0, gid: None }, &[]).unwrap();
        assert_eq!(by_number, by_name);
    }

    #[test]
    fn unknown_numeric_users_get_their_gid_or_zero_and_extra_groups_once() {
        let uid = 4_000_000;
        let got = resolve(&UserSpec::Numeric { uid, gid: Some(123) }, &[7, 123, 7]).unwrap();
        assert_eq!(got, Identity { uid, gid: 123, groups: vec![123, 7] });
        let got = resolve(&UserSpec::Numeric { uid, gid: None }, &[]).unwrap();
        assert_eq!((got.gid, got.groups), (0, vec![0]));
    }

    #[test]
    fn unknown_names_are_refused() {
        let err = resolve(&UserSpec::Name("no-such-user-here".into()), &[]).unwrap_err();
        assert_eq!(err, "unknown user 'no-such-user-here' (not in the container's /etc/passwd)");
    }
}
