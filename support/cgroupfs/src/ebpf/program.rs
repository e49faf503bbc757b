//! The device filter: a `BPF_PROG_TYPE_CGROUP_DEVICE` program that returns 1 (allow) when one of
//! its rules covers the access and 0 (deny, `EPERM` to the caller) otherwise.
//!
//! The kernel calls it with `struct bpf_cgroup_dev_ctx { u32 access_type; u32 major; u32 minor; }`
//! in `r1`, where `access_type` is `(BPF_DEVCG_ACC_* << 16) | BPF_DEVCG_DEV_*`. The program is
//! the shape runc and crun generate, written out here:
//!
//! ```text
//!         r2 = ctx->access_type & 0xffff      the device type (1 block, 2 char)
//!         r3 = ctx->access_type >> 16         the access asked for (m 1, r 2, w 4)
//!         r4 = ctx->major
//!         r5 = ctx->minor
//! rule:   if r2 != <type> goto next           (left out for `a`)
//!         r1 = r3; r1 &= <access>
//!         if r1 != r3 goto next               (left out for `rwm`: every access is covered)
//!         if r4 != <major> goto next          (left out for `*`)
//!         if r5 != <minor> goto next          (left out for `*`)
//!         r0 = 1; exit
//! next:   ... one block per rule ...
//!         r0 = 0; exit
//! ```
//!
//! The verifier refuses unreachable instructions, so a rule that checks nothing (`a *:* rwm`)
//! ends the program: nothing after it could run.

use super::insn::{Cond, Insn, R0, R1, R2, R3, R4, R5};
use crate::devices::{DeviceKind, DeviceRule};

/// Offsets in `struct bpf_cgroup_dev_ctx`.
const ACCESS_TYPE: i16 = 0;
const MAJOR: i16 = 4;
const MINOR: i16 = 8;

/// `BPF_DEVCG_DEV_BLOCK` and `BPF_DEVCG_DEV_CHAR`.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;

/// What the program returns.
const ALLOW: i32 = 1;
const DENY: i32 = 0;

/// The program allowing exactly `allow` (in order; the first rule that covers an access allows
/// it) and denying everything else.
pub fn device_filter(allow: &[DeviceRule]) -> Vec<Insn> {
    let mut program = vec![
        Insn::load_u32(R2, R1, ACCESS_TYPE),
        Insn::and32(R2, 0xffff),
        Insn::load_u32(R3, R1, ACCESS_TYPE),
        Insn::rsh32(R3, 16),
        Insn::load_u32(R4, R1, MAJOR),
        Insn::load_u32(R5, R1, MINOR),
    ];
    for rule in allow {
        let Some(checks) = checks(rule) else {
            continue;
        };
        let catch_all = checks.is_empty();
        // Each check jumps past the rest of its block, the two instructions that allow included.
        let len = checks.len() + 2;
        program.extend(checks.iter().enumerate().map(|(i, (insn, to_next))| {
            // A block has at most 7 instructions, so the offset always fits.
            if *to_next { insn.with_off((len - i - 1) as i16) } else { *insn }
        }));
        program.extend([Insn::mov64(R0, ALLOW), Insn::exit()]);
        if catch_all {
            return program;
        }
    }
    program.extend([Insn::mov64(R0, DENY), Insn::exit()]);
    program
}

/// The checks of one rule, each with whether it jumps to the next rule; `None` for a rule no
/// device can match (a number beyond the kernel's 12-bit majors and 20-bit minors, which would
/// not fit the jump's immediate either).
fn checks(rule: &DeviceRule) -> Option<Vec<(Insn, bool)>> {
    let number = |n: Option<u32>| n.map(i32::try_from).transpose().ok();
    let (major, minor) = (number(rule.major)?, number(rule.minor)?);
    let mut checks = Vec::new();
    match rule.kind {
        DeviceKind::All => {}
        DeviceKind::Block => checks.push((Insn::jump_imm(Cond::Ne, R2, DEV_BLOCK, 0), true)),
        DeviceKind::Char => checks.push((Insn::jump_imm(Cond::Ne, R2, DEV_CHAR, 0), true)),
    }
    if rule.access != crate::devices::DeviceAccess::ALL {
        checks.push((Insn::mov32_reg(R1, R3), false));
        checks.push((Insn::and32(R1, i32::from(rule.access.bits())), false));
        checks.push((Insn::jump_reg(Cond::Ne, R1, R3, 0), true));
    }
    if let Some(major) = major {
        checks.push((Insn::jump_imm(Cond::Ne, R4, major, 0), true));
    }
    if let Some(minor) = minor {
        checks.push((Insn::jump_imm(Cond::Ne, R5, minor, 0), true));
    }
    Some(checks)
}

#[cfg(test)]
#[path = "program_tests.rs"]
mod tests;
