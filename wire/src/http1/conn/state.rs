//! The states of the two sides of an HTTP/1.1 connection, and every transition between them.
//!
//! This file alone moves the states; [`Conn`](super::Conn) only reports what each side did. The
//! diagram is in the [`conn`](super) module documentation.

use std::fmt;

use super::Role;

/// The state of one side of the connection: the client's or the server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Between messages: the client may send a request; the server waits for one.
    Idle,
    /// (Server only.) A request head has arrived; the server owes a response (interim
    /// responses keep it here).
    SendResponse,
    /// The side's message head is out; its body is being sent.
    SendBody,
    /// The side's message is complete; waiting for the other side to finish its own.
    Done,
    /// The side's message is complete and the connection will not carry another.
    MustClose,
    /// The side closed its half of the connection.
    Closed,
    /// (Client only.) The request asked to switch protocols (`Upgrade`, or CONNECT) and is
    /// complete; the server has not answered yet.
    MightSwitchProtocol,
    /// The connection now carries another protocol (after `101 Switching Protocols`) or a tunnel
    /// (after a 2xx to CONNECT): no more HTTP.
    SwitchedProtocol,
    /// The side broke the protocol; the connection cannot be used for more messages.
    Error,
}

impl fmt::Display for State {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            State::Idle => "Idle",
            State::SendResponse => "SendResponse",
            State::SendBody => "SendBody",
            State::Done => "Done",
            State::MustClose => "MustClose",
            State::Closed => "Closed",
            State::MightSwitchProtocol => "MightSwitchProtocol",
            State::SwitchedProtocol => "SwitchedProtocol",
            State::Error => "Error",
        })
    }
}

/// What one side did, as far as the states are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// (Client) a request head; `proposes_switch` for CONNECT or `Upgrade`.
    Request { proposes_switch: bool },
    /// (Server) a 1xx response other than 101.
    InformationalResponse,
    /// (Server) a final response head that does not switch protocols.
    Response,
    /// (Server) `101 Switching Protocols`, or a 2xx to CONNECT.
    SwitchAccepted,
    /// (Either) the end of the side's message (its body, if any, is complete).
    EndOfMessage,
    /// (Either) the side closed its half of the connection.
    ConnectionClosed,
    /// (Either) the side broke the protocol.
    ProtocolError,
}

impl Step {
    /// The step in words, for error messages.
    fn describe(self) -> &'static str {
        match self {
            Step::Request { .. } => "a request",
            Step::InformationalResponse => "an interim (1xx) response",
            Step::Response => "a response",
            Step::SwitchAccepted => "a response that switches protocols",
            Step::EndOfMessage => "the end of a message",
            Step::ConnectionClosed => "closing the connection",
            Step::ProtocolError => "a protocol error",
        }
    }
}

/// A step that the side's state does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BadTransition {
    /// The side that tried it.
    pub role: Role,
    /// Its state then.
    pub state: State,
    /// What it tried, in words.
    pub step: &'static str,
}

impl fmt::Display for BadTransition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the {} cannot send {} in state {}",
            self.role, self.step, self.state
        )
    }
}

/// Both sides' states and the facts that steer them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct States {
    pub(crate) client: State,
    pub(crate) server: State,
    /// False once either side said the connection ends after this exchange.
    pub(crate) keep_alive: bool,
    /// The current request asked to switch protocols and no final response has denied it.
    switch_proposed: bool,
}

impl Default for States {
    fn default() -> Self {
        States {
            client: State::Idle,
            server: State::Idle,
            keep_alive: true,
            switch_proposed: false,
        }
    }
}

/// What a successful step led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The states moved.
    Moved,
    /// Both sides were done and the connection is kept alive: both are `Idle` again, ready for
    /// the next request.
    NextCycle,
}

impl States {
    pub(crate) fn of(&self, role: Role) -> State {
        match role {
            Role::Client => self.client,
            Role::Server => self.server,
        }
    }

    fn set(&mut self, role: Role, state: State) {
        match role {
            Role::Client => self.client = state,
            Role::Server => self.server = state,
        }
    }

    /// Applies `step`, done by `role`. On an error nothing changes.
    pub(crate) fn apply(&mut self, role: Role, step: Step) -> Result<Outcome, BadTransition> {
        use State::*;
        let state = self.of(role);
        match (role, step, state) {
            (_, Step::ProtocolError, _) => self.set(role, Error),
            (_, Step::ConnectionClosed, Idle | Done | MustClose | Closed | SwitchedProtocol) => {
                self.set(role, Closed)
            }
            (_, Step::ConnectionClosed, _) => self.set(role, Error),

            (Role::Client, Step::Request { proposes_switch }, Idle) if self.server == Idle => {
                self.client = SendBody;
                self.server = SendResponse;
                self.switch_proposed = proposes_switch;
            }
            (Role::Client, Step::EndOfMessage, SendBody) => {
                self.client = if self.switch_proposed {
                    MightSwitchProtocol
                } else {
                    Done
                };
            }

            (Role::Server, Step::InformationalResponse, SendResponse) => {}
            (Role::Server, Step::Response, SendResponse) => {
                self.server = SendBody;
                self.switch_proposed = false;
                if self.client == MightSwitchProtocol {
                    self.client = Done;
                }
            }
            // An error response to a request that could not be read.
            (Role::Server, Step::Response, Idle) if self.client == Error => self.server = SendBody,
            (Role::Server, Step::SwitchAccepted, SendResponse)
                if self.client == MightSwitchProtocol =>
            {
                self.client = SwitchedProtocol;
                self.server = SwitchedProtocol;
                self.switch_proposed = false;
            }
            (Role::Server, Step::EndOfMessage, SendBody) => self.server = Done,

            (_, other, _) => {
                return Err(BadTransition {
                    role,
                    state,
                    step: other.describe(),
                })
            }
        }
        Ok(self.settle())
    }

    /// Records that the connection will not be kept alive.
    pub(crate) fn end_keep_alive(&mut self) {
        self.keep_alive = false;
        self.settle();
    }

    /// Moves `Done` to `MustClose` without keep-alive, and starts the next cycle when both
    /// sides are `Done` with it.
    fn settle(&mut self) -> Outcome {
        if !self.keep_alive {
            for state in [&mut self.client, &mut self.server] {
                if *state == State::Done {
                    *state = State::MustClose;
                }
            }
        }
        if self.client == State::Done && self.server == State::Done {
            self.client = State::Idle;
            self.server = State::Idle;
            return Outcome::NextCycle;
        }
        Outcome::Moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn states(client: State, server: State) -> (State, State) {
        (client, server)
    }

    #[test]
    fn a_keep_alive_cycle() {
        let mut s = States::default();
        s.apply(
            Role::Client,
            Step::Request {
                proposes_switch: false,
            },
        )
        .unwrap();
        assert_eq!(
            states(s.client, s.server),
            (State::SendBody, State::SendResponse)
        );
        s.apply(Role::Client, Step::EndOfMessage).unwrap();
        s.apply(Role::Server, Step::InformationalResponse).unwrap();
        s.apply(Role::Server, Step::Response).unwrap();
        assert_eq!(states(s.client, s.server), (State::Done, State::SendBody));
        assert_eq!(
            s.apply(Role::Server, Step::EndOfMessage),
            Ok(Outcome::NextCycle)
        );
        assert_eq!(states(s.client, s.server), (State::Idle, State::Idle));
    }

    #[test]
    fn without_keep_alive_done_becomes_must_close() {
        let mut s = States::default();
        s.apply(
            Role::Client,
            Step::Request {
                proposes_switch: false,
            },
        )
        .unwrap();
        s.apply(Role::Client, Step::EndOfMessage).unwrap();
        s.end_keep_alive();
        assert_eq!(s.client, State::MustClose);
        s.apply(Role::Server, Step::Response).unwrap();
        assert_eq!(
            s.apply(Role::Server, Step::EndOfMessage),
            Ok(Outcome::Moved)
        );
        assert_eq!(
            states(s.client, s.server),
            (State::MustClose, State::MustClose)
        );
        s.apply(Role::Client, Step::ConnectionClosed).unwrap();
        assert_eq!(s.client, State::Closed);
    }

    #[test]
    fn switching_protocols() {
        let mut s = States::default();
        s.apply(
            Role::Client,
            Step::Request {
                proposes_switch: true,
            },
        )
        .unwrap();
        s.apply(Role::Client, Step::EndOfMessage).unwrap();
        assert_eq!(s.client, State::MightSwitchProtocol);
        s.apply(Role::Server, Step::SwitchAccepted).unwrap();
        assert_eq!(
            states(s.client, s.server),
            (State::SwitchedProtocol, State::SwitchedProtocol)
        );

        let mut denied = States::default();
        denied
            .apply(
                Role::Client,
                Step::Request {
                    proposes_switch: true,
                },
            )
            .unwrap();
        denied.apply(Role::Client, Step::EndOfMessage).unwrap();
        denied.apply(Role::Server, Step::Response).unwrap();
        assert_eq!(
            states(denied.client, denied.server),
            (State::Done, State::SendBody)
        );
    }

    #[test]
    fn steps_out_of_order_are_refused_and_change_nothing() {
        let mut s = States::default();
        let before = s.clone();
        assert_eq!(
            s.apply(Role::Server, Step::Response),
            Err(BadTransition {
                role: Role::Server,
                state: State::Idle,
                step: "a response"
            })
        );
        assert_eq!(s, before);
        s.apply(
            Role::Client,
            Step::Request {
                proposes_switch: false,
            },
        )
        .unwrap();
        assert!(s
            .apply(
                Role::Client,
                Step::Request {
                    proposes_switch: false
                }
            )
            .is_err());
        assert!(
            s.apply(Role::Server, Step::SwitchAccepted).is_err(),
            "no switch was proposed"
        );
        assert_eq!(
            BadTransition {
                role: Role::Server,
                state: State::Idle,
                step: "a response"
            }
            .to_string(),
            "the server cannot send a response in state Idle"
        );
    }

    #[test]
    fn closing_mid_message_is_an_error() {
        let mut s = States::default();
        s.apply(
            Role::Client,
            Step::Request {
                proposes_switch: false,
            },
        )
        .unwrap();
        s.apply(Role::Client, Step::ConnectionClosed).unwrap();
        assert_eq!(s.client, State::Error);
    }
}
