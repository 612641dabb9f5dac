//! The client against the real sidecar: the frozen binary named by `$AIT42_SIDECAR`, or
//! `python -m ait42_session` with the interpreter named by `$AIT42_PYTHON` (default `python3`),
//! each test on a database in a folder of its own.

use ait42_session_client::{ChatMessage, Client, WorktreeInstance, WorktreeSession};
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

struct Place {
    root: PathBuf,
    workspace: String,
}

impl Place {
    fn new(name: &str) -> Place {
        let stamp = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        let root = std::env::temp_dir().join(format!("ait42-rust-{name}-{}-{stamp}", std::process::id()));
        let workspace = root.join("workspace");
        std::fs::create_dir_all(&workspace).unwrap();
        Place { root, workspace: workspace.to_string_lossy().into_owned() }
    }

    fn client(&self) -> Client {
        let db = self.root.join("sessions.db");
        let db = db.to_str().unwrap();
        match std::env::var("AIT42_SIDECAR") {
            Ok(binary) if !binary.is_empty() => Client::spawn(&binary, &["--db", db, "serve"]),
            _ => {
                let python = std::env::var("AIT42_PYTHON").unwrap_or_else(|_| "python3".into());
                Client::spawn(&python, &["-m", "ait42_session", "--db", db, "serve"])
            }
        }
        .expect("the sidecar starts")
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn instance(n: u32) -> WorktreeInstance {
    WorktreeInstance {
        instance_id: n,
        worktree_path: format!("/w/{n}"),
        branch: format!("b{n}"),
        agent_name: format!("agent-{n}"),
        status: "running".into(),
        tmux_session_id: format!("t{n}"),
        output: None,
        start_time: None,
        end_time: None,
        files_changed: None,
        lines_added: None,
        lines_deleted: None,
        runtime: Some("claude".into()),
        model: None,
        runtime_label: None,
        extra: Map::new(),
    }
}

fn session(id: &str) -> WorktreeSession {
    let mut extra = Map::new();
    extra.insert("evaluation".into(), json!({"scores": [90, 70]}));
    WorktreeSession {
        id: id.into(),
        r#type: "competition".into(),
        task: format!("Task of {id}"),
        status: "running".into(),
        created_at: "2025-01-13T10:00:00Z".into(),
        updated_at: "2025-01-13T10:00:00Z".into(),
        completed_at: None,
        instances: vec![instance(0), instance(1)],
        chat_history: vec![],
        model: None,
        timeout_seconds: Some(600),
        preserve_worktrees: None,
        winner_id: None,
        runtime_mix: None,
        total_duration: None,
        total_files_changed: None,
        total_lines_added: None,
        total_lines_deleted: None,
        extra,
    }
}

fn message(id: &str) -> ChatMessage {
    ChatMessage {
        id: id.into(),
        role: "user".into(),
        content: "hello".into(),
        timestamp: "2025-01-13T10:01:00Z".into(),
        instance_id: Some(1),
        extra: Map::new(),
    }
}

#[test]
fn the_client_is_send_and_sync() {
    fn both<T: Send + Sync>() {}
    both::<Client>();
}

#[test]
fn a_session_serializes_in_the_editors_field_order() {
    let mut top = session("s");
    top.instances.clear(); // the instances' own keys would be found first
    let text = serde_json::to_string(&top).unwrap();
    let order = ["id", "type", "task", "status", "createdAt", "updatedAt", "completedAt",
        "instances", "chatHistory", "model", "timeoutSeconds", "totalLinesDeleted", "evaluation"];
    let positions: Vec<usize> =
        order.iter().map(|key| text.find(&format!("\"{key}\":")).expect(key)).collect();
    let mut sorted = positions.clone();
    sorted.sort();
    assert_eq!(positions, sorted, "{text}");
    assert!(text.contains("\"completedAt\":null")); // Options as null, as serde writes them
}

#[test]
fn the_seven_commands_with_the_editors_types_and_error_strings() {
    let place = Place::new("seven");
    let client = place.client();
    let ws = place.workspace.clone();

    let created = client.create_session(ws.clone(), session("s1")).unwrap();
    assert_eq!(created, session("s1")); // the front end's keys come back
    assert_eq!(client.get_session(ws.clone(), "s1".into()).unwrap(), created);

    let mut renamed = created.clone();
    renamed.task = "Renamed".into();
    assert_eq!(client.update_session(ws.clone(), renamed).unwrap().task, "Renamed");

    let with_message = client.add_chat_message(ws.clone(), "s1".into(), message("m1")).unwrap();
    assert_eq!(with_message.chat_history.len(), 1);
    let with_status = client
        .update_instance_status(ws.clone(), "s1".into(), 1, "completed".into())
        .unwrap();
    assert_eq!(with_status.instances[1].status, "completed");

    let all = client.get_all_sessions(ws.clone()).unwrap();
    assert_eq!(all.len(), 1);

    assert_eq!(client.get_session(ws.clone(), "nope".into()).unwrap_err(), "Session nope not found");
    assert_eq!(
        client.update_session(ws.clone(), session("ghost")).unwrap_err(),
        "Session ghost not found"
    );
    assert_eq!(
        client.add_chat_message(ws.clone(), "ghost".into(), message("m")).unwrap_err(),
        "Session ghost not found"
    );
    assert_eq!(
        client.update_instance_status(ws.clone(), "s1".into(), 7, "failed".into()).unwrap_err(),
        "Instance 7 not found in session s1"
    );
    let mut bad = session("bad");
    bad.status = "exploded".into();
    assert!(client.create_session(ws.clone(), bad).unwrap_err().contains("status"));

    client.delete_session(ws.clone(), "s1".into()).unwrap();
    client.delete_session(ws.clone(), "s1".into()).unwrap(); // as the editor: no complaint
    assert!(client.get_all_sessions(ws).unwrap().is_empty());
    assert!(client.get_all_sessions(String::new()).unwrap().is_empty()); // a blank path
}

#[test]
fn upsert_is_the_debate_runners_update_or_insert() {
    let place = Place::new("upsert");
    let client = place.client();
    let mut debate = session("debate-1");
    debate.r#type = "debate".into();
    debate.task = "Debate in progress".into();
    debate.instances = vec![];
    debate.status = "round_1".into();
    assert_eq!(client.upsert_session(place.workspace.clone(), debate.clone()).unwrap().status, "round_1");
    debate.status = "round_2".into();
    assert_eq!(client.upsert_session(place.workspace.clone(), debate).unwrap().status, "round_2");
    let all = client.get_all_sessions(place.workspace.clone()).unwrap();
    assert_eq!(all.iter().map(|s| s.status.as_str()).collect::<Vec<_>>(), ["round_2"]);
}

#[test]
fn output_is_appended_as_it_streams() {
    let place = Place::new("append");
    let client = place.client();
    let ws = place.workspace.clone();
    let mut streamed = session("streamed");
    streamed.instances[0].output = Some("line 1\n".into());
    let instance_id = streamed.instances[0].instance_id;
    client.create_session(ws.clone(), streamed).unwrap();
    for line in ["line 2\n", "line 3\n"] {
        client.append_instance_output(ws.clone(), "streamed".into(), instance_id, line.into()).unwrap();
    }
    let stored = client.get_session(ws.clone(), "streamed".into()).unwrap();
    assert_eq!(stored.instances[0].output.as_deref(), Some("line 1\nline 2\nline 3\n"));
    assert_eq!(
        client.append_instance_output(ws.clone(), "streamed".into(), 99, "x".into()).unwrap_err(),
        "Instance 99 not found in session streamed"
    );
    assert_eq!(
        client.append_instance_output(ws, "nobody".into(), 0, "x".into()).unwrap_err(),
        "Session nobody not found"
    );
}

#[test]
fn one_sidecar_serves_concurrent_calls_from_many_threads() {
    let place = Place::new("threads");
    let client = Arc::new(place.client());
    let workers: Vec<_> = (0..8)
        .map(|n| {
            let client = Arc::clone(&client);
            let ws = place.workspace.clone();
            std::thread::spawn(move || {
                for k in 0..10 {
                    let id = format!("t{n}-{k}");
                    assert_eq!(client.create_session(ws.clone(), session(&id)).unwrap().id, id);
                    assert_eq!(client.get_session(ws.clone(), id.clone()).unwrap().id, id);
                }
            })
        })
        .collect();
    for worker in workers {
        worker.join().unwrap();
    }
    assert_eq!(client.get_all_sessions(place.workspace.clone()).unwrap().len(), 80);
}

#[test]
fn a_subscription_hears_another_windows_write() {
    let place = Place::new("notify");
    let listening = place.client();
    let writing = place.client();
    let heard = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&heard);
    listening.on_sessions_changed(move |change| sink.lock().unwrap().push(change.workspace_path.clone()));
    listening.subscribe(place.workspace.clone()).unwrap();

    writing.create_session(place.workspace.clone(), session("s1")).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while heard.lock().unwrap().is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(heard.lock().unwrap().first(), Some(&place.workspace));
    listening.unsubscribe(place.workspace.clone()).unwrap();
}
