//! The input loop: reads the input line by line, launches a container for each command line once
//! a slot is free (`--concurrency`), carries out directives in order, and stops at the end of the
//! input or on a stop signal. A line that cannot be read or parsed is reported and counted.

use std::rc::Rc;
use std::sync::Arc;

use module_abi::{CommandInfo, ContainerId, Resources};
use tokio::sync::Semaphore;

use super::containers::Containers;
use super::directives;
use super::input::{Input, Line, parse_line};
use super::shutdown::Stop;
use crate::engine::ContainerSpec;

/// What every container of the run is launched with.
pub(super) struct Launches {
    /// Container ids are this prefix and the container's number.
    pub(super) prefix: String,
    pub(super) resources: Resources,
    pub(super) limits: Resources,
    /// `--container_info` and `--rootfs`, for every container.
    pub(super) container_info: Option<module_abi::ContainerInfo>,
    pub(super) rootfs: Option<String>,
    /// How many containers may be live at once.
    pub(super) concurrency: usize,
}

impl Launches {
    /// The spec of the `number`th container, running `command` (program and arguments).
    fn spec(&self, number: usize, command: Vec<String>) -> ContainerSpec {
        ContainerSpec {
            container_id: ContainerId::new(format!("{}{number}", self.prefix)),
            command: CommandInfo {
                shell: false,
                value: command[0].clone(),
                arguments: command,
                environment: Vec::new(),
            },
            resources: self.resources.clone(),
            limits: self.limits.clone(),
            attach_output: false,
            container_info: self.container_info.clone(),
            rootfs: self.rootfs.clone(),
            launch_info: None,
            inherit_stdio: false,
            release_fifo: None,
        }
    }
}

/// Runs the input to its end; `Some(signal)` when a stop signal ended it first.
pub(super) async fn run(
    input: &mut Input,
    containers: &Rc<Containers>,
    launches: &Launches,
    tasks: &mut tokio::task::JoinSet<()>,
    stop: &mut Stop,
) -> Option<i32> {
    let slots = Arc::new(Semaphore::new(launches.concurrency));
    let mut number = 0usize;
    let mut line_number = 0usize;
    loop {
        let text = tokio::select! {
            text = input.next_line() => text,
            signal = stop.signalled() => return Some(signal),
        };
        line_number += 1;
        let text = match text {
            Ok(Some(text)) => text,
            Ok(None) => return None,
            Err(e) => {
                eprintln!("Error: {e}");
                containers.fail();
                return None;
            }
        };
        let line = match parse_line(&text, line_number) {
            Ok(Some(line)) => line,
            Ok(None) => continue,
            Err(e) => {
                eprintln!("Error: {e}");
                containers.fail();
                continue;
            }
        };
        match line {
            Line::Command(command) => {
                let permit = tokio::select! {
                    permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
                    signal = stop.signalled() => return Some(signal),
                };
                number += 1;
                if let Some(launched) = containers.launch(&launches.spec(number, command)) {
                    containers.spawn_supervisor(tasks, launched, permit);
                }
            }
            Line::Usage => directives::usage(containers),
            Line::Destroy => directives::destroy(containers),
            Line::Wait => {
                if let Some(signal) = directives::wait(containers, stop).await {
                    return Some(signal);
                }
            }
        }
    }
}
