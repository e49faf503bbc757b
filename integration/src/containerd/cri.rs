//! A CRI (Kubernetes Container Runtime Interface, `runtime.v1`) client over gRPC on containerd's
//! socket: `cri/cri_client.py` (Debian's python3-grpcio) started once per test, spoken to in JSON
//! lines. The vendored `cri/api.proto` goes through `protoc --python_out` into the test's temp
//! dir; both files are compiled into this crate, so nothing is read from the source tree.
//!
//! Messages are protobuf's JSON mapping with the proto's field names (`pod_sandbox_id`), built
//! with `serde_json::json!`; 64-bit integers come back as strings (read them with [`int`]).

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

use super::{CRI_NAMESPACE, Containerd, PYTHON};
use crate::TestResult;

const CLIENT: &str = include_str!("../../cri/cri_client.py");
const PROTO: &str = include_str!("../../cri/api.proto");

/// A gRPC error status of a CRI call (or `CLIENT` for a request the client could not send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CriError {
    pub code: String,
    pub details: String,
}

impl std::fmt::Display for CriError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.details)
    }
}

/// A connected client, killed when dropped.
#[derive(Debug)]
pub struct Cri {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    /// The containerd's list of pods and containers, for its shim-socket check.
    ids: Arc<Mutex<Vec<(String, String)>>>,
}

impl Cri {
    /// Generates the stubs and starts the client on `containerd`'s socket.
    pub fn connect(containerd: &Containerd) -> TestResult<Cri> {
        let dir = containerd.sandbox.base.join("cri");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("cri_client.py"), CLIENT)?;
        std::fs::write(dir.join("api.proto"), PROTO)?;
        let protoc = crate::output({
            let mut protoc = Command::new("protoc");
            protoc.arg("-I").arg(&dir).arg("--python_out").arg(&dir).arg(dir.join("api.proto"));
            protoc
        })?;
        crate::ensure!(protoc.code == Some(0), "protoc --python_out: {}", protoc.stderr.trim());
        let mut child = Command::new(PYTHON)
            .arg(dir.join("cri_client.py"))
            .arg("--socket")
            .arg(&containerd.socket)
            .arg("--stubs")
            .arg(&dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {PYTHON} cri_client.py: {e}"))?;
        let stdin = child.stdin.take().ok_or("cri_client.py: no stdin")?;
        let stdout = BufReader::new(child.stdout.take().ok_or("cri_client.py: no stdout")?);
        Ok(Cri { child, stdin, stdout, ids: containerd.ids() })
    }

    /// One call: `service` is `RuntimeService` or `ImageService`, `method` a CRI method name.
    pub fn call(
        &mut self,
        service: &str,
        method: &str,
        request: Value,
    ) -> TestResult<Result<Value, CriError>> {
        let query = json!({"service": service, "method": method, "request": request});
        writeln!(self.stdin, "{query}").map_err(|e| format!("cri_client.py: {e}"))?;
        self.stdin.flush()?;
        let mut line = String::new();
        if self.stdout.read_line(&mut line)? == 0 {
            let status = self.child.wait()?;
            return Err(format!("cri_client.py ended ({status}) during {method}").into());
        }
        let answer: Value =
            serde_json::from_str(&line).map_err(|e| format!("cri_client.py answered {line:?}: {e}"))?;
        if let Some(error) = answer.get("error") {
            let text = |key: &str| error[key].as_str().unwrap_or_default().to_owned();
            return Ok(Err(CriError { code: text("code"), details: text("details") }));
        }
        let response = answer.get("response").cloned().unwrap_or(Value::Null);
        for key in ["pod_sandbox_id", "container_id"] {
            if let (Some(id), Ok(mut ids)) = (response.get(key).and_then(Value::as_str), self.ids.lock()) {
                ids.push((CRI_NAMESPACE.to_owned(), id.to_owned()));
            }
        }
        Ok(Ok(response))
    }

    /// A `RuntimeService` call that must succeed.
    pub fn runtime(&mut self, method: &str, request: Value) -> TestResult<Value> {
        self.call("RuntimeService", method, request)?.map_err(|e| format!("{method}: {e}").into())
    }

    /// An `ImageService` call that must succeed.
    pub fn image(&mut self, method: &str, request: Value) -> TestResult<Value> {
        self.call("ImageService", method, request)?.map_err(|e| format!("{method}: {e}").into())
    }
}

impl Drop for Cri {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An integer of a response: protobuf's JSON mapping writes 64-bit ones as strings, and wrapped
/// values (`UInt64Value`) as `{"value": ...}` (absent when zero).
pub fn int(value: &Value) -> Option<u64> {
    match value {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        Value::Object(o) if o.is_empty() => Some(0),
        Value::Object(o) => o.get("value").and_then(int),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ints_in_every_json_spelling() {
        assert_eq!(int(&json!("67108864")), Some(67_108_864));
        assert_eq!(int(&json!(5)), Some(5));
        assert_eq!(int(&json!({"value": "12"})), Some(12));
        assert_eq!(int(&json!({})), Some(0));
        assert_eq!(int(&json!("x")), None);
    }
}
