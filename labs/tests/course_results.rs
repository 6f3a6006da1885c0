//! `labs check --junit/--gradescope`: the files course tooling reads, written in the same run as
//! `--json`, checked against the JUnit schema CI reporters read (with xmllint) and against
//! Gradescope's documented results.json fields.

use std::process::Command;

use protolab_tests::tools::have;

fn require(tool: &str) {
    let found = Command::new("sh")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        found,
        "{tool} is not installed: run `bash scripts/install-test-deps.sh`"
    );
}

#[test]
fn one_run_writes_json_junit_and_gradescope_results() {
    require("xmllint");
    let data = tempfile::tempdir().unwrap();
    let junit = data.path().join("junit.xml");
    let gradescope = data.path().join("results.json");
    let weights = data.path().join("weights.txt");
    std::fs::write(
        &weights,
        "# the http track\nhttp/connect 2\nhttp/respond 3\n",
    )
    .unwrap();
    let run = format!(
        "python3 {}/tests/fakes/http_broken.py wrong-length {{port}} {{dir}}/files",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args([
            "check",
            "http",
            "--run",
            &run,
            "--timeout",
            "500ms",
            "--json",
        ])
        .arg("--junit")
        .arg(&junit)
        .arg("--gradescope")
        .arg(&gradescope)
        .arg("--weights")
        .arg(&weights)
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("--json still prints");
    let ran = json["steps"].as_array().unwrap().len();
    let passed = json["passed"].as_u64().unwrap() as usize;
    assert_eq!(json["failed"], 1);
    // The fake's wrong Content-Length fails the first step that reads a body.
    let failed = &json["steps"][ran - 1];
    assert_eq!(failed["id"], "http/respond");
    let problem = failed["problem"].as_str().unwrap();

    // JUnit: valid against the schema, one testcase per required step of the track.
    let check = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(format!(
            "{}/tests/schemas/junit.xsd",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(&junit)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // The schema has teeth: a testcase without its classname does not pass.
    let broken = data.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<testsuites><testsuite name=\"t\" tests=\"1\" failures=\"0\" errors=\"0\"><testcase name=\"x\"/></testsuite></testsuites>",
    )
    .unwrap();
    let rejected = Command::new("xmllint")
        .args(["--noout", "--schema"])
        .arg(format!(
            "{}/tests/schemas/junit.xsd",
            env!("CARGO_MANIFEST_DIR")
        ))
        .arg(&broken)
        .output()
        .unwrap();
    assert!(
        !rejected.status.success(),
        "the schema accepted a testcase without classname"
    );
    let xml = std::fs::read_to_string(&junit).unwrap();
    let required = labs::catalog::find_track("http")
        .unwrap()
        .steps
        .iter()
        .filter(|s| !s.optional)
        .count();
    assert_eq!(xml.matches("<testcase ").count(), required, "{xml}");
    assert_eq!(xml.matches("<failure ").count(), 1, "{xml}");
    assert_eq!(xml.matches("<skipped ").count(), required - ran, "{xml}");
    assert!(
        xml.contains("<testcase name=\"http/respond\" classname=\"labs.http\""),
        "{xml}"
    );
    assert!(xml.contains(&format!("problem: {problem}")), "{xml}");
    assert!(
        xml.contains(&format!("<failure message=\"{problem}\"")),
        "{xml}"
    );

    // Gradescope: the documented fields, with the weights applied.
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&gradescope).unwrap()).unwrap();
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests.len(), required);
    let mut total = 0.0;
    for t in tests {
        for field in ["name", "output", "status"] {
            assert!(t[field].is_string(), "{field} in {t}");
        }
        let (score, max) = (
            t["score"].as_f64().unwrap(),
            t["max_score"].as_f64().unwrap(),
        );
        assert!(["passed", "failed"].contains(&t["status"].as_str().unwrap()));
        assert_eq!(score, if t["status"] == "passed" { max } else { 0.0 });
        total += score;
    }
    assert_eq!(results["score"].as_f64().unwrap(), total);
    let connect = &tests[0];
    assert!(connect["name"]
        .as_str()
        .unwrap()
        .starts_with("http/connect"));
    assert_eq!(
        (connect["status"].as_str(), connect["max_score"].as_f64()),
        (Some("passed"), Some(2.0))
    );
    let respond = &tests[ran - 1];
    assert_eq!(
        (respond["status"].as_str(), respond["max_score"].as_f64()),
        (Some("failed"), Some(3.0))
    );
    assert!(respond["output"]
        .as_str()
        .unwrap()
        .contains("FAIL http/respond"));
    assert_eq!(total, 2.0 + (passed - 1) as f64);
}

#[test]
fn a_bad_weights_file_is_a_usage_error_and_show_explains_the_autograder() {
    let data = tempfile::tempdir().unwrap();
    let weights = data.path().join("weights.txt");
    std::fs::write(&weights, "http/nosuch 2\n").unwrap();
    let labs = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_labs"))
            .args(args)
            .env("PROTOLAB_DATA_DIR", data.path())
            .output()
            .unwrap()
    };
    let out = labs(&[
        "check",
        "http",
        "--target",
        "127.0.0.1:9",
        "--gradescope",
        "r.json",
        "--weights",
        weights.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 1: there is no step `http/nosuch`"));
    let guide = labs(&["show", "autograder"]);
    let guide = String::from_utf8_lossy(&guide.stdout);
    assert!(guide.contains("run_autograder"), "{guide}");
    assert!(
        guide.contains("--gradescope /autograder/results/results.json"),
        "{guide}"
    );
}

#[test]
fn the_text_report_junit_gradescope_and_html_come_from_one_run_with_optional_steps_at_zero() {
    let data = tempfile::tempdir().unwrap();
    let (junit, gradescope, page) = (
        data.path().join("junit.xml"),
        data.path().join("results.json"),
        data.path().join("report.html"),
    );
    let run = format!(
        "python3 {}/tests/fakes/http_broken.py wrong-length {{port}} {{dir}}/files",
        env!("CARGO_MANIFEST_DIR")
    );
    let out = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args([
            "check",
            "http",
            "--optional",
            "--run",
            &run,
            "--timeout",
            "500ms",
        ])
        .arg("--junit")
        .arg(&junit)
        .arg("--gradescope")
        .arg(&gradescope)
        .arg("--html")
        .arg(&page)
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The text report, as without the files.
    assert!(stdout.contains("PASS http/connect"), "{stdout}");
    assert!(stdout.contains("FAIL http/respond"), "{stdout}");
    assert!(stdout.contains("1 failed"), "{stdout}");
    let track = labs::catalog::find_track("http").unwrap();
    let optional: Vec<String> = track
        .steps
        .iter()
        .filter(|s| s.optional)
        .map(|s| track.step_id(s))
        .collect();
    assert!(!optional.is_empty(), "the http track has optional steps");
    // JUnit: every step of the track, optional ones too; a passed step keeps its report.
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert_eq!(
        xml.matches("<testcase ").count(),
        track.steps.len(),
        "{xml}"
    );
    assert!(
        xml.contains("<system-out>PASS http/connect"),
        "a passed step carries its report: {xml}"
    );
    if have("xmllint") {
        let check = Command::new("xmllint")
            .args(["--noout", "--schema"])
            .arg(format!(
                "{}/tests/schemas/junit.xsd",
                env!("CARGO_MANIFEST_DIR")
            ))
            .arg(&junit)
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "{}",
            String::from_utf8_lossy(&check.stderr)
        );
    }
    // Gradescope: optional steps are entries worth nothing without --weights.
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&gradescope).unwrap()).unwrap();
    let tests = results["tests"].as_array().unwrap();
    assert_eq!(tests.len(), track.steps.len());
    for (t, step) in tests.iter().zip(track.steps.iter()) {
        let id = track.step_id(step);
        assert!(t["name"].as_str().unwrap().starts_with(&id), "{t}");
        let max = if step.optional { 0.0 } else { 1.0 };
        assert_eq!(t["max_score"].as_f64(), Some(max), "{id}: {t}");
    }
    // The page: one section per step that ran.
    let html = std::fs::read_to_string(&page).unwrap();
    let ran = stdout.matches("PASS ").count() + stdout.matches("FAIL ").count();
    assert_eq!(html.matches("<section id=\"step").count(), ran, "{stdout}");
}

#[test]
fn an_optional_step_the_weights_file_gives_points_is_graded_without_optional() {
    let data = tempfile::tempdir().unwrap();
    let (weights, junit, gradescope) = (
        data.path().join("weights.txt"),
        data.path().join("junit.xml"),
        data.path().join("results.json"),
    );
    std::fs::write(&weights, "http/head 2\nhttp/conditional 0\n").unwrap();
    // Nothing listens here: the first step fails at once and the others are not run, which is
    // enough to see which steps the run is made of.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .to_string();
    let out = Command::new(env!("CARGO_BIN_EXE_labs"))
        .args(["check", "http", "--target", &closed, "--timeout", "500ms"])
        .arg("--junit")
        .arg(&junit)
        .arg("--gradescope")
        .arg(&gradescope)
        .arg("--weights")
        .arg(&weights)
        .env("PROTOLAB_DATA_DIR", data.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "labs: running the optional step http/head: the weights file gives it 2 points \
             (--optional runs every optional step)"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("http/conditional"), "{stderr}");
    let track = labs::catalog::find_track("http").unwrap();
    let expected: Vec<String> = track
        .steps
        .iter()
        .filter(|s| !s.optional || s.slug == "head")
        .map(|s| track.step_id(s))
        .collect();
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&gradescope).unwrap()).unwrap();
    let tests = results["tests"].as_array().unwrap();
    let names: Vec<&str> = tests
        .iter()
        .map(|t| t["name"].as_str().unwrap().split(' ').next().unwrap())
        .collect();
    assert_eq!(names, expected);
    let head = tests
        .iter()
        .find(|t| t["name"].as_str().unwrap().starts_with("http/head"))
        .unwrap();
    assert_eq!(head["max_score"].as_f64(), Some(2.0), "{head}");
    assert_eq!(head["score"].as_f64(), Some(0.0), "{head}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    assert!(xml.contains("name=\"http/head\""), "{xml}");
    assert!(!xml.contains("name=\"http/conditional\""), "{xml}");
}
