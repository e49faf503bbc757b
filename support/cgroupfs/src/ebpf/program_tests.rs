//! The device filter run in a small interpreter of the instructions it uses, against the rules'
//! own matching, for every combination of kind, number and access that tells rules apart; and the
//! verifier's structural rules (jumps forward and in bounds, no unreachable instruction, every
//! path ends in `exit` with `r0` set).

use super::*;
use crate::devices::{DEFAULT_WHITELIST, DeviceAccess, allowed};

/// Runs `program` on a `bpf_cgroup_dev_ctx` and returns `r0`.
fn run(program: &[Insn], access_type: u32, major: u32, minor: u32) -> u64 {
    let ctx = [access_type, major, minor];
    let mut r = [0u64; 11];
    let mut set = [false; 11];
    set[1] = true;
    let mut pc = 0usize;
    loop {
        let (code, dst, src, off, imm) = program[pc].fields();
        let (d, s) = (dst.0 as usize, src.0 as usize);
        pc += 1;
        let jump = |pc: usize| pc.checked_add_signed(off as isize).expect("jump before the start");
        match code {
            0x61 => {
                assert_eq!(s, 1, "loads only from the context");
                r[d] = u64::from(ctx[usize::try_from(off).expect("offset") / 4]);
            }
            0x54 => r[d] = u64::from(r[d] as u32 & imm as u32),
            0x74 => r[d] = u64::from((r[d] as u32) >> imm),
            0xbc => {
                assert!(set[s], "r{s} read before it was written");
                r[d] = u64::from(r[s] as u32);
            }
            0xb7 => r[d] = imm as i64 as u64,
            0x55 | 0x15 => {
                assert!(set[d], "r{d} read before it was written");
                if (r[d] != imm as i64 as u64) == (code == 0x55) {
                    pc = jump(pc);
                }
            }
            0x5d => {
                if r[d] != r[s] {
                    pc = jump(pc);
                }
            }
            0x05 => pc = jump(pc),
            0x95 => {
                assert!(set[0], "exit without a return value");
                return r[0];
            }
            other => panic!("opcode {other:#04x} is not one the filter uses"),
        }
        if matches!(code, 0x61 | 0x54 | 0x74 | 0xbc | 0xb7) {
            set[d] = true;
        }
    }
}

/// What the verifier checks of the control flow: every jump lands inside the program and goes
/// forward (no loops), every instruction is reachable, and the last one is `exit`.
fn check_structure(program: &[Insn]) {
    let mut reachable = vec![false; program.len()];
    let mut pending = vec![0usize];
    while let Some(pc) = pending.pop() {
        if std::mem::replace(&mut reachable[pc], true) {
            continue;
        }
        let (code, _, _, off, _) = program[pc].fields();
        let next = pc + 1;
        let target = || {
            assert!(off >= 0, "backward jump at {pc}");
            let target = next + off as usize;
            assert!(target < program.len(), "jump out of the program at {pc}");
            target
        };
        match code {
            0x95 => {}
            0x05 => pending.push(target()),
            0x55 | 0x15 | 0x5d => pending.extend([target(), next]),
            _ => pending.push(next),
        }
    }
    let unreachable: Vec<usize> = (0..program.len()).filter(|i| !reachable[*i]).collect();
    assert!(unreachable.is_empty(), "unreachable instructions {unreachable:?}");
    assert_eq!(program.last().map(|i| i.fields().0), Some(0x95));
}

/// Every (kind, major, minor, access) the rules below can tell apart.
fn accesses() -> Vec<(DeviceKind, u32, u32, DeviceAccess)> {
    let (r, w, m) = (DeviceAccess::READ, DeviceAccess::WRITE, DeviceAccess::MKNOD);
    let sets = [r, w, m, r.with(w), r.with(m), w.with(m), DeviceAccess::ALL];
    let mut out = Vec::new();
    for kind in [DeviceKind::Char, DeviceKind::Block] {
        for major in [0, 1, 4, 5, 7, 8, 10, 136, 4095] {
            for minor in [0, 1, 2, 3, 5, 7, 8, 9, 42, 200, (1 << 20) - 1] {
                for access in sets {
                    out.push((kind, major, minor, access));
                }
            }
        }
    }
    out
}

fn access_type(kind: DeviceKind, access: DeviceAccess) -> u32 {
    let kind = match kind {
        DeviceKind::Block => 1,
        DeviceKind::Char => 2,
        DeviceKind::All => unreachable!("the kernel asks about one kind"),
    };
    (u32::from(access.bits()) << 16) | kind
}

fn agrees_with_the_rules(rules: &[DeviceRule]) {
    let program = device_filter(rules);
    check_structure(&program);
    for (kind, major, minor, access) in accesses() {
        let got = run(&program, access_type(kind, access), major, minor);
        let want = u64::from(allowed(rules, kind, major, minor, access));
        assert_eq!(got, want, "{kind:?} {major}:{minor} {access} with {rules:?}");
    }
}

#[test]
fn the_default_whitelist() {
    agrees_with_the_rules(&DEFAULT_WHITELIST);
    // 6 loads; `c *:* m` and `b *:* m` 6 each (type, 3 for the access, 2 to allow); 11 rules of
    // one device 5 each (type, major, minor, allow); `c 136:* rwm` 4; the final deny 2.
    assert_eq!(device_filter(&DEFAULT_WHITELIST).len(), 6 + 12 + 55 + 4 + 2);
}

#[test]
fn edge_lists() {
    let rule = |text: &str| DeviceRule::parse(text).expect("rule");
    agrees_with_the_rules(&[]);
    agrees_with_the_rules(&[rule("a *:* rwm")]);
    agrees_with_the_rules(&[rule("a *:* r"), rule("b 7:* w")]);
    agrees_with_the_rules(&[rule("c 1:3 rwm"), rule("a"), rule("b 8:0 r")]);
    agrees_with_the_rules(&[rule("a 136:* m"), rule("c *:9 rw"), rule("b 4095:1048575 rwm")]);
    // A number no device has: the rule is dropped, and the list still agrees (nothing matches it).
    let huge = DeviceRule::new(DeviceKind::Char, Some(u32::MAX), None, DeviceAccess::ALL);
    agrees_with_the_rules(&[huge, rule("c 1:3 r")]);
}

#[test]
fn a_catch_all_ends_the_program() {
    let program = device_filter(&[DeviceRule::everything(), DEFAULT_WHITELIST[2]]);
    assert_eq!(program.len(), 6 + 2, "{program:?}");
    check_structure(&program);
}
