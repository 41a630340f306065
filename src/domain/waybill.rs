//! Courier waybill number rules: format checks, check digits and number allocation from a band.
//!
//! Marketplaces reject a wrong waybill number only after the parcel has left, so the bench
//! checks every number first. Check digits are applied only where DOMAIN.md section 4 confirms
//! them (Lotte mod 7, EMS S10); everywhere else the rule checks length and characters, and an
//! unconfirmed check digit (CJ) or format heuristic (Chinese couriers) only gives a warning.
//! The rules themselves are data (`couriers.toml`, embedded below) so a user can correct one
//! from the configuration without a new release.

use serde::{Deserialize, Serialize};

use super::codes;

/// The default rules, embedded at build time. See the comments in the file for sources.
pub const DEFAULT_RULES_TOML: &str = include_str!("couriers.toml");

/// The characters a courier's numbers may contain.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Charset {
    /// Digits 0 to 9 only.
    Digits,
    /// Upper-case letters A to Z and digits (input is upper-cased first).
    Alnum,
}

impl Charset {
    fn allows(self, c: char) -> bool {
        match self {
            Charset::Digits => c.is_ascii_digit(),
            Charset::Alnum => c.is_ascii_uppercase() || c.is_ascii_digit(),
        }
    }
}

/// How a courier's check digit works.
#[derive(Deserialize, Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum CheckDigit {
    /// No check digit is known; only length and characters are checked.
    None,
    /// The last digit is the number formed by the other digits mod 7; a mismatch rejects.
    Mod7,
    /// As `Mod7`, but the rule is unconfirmed, so a mismatch is only a warning.
    Mod7Warn,
    /// UPU S10: two letters, eight digits, a check digit and a two-letter country code.
    S10,
}

/// One courier's waybill number rule, as read from `couriers.toml` or the user's config.
#[derive(Deserialize, Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct CourierRule {
    /// The courier code: "cj", "hanjin", "lotte", "epost", "logen", "sf", "sto", "zto",
    /// "yto", "yunda" or "ems".
    pub code: String,
    /// The Korean display name.
    #[serde(default)]
    pub name_ko: String,
    /// The Chinese display name.
    #[serde(default)]
    pub name_zh: String,
    /// The English display name.
    #[serde(default)]
    pub name_en: String,
    /// The allowed total lengths, after spaces and '-' are removed.
    pub lengths: Vec<usize>,
    /// The allowed characters.
    pub charset: Charset,
    /// When not empty, the number must start with one of these (checked strictly).
    #[serde(default)]
    pub prefixes: Vec<String>,
    /// Format heuristics (see `pattern_matches`); a number matching none gives a warning.
    #[serde(default)]
    pub patterns: Vec<String>,
    /// The check-digit scheme.
    pub check: CheckDigit,
    /// The S10 service letters used when allocating from a band, for example "EE".
    #[serde(default)]
    pub s10_service: String,
    /// The S10 country code used when allocating from a band, for example "KR" or "CN".
    #[serde(default)]
    pub s10_country: String,
    /// A short plain-language note about how sure the rule is.
    #[serde(default)]
    pub note: String,
}

impl CourierRule {
    /// Lists what is wrong with the rule itself (empty when it is usable), so a broken
    /// override in the configuration is reported at start-up instead of rejecting numbers.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        let who = if self.code.is_empty() {
            "a courier rule"
        } else {
            self.code.as_str()
        };
        if self.code.trim().is_empty() {
            out.push("a courier rule has an empty code".to_string());
        }
        if self.lengths.is_empty() || self.lengths.contains(&0) {
            out.push(format!(
                "{who}: lengths must list at least one length above 0"
            ));
        }
        match self.check {
            CheckDigit::Mod7 | CheckDigit::Mod7Warn => {
                if self.lengths.iter().any(|&l| l < 2) {
                    out.push(format!("{who}: a mod7 rule needs lengths of 2 or more"));
                }
            }
            CheckDigit::S10 => {
                if self.lengths != [13] || self.charset != Charset::Alnum {
                    out.push(format!(
                        "{who}: an s10 rule needs lengths = [13] and charset = \"alnum\""
                    ));
                }
                for (field, value) in [
                    ("s10_service", &self.s10_service),
                    ("s10_country", &self.s10_country),
                ] {
                    if !value.is_empty() && !two_letters(value) {
                        out.push(format!("{who}: {field} must be two letters"));
                    }
                }
            }
            CheckDigit::None => {}
        }
        for prefix in &self.prefixes {
            if prefix.is_empty() {
                out.push(format!("{who}: a prefix is empty"));
            } else if let Some(c) = prefix
                .to_ascii_uppercase()
                .chars()
                .find(|&c| !self.charset.allows(c))
            {
                out.push(format!(
                    "{who}: prefix \"{prefix}\" has '{c}', which the charset never allows"
                ));
            }
        }
        for pattern in &self.patterns {
            if let Err(e) = parse_pattern(pattern) {
                out.push(format!("{who}: pattern \"{pattern}\": {e}"));
            }
        }
        out
    }

    /// The name to show for a language tag ("ko", "zh", anything else is English), falling
    /// back to the English name and then the code.
    pub fn name(&self, lang: &str) -> &str {
        let preferred = match lang.get(..2) {
            Some("ko") => &self.name_ko,
            Some("zh") => &self.name_zh,
            _ => &self.name_en,
        };
        [preferred, &self.name_en, &self.code]
            .into_iter()
            .find(|s| !s.is_empty())
            .map(String::as_str)
            .unwrap_or("")
    }
}

/// The shape of a rules file: a list of `[[courier]]` tables.
#[derive(Deserialize, Serialize, Clone, Debug, Default)]
#[serde(deny_unknown_fields)]
pub struct CourierFile {
    /// The rules, one per `[[courier]]` table.
    #[serde(default)]
    pub courier: Vec<CourierRule>,
}

/// Parses rules from TOML text made of `[[courier]]` tables and checks each rule.
pub fn parse_rules(toml_text: &str) -> Result<Vec<CourierRule>, String> {
    let file: CourierFile = toml::from_str(toml_text).map_err(|e| e.to_string())?;
    let problems: Vec<String> = file
        .courier
        .iter()
        .flat_map(CourierRule::problems)
        .collect();
    if problems.is_empty() {
        Ok(file.courier)
    } else {
        Err(problems.join("; "))
    }
}

/// The default rules from the embedded `couriers.toml`.
///
/// Panics only if the embedded file is broken, which a unit test rules out.
pub fn default_rules() -> Vec<CourierRule> {
    match parse_rules(DEFAULT_RULES_TOML) {
        Ok(rules) => rules,
        Err(e) => panic!("the embedded couriers.toml is broken: {e}"),
    }
}

/// Applies the user's rules on top of the defaults: a rule with the code of a default rule
/// replaces it (keeping the default names where the user left them empty), and a new code is
/// added at the end.
pub fn merge_rules(defaults: Vec<CourierRule>, overrides: Vec<CourierRule>) -> Vec<CourierRule> {
    let mut out = defaults;
    for mut new in overrides {
        match out
            .iter_mut()
            .find(|r| r.code.eq_ignore_ascii_case(&new.code))
        {
            Some(old) => {
                for (new_name, old_name) in [
                    (&mut new.name_ko, &old.name_ko),
                    (&mut new.name_zh, &old.name_zh),
                    (&mut new.name_en, &old.name_en),
                ] {
                    if new_name.is_empty() {
                        new_name.clone_from(old_name);
                    }
                }
                *old = new;
            }
            None => out.push(new),
        }
    }
    out
}

/// Finds the rule for a courier code (case does not matter).
pub fn rule<'a>(rules: &'a [CourierRule], code: &str) -> Option<&'a CourierRule> {
    rules
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code.trim()))
}

/// Why a waybill number was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WaybillProblem {
    /// The number has a length the courier never uses.
    #[error(
        "the number has {len} characters, but this courier uses {}",
        or_list(allowed)
    )]
    WrongLength {
        /// The length found.
        len: usize,
        /// The lengths the courier uses.
        allowed: Vec<usize>,
    },
    /// A character is not allowed at this place; `pos` counts from 1.
    #[error("the character '{ch}' at position {pos} is not allowed in this courier's numbers")]
    BadCharacter {
        /// The character found.
        ch: char,
        /// Its position, counting from 1.
        pos: usize,
    },
    /// The check digit does not match.
    #[error("check digit error: the check digit should be {expected}, but it is {found}")]
    CheckDigit {
        /// The check digit the rest of the number gives.
        expected: char,
        /// The check digit in the number.
        found: char,
    },
    /// The number does not start the way this courier's numbers must.
    #[error("this courier's numbers start with {}", or_list(allowed))]
    Prefix {
        /// The allowed beginnings.
        allowed: Vec<String>,
    },
    /// Nothing was given.
    #[error("no waybill number was given")]
    Empty,
    /// A band serial is too large for the courier's numbers.
    #[error("serial {serial} is too large for this courier's numbers (the largest is {max})")]
    SerialOutOfRange {
        /// The serial asked for.
        serial: u64,
        /// The largest serial that fits.
        max: u64,
    },
    /// The rule cannot produce numbers from a band, for the reason given.
    #[error("numbers cannot be allocated for this courier: {0}")]
    NotAllocatable(String),
}

impl WaybillProblem {
    /// A stable code for API errors: "invalid_format" for length, character, prefix and empty
    /// input, "check_digit_error" for a check digit, "invalid_band" for allocation problems.
    pub fn code(&self) -> &'static str {
        match self {
            WaybillProblem::WrongLength { .. }
            | WaybillProblem::BadCharacter { .. }
            | WaybillProblem::Prefix { .. }
            | WaybillProblem::Empty => "invalid_format",
            WaybillProblem::CheckDigit { .. } => "check_digit_error",
            WaybillProblem::SerialOutOfRange { .. } | WaybillProblem::NotAllocatable(_) => {
                "invalid_band"
            }
        }
    }
}

/// Joins items as "a", "a or b", "a, b or c".
fn or_list<T: std::fmt::Display>(items: &[T]) -> String {
    let parts: Vec<String> = items.iter().map(|i| format!("\"{i}\"")).collect();
    let parts: Vec<String> = if items.iter().all(|i| i.to_string().parse::<u64>().is_ok()) {
        items.iter().map(ToString::to_string).collect()
    } else {
        parts
    };
    match parts.as_slice() {
        [] => "nothing".to_string(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// A number that passed its courier's rule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validated {
    /// The cleaned number: no spaces or '-', letters upper-cased.
    pub number: String,
    /// Things worth telling the user that do not make the number invalid, in plain words.
    pub warnings: Vec<String>,
}

/// Cleans typed or scanned input: full-width characters become ASCII, surrounding whitespace
/// and an AIM symbology prefix are dropped, spaces and '-' are removed, letters upper-cased.
pub fn clean_number(raw: &str) -> String {
    let ascii = codes::fullwidth_to_ascii(raw);
    let (_, data) = codes::split_aim(codes::trim_scan(&ascii));
    data.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Checks a number against a courier's rule.
///
/// The checks run in this order: empty input, characters, length, prefixes, the check-digit
/// scheme (including the S10 layout), and last the format patterns, which only warn.
pub fn validate(rule: &CourierRule, raw: &str) -> Result<Validated, WaybillProblem> {
    let number = clean_number(raw);
    if number.is_empty() {
        return Err(WaybillProblem::Empty);
    }
    if let Some((i, ch)) = number
        .chars()
        .enumerate()
        .find(|&(_, c)| !rule.charset.allows(c))
    {
        return Err(WaybillProblem::BadCharacter { ch, pos: i + 1 });
    }
    // Every character is ASCII from here on, so byte length is character count.
    let len = number.len();
    if !rule.lengths.contains(&len) {
        return Err(WaybillProblem::WrongLength {
            len,
            allowed: rule.lengths.clone(),
        });
    }
    if !rule.prefixes.is_empty()
        && !rule
            .prefixes
            .iter()
            .any(|p| number.starts_with(&p.to_ascii_uppercase()))
    {
        return Err(WaybillProblem::Prefix {
            allowed: rule.prefixes.clone(),
        });
    }

    let mut warnings = Vec::new();
    match rule.check {
        CheckDigit::None => {}
        CheckDigit::Mod7 | CheckDigit::Mod7Warn => {
            if let Some((i, ch)) = number
                .chars()
                .enumerate()
                .find(|(_, c)| !c.is_ascii_digit())
            {
                return Err(WaybillProblem::BadCharacter { ch, pos: i + 1 });
            }
            let (body, last) = number.split_at(len - 1);
            let expected = mod7_digit(body);
            let found = last.chars().next().unwrap_or('?');
            if expected != found {
                if rule.check == CheckDigit::Mod7 {
                    return Err(WaybillProblem::CheckDigit { expected, found });
                }
                warnings.push(format!(
                    "The last digit does not follow the mod-7 rule (expected {expected}, \
                     found {found}). That rule is not confirmed for this courier, so the number \
                     is accepted; check it against the label."
                ));
            }
        }
        CheckDigit::S10 => {
            let chars: Vec<char> = number.chars().collect();
            for (i, &ch) in chars.iter().enumerate() {
                let letter_place = i < 2 || i >= chars.len().saturating_sub(2);
                let ok = if letter_place {
                    ch.is_ascii_uppercase()
                } else {
                    ch.is_ascii_digit()
                };
                if !ok {
                    return Err(WaybillProblem::BadCharacter { ch, pos: i + 1 });
                }
            }
            if chars.len() == 13 {
                let serial: String = chars[2..10].iter().collect();
                let expected = s10_digit(&serial);
                let found = chars[10];
                if expected != found {
                    return Err(WaybillProblem::CheckDigit { expected, found });
                }
            }
        }
    }

    if !rule.patterns.is_empty() && !rule.patterns.iter().any(|p| pattern_matches(p, &number)) {
        warnings.push(format!(
            "The number does not look like the usual formats of this courier ({}). Those \
             formats are heuristics, so the number is accepted; check it against the label.",
            rule.patterns.join(", ")
        ));
    }
    Ok(Validated { number, warnings })
}

/// The rules under which a number is valid without warnings, in rule order: a hint for which
/// courier a scanned number belongs to, never a decision.
pub fn matching_rules<'a>(rules: &'a [CourierRule], raw: &str) -> Vec<&'a CourierRule> {
    rules
        .iter()
        .filter(|r| validate(r, raw).is_ok_and(|v| v.warnings.is_empty()))
        .collect()
}

/// The mod-7 check digit: the number formed by the digits of `serial`, mod 7.
///
/// The remainder is computed digit by digit, so any length works. Characters other than
/// digits are skipped.
pub fn mod7_digit(serial: &str) -> char {
    let r = serial
        .chars()
        .filter_map(|c| c.to_digit(10))
        .fold(0u32, |r, d| (r * 10 + d) % 7);
    digit_char(r)
}

/// The UPU S10 check digit of eight serial digits: weights 8, 6, 4, 2, 3, 5, 9, 7, sum mod 11
/// = r, check = 5 if r = 0, 0 if r = 1, else 11 - r. Characters other than digits are skipped
/// and digits beyond the eighth are ignored.
pub fn s10_digit(eight_digits: &str) -> char {
    const WEIGHTS: [u32; 8] = [8, 6, 4, 2, 3, 5, 9, 7];
    let sum: u32 = eight_digits
        .chars()
        .filter_map(|c| c.to_digit(10))
        .zip(WEIGHTS)
        .map(|(d, w)| d * w)
        .sum();
    match sum % 11 {
        0 => '5',
        1 => '0',
        r => digit_char(11 - r),
    }
}

fn digit_char(d: u32) -> char {
    char::from_digit(d, 10).unwrap_or('0')
}

fn two_letters(s: &str) -> bool {
    s.len() == 2 && s.chars().all(|c| c.is_ascii_alphabetic())
}

/// Number band allocation: given the rule and a serial number (the running part), the full
/// number with check digit.
///
/// For mod7 and mod7_warn rules the serial is zero-padded to the largest allowed length minus
/// one and the mod-7 digit is appended; for s10 it is service letters + 8-digit serial + check
/// digit + country; for none it is the serial zero-padded to the largest allowed length. The
/// result is validated against the rule before it is returned.
pub fn number_from_serial(rule: &CourierRule, serial: u64) -> Result<String, WaybillProblem> {
    let Some(&longest) = rule.lengths.iter().max() else {
        return Err(WaybillProblem::NotAllocatable(
            "the rule lists no lengths".to_string(),
        ));
    };
    let number = match rule.check {
        CheckDigit::Mod7 | CheckDigit::Mod7Warn => {
            let body = padded(serial, longest.saturating_sub(1))?;
            let check = mod7_digit(&body);
            format!("{body}{check}")
        }
        CheckDigit::S10 => {
            if !two_letters(&rule.s10_service) || !two_letters(&rule.s10_country) {
                return Err(WaybillProblem::NotAllocatable(
                    "s10_service and s10_country must both be two letters".to_string(),
                ));
            }
            let body = padded(serial, 8)?;
            format!(
                "{}{body}{}{}",
                rule.s10_service.to_ascii_uppercase(),
                s10_digit(&body),
                rule.s10_country.to_ascii_uppercase()
            )
        }
        CheckDigit::None => padded(serial, longest)?,
    };
    validate(rule, &number).map(|v| v.number)
}

/// The serial zero-padded to `width` digits, or an error if it does not fit.
fn padded(serial: u64, width: usize) -> Result<String, WaybillProblem> {
    let max = u32::try_from(width)
        .ok()
        .and_then(|w| 10u64.checked_pow(w))
        .map_or(u64::MAX, |p| p - 1);
    if width == 0 || serial > max {
        return Err(WaybillProblem::SerialOutOfRange { serial, max });
    }
    Ok(format!("{serial:0width$}"))
}

/// One element of a format pattern.
#[derive(Debug, Clone, PartialEq)]
enum Class {
    Digit,
    Letter,
    Alnum,
    Any,
    Literal(char),
    Set(Vec<(char, char)>),
}

impl Class {
    fn matches(&self, c: char) -> bool {
        match self {
            Class::Digit => c.is_ascii_digit(),
            Class::Letter => c.is_ascii_uppercase(),
            Class::Alnum => c.is_ascii_uppercase() || c.is_ascii_digit(),
            Class::Any => true,
            Class::Literal(l) => *l == c,
            Class::Set(ranges) => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi),
        }
    }
}

/// The largest repeat count a pattern may ask for; waybill numbers are short.
const MAX_REPEAT: usize = 64;

/// Parses a pattern into (class, least count, most count) items.
fn parse_pattern(pattern: &str) -> Result<Vec<(Class, usize, usize)>, String> {
    let mut items: Vec<(Class, usize, usize)> = Vec::new();
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        let class = match c {
            '#' => Class::Digit,
            '@' => Class::Letter,
            '*' => Class::Alnum,
            '?' => Class::Any,
            '[' => {
                let mut ranges = Vec::new();
                loop {
                    let lo = match chars.next() {
                        None => return Err("a '[' is not closed".to_string()),
                        Some(']') => break,
                        Some(lo) => lo.to_ascii_uppercase(),
                    };
                    if chars.peek() == Some(&'-') {
                        chars.next();
                        let hi = match chars.next() {
                            Some(h) if h != ']' => h.to_ascii_uppercase(),
                            _ => return Err("a range in '[...]' has no end".to_string()),
                        };
                        if hi < lo {
                            return Err(format!("the range {lo}-{hi} is backwards"));
                        }
                        ranges.push((lo, hi));
                    } else {
                        ranges.push((lo, lo));
                    }
                }
                if ranges.is_empty() {
                    return Err("'[]' is empty".to_string());
                }
                Class::Set(ranges)
            }
            '{' => {
                let Some(last) = items.last_mut() else {
                    return Err("'{' has nothing before it to repeat".to_string());
                };
                let mut inner = String::new();
                loop {
                    match chars.next() {
                        None => return Err("a '{' is not closed".to_string()),
                        Some('}') => break,
                        Some(x) => inner.push(x),
                    }
                }
                let number = |s: &str| {
                    s.trim()
                        .parse::<usize>()
                        .ok()
                        .filter(|&n| n <= MAX_REPEAT)
                        .ok_or_else(|| format!("'{{{inner}}}' needs counts from 0 to {MAX_REPEAT}"))
                };
                let (min, max) = match inner.split_once(',') {
                    Some((a, b)) => (number(a)?, number(b)?),
                    None => {
                        let n = number(&inner)?;
                        (n, n)
                    }
                };
                if min > max {
                    return Err(format!("'{{{inner}}}' has its counts backwards"));
                }
                last.1 = min;
                last.2 = max;
                continue;
            }
            ']' | '}' => return Err(format!("'{c}' has no opening bracket")),
            other => Class::Literal(other.to_ascii_uppercase()),
        };
        items.push((class, 1, 1));
    }
    Ok(items)
}

/// Returns true when the whole `number` matches `pattern`; an invalid pattern matches nothing.
///
/// Syntax: `#` a digit, `@` a letter, `*` a letter or digit, `?` any character, `[3-68]` one
/// of a set, `{n}` or `{n,m}` repeats the item before it, and any other character stands for
/// itself (letters compared upper-case). Example: `SF*#{12}`.
pub fn pattern_matches(pattern: &str, number: &str) -> bool {
    let Ok(items) = parse_pattern(pattern) else {
        return false;
    };
    let chars: Vec<char> = number.chars().map(|c| c.to_ascii_uppercase()).collect();
    match_items(&items, &chars)
}

fn match_items(items: &[(Class, usize, usize)], chars: &[char]) -> bool {
    let Some(((class, min, max), rest)) = items.split_first() else {
        return chars.is_empty();
    };
    // Count how many leading characters this item could take, then try each allowed count.
    let run = chars
        .iter()
        .take(*max)
        .take_while(|&&c| class.matches(c))
        .count();
    (*min..=run).rev().any(|n| match_items(rest, &chars[n..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> Vec<CourierRule> {
        default_rules()
    }

    fn get(code: &str) -> CourierRule {
        rule(&rules(), code).cloned().expect("default rule exists")
    }

    #[test]
    fn embedded_rules_parse_and_cover_every_courier() {
        let rules = rules();
        for code in [
            "cj", "hanjin", "lotte", "epost", "logen", "sf", "sto", "zto", "yto", "yunda", "ems",
        ] {
            let r = rule(&rules, code).unwrap_or_else(|| panic!("no rule for {code}"));
            assert!(r.problems().is_empty(), "{code}: {:?}", r.problems());
            assert!(!r.name_ko.is_empty() && !r.name_zh.is_empty() && !r.name_en.is_empty());
        }
        assert_eq!(rules.len(), 11);
        assert!(rule(&rules, "LOTTE").is_some());
        assert!(rule(&rules, "kdexp").is_none());
    }

    #[test]
    fn worked_examples_from_domain() {
        let lotte = get("lotte");
        assert_eq!(
            validate(&lotte, "600012345671").map(|v| v.number),
            Ok("600012345671".to_string())
        );
        let err = validate(&lotte, "600012345672").unwrap_err();
        assert_eq!(
            err,
            WaybillProblem::CheckDigit {
                expected: '1',
                found: '2'
            }
        );
        assert_eq!(err.code(), "check_digit_error");
        assert_eq!(
            number_from_serial(&lotte, 60001234567).as_deref(),
            Ok("600012345671")
        );

        let ems = get("ems");
        assert!(validate(&ems, "EE987654326KR").is_ok());
        assert!(validate(&ems, "RB123456785GB").is_ok());
        assert!(validate(&ems, "EE987654326CN").is_ok());
        assert_eq!(
            validate(&ems, "RB123456784GB").unwrap_err().code(),
            "check_digit_error"
        );
        assert_eq!(
            number_from_serial(&ems, 98765432).as_deref(),
            Ok("EE987654326KR")
        );
    }

    #[test]
    fn check_digit_functions() {
        assert_eq!(mod7_digit("60001234567"), '1');
        assert_eq!(mod7_digit(""), '0');
        assert_eq!(mod7_digit("7"), '0');
        // Far longer than u64 can hold: 10^40 mod 7 = 10^(40 mod 6) mod 7 = 10^4 mod 7 = 4.
        assert_eq!(mod7_digit(&format!("1{}", "0".repeat(40))), '4');
        assert_eq!(s10_digit("12345678"), '5');
        assert_eq!(s10_digit("98765432"), '6');
        // r = 0 gives 5 and r = 1 gives 0.
        assert_eq!(s10_digit("00000000"), '5');
        assert_eq!(s10_digit("00000015"), '5');
        assert_eq!(s10_digit("00000008"), '0');
    }

    #[test]
    fn every_courier_valid_wrong_length_bad_character() {
        // (courier, valid number, wrong length, bad character with its position)
        let cases = [
            ("cj", "123456789013", "123456789", "12345678901A", 'A', 12),
            ("cj", "1234567891", "12345678", "12345X7891", 'X', 6),
            (
                "hanjin",
                "123456789012",
                "1234567890123",
                "1234567890A2",
                'A',
                11,
            ),
            (
                "hanjin",
                "12345678901234",
                "123456789",
                "B2345678901234",
                'B',
                1,
            ),
            (
                "lotte",
                "600012345671",
                "60001234567",
                "6000123456Z1",
                'Z',
                11,
            ),
            (
                "epost",
                "6012345678901",
                "601234567890",
                "60123456789O1",
                'O',
                12,
            ),
            (
                "logen",
                "12345678901",
                "123456789012",
                "1234567890I",
                'I',
                11,
            ),
            (
                "sf",
                "SF1234567890123",
                "SF12345678901",
                "SF12345678901_3",
                '_',
                14,
            ),
            (
                "sf",
                "123456789012",
                "1234567890123",
                "12345678901.",
                '.',
                12,
            ),
            (
                "sto",
                "773012345678901",
                "77301234567",
                "77301234567890X",
                'X',
                15,
            ),
            (
                "zto",
                "73123456789012",
                "731234567890123",
                "7312345678901S",
                'S',
                14,
            ),
            (
                "yto",
                "YT1234567890123",
                "YT12345678901234",
                "YT12345678901/3",
                '/',
                14,
            ),
            (
                "yunda",
                "312345678901234",
                "31234567890123",
                "31234567890123Y",
                'Y',
                15,
            ),
            (
                "yunda",
                "5123456789012",
                "512345678901",
                "512345678901E",
                'E',
                13,
            ),
            (
                "ems",
                "EE987654326KR",
                "EE98765432KR",
                "EE9876543_6KR",
                '_',
                10,
            ),
        ];
        for (code, valid, short, bad, ch, pos) in cases {
            let r = get(code);
            let ok = validate(&r, valid).unwrap_or_else(|e| panic!("{code} {valid}: {e}"));
            assert_eq!(ok.warnings, Vec::<String>::new(), "{code} {valid}");
            let err = validate(&r, short).unwrap_err();
            assert!(
                matches!(err, WaybillProblem::WrongLength { .. }),
                "{code} {short}: {err:?}"
            );
            assert_eq!(err.code(), "invalid_format");
            assert_eq!(
                validate(&r, bad),
                Err(WaybillProblem::BadCharacter { ch, pos }),
                "{code} {bad}"
            );
        }
    }

    #[test]
    fn input_is_cleaned() {
        let lotte = get("lotte");
        for raw in [
            " 6000-1234-5671\r\n",
            "6000 1234 5671",
            "６０００１２３４５６７１",
            "]C0600012345671",
        ] {
            assert_eq!(
                validate(&lotte, raw).map(|v| v.number).as_deref(),
                Ok("600012345671"),
                "{raw:?}"
            );
        }
        let ems = get("ems");
        assert_eq!(
            validate(&ems, "ee 987654326 kr")
                .map(|v| v.number)
                .as_deref(),
            Ok("EE987654326KR")
        );
        assert_eq!(validate(&lotte, "  - \r\n"), Err(WaybillProblem::Empty));
    }

    #[test]
    fn unconfirmed_rules_warn_instead_of_rejecting() {
        let cj = get("cj");
        let v = validate(&cj, "123456789012").expect("CJ mod-7 mismatch is accepted");
        assert_eq!(v.warnings.len(), 1);
        assert!(v.warnings[0].contains("expected 3"));

        // Plain 14 digits are a ZTO length but not a recent ZTO pattern.
        let v = validate(&get("zto"), "12345678901234").expect("accepted");
        assert_eq!(v.warnings.len(), 1);
        // Twelve letters pass the SF charset and length but no SF pattern.
        let v = validate(&get("sf"), "ABCDEFGHIJKL").expect("accepted");
        assert_eq!(v.warnings.len(), 1);
    }

    #[test]
    fn s10_layout_is_checked() {
        let ems = get("ems");
        assert_eq!(
            validate(&ems, "E1987654326KR"),
            Err(WaybillProblem::BadCharacter { ch: '1', pos: 2 })
        );
        assert_eq!(
            validate(&ems, "EE98765432AKR"),
            Err(WaybillProblem::BadCharacter { ch: 'A', pos: 11 })
        );
        assert_eq!(
            validate(&ems, "EE9876543261R"),
            Err(WaybillProblem::BadCharacter { ch: '1', pos: 12 })
        );
    }

    #[test]
    fn allocation_from_bands() {
        let cj = get("cj");
        let n = number_from_serial(&cj, 12345).expect("fits");
        assert_eq!(n, "000000123454");
        assert!(validate(&cj, &n).is_ok_and(|v| v.warnings.is_empty()));
        assert_eq!(
            number_from_serial(&get("logen"), 42).as_deref(),
            Ok("00000000042")
        );
        assert_eq!(
            number_from_serial(&get("hanjin"), 7).as_deref(),
            Ok("00000000000007")
        );
        assert_eq!(
            number_from_serial(&get("lotte"), 100_000_000_000),
            Err(WaybillProblem::SerialOutOfRange {
                serial: 100_000_000_000,
                max: 99_999_999_999
            })
        );
        assert_eq!(
            number_from_serial(&get("ems"), 100_000_000)
                .unwrap_err()
                .code(),
            "invalid_band"
        );
        let mut cn = get("ems");
        cn.s10_country = "cn".to_string();
        assert_eq!(
            number_from_serial(&cn, 98765432).as_deref(),
            Ok("EE987654326CN")
        );
        cn.s10_service.clear();
        assert!(matches!(
            number_from_serial(&cn, 1),
            Err(WaybillProblem::NotAllocatable(_))
        ));
        // A prefix rule refuses numbers the band cannot make.
        let mut prefixed = get("logen");
        prefixed.prefixes = vec!["9".to_string()];
        assert_eq!(
            number_from_serial(&prefixed, 1).unwrap_err().code(),
            "invalid_format"
        );
        assert!(number_from_serial(&prefixed, 90_000_000_001).is_ok());
    }

    #[test]
    fn prefixes_are_strict() {
        let mut r = get("logen");
        r.prefixes = vec!["9".to_string(), "8".to_string()];
        assert_eq!(
            validate(&r, "12345678901"),
            Err(WaybillProblem::Prefix {
                allowed: vec!["9".to_string(), "8".to_string()]
            })
        );
        assert!(validate(&r, "82345678901").is_ok());
    }

    #[test]
    fn patterns() {
        assert!(pattern_matches("SF*#{12}", "SF1234567890123"));
        assert!(pattern_matches("SF*#{12}", "sfa234567890123"));
        assert!(!pattern_matches("SF*#{12}", "SF123456789012"));
        assert!(pattern_matches("7[3-68]#{12}", "78123456789012"));
        assert!(!pattern_matches("7[3-68]#{12}", "77123456789012"));
        assert!(pattern_matches("77#{12,15}", "77123456789012345"));
        assert!(!pattern_matches("77#{12,15}", "7712345678901"));
        assert!(pattern_matches("@{2}#{8}?@@", "EE12345678XKR"));
        assert!(pattern_matches("*{10,12}", "AB12345678"));
        for bad in ["[3-", "{2}", "#{2", "#{3,1}", "[9-0]", "#{999}", "]", "[]"] {
            assert!(parse_pattern(bad).is_err(), "{bad}");
            assert!(!pattern_matches(bad, ""));
        }
    }

    #[test]
    fn user_overrides_are_parsed_and_merged() {
        let text = r#"
            [[courier]]
            code = "cj"
            lengths = [12]
            charset = "digits"
            check = "mod7"

            [[courier]]
            code = "kdexp"
            name_en = "Kyungdong"
            lengths = [10, 11, 12, 13, 14, 15, 16]
            charset = "alnum"
            check = "none"
        "#;
        let overrides = parse_rules(text).expect("valid overrides");
        let merged = merge_rules(default_rules(), overrides);
        let cj = rule(&merged, "cj").expect("cj");
        assert_eq!(cj.check, CheckDigit::Mod7);
        assert_eq!(cj.name_ko, "CJ대한통운");
        assert_eq!(
            validate(cj, "123456789012").unwrap_err().code(),
            "check_digit_error"
        );
        assert!(rule(&merged, "kdexp").is_some());
        assert_eq!(merged.len(), 12);

        let typo =
            "[[courier]]\ncode = \"cj\"\nlength = [12]\ncharset = \"digits\"\ncheck = \"none\"\n";
        assert!(parse_rules(typo).is_err());
        let bad =
            "[[courier]]\ncode = \"x\"\nlengths = []\ncharset = \"digits\"\ncheck = \"mod9\"\n";
        assert!(parse_rules(bad).is_err());
        let broken = "[[courier]]\ncode = \"x\"\nlengths = [5]\ncharset = \"digits\"\ncheck = \"none\"\npatterns = [\"#{\"]\n";
        assert!(parse_rules(broken).unwrap_err().contains("pattern"));
    }

    #[test]
    fn problems_read_as_plain_words() {
        let msg = WaybillProblem::WrongLength {
            len: 9,
            allowed: vec![10, 12],
        }
        .to_string();
        assert_eq!(
            msg,
            "the number has 9 characters, but this courier uses 10 or 12"
        );
        let msg = WaybillProblem::Prefix {
            allowed: vec!["SF".into(), "JD".into(), "YT".into()],
        }
        .to_string();
        assert_eq!(
            msg,
            "this courier's numbers start with \"SF\", \"JD\" or \"YT\""
        );
        assert_eq!(WaybillProblem::Empty.code(), "invalid_format");
        assert_eq!(get("cj").name("ko-KR"), "CJ대한통운");
        assert_eq!(get("cj").name("fr"), "CJ Logistics");
    }
}
