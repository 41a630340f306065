//! Device profiles: one TOML file per device model or family under `firmware-config/`
//! (`scales/`, `scanners/`, `printers/`). The files shipped with packbench are embedded in
//! the binary, so a bench works from any directory; a site adds or corrects a profile by
//! dropping a file with the same name into its own profile directory, which wins.
//!
//! A profile with an error is refused with its file, line, column and what is wrong, and the
//! server does not start with it.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::DeserializeOwned;

/// A profile file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProfileError {
    pub file: String,
    /// 1-based; 0 when the problem is the file as a whole.
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl fmt::Display for ProfileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(
                f,
                "{}, line {}, column {}: {}",
                self.file, self.line, self.column, self.message
            )
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for ProfileError {}

/// Line and column (1-based) of byte offset `at` in `src`.
pub fn line_col(src: &str, at: usize) -> (usize, usize) {
    let before = &src[..at.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// Parses one profile. `check` looks at the parsed value and returns problems as
/// `(key, message)`; the key's line is found in the file so the error points at it.
pub fn parse<T: DeserializeOwned>(
    file: &str,
    src: &str,
    check: impl Fn(&T) -> Vec<(String, String)>,
) -> Result<T, ProfileError> {
    let value: T = toml::from_str(src).map_err(|e| {
        let (line, column) = e.span().map_or((0, 0), |s| line_col(src, s.start));
        ProfileError {
            file: file.into(),
            line,
            column,
            message: e.message().to_string(),
        }
    })?;
    if let Some((key, message)) = check(&value).into_iter().next() {
        let (line, column) = find_key(src, &key).unwrap_or((0, 0));
        return Err(ProfileError {
            file: file.into(),
            line,
            column,
            message: format!("{key}: {message}"),
        });
    }
    Ok(value)
}

/// Where `key = ...` is written (the last dotted part is searched at a line's start).
fn find_key(src: &str, key: &str) -> Option<(usize, usize)> {
    let last = key.rsplit('.').next().unwrap_or(key);
    for (i, line) in src.lines().enumerate() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix(last) {
            if rest.trim_start().starts_with('=') {
                return Some((i + 1, line.len() - t.len() + 1));
            }
        }
    }
    None
}

/// Every profile of one kind: the embedded files (`(name, text)`, name without `.toml`)
/// overlaid by the `*.toml` files of `dir` when given. Each file is parsed with `parse_one`;
/// the first bad file stops the load.
pub fn load_all<T>(
    embedded: &[(&str, &str)],
    dir: Option<&Path>,
    parse_one: impl Fn(&str, &str) -> Result<T, ProfileError>,
) -> Result<BTreeMap<String, T>, ProfileError> {
    let mut out = BTreeMap::new();
    for (name, src) in embedded {
        let file = format!("firmware-config (built in)/{name}.toml");
        out.insert(name.to_string(), parse_one(&file, src)?);
    }
    if let Some(dir) = dir {
        let entries = std::fs::read_dir(dir).map_err(|e| ProfileError {
            file: dir.display().to_string(),
            line: 0,
            column: 0,
            message: format!("cannot read the profile directory: {e}"),
        })?;
        let mut paths: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let file = path.display().to_string();
            let src = std::fs::read_to_string(&path).map_err(|e| ProfileError {
                file: file.clone(),
                line: 0,
                column: 0,
                message: format!("cannot read: {e}"),
            })?;
            let name = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.insert(name, parse_one(&file, &src)?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct P {
        baud: u32,
        #[serde(default)]
        #[allow(dead_code)] // only its presence in a file matters to these tests
        parity: String,
    }

    fn check(p: &P) -> Vec<(String, String)> {
        if p.baud == 0 {
            vec![("serial.baud".into(), "must be above 0".into())]
        } else {
            vec![]
        }
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let e = parse::<P>("x.toml", "# c\nbaud = \"fast\"\n", check).unwrap_err();
        assert_eq!((e.file.as_str(), e.line), ("x.toml", 2), "{e}");
        assert!(e.to_string().contains("x.toml, line 2"), "{e}");
    }

    #[test]
    fn an_unknown_key_and_a_failed_check_point_at_their_line() {
        let e = parse::<P>("x.toml", "baud = 9600\nparty = \"n\"\n", check).unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        let e = parse::<P>("x.toml", "parity = \"n\"\nbaud = 0\n", check).unwrap_err();
        assert_eq!((e.line, e.column), (2, 1), "{e}");
        assert!(e.message.contains("must be above 0"), "{e}");
    }

    #[test]
    fn a_directory_file_overrides_the_built_in_one() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.toml"), "baud = 19200\n").unwrap();
        std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
        let all = load_all(
            &[("a", "baud = 9600\n"), ("b", "baud = 2400\n")],
            Some(dir.path()),
            |f, s| parse::<P>(f, s, check),
        )
        .unwrap();
        assert_eq!(all["a"].baud, 19200);
        assert_eq!(all["b"].baud, 2400);
    }
}
