//! Per-call deadlines for module calls ([`crate::instance::Instance::call`]).
//!
//! A module's code runs in the harness's process, so a call that never returns cannot be
//! cancelled: a thread cannot be killed safely, and the module may hold its own locks. What the
//! harness can do is stop *waiting*. So every JSON call runs on a call thread while the caller
//! (the harness's one event-loop thread) waits for its result up to the deadline
//! ([`set_call_timeout`], `--module_call_timeout`). Past the deadline the call is abandoned: the
//! call thread is left where it is, stuck in the module, and a fresh call thread serves the next
//! calls. The instance is then poisoned for that container (or wholly, for a call about no
//! container), so the harness never calls into it again where the stuck call may still be working,
//! and never destroys the instance. What the abandoned call held stays held: see
//! `docs/reliability.md`.
//!
//! One call thread serves every instance, one call at a time (the caller waits for each), so the
//! modules still see their calls one after another from one thread, as long as no call overruns.
//!
//! A lifecycle step (every isolator's `prepare`, say) or a sweep (the usage of every live
//! container) is many calls in a row: [`run_each`] hands them to the call thread as one job, so the
//! caller wakes once for the batch rather than twice for each call (a thread handoff costs about
//! as much as a cgroup file read), while each call keeps its own deadline. [`run_each_until`] ends
//! the batch at a failure, for the steps that stop at the first one.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The default deadline of one module call: longer than any suite module's own bound (the cgroups
/// isolators wait up to Mesos's `--cgroups_destroy_timeout`, 60 s by default, for a cgroup to
/// empty), so only a call that is stuck meets it.
pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// The `--module_call_timeout` text of [`DEFAULT_CALL_TIMEOUT`].
pub const DEFAULT_CALL_TIMEOUT_TEXT: &str = "2mins";

/// The deadline of every module call from now on, in microseconds (process-wide: it is a flag).
static TIMEOUT_MICROS: AtomicU64 = AtomicU64::new(DEFAULT_CALL_TIMEOUT.as_micros() as u64);

/// Sets the deadline of every later module call (at least 1 µs).
pub fn set_call_timeout(timeout: Duration) {
    let micros = u64::try_from(timeout.as_micros()).unwrap_or(u64::MAX).max(1);
    TIMEOUT_MICROS.store(micros, Ordering::Relaxed);
}

/// The deadline of a module call.
pub fn call_timeout() -> Duration {
    Duration::from_micros(TIMEOUT_MICROS.load(Ordering::Relaxed))
}

/// A Mesos duration as a deadline text (`2mins`, `500ms`) for messages.
pub fn show(duration: Duration) -> String {
    let micros = duration.as_micros();
    if micros.is_multiple_of(60_000_000) {
        format!("{}mins", micros / 60_000_000)
    } else if micros.is_multiple_of(1_000_000) {
        format!("{}secs", micros / 1_000_000)
    } else if micros.is_multiple_of(1_000) {
        format!("{}ms", micros / 1_000)
    } else {
        format!("{micros}us")
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// The current call thread's queue (`None` before the first call and after one was abandoned).
static CALL_THREAD: Mutex<Option<(u64, SyncSender<Job>)>> = Mutex::new(None);
static NEXT_THREAD: AtomicU64 = AtomicU64::new(0);

/// Why a call has no result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Abandoned {
    /// The deadline passed; the call still runs on its abandoned thread.
    TimedOut(Duration),
    /// No call thread could be started, or it ended without an answer.
    NoThread(String),
}

/// Runs `call` on the call thread and waits for it up to [`call_timeout`].
pub fn run<T: Send + 'static>(call: impl FnOnce() -> T + Send + 'static) -> Result<T, Abandoned> {
    let timeout = call_timeout();
    let (answer, result) = mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let _ = answer.send(call());
    });
    let thread = submit(job)?;
    match result.recv_timeout(timeout) {
        Ok(value) => Ok(value),
        Err(RecvTimeoutError::Timeout) => {
            abandon(thread, timeout);
            Err(Abandoned::TimedOut(timeout))
        }
        Err(RecvTimeoutError::Disconnected) => {
            Err(Abandoned::NoThread("the call thread ended without an answer".to_owned()))
        }
    }
}

/// What [`run_each`]'s caller and the call thread share, under one lock, so that the caller's
/// verdict on a call and the call thread's answer to it cannot cross: the answers so far, when the
/// call in progress started, and whether the caller gave up on it.
struct Progress<T> {
    answers: Vec<T>,
    /// When the call in progress started; `None` between two calls.
    running: Option<Instant>,
    /// The caller abandoned the call in progress: the call thread stores no answer after it.
    abandoned: bool,
}

/// Runs `calls` one after another on the call thread as one job, each under its own deadline
/// ([`call_timeout`] from the moment it starts): the caller sleeps until the batch is done or the
/// call in progress overruns. One entry per call, in order: `Some(Ok)` for each call made,
/// `Some(Err)` for the one that overran (it is abandoned with its thread, as in [`run`]), and
/// `None` for each call after it, never made (the caller may make them again: a fresh thread
/// serves the next job).
pub fn run_each<T: Send + 'static>(
    calls: Vec<Box<dyn FnOnce() -> T + Send>>,
) -> Vec<Option<Result<T, Abandoned>>> {
    run_each_until(calls, |_| false)
}

/// [`run_each`], ending the batch early after a call whose answer `ends` holds for: the calls after
/// it are not made (`None`), as a loop that stops at the first failure would not make them.
pub fn run_each_until<T: Send + 'static>(
    calls: Vec<Box<dyn FnOnce() -> T + Send>>,
    ends: fn(&T) -> bool,
) -> Vec<Option<Result<T, Abandoned>>> {
    let count = calls.len();
    if count == 0 {
        return Vec::new();
    }
    let timeout = call_timeout();
    let progress = Arc::new(Mutex::new(Progress {
        answers: Vec::with_capacity(count),
        running: None,
        abandoned: false,
    }));
    let (done, finished) = mpsc::sync_channel::<()>(1);
    let job: Job = {
        let progress = Arc::clone(&progress);
        Box::new(move || {
            for call in calls {
                {
                    let mut progress = lock(&progress);
                    if progress.abandoned {
                        return;
                    }
                    progress.running = Some(Instant::now());
                }
                let answer = call();
                let last = ends(&answer);
                {
                    let mut progress = lock(&progress);
                    if progress.abandoned {
                        // Too late: the caller has answered for this call already.
                        return;
                    }
                    progress.running = None;
                    progress.answers.push(answer);
                }
                if last {
                    break;
                }
            }
            let _ = done.send(());
        })
    };
    let thread = match submit(job) {
        Ok(thread) => thread,
        Err(e) => return (0..count).map(|_| Some(Err(e.clone()))).collect(),
    };
    let mut wait = timeout;
    let overran = loop {
        match finished.recv_timeout(wait) {
            Ok(()) => break None,
            Err(RecvTimeoutError::Disconnected) => {
                break Some(Abandoned::NoThread("the call thread ended without an answer".to_owned()));
            }
            Err(RecvTimeoutError::Timeout) => {
                let mut progress = lock(&progress);
                match progress.running.map(|started| started.elapsed()) {
                    Some(elapsed) if elapsed >= timeout => {
                        // Decided under the lock: the call in progress is the one that overran,
                        // and no answer of it or of a later call is stored from here on.
                        progress.abandoned = true;
                        drop(progress);
                        abandon(thread, timeout);
                        break Some(Abandoned::TimedOut(timeout));
                    }
                    Some(elapsed) => wait = timeout - elapsed,
                    // Between two calls: the next one's deadline starts when it does.
                    None => wait = timeout,
                }
            }
        }
    };
    let answers = std::mem::take(&mut lock(&progress).answers);
    let mut out: Vec<Option<Result<T, Abandoned>>> = answers.into_iter().map(|a| Some(Ok(a))).collect();
    if let Some(overran) = overran {
        out.push(Some(Err(overran)));
    }
    let answered = out.len();
    out.extend((answered..count).map(|_| None));
    out
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Later calls go to a fresh thread; `thread` stays in the module.
fn abandon(thread: u64, timeout: Duration) {
    let mut current = lock(&CALL_THREAD);
    if current.as_ref().is_some_and(|(id, _)| *id == thread) {
        *current = None;
    }
    tracing::warn!(timeout = %show(timeout), "a module call did not return in time: abandoned");
}

/// Queues `job` on the call thread (started when there is none); returns that thread's number.
fn submit(job: Job) -> Result<u64, Abandoned> {
    let mut current = CALL_THREAD.lock().unwrap_or_else(PoisonError::into_inner);
    if current.is_none() {
        *current = Some(spawn()?);
    }
    let Some((id, queue)) = current.as_ref() else { unreachable!("set above") };
    match queue.try_send(job) {
        Ok(()) => Ok(*id),
        // Busy or gone can only mean a thread that ended (calls are made one at a time): replace it.
        Err(mpsc::TrySendError::Full(job) | mpsc::TrySendError::Disconnected(job)) => {
            let (id, queue) = spawn()?;
            queue.try_send(job).map_err(|_| Abandoned::NoThread("a new call thread took no call".into()))?;
            *current = Some((id, queue));
            Ok(id)
        }
    }
}

fn spawn() -> Result<(u64, SyncSender<Job>), Abandoned> {
    let id = NEXT_THREAD.fetch_add(1, Ordering::Relaxed);
    let (queue, jobs) = mpsc::sync_channel::<Job>(1);
    std::thread::Builder::new()
        .name(format!("module-calls-{id}"))
        .spawn(move || {
            // Ends when its queue is dropped: after it was abandoned and its call came back.
            while let Ok(job) = jobs.recv() {
                job();
            }
        })
        .map_err(|e| Abandoned::NoThread(format!("cannot start a thread for module calls: {e}")))?;
    Ok((id, queue))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_show_in_mesos_units() {
        assert_eq!(show(Duration::from_secs(120)), "2mins");
        assert_eq!(show(Duration::from_secs(5)), "5secs");
        assert_eq!(show(Duration::from_millis(1500)), "1500ms");
        assert_eq!(show(Duration::from_micros(7)), "7us");
    }

    /// One test for the whole process-wide setting (the deadline and the call thread are shared):
    /// a call within the deadline answers, one past it is abandoned, and the next call is served
    /// by a fresh thread at once; batches, with and without an end at a failure.
    #[test]
    fn a_stuck_call_is_abandoned_and_the_next_one_runs() {
        set_call_timeout(Duration::from_millis(200));
        assert_eq!(run(|| 7), Ok(7));
        let (release, stuck) = mpsc::channel::<()>();
        let abandoned = run(move || {
            let _ = stuck.recv();
        });
        assert_eq!(abandoned, Err(Abandoned::TimedOut(Duration::from_millis(200))));
        let name = run(|| std::thread::current().name().map(str::to_owned));
        assert!(name.as_ref().is_ok_and(|n| n.as_deref().is_some_and(|n| n.starts_with("module-calls-"))));
        drop(release);
        assert_eq!(run(|| "after"), Ok("after"));

        // A batch until a failure: the call that fails ends it, and the calls after it are not
        // made.
        let made = Arc::new(AtomicU64::new(0));
        let calls: Vec<Box<dyn FnOnce() -> u64 + Send>> = (0..5u64)
            .map(|i| {
                let made = Arc::clone(&made);
                Box::new(move || {
                    made.fetch_add(1, Ordering::SeqCst);
                    i
                }) as Box<dyn FnOnce() -> u64 + Send>
            })
            .collect();
        let answers = run_each_until(calls, |&i| i == 2);
        assert_eq!(answers, vec![Some(Ok(0)), Some(Ok(1)), Some(Ok(2)), None, None]);
        assert_eq!(made.load(Ordering::SeqCst), 3);

        // A batch: every call answers in order; one that overruns ends the batch there, the calls
        // after it are not made, and the next batch runs on a fresh thread.
        let calls: Vec<Box<dyn FnOnce() -> usize + Send>> =
            (0..50usize).map(|i| Box::new(move || i * 2) as Box<dyn FnOnce() -> usize + Send>).collect();
        let answers: Vec<_> = run_each(calls).into_iter().map(|a| a.unwrap().unwrap()).collect();
        assert_eq!(answers, (0..50usize).map(|i| i * 2).collect::<Vec<_>>());
        let (release, stuck) = mpsc::channel::<()>();
        let made = Arc::new(AtomicU64::new(0));
        let counted = |made: &Arc<AtomicU64>| {
            let made = Arc::clone(made);
            Box::new(move || {
                made.fetch_add(1, Ordering::SeqCst);
            }) as Box<dyn FnOnce() + Send>
        };
        let calls = vec![
            counted(&made),
            Box::new(move || {
                let _ = stuck.recv();
            }) as Box<dyn FnOnce() + Send>,
            counted(&made),
        ];
        let answers = run_each(calls);
        assert_eq!(answers.len(), 3);
        assert_eq!(answers[0], Some(Ok(())));
        assert_eq!(answers[1], Some(Err(Abandoned::TimedOut(Duration::from_millis(200)))));
        assert_eq!(answers[2], None);
        drop(release);
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(made.load(Ordering::SeqCst), 1, "the call after the stuck one was never made");
        assert_eq!(run_each(vec![counted(&made)]), vec![Some(Ok(()))]);
        assert_eq!(made.load(Ordering::SeqCst), 2);
        set_call_timeout(DEFAULT_CALL_TIMEOUT);
    }
}
