//! The AIT42 editor's backend talking to the `ait42-session` sidecar.
//!
//! The structs are the shipping editor's (upstream `src-tauri/src/commands/session_history.rs`:
//! field order, camelCase keys, `Option`s written as `null`, both lists required), with a
//! flattened map for the keys only the front end writes (`evaluation`, ...), so that nothing the
//! board stored is dropped on the way through Rust. The commands have the names, parameter
//! order and types of that file's `#[tauri::command]`s minus their `State`, and fail with the
//! editor's own strings where it has one (`Session {id} not found`), so each command's body
//! becomes one call and the board is untouched:
//!
//! ```ignore
//! #[tauri::command]
//! pub async fn get_session(
//!     client: State<'_, ait42_session_client::Client>,
//!     workspace_path: String,
//!     session_id: String,
//! ) -> Result<WorktreeSession, String> {
//!     client.get_session(workspace_path, session_id)
//! }
//! ```
//!
//! A [`Client`] owns one sidecar process and is `Send + Sync`: any number of threads or async
//! tasks may call it at once; each request carries an id and each answer is matched to its
//! caller by that id. Calls block until the answer comes (from async code, wrap them in
//! `spawn_blocking`, or call them as the editor's synchronous file store was called).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::thread;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeInstance {
    pub instance_id: u32,
    pub worktree_path: String,
    pub branch: String,
    pub agent_name: String,
    pub status: String,
    pub tmux_session_id: String,
    pub output: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub files_changed: Option<u32>,
    pub lines_added: Option<u32>,
    pub lines_deleted: Option<u32>,
    pub runtime: Option<String>,
    pub model: Option<String>,
    pub runtime_label: Option<String>,
    /// Keys only the front end writes (`testsPassed`, ...), kept as they are.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChatMessage {
    pub id: String,
    pub role: String, // user | assistant | system
    pub content: String,
    pub timestamp: String,
    pub instance_id: Option<u32>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorktreeSession {
    pub id: String,
    pub r#type: String, // competition | ensemble | debate
    pub task: String,
    pub status: String, // running | completed | failed | paused | round_1..round_3
    pub created_at: String,
    pub updated_at: String,
    pub completed_at: Option<String>,
    pub instances: Vec<WorktreeInstance>,
    pub chat_history: Vec<ChatMessage>,
    pub model: Option<String>,
    pub timeout_seconds: Option<u32>,
    pub preserve_worktrees: Option<bool>,
    pub winner_id: Option<u32>,
    pub runtime_mix: Option<Vec<String>>,
    pub total_duration: Option<u64>,
    pub total_files_changed: Option<u32>,
    pub total_lines_added: Option<u32>,
    pub total_lines_deleted: Option<u32>,
    /// Keys only the front end writes (`evaluation`, `integrationPhase`, ...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// What a `sessionsChanged` notification says (see [`Client::subscribe`]).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsChanged {
    pub workspace_path: String,
    pub data_version: i64,
}

type Answer = Result<Value, Failure>;
type Listener = Box<dyn Fn(&SessionsChanged) + Send + Sync>;

/// An error answer: the store's error class (`error.data.class`) and its message.
#[derive(Debug, Clone)]
struct Failure {
    class: String,
    message: String,
}

struct Shared {
    pending: Mutex<HashMap<u64, Sender<Answer>>>,
    listeners: Mutex<Vec<Listener>>,
    gone: Mutex<Option<String>>,
}

/// One sidecar (`ait42-session serve`) and the calls to it.
pub struct Client {
    stdin: Mutex<Option<ChildStdin>>,
    child: Mutex<Child>,
    next_id: AtomicU64,
    shared: Arc<Shared>,
}

impl Client {
    /// Start `program` with `args` (e.g. `"ait42-session", &["serve"]`) and talk to it.
    pub fn spawn(program: &str, args: &[&str]) -> Result<Client, String> {
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("Failed to start the session sidecar {program}: {e}"))?;
        let stdin = child.stdin.take().ok_or("the sidecar has no stdin")?;
        let stdout = child.stdout.take().ok_or("the sidecar has no stdout")?;
        let shared = Arc::new(Shared {
            pending: Mutex::new(HashMap::new()),
            listeners: Mutex::new(Vec::new()),
            gone: Mutex::new(None),
        });
        let reader = Arc::clone(&shared);
        thread::Builder::new()
            .name("ait42-session-client".into())
            .spawn(move || read_answers(BufReader::new(stdout), &reader))
            .map_err(|e| format!("Failed to start the sidecar reader: {e}"))?;
        Ok(Client {
            stdin: Mutex::new(Some(stdin)),
            child: Mutex::new(child),
            next_id: AtomicU64::new(1),
            shared,
        })
    }

    /// One request; its result, or the error it was answered with.
    fn request(&self, method: &str, params: Value) -> Answer {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (send, receive) = channel();
        {
            let gone = self.shared.gone.lock().unwrap();
            if let Some(reason) = gone.as_ref() {
                return Err(stopped(reason));
            }
            self.shared.pending.lock().unwrap().insert(id, send);
        }
        let mut line = json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
            .to_string();
        line.push('\n');
        let written = match self.stdin.lock().unwrap().as_mut() {
            Some(stdin) => stdin.write_all(line.as_bytes()).and_then(|_| stdin.flush()),
            None => Err(std::io::Error::new(std::io::ErrorKind::BrokenPipe, "closed")),
        };
        if let Err(e) = written {
            self.shared.pending.lock().unwrap().remove(&id);
            return Err(stopped(&format!("cannot write to it: {e}")));
        }
        receive
            .recv()
            .unwrap_or_else(|_| Err(stopped("it stopped before answering")))
    }

    fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, String> {
        let value = self.request(method, params).map_err(|f| f.message)?;
        serde_json::from_value(value).map_err(|e| format!("Unexpected answer to {method}: {e}"))
    }

    /// A call whose "not found" answer is the editor's own `Session {id} not found`.
    fn on_session<T: DeserializeOwned>(
        &self,
        method: &str,
        session_id: &str,
        params: Value,
    ) -> Result<T, String> {
        match self.request(method, params) {
            Ok(value) => serde_json::from_value(value)
                .map_err(|e| format!("Unexpected answer to {method}: {e}")),
            Err(f) if f.class == "NotFoundError" && !f.message.starts_with("instance") => {
                Err(format!("Session {session_id} not found"))
            }
            Err(f) => Err(f.message),
        }
    }

    // --- the editor's seven commands (session_history.rs) ----------------------------------

    pub fn create_session(
        &self,
        workspace_path: String,
        session: WorktreeSession,
    ) -> Result<WorktreeSession, String> {
        self.call("create_session", json!({"workspacePath": workspace_path, "session": session}))
    }

    pub fn update_session(
        &self,
        workspace_path: String,
        session: WorktreeSession,
    ) -> Result<WorktreeSession, String> {
        let id = session.id.clone();
        let params = json!({"workspacePath": workspace_path, "session": session});
        self.on_session("update_session", &id, params)
    }

    pub fn get_session(
        &self,
        workspace_path: String,
        session_id: String,
    ) -> Result<WorktreeSession, String> {
        let params = json!({"workspacePath": workspace_path, "sessionId": session_id});
        self.on_session("get_session", &session_id, params)
    }

    pub fn get_all_sessions(&self, workspace_path: String) -> Result<Vec<WorktreeSession>, String> {
        self.call("get_all_sessions", json!({"workspacePath": workspace_path}))
    }

    pub fn delete_session(&self, workspace_path: String, session_id: String) -> Result<(), String> {
        let params = json!({"workspacePath": workspace_path, "sessionId": session_id});
        self.call::<Value>("delete_session", params).map(|_| ())
    }

    pub fn add_chat_message(
        &self,
        workspace_path: String,
        session_id: String,
        message: ChatMessage,
    ) -> Result<WorktreeSession, String> {
        let params =
            json!({"workspacePath": workspace_path, "sessionId": session_id, "message": message});
        self.on_session("add_chat_message", &session_id, params)
    }

    pub fn update_instance_status(
        &self,
        workspace_path: String,
        session_id: String,
        instance_id: u32,
        new_status: String,
    ) -> Result<WorktreeSession, String> {
        let params = json!({
            "workspacePath": workspace_path, "sessionId": session_id,
            "instanceId": instance_id, "newStatus": new_status,
        });
        match self.on_session::<WorktreeSession>("update_instance_status", &session_id, params) {
            Err(message) if message.starts_with("instance") => {
                Err(format!("Instance {instance_id} not found in session {session_id}"))
            }
            other => other,
        }
    }

    // --- beyond the seven ------------------------------------------------------------------

    /// Update the session with this id (the first copy), or store it when the workspace has
    /// none: the debate runner's `update_status` write, in one transaction.
    pub fn upsert_session(
        &self,
        workspace_path: String,
        session: WorktreeSession,
    ) -> Result<WorktreeSession, String> {
        self.call("upsert_session", json!({"workspacePath": workspace_path, "session": session}))
    }

    /// Add `text` at the end of one instance's output (as an agent's output streams in); the
    /// store writes what was appended, not the whole output.
    pub fn append_instance_output(
        &self,
        workspace_path: String,
        session_id: String,
        instance_id: u32,
        text: String,
    ) -> Result<(), String> {
        let params = json!({
            "workspacePath": workspace_path, "sessionId": session_id,
            "instanceId": instance_id, "text": text,
        });
        match self.on_session::<Value>("append_instance_output", &session_id, params) {
            Err(message) if message.starts_with("instance") => {
                Err(format!("Instance {instance_id} not found in session {session_id}"))
            }
            other => other.map(|_| ()),
        }
    }

    /// Hear of every write to the database (another window, an import, the debate runner)
    /// within 250 ms: the callbacks of [`Client::on_sessions_changed`] are called with
    /// `workspace_path`. Returns the data version the notifications count from.
    pub fn subscribe(&self, workspace_path: String) -> Result<i64, String> {
        let answer: SessionsChanged =
            self.call("subscribe", json!({"workspacePath": workspace_path}))?;
        Ok(answer.data_version)
    }

    pub fn unsubscribe(&self, workspace_path: String) -> Result<(), String> {
        self.call::<Value>("unsubscribe", json!({"workspacePath": workspace_path}))
            .map(|_| ())
    }

    /// Call `listener` with each `sessionsChanged` notification (on the reader thread).
    pub fn on_sessions_changed(&self, listener: impl Fn(&SessionsChanged) + Send + Sync + 'static) {
        self.shared.listeners.lock().unwrap().push(Box::new(listener));
    }
}

impl Drop for Client {
    /// End of input: the sidecar closes its store and exits; wait for it.
    fn drop(&mut self) {
        if let Ok(stdin) = self.stdin.get_mut() {
            drop(stdin.take()); // closes the pipe
        }
        if let Ok(child) = self.child.get_mut() {
            let _ = child.wait();
        }
    }
}

fn stopped(reason: &str) -> Failure {
    Failure { class: "Stopped".into(), message: format!("The session sidecar stopped: {reason}") }
}

fn read_answers(stdout: impl BufRead, shared: &Shared) {
    for line in stdout.lines() {
        let Ok(line) = line else { break };
        let Ok(message) = serde_json::from_str::<Value>(&line) else { continue };
        if message.get("id").is_none() {
            if message.get("method") == Some(&json!("sessionsChanged")) {
                if let Ok(change) = serde_json::from_value::<SessionsChanged>(message["params"].clone()) {
                    for listener in shared.listeners.lock().unwrap().iter() {
                        listener(&change);
                    }
                }
            }
            continue;
        }
        let Some(id) = message["id"].as_u64() else { continue };
        let Some(waiting) = shared.pending.lock().unwrap().remove(&id) else { continue };
        let answer = match message.get("error") {
            Some(error) => Err(Failure {
                class: error["data"]["class"].as_str().unwrap_or("SessionError").to_string(),
                message: error["message"].as_str().unwrap_or("the sidecar failed").to_string(),
            }),
            None => Ok(message.get("result").cloned().unwrap_or(Value::Null)),
        };
        let _ = waiting.send(answer);
    }
    // end of output: whatever waits, and whatever comes, fails
    *shared.gone.lock().unwrap() = Some("its output ended".into());
    for (_, waiting) in shared.pending.lock().unwrap().drain() {
        let _ = waiting.send(Err(stopped("its output ended")));
    }
}
