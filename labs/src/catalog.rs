//! The tracks and their steps: texts and checks, all embedded in the binary so `labs` works
//! offline from any folder.

use crate::check::{Ctx, Failure};

/// A step's check: talks to the learner's program through the context.
pub type CheckFn = fn(&mut Ctx) -> Result<(), Failure>;

/// What the learner's program is in a step, which decides how `labs check` reaches it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A TCP server: `--target HOST:PORT` or `--run 'CMD {port}'`.
    Server,
    /// A TCP client: `--listen HOST:PORT` or `--run 'CMD {host} {port}'`.
    Client,
    /// A UDP server: `--target HOST:PORT` or `--run`.
    UdpServer,
    /// A UDP client: `--listen HOST:PORT` or `--run` (its output is read too).
    UdpClient,
}

impl Role {
    /// How to point `labs check` at a program in this role.
    pub fn how_to_check(self) -> &'static str {
        match self {
            Role::Server | Role::UdpServer => {
                "--target HOST:PORT (your server running) or --run 'CMD {port}'"
            }
            Role::Client | Role::UdpClient => {
                "--run 'CMD {host} {port}' (labs plays the server) or --listen HOST:PORT"
            }
        }
    }
}

/// One step of a track.
#[derive(Debug)]
pub struct Step {
    /// The short name used on the command line (`http/echo`).
    pub slug: &'static str,
    /// A title in a few words.
    pub title: &'static str,
    /// Optional steps do not block `labs next`.
    pub optional: bool,
    /// What the learner's program is here.
    pub role: Role,
    /// The instructions, as shown by `labs show` (plain text with trace examples).
    pub text: &'static str,
    /// The check.
    pub check: CheckFn,
}

/// A track: a program built step by step.
#[derive(Debug)]
pub struct Track {
    /// The name used on the command line.
    pub id: &'static str,
    /// What is built.
    pub title: &'static str,
    /// The track's introduction.
    pub intro: &'static str,
    /// The steps in order.
    pub steps: &'static [Step],
}

impl Track {
    /// The full id of a step of this track (`http/echo`).
    pub fn step_id(&self, step: &Step) -> String {
        format!("{}/{}", self.id, step.slug)
    }
}

/// Every track, in the order they are taught.
pub fn tracks() -> &'static [&'static Track] {
    crate::tracks::ALL
}

/// Finds a track by id.
pub fn find_track(id: &str) -> Option<&'static Track> {
    tracks()
        .iter()
        .copied()
        .find(|t| t.id.eq_ignore_ascii_case(id))
}

/// Finds a step by `track/slug` or `track/N` (1-based), as learners type them.
pub fn find_step(id: &str) -> Option<(&'static Track, usize, &'static Step)> {
    let (track, rest) = id.split_once(['/', '.', ':'])?;
    let track = find_track(track)?;
    if let Ok(n) = rest.parse::<usize>() {
        return track
            .steps
            .get(n.checked_sub(1)?)
            .map(|s| (track, n - 1, s));
    }
    track
        .steps
        .iter()
        .enumerate()
        .find(|(_, s)| s.slug.eq_ignore_ascii_case(rest))
        .map(|(i, s)| (track, i, s))
}
