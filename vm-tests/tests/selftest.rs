//! The guests' first suite: it proves the plumbing (a test binary runs in the guest and its result
//! reaches the runner), and it is how `vm-tests --self-test` and `VM_TESTS_SELFTEST_FAIL=1` make a
//! guest fail on purpose. On the host it passes, like any test.

use std::path::Path;

#[test]
fn guest_selftest() {
    let deliberately_broken = std::env::var("VM_TESTS_SELFTEST_FAIL").is_ok_and(|v| v == "1");
    let sum = if deliberately_broken { 1 + 2 } else { 1 + 1 };
    assert_eq!(sum, 2, "VM_TESTS_SELFTEST_FAIL=1: this assertion is broken on purpose");
    // The binary found itself, so /proc works wherever it runs.
    assert!(Path::new("/proc/self/exe").exists());
}
