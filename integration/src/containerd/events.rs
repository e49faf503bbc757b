//! `ctr events` read in the background: containerd's event stream (`/tasks/oom`, `/tasks/exit`,
//! ...) as the tests' proof of what containerd saw. [`Events::start`] returns once the stream is
//! known to be live (an image tag made after subscribing has been seen), so no later event is
//! missed.

use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;

use super::Containerd;
use crate::{TestResult, wait_until};

/// One event: `ctr events` prints `TIMESTAMP NAMESPACE TOPIC JSON`.
#[derive(Debug, Clone)]
pub struct Event {
    pub namespace: String,
    pub topic: String,
    pub body: Value,
}

impl Event {
    /// Parses one line of `ctr events`; `None` for anything else.
    pub fn parse(line: &str) -> Option<Event> {
        let json_at = line.find('{')?;
        let body = serde_json::from_str(&line[json_at..]).ok()?;
        let mut head = line[..json_at].split_whitespace().rev();
        let topic = head.next()?.to_owned();
        let namespace = head.next()?.to_owned();
        topic.starts_with('/').then_some(Event { namespace, topic, body })
    }

    /// The body's `container_id`.
    pub fn container_id(&self) -> Option<&str> {
        self.body.get("container_id").and_then(Value::as_str)
    }
}

/// A running `ctr events`, killed when dropped.
#[derive(Debug)]
pub struct Events {
    child: Child,
    events: Arc<Mutex<Vec<Event>>>,
}

impl Events {
    /// Subscribes and waits until the subscription is live.
    pub fn start(containerd: &Containerd) -> TestResult<Events> {
        let mut child = containerd
            .ctr_in(containerd.namespace(), &["events"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start ctr events: {e}"))?;
        let stdout = child.stdout.take().ok_or("ctr events: no stdout")?;
        let events: Arc<Mutex<Vec<Event>>> = Arc::default();
        let sink = Arc::clone(&events);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let (Some(event), Ok(mut all)) = (Event::parse(&line), sink.lock()) {
                    all.push(event);
                }
            }
        });
        let events = Events { child, events };
        // Tag the image until the tag's creation shows up: from then on the stream is live.
        let marker = format!("localhost/events-marker:{}", containerd.namespace());
        let image = super::image::IMAGE;
        wait_until("ctr events to subscribe", Duration::from_secs(60), || {
            let _ = containerd.ctr(&["image", "rm", &marker]);
            containerd.ctr_ok(&["image", "tag", image, &marker])?;
            std::thread::sleep(Duration::from_millis(100));
            Ok(events.all().iter().any(|e| e.topic == "/images/create" && e.body["name"] == marker.as_str()))
        })?;
        containerd.ctr_ok(&["image", "rm", &marker])?;
        Ok(events)
    }

    /// Every event seen so far.
    pub fn all(&self) -> Vec<Event> {
        self.events.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Waits for the first event that matches; fails past `timeout`, listing what was seen.
    pub fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        matches: impl Fn(&Event) -> bool,
    ) -> TestResult<Event> {
        let mut found = None;
        let seen = wait_until(what, timeout, || {
            found = self.all().into_iter().find(|e| matches(e));
            Ok(found.is_some())
        });
        match found {
            Some(event) if seen.is_ok() => Ok(event),
            _ => {
                let seen: Vec<String> =
                    self.all().iter().map(|e| format!("{} {}", e.topic, e.body)).collect();
                Err(format!("{what}: not seen within {timeout:?}; events seen: {}", seen.join(", ")).into())
            }
        }
    }
}

impl Drop for Events {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ctr_events_lines() {
        let line = r#"2026-12-01 23:37:02.075395192 +0000 UTC it-1-0 /tasks/oom {"container_id":"oom"}"#;
        let event = Event::parse(line).unwrap();
        assert_eq!((event.namespace.as_str(), event.topic.as_str()), ("it-1-0", "/tasks/oom"));
        assert_eq!(event.container_id(), Some("oom"));
        assert!(Event::parse("no event here").is_none());
    }
}
