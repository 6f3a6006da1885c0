//! Choosing `Content-Type` by file extension, and whether a type is worth compressing.
//!
//! The table is `mime_guess`'s, with the config file's `[mime]` entries on top. Text types get
//! `; charset=utf-8` so a browser never has to guess the encoding.
use std::collections::BTreeMap;

/// The content type for a file name, with extra types by lower-case extension taking priority.
pub fn for_name(name: &str, extra: &BTreeMap<String, String>) -> String {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
    let base = match ext.as_deref().and_then(|e| extra.get(e)) {
        Some(t) => t.clone(),
        None => match ext.as_deref() {
            // Files without a known extension are served as opaque bytes.
            None => "application/octet-stream".to_string(),
            Some(e) => mime_guess::from_ext(e)
                .first_raw()
                .unwrap_or("application/octet-stream")
                .to_string(),
        },
    };
    with_charset(base)
}

/// Adds `; charset=utf-8` to textual types that do not name a charset yet.
fn with_charset(mut ty: String) -> String {
    if is_textual(&ty) && !ty.contains("charset") {
        ty.push_str("; charset=utf-8");
    }
    ty
}

fn is_textual(ty: &str) -> bool {
    let essence = ty.split(';').next().unwrap_or("").trim();
    essence.starts_with("text/")
        || matches!(
            essence,
            "application/javascript"
                | "application/json"
                | "application/xml"
                | "image/svg+xml"
                | "application/manifest+json"
        )
}

/// True for types that shrink under gzip (text, JSON, XML, SVG, JavaScript, WebAssembly).
/// Images, audio, video and archives are compressed already.
pub fn is_compressible(ty: &str) -> bool {
    let essence = ty.split(';').next().unwrap_or("").trim();
    is_textual(ty)
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || essence == "application/wasm"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_gets_a_charset_and_binaries_do_not() {
        let none = BTreeMap::new();
        assert_eq!(for_name("index.html", &none), "text/html; charset=utf-8");
        assert_eq!(for_name("a.CSS", &none), "text/css; charset=utf-8");
        assert_eq!(for_name("p.json", &none), "application/json; charset=utf-8");
        assert_eq!(for_name("logo.svg", &none), "image/svg+xml; charset=utf-8");
        assert_eq!(for_name("p.png", &none), "image/png");
        assert_eq!(for_name("Makefile", &none), "application/octet-stream");
        assert_eq!(for_name("x.unknownext", &none), "application/octet-stream");
    }

    #[test]
    fn extra_types_win() {
        let extra = BTreeMap::from([
            ("md".to_string(), "text/markdown".to_string()),
            ("png".to_string(), "image/x-mine".to_string()),
        ]);
        assert_eq!(for_name("r.md", &extra), "text/markdown; charset=utf-8");
        assert_eq!(for_name("r.PNG", &extra), "image/x-mine");
    }

    #[test]
    fn compressible_types() {
        assert!(is_compressible("text/html; charset=utf-8"));
        assert!(is_compressible("image/svg+xml"));
        assert!(is_compressible("application/ld+json"));
        assert!(!is_compressible("image/png"));
        assert!(!is_compressible("application/gzip"));
    }
}
