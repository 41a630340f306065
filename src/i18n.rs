//! The message catalogue. Every string a user sees (pages, refusal messages, CLI output
//! meant for people) is looked up here by key, in Korean, Chinese or English. The catalogues
//! are TOML files embedded in the binary (`src/i18n/{en,ko,zh}.toml`); English is the
//! fallback, and a test checks that all three have the same keys.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Serialize;

/// A UI language.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    Ko,
    Zh,
    #[default]
    En,
}

impl Lang {
    pub const ALL: [Lang; 3] = [Lang::Ko, Lang::Zh, Lang::En];

    /// Parses `ko`, `zh`, `en` (and `ko-KR`, `zh-CN` ...); `None` for anything else.
    pub fn parse(s: &str) -> Option<Lang> {
        let s = s.trim().to_ascii_lowercase();
        match s.get(..2)? {
            "ko" => Some(Lang::Ko),
            "zh" => Some(Lang::Zh),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// Picks the first supported language of an `Accept-Language` header.
    pub fn from_accept_language(header: &str) -> Option<Lang> {
        header
            .split(',')
            .find_map(|part| Lang::parse(part.split(';').next()?))
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Ko => "ko",
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

type Catalogue = HashMap<String, String>;

fn parse(src: &str, name: &str) -> Catalogue {
    let table: toml::Table = toml::from_str(src)
        .unwrap_or_else(|e| panic!("message catalogue {name} is not valid TOML: {e}"));
    let mut out = HashMap::new();
    flatten("", &table, &mut out);
    out
}

fn flatten(prefix: &str, table: &toml::Table, out: &mut Catalogue) {
    for (k, v) in table {
        let key = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        match v {
            toml::Value::Table(t) => flatten(&key, t, out),
            toml::Value::String(s) => {
                out.insert(key, s.clone());
            }
            other => panic!("message {key} must be a string, found {other}"),
        }
    }
}

fn catalogues() -> &'static HashMap<Lang, Catalogue> {
    static CATS: OnceLock<HashMap<Lang, Catalogue>> = OnceLock::new();
    CATS.get_or_init(|| {
        let mut cats = HashMap::from([
            (Lang::En, parse(include_str!("i18n/en.toml"), "en.toml")),
            (Lang::Ko, parse(include_str!("i18n/ko.toml"), "ko.toml")),
            (Lang::Zh, parse(include_str!("i18n/zh.toml"), "zh.toml")),
        ]);
        for (name, src) in AREAS {
            add_area(&mut cats, src, name);
        }
        cats
    })
}

/// Catalogues of one area of the product, all three languages in one file so that whoever
/// adds a message writes it in every language at once: `[en.KEY]`, `[ko.KEY]`, `[zh.KEY]`.
const AREAS: &[(&str, &str)] = &[
    ("stock.toml", include_str!("i18n/stock.toml")),
    ("waves.toml", include_str!("i18n/waves.toml")),
    ("handover.toml", include_str!("i18n/handover.toml")),
    ("returns.toml", include_str!("i18n/returns.toml")),
    ("day.toml", include_str!("i18n/day.toml")),
    ("bills.toml", include_str!("i18n/bills.toml")),
    ("stocktake.toml", include_str!("i18n/stocktake.toml")),
    ("archive.toml", include_str!("i18n/archive.toml")),
    ("camera.toml", include_str!("i18n/camera.toml")),
];

fn add_area(cats: &mut HashMap<Lang, Catalogue>, src: &str, name: &str) {
    let table: toml::Table = toml::from_str(src)
        .unwrap_or_else(|e| panic!("message catalogue {name} is not valid TOML: {e}"));
    for (lang, v) in table {
        let lang = Lang::parse(&lang)
            .unwrap_or_else(|| panic!("{name}: top-level table {lang} is not ko, zh or en"));
        let toml::Value::Table(t) = v else {
            panic!("{name}: {} must be a table", lang.code());
        };
        let cat = cats.get_mut(&lang).expect("every language has a catalogue");
        let mut area = HashMap::new();
        flatten("", &t, &mut area);
        for (k, v) in area {
            if cat.insert(k.clone(), v).is_some() {
                panic!("{name}: message {k} is already defined");
            }
        }
    }
}

/// The message for `key` in `lang`, falling back to English, then to the key itself (so a
/// missing message shows up as its key rather than as nothing).
pub fn t(lang: Lang, key: &str) -> String {
    let cats = catalogues();
    cats[&lang]
        .get(key)
        .or_else(|| cats[&Lang::En].get(key))
        .cloned()
        .unwrap_or_else(|| key.to_string())
}

/// Like [`t`], with `{name}` placeholders filled from `args`.
pub fn tf(lang: Lang, key: &str, args: &[(&str, &str)]) -> String {
    let mut s = t(lang, key);
    for (name, value) in args {
        s = s.replace(&format!("{{{name}}}"), value);
    }
    s
}

/// Every key of a language's catalogue (for the page script and the completeness test).
pub fn keys(lang: Lang) -> Vec<&'static str> {
    let mut k: Vec<&str> = catalogues()[&lang].keys().map(String::as_str).collect();
    k.sort_unstable();
    k
}

/// All messages of a language whose key starts with `prefix`, for the bench page's script.
pub fn with_prefix(lang: Lang, prefix: &str) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = keys(Lang::En)
        .into_iter()
        .filter(|k| k.starts_with(prefix))
        .map(|k| (k.to_string(), t(lang, k)))
        .collect();
    v.sort();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_language_has_every_key() {
        let en = keys(Lang::En);
        for lang in [Lang::Ko, Lang::Zh] {
            let other = keys(lang);
            let missing: Vec<_> = en.iter().filter(|k| !other.contains(k)).collect();
            let extra: Vec<_> = other.iter().filter(|k| !en.contains(k)).collect();
            assert!(missing.is_empty(), "{:?} lacks {missing:?}", lang);
            assert!(
                extra.is_empty(),
                "{:?} has keys English lacks: {extra:?}",
                lang
            );
        }
    }

    #[test]
    fn placeholders_are_filled() {
        assert_eq!(
            Lang::from_accept_language("zh-CN,zh;q=0.9,en;q=0.8"),
            Some(Lang::Zh)
        );
        let s = tf(Lang::En, "refusal.wrong_item", &[("sku", "SKU-1")]);
        assert!(!s.contains("{sku}"), "{s}");
    }
}
