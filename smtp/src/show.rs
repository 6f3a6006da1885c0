//! `smtp show FILE`: prints a stored message's envelope, header fields (encoded words
//! decoded), its parts as a tree, the text parts, and writes decoded attachments on request.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use wire::smtp::mime::Part;

use crate::cli::ShowArgs;
use crate::maildir;
use crate::style;

/// The report for one message (without the file line), as printed.
pub fn render(message: &[u8], envelope: Option<&str>) -> String {
    let part = match Part::parse(message) {
        Ok(part) => part,
        Err(e) => return format!("cannot read the message: {e}\n"),
    };
    let mut out = String::new();
    if let Some(envelope) = envelope {
        out.push_str("Envelope:\n");
        for line in envelope.lines() {
            out.push_str(&format!("  {line}\n"));
        }
        out.push('\n');
    }
    for name in ["Date", "From", "To", "Cc", "Subject", "Message-ID"] {
        if let Some(value) = part.header_text(name) {
            out.push_str(&format!("{name}: {value}\n"));
        }
    }
    if part.headers.is_empty() {
        out.push_str("(no header fields)\n");
    }
    out.push_str("\nParts:\n");
    let mut texts = Vec::new();
    tree(&part, "1", 0, &mut out, &mut texts);
    for (number, text) in texts {
        out.push_str(&format!("\n--- part {number} ---\n"));
        out.push_str(&text);
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    out
}

fn tree(
    part: &Part,
    number: &str,
    depth: usize,
    out: &mut String,
    texts: &mut Vec<(String, String)>,
) {
    let content_type = part.content_type();
    let mut line = format!(
        "  {}{number:<6} {}",
        "  ".repeat(depth),
        content_type.mime_type
    );
    if let Some(charset) = content_type.parameter("charset") {
        line.push_str(&format!("; charset={charset}"));
    }
    if part.children.is_empty() {
        let encoding = part.transfer_encoding();
        match part.decoded_body() {
            Ok(body) => {
                line.push_str(&format!("  {encoding}, {} bytes", body.len()));
                if part.is_attachment() {
                    let name = part.file_name().unwrap_or_else(|| "(no name)".to_owned());
                    line.push_str(&format!("  attachment {name:?}"));
                } else if content_type.mime_type == "text/plain" {
                    texts.push((
                        number.to_owned(),
                        String::from_utf8_lossy(&body).replace("\r\n", "\n"),
                    ));
                }
            }
            Err(e) => line.push_str(&format!(
                "  {encoding}, {}",
                style::error(&format!("undecodable: {e}"))
            )),
        }
    }
    out.push_str(&line);
    out.push('\n');
    for (i, child) in part.children.iter().enumerate() {
        tree(child, &format!("{number}.{}", i + 1), depth + 1, out, texts);
    }
}

/// A file name safe to create inside the extraction folder: no folders, no control
/// characters, no leading dots.
pub fn safe_file_name(name: &str, index: usize) -> String {
    let last = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = last
        .chars()
        .map(|c| if c.is_control() { '_' } else { c })
        .collect();
    let cleaned = cleaned.trim_start_matches('.').trim().to_owned();
    if cleaned.is_empty() {
        format!("attachment-{index}")
    } else {
        cleaned
    }
}

/// Writes every attachment of `message` into `dir` (never overwriting: `name-1.ext` ...).
pub fn extract(message: &[u8], dir: &Path) -> io::Result<Vec<(PathBuf, usize)>> {
    let part = Part::parse(message)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
    fs::create_dir_all(dir)?;
    let mut written = Vec::new();
    for (i, leaf) in part
        .leaves()
        .into_iter()
        .filter(|p| p.is_attachment())
        .enumerate()
    {
        let body = leaf
            .decoded_body()
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e.to_string()))?;
        let name = safe_file_name(&leaf.file_name().unwrap_or_default(), i + 1);
        let mut path = dir.join(&name);
        let mut n = 0;
        while path.exists() {
            n += 1;
            let (stem, ext) = match name.rsplit_once('.') {
                Some((s, e)) if !s.is_empty() => (s.to_owned(), format!(".{e}")),
                _ => (name.clone(), String::new()),
            };
            path = dir.join(format!("{stem}-{n}{ext}"));
        }
        fs::write(&path, &body)?;
        written.push((path, body.len()));
    }
    Ok(written)
}

/// `smtp show` from the command line.
pub fn run(args: &ShowArgs) -> i32 {
    let message = match fs::read(&args.file) {
        Ok(bytes) => bytes,
        Err(e) => {
            eprintln!(
                "{} cannot read {}: {e}",
                style::error("smtp show:"),
                args.file.display()
            );
            return 1;
        }
    };
    let envelope = maildir::envelope_path(&args.file).and_then(|p| fs::read_to_string(p).ok());
    println!("File: {} ({} bytes)", args.file.display(), message.len());
    print!("{}", render(&message, envelope.as_deref()));
    if let Some(dir) = &args.extract {
        match extract(&message, dir) {
            Ok(written) if written.is_empty() => println!("\nNo attachments to extract."),
            Ok(written) => {
                println!();
                for (path, len) in written {
                    println!("extracted {} ({len} bytes)", path.display());
                }
            }
            Err(e) => {
                eprintln!(
                    "{} cannot extract into {}: {e}",
                    style::error("smtp show:"),
                    dir.display()
                );
                return 1;
            }
        }
    }
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_cannot_escape() {
        assert_eq!(safe_file_name("../../etc/passwd", 1), "passwd");
        assert_eq!(safe_file_name("..", 2), "attachment-2");
        assert_eq!(safe_file_name("C:\\evil\\x.exe", 1), "x.exe");
        assert_eq!(safe_file_name(".hidden", 1), "hidden");
        assert_eq!(safe_file_name("a\nb", 1), "a_b");
    }
}
