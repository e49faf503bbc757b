//! Sets `AGENT_HARNESS_MULTIARCH`, Debian's multiarch triplet of the target (`x86_64-linux-gnu`):
//! the Debian packages install the suite's module libraries under `/usr/lib/<triplet>/` (see
//! `engine::modules::INSTALLED_MODULES_DIR`, the one place that path is spelled).
//!
//! A Debian build environment's `DEB_HOST_MULTIARCH` wins; otherwise the triplet is derived from
//! Rust's target the way Debian names it (no vendor, `i386` for i686, `arm` for armv7, ...).

fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DEB_HOST_MULTIARCH");
    let target = std::env::var("TARGET").unwrap_or_default();
    let triplet = std::env::var("DEB_HOST_MULTIARCH")
        .ok()
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| debian_multiarch(&target));
    println!("cargo::rustc-env=AGENT_HARNESS_MULTIARCH={triplet}");
}

/// `x86_64-unknown-linux-gnu` -> `x86_64-linux-gnu`, `armv7-unknown-linux-gnueabihf` ->
/// `arm-linux-gnueabihf`, `i686-unknown-linux-gnu` -> `i386-linux-gnu`.
fn debian_multiarch(target: &str) -> String {
    let parts: Vec<&str> = target.split('-').collect();
    let (arch, rest) = match parts.as_slice() {
        [arch, _vendor, os, env @ ..] => {
            (*arch, std::iter::once(*os).chain(env.iter().copied()).collect::<Vec<_>>())
        }
        [arch, rest @ ..] => (*arch, rest.to_vec()),
        [] => ("unknown", Vec::new()),
    };
    let arch = match arch {
        "i386" | "i486" | "i586" | "i686" => "i386",
        a if a.starts_with("arm") => "arm",
        a if a.starts_with("riscv64") => "riscv64",
        a => a,
    };
    std::iter::once(arch).chain(rest).collect::<Vec<_>>().join("-")
}
