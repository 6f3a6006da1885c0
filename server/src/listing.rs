//! Apache-style directory listings: an HTML table of a folder's entries with sizes and dates,
//! sortable by clicking a column heading (`?C=N|S|M;O=A|D`, Apache's own query syntax).
//!
//! Names are escaped for HTML and percent-encoded in links, so a file called
//! `<script>.txt` or `a&b c.txt` shows as itself and links to itself.
use std::cmp::Ordering;
use std::fmt::Write as _;
use std::time::SystemTime;

/// One row of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    pub name: String,
    pub is_dir: bool,
    pub len: u64,
    pub modified: SystemTime,
}

/// The column a listing is sorted by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortKey {
    Name,
    Size,
    Modified,
}

/// How a listing is ordered, read from the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub key: SortKey,
    pub descending: bool,
}

impl Sort {
    /// Reads `C=N|S|M` and `O=A|D`, separated by `;` or `&`; anything else is ignored.
    pub fn from_query(query: &str) -> Sort {
        let mut sort = Sort {
            key: SortKey::Name,
            descending: false,
        };
        for pair in query.split([';', '&']) {
            match pair {
                "C=N" => sort.key = SortKey::Name,
                "C=S" => sort.key = SortKey::Size,
                "C=M" => sort.key = SortKey::Modified,
                "O=A" => sort.descending = false,
                "O=D" => sort.descending = true,
                _ => {}
            }
        }
        sort
    }

    fn compare(&self, a: &ListEntry, b: &ListEntry) -> Ordering {
        // Folders first, always; then the chosen column, then the name to keep it stable.
        let by_kind = b.is_dir.cmp(&a.is_dir);
        let by_key = match self.key {
            SortKey::Name => a.name.cmp(&b.name),
            SortKey::Size => a.len.cmp(&b.len).then_with(|| a.name.cmp(&b.name)),
            SortKey::Modified => a
                .modified
                .cmp(&b.modified)
                .then_with(|| a.name.cmp(&b.name)),
        };
        by_kind.then(if self.descending {
            by_key.reverse()
        } else {
            by_key
        })
    }

    /// The query for a heading link: the same column flips the order, another starts ascending.
    fn link_for(&self, key: SortKey) -> String {
        let letter = match key {
            SortKey::Name => 'N',
            SortKey::Size => 'S',
            SortKey::Modified => 'M',
        };
        let order = if self.key == key && !self.descending {
            'D'
        } else {
            'A'
        };
        format!("?C={letter};O={order}")
    }
}

/// Renders the listing page for `dir_path` (decoded, ending in `/`).
pub fn render(
    dir_path: &str,
    mut entries: Vec<ListEntry>,
    sort: Sort,
    format_date: impl Fn(SystemTime) -> String,
) -> String {
    entries.sort_by(|a, b| sort.compare(a, b));
    let title = escape_html(dir_path);
    let mut html = String::with_capacity(1024 + entries.len() * 200);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>Index of {title}</title>\n\
         <style>body{{font-family:system-ui,sans-serif;margin:2rem}}table{{border-collapse:collapse}}\
         th,td{{padding:.2rem 1rem;text-align:left}}td.size{{text-align:right}}th a{{color:inherit}}</style>\n\
         </head>\n<body>\n<h1>Index of {title}</h1>\n<table>\n<tr><th><a href=\"{}\">Name</a></th>\
         <th><a href=\"{}\">Last modified</a></th><th><a href=\"{}\">Size</a></th></tr>\n",
        sort.link_for(SortKey::Name),
        sort.link_for(SortKey::Modified),
        sort.link_for(SortKey::Size),
    );
    if dir_path != "/" {
        html.push_str("<tr><td><a href=\"../\">Parent folder</a></td><td></td><td class=\"size\">-</td></tr>\n");
    }
    for e in &entries {
        let slash = if e.is_dir { "/" } else { "" };
        let size = if e.is_dir {
            "-".to_string()
        } else {
            human_size(e.len)
        };
        let _ = writeln!(
            html,
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{}</td><td class=\"size\">{size}</td></tr>",
            encode_segment(&e.name),
            escape_html(&e.name),
            escape_html(&format_date(e.modified)),
        );
    }
    html.push_str("</table>\n</body>\n</html>\n");
    html
}

/// Escapes the five characters that mean something in HTML text and attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a path segment: everything but RFC 3986 unreserved characters.
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// Sizes as people read them: `812`, `4.2K`, `2.0M`.
fn human_size(n: u64) -> String {
    const UNITS: [&str; 4] = ["K", "M", "G", "T"];
    if n < 1024 {
        return n.to_string();
    }
    let mut v = n as f64 / 1024.0;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1}{}", UNITS[unit])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn entry(name: &str, is_dir: bool, len: u64, secs: u64) -> ListEntry {
        ListEntry {
            name: name.into(),
            is_dir,
            len,
            modified: UNIX_EPOCH + Duration::from_secs(secs),
        }
    }

    fn names(html: &str) -> Vec<&str> {
        html.lines()
            .filter_map(|l| l.strip_prefix("<tr><td><a href=\""))
            .filter_map(|l| l.split('"').next())
            .collect()
    }

    #[test]
    fn names_are_escaped_and_encoded() {
        let html = render(
            "/a&b/",
            vec![entry("<x> & y.txt", false, 10, 0)],
            Sort::from_query(""),
            |_| "d".into(),
        );
        assert!(html.contains("<title>Index of /a&amp;b/</title>"));
        assert!(
            html.contains("<a href=\"%3Cx%3E%20%26%20y.txt\">&lt;x&gt; &amp; y.txt</a>"),
            "{html}"
        );
        assert!(!html.contains("<x>"));
    }

    #[test]
    fn sorting_keeps_folders_first_and_flips_order() {
        let list = vec![
            entry("b", false, 1, 3),
            entry("a", false, 5, 1),
            entry("z", true, 0, 2),
        ];
        let by_name = render("/", list.clone(), Sort::from_query(""), |_| String::new());
        assert_eq!(names(&by_name), ["z/", "a", "b"]);
        let by_size_desc = render("/", list.clone(), Sort::from_query("C=S;O=D"), |_| {
            String::new()
        });
        assert_eq!(names(&by_size_desc), ["z/", "a", "b"]);
        let by_date = render("/", list, Sort::from_query("C=M&O=A"), |_| String::new());
        assert_eq!(names(&by_date), ["z/", "a", "b"]);
        assert!(
            by_date.contains("href=\"?C=M;O=D\""),
            "clicking the sorted column flips it"
        );
    }

    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(human_size(812), "812");
        assert_eq!(human_size(4300), "4.2K");
        assert_eq!(human_size(2 * 1024 * 1024), "2.0M");
    }

    #[test]
    fn parent_link_only_below_the_root() {
        let top = render("/", vec![], Sort::from_query(""), |_| String::new());
        assert!(!top.contains("Parent folder"));
        let sub = render("/files/", vec![], Sort::from_query(""), |_| String::new());
        assert!(sub.contains("href=\"../\""));
    }
}
