//! Every lab step passes against protolab's own programs: if `labs` failed one of them, either
//! the program or the check would be wrong, and a learner would be misled.
//!
//! The servers run in-process on 127.0.0.1:0 and labs reaches them with `--target`; the
//! programs labs must start (clients) are run from the workspace's build folder.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use labs::catalog::{find_track, Track};
use labs::check::{Ctx, Reach};
use labs::report::{step_result, Style};
use labs::runner::run_step;
use server::config::{Config, Model};
use server::server::Server;

/// Runs every step of a track (optional ones included), and fails with the learner's report of
/// each step that did not pass.
fn run_track(track: &Track, ctx: &mut Ctx, skip: &[&str]) {
    let mut failures = String::new();
    for (index, step) in track.steps.iter().enumerate() {
        if skip.contains(&step.slug) {
            continue;
        }
        let result = run_step(ctx, track, index, step);
        if !result.passed() {
            failures.push_str(&step_result(&result, &Style::plain()));
        }
    }
    ctx.stop_learner();
    assert!(failures.is_empty(), "steps failed:\n{failures}");
}

fn start_server(root: &Path, model: Model) -> Server {
    let mut config = Config::for_tests(Some(root));
    config.model = model;
    config.lab = true;
    Server::start(config).expect("the server starts on 127.0.0.1:0")
}

fn target(addr: SocketAddr) -> Reach {
    Reach::Target(addr.to_string())
}

/// A program built in this workspace (cargo builds every binary before it runs the tests).
fn workspace_bin(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().expect("the test's own path");
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace` first",
        path.display()
    );
    path
}

#[test]
fn the_http_track_passes_against_server_in_every_model() {
    let track = find_track("http").unwrap();
    for model in [Model::Epoll, Model::Pool, Model::Threads] {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir(root.path().join("files")).unwrap();
        let server = start_server(root.path(), model);
        let mut ctx = Ctx::new(
            target(server.local_addr()),
            Duration::from_secs(5),
            Some(root.path().join("files")),
        );
        run_track(track, &mut ctx, &[]);
        server.shutdown();
    }
}

#[test]
fn the_webserver_track_passes_against_server_and_client() {
    let track = find_track("webserver").unwrap();
    let root = tempfile::tempdir().unwrap();
    let server = start_server(root.path(), Model::Threads);
    let mut ctx = Ctx::new(
        target(server.local_addr()),
        Duration::from_secs(5),
        Some(root.path().to_path_buf()),
    );
    run_track(track, &mut ctx, &["client"]);
    server.shutdown();

    let client = workspace_bin("client");
    let command = format!(
        "{} GET {{host}} {{port}} /HelloWorld.html",
        client.display()
    );
    let mut ctx = Ctx::new(Reach::Run(command), Duration::from_secs(5), None);
    let (track, index, step) = labs::catalog::find_step("webserver/client").unwrap();
    let result = run_step(&mut ctx, track, index, step);
    ctx.stop_learner();
    assert!(result.passed(), "{}", step_result(&result, &Style::plain()));
}

#[test]
fn the_pinger_server_step_passes_against_ping_serve() {
    let server =
        ping::serve::Server::bind(ping::serve::ServeOptions::lab(0, 7)).expect("ping serve binds");
    let addr = server.local_addr();
    let handle = server.spawn(Box::new(std::io::sink()));
    let mut ctx = Ctx::new(target(addr), Duration::from_secs(5), None);
    let (track, index, step) = labs::catalog::find_step("pinger/server").unwrap();
    let result = run_step(&mut ctx, track, index, step);
    drop(handle);
    assert!(result.passed(), "{}", step_result(&result, &Style::plain()));
}

#[test]
fn the_pinger_client_steps_pass_against_ping() {
    let ping = workspace_bin("ping");
    // The lab's client: ten pings, one at a time, a one-second timeout each.
    let command = format!("{} -c 10 -i 1 -W 1 -p {{port}} {{host}}", ping.display());
    let track = find_track("pinger").unwrap();
    let mut ctx = Ctx::new(Reach::Run(command), Duration::from_secs(5), None);
    run_track(track, &mut ctx, &["server", "heartbeat"]);

    let heartbeat = format!("{} heartbeat -p {{port}} -i 0.2 {{host}}", ping.display());
    let mut ctx = Ctx::new(Reach::Run(heartbeat), Duration::from_secs(5), None);
    let (track, index, step) = labs::catalog::find_step("pinger/heartbeat").unwrap();
    let result = run_step(&mut ctx, track, index, step);
    ctx.stop_learner();
    assert!(result.passed(), "{}", step_result(&result, &Style::plain()));
}

#[test]
fn the_mail_track_passes_against_smtp_send() {
    let smtp = workspace_bin("smtp");
    let files = tempfile::tempdir().unwrap();
    // The smallest valid PNG: signature, IHDR for 1x1 grey, IDAT, IEND.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\
        \x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x00\x00\x00\x00\x3a\x7e\x9b\x55\
        \x00\x00\x00\x0aIDAT\x78\x9c\x63\x60\x00\x00\x00\x02\x00\x01\xe5\x27\xde\xfc\
        \x00\x00\x00\x00IEND\xae\x42\x60\x82";
    let image = files.path().join("pixel.png");
    std::fs::write(&image, png).unwrap();
    let send = format!(
        "{} send --server {{host}}:{{port}} --from alice@example.com --to bob@example.com --subject hello --body 'I love computer networks!'",
        smtp.display()
    );
    let cases: [(&str, String); 5] = [
        ("mail/greeting mail/helo mail/envelope mail/data", send.clone()),
        ("mail/starttls", format!("{send} --tls starttls --insecure")),
        ("mail/auth-login", format!("LABS_PW=wonderland {send} --auth login --user alice --password-env LABS_PW --allow-plaintext-auth")),
        ("mail/auth-plain", format!("LABS_PW=wonderland {send} --auth plain --user alice --password-env LABS_PW --allow-plaintext-auth")),
        ("mail/mime", format!("{send} --attach {}", image.display())),
    ];
    let mut failures = String::new();
    for (steps, command) in cases {
        for id in steps.split(' ') {
            let mut ctx = Ctx::new(Reach::Run(command.clone()), Duration::from_secs(5), None);
            let (track, index, step) = labs::catalog::find_step(id).unwrap();
            let result = run_step(&mut ctx, track, index, step);
            ctx.stop_learner();
            if !result.passed() {
                failures.push_str(&step_result(&result, &Style::plain()));
            }
        }
    }
    assert!(failures.is_empty(), "steps failed:\n{failures}");
}

#[test]
fn the_proxy_track_passes_against_proxy() {
    let cache = tempfile::tempdir().unwrap();
    let proxy = proxy::Proxy::start(proxy::Options::for_tests(cache.path()))
        .expect("the proxy starts on 127.0.0.1:0");
    let mut ctx = Ctx::new(target(proxy.addr()), Duration::from_secs(5), None);
    run_track(find_track("proxy").unwrap(), &mut ctx, &[]);
    proxy.shutdown();
}
