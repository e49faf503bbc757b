//! A classic BPF interpreter for the instructions seccomp filters use, so the unit tests can run
//! a compiled filter against made-up system calls without installing it. It follows the kernel's
//! checker's rules for what it runs (forward jumps only, every path ending in a return) by
//! panicking on anything else: a filter the kernel would refuse fails the test.

use module_abi::SockFilter;

/// The `struct seccomp_data` a filter reads.
#[derive(Debug, Clone, Copy)]
pub struct SeccompData {
    pub nr: i32,
    pub arch: u32,
    pub args: [u64; 6],
}

impl SeccompData {
    /// The 32-bit word at byte `offset` of the struct (little-endian, as on the machines here).
    fn word(&self, offset: u32) -> u32 {
        match offset {
            0 => self.nr as u32,
            4 => self.arch,
            8 | 12 => 0, // instruction_pointer
            16..=63 if offset.is_multiple_of(4) => {
                let arg = self.args[(offset as usize - 16) / 8];
                if offset.is_multiple_of(8) { arg as u32 } else { (arg >> 32) as u32 }
            }
            _ => panic!("load outside struct seccomp_data at {offset}"),
        }
    }
}

/// Runs `program` on `data`; the filter's return value.
pub fn run(program: &[SockFilter], data: &SeccompData) -> u32 {
    let (mut pc, mut a) = (0usize, 0u32);
    loop {
        let insn = program.get(pc).unwrap_or_else(|| panic!("ran off the end of the filter at {pc}"));
        pc += 1;
        let skip = |taken: bool| usize::from(if taken { insn.jt } else { insn.jf });
        match insn.code {
            0x20 => a = data.word(insn.k),       // BPF_LD | BPF_W | BPF_ABS
            0x54 => a &= insn.k,                 // BPF_ALU | BPF_AND | BPF_K
            0x05 => pc += insn.k as usize,       // BPF_JMP | BPF_JA
            0x15 => pc += skip(a == insn.k),     // BPF_JMP | BPF_JEQ | BPF_K
            0x25 => pc += skip(a > insn.k),      // BPF_JMP | BPF_JGT | BPF_K
            0x35 => pc += skip(a >= insn.k),     // BPF_JMP | BPF_JGE | BPF_K
            0x45 => pc += skip(a & insn.k != 0), // BPF_JMP | BPF_JSET | BPF_K
            0x06 => return insn.k,               // BPF_RET | BPF_K
            code => panic!("instruction {code:#x} at {} is not one a seccomp filter here uses", pc - 1),
        }
    }
}
