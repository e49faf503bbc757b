//! A work dir that cannot take a checkpoint: read-only (a read-only bind mount over `meta/`), full
//! from the start (a small tmpfs filled up), and full just after the first checkpoint (which is
//! made to end exactly at a page boundary, so appending the pid after the clone needs a page there
//! is no room for). Each
//! fails the launch with one `Error` line naming the checkpoint directory and the system's reason,
//! the command never runs, and nothing is left: no sandbox, checkpoint or temporary file, cgroup,
//! process or mount.

use std::path::{Path, PathBuf};

use integration::isolators::DEFAULT;
use integration::{Need, Sandbox, Suite, TestResult, ensure};
use nix::mount::{MntFlags, MsFlags, mount, umount2};

fn main() {
    let mut suite = Suite::new();
    let containers = &[Need::Containers];
    suite.test("a_read_only_checkpoint_dir_fails_the_launch_cleanly", containers, read_only);
    suite.test("a_full_work_dir_fails_the_launch_cleanly", containers, full_from_the_start);
    suite.test("a_disk_full_at_the_second_checkpoint_tears_the_launch_down", containers, full_at_the_second);
    suite.run()
}

/// Unmounts `path` when dropped, so a failed test leaves no mount.
struct Mounted(PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = umount2(&self.0, MntFlags::MNT_DETACH);
    }
}

/// A tmpfs of `bytes` at `path`.
fn tmpfs(path: &Path, bytes: usize) -> TestResult<Mounted> {
    std::fs::create_dir_all(path)?;
    let options = format!("size={bytes}");
    mount(Some("tmpfs"), path, Some("tmpfs"), MsFlags::empty(), Some(options.as_str()))
        .map_err(|e| format!("mount a tmpfs at {}: {e}", path.display()))?;
    Ok(Mounted(path.to_path_buf()))
}

/// Fills the file system of `dir` with one file, then frees `pages` pages of it.
fn fill(dir: &Path, pages: u64) -> TestResult {
    use std::io::Write;
    let path = dir.join("filler");
    let mut file = std::fs::File::create(&path)?;
    let page = [0u8; 4096];
    while file.write_all(&page).is_ok() {}
    let len = file.metadata()?.len();
    // A partial last page still holds a whole page: round down, then free the asked pages.
    file.set_len((len / 4096).saturating_sub(pages) * 4096)?;
    Ok(())
}

/// A command that leaves a marker when it runs; `pad` is its `$0`, to size the checkpoint.
fn marking(sandbox: &Sandbox, pad: usize) -> Vec<String> {
    let marker = sandbox.markers().join("ran");
    vec!["sh".into(), "-c".into(), format!("echo ran > {}", marker.display()), "x".repeat(pad)]
}

/// `agent-harness run --work_dir=<work>` of the marking command as container `c1`.
fn run_in(sandbox: &Sandbox, work: &Path) -> TestResult<integration::RunOutput> {
    run_padded(sandbox, work, 0, None)
}

/// [`run_in`] with `pad` bytes of `$0`, and `--test_only_kill_at=STEP` when `kill_at` is given.
fn run_padded(
    sandbox: &Sandbox,
    work: &Path,
    pad: usize,
    kill_at: Option<&str>,
) -> TestResult<integration::RunOutput> {
    let command = marking(sandbox, pad);
    let mut harness = sandbox.harness();
    harness
        .arg("run")
        .arg(sandbox.modules_flag())
        .arg(format!("--work_dir={}", work.display()))
        .arg(format!("--isolation={}", DEFAULT.join(",")))
        .arg("--container_id=c1")
        .arg("--json")
        .args(kill_at.map(|step| format!("--test_only_kill_at={step}")))
        .arg("--")
        .args(&command);
    integration::output(harness)
}

/// The size of container `c1`'s first checkpoint in `work` with `pad`, from a harness killed right
/// after prepare (then recovered, and `work` emptied).
fn first_checkpoint_size(sandbox: &Sandbox, work: &Path, pad: usize) -> TestResult<u64> {
    std::fs::create_dir_all(work)?;
    let killed = run_padded(sandbox, work, pad, Some("prepare"))?;
    ensure!(killed.code.is_none(), "the probe was not killed: {}", killed.stderr);
    let size = std::fs::metadata(work.join("meta/containers/c1.json"))?.len();
    let mut recover = sandbox.harness();
    recover.arg("recover").arg(sandbox.modules_flag()).arg(format!("--work_dir={}", work.display()));
    integration::output(recover)?.expect_success()?;
    std::fs::remove_dir_all(work)?;
    Ok(size)
}

/// Nothing of container `c1` in `work`: no sandbox, and no file in the checkpoint directory.
fn nothing_in(work: &Path) -> TestResult {
    let sandbox = work.join("sandboxes/c1");
    ensure!(!sandbox.exists(), "the sandbox {} is left", sandbox.display());
    let checkpoints = work.join("meta/containers");
    let left: Vec<_> = match std::fs::read_dir(&checkpoints) {
        Ok(entries) => entries.flatten().map(|e| e.file_name()).collect(),
        Err(_) => Vec::new(),
    };
    ensure!(left.is_empty(), "left in {}: {left:?}", checkpoints.display());
    Ok(())
}

fn read_only() -> TestResult {
    let sandbox = Sandbox::new()?;
    let meta = sandbox.work_dir.join("meta");
    std::fs::create_dir_all(meta.join("containers"))?;
    mount(Some(&meta), &meta, None::<&str>, MsFlags::MS_BIND, None::<&str>)
        .map_err(|e| format!("bind: {e}"))?;
    let mounted = Mounted(meta.clone());
    let flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    mount(None::<&str>, &meta, None::<&str>, flags, None::<&str>).map_err(|e| format!("remount ro: {e}"))?;
    let output = run_in(&sandbox, &sandbox.work_dir)?;
    output.expect_one_error(&["cannot checkpoint into '", "meta/containers", "Read-only file system"])?;
    ensure!(!sandbox.markers().join("ran").exists(), "the command ran");
    nothing_in(&sandbox.work_dir)?;
    drop(mounted);
    sandbox.assert_clean()
}

fn full_from_the_start() -> TestResult {
    let sandbox = Sandbox::new()?;
    let work = sandbox.base.join("full");
    let mounted = tmpfs(&work, 256 << 10)?;
    fill(&work, 0)?;
    let output = run_in(&sandbox, &work)?;
    output.expect_one_error(&["cannot checkpoint into '", "meta/containers", "No space left on device"])?;
    ensure!(!sandbox.markers().join("ran").exists(), "the command ran");
    nothing_in(&work)?;
    drop(mounted);
    sandbox.assert_clean()
}

fn full_at_the_second() -> TestResult {
    let sandbox = Sandbox::new()?;
    // Probed in the very directory the tmpfs is mounted on later, so the checkpoint (which names
    // the sandbox) is byte for byte the one of the real run: padded to end at a page boundary.
    let work = sandbox.base.join("full");
    let unpadded = first_checkpoint_size(&sandbox, &work, 0)?;
    let pad = ((4096 - unpadded % 4096) % 4096) as usize;
    let size = first_checkpoint_size(&sandbox, &work, pad)?;
    ensure!(size % 4096 == 0, "the padded checkpoint is {size} bytes, not whole pages");

    let mounted = tmpfs(&work, 256 << 10)?;
    // Room for the first checkpoint only: the pid appended to it needs one more page.
    fill(&work, size / 4096)?;
    let output = run_padded(&sandbox, &work, pad, None)?;
    output.expect_one_error(&[
        "Failed to launch container 'c1'",
        "cannot checkpoint into '",
        "No space left on device",
    ])?;
    ensure!(!sandbox.markers().join("ran").exists(), "the command ran");
    nothing_in(&work)?;
    drop(mounted);
    sandbox.assert_clean()
}
