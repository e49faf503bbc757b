//! The command's process attributes: rlimits, user, capabilities, `no_new_privs` and the seccomp
//! filter, applied in the command's own process after the helper forks it and right before its
//! `execve`. They belong to the command, not to the helper: the helper stays as the container's
//! init and must keep its descriptors, its privileges and its system calls to reap, forward
//! signals and write the status file (a `RLMT_NOFILE` of 3 or a filter denying `wait4` would
//! otherwise break the init, not the task).
//!
//! [`Attributes::new`] decides everything in the helper, before the fork (names parsed, sets
//! computed, the filter laid out as the kernel takes it), so what runs in the child is a short list
//! of system calls. The order is Mesos's launcher's (`src/slave/containerizer/mesos/launch.cpp`),
//! with the seccomp filter as late as it can be:
//!
//! 1. rlimits (`setrlimit`), as root;
//! 2. the bounding set dropped to the asked set, and the inheritable set made the (new) bounding
//!    set, while the process still holds `CAP_SETPCAP`;
//! 3. the user switch (`setgroups([])`, `setgid`, `setuid`, as std's `Command::uid` does), with
//!    `PR_SET_KEEPCAPS` first when an effective set is asked for, so the permitted set survives it;
//! 4. the effective set becomes the effective, permitted and ambient sets (Mesos's
//!    `calculateCapabilities`): the ambient set is what a non-root command keeps across `execve`;
//!    a root command gets, by the kernel's rules for uid 0, its bounding set back on `execve`,
//!    unless `no_new_privs` is set (then no `execve` adds to the permitted set);
//! 5. `prctl(PR_SET_NO_NEW_PRIVS, 1)`;
//! 6. the seccomp filter, last, so it filters only the command.
//!
//! Without `no_new_privs`, the kernel installs a filter only for a caller with `CAP_SYS_ADMIN`.
//! When the command will not keep it (an effective set without `SYS_ADMIN`, or a non-root user
//! without one), the filter is installed right after the rlimits instead, before any privilege is
//! given up, as Mesos always does and runc does in this case; the filter then also sees steps 2 to
//! 5, and a failure there says so.
//!
//! A step that fails writes what it was doing to the command's stderr (the sandbox's `stderr`),
//! and the error goes back to std's `spawn`, which the init reports as an exec failure (126).

use std::io;
use std::os::unix::process::CommandExt;
use std::process::Command;

use caps::{CapSet, Capability, CapsHashSet};
use module_abi::LaunchRequest;
use nix::unistd::User;
use rlimits::{Limit, RAISE_NEEDS, display};

use crate::spec;

/// Why the attributes cannot be prepared (in the helper, before the fork).
#[derive(Debug, thiserror::Error)]
pub enum AttributeError {
    /// The launch info is invalid (the host's validation should have caught it).
    #[error("{0}")]
    Spec(String),

    /// The helper's own capabilities cannot be read.
    #[error("failed to read the helper's {set} capabilities: {reason}")]
    ReadCapabilities { set: &'static str, reason: String },

    /// The command is to hold capabilities the helper does not have to give.
    #[error("the effective capabilities {missing} are not among the helper's permitted capabilities")]
    NotHeld { missing: String },
}

/// A step the kernel refused, in the child.
#[derive(Debug, thiserror::Error)]
#[error("failed to {step}: {source}{hint}{after}")]
pub struct StepError {
    step: String,
    source: io::Error,
    hint: String,
    /// Said when the seccomp filter was already installed, as it may be what refused.
    after: &'static str,
}

/// The capability changes to make.
#[derive(Debug, Clone)]
struct CapabilityChange {
    /// Bounding-set capabilities to drop.
    drop_bounding: Vec<Capability>,
    /// The inheritable set: the new bounding set (Mesos's launcher forces them equal).
    inheritable: CapsHashSet,
    /// The effective (and permitted, and ambient) set, when asked for.
    effective: Option<CapsHashSet>,
}

/// A seccomp filter as `seccomp(2)` takes it.
#[derive(Debug, Clone)]
struct Filter {
    instructions: Vec<libc::sock_filter>,
    flags: u32,
}

/// The attributes of the command's process, decided before the fork.
#[derive(Debug, Clone)]
pub struct Attributes {
    rlimits: Vec<Limit>,
    /// (uid, gid) to switch to; `None` for no switch.
    user: Option<(libc::uid_t, libc::gid_t)>,
    capabilities: Option<CapabilityChange>,
    no_new_privileges: bool,
    seccomp: Option<Filter>,
    /// Whether the filter goes in before the privileges change (see the module docs).
    seccomp_early: bool,
}

fn read(set: CapSet, name: &'static str) -> Result<CapsHashSet, AttributeError> {
    caps::read(None, set).map_err(|e| AttributeError::ReadCapabilities { set: name, reason: e.to_string() })
}

fn sorted(set: impl IntoIterator<Item = Capability>) -> String {
    let mut names: Vec<String> = set.into_iter().map(|c| c.to_string()).collect();
    names.sort();
    names.join(", ")
}

impl Attributes {
    /// Decides the attributes of `request`'s command, which runs as `user` (the container
    /// config's, looked up by the init) when given.
    pub fn new(request: &LaunchRequest, user: Option<&User>) -> Result<Attributes, AttributeError> {
        let info = &request.launch_info;
        let rlimits = spec::rlimits(&info.rlimits).map_err(AttributeError::Spec)?;
        let asked = spec::capabilities(info).map_err(AttributeError::Spec)?;
        let seccomp = spec::seccomp(info).map_err(AttributeError::Spec)?.map(|program| Filter {
            instructions: program
                .filter
                .iter()
                .map(|i| libc::sock_filter { code: i.code, jt: i.jt, jf: i.jf, k: i.k })
                .collect(),
            flags: program.flags,
        });
        // As Mesos's launcher: no switch to the user the helper already runs as.
        let euid = nix::unistd::geteuid();
        let user = user.filter(|u| u.uid != euid).map(|u| (u.uid.as_raw(), u.gid.as_raw()));
        let no_new_privileges = info.no_new_privileges == Some(true);

        let capabilities = if asked.effective.is_none() && asked.bounding.is_none() {
            None
        } else {
            let current_bounding = read(CapSet::Bounding, "bounding")?;
            // Without a bounding set, the effective set bounds too (Mesos's calculateCapabilities).
            let bounding = asked.bounding.clone().or_else(|| asked.effective.clone()).unwrap_or_default();
            if let Some(effective) = &asked.effective {
                let permitted = read(CapSet::Permitted, "permitted")?;
                let missing: Vec<Capability> = effective.difference(&permitted).copied().collect();
                if !missing.is_empty() {
                    return Err(AttributeError::NotHeld { missing: sorted(missing) });
                }
            }
            let drop_bounding = current_bounding.difference(&bounding).copied().collect();
            // A bounding set only shrinks: the new one is what is asked and still there.
            let inheritable = current_bounding.intersection(&bounding).copied().collect();
            Some(CapabilityChange { drop_bounding, inheritable, effective: asked.effective })
        };

        let keeps_sys_admin = match capabilities.as_ref().and_then(|c| c.effective.as_ref()) {
            Some(effective) => effective.contains(&Capability::CAP_SYS_ADMIN),
            None => {
                user.is_none() && read(CapSet::Effective, "effective")?.contains(&Capability::CAP_SYS_ADMIN)
            }
        };
        let seccomp_early = seccomp.is_some() && !no_new_privileges && !keeps_sys_admin;
        Ok(Attributes { rlimits, user, capabilities, no_new_privileges, seccomp, seccomp_early })
    }

    /// Makes `command` apply the attributes in its process, right before `execve`.
    pub fn install(self, command: &mut Command) {
        // SAFETY: the helper is single-threaded, so the forked child is a full copy of it (no
        // lock held by another thread, allocation works); the closure makes a short list of
        // system calls on data prepared before the fork and, on failure, writes one line to fd 2.
        unsafe {
            command.pre_exec(move || {
                self.apply().map_err(|e| {
                    write_stderr(&format!("mesos-containerizer: {e}\n"));
                    // std hands only the errno back to the parent.
                    e.source
                        .raw_os_error()
                        .map_or_else(|| io::Error::other(e.to_string()), io::Error::from_raw_os_error)
                })
            });
        }
    }

    /// The steps, in the child.
    fn apply(&self) -> Result<(), StepError> {
        let mut after = "";
        for limit in &self.rlimits {
            nix::sys::resource::setrlimit(limit.resource, limit.soft, limit.hard).map_err(|errno| {
                let hint = if errno == nix::errno::Errno::EPERM {
                    format!(" ({RAISE_NEEDS})")
                } else {
                    String::new()
                };
                StepError {
                    step: format!(
                        "set {} to {} (soft) and {} (hard)",
                        limit.name,
                        display(limit.soft),
                        display(limit.hard)
                    ),
                    source: errno.into(),
                    hint,
                    after,
                }
            })?;
        }
        if self.seccomp_early {
            self.install_seccomp()?;
            after = " (the seccomp filter was installed before this step: without no_new_privileges the \
                      command does not keep the CAP_SYS_ADMIN that installing it needs)";
        }
        let caps_error = |step: String, e: caps::errors::CapsError| StepError {
            // caps reports the errno only in its text; the last one is what failed.
            source: io::Error::last_os_error(),
            step,
            hint: format!(" ({e})"),
            after,
        };
        if let Some(change) = &self.capabilities {
            for &capability in &change.drop_bounding {
                caps::drop(None, CapSet::Bounding, capability)
                    .map_err(|e| caps_error(format!("drop {capability} from the bounding set"), e))?;
            }
            caps::set(None, CapSet::Inheritable, &change.inheritable)
                .map_err(|e| caps_error("set the inheritable capabilities".to_owned(), e))?;
        }
        if let Some((uid, gid)) = self.user {
            if self.capabilities.as_ref().is_some_and(|c| c.effective.is_some()) {
                caps::securebits::set_keepcaps(true)
                    .map_err(|e| caps_error("keep capabilities across setuid".to_owned(), e))?;
            }
            // SAFETY: setgroups with a count of 0 reads no memory; setgid and setuid take integers.
            // As std's Command::uid: the supplementary groups go first, EPERM (no CAP_SETGID) ignored.
            unsafe {
                if libc::setgroups(0, std::ptr::null()) != 0
                    && io::Error::last_os_error().raw_os_error() != Some(libc::EPERM)
                {
                    return Err(sys_error("drop the supplementary groups".to_owned(), after));
                }
                if libc::setgid(gid) != 0 {
                    return Err(sys_error(format!("set the group id to {gid}"), after));
                }
                if libc::setuid(uid) != 0 {
                    return Err(sys_error(format!("set the user id to {uid}"), after));
                }
            }
        }
        if let Some(effective) = self.capabilities.as_ref().and_then(|c| c.effective.as_ref()) {
            // Effective first (within the permitted set it shrinks to), then permitted, then the
            // ambient set, which the kernel keeps within permitted and inheritable.
            caps::set(None, CapSet::Effective, effective).map_err(|e| {
                caps_error(
                    format!("set the effective capabilities to {}", sorted(effective.iter().copied())),
                    e,
                )
            })?;
            caps::set(None, CapSet::Permitted, effective)
                .map_err(|e| caps_error("set the permitted capabilities".to_owned(), e))?;
            caps::clear(None, CapSet::Ambient)
                .map_err(|e| caps_error("clear the ambient capabilities".to_owned(), e))?;
            for &capability in effective {
                caps::raise(None, CapSet::Ambient, capability)
                    .map_err(|e| caps_error(format!("raise {capability} in the ambient set"), e))?;
            }
        }
        if self.no_new_privileges {
            // SAFETY: PR_SET_NO_NEW_PRIVS takes integers only.
            if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
                return Err(sys_error("set no_new_privs".to_owned(), after));
            }
        }
        if self.seccomp.is_some() && !self.seccomp_early {
            self.install_seccomp()?;
        }
        Ok(())
    }

    fn install_seccomp(&self) -> Result<(), StepError> {
        let Some(filter) = &self.seccomp else { return Ok(()) };
        let program = libc::sock_fprog {
            // At most 4096 instructions: checked by spec::seccomp.
            len: filter.instructions.len() as u16,
            filter: filter.instructions.as_ptr().cast_mut(),
        };
        // SAFETY: `program` points at `filter.instructions`, alive and unchanged for the call; the
        // kernel copies the program before it returns and never writes through the pointer.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                libc::c_ulong::from(filter.flags),
                &program as *const libc::sock_fprog,
            )
        };
        if rc != 0 {
            return Err(sys_error(
                format!("install the seccomp filter ({} instructions)", filter.instructions.len()),
                "",
            ));
        }
        Ok(())
    }
}

fn sys_error(step: String, after: &'static str) -> StepError {
    StepError { step, source: io::Error::last_os_error(), hint: String::new(), after }
}

/// Writes `line` to fd 2 without std's locks or buffers (this runs in the forked child).
fn write_stderr(line: &str) {
    // SAFETY: the pointer and length are those of `line`, alive for the call.
    let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

#[cfg(test)]
mod tests {
    use module_abi::{
        CommandInfo, ContainerConfig, ContainerId, ContainerLaunchInfo, SeccompProgram, SockFilter,
    };

    use super::*;

    fn request(info: ContainerLaunchInfo) -> LaunchRequest {
        LaunchRequest {
            container_id: ContainerId::new("c1"),
            container_config: ContainerConfig {
                command: CommandInfo { shell: true, value: "true".into(), ..Default::default() },
                directory: "/sandbox".into(),
                ..Default::default()
            },
            launch_info: info,
            attach_output: false,
            inherit_stdio: false,
            release_fifo: None,
        }
    }

    fn names(list: &[&str]) -> Option<Vec<String>> {
        Some(list.iter().map(|n| n.to_string()).collect())
    }

    fn filter() -> Option<SeccompProgram> {
        Some(SeccompProgram {
            filter: vec![SockFilter { code: 0x06, jt: 0, jf: 0, k: libc::SECCOMP_RET_ALLOW }],
            flags: 0,
        })
    }

    /// A user other than the test's, if the passwd database has one.
    fn other_user() -> Option<User> {
        let me = nix::unistd::geteuid();
        ["nobody", "daemon", "root"]
            .iter()
            .find_map(|name| User::from_name(name).ok().flatten().filter(|u| u.uid != me))
    }

    #[test]
    fn nothing_asked_changes_nothing() {
        let attributes = Attributes::new(&request(ContainerLaunchInfo::default()), None).unwrap();
        assert!(
            attributes.rlimits.is_empty()
                && attributes.capabilities.is_none()
                && attributes.seccomp.is_none()
        );
        assert!(!attributes.no_new_privileges && attributes.user.is_none());
    }

    #[test]
    fn an_effective_set_bounds_when_no_bounding_set_is_given() {
        let info = ContainerLaunchInfo { effective_capabilities: names(&[]), ..Default::default() };
        let attributes = Attributes::new(&request(info), None).unwrap();
        let change = attributes.capabilities.unwrap();
        assert_eq!(change.effective, Some(CapsHashSet::new()));
        assert!(change.inheritable.is_empty());
        assert_eq!(change.drop_bounding.len(), caps::read(None, CapSet::Bounding).unwrap().len());
    }

    #[test]
    fn the_filter_goes_last_when_the_command_keeps_what_installing_it_needs() {
        let root = nix::unistd::geteuid().is_root()
            && caps::has_cap(None, CapSet::Effective, Capability::CAP_SYS_ADMIN).unwrap_or(false);
        let with = |nnp: bool, effective: Option<Vec<String>>| ContainerLaunchInfo {
            seccomp: filter(),
            no_new_privileges: nnp.then_some(true),
            effective_capabilities: effective,
            ..Default::default()
        };
        let early = |info: ContainerLaunchInfo, user: Option<&User>| {
            Attributes::new(&request(info), user).map(|a| a.seccomp_early)
        };
        // With no_new_privs: always last.
        assert!(!early(with(true, names(&[])), None).unwrap());
        // Without: early unless the command keeps CAP_SYS_ADMIN.
        if let Some(user) = other_user() {
            assert!(!early(with(true, None), Some(&user)).unwrap());
            assert!(early(with(false, None), Some(&user)).unwrap());
        }
        if root {
            assert!(!early(with(false, None), None).unwrap());
            assert!(early(with(false, names(&["CHOWN"])), None).unwrap());
            assert!(!early(with(false, names(&["SYS_ADMIN"])), None).unwrap());
        }
    }

    #[test]
    fn capabilities_the_helper_lacks_are_refused_before_the_fork() {
        let permitted = caps::read(None, CapSet::Permitted).unwrap();
        let Some(missing) = caps::all().into_iter().find(|c| !permitted.contains(c)) else {
            return; // The helper holds every capability: nothing to refuse.
        };
        let name = missing.to_string().trim_start_matches("CAP_").to_owned();
        let info = ContainerLaunchInfo { effective_capabilities: Some(vec![name]), ..Default::default() };
        let err = Attributes::new(&request(info), None).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("the effective capabilities {missing} are not among the helper's permitted capabilities")
        );
    }
}
