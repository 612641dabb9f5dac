//! The editor's JSON session store, as serde does it: the reference that the Python baseline
//! (`ait42_session.editor_files`) is checked against, byte for byte and error for error.
//!
//! The structs are the shipping editor's (upstream `src-tauri/src/commands/session_history.rs`):
//! its field order (a session's `instances` and `chatHistory` right after `completedAt`),
//! camelCase keys, `Option`s written as `null`, and both lists required.
//!
//! Usage:
//!   serde-reference rewrite < FILE      decode the file as the editor does, write it back with
//!                                       `to_string_pretty` to stdout; on a decode error print
//!                                       it to stderr and exit 1
//!   serde-reference time FILE ROUNDS    decode and encode FILE ROUNDS times; print the seconds
//!                                       of each as JSON

use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::time::Instant;

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChatMessage {
    id: String,
    role: String,
    content: String,
    timestamp: String,
    instance_id: Option<u32>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorktreeInstance {
    instance_id: u32,
    worktree_path: String,
    branch: String,
    agent_name: String,
    status: String,
    tmux_session_id: String,
    output: Option<String>,
    start_time: Option<String>,
    end_time: Option<String>,
    files_changed: Option<u32>,
    lines_added: Option<u32>,
    lines_deleted: Option<u32>,
    runtime: Option<String>,
    model: Option<String>,
    runtime_label: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct WorktreeSession {
    id: String,
    #[serde(rename = "type")]
    r#type: String,
    task: String,
    status: String,
    created_at: String,
    updated_at: String,
    completed_at: Option<String>,
    instances: Vec<WorktreeInstance>,
    chat_history: Vec<ChatMessage>,
    model: Option<String>,
    timeout_seconds: Option<u32>,
    preserve_worktrees: Option<bool>,
    winner_id: Option<u32>,
    runtime_mix: Option<Vec<String>>,
    total_duration: Option<u64>,
    total_files_changed: Option<u32>,
    total_lines_added: Option<u32>,
    total_lines_deleted: Option<u32>,
}

/// The editor's `load_sessions`: a blank file holds no sessions.
fn load(content: &str) -> Result<Vec<WorktreeSession>, serde_json::Error> {
    if content.trim().is_empty() {
        return Ok(Vec::new());
    }
    serde_json::from_str(content)
}

fn rewrite() -> i32 {
    let mut bytes = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
        eprintln!("error: cannot read stdin: {e}");
        return 2;
    }
    // The editor's fs::read_to_string: the file must be UTF-8.
    let content = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            eprintln!("error: stream did not contain valid UTF-8: {e}");
            return 1;
        }
    };
    match load(&content) {
        Ok(sessions) => {
            let text = serde_json::to_string_pretty(&sessions).expect("sessions serialize");
            std::io::stdout().write_all(text.as_bytes()).expect("stdout");
            0
        }
        Err(e) => {
            eprintln!("error: {e}");
            1
        }
    }
}

fn time(path: &str, rounds: usize) -> i32 {
    let content = std::fs::read_to_string(path).expect("readable UTF-8 file");
    let (mut decode, mut encode) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        let sessions = load(&content).expect("a valid file");
        decode.push(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let text = serde_json::to_string_pretty(&sessions).expect("sessions serialize");
        encode.push(start.elapsed().as_secs_f64());
        assert_eq!(text.len(), content.len(), "the file was not written by serde_json");
    }
    println!("{}", serde_json::json!({ "decode": decode, "encode": encode }));
    0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let code = match args.get(1).map(String::as_str) {
        Some("rewrite") => rewrite(),
        Some("time") if args.len() == 4 => time(&args[2], args[3].parse().expect("ROUNDS")),
        _ => {
            eprintln!("usage: serde-reference rewrite < FILE | serde-reference time FILE ROUNDS");
            2
        }
    };
    std::process::exit(code);
}
