//! ABI call overhead: the same no-op `Isolator` methods of `org_apache_mesos_NoopIsolator`, called
//! directly through the Rust trait and through the loaded `libnoopisolator.so` (JSON request,
//! the call through the kind table, `catch_unwind` in the module, JSON reply, freeing it).
//!
//! `bench/run` runs this with `cargo bench -p bench --bench abi` and reads criterion's estimates
//! from `<target>/criterion/abi/*/new/estimates.json`.

use std::hint::black_box;
use std::path::PathBuf;

use agent_harness::{IsolatorHandle, ManifestSource, ModuleManager, SourcedManifest};
use criterion::{Criterion, criterion_group, criterion_main};
use module_abi::{ContainerId, Isolator, Module};
use noopisolator::NoopIsolator;

/// `libnoopisolator.so` of this build: `$NOOP_ISOLATOR_LIB`, else next to the target directory's
/// profile folder (`cargo build --workspace` puts it there) or in its `deps`.
fn library() -> PathBuf {
    if let Some(path) = std::env::var_os("NOOP_ISOLATOR_LIB") {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("the bench's own path");
    let deps = exe.parent().expect("the bench is in <profile>/deps").to_path_buf();
    let profile = deps.parent().expect("deps is in a profile folder").to_path_buf();
    [profile.join("libnoopisolator.so"), deps.join("libnoopisolator.so")]
        .into_iter()
        .find(|p| p.exists())
        .expect("libnoopisolator.so is built (cargo build --release --workspace)")
}

fn loaded() -> IsolatorHandle {
    let json = format!(
        r#"{{"libraries": [{{"file": "{}", "modules": [{{"name": "org_apache_mesos_NoopIsolator"}}]}}]}}"#,
        library().display()
    );
    let manifest = agent_harness::manifest::parse(&json).expect("a valid manifest");
    let mut manager = ModuleManager::new();
    manager.load(&SourcedManifest { source: ManifestSource::Inline, manifest }).expect("the library loads");
    let handle = manager.create::<IsolatorHandle>("org_apache_mesos_NoopIsolator", None).expect("created");
    // Libraries are never unloaded; the handle keeps what it needs.
    std::mem::forget(manager);
    handle
}

fn abi(c: &mut Criterion) {
    let direct = NoopIsolator::create(Vec::new()).expect("created");
    let through_abi = loaded();
    let id = ContainerId::new("0b9d7b4e-2f1c-4a43-9a53-1f8f0c6f2f11");
    let mut group = c.benchmark_group("abi");
    group.bench_function("isolate-direct", |b| {
        b.iter(|| black_box(&direct).isolate(black_box(&id), black_box(4242)))
    });
    group.bench_function("isolate-abi", |b| {
        b.iter(|| black_box(&through_abi).isolate(black_box(&id), black_box(4242)))
    });
    group.bench_function("usage-direct", |b| b.iter(|| black_box(&direct).usage(black_box(&id))));
    group.bench_function("usage-abi", |b| b.iter(|| black_box(&through_abi).usage(black_box(&id))));
    group.finish();
}

criterion_group!(benches, abi);
criterion_main!(benches);
