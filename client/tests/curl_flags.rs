//! The curl flags the demo site teaches (`-r`, `-z`, `-b`, `-c`, `-F`, `--data-urlencode`,
//! `--resolve`) and the lab form's forgiveness, through the `client` binary against the real
//! demo server, side by side with real curl where it is installed (scripts/install-test-deps.sh
//! installs it; without it the comparisons are skipped with a note, the client's own checks
//! still run).

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, UNIX_EPOCH};

use server::config::Config;
use server::Server;

/// The demo site on 127.0.0.1:0; stopped when dropped.
fn demo() -> Server {
    Server::start(Config::for_tests(None)).expect("the demo server starts")
}

fn client(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_client"))
        .current_dir(dir)
        .args(["--max-time", "10"])
        .args(args)
        .output()
        .expect("the client runs")
}

/// curl, or `None` (with the reason printed) when it is not installed.
fn curl(dir: &Path, args: &[&str]) -> Option<Output> {
    match Command::new("curl")
        .current_dir(dir)
        .args(["-s", "--max-time", "10"])
        .args(args)
        .output()
    {
        Ok(out) => Some(out),
        Err(e) => {
            eprintln!(
                "skipping the comparison with curl: it cannot be run ({e}); \
                 scripts/install-test-deps.sh installs it"
            );
            None
        }
    }
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The `C:` lines of an `/inspect` answer, with the User-Agent left out, the multipart boundary
/// made the same and the head's fields sorted (curl writes Content-Length before Content-Type).
fn request_seen(inspect: &str) -> Vec<String> {
    let lines: Vec<&str> = inspect.lines().filter(|l| l.starts_with("C: ")).collect();
    let boundary = lines
        .iter()
        .find_map(|l| {
            l.split_once("boundary=")
                .map(|(_, b)| b.trim_end_matches("\\r\\n"))
        })
        .map(str::to_string);
    let mut out: Vec<String> = lines
        .iter()
        .filter(|l| !l.starts_with("C: User-Agent:"))
        .map(|l| match &boundary {
            Some(b) => l.replace(b.as_str(), "BOUNDARY"),
            None => l.to_string(),
        })
        .collect();
    let end = out
        .iter()
        .position(|l| l == "C: \\r\\n")
        .unwrap_or(out.len());
    out[1..end].sort();
    out
}

#[test]
fn range_asks_for_part_of_the_body_as_curl_does() {
    let server = demo();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/files/large.txt", server.local_addr());
    for range in ["0-63", "-32", "2097120-"] {
        let out = client(dir.path(), &["-i", "-r", range, &url]);
        let text = ok(&out);
        assert!(
            text.starts_with("HTTP/1.1 206 Partial Content\r\n"),
            "{text}"
        );
        if let Some(c) = curl(dir.path(), &["-i", "-r", range, &url]) {
            let theirs = ok(&c);
            let body = |t: &str| t.split_once("\r\n\r\n").unwrap().1.to_string();
            assert_eq!(body(&text), body(&theirs), "-r {range}");
        }
    }
    let body = ok(&client(dir.path(), &["-r", "0-63", &url]));
    assert_eq!(
        body,
        "line 000001 of 065536 .........\nline 000002 of 065536 .........\n"
    );
    let bad = client(dir.path(), &["-r", "10-5", &url]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("FIRST-LAST"));
}

#[test]
fn time_cond_takes_a_date_or_a_files_time() {
    let server = demo();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("http://{}/files/hello.txt", server.local_addr());
    // The demo content changed on 2026-11-21; a copy from after that is up to date.
    let newer = dir.path().join("copy-newer.txt");
    let older = dir.path().join("copy-older.txt");
    for (file, at) in [(&newer, 1_900_000_000), (&older, 1_700_000_000)] {
        std::fs::write(file, "x").unwrap();
        std::fs::File::options()
            .write(true)
            .open(file)
            .unwrap()
            .set_modified(UNIX_EPOCH + Duration::from_secs(at))
            .unwrap();
    }
    let cases: [(&str, &str); 5] = [
        ("Sat, 21 Nov 2026 00:00:00 GMT", "304"),
        ("2026-01-01", "200"),
        ("copy-newer.txt", "304"),
        ("copy-older.txt", "200"),
        ("-2026-01-01", "412"),
    ];
    for (cond, status) in cases {
        let text = ok(&client(dir.path(), &["-i", "-z", cond, &url]));
        assert!(
            text.starts_with(&format!("HTTP/1.1 {status} ")),
            "-z {cond}: {text}"
        );
        if cond.contains("-01-") {
            continue; // curl does not read ISO dates; the HTTP form and files are compared.
        }
        if let Some(c) = curl(dir.path(), &["-i", "-z", cond, &url]) {
            let theirs = ok(&c);
            assert!(
                theirs.starts_with(&format!("HTTP/1.1 {status} ")),
                "curl -z {cond}: {theirs}"
            );
        }
    }
    let out = client(dir.path(), &["-v", "-z", "copy-newer.txt", &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("If-Modified-Since: Sun, 17 Mar 2030 17:46:40 GMT"),
        "{err}"
    );
    let bad = client(dir.path(), &["-z", "next tuesday", &url]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("neither a file nor a date"));
}

/// The cookie lines of a Netscape cookie file, with the expiry left out (it is set from the
/// clock at the moment each program received the cookie).
fn cookie_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.is_empty() && (!l.starts_with('#') || l.starts_with("#HttpOnly_")))
        .map(|l| {
            let mut f: Vec<&str> = l.split('\t').collect();
            assert_eq!(f.len(), 7, "{l}");
            f[4] = "EXPIRY";
            f.join("\t")
        })
        .collect()
}

fn visits(page: &str) -> String {
    // The demo page says "You have visited this page <strong id="visits">N</strong> time(s)".
    let tag = "<strong id=\"visits\">";
    let at = page.find(tag).expect("the visit count") + tag.len();
    page[at..].split('<').next().unwrap().to_string()
}

#[test]
fn cookie_jars_are_curls_netscape_files() {
    let server = demo();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let url = format!("http://{}/cookies", server.local_addr());
    // A cookie file that does not exist yet is an empty jar, as for curl.
    assert_eq!(
        visits(&ok(&client(d, &["-b", "jar.txt", "-c", "jar.txt", &url]))),
        "1"
    );
    assert_eq!(
        visits(&ok(&client(d, &["-b", "jar.txt", "-c", "jar.txt", &url]))),
        "2"
    );
    let ours = cookie_lines(&d.join("jar.txt"));
    assert_eq!(
        ours,
        ["#HttpOnly_127.0.0.1\tFALSE\t/cookies\tFALSE\tEXPIRY\tvisits\t2"]
    );
    // `-b name=value` is sent as written.
    let inspect = format!("http://{}/inspect", server.local_addr());
    let text = ok(&client(d, &["-b", "a=1; b=2", &inspect]));
    assert!(text.contains("C: Cookie: a=1; b=2\\r\\n"), "{text}");
    // The jar's cookies go only where they apply: not to /inspect (Path=/cookies).
    let text = ok(&client(d, &["-b", "jar.txt", &inspect]));
    assert!(!text.contains("Cookie:"), "{text}");

    if curl(d, &["--version"]).is_none() {
        return;
    }
    // The same visits with curl give the same file; each reads the other's.
    ok(&curl(d, &["-b", "curl.txt", "-c", "curl.txt", &url]).unwrap());
    ok(&curl(d, &["-b", "curl.txt", "-c", "curl.txt", &url]).unwrap());
    assert_eq!(cookie_lines(&d.join("curl.txt")), ours);
    assert_eq!(visits(&ok(&client(d, &["-b", "curl.txt", &url]))), "3");
    assert_eq!(
        visits(&ok(&curl(d, &["-b", "jar.txt", &url]).unwrap())),
        "3"
    );
    let theirs = ok(&curl(d, &["-b", "a=1; b=2", &inspect]).unwrap());
    assert!(theirs.contains("C: Cookie: a=1; b=2\\r\\n"), "{theirs}");
}

#[test]
fn forms_are_encoded_byte_for_byte_as_curl_encodes_them() {
    let server = demo();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("notes.txt"), "two\nlines\n").unwrap();
    std::fs::write(d.join("data.bin"), [0u8, 1, 2, 255]).unwrap();
    let url = format!("http://{}/inspect", server.local_addr());
    let cases: [&[&str]; 5] = [
        &["-F", "name=Grace", "-F", "upload=@notes.txt"],
        &[
            "-F",
            "upload=@notes.txt;type=text/markdown",
            "-F",
            "blob=@data.bin;filename=x.bin",
        ],
        &["-F", "text=<notes.txt"],
        &[
            "--data-urlencode",
            "message=hi there & more",
            "--data-urlencode",
            "x@notes.txt",
            "-d",
            "a=1",
        ],
        &[
            "--data-urlencode",
            "v=a b+c*d!e(f)~g.h_i-j/k:l",
            "--data-urlencode",
            "=plain text",
        ],
    ];
    for args in cases {
        let mut all = args.to_vec();
        all.push(&url);
        let ours = request_seen(&ok(&client(d, &all)));
        assert!(ours[0].starts_with("C: POST /inspect HTTP/1.1"), "{ours:?}");
        if let Some(c) = curl(d, &all) {
            assert_eq!(ours, request_seen(&ok(&c)), "{args:?}");
        }
    }
    let both = client(d, &["-F", "a=1", "-d", "b=2", &url]);
    assert_eq!(both.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&both.stderr).contains("one body"));
    let missing = client(d, &["-F", "f=@absent.txt", &url]);
    assert_eq!(missing.status.code(), Some(26));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("absent.txt"));
}

#[test]
fn resolve_takes_curls_host_port_addr() {
    let server = demo();
    let dir = tempfile::tempdir().unwrap();
    let port = server.local_addr().port();
    let pin = format!("lab.example:{port}:127.0.0.1");
    let url = format!("http://lab.example:{port}/inspect");
    let ours = ok(&client(dir.path(), &["--resolve", &pin, &url]));
    assert!(
        ours.contains(&format!("C: Host: lab.example:{port}\\r\\n")),
        "{ours}"
    );
    if let Some(c) = curl(dir.path(), &["--resolve", &pin, &url]) {
        assert_eq!(request_seen(&ours), request_seen(&ok(&c)));
    }
    let out = client(dir.path(), &["-v", "--resolve", &pin, &url]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the resolver is not asked"), "{err}");
    let bad = client(dir.path(), &["--resolve", "lab.example:127.0.0.1", &url]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("HOST:PORT:ADDR"));
}

#[test]
fn the_lab_form_forgives_what_a_learner_types() {
    let server = demo();
    let dir = tempfile::tempdir().unwrap();
    let port = server.local_addr().port().to_string();
    let hello = ok(&client(
        dir.path(),
        &["GET", "localhost", &port, "files/hello.txt"],
    ));
    let direct = ok(&client(
        dir.path(),
        &["GET", "localhost", &port, "/files/hello.txt"],
    ));
    assert_eq!(hello, direct);
    assert!(!hello.is_empty());
    let lower = client(dir.path(), &["get", "localhost", &port, "/"]);
    assert_eq!(lower.status.code(), Some(2));
    let err = String::from_utf8_lossy(&lower.stderr);
    assert!(
        err.contains("case-sensitive") && err.contains("write GET"),
        "{err}"
    );
}
