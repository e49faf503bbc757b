//! eBPF instructions, encoded as the kernel's `struct bpf_insn` (`include/uapi/linux/bpf.h`,
//! `Documentation/bpf/standardization/instruction-set.rst`): an 8-bit opcode, the destination and
//! source registers in one byte, a signed 16-bit offset and a signed 32-bit immediate.
//!
//! Only what a device filter needs is here: 32-bit loads from the context, 32-bit AND, shift and
//! register move, a 64-bit immediate move, conditional jumps against an immediate or a register,
//! and exit. A jump's offset counts instructions from the one after the jump.

/// A register, `r0` (the return value) to `r10` (the frame pointer); `r1` holds the context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reg(pub u8);

pub const R0: Reg = Reg(0);
pub const R1: Reg = Reg(1);
pub const R2: Reg = Reg(2);
pub const R3: Reg = Reg(3);
pub const R4: Reg = Reg(4);
pub const R5: Reg = Reg(5);

// Instruction classes.
const BPF_LDX: u8 = 0x01;
const BPF_ALU: u8 = 0x04;
const BPF_JMP: u8 = 0x05;
const BPF_ALU64: u8 = 0x07;
// Load size and mode.
const BPF_W: u8 = 0x00;
const BPF_MEM: u8 = 0x60;
// Operand source: the immediate or the source register.
const BPF_K: u8 = 0x00;
const BPF_X: u8 = 0x08;
// ALU operations.
const BPF_AND: u8 = 0x50;
const BPF_RSH: u8 = 0x70;
const BPF_MOV: u8 = 0xb0;
// Jump operations.
const BPF_JA: u8 = 0x00;
const BPF_JEQ: u8 = 0x10;
const BPF_JNE: u8 = 0x50;
const BPF_EXIT: u8 = 0x90;

/// A jump condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ne,
}

impl Cond {
    const fn op(self) -> u8 {
        match self {
            Cond::Eq => BPF_JEQ,
            Cond::Ne => BPF_JNE,
        }
    }
}

/// One instruction, laid out as `struct bpf_insn` so a slice of them is what `BPF_PROG_LOAD`
/// reads.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    code: u8,
    /// `dst_reg:4, src_reg:4`: C bit-fields, whose order follows the byte order.
    regs: u8,
    off: i16,
    imm: i32,
}

const _: () = assert!(std::mem::size_of::<Insn>() == 8);

const fn regs(dst: Reg, src: Reg) -> u8 {
    if cfg!(target_endian = "little") { (src.0 << 4) | (dst.0 & 0x0f) } else { (dst.0 << 4) | (src.0 & 0x0f) }
}

impl Insn {
    const fn new(code: u8, dst: Reg, src: Reg, off: i16, imm: i32) -> Insn {
        Insn { code, regs: regs(dst, src), off, imm }
    }

    /// `dst = *(u32 *)(src + off)`.
    pub const fn load_u32(dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(BPF_LDX | BPF_W | BPF_MEM, dst, src, off, 0)
    }

    /// `dst = (u32) dst & imm`.
    pub const fn and32(dst: Reg, imm: i32) -> Insn {
        Insn::new(BPF_ALU | BPF_AND | BPF_K, dst, R0, 0, imm)
    }

    /// `dst = (u32) dst >> imm`.
    pub const fn rsh32(dst: Reg, imm: i32) -> Insn {
        Insn::new(BPF_ALU | BPF_RSH | BPF_K, dst, R0, 0, imm)
    }

    /// `dst = (u32) src`.
    pub const fn mov32_reg(dst: Reg, src: Reg) -> Insn {
        Insn::new(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
    }

    /// `dst = imm` (sign-extended to 64 bits).
    pub const fn mov64(dst: Reg, imm: i32) -> Insn {
        Insn::new(BPF_ALU64 | BPF_MOV | BPF_K, dst, R0, 0, imm)
    }

    /// `if dst <cond> imm goto +off`.
    pub const fn jump_imm(cond: Cond, dst: Reg, imm: i32, off: i16) -> Insn {
        Insn::new(BPF_JMP | cond.op() | BPF_K, dst, R0, off, imm)
    }

    /// `if dst <cond> src goto +off`.
    pub const fn jump_reg(cond: Cond, dst: Reg, src: Reg, off: i16) -> Insn {
        Insn::new(BPF_JMP | cond.op() | BPF_X, dst, src, off, 0)
    }

    /// `goto +off`.
    pub const fn jump(off: i16) -> Insn {
        Insn::new(BPF_JMP | BPF_JA, R0, R0, off, 0)
    }

    /// `return r0`.
    pub const fn exit() -> Insn {
        Insn::new(BPF_JMP | BPF_EXIT, R0, R0, 0, 0)
    }

    /// The same instruction with another jump offset (a jump whose target is known later).
    pub const fn with_off(self, off: i16) -> Insn {
        Insn { off, ..self }
    }

    /// The 8 bytes the kernel reads.
    pub fn to_bytes(self) -> [u8; 8] {
        let mut out = [0; 8];
        out[0] = self.code;
        out[1] = self.regs;
        out[2..4].copy_from_slice(&self.off.to_ne_bytes());
        out[4..8].copy_from_slice(&self.imm.to_ne_bytes());
        out
    }

    /// The opcode, destination, source, offset and immediate (for the tests' interpreter).
    pub fn fields(self) -> (u8, Reg, Reg, i16, i32) {
        let (dst, src) = if cfg!(target_endian = "little") {
            (self.regs & 0x0f, self.regs >> 4)
        } else {
            (self.regs >> 4, self.regs & 0x0f)
        };
        (self.code, Reg(dst), Reg(src), self.off, self.imm)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Encodings as `llvm-objdump -d` and the kernel docs show them (little-endian hosts).
    #[test]
    #[cfg(target_endian = "little")]
    fn encodings_match_the_instruction_set() {
        let cases: [(Insn, [u8; 8]); 10] = [
            // ldxw r2, [r1 + 0]
            (Insn::load_u32(R2, R1, 0), [0x61, 0x12, 0, 0, 0, 0, 0, 0]),
            // ldxw r4, [r1 + 4]
            (Insn::load_u32(R4, R1, 4), [0x61, 0x14, 4, 0, 0, 0, 0, 0]),
            // w2 &= 0xffff
            (Insn::and32(R2, 0xffff), [0x54, 0x02, 0, 0, 0xff, 0xff, 0, 0]),
            // w3 >>= 16
            (Insn::rsh32(R3, 16), [0x74, 0x03, 0, 0, 16, 0, 0, 0]),
            // w1 = w3
            (Insn::mov32_reg(R1, R3), [0xbc, 0x31, 0, 0, 0, 0, 0, 0]),
            // r0 = 1
            (Insn::mov64(R0, 1), [0xb7, 0x00, 0, 0, 1, 0, 0, 0]),
            // if r4 != 136 goto +3
            (Insn::jump_imm(Cond::Ne, R4, 136, 3), [0x55, 0x04, 3, 0, 136, 0, 0, 0]),
            // if r1 != r3 goto +2
            (Insn::jump_reg(Cond::Ne, R1, R3, 2), [0x5d, 0x31, 2, 0, 0, 0, 0, 0]),
            // goto -1 (never emitted, but the offset is signed)
            (Insn::jump(-1), [0x05, 0x00, 0xff, 0xff, 0, 0, 0, 0]),
            // exit
            (Insn::exit(), [0x95, 0, 0, 0, 0, 0, 0, 0]),
        ];
        for (insn, bytes) in cases {
            assert_eq!(insn.to_bytes(), bytes, "{insn:?}");
            // SAFETY: `Insn` is `repr(C)`, 8 bytes of plain integers with no padding (the size
            // is asserted at compile time), so its bytes are initialised and readable.
            let raw: [u8; 8] = unsafe { std::mem::transmute(insn) };
            assert_eq!(raw, bytes, "the in-memory layout is struct bpf_insn's");
        }
        assert_eq!(Insn::jump_imm(Cond::Eq, R1, 0, 7).to_bytes()[0], 0x15);
        assert_eq!(Insn::jump(0).with_off(5).fields().3, 5);
    }
}
