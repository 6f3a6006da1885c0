//! Form bodies as curl builds them: `--data-urlencode` (application/x-www-form-urlencoded,
//! every byte but the unreserved ones of RFC 3986 §2.3 percent-encoded, and a space as `+`,
//! as curl writes it) and `-F/--form` (multipart/form-data, RFC 7578).
//!
//! multipart/form-data is a body of parts, each introduced by a line `--BOUNDARY`, with its own
//! header fields (`Content-Disposition: form-data; name="..."`, and for a file `filename="..."`
//! and `Content-Type`), an empty line and the bytes, and the body ends with `--BOUNDARY--`
//! (RFC 2046 §5.1.1). The boundary must not occur in any part; it is chosen from a seed the shell
//! passes in, and changed until it does not.
//!
//! Out of scope: `-F` nested multipart/mixed (`name=@a,b`), custom part headers (`;headers=`),
//! `--form-string`.

use std::fmt::Write as _;
use std::path::Path;

/// One part of a multipart/form-data body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// The field name.
    pub name: String,
    /// `filename="..."` when the part is a file (`name=@file`).
    pub filename: Option<String>,
    /// The part's Content-Type (`;type=`, or guessed from a file's extension).
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}

/// Reads a `-F` argument: `name=value`, `name=@FILE` (a file upload), `name=<FILE` (a file's
/// contents as a plain value), each optionally followed by `;type=TYPE` and, for a file,
/// `;filename=NAME`. `read` reads a file (tests hand in a map).
pub fn parse_form_arg(
    arg: &str,
    read: &mut dyn FnMut(&Path) -> Result<Vec<u8>, String>,
) -> Result<Part, String> {
    let (name, rest) = arg.split_once('=').ok_or_else(|| {
        format!("-F {arg:?}: write name=value, name=@FILE (upload a file) or name=<FILE")
    })?;
    if name.is_empty() {
        return Err(format!("-F {arg:?}: the field name is missing before ="));
    }
    let (kind, rest) = match rest.as_bytes().first() {
        Some(b'@') => (Kind::Upload, &rest[1..]),
        Some(b'<') => (Kind::Contents, &rest[1..]),
        _ => (Kind::Value, rest),
    };
    let (value, params) = split_value(rest);
    let mut content_type = None;
    let mut filename = None;
    for param in params {
        let param = param.trim();
        if let Some(t) = param.strip_prefix("type=") {
            content_type = Some(unquote(t).to_string());
        } else if let Some(f) = param.strip_prefix("filename=") {
            filename = Some(unquote(f).to_string());
        } else if !param.is_empty() {
            return Err(format!(
                "-F {arg:?}: {param:?} is not understood here; after the value write ;type=TYPE or ;filename=NAME"
            ));
        }
    }
    let part = match kind {
        Kind::Value => Part {
            name: name.to_string(),
            filename,
            content_type,
            bytes: value.as_bytes().to_vec(),
        },
        Kind::Contents => Part {
            name: name.to_string(),
            filename,
            content_type,
            bytes: read(Path::new(&value))?,
        },
        Kind::Upload => {
            let path = Path::new(&value);
            let bytes = read(path)?;
            let shown = filename.unwrap_or_else(|| {
                path.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| value.clone())
            });
            let content_type = content_type.or_else(|| {
                Some(
                    mime_guess::from_path(path)
                        .first_raw()
                        .unwrap_or("application/octet-stream")
                        .to_string(),
                )
            });
            Part {
                name: name.to_string(),
                filename: Some(shown),
                content_type,
                bytes,
            }
        }
    };
    Ok(part)
}

enum Kind {
    Value,
    Upload,
    Contents,
}

/// Splits `value;type=x;filename=y` at the semicolons after the value; a value in double quotes
/// may hold semicolons (`@"a;b.txt";type=text/plain`).
fn split_value(rest: &str) -> (String, Vec<&str>) {
    if let Some(quoted) = rest.strip_prefix('"') {
        if let Some(end) = quoted.find('"') {
            let value = quoted[..end].to_string();
            let after = &quoted[end + 1..];
            let params = after.split(';').filter(|p| !p.is_empty()).collect();
            return (value, params);
        }
    }
    let mut pieces = rest.split(';');
    let value = pieces.next().unwrap_or("").to_string();
    (value, pieces.collect())
}

fn unquote(s: &str) -> &str {
    s.strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(s)
}

/// A name or file name inside `Content-Disposition` quotes: `"` and line breaks are
/// percent-encoded, as browsers do (the HTML standard's multipart/form-data encoding).
fn quoted(s: &str) -> String {
    s.replace('"', "%22")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A boundary that occurs in none of the parts, made from `seed` (the shell passes something
/// that changes from run to run; tests pass a constant).
pub fn boundary(parts: &[Part], mut seed: u64) -> String {
    loop {
        // xorshift64*: plenty for a boundary, which needs to be unlikely, not secret.
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        let n = seed.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let candidate = format!("------------------------{n:016x}");
        let clash = parts.iter().any(|p| {
            p.bytes
                .windows(candidate.len())
                .any(|w| w == candidate.as_bytes())
        });
        if !clash {
            return candidate;
        }
        seed = seed.wrapping_add(1) | 1;
    }
}

/// The Content-Type header value for a body with this boundary.
pub fn content_type(boundary: &str) -> String {
    format!("multipart/form-data; boundary={boundary}")
}

/// The multipart/form-data body: each part, then the closing delimiter.
pub fn encode(parts: &[Part], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut head = String::new();
        let _ = write!(head, "--{boundary}\r\n");
        let _ = write!(
            head,
            "Content-Disposition: form-data; name=\"{}\"",
            quoted(&part.name)
        );
        if let Some(f) = &part.filename {
            let _ = write!(head, "; filename=\"{}\"", quoted(f));
        }
        head.push_str("\r\n");
        if let Some(t) = &part.content_type {
            let _ = write!(head, "Content-Type: {t}\r\n");
        }
        head.push_str("\r\n");
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(&part.bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

/// Percent-encodes everything but the unreserved characters (RFC 3986 §2.3), as curl's
/// `--data-urlencode` does; a space becomes `+` (the form encoding's space).
pub fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else if b == b' ' {
            out.push('+');
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// One `--data-urlencode` argument, encoded: `content`, `=content`, `name=content`,
/// `@FILE` or `name@FILE` (the file's bytes encoded), as curl reads them.
pub fn urlencode_arg(
    arg: &str,
    read: &mut dyn FnMut(&Path) -> Result<Vec<u8>, String>,
) -> Result<String, String> {
    let at = arg.find('@');
    let eq = arg.find('=');
    match (eq, at) {
        // name=content: the `=` comes first (content may hold an `@`).
        (Some(e), _) if at.is_none_or(|a| e < a) => {
            let (name, content) = (&arg[..e], &arg[e + 1..]);
            let encoded = percent_encode(content.as_bytes());
            Ok(if name.is_empty() {
                encoded
            } else {
                format!("{name}={encoded}")
            })
        }
        (_, Some(a)) => {
            let (name, file) = (&arg[..a], &arg[a + 1..]);
            let encoded = percent_encode(&read(Path::new(file))?);
            Ok(if name.is_empty() {
                encoded
            } else {
                format!("{name}={encoded}")
            })
        }
        _ => Ok(percent_encode(arg.as_bytes())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    fn files(path: &Path) -> Result<Vec<u8>, String> {
        match path.to_str() {
            Some("notes.txt") => Ok(b"two\nlines\n".to_vec()),
            Some("a;b.bin") => Ok(vec![0, 1, 2]),
            _ => Err(format!("cannot read {}", path.display())),
        }
    }

    const FORM: &[u8] = b"\
        --XX\r\n\
        Content-Disposition: form-data; name=\"name\"\r\n\
        \r\n\
        Grace\r\n\
        --XX\r\n\
        Content-Disposition: form-data; name=\"upload\"; filename=\"notes.txt\"\r\n\
        Content-Type: text/plain\r\n\
        \r\n\
        two\nlines\n\r\n\
        --XX--\r\n";

    #[test]
    fn values_and_files_make_a_multipart_body() {
        let parts = vec![
            parse_form_arg("name=Grace", &mut files).unwrap(),
            parse_form_arg("upload=@notes.txt", &mut files).unwrap(),
        ];
        assert_eq!(encode(&parts, "XX"), FORM);
    }

    #[test]
    fn type_filename_contents_and_quotes() {
        let p = parse_form_arg("f=@notes.txt;type=text/markdown", &mut files).unwrap();
        assert_eq!(p.content_type.as_deref(), Some("text/markdown"));
        let p = parse_form_arg("f=@notes.txt;filename=renamed.md", &mut files).unwrap();
        assert_eq!(p.filename.as_deref(), Some("renamed.md"));
        let p = parse_form_arg("f=<notes.txt", &mut files).unwrap();
        assert_eq!((p.filename, p.bytes), (None, b"two\nlines\n".to_vec()));
        let p = parse_form_arg("f=@\"a;b.bin\";type=application/x-thing", &mut files).unwrap();
        assert_eq!(p.bytes, [0, 1, 2]);
        assert_eq!(p.content_type.as_deref(), Some("application/x-thing"));
        let p = parse_form_arg("msg=hi;type=text/x-note", &mut files).unwrap();
        assert_eq!(
            (p.bytes, p.content_type),
            (b"hi".to_vec(), Some("text/x-note".into()))
        );
        let p = parse_form_arg("say\"what=1", &mut files).unwrap();
        let body = String::from_utf8(encode(&[p], "B")).unwrap();
        assert!(body.contains("name=\"say%22what\""), "{body}");
    }

    #[test]
    fn bad_form_arguments_say_what_to_write() {
        assert!(parse_form_arg("novalue", &mut files)
            .unwrap_err()
            .contains("name=@FILE"));
        assert!(parse_form_arg("=x", &mut files)
            .unwrap_err()
            .contains("name is missing"));
        assert!(parse_form_arg("f=@missing.txt", &mut files)
            .unwrap_err()
            .contains("cannot read missing.txt"));
        assert!(parse_form_arg("f=x;colour=red", &mut files)
            .unwrap_err()
            .contains(";type="));
    }

    #[test]
    fn the_boundary_avoids_the_content() {
        let first = boundary(&[], 7);
        let part = Part {
            name: "x".into(),
            filename: None,
            content_type: None,
            bytes: format!("before {first} after").into_bytes(),
        };
        let second = boundary(&[part], 7);
        assert_ne!(first, second);
        assert!(second.starts_with("------------------------"));
    }

    #[test]
    fn urlencode_reads_arguments_as_curl_does() {
        let mut read = files;
        assert_eq!(
            urlencode_arg("message=hi there & more", &mut read).unwrap(),
            "message=hi+there+%26+more"
        );
        assert_eq!(urlencode_arg("=a b", &mut read).unwrap(), "a+b");
        assert_eq!(urlencode_arg("just text", &mut read).unwrap(), "just+text");
        assert_eq!(
            urlencode_arg("mail=a@b.org", &mut read).unwrap(),
            "mail=a%40b.org"
        );
        assert_eq!(
            urlencode_arg("body@notes.txt", &mut read).unwrap(),
            "body=two%0Alines%0A"
        );
        assert_eq!(
            urlencode_arg("@notes.txt", &mut read).unwrap(),
            "two%0Alines%0A"
        );
        assert_eq!(percent_encode("é~".as_bytes()), "%C3%A9~");
        // What curl 7.88 writes for `--data-urlencode 'v=a b+c*d!e(f)~g.h_i-j/k:l'`.
        assert_eq!(
            urlencode_arg("v=a b+c*d!e(f)~g.h_i-j/k:l", &mut read).unwrap(),
            "v=a+b%2Bc%2Ad%21e%28f%29~g.h_i-j%2Fk%3Al"
        );
    }
}
