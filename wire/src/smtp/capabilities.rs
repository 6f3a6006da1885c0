//! Service extensions a server announces in its EHLO reply (RFC 5321 §4.1.1.1, §2.2).
//!
//! ```text
//! ehlo-ok-rsp = ( "250" SP Domain [ SP ehlo-greet ] CRLF )
//!             / ( "250-" Domain [ SP ehlo-greet ] CRLF
//!                 *( "250-" ehlo-line CRLF )
//!                 "250" SP ehlo-line CRLF )
//! ehlo-line   = ehlo-keyword *( SP ehlo-param )
//! ```
//!
//! The ones this crate acts on: STARTTLS (RFC 3207), AUTH (RFC 4954), SIZE (RFC 1870),
//! 8BITMIME (RFC 6152), PIPELINING (RFC 2920), SMTPUTF8 (RFC 6531) and ENHANCEDSTATUSCODES
//! (RFC 2034). Keywords are case-insensitive; anything else is kept as announced.

use std::fmt;

use super::reply::Reply;

/// What the server said it can do.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Capabilities {
    /// The domain the server named in the first line.
    pub domain: String,
    /// STARTTLS: the server can switch this connection to TLS.
    pub starttls: bool,
    /// AUTH mechanisms, upper case, in the server's order (also read from the old `AUTH=` form).
    pub auth: Vec<String>,
    /// SIZE: `Some(0)` means announced with no fixed limit, `Some(n)` a limit of n octets.
    pub size: Option<u64>,
    /// 8BITMIME: message bodies may carry 8-bit bytes when MAIL says `BODY=8BITMIME`.
    pub eight_bit_mime: bool,
    /// PIPELINING: commands may be sent in groups without waiting for each reply.
    pub pipelining: bool,
    /// SMTPUTF8: addresses and headers may be UTF-8 when MAIL says `SMTPUTF8`.
    pub smtputf8: bool,
    /// ENHANCEDSTATUSCODES: replies start with a code like `2.1.0`.
    pub enhanced_status_codes: bool,
    /// Every other extension line, as sent.
    pub others: Vec<String>,
}

impl Capabilities {
    /// Reads the extensions from a positive EHLO reply.
    pub fn from_ehlo_reply(reply: &Reply) -> Capabilities {
        let mut caps = Capabilities::default();
        let mut lines = reply.lines().iter();
        if let Some(first) = lines.next() {
            caps.domain = first.split(' ').next().unwrap_or_default().to_owned();
        }
        for line in lines {
            let mut words = line.split_ascii_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            let keyword = keyword.to_ascii_uppercase();
            match keyword.as_str() {
                "STARTTLS" => caps.starttls = true,
                "AUTH" => caps.add_auth(words),
                "SIZE" => caps.size = Some(words.next().and_then(|n| n.parse().ok()).unwrap_or(0)),
                "8BITMIME" => caps.eight_bit_mime = true,
                "PIPELINING" => caps.pipelining = true,
                "SMTPUTF8" => caps.smtputf8 = true,
                "ENHANCEDSTATUSCODES" => caps.enhanced_status_codes = true,
                _ if keyword.starts_with("AUTH=") => {
                    // The pre-standard form some servers still send: `AUTH=LOGIN PLAIN`.
                    let first = &line[5..];
                    caps.add_auth(first.split_ascii_whitespace());
                }
                _ => caps.others.push(line.clone()),
            }
        }
        caps
    }

    fn add_auth<'a>(&mut self, mechanisms: impl Iterator<Item = &'a str>) {
        for mechanism in mechanisms {
            let mechanism = mechanism.to_ascii_uppercase();
            if !self.auth.contains(&mechanism) {
                self.auth.push(mechanism);
            }
        }
    }

    /// True when the server offers this AUTH mechanism.
    pub fn offers_auth(&self, mechanism: &str) -> bool {
        self.auth.iter().any(|m| m.eq_ignore_ascii_case(mechanism))
    }

    /// The extension lines a server sends after its domain line, in a fixed order.
    pub fn ehlo_lines(&self) -> Vec<String> {
        let mut lines = Vec::new();
        if self.pipelining {
            lines.push("PIPELINING".to_owned());
        }
        if let Some(size) = self.size {
            lines.push(format!("SIZE {size}"));
        }
        if self.eight_bit_mime {
            lines.push("8BITMIME".to_owned());
        }
        if self.starttls {
            lines.push("STARTTLS".to_owned());
        }
        if !self.auth.is_empty() {
            lines.push(format!("AUTH {}", self.auth.join(" ")));
        }
        if self.enhanced_status_codes {
            lines.push("ENHANCEDSTATUSCODES".to_owned());
        }
        if self.smtputf8 {
            lines.push("SMTPUTF8".to_owned());
        }
        lines.extend(self.others.iter().cloned());
        lines
    }
}

impl fmt::Display for Capabilities {
    /// One line for people: `STARTTLS, AUTH PLAIN LOGIN, SIZE 35882577, 8BITMIME`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines = self.ehlo_lines();
        if lines.is_empty() {
            f.write_str("no extensions")
        } else {
            f.write_str(&lines.join(", "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smtp::reply::ReplyCode;
    use crate::Status;
    use pretty_assertions::assert_eq;

    fn reply(bytes: &[u8]) -> Reply {
        match Reply::parse(bytes) {
            Ok(Status::Complete((_, reply))) => reply,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn gmail_like_ehlo_after_starttls() {
        let caps = Capabilities::from_ehlo_reply(&reply(
            b"\
            250-smtp.gmail.com at your service, [192.0.2.1]\r\n\
            250-SIZE 35882577\r\n\
            250-8BITMIME\r\n\
            250-AUTH LOGIN PLAIN XOAUTH2 PLAIN-CLIENTTOKEN OAUTHBEARER XOAUTH\r\n\
            250-ENHANCEDSTATUSCODES\r\n\
            250-PIPELINING\r\n\
            250-CHUNKING\r\n\
            250 SMTPUTF8\r\n",
        ));
        assert_eq!(caps.domain, "smtp.gmail.com");
        assert!(!caps.starttls);
        assert_eq!(caps.size, Some(35882577));
        assert!(caps.offers_auth("login") && caps.offers_auth("PLAIN"));
        assert!(
            caps.eight_bit_mime && caps.pipelining && caps.smtputf8 && caps.enhanced_status_codes
        );
        assert_eq!(caps.others, ["CHUNKING"]);
    }

    #[test]
    fn old_auth_form_lower_case_and_size_without_limit() {
        let caps = Capabilities::from_ehlo_reply(&reply(
            b"\
            250-mx.test\r\n\
            250-starttls\r\n\
            250-AUTH=LOGIN PLAIN\r\n\
            250-auth login cram-md5\r\n\
            250 SIZE\r\n",
        ));
        assert!(caps.starttls);
        assert_eq!(caps.auth, ["LOGIN", "PLAIN", "CRAM-MD5"]);
        assert_eq!(caps.size, Some(0));
    }

    #[test]
    fn server_side_lines_round_trip() {
        let caps = Capabilities {
            domain: "sink.test".into(),
            starttls: true,
            auth: vec!["PLAIN".into(), "LOGIN".into()],
            size: Some(1000),
            eight_bit_mime: true,
            pipelining: true,
            smtputf8: true,
            enhanced_status_codes: true,
            others: vec![],
        };
        let mut lines = vec!["sink.test".to_owned()];
        lines.extend(caps.ehlo_lines());
        let sent = Reply::new(ReplyCode::OK, lines);
        assert_eq!(Capabilities::from_ehlo_reply(&sent), caps);
    }
}
