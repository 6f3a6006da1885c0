//! The top README's set-up, as a new user follows it: exactly two commands, the first builds
//! every program, puts them on PATH and starts the server on its demo site (and the prose says
//! how protolab's `ping` and the system's coexist); the second is what CI runs.
use std::path::Path;

fn repo(path: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path))
        .unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// The `sh` blocks of the "## Set up" section, and its prose.
fn set_up() -> (Vec<String>, String) {
    let readme = repo("README.md");
    let section = readme
        .split("\n## Set up\n")
        .nth(1)
        .expect("a Set up section")
        .split("\n## ")
        .next()
        .unwrap();
    let mut blocks = Vec::new();
    let mut prose = String::new();
    let mut block: Option<String> = None;
    for line in section.lines() {
        match (&mut block, line) {
            (None, "```sh") => block = Some(String::new()),
            (Some(b), "```") => {
                blocks.push(b.trim().to_string());
                block = None;
            }
            (Some(b), _) => {
                b.push_str(line);
                b.push('\n');
            }
            (None, _) => {
                prose.push_str(line);
                prose.push('\n');
            }
        }
    }
    (blocks, prose)
}

/// The workspace crates that have a program (a `[[bin]]`).
fn programs() -> Vec<String> {
    let workspace = repo("Cargo.toml");
    let members = workspace
        .split("members = [")
        .nth(1)
        .and_then(|m| m.split(']').next())
        .unwrap();
    members
        .split(',')
        .map(|m| m.trim().trim_matches('"').to_string())
        .filter(|m| !m.is_empty() && repo(&format!("{m}/Cargo.toml")).contains("[[bin]]"))
        .collect()
}

#[test]
fn two_commands_the_first_builds_every_program_puts_them_on_path_and_starts_the_server() {
    let (blocks, prose) = set_up();
    assert_eq!(blocks.len(), 2, "exactly two set-up commands: {blocks:#?}");
    let build = &blocks[0];
    assert!(
        build.starts_with("cargo build --release") && !build.contains("--bin"),
        "the first command builds every program: {build}"
    );
    assert!(
        build.contains(r#"export PATH="$PWD/target/release:$PATH""#),
        "{build}"
    );
    assert!(
        build.ends_with("&& server"),
        "the first command runs the main job, the server on its demo site: {build}"
    );
    assert!(
        prose.contains("http://127.0.0.1:8080/"),
        "the set-up says where the demo site is: {prose}"
    );
    let programs = programs();
    assert_eq!(programs.len(), 6, "{programs:?}");
    for p in &programs {
        assert!(
            prose.contains(&format!("`{p}`")),
            "the set-up names {p}: {prose}"
        );
    }
    let install = prose
        .lines()
        .find(|l| l.contains("cargo install --locked --path $p"))
        .expect("the cargo install alternative");
    for p in &programs {
        assert!(
            install.contains(&format!(" {p} ")) || install.contains(&format!(" {p};")),
            "cargo install covers {p}: {install}"
        );
    }
    for needle in ["/usr/bin/ping", "command -p ping", "target/release/ping"] {
        assert!(
            prose.contains(needle),
            "the ping note says {needle}: {prose}"
        );
    }
}

#[test]
fn the_second_command_is_what_ci_runs() {
    let (blocks, _) = set_up();
    let ci = repo(".ci/run");
    assert!(
        ci.lines().any(|l| l.trim() == blocks[1]),
        ".ci/run runs `{}`:\n{ci}",
        blocks[1]
    );
}
