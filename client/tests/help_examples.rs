//! Every example in `client --help`, `client load --help` and `client repl --help` works as written against the demo
//! site (`server`), with `proxy` for the `-x` one: each is run through bash, as a learner would
//! paste it, with only the ports changed to the ones the servers were given (8080 and 8888 in
//! the text). A 404 or 405 in what comes back, or any exit code but 0, fails the example.

use std::path::Path;
use std::process::{Command, Stdio};

/// The commands in a `--help` text's `Examples` section: lines starting with `client` or
/// `printf`, continued over a trailing `\`, each cut where its description starts (two spaces
/// outside quotes).
fn examples(help: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_examples = false;
    let mut pending: Option<String> = None;
    for line in help.lines() {
        if line.starts_with("Examples") {
            in_examples = true;
            continue;
        }
        if !in_examples {
            continue;
        }
        if line.trim().is_empty() {
            in_examples = false;
            continue;
        }
        let text = line.trim_start();
        let starts = text.starts_with("client ") || text.starts_with("printf ");
        let continues = pending.is_some();
        if !starts && !continues {
            continue; // a description on its own line
        }
        let command = command_part(text);
        let joined = match pending.take() {
            Some(before) => format!("{before} {command}"),
            None => command.to_string(),
        };
        match joined.strip_suffix('\\') {
            Some(head) => pending = Some(head.trim_end().to_string()),
            None => out.push(joined),
        }
    }
    out
}

/// The command, up to the first run of two spaces that is not inside quotes.
fn command_part(text: &str) -> &str {
    let bytes = text.as_bytes();
    let mut quote = None;
    for i in 0..bytes.len() {
        match (quote, bytes[i]) {
            (None, b'\'' | b'"') => quote = Some(bytes[i]),
            (Some(q), b) if b == q => quote = None,
            (None, b' ') if bytes.get(i + 1) == Some(&b' ') => return text[..i].trim_end(),
            _ => {}
        }
    }
    text.trim_end()
}

fn help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_client"))
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn the_parser_finds_commands_and_their_continuations() {
    let text = "Usage: x\n\nExamples:\n  client -d 'a  b' http://h/   a form\n  \
                printf 'x' \\\n    | client --raw - h 1     two\n  client repl h 1\n\
                \x20                                     more description\n\nExit codes:\n  client no\n";
    assert_eq!(
        examples(text),
        [
            "client -d 'a  b' http://h/",
            "printf 'x' | client --raw - h 1",
            "client repl h 1",
        ]
    );
}

#[test]
fn every_help_example_works_against_the_demo_site() {
    let site = server::Server::start(server::config::Config::for_tests(None)).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let proxy = proxy::Proxy::start(proxy::Options::for_tests(cache.path())).unwrap();
    let (web, via) = (site.local_addr().port(), proxy.addr().port());

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "a note\n").unwrap();
    // A request as a learner might write it by hand: bare LFs, which the demo site accepts.
    std::fs::write(
        dir.path().join("broken.txt"),
        "GET / HTTP/1.1\nHost: localhost\n\n",
    )
    .unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_client")).parent().unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let main = examples(&help(&["--help"]));
    let load = examples(&help(&["load", "--help"]));
    let repl = examples(&help(&["repl", "--help"]));
    assert!(
        main.len() >= 20 && load.len() >= 5 && repl.len() >= 2,
        "{main:?} {load:?} {repl:?}"
    );
    for example in main.iter().chain(&load).chain(&repl) {
        let command = example
            .replace("localhost 8080", &format!("localhost {web}"))
            .replace(":8080", &format!(":{web}"))
            .replace(":8888", &format!(":{via}"));
        let out = Command::new("timeout")
            .args(["60", "bash", "-c", &command])
            .current_dir(dir.path())
            .env("PATH", &path)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .output()
            .expect("bash runs");
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            out.status.success(),
            "`{example}` exited {:?}:\n{all}",
            out.status.code()
        );
        for bad in ["404 Not Found", "405 Method Not Allowed", "client: "] {
            assert!(!all.contains(bad), "`{example}` shows {bad:?}:\n{all}");
        }
    }
    // The files the examples write.
    let json = std::fs::read_to_string(dir.path().join("result.json")).unwrap();
    assert!(json.contains("\"requests\""), "{json}");
    let trace = std::fs::read_to_string(dir.path().join("get.trace")).unwrap();
    assert!(trace.contains("C: GET / HTTP/1.1\\r\\n"), "{trace}");
    let jar = std::fs::read_to_string(dir.path().join("jar.txt")).unwrap();
    assert!(jar.contains("\tvisits\t1"), "{jar}");
}
