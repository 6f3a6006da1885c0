//! Every example the learner is shown works as written, from a learner's folder.
//!
//! The examples are read from where the learner reads them: `labs --help` and every
//! subcommand's `--help`, every `labs show` page, and the labs part of the top README. Each one
//! is run with `sh -c` exactly as printed, with `labs` on the PATH, in a fresh folder that holds
//! the corpus program the example names (tests/learners/, under the name the example uses) and
//! the files it names, and must give the verdict it promises. A fixed port in an example
//! (`--target 127.0.0.1:8080`, `--listen 127.0.0.1:2526`) is the one thing changed: it becomes
//! a free port, with the learner's server started there first.
//!
//! An example found in the docs without an entry in [`expectations`] fails the test, so a new
//! example cannot go unchecked. Afterwards the folder holds what it held plus what the example
//! says it writes: labs never leaves a file of its own behind.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn labs_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_labs"))
}

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/learners")
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `labs ARGS` captured, as a learner would run it.
fn labs(args: &[&str]) -> String {
    let data = tempfile::tempdir().unwrap();
    let out = Command::new(labs_bin())
        .args(args)
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .expect("labs runs");
    assert!(out.status.success(), "labs {args:?}: {out:?}");
    String::from_utf8(out.stdout).expect("help is text")
}

/// The commands of a help text's `Examples:` section: each line that starts with a command
/// (`labs`, `sudo`, `client`), cut where the description column starts (two spaces or more),
/// with lines ending in `\` joined to the next.
fn help_examples(help: &str) -> Vec<String> {
    let Some(section) = help.split("\nExamples:\n").nth(1) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut pending = String::new();
    for line in section.lines() {
        if line.trim().is_empty() && pending.is_empty() {
            if !out.is_empty() {
                break;
            }
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        let text = line.trim();
        if pending.is_empty() && indent > 8 {
            continue; // a description on a line of its own
        }
        let command = text.split("  ").next().unwrap_or("").trim_end();
        if let Some(start) = command.strip_suffix('\\') {
            pending.push_str(start);
            continue;
        }
        pending.push_str(command);
        out.push(std::mem::take(&mut pending));
    }
    out
}

/// The help texts: `labs --help`, and `--help` of every subcommand and sub-subcommand.
fn help_texts() -> Vec<(String, String)> {
    let mut texts = vec![("labs --help".to_string(), labs(&["--help"]))];
    let mut queue = vec![Vec::<String>::new()];
    while let Some(path) = queue.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = labs(&args);
        let commands = help
            .split("\nCommands:\n")
            .nth(1)
            .and_then(|s| s.split("\n\n").next())
            .unwrap_or("");
        for line in commands.lines() {
            let Some(name) = line.split_whitespace().next() else {
                continue;
            };
            if line.starts_with("  ") && !line.starts_with("   ") && name != "help" {
                let mut sub = path.clone();
                sub.push(name.to_string());
                let mut args: Vec<&str> = sub.iter().map(String::as_str).collect();
                args.push("--help");
                texts.push((format!("labs {}", args.join(" ")), labs(&args)));
                queue.push(sub);
            }
        }
    }
    texts
}

/// Every `labs show` page: each track (`labs show http`) and each step.
fn show_pages() -> Vec<(String, String)> {
    let mut pages = Vec::new();
    for track in labs::catalog::tracks() {
        pages.push((track.id.to_string(), labs(&["show", track.id])));
        for step in track.steps {
            let id = track.step_id(step);
            pages.push((id.clone(), labs(&["show", &id])));
        }
    }
    pages.push(("autograder".into(), labs(&["show", "autograder"])));
    pages
}

/// The commands a show page gives: whole `labs check ...` commands in its text, `--run '...'`
/// and `--listen ADDR` put as `labs check STEP ...` for that step, and the commands of an
/// indented example block (the autograder page's scripts). "Check it:" lines are templates
/// (CMD, HOST:PORT) and are checked by [`every_step_checks_with_the_corpus_program`].
fn page_examples(step: &str, page: &str) -> Vec<String> {
    let mut out = Vec::new();
    let text = join_continuations(page);
    for line in text.lines() {
        if line.starts_with("Check it: ") {
            continue;
        }
        let trimmed = line.trim();
        if trimmed.starts_with("sudo ") {
            out.push(trimmed.to_string());
            continue;
        }
        // `labs check WHAT --flag ...` (prose that merely names `labs check` is no example).
        if let Some(at) = trimmed.find("labs check ") {
            let command = &trimmed[at..];
            let command = command.split("  ").next().unwrap_or(command);
            if command
                .split_whitespace()
                .nth(3)
                .is_some_and(|w| w.starts_with("--"))
            {
                out.push(command.trim_end_matches(['.', ')', ',']).to_string());
                continue;
            }
        }
        if step.contains('/') {
            for fragment in fragments(line, "--run '") {
                out.push(format!("labs check {step} --run '{fragment}'"));
            }
            for word in line.split_whitespace().collect::<Vec<_>>().windows(2) {
                if word[0] == "--listen" && word[1].starts_with("127.0.0.1:") {
                    let addr = word[1].trim_end_matches(['.', ',', ')']);
                    out.push(format!("labs check {step} --listen {addr}"));
                }
            }
        }
    }
    out
}

/// `'...'` bodies after each `start` in a line.
fn fragments<'l>(line: &'l str, start: &str) -> Vec<&'l str> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(at) = rest.find(start) {
        let after = &rest[at + start.len()..];
        let Some(end) = after.find('\'') else { break };
        out.push(&after[..end]);
        rest = &after[end + 1..];
    }
    out
}

/// Lines ending in ` \` joined with the next (its indentation dropped).
fn join_continuations(text: &str) -> String {
    let mut out = String::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let mut line = line.to_string();
        while let Some(start) = line.strip_suffix(" \\").map(str::to_string) {
            let next = lines.next().unwrap_or("").trim_start();
            line = format!("{start} {next}");
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The top README's labs examples: the commands in its `sh` blocks that run labs (comments
/// cut), and the whole `labs ...` commands it quotes in backticks (those without a word in
/// capitals, which is a placeholder such as FILE or OUT).
fn readme_examples() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let readme = join_continuations(&readme);
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if in_sh {
            let command = match line.find(" #") {
                Some(at) => &line[..at],
                None => line,
            };
            let command = command.split("  ").next().unwrap_or("").trim();
            if command.starts_with("labs") {
                out.push(command.to_string());
            }
            continue;
        }
        for quoted in line.split('`').skip(1).step_by(2) {
            let placeholder = quoted
                .as_bytes()
                .windows(2)
                .any(|w| w.iter().all(u8::is_ascii_uppercase));
            // A bare subcommand (`labs check`, `labs trace view`) names a command, no example.
            let bare = quoted
                .split_whitespace()
                .last()
                .is_some_and(|w| ["labs", "check", "view", "pcap", "import", "trace"].contains(&w));
            if quoted.starts_with("labs ") && !placeholder && !bare && !quoted.contains("...") {
                out.push(quoted.to_string());
            }
        }
    }
    out
}

/// Every example, with where it was found.
fn all_examples() -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    let mut add = |source: &str, example: String| {
        if !found.iter().any(|(e, _)| *e == example) {
            found.push((example, source.to_string()));
        }
    };
    for (source, help) in help_texts() {
        for example in help_examples(&help) {
            add(&source, example);
        }
    }
    for (step, page) in show_pages() {
        for example in page_examples(&step, &page) {
            add(&format!("labs show {step}"), example);
        }
    }
    for example in readme_examples() {
        add("README.md", example);
    }
    found
}

/// What a learner's folder holds before an example runs.
#[derive(Clone, Copy)]
enum Setup {
    /// Nothing.
    Empty,
    /// Corpus files, each as (name in the folder, name in tests/learners/).
    Files(&'static [(&'static str, &'static str)]),
}

/// What an example needs beyond files: a server of the learner's already running on the port
/// the example names, a recorded trace, a capture.
#[derive(Clone, Copy, PartialEq)]
enum Needs {
    Nothing,
    /// The finished HTTP server (server.py), started on the example's fixed port.
    Server,
    /// `traces/http-connect-1.trace`, as `labs check http/1 ... --record traces` writes it.
    Traces,
    /// `exchange.trace`, a recorded exchange.
    Exchange,
    /// `lab.pcap`, a capture of an exchange on port 8080.
    Capture,
    /// Nothing, but labs listens at the example's address and the client in the folder is
    /// started by hand against it each time labs says it is ready.
    ClientByHand(&'static str),
    /// Root and a free 127.0.0.1:80 (`sudo`): skipped, and said so, where the test is not.
    Root,
    /// Not a labs command (tcpdump, the client program): shown for the learner to run.
    NotLabs,
}

struct Expect {
    example: &'static str,
    setup: Setup,
    needs: Needs,
    /// The exit status the example promises.
    code: i32,
    /// Lines its output must have.
    says: &'static [&'static str],
    /// Files it writes in the folder (labs leaves nothing else behind).
    writes: &'static [&'static str],
}

const HTTP_SERVER: Setup = Setup::Files(&[("server.py", "server.py")]);
const LAB1: Setup = Setup::Files(&[
    ("WebServer.py", "WebServer.py"),
    ("HelloWorld.html", "HelloWorld.html"),
]);
const LAB1_CLIENT: Setup = Setup::Files(&[
    ("client.py", "client.py"),
    ("HelloWorld.html", "HelloWorld.html"),
]);
const MAIL: Setup = Setup::Files(&[("mail.py", "SMTPClient.py")]);

/// The verdict each example promises.
fn expectations() -> Vec<Expect> {
    let e = |example, setup, needs, code, says, writes| Expect {
        example,
        setup,
        needs,
        code,
        says,
        writes,
    };
    use Needs::*;
    vec![
        e("labs", Setup::Empty, Nothing, 0, &["http       An HTTP/1.1 server"], &[]),
        e("labs show http/1", Setup::Empty, Nothing, 0, &["http/connect (step 1 of 23)"], &[]),
        e("labs next", Setup::Empty, Nothing, 0, &["http/connect (step 1 of 23)"], &[]),
        e("labs show autograder", Setup::Empty, Nothing, 0, &["Grading with labs"], &[]),
        e("labs show proxy/forward", Setup::Empty, Nothing, 0, &["--origin-on-80"], &[]),
        e(
            "labs check http/1 --target 127.0.0.1:8080",
            HTTP_SERVER,
            Server,
            0,
            &["PASS http/connect", "1 passed, 0 failed"],
            &[],
        ),
        e(
            "labs check http/1 --target 127.0.0.1:8080 --record traces",
            HTTP_SERVER,
            Server,
            0,
            &["PASS http/connect"],
            &["traces", "traces/http-connect-1.trace"],
        ),
        e(
            "labs check http --run 'python3 server.py {port} {dir}/files'",
            HTTP_SERVER,
            Nothing,
            0,
            &["PASS http/chunked", "18 passed, 0 failed"],
            &[],
        ),
        e(
            "labs check http --keep-going --run 'python3 server.py {port} {dir}/files' --junit junit.xml --gradescope results.json",
            HTTP_SERVER,
            Nothing,
            0,
            &["18 passed, 0 failed"],
            &["junit.xml", "results.json"],
        ),
        e(
            "labs check http --run 'python3 server.py {port} {dir}/files' --html report.html",
            HTTP_SERVER,
            Nothing,
            0,
            &["18 passed, 0 failed"],
            &["report.html"],
        ),
        e(
            "labs check http --keep-going --run 'python3 server.py {port} {dir}/files' --junit labs-junit.xml",
            HTTP_SERVER,
            Nothing,
            0,
            &["18 passed, 0 failed"],
            &["labs-junit.xml"],
        ),
        e(
            "labs check http --optional --keep-going --run 'python3 server.py {port} {dir}/files' --weights /autograder/source/weights.txt --gradescope /autograder/results/results.json",
            HTTP_SERVER,
            Nothing,
            0,
            &["23 passed, 0 failed"],
            &["autograder/results/results.json"],
        ),
        e(
            "labs check http/files --run 'python3 server.py {port} {dir}/files'",
            HTTP_SERVER,
            Nothing,
            0,
            &["PASS http/files"],
            &[],
        ),
        e(
            "labs check mail/helo --run 'python3 mail.py {host} {port}'",
            MAIL,
            Nothing,
            0,
            &["PASS mail/helo"],
            &[],
        ),
        e(
            "labs check mail/greeting --run 'python3 mail.py {host} {port}'",
            MAIL,
            Nothing,
            0,
            &["PASS mail/greeting"],
            &[],
        ),
        e(
            "labs check mail/greeting --listen 127.0.0.1:2526",
            MAIL,
            ClientByHand("mail.py"),
            0,
            &["PASS mail/greeting"],
            &[],
        ),
        e(
            "labs check mail --listen 127.0.0.1:2526",
            MAIL,
            ClientByHand("mail.py"),
            0,
            &["PASS mail/data", "4 passed, 0 failed"],
            &[],
        ),
        e(
            "labs check webserver --run 'python3 WebServer.py {port}'",
            LAB1,
            Nothing,
            0,
            &["PASS webserver/hello", "PASS webserver/not-found", "compared with your own"],
            &[],
        ),
        e(
            "labs check webserver/client --run 'python3 client.py {host} {port} HelloWorld.html'",
            LAB1_CLIENT,
            Nothing,
            0,
            &["PASS webserver/client"],
            &[],
        ),
        e(
            "labs check pinger/client --run 'python3 UDPPingerClient.py {host} {port}'",
            Setup::Files(&[("UDPPingerClient.py", "pinger_datetime.py")]),
            Nothing,
            0,
            &["PASS pinger/client", "labs dropped pings [3, 7]"],
            &[],
        ),
        e(
            "labs check pinger/server --run 'python3 UDPPingerServer.py {port}'",
            Setup::Files(&[("UDPPingerServer.py", "UDPPingerServer.py")]),
            Nothing,
            0,
            &["PASS pinger/server"],
            &[],
        ),
        e(
            "labs check pinger/heartbeat --run 'python3 heartbeat.py {host} {port}'",
            Setup::Files(&[("heartbeat.py", "heartbeat.py")]),
            Nothing,
            0,
            &["PASS pinger/heartbeat"],
            &[],
        ),
        e(
            "sudo \"$(command -v labs)\" check proxy --origin-on-80 --run 'python3 ProxyServer.py {port}'",
            Setup::Files(&[("ProxyServer.py", "proxy_port80.py")]),
            Root,
            0,
            &["PASS proxy/forward", "4 passed, 0 failed"],
            &[],
        ),
        e(
            "labs trace view traces/http-connect-1.trace -o connect.svg",
            Setup::Empty,
            Traces,
            0,
            &["wrote connect.svg"],
            &["connect.svg"],
        ),
        e(
            "labs trace view traces/http-connect-1.trace -o connect.html",
            Setup::Empty,
            Traces,
            0,
            &["wrote connect.html"],
            &["connect.html"],
        ),
        e(
            "labs trace pcap traces/http-connect-1.trace -o connect.pcapng",
            Setup::Empty,
            Traces,
            0,
            &["wrote connect.pcapng"],
            &["connect.pcapng"],
        ),
        e(
            "labs trace view exchange.trace",
            Setup::Empty,
            Exchange,
            0,
            &["wrote exchange.html"],
            &["exchange.html"],
        ),
        e(
            "labs trace view exchange.trace -o picture.svg",
            Setup::Empty,
            Exchange,
            0,
            &["wrote picture.svg"],
            &["picture.svg"],
        ),
        e(
            "labs trace pcap exchange.trace -o exchange.pcapng",
            Setup::Empty,
            Exchange,
            0,
            &["wrote exchange.pcapng"],
            &["exchange.pcapng"],
        ),
        e(
            "labs trace import lab.pcap -o lab.trace --port 8080",
            Setup::Empty,
            Capture,
            0,
            &["wrote lab.trace"],
            &["lab.trace"],
        ),
        e("sudo tcpdump -i lo -w lab.pcap 'tcp port 8080'", Setup::Empty, NotLabs, 0, &[], &[]),
        e("client --raw lab.trace 127.0.0.1 8080", Setup::Empty, NotLabs, 0, &[], &[]),
    ]
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap()
}

/// Every file and folder under `dir`, relative to it.
fn listing(dir: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let name = path
                .strip_prefix(dir)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            if path.is_dir() {
                stack.push(path);
            }
            out.insert(name);
        }
    }
    out
}

/// A shell whose PATH starts with the folder `labs` is in, in `dir`.
fn shell(dir: &Path, data: &Path, command: &str) -> Command {
    let bin = labs_bin().parent().unwrap().to_path_buf();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", path)
        .env("PROTOLAB_DATA_DIR", data)
        .env("NO_COLOR", "1");
    sh
}

/// Waits until something accepts connections on 127.0.0.1:`port` (the finished server reads an
/// empty connection as the end of a client, as a server should).
fn wait_listening(port: u16, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(child.try_wait().unwrap().is_none(), "the server exited");
        assert!(Instant::now() < deadline, "the server never listened");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Kills a child that may still be running and reaps it.
struct Reaped(Child);
impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Runs `labs` with `args` in `dir`, quietly, for an example's prerequisites.
fn labs_in(dir: &Path, data: &Path, args: &[&str]) {
    let out = Command::new(labs_bin())
        .args(args)
        .current_dir(dir)
        .env("PROTOLAB_DATA_DIR", data)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(out.status.success(), "labs {args:?}: {out:?}");
}

/// Runs one example as written (its fixed port made free) and checks its promise.
fn run(expect: &Expect) -> Result<(), String> {
    let folder = tempfile::tempdir().unwrap();
    let dir = folder.path();
    let data = tempfile::tempdir().unwrap();
    if let Setup::Files(files) = expect.setup {
        for (name, source) in files {
            std::fs::copy(corpus().join(source), dir.join(name)).unwrap();
        }
    }
    let mut command = expect.example.to_string();
    let mut server = None;
    let mut before_extra = BTreeSet::new();
    match expect.needs {
        Needs::NotLabs => return Ok(()),
        Needs::Root => {
            let root = std::fs::read_to_string("/proc/self/status")
                .map(|s| {
                    s.lines()
                        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
                })
                .unwrap_or(false);
            if !root || std::net::TcpListener::bind("127.0.0.1:80").is_err() {
                eprintln!("skipped (needs root and a free 127.0.0.1:80): {command}");
                return Ok(());
            }
            command = command.replacen("sudo ", "", 1);
        }
        Needs::Server => {
            let port = free_port();
            let child = Command::new("python3")
                .args(["server.py", &port.to_string(), "files"])
                .current_dir(dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("python3 runs");
            let mut child = Reaped(child);
            wait_listening(port, &mut child.0);
            server = Some(child);
            command = command.replace("127.0.0.1:8080", &format!("127.0.0.1:{port}"));
        }
        Needs::Traces | Needs::Exchange | Needs::Capture => {
            // Recorded from a real exchange with the finished server, as `--record` writes it.
            let work = tempfile::tempdir().unwrap();
            std::fs::copy(corpus().join("server.py"), work.path().join("server.py")).unwrap();
            labs_in(
                work.path(),
                data.path(),
                &[
                    "check",
                    "http/echo",
                    "--run",
                    "python3 server.py {port}",
                    "--record",
                    "traces",
                ],
            );
            let recorded = work.path().join("traces/http-echo-1.trace");
            match expect.needs {
                Needs::Traces => {
                    std::fs::create_dir(dir.join("traces")).unwrap();
                    std::fs::copy(&recorded, dir.join("traces/http-connect-1.trace")).unwrap();
                    before_extra
                        .extend(["traces".to_string(), "traces/http-connect-1.trace".into()]);
                }
                Needs::Exchange => {
                    std::fs::copy(&recorded, dir.join("exchange.trace")).unwrap();
                    before_extra.insert("exchange.trace".to_string());
                }
                _ => {
                    let pcap = work.path().join("lab.pcap");
                    labs_in(
                        work.path(),
                        data.path(),
                        &[
                            "trace",
                            "pcap",
                            recorded.to_str().unwrap(),
                            "-o",
                            pcap.to_str().unwrap(),
                            "--port",
                            "8080",
                        ],
                    );
                    std::fs::copy(&pcap, dir.join("lab.pcap")).unwrap();
                    before_extra.insert("lab.pcap".to_string());
                }
            }
        }
        Needs::Nothing | Needs::ClientByHand(_) => {}
    }
    // The autograder's absolute paths become the folder's own; its weights file is the page's.
    if command.contains("/autograder/") {
        std::fs::create_dir_all(dir.join("autograder/source")).unwrap();
        std::fs::create_dir_all(dir.join("autograder/results")).unwrap();
        std::fs::write(
            dir.join("autograder/source/weights.txt"),
            "# http track, out of 10\nhttp/connect 1\nhttp/echo    2\nhttp/head    0.5\n",
        )
        .unwrap();
        command = command.replace("/autograder/", "autograder/");
    }
    let before = listing(dir);
    let output = match expect.needs {
        Needs::ClientByHand(client) => {
            let port = free_port();
            command = command.replace("127.0.0.1:2526", &format!("127.0.0.1:{port}"));
            by_hand(dir, data.path(), &command, client, port)
        }
        _ => shell(dir, data.path(), &command).output().unwrap(),
    };
    drop(server);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let story = format!("`{command}`:\n{stdout}{stderr}");
    if output.status.code() != Some(expect.code) {
        return Err(format!(
            "exit {:?}, not {}: {story}",
            output.status.code(),
            expect.code
        ));
    }
    for line in expect.says {
        if !stdout.contains(line) && !stderr.contains(line) {
            return Err(format!("no `{line}` in {story}"));
        }
    }
    let mut after = listing(dir);
    for written in expect.writes {
        if !after.remove(*written) {
            return Err(format!("{written} was not written: {story}"));
        }
    }
    let mut before = before;
    before.extend(before_extra);
    if after != before {
        return Err(format!(
            "the folder changed: {before:?} -> {after:?}: {story}"
        ));
    }
    Ok(())
}

/// Runs an example with `--listen`: each time labs says it is ready, the learner starts
/// `python3 CLIENT 127.0.0.1 PORT` by hand.
fn by_hand(dir: &Path, data: &Path, command: &str, client: &str, port: u16) -> Output {
    let mut labs = shell(dir, data, command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = labs.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut text = Vec::new();
        stdout.read_to_end(&mut text).map(|_| text)
    });
    let mut said = Vec::new();
    let mut clients = Vec::new();
    for line in BufReader::new(labs.stderr.take().unwrap()).lines() {
        let line = line.unwrap();
        if line.contains("start your client against it now") {
            clients.push(Reaped(
                Command::new("python3")
                    .args([client, "127.0.0.1", &port.to_string()])
                    .current_dir(dir)
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .unwrap(),
            ));
        }
        said.extend_from_slice(line.as_bytes());
        said.push(b'\n');
    }
    let status = labs.wait().unwrap();
    drop(clients);
    Output {
        status,
        stdout: reader.join().unwrap().unwrap(),
        stderr: said,
    }
}

fn expectation<'e>(all: &'e [Expect], example: &str) -> Option<&'e Expect> {
    all.iter().find(|e| e.example == example)
}

/// The examples found in the docs, each with its expectation (none may be missing).
fn found_with_expectations() -> Vec<(String, String)> {
    let all = expectations();
    let found = all_examples();
    let missing: Vec<String> = found
        .iter()
        .filter(|(example, _)| expectation(&all, example).is_none())
        .map(|(example, source)| format!("{source}: {example}"))
        .collect();
    assert!(
        missing.is_empty(),
        "examples without an expectation:\n{}",
        missing.join("\n")
    );
    found
}

/// Runs the examples whose command matches `pick`, all of them checked.
fn run_examples(pick: impl Fn(&str) -> bool) {
    let all = expectations();
    let mut failures = Vec::new();
    let mut ran = 0;
    for (example, source) in found_with_expectations() {
        if !pick(&example) {
            continue;
        }
        ran += 1;
        let expect = expectation(&all, &example).unwrap();
        if let Err(why) = run(expect) {
            failures.push(format!("{source}: {why}"));
        }
    }
    assert!(ran > 0, "no example matched");
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

fn is_http_track(example: &str) -> bool {
    example.contains("check http --") || example.contains("check http/")
}

#[test]
fn every_example_has_an_expectation_and_every_expectation_an_example() {
    let found: Vec<String> = found_with_expectations()
        .into_iter()
        .map(|(e, _)| e)
        .collect();
    // The examples the docs show, at least these (the extraction must not go blind).
    for example in [
        "labs check http/1 --target 127.0.0.1:8080",
        "labs check webserver/client --run 'python3 client.py {host} {port} HelloWorld.html'",
        "labs check mail/greeting --listen 127.0.0.1:2526",
        "labs trace import lab.pcap -o lab.trace --port 8080",
        "labs check http --optional --keep-going --run 'python3 server.py {port} {dir}/files' --weights /autograder/source/weights.txt --gradescope /autograder/results/results.json",
    ] {
        assert!(found.iter().any(|f| f == example), "{example} not found in {found:#?}");
    }
    let stale: Vec<&str> = expectations()
        .iter()
        .map(|e| e.example)
        .filter(|e| !found.iter().any(|f| f == e))
        .collect();
    assert!(
        stale.is_empty(),
        "expectations for examples no doc shows: {stale:#?}"
    );
}

#[test]
fn the_http_track_examples_work_as_written() {
    run_examples(is_http_track);
}

#[test]
fn the_other_examples_work_as_written() {
    run_examples(|e| !is_http_track(e));
}
