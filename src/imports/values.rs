//! Parsing of single cell values: integers, paid times and postcodes inside addresses.
//! Each returns a message fit for an `ImportProblem` when the cell is wrong.

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

/// An integer written plainly: optional sign, digits. Thousands separators and decimals are
/// refused so that `1.5` grams or `1,200` won never turn into something else silently.
pub(crate) fn parse_int(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// Reads a paid time and returns it as UTC RFC 3339 (`2026-11-23T05:00:00Z`).
///
/// A time with an offset (RFC 3339, e.g. `2026-11-23T14:00:00+09:00`) is taken as is. A
/// local time is tried against `formats` (jiff `strptime` syntax) and then as ISO 8601
/// without an offset (`2026-11-23T14:00:00`, `2026-11-23 14:00:00`, the form XLSX date cells
/// are turned into), and is read in `zone`.
pub(crate) fn parse_paid_at(
    s: &str,
    zone: &TimeZone,
    formats: &[String],
) -> Result<String, String> {
    if let Ok(ts) = s.parse::<Timestamp>() {
        return Ok(ts.to_string());
    }
    let local = formats
        .iter()
        .find_map(|f| DateTime::strptime(f, s).ok())
        .or_else(|| {
            // A bare date also parses as a civil datetime; a paid time needs the clock time.
            if s.len() > 10 {
                s.parse::<DateTime>().ok()
            } else {
                None
            }
        });
    let Some(local) = local else {
        let mut shown: Vec<String> = formats.iter().map(|f| format_example(f)).collect();
        shown.push("RFC 3339 with an offset".to_string());
        return Err(format!(
            "cannot read `{s}` as a time (accepted: {})",
            shown.join(", ")
        ));
    };
    zone.to_timestamp(local)
        .map(|ts| ts.to_string())
        .map_err(|e| format!("`{s}` is not a valid time in {}: {e}", zone_name(zone)))
}

/// Shows a `strptime` format the way users write it: `%Y-%m-%d %H:%M` → `YYYY-MM-DD HH:MM`.
fn format_example(format: &str) -> String {
    [
        ("%Y", "YYYY"),
        ("%m", "MM"),
        ("%d", "DD"),
        ("%H", "HH"),
        ("%M", "MM"),
        ("%S", "SS"),
    ]
    .iter()
    .fold(format.to_string(), |s, (code, shown)| {
        s.replace(code, shown)
    })
}

fn zone_name(zone: &TimeZone) -> &str {
    zone.iana_name().unwrap_or("the time zone")
}

/// Splits a postcode written at the end of an address in brackets, as Taobao does:
/// `浙江省 杭州市 西湖区 文三路 100号(310000)` → (`浙江省 … 100号`, `310000`). Full-width
/// brackets are accepted. Returns the address unchanged and `None` when there is none.
pub(crate) fn split_postcode(address: &str) -> (String, Option<String>) {
    let trimmed = address.trim_end();
    for (open, close) in [('(', ')'), ('（', '）')] {
        let Some(body) = trimmed.strip_suffix(close) else {
            continue;
        };
        let Some(at) = body.rfind(open) else {
            continue;
        };
        let code = &body[at + open.len_utf8()..];
        if (5..=6).contains(&code.len()) && code.bytes().all(|b| b.is_ascii_digit()) {
            return (body[..at].trim_end().to_string(), Some(code.to_string()));
        }
    }
    (address.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers() {
        let cases = [
            ("12", Some(12)),
            ("-3", Some(-3)),
            ("+4", Some(4)),
            ("0", Some(0)),
            ("", None),
            ("-", None),
            ("1.5", None),
            ("1,200", None),
            ("12a", None),
            ("99999999999999999999", None),
        ];
        for (s, want) in cases {
            assert_eq!(parse_int(s), want, "{s:?}");
        }
    }

    #[test]
    fn paid_times() {
        let seoul = TimeZone::get("Asia/Seoul").unwrap();
        let shanghai = TimeZone::get("Asia/Shanghai").unwrap();
        let generic = vec![
            "%Y-%m-%d %H:%M:%S".to_string(),
            "%Y-%m-%d %H:%M".to_string(),
        ];
        let dotted = vec!["%Y.%m.%d %H:%M:%S".to_string()];
        type Case<'a> = (&'a str, &'a TimeZone, &'a [String], Result<&'a str, ()>);
        let cases: &[Case] = &[
            (
                "2026-11-23 14:00",
                &seoul,
                &generic,
                Ok("2026-11-23T05:00:00Z"),
            ),
            (
                "2026-11-23 14:00:30",
                &seoul,
                &generic,
                Ok("2026-11-23T05:00:30Z"),
            ),
            (
                "2026-11-23T14:00:00+09:00",
                &shanghai,
                &generic,
                Ok("2026-11-23T05:00:00Z"),
            ),
            (
                "2026-11-23T05:00:00Z",
                &seoul,
                &generic,
                Ok("2026-11-23T05:00:00Z"),
            ),
            (
                "2026-11-23 14:00:00",
                &shanghai,
                &generic,
                Ok("2026-11-23T06:00:00Z"),
            ),
            (
                "2026.11.23 14:05:11",
                &seoul,
                &dotted,
                Ok("2026-11-23T05:05:11Z"),
            ),
            (
                "2026-11-23T14:05:11",
                &seoul,
                &dotted,
                Ok("2026-11-23T05:05:11Z"),
            ),
            ("2026-11-23", &seoul, &generic, Err(())),
            ("23/11/2026 14:00", &seoul, &generic, Err(())),
            ("2026-02-30 10:00", &seoul, &generic, Err(())),
            ("", &seoul, &generic, Err(())),
        ];
        for (s, zone, formats, want) in cases {
            let got = parse_paid_at(s, zone, formats);
            assert_eq!(got.as_deref().map_err(|_| ()), *want, "{s:?}: {got:?}");
        }
    }

    #[test]
    fn postcodes_in_addresses() {
        let cases = [
            (
                "浙江省 杭州市 文三路 100号(310000)",
                "浙江省 杭州市 文三路 100号",
                Some("310000"),
            ),
            (
                "上海市 浦东新区 世纪大道 1号 （200120）",
                "上海市 浦东新区 世纪大道 1号",
                Some("200120"),
            ),
            (
                "서울 강남구 테헤란로 1 (06234)",
                "서울 강남구 테헤란로 1",
                Some("06234"),
            ),
            ("北京市 朝阳区 (东门)", "北京市 朝阳区 (东门)", None),
            ("no postcode", "no postcode", None),
        ];
        for (address, rest, code) in cases {
            let (a, c) = split_postcode(address);
            assert_eq!((a.as_str(), c.as_deref()), (rest, code), "{address}");
        }
    }
}
