//! A container's attached output through the real `agent-harness run`: the caller gets every
//! byte, in order, appended where its descriptor points (a file opened for appending, a pipe whose
//! reader is slow, a unix socket, a terminal), a slow reader loses nothing, a reader that went away
//! stops only the copy, the exit status is the command's, and the sandbox's `stdout` and `stderr`
//! files hold everything in every case.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use integration::isolators::DEFAULT;
use integration::{
    HARNESS_TIMEOUT, Need, Sandbox, Suite, TestResult, ensure, wait_output, wait_output_bytes,
};

/// 20 MB (decimal, as `head -c 20000000`), far more than any pipe or socket buffer.
const LARGE: usize = 20_000_000;

fn main() {
    let mut suite = Suite::new();
    let c = &[Need::Containers];
    suite.test("appends_to_a_file_that_already_holds_data", c, appends_to_a_file_that_already_holds_data);
    suite.test(
        "keeps_the_order_of_a_shell_appending_around_it",
        c,
        keeps_the_order_of_a_shell_appending_around_it,
    );
    suite.test("a_pipe_read_after_3_s_gets_all_20_MB", c, a_pipe_read_after_3_s_gets_all_20_mb);
    suite.test("a_unix_socket_gets_the_output", c, a_unix_socket_gets_the_output);
    suite.test("a_terminal_gets_the_output", c, a_terminal_gets_the_output);
    suite.test("large_binary_stdout_arrives_intact", c, || large_binary_output_arrives_intact(Which::Stdout));
    suite.test("large_binary_stderr_arrives_intact", c, || large_binary_output_arrives_intact(Which::Stderr));
    suite.test("a_reader_that_went_away_stops_only_the_copy", c, a_reader_that_went_away_stops_only_the_copy);
    suite.test("the_helper_s_messages_reach_the_caller", c, the_helper_s_messages_reach_the_caller);
    suite.test("json_keeps_the_output_in_the_sandbox", c, json_keeps_the_output_in_the_sandbox);
    suite.test("info_logs_the_lifecycle_on_stderr_only", c, info_logs_the_lifecycle_on_stderr_only);
    suite.test("rust_log_logs_beside_the_json", c, rust_log_logs_beside_the_json);
    suite.test("the_default_level_logs_nothing", c, the_default_level_logs_nothing);
    suite.run()
}

/// `agent-harness run --container_id=<id> -- command`, attached, with the default isolation.
fn run(sandbox: &Sandbox, id: &str, command: &[&str]) -> Command {
    sandbox.run_command(DEFAULT, &[&format!("--container_id={id}")], command)
}

/// A sandbox file of container `id` (`stdout` or `stderr`).
fn sandbox_file(sandbox: &Sandbox, id: &str, name: &str) -> TestResult<Vec<u8>> {
    let path = sandbox.sandbox_dir(id).join(name);
    std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()).into())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads `fd` until its writers are gone (end of file, or `EIO` for a terminal's master), with
/// no wait longer than `HARNESS_TIMEOUT` for more.
fn read_until_closed(fd: OwnedFd) -> std::thread::JoinHandle<Result<Vec<u8>, String>> {
    std::thread::spawn(move || {
        let mut file = File::from(fd);
        let mut bytes = Vec::new();
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            let mut fds = [nix::poll::PollFd::new(file.as_fd(), nix::poll::PollFlags::POLLIN)];
            let timeout = nix::poll::PollTimeout::try_from(HARNESS_TIMEOUT).map_err(|e| e.to_string())?;
            match nix::poll::poll(&mut fds, timeout) {
                Ok(0) => return Err(format!("nothing more within {HARNESS_TIMEOUT:?}")),
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(e.to_string()),
            }
            match file.read(&mut buffer) {
                Ok(0) => return Ok(bytes),
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) if e.raw_os_error() == Some(libc::EIO) => return Ok(bytes),
                Err(e) => return Err(e.to_string()),
            }
        }
    })
}

/// The SHA-256 of `bytes` in hex, by the machine's own `sha256sum` (coreutils, or busybox in the
/// vm-tests guests): computed on the receiving end, independently of the container.
fn sha256(bytes: Vec<u8>) -> TestResult<String> {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot run sha256sum: {e}"))?;
    let mut stdin = child.stdin.take().ok_or("no stdin")?;
    let writer = std::thread::spawn(move || stdin.write_all(&bytes));
    let out = child.wait_with_output()?;
    writer.join().map_err(|_| "the writer panicked")??;
    ensure!(out.status.success(), "sha256sum failed: {}", out.status);
    first_word(&out.stdout)
}

fn first_word(bytes: &[u8]) -> TestResult<String> {
    let word = text(bytes).split_whitespace().next().unwrap_or_default().to_owned();
    ensure!(word.len() == 64, "not a SHA-256: {:?}", text(bytes));
    Ok(word)
}

fn appends_to_a_file_that_already_holds_data() -> TestResult {
    let sandbox = Sandbox::new()?;
    let log = sandbox.base.join("log");
    std::fs::write(&log, "old data, longer than the new\n")?;
    let mut command = run(&sandbox, "c1", &["sh", "-c", "echo NEW; echo oops >&2; exit 7"]);
    command.stdout(OpenOptions::new().append(true).open(&log)?).stderr(Stdio::piped());
    let out = wait_output_bytes(command.spawn()?, HARNESS_TIMEOUT)?;
    drop(command);
    ensure!(out.code == Some(7), "exit {:?}, not the command's 7; stderr {:?}", out.code, text(&out.stderr));
    let logged = std::fs::read_to_string(&log)?;
    ensure!(logged == "old data, longer than the new\nNEW\n", "the log holds {logged:?}");
    ensure!(out.stderr == b"oops\n", "stderr {:?}", text(&out.stderr));
    ensure!(sandbox_file(&sandbox, "c1", "stdout")? == b"NEW\n", "the sandbox's stdout is not complete");
    ensure!(sandbox_file(&sandbox, "c1", "stderr")? == b"oops\n", "the sandbox's stderr is not complete");
    sandbox.assert_clean()
}

/// `(echo before; agent-harness run -- echo X; echo after) >> log`: the three share one open
/// file description, so each writes where the one before stopped.
fn keeps_the_order_of_a_shell_appending_around_it() -> TestResult {
    let sandbox = Sandbox::new()?;
    let log = sandbox.base.join("log");
    let harness = run(&sandbox, "c1", &["echo", "X"]);
    let mut shell = Command::new("sh");
    shell
        .arg("-c")
        .arg(r#"log=$1; shift; (echo before; "$@"; echo after) >> "$log""#)
        .arg("sh")
        .arg(&log)
        .arg(harness.get_program())
        .args(harness.get_args())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = wait_output(shell.spawn()?, HARNESS_TIMEOUT)?;
    out.expect_success()?;
    let logged = std::fs::read_to_string(&log)?;
    ensure!(logged == "before\nX\nafter\n", "the log holds {logged:?}");
    ensure!(sandbox_file(&sandbox, "c1", "stdout")? == b"X\n", "the sandbox's stdout is not complete");
    sandbox.assert_clean()
}

/// A reader that starts reading only 3 s after the start still gets every byte: the harness waits
/// for it, and the container (long finished) did not.
fn a_pipe_read_after_3_s_gets_all_20_mb() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut command = run(&sandbox, "c1", &["head", "-c", &LARGE.to_string(), "/dev/zero"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let started = Instant::now();
    let reader = std::thread::spawn(move || -> std::io::Result<(usize, bool)> {
        std::thread::sleep(Duration::from_secs(3));
        let (mut count, mut zeros) = (0, true);
        let mut buffer = vec![0u8; 64 * 1024];
        loop {
            match stdout.read(&mut buffer)? {
                0 => return Ok((count, zeros)),
                n => {
                    zeros &= buffer[..n].iter().all(|b| *b == 0);
                    count += n;
                }
            }
        }
    });
    let out = wait_output_bytes(child, HARNESS_TIMEOUT)?;
    let (count, zeros) = reader.join().map_err(|_| "the reader panicked")??;
    ensure!(started.elapsed() >= Duration::from_secs(3), "the harness ended before the reader read");
    ensure!(out.code == Some(0), "exit {:?}; stderr {:?}", out.code, text(&out.stderr));
    ensure!(count == LARGE, "the reader got {count} bytes, not {LARGE}");
    ensure!(zeros, "the reader got bytes that are not the command's zeros");
    let file = sandbox_file(&sandbox, "c1", "stdout")?;
    ensure!(file.len() == LARGE, "the sandbox's stdout holds {} bytes", file.len());
    sandbox.assert_clean()
}

/// A socket cannot be reopened through /proc, so only a copy to the descriptor itself reaches it
/// (as under a service manager whose journal is a socket).
fn a_unix_socket_gets_the_output() -> TestResult {
    let sandbox = Sandbox::new()?;
    let (ours, theirs) = UnixStream::pair()?;
    let mut command = run(&sandbox, "c1", &["sh", "-c", "echo via-socket; echo oops >&2; exit 3"]);
    command.stdout(OwnedFd::from(theirs)).stderr(Stdio::piped());
    let child = command.spawn()?;
    // Our copy of the harness's end, so the socket ends when the harness does.
    drop(command);
    let received = read_until_closed(OwnedFd::from(ours));
    let out = wait_output_bytes(child, HARNESS_TIMEOUT)?;
    let received = received.join().map_err(|_| "the reader panicked")??;
    ensure!(out.code == Some(3), "exit {:?}, not the command's 3; stderr {:?}", out.code, text(&out.stderr));
    ensure!(received == b"via-socket\n", "the socket got {:?}", text(&received));
    ensure!(out.stderr == b"oops\n", "stderr {:?}", text(&out.stderr));
    ensure!(sandbox_file(&sandbox, "c1", "stdout")? == b"via-socket\n", "the sandbox's stdout");
    ensure!(sandbox_file(&sandbox, "c1", "stderr")? == b"oops\n", "the sandbox's stderr");
    sandbox.assert_clean()
}

/// The harness's stdout a terminal (a pty's slave): the output shows on the master, every line of
/// it (with the terminal's own `\r\n`), more than the terminal buffers.
fn a_terminal_gets_the_output() -> TestResult {
    let sandbox = Sandbox::new()?;
    let pty = nix::pty::openpty(None, None)?;
    let script =
        "i=0; while [ $i -lt 3000 ]; do echo \"line $i of the terminal test\"; i=$((i+1)); done; exit 5";
    let mut command = run(&sandbox, "c1", &["sh", "-c", script]);
    command.stdout(pty.slave).stderr(Stdio::piped());
    let child = command.spawn()?;
    drop(command);
    let received = read_until_closed(pty.master);
    let out = wait_output_bytes(child, HARNESS_TIMEOUT)?;
    let received = text(&received.join().map_err(|_| "the reader panicked")??);
    ensure!(out.code == Some(5), "exit {:?}, not the command's 5; stderr {:?}", out.code, text(&out.stderr));
    let lines: Vec<&str> = received.lines().map(|l| l.trim_end_matches('\r')).collect();
    let expected: Vec<String> = (0..3000).map(|i| format!("line {i} of the terminal test")).collect();
    ensure!(
        lines == expected,
        "the terminal got {} lines, not the 3000 in order; it starts {:?}",
        lines.len(),
        &received[..received.len().min(200)]
    );
    let file = text(&sandbox_file(&sandbox, "c1", "stdout")?);
    ensure!(file.lines().eq(expected.iter().map(String::as_str)), "the sandbox's stdout is not complete");
    sandbox.assert_clean()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Which {
    Stdout,
    Stderr,
}

/// 20 MB of random bytes on one stream, their SHA-256 (computed inside the container, from the
/// same bytes through a fifo) on the other: the receiving end's checksum is the container's, and
/// the bytes are the sandbox file's.
fn large_binary_output_arrives_intact(which: Which) -> TestResult {
    let sandbox = Sandbox::new()?;
    let (sum_to, data_to) = match which {
        Which::Stdout => (">&2", ""),
        Which::Stderr => ("", ">&2"),
    };
    // The fifo is in the sandbox (the working directory); tee writes the data straight to the
    // stream it was given.
    let script = format!(
        "mkfifo f && {{ sha256sum < f {sum_to} & head -c {LARGE} /dev/urandom | tee f {data_to}; wait; rm f; }}"
    );
    let mut command = run(&sandbox, "c1", &["sh", "-c", &script]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = wait_output_bytes(command.spawn()?, HARNESS_TIMEOUT)?;
    ensure!(out.code == Some(0), "exit {:?}", out.code);
    let (data, sum, data_file, sum_file) = match which {
        Which::Stdout => (out.stdout, out.stderr, "stdout", "stderr"),
        Which::Stderr => (out.stderr, out.stdout, "stderr", "stdout"),
    };
    ensure!(data.len() == LARGE, "the harness's {data_file} got {} bytes, not {LARGE}", data.len());
    let inside = first_word(&sum)?;
    ensure!(
        sandbox_file(&sandbox, "c1", sum_file)? == sum,
        "the sandbox's {sum_file} differs from what came"
    );
    ensure!(
        sandbox_file(&sandbox, "c1", data_file)? == data,
        "the sandbox's {data_file} differs from what came"
    );
    let received = sha256(data)?;
    ensure!(received == inside, "the bytes received hash to {received}, the container's to {inside}");
    sandbox.assert_clean()
}

/// A reader that closes its end early (`... | head -c 5`): the harness is not killed by SIGPIPE,
/// the exit status is the command's, the other stream still comes, and the sandbox gets it all.
fn a_reader_that_went_away_stops_only_the_copy() -> TestResult {
    let sandbox = Sandbox::new()?;
    let script = format!("head -c {LARGE} /dev/zero; echo done >&2; exit 4");
    let mut command = run(&sandbox, "c1", &["sh", "-c", &script]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn()?;
    let mut stdout = child.stdout.take().ok_or("no stdout pipe")?;
    let mut first = [0u8; 5];
    stdout.read_exact(&mut first)?;
    drop(stdout);
    let out = wait_output_bytes(child, HARNESS_TIMEOUT)?;
    ensure!(
        out.code == Some(4),
        "exit {:?} (None: killed by a signal), not 4; stderr {:?}",
        out.code,
        text(&out.stderr)
    );
    ensure!(
        out.stderr == b"done\n",
        "stderr {:?}: EPIPE is no error, the other stream comes",
        text(&out.stderr)
    );
    let file = sandbox_file(&sandbox, "c1", "stdout")?;
    ensure!(file.len() == LARGE, "the sandbox's stdout holds {} bytes", file.len());
    sandbox.assert_clean()
}

/// The containerizer's helper is the container's init: its own messages go to the sandbox's
/// stderr (it never holds the caller's streams), and from there to the caller.
fn the_helper_s_messages_reach_the_caller() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut command = run(&sandbox, "c1", &["no-such-command-anywhere"]);
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = wait_output_bytes(command.spawn()?, HARNESS_TIMEOUT)?;
    let stderr = text(&out.stderr);
    ensure!(out.code == Some(127), "exit {:?}, not 127; stderr {stderr:?}", out.code);
    let message = "mesos-containerizer: failed to execute 'no-such-command-anywhere'";
    ensure!(stderr.starts_with(message), "the caller's stderr: {stderr:?}");
    ensure!(out.stdout.is_empty(), "stdout {:?}", text(&out.stdout));
    let file = text(&sandbox_file(&sandbox, "c1", "stderr")?);
    ensure!(file.starts_with(message) && file.lines().count() == 1, "the sandbox's stderr: {file:?}");
    sandbox.assert_clean()
}

/// `--json`: the output goes only to the sandbox's files; stdout is the one JSON object.
fn json_keeps_the_output_in_the_sandbox() -> TestResult {
    let sandbox = Sandbox::new()?;
    let output = sandbox.run(
        DEFAULT,
        &["--json", "--container_id=c1"],
        &["sh", "-c", "echo out; echo err >&2; exit 2"],
    )?;
    let outcome = output.outcome()?;
    ensure!(
        output.code == Some(2) && outcome.exit_status == 2,
        "exit {:?}, outcome {outcome:?}",
        output.code
    );
    ensure!(output.stderr.is_empty(), "stderr {:?}", output.stderr);
    ensure!(sandbox_file(&sandbox, "c1", "stdout")? == b"out\n", "the sandbox's stdout");
    ensure!(sandbox_file(&sandbox, "c1", "stderr")? == b"err\n", "the sandbox's stderr");
    sandbox.assert_clean()
}

/// The lifecycle steps `run` logs at `info`, each naming the container.
const LIFECYCLE: &[&str] = &[
    "launching container",
    "prepared container",
    "launched the first process",
    "isolated container",
    "released the command to exec",
    "destroying container",
    "cleaned up container",
    "finished container",
];

/// Every lifecycle step of container `id` is one log line in `stderr`, in order.
fn logs_lifecycle(stderr: &str, id: &str) -> TestResult {
    let field = format!("container_id={id}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains(" INFO ") && l.contains(&field)).collect();
    let mut at = 0;
    for step in LIFECYCLE {
        let Some(found) = lines[at..].iter().position(|l| l.contains(step)) else {
            return Err(format!("no log line {step:?} for {id} (after line {at}) in {stderr:?}").into());
        };
        at += found + 1;
    }
    Ok(())
}

/// `--log_level=INFO` (Mesos's `--logging_level` alias): the lifecycle is logged on stderr, and the
/// caller's stdout gets the command's output and nothing else.
fn info_logs_the_lifecycle_on_stderr_only() -> TestResult {
    let sandbox = Sandbox::new()?;
    // A global flag: accepted among `run`'s own flags too.
    let mut command = sandbox.run_command(
        DEFAULT,
        &["--container_id=c1", "--log_level=INFO"],
        &["sh", "-c", "echo out; echo err >&2"],
    );
    command.env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = wait_output_bytes(command.spawn()?, HARNESS_TIMEOUT)?;
    let stderr = text(&out.stderr);
    ensure!(out.code == Some(0), "exit {:?}; stderr {stderr:?}", out.code);
    ensure!(out.stdout == b"out\n", "stdout is the command's only: {:?}", text(&out.stdout));
    ensure!(stderr.lines().any(|l| l == "err"), "the command's stderr is there, whole: {stderr:?}");
    logs_lifecycle(&stderr, "c1")?;
    ensure!(stderr.contains("loaded module"), "module loads are logged: {stderr:?}");
    sandbox.assert_clean()
}

/// `RUST_LOG=info` with `--json`: the logs on stderr, the one JSON object on stdout.
fn rust_log_logs_beside_the_json() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut command = sandbox.run_command(DEFAULT, &["--json", "--container_id=c1"], &["sh", "-c", "exit 3"]);
    command.env("RUST_LOG", "info");
    let output = integration::output(command)?;
    let outcome = output.outcome()?;
    ensure!(outcome.exit_status == 3 && output.code == Some(3), "exit {:?}, {outcome:?}", output.code);
    logs_lifecycle(&output.stderr, "c1")?;
    ensure!(output.error_lines().is_empty(), "no Error line: {:?}", output.stderr);
    sandbox.assert_clean()
}

/// Without a level or RUST_LOG, nothing is logged: stderr is the command's.
fn the_default_level_logs_nothing() -> TestResult {
    let sandbox = Sandbox::new()?;
    let mut command = run(&sandbox, "c1", &["sh", "-c", "echo out; echo err >&2"]);
    command.env_remove("RUST_LOG").stdout(Stdio::piped()).stderr(Stdio::piped());
    let out = wait_output_bytes(command.spawn()?, HARNESS_TIMEOUT)?;
    ensure!(out.code == Some(0), "exit {:?}", out.code);
    ensure!(
        out.stdout == b"out\n" && out.stderr == b"err\n",
        "stdout {:?}, stderr {:?}",
        text(&out.stdout),
        text(&out.stderr)
    );
    sandbox.assert_clean()
}
