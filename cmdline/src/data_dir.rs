//! The one folder protolab keeps its files in: `labs`' progress, `smtp serve`'s maildir.

use std::ffi::OsString;
use std::path::PathBuf;

/// protolab's data folder: `$PROTOLAB_DATA_DIR`, else `$XDG_DATA_HOME/protolab`, else
/// `~/.local/share/protolab`. A variable set to the empty string counts as unset (the XDG base
/// directory rule). `None` when not even `HOME` is set.
pub fn data_dir() -> Option<PathBuf> {
    data_dir_from(|name| std::env::var_os(name))
}

/// [`data_dir`] with the environment passed in, so the rule can be tested without touching the
/// process's own environment.
pub fn data_dir_from(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|value| !value.is_empty());
    if let Some(dir) = set("PROTOLAB_DATA_DIR") {
        return Some(PathBuf::from(dir));
    }
    if let Some(dir) = set("XDG_DATA_HOME") {
        return Some(PathBuf::from(dir).join("protolab"));
    }
    set("HOME").map(|home| PathBuf::from(home).join(".local/share/protolab"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(key, _)| *key == name)
                .map(|(_, value)| OsString::from(value))
        }
    }

    #[test]
    fn protolab_data_dir_wins_over_xdg_and_home() {
        let vars = [
            ("PROTOLAB_DATA_DIR", "/srv/lab"),
            ("XDG_DATA_HOME", "/x"),
            ("HOME", "/home/ada"),
        ];
        assert_eq!(data_dir_from(env(&vars)), Some(PathBuf::from("/srv/lab")));
    }

    #[test]
    fn xdg_data_home_gets_a_protolab_folder() {
        let vars = [("XDG_DATA_HOME", "/x"), ("HOME", "/home/ada")];
        assert_eq!(
            data_dir_from(env(&vars)),
            Some(PathBuf::from("/x/protolab"))
        );
    }

    #[test]
    fn home_is_the_last_resort() {
        let vars = [("HOME", "/home/ada")];
        assert_eq!(
            data_dir_from(env(&vars)),
            Some(PathBuf::from("/home/ada/.local/share/protolab"))
        );
    }

    #[test]
    fn empty_variables_count_as_unset() {
        let vars = [
            ("PROTOLAB_DATA_DIR", ""),
            ("XDG_DATA_HOME", ""),
            ("HOME", "/home/ada"),
        ];
        assert_eq!(
            data_dir_from(env(&vars)),
            Some(PathBuf::from("/home/ada/.local/share/protolab"))
        );
        assert_eq!(data_dir_from(env(&[("HOME", "")])), None);
        assert_eq!(data_dir_from(env(&[])), None);
    }
}
