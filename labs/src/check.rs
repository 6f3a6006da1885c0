//! What a step's check is given (a [`Ctx`]) and what it answers (`Ok(())` or a [`Failure`]).
//!
//! A check reaches the learner's program through the context, never on its own: the context
//! knows whether the program is a server to connect to, a client to wait for, or a command to
//! start, and it keeps every exchange for the report.

use crate::exchange::{Exchange, ExchangeLog, Peer};
use crate::learner::LearnerProcess;
use std::net::{SocketAddr, TcpListener, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How `labs check` reaches the learner's program.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// `--target HOST:PORT`: the program is a server that is already running.
    Target(String),
    /// `--listen HOST:PORT`: the program is a client the learner starts by hand; labs listens.
    Listen(String),
    /// `--run 'CMD'`: labs starts the program itself with `{host}`, `{port}` and `{dir}` filled in.
    Run(String),
}

/// A failed check: what rule was broken, what happened, and how to put it right.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Failure {
    /// The rule the step checks, with its RFC section where there is one.
    pub rule: String,
    /// What went wrong, in one sentence.
    pub problem: String,
    /// What was expected, in wire bytes (`<any>` where any value will do), for the caret.
    pub expected: Option<Vec<u8>>,
    /// What arrived instead.
    pub got: Option<Vec<u8>>,
    /// The strict-versus-lenient diagnosis (what a lenient reader would accept, and why strict
    /// HTTP does not).
    pub diagnosis: Option<String>,
    /// What to try next.
    pub hint: Option<String>,
}

impl Failure {
    /// A failure with its rule and problem.
    pub fn new(rule: impl Into<String>, problem: impl Into<String>) -> Failure {
        Failure {
            rule: rule.into(),
            problem: problem.into(),
            ..Failure::default()
        }
    }

    /// Adds the expected and received bytes.
    pub fn bytes(mut self, expected: impl Into<Vec<u8>>, got: impl Into<Vec<u8>>) -> Failure {
        self.expected = Some(expected.into());
        self.got = Some(got.into());
        self
    }

    /// Adds a hint.
    pub fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }

    /// Adds a diagnosis.
    pub fn diagnosis(mut self, diagnosis: impl Into<String>) -> Failure {
        self.diagnosis = Some(diagnosis.into());
        self
    }
}

/// What a check may use.
#[derive(Debug)]
pub struct Ctx {
    reach: Reach,
    /// The time allowed for each read.
    pub timeout: Duration,
    /// Where the learner's program reads and writes its files (`--files-dir`, or a temporary
    /// folder that labs made for `--run`).
    pub files_dir: Option<PathBuf>,
    /// The folder `--run` programs start in: where `labs` was invoked, as a shell would.
    work_dir: PathBuf,
    /// labs' own scratch folder for `--run` (`{dir}`).
    run_dir: Option<tempfile::TempDir>,
    /// Files labs placed next to the learner's program for this run; removed when it ends.
    placed: Vec<PathBuf>,
    /// The learner's own files labs wrote over for this run, with their bytes, put back when
    /// it ends (a `--files-dir` folder that already holds an index.html).
    restore: Vec<(PathBuf, Vec<u8>)>,
    /// Folders labs made for this run (deepest first), removed when it ends if empty.
    made_dirs: Vec<PathBuf>,
    /// Set when a file step used `{dir}/files` but the `--run` command does not pass `{dir}`:
    /// a failed step says so (the server cannot know where labs put the files).
    pub files_dir_unpassed: bool,
    log: ExchangeLog,
    learner: Option<LearnerProcess>,
    learner_addr: Option<SocketAddr>,
    /// Connections a step keeps open until its program is stopped (see [`Ctx::hold`]).
    held: Vec<Peer>,
    /// Notes for the report (e.g. "started your program: python3 server.py 41234").
    pub notes: Vec<String>,
    /// What a track keeps from one step for the next steps of the same run (see [`Ctx::memo`]).
    memos: Memos,
    /// Where the proxy track runs its origin, and whether it looks at port 80.
    pub port_80: crate::origin::Port80,
}

/// Values tracks keep across the steps of one `labs check` run, one per type.
#[derive(Default)]
struct Memos(Vec<Box<dyn std::any::Any + Send>>);

impl std::fmt::Debug for Memos {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Memos({} kept)", self.0.len())
    }
}

/// How the note that labs started the learner's program begins (a passing step leaves it out).
pub const STARTED_NOTE: &str = "started your program: ";

/// The rule every check that connects relies on.
pub const RULE_REACHABLE: &str = "Your program must be reachable where labs was told to find it";

impl Ctx {
    /// A context for one `labs check` run.
    pub fn new(reach: Reach, timeout: Duration, files_dir: Option<PathBuf>) -> Ctx {
        Ctx {
            reach,
            timeout,
            files_dir,
            work_dir: std::env::current_dir().unwrap_or_else(|_| PathBuf::from(".")),
            run_dir: None,
            placed: Vec::new(),
            restore: Vec::new(),
            made_dirs: Vec::new(),
            files_dir_unpassed: false,
            log: ExchangeLog::default(),
            learner: None,
            learner_addr: None,
            held: Vec::new(),
            notes: Vec::new(),
            memos: Memos::default(),
            port_80: crate::origin::Port80::default(),
        }
    }

    /// A track's value of type `T` kept for the whole run (made empty on first use). The mail
    /// track keeps the sessions a `--listen` client had here, so that one run of the client is
    /// graded on every step that one session can show.
    pub fn memo<T: std::any::Any + Send + Default>(&mut self) -> &mut T {
        let at = match self.memos.0.iter().position(|m| m.is::<T>()) {
            Some(at) => at,
            None => {
                self.memos.0.push(Box::new(T::default()));
                self.memos.0.len() - 1
            }
        };
        self.memos.0[at]
            .downcast_mut::<T>()
            .expect("the memo at this position has type T")
    }

    /// Runs `--run` programs in `dir` instead of the folder labs was started in.
    pub fn with_work_dir(mut self, dir: impl Into<PathBuf>) -> Ctx {
        self.work_dir = dir.into();
        self
    }

    /// The folder `--run` programs start in.
    pub fn work_dir(&self) -> &Path {
        &self.work_dir
    }

    /// Notes that labs put `path` in place for this run, so that it is removed afterwards.
    pub fn placed(&mut self, path: PathBuf) {
        if !self.placed.contains(&path) {
            self.placed.push(path);
        }
    }

    /// True when labs placed `path` for this run (it was not the learner's).
    pub fn is_placed(&self, path: &Path) -> bool {
        self.placed.iter().any(|p| p == path)
    }

    /// Notes that `path` is about to be written for this run (by labs, or by the learner's
    /// server when labs asks it to): when the run ends, a file the learner had there gets its
    /// bytes back and a new one is removed, so nothing is left behind in the learner's folder.
    pub fn will_write(&mut self, path: &Path) -> Result<(), Failure> {
        if self.is_placed(path) || self.restore.iter().any(|(p, _)| p == path) {
            return Ok(());
        }
        match std::fs::read(path) {
            Ok(bytes) => self.restore.push((path.to_path_buf(), bytes)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => self.placed(path.to_path_buf()),
            Err(e) => {
                return Err(Failure::new(
                    "labs puts test files in your files folder",
                    format!("cannot read {}: {e}", path.display()),
                ))
            }
        }
        let mut missing = Vec::new();
        let mut dir = path.parent();
        while let Some(d) = dir.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            dir = d.parent();
        }
        for d in missing {
            if !self.made_dirs.contains(&d) {
                self.made_dirs.push(d);
            }
        }
        Ok(())
    }

    /// Writes a test file into `dir` for this run (see [`Ctx::will_write`]: it is removed, or
    /// the learner's own file of that name restored, when the run ends).
    pub fn put_file(&mut self, dir: &Path, name: &str, content: &[u8]) -> Result<(), Failure> {
        self.will_write(&dir.join(name))?;
        crate::http::put_file(dir, name, content)
    }

    /// How the program is reached.
    pub fn reach(&self) -> &Reach {
        &self.reach
    }

    /// The log exchanges go to (for servers labs runs itself, such as an origin).
    pub fn log(&self) -> ExchangeLog {
        self.log.clone()
    }

    /// Takes the exchanges recorded since the last call.
    pub fn take_exchanges(&mut self) -> Vec<Exchange> {
        self.log
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }

    /// The learner's program, when labs started it.
    pub fn learner(&mut self) -> Option<&mut LearnerProcess> {
        self.learner.as_mut()
    }

    /// The folder files live in for file steps: `--files-dir`, else the `--run` folder.
    pub fn files_dir(&mut self) -> Result<PathBuf, Failure> {
        if let Some(dir) = &self.files_dir {
            return Ok(dir.clone());
        }
        if let Reach::Run(command) = &self.reach {
            if !command.contains("{dir}") {
                self.files_dir_unpassed = true;
            }
            return Ok(self.run_dir()?.join("files"));
        }
        Err(Failure::new(
            "This step needs to know where your program keeps its files",
            "no --files-dir was given",
        )
        .hint("pass --files-dir DIR (the folder your server serves /files/ from), or use --run 'CMD' so labs makes one and passes it as {dir}/files"))
    }

    /// The folder a lab server serves from its working folder: `--files-dir`, else for `--run`
    /// the folder the program starts in (where labs was invoked). `None` for `--target`
    /// without `--files-dir`: labs cannot see the server's folder.
    pub fn server_folder(&self) -> Option<PathBuf> {
        if let Some(dir) = &self.files_dir {
            return Some(dir.clone());
        }
        match self.reach {
            Reach::Run(_) => Some(self.work_dir.clone()),
            _ => None,
        }
    }

    /// `{dir}` for `--run`: a `www` folder (with `files/` in it) inside a scratch folder of
    /// labs' own, so that labs can put a file *outside* `{dir}` for the traversal step.
    fn run_dir(&mut self) -> Result<PathBuf, Failure> {
        if self.run_dir.is_none() {
            let scratch = || -> std::io::Result<tempfile::TempDir> {
                let dir = tempfile::Builder::new().prefix("labs-run-").tempdir()?;
                std::fs::create_dir_all(dir.path().join("www/files"))?;
                Ok(dir)
            };
            let dir = scratch().map_err(|e| {
                Failure::new(
                    "labs needs a temporary folder",
                    format!("could not make one: {e}"),
                )
            })?;
            self.run_dir = Some(dir);
        }
        Ok(self
            .run_dir
            .as_ref()
            .map(|d| d.path().join("www"))
            .unwrap_or_default())
    }

    /// A folder outside everything the learner's program was given, when labs owns one
    /// (`--run`): the traversal step hides a secret there.
    pub fn outside_dir(&self) -> Option<PathBuf> {
        self.run_dir.as_ref().map(|d| d.path().to_path_buf())
    }

    /// The address of the learner's server, starting it first for `--run` (once, and again if
    /// it has exited since).
    pub fn server_addr(&mut self) -> Result<SocketAddr, Failure> {
        match self.reach.clone() {
            Reach::Target(target) => resolve(&target),
            Reach::Listen(_) => Err(Failure::new(
                "This step checks a server",
                "labs was told to listen for a client (--listen)",
            )
            .hint("use --target HOST:PORT with your server running, or --run 'CMD' to let labs start it")),
            Reach::Run(template) => {
                if let (Some(p), Some(addr)) = (self.learner.as_mut(), self.learner_addr) {
                    if p.is_running() {
                        return Ok(addr);
                    }
                    // It ended during this step: that is the step's verdict, not a reason to
                    // start it again behind the learner's back.
                    let how = p
                        .wait_exit(Duration::ZERO)
                        .map(crate::learner::describe_exit)
                        .unwrap_or_else(|| "ended".into());
                    return Err(Failure::new(
                        "A server keeps running and serves every request",
                        format!("your program exited ({how}) while labs was still checking it"),
                    )
                    .hint("see its stderr below for why; a server loops: accept, answer, close, accept the next"));
                }
                let addr = free_port()?;
                let process = self.start_learner(&template, addr.port())?;
                self.learner = Some(process);
                self.learner_addr = Some(addr);
                let within = Duration::from_secs(10).max(self.timeout);
                if let Some(process) = self.learner.as_mut() {
                    process.wait_listening(addr, within).map_err(|why| {
                        Failure::new(RULE_REACHABLE, why).hint(
                            "make your program take the port from its arguments and listen on it before doing anything else",
                        )
                    })?;
                }
                Ok(addr)
            }
        }
    }

    /// Starts the learner's program for `--run` with `{port}` set to `port`, noting the command.
    fn start_learner(&mut self, template: &str, port: u16) -> Result<LearnerProcess, Failure> {
        let dir = self.run_dir()?;
        let command = crate::learner::expand(template, "127.0.0.1", port, &dir);
        let process = LearnerProcess::start(&command, &self.work_dir).map_err(|e| {
            Failure::new(
                RULE_REACHABLE,
                format!(
                    "could not start `{command}` in {}: {e}",
                    self.work_dir.display()
                ),
            )
        })?;
        self.notes.push(format!("{STARTED_NOTE}{command}"));
        Ok(process)
    }

    /// Opens a recorded connection to the learner's server.
    pub fn connect(&mut self) -> Result<Peer, Failure> {
        let addr = self.server_addr()?;
        let started = matches!(self.reach, Reach::Run(_));
        let peer = Peer::connect(addr, self.timeout).map_err(|e| {
            let failure = Failure::new(RULE_REACHABLE, format!("could not connect to {addr}: {e}"));
            if started {
                failure.hint("labs started your program and it listened, but this connection failed: see its output below")
            } else {
                failure.hint("is your server running and listening on that address? Start it, or use --run 'CMD' so labs starts it")
            }
        })?;
        Ok(peer.with_log(&self.log))
    }

    /// A listener for the learner's client, and for `--run` the client program started with
    /// `{port}` set to it. The caller accepts on the listener.
    pub fn client_listener(&mut self) -> Result<TcpListener, Failure> {
        match self.reach.clone() {
            Reach::Target(_) => Err(Failure::new(
                "This step checks a client",
                "labs was told to connect to a server (--target)",
            )
            .hint("use --listen HOST:PORT and start your client against it, or --run 'CMD' with {port} in it")),
            Reach::Listen(addr) => {
                let addr = resolve(&addr)?;
                let listener = TcpListener::bind(addr).map_err(|e| {
                    Failure::new("labs must listen where your client connects", format!("cannot listen on {addr}: {e}"))
                        .hint("pick another port with --listen 127.0.0.1:PORT")
                })?;
                // The learner starts the client by hand: say where, and that labs is ready.
                eprintln!("labs: listening on {addr}; start your client against it now");
                Ok(listener)
            }
            Reach::Run(template) => {
                let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| {
                    Failure::new("labs must listen for your client", format!("cannot listen: {e}"))
                })?;
                let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
                let process = self.start_learner(&template, port)?;
                self.learner = Some(process);
                Ok(listener)
            }
        }
    }

    /// Waits for the learner's client to connect, up to `within`.
    pub fn accept(&mut self, listener: &TcpListener, within: Duration) -> Result<Peer, Failure> {
        listener.set_nonblocking(true).ok();
        let deadline = Instant::now() + within;
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).ok();
                    return Ok(Peer::from_stream(stream, false, self.timeout).with_log(&self.log));
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(Failure::new(RULE_REACHABLE, format!("accept failed: {e}"))),
            }
            if let Some(p) = self.learner.as_mut() {
                if !p.is_running() {
                    let status = p.wait_exit(Duration::ZERO);
                    let how = status
                        .map(crate::learner::describe_exit)
                        .unwrap_or_default();
                    return Err(Failure::new(
                        "Your client must connect to the server it is given",
                        format!("your program ended ({how}) without connecting"),
                    )
                    .hint("check that it connects to the host and port from its arguments"));
                }
            }
            if Instant::now() >= deadline {
                return Err(Failure::new(
                    "Your client must connect to the server it is given",
                    format!("no connection arrived within {} s", within.as_secs()),
                )
                .hint("start your client against the address labs listens on"));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// The learner's UDP server: `--target` as a UDP address, or `--run` started with `{port}`
    /// and probed until it answers (a UDP server gives no other sign that it is ready).
    pub fn udp_server(&mut self) -> Result<(std::net::UdpSocket, SocketAddr), Failure> {
        let socket = std::net::UdpSocket::bind("127.0.0.1:0")
            .map_err(|e| Failure::new("labs needs a UDP socket", e.to_string()))?;
        match self.reach.clone() {
            Reach::Target(target) => Ok((socket, resolve(&target)?)),
            Reach::Listen(_) => Err(Failure::new(
                "This step checks a server",
                "labs was told to listen for a client (--listen)",
            )
            .hint("use --target HOST:PORT with your UDP server running, or --run 'CMD {port}'")),
            Reach::Run(template) => {
                let addr = free_udp_port()?;
                let process = self.start_learner(&template, addr.port())?;
                self.learner = Some(process);
                self.learner_addr = Some(addr);
                Ok((socket, addr))
            }
        }
    }

    /// A UDP socket for the learner's client: bound where `--listen` says, or on a free port
    /// with the client started by `--run`.
    pub fn udp_client_socket(&mut self) -> Result<std::net::UdpSocket, Failure> {
        match self.reach.clone() {
            Reach::Target(_) => Err(Failure::new(
                "This step checks a client",
                "labs was told to connect to a server (--target)",
            )
            .hint("use --run 'CMD {host} {port}' so labs plays the server, or --listen HOST:PORT")),
            Reach::Listen(addr) => {
                let addr = resolve(&addr)?;
                std::net::UdpSocket::bind(addr).map_err(|e| {
                    Failure::new(
                        "labs must listen where your client sends",
                        format!("cannot bind UDP {addr}: {e}"),
                    )
                    .hint("pick another port with --listen 127.0.0.1:PORT")
                })
            }
            Reach::Run(template) => {
                let socket = std::net::UdpSocket::bind("127.0.0.1:0")
                    .map_err(|e| Failure::new("labs needs a UDP socket", e.to_string()))?;
                let port = socket.local_addr().map(|a| a.port()).unwrap_or(0);
                let process = self.start_learner(&template, port)?;
                self.learner = Some(process);
                Ok(socket)
            }
        }
    }

    /// Keeps a connection open until the step ends and its program is stopped, whatever the
    /// verdict. A silent or half-sent connection is the last thing a step does to a program:
    /// closing it earlier hands a beginner's server an empty read (`message.split()[1]` on
    /// `b""`), and the crash that follows would be blamed on the step.
    pub fn hold(&mut self, peer: Peer) {
        self.held.push(peer);
    }

    /// Puts what the held connections have seen so far into the step's exchanges (they stay
    /// open): a step that fails on a held connection shows its bytes.
    pub fn log_held(&mut self) {
        for peer in &mut self.held {
            peer.hand_over_exchange();
        }
    }

    /// Closes the connections the step held, after its program was stopped.
    pub fn release_held(&mut self) {
        self.held.clear();
    }

    /// Stops the learner's program if labs started it, then closes the connections held for it.
    pub fn stop_learner(&mut self) {
        if let Some(mut p) = self.learner.take() {
            p.stop();
        }
        self.learner_addr = None;
        self.release_held();
    }

    /// How the learner's program ended during the step, if labs started it and it has ended:
    /// waits up to `within` for a program that is dying (its connections already closed).
    pub fn learner_exit(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let p = self.learner.as_mut()?;
        p.wait_exit(within)
    }

    /// Removes the files labs placed for this run (never a file that was there before), puts
    /// back the learner's files it wrote over, and removes the folders it made, if empty.
    pub fn remove_placed(&mut self) {
        for path in self.placed.drain(..) {
            let _ = std::fs::remove_file(path);
        }
        for (path, bytes) in self.restore.drain(..) {
            let _ = std::fs::write(path, bytes);
        }
        // Deepest first: made_dirs holds each file's missing folders from the inside out.
        let mut dirs: Vec<PathBuf> = self.made_dirs.drain(..).collect();
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for dir in dirs {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

impl Drop for Ctx {
    fn drop(&mut self) {
        self.stop_learner();
        self.remove_placed();
    }
}

/// Resolves `host:port` to one address, preferring IPv4.
pub fn resolve(target: &str) -> Result<SocketAddr, Failure> {
    let addrs: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| {
            Failure::new(RULE_REACHABLE, format!("cannot resolve {target}: {e}"))
                .hint("give the address as HOST:PORT, for example 127.0.0.1:8080")
        })?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or_else(|| addrs.first())
        .copied()
        .ok_or_else(|| Failure::new(RULE_REACHABLE, format!("{target} has no address")))
}

/// A UDP port that was free a moment ago on 127.0.0.1.
pub fn free_udp_port() -> Result<SocketAddr, Failure> {
    let socket = std::net::UdpSocket::bind("127.0.0.1:0")
        .map_err(|e| Failure::new("labs needs a free port", e.to_string()))?;
    socket
        .local_addr()
        .map_err(|e| Failure::new("labs needs a free port", e.to_string()))
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> Result<SocketAddr, Failure> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| Failure::new("labs needs a free port", e.to_string()))?;
    listener
        .local_addr()
        .map_err(|e| Failure::new("labs needs a free port", e.to_string()))
}
