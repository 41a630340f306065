//! Waybill checks against the rules *and* the archive: format and check digit come from the
//! courier rule (domain), "already used" and "void" from the database. The CLI's
//! `waybill check` and the API's `/waybills/check` share this, so they say the same thing.

use serde::Serialize;

use crate::domain::waybill::{self, CourierRule};
use crate::storage::{self, Db, StorageError};

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CheckResult {
    pub number: String,
    pub courier: String,
    pub valid: bool,
    /// `invalid_format`, `check_digit_error`, `already_used`, `void`, `duplicate`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Checks one number's format and check digit, then its state in the archive.
pub fn check_with(rule: &CourierRule, raw: &str, archived: Option<&str>) -> CheckResult {
    let mut r = CheckResult {
        number: raw.trim().to_string(),
        courier: rule.code.clone(),
        valid: false,
        code: None,
        message: String::new(),
        warnings: vec![],
    };
    match waybill::validate(rule, raw) {
        Err(p) => {
            r.code = Some(p.code().to_string());
            r.message = p.to_string();
        }
        Ok(v) => {
            r.number = v.number;
            r.warnings = v.warnings;
            match archived {
                Some("used") => {
                    r.code = Some("already_used".into());
                    r.message = "already used: this waybill is on a shipment".into();
                }
                Some("void") => {
                    r.code = Some("void".into());
                    r.message = "void: this waybill was retired and must not be used again".into();
                }
                Some("reserved") => {
                    r.code = Some("already_used".into());
                    r.message =
                        "already used: this waybill is reserved for a parcel being packed".into();
                }
                _ => {
                    r.valid = true;
                    r.message = "valid".into();
                }
            }
        }
    }
    r
}

/// Checks one number against the rule and the archive.
pub async fn check_one(
    db: &Db,
    rule: &CourierRule,
    raw: &str,
) -> Result<CheckResult, StorageError> {
    let cleaned = waybill::clean_number(raw);
    let status = db
        .read(move |c| storage::waybill_status(c, &cleaned))
        .await?;
    Ok(check_with(rule, raw, status.as_deref()))
}

/// Checks several numbers (the CLI); a number given twice is reported as a duplicate.
pub fn check_many(
    db: &Db,
    rule: &CourierRule,
    numbers: &[String],
) -> Result<Vec<CheckResult>, StorageError> {
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for raw in numbers {
        let cleaned = waybill::clean_number(raw);
        let status = db.read_blocking(|c| storage::waybill_status(c, &cleaned))?;
        let mut r = check_with(rule, raw, status.as_deref());
        if r.valid && !seen.insert(r.number.clone()) {
            r.valid = false;
            r.code = Some("duplicate".into());
            r.message = "duplicate: the same number appears twice in this list".into();
        }
        out.push(r);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_state_decides_after_the_format() {
        let rules = waybill::default_rules();
        let lotte = waybill::rule(&rules, "lotte").unwrap();
        // (number, archived, want code)
        let cases: &[(&str, Option<&str>, Option<&str>)] = &[
            ("600012345671", None, None),
            ("600012345672", None, Some("check_digit_error")),
            ("6000123456", None, Some("invalid_format")),
            ("600012345671", Some("used"), Some("already_used")),
            ("600012345671", Some("void"), Some("void")),
        ];
        for (n, a, want) in cases {
            let r = check_with(lotte, n, *a);
            assert_eq!(r.code.as_deref(), *want, "{n} {a:?}: {}", r.message);
            assert_eq!(r.valid, want.is_none());
        }
    }
}
