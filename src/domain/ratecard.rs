//! Courier rate cards (운임표 / 运价表): what a contract says a parcel costs. Two kinds of
//! contract exist. Korean couriers price by size/weight class (극소, 소, 중, ...): a parcel's
//! class is the higher of its weight class (the larger of measured and volumetric weight) and
//! its size class (the sum of its three sides), plus surcharges by postcode range (제주,
//! 도서산간). Chinese couriers price by first weight plus additional weight steps per
//! destination zone, on the larger of actual and volumetric weight.
//!
//! Band names, limits, prices, divisors and tolerances differ by courier and by contract and
//! are not confirmed by any public source (DOMAIN.md §5), so all of it is data: a TOML file
//! per contract (`rate-cards/`), checked whole when loaded. A file with a mistake is refused
//! with its file, line and what is wrong, never half-used.

use std::collections::BTreeSet;
use std::fmt;

use serde::Deserialize;

use super::Grams;

/// Money in the currency's minor unit (KRW won, CNY fen).
pub type Minor = i64;

/// A mistake in a rate-card file: where and what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardError {
    pub file: String,
    /// 1-based line; 0 when the file as a whole is wrong.
    pub line: usize,
    pub message: String,
}

impl fmt::Display for CardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line > 0 {
            write!(f, "{}:{}: {}", self.file, self.line, self.message)
        } else {
            write!(f, "{}: {}", self.file, self.message)
        }
    }
}

impl std::error::Error for CardError {}

/// How a computed price is rounded to what the courier bills.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RoundMode {
    Up,
    Down,
    HalfUp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rounding {
    /// Round to a multiple of this many minor units (1 = no rounding; 100 = whole yuan).
    pub unit: Minor,
    pub mode: RoundMode,
}

impl Rounding {
    pub fn apply(&self, v: Minor) -> Minor {
        if self.unit <= 1 {
            return v;
        }
        let (q, r) = (v.div_euclid(self.unit), v.rem_euclid(self.unit));
        let up = match self.mode {
            RoundMode::Up => r > 0,
            RoundMode::Down => false,
            RoundMode::HalfUp => r * 2 >= self.unit,
        };
        (q + i64::from(up)) * self.unit
    }
}

/// The weight difference a courier may bill above our own before it counts as an overcharge:
/// the larger of a fixed number of grams and a percentage of our weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WeightTolerance {
    pub grams: Grams,
    pub percent: f64,
}

impl WeightTolerance {
    pub fn of(&self, ours: Grams) -> Grams {
        let pct = (ours as f64 * self.percent / 100.0).ceil() as Grams;
        self.grams.max(pct)
    }
}

/// One Korean size/weight class, in ascending order on the card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SizeClass {
    pub code: String,
    /// Other names the bill may use for the class (극소형, XS, 1 ...).
    pub aliases: Vec<String>,
    /// The largest sum of the three sides in cm (None: no size limit).
    pub max_sum_cm: Option<u32>,
    /// The heaviest chargeable weight in grams.
    pub max_weight_g: Grams,
    pub price: Minor,
    pub return_price: Minor,
    pub redelivery_price: Minor,
}

/// One Chinese destination zone (省内, 江浙沪, 偏远 ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone {
    pub code: String,
    pub aliases: Vec<String>,
    /// Destination postcode ranges that fall in this zone.
    pub postcodes: Vec<PostcodeRange>,
    pub first_price: Minor,
    pub step_price: Minor,
    /// A return is priced like a delivery unless the card gives a flat price.
    pub return_price: Option<Minor>,
    pub redelivery_price: Option<Minor>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pricing {
    /// Korean: classes by weight and by the sum of three sides.
    SizeWeight { classes: Vec<SizeClass> },
    /// Chinese: first weight + additional weight steps, by zone.
    FirstAdditional {
        first_g: Grams,
        step_g: Grams,
        zones: Vec<Zone>,
    },
}

/// An inclusive range of postcodes of one length (`63000-63644`, or one code).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostcodeRange {
    pub first: u32,
    pub last: u32,
    pub digits: usize,
}

impl PostcodeRange {
    fn parse(s: &str) -> Option<PostcodeRange> {
        let s = s.trim();
        let (a, b) = s.split_once('-').unwrap_or((s, s));
        let (a, b) = (a.trim(), b.trim());
        let ok = |x: &str| !x.is_empty() && x.len() <= 8 && x.bytes().all(|c| c.is_ascii_digit());
        if !ok(a) || !ok(b) || a.len() != b.len() {
            return None;
        }
        let (first, last) = (a.parse().ok()?, b.parse().ok()?);
        (first <= last).then_some(PostcodeRange {
            first,
            last,
            digits: a.len(),
        })
    }

    pub fn contains(&self, postcode: &str) -> bool {
        let p = postcode.trim();
        p.len() == self.digits
            && p.bytes().all(|c| c.is_ascii_digit())
            && p.parse::<u32>()
                .is_ok_and(|n| (self.first..=self.last).contains(&n))
    }
}

/// An extra charge for destinations in postcode ranges (제주, 도서산간, 偏远).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Surcharge {
    pub name: String,
    pub postcodes: Vec<PostcodeRange>,
    pub amount: Minor,
}

/// One courier contract's prices.
#[derive(Debug, Clone, PartialEq)]
pub struct RateCard {
    /// Where the card came from (for messages).
    pub file: String,
    pub courier: String,
    pub contract: String,
    pub currency: String,
    /// Decimal places of the currency's major unit (KRW 0, CNY 2).
    pub decimals: u32,
    /// First and last day the card applies (inclusive, `YYYY-MM-DD`).
    pub valid_from: String,
    pub valid_to: String,
    /// cm³ per kg for volumetric weight (6000 is common); None: not used.
    pub volumetric_divisor: Option<u32>,
    pub tolerance: WeightTolerance,
    pub rounding: Rounding,
    pub pricing: Pricing,
    pub surcharges: Vec<Surcharge>,
}

/// What we know of a parcel for pricing: measured weight, box size, destination.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parcel {
    pub weight_g: Grams,
    /// Outside dimensions in cm, when the box type is known.
    pub dims_cm: Option<[u32; 3]>,
    /// A size class recorded for it elsewhere (an imported history), as a floor.
    pub size_class: String,
    pub postcode: String,
}

/// A charge the card prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charge {
    Delivery,
    Return,
    Redelivery,
}

impl RateCard {
    /// Does the card apply on this local date (`YYYY-MM-DD`)?
    pub fn covers(&self, date: &str) -> bool {
        date >= self.valid_from.as_str() && date <= self.valid_to.as_str()
    }

    /// Volumetric weight in grams (rounded up), when the box size and a divisor are known.
    pub fn volumetric_g(&self, dims: Option<[u32; 3]>) -> Option<Grams> {
        let d = self.volumetric_divisor?;
        let [l, w, h] = dims?;
        let cm3 = l as i64 * w as i64 * h as i64;
        Some((cm3 * 1000 + d as i64 - 1) / d as i64)
    }

    /// The weight billed: the larger of measured and volumetric.
    pub fn chargeable_g(&self, p: &Parcel) -> Grams {
        p.weight_g.max(self.volumetric_g(p.dims_cm).unwrap_or(0))
    }

    /// The index of a class by its code or an alias (Korean cards).
    pub fn class_index(&self, code: &str) -> Option<usize> {
        let Pricing::SizeWeight { classes } = &self.pricing else {
            return None;
        };
        classes
            .iter()
            .position(|c| same_name(&c.code, code) || c.aliases.iter().any(|a| same_name(a, code)))
    }

    /// The class code at an index.
    pub fn class_code(&self, i: usize) -> String {
        match &self.pricing {
            Pricing::SizeWeight { classes } => {
                classes.get(i).map(|c| c.code.clone()).unwrap_or_default()
            }
            Pricing::FirstAdditional { .. } => String::new(),
        }
    }

    /// The lightest class that takes this chargeable weight (None: heavier than the card).
    pub fn class_for_weight(&self, grams: Grams) -> Option<usize> {
        let Pricing::SizeWeight { classes } = &self.pricing else {
            return None;
        };
        classes.iter().position(|c| grams <= c.max_weight_g)
    }

    /// The class of a parcel: the higher of its weight class, its size class and the class
    /// recorded for it (None when it is beyond the card or the card has no classes).
    pub fn class_of(&self, p: &Parcel, extra_g: Grams) -> Option<usize> {
        let Pricing::SizeWeight { classes } = &self.pricing else {
            return None;
        };
        let mut at = self.class_for_weight(self.chargeable_g(p) + extra_g)?;
        if let Some([l, w, h]) = p.dims_cm {
            let sum = l + w + h;
            let by_size = classes
                .iter()
                .position(|c| c.max_sum_cm.is_none_or(|m| sum <= m))?;
            at = at.max(by_size);
        }
        if !p.size_class.trim().is_empty() {
            if let Some(i) = self.class_index(&p.size_class) {
                at = at.max(i);
            }
        }
        Some(at)
    }

    /// The zone by its code or alias, or by the destination postcode (Chinese cards).
    pub fn zone_index(&self, code: &str, postcode: &str) -> Option<usize> {
        let Pricing::FirstAdditional { zones, .. } = &self.pricing else {
            return None;
        };
        if !code.trim().is_empty() {
            if let Some(i) = zones.iter().position(|z| {
                same_name(&z.code, code) || z.aliases.iter().any(|a| same_name(a, code))
            }) {
                return Some(i);
            }
        }
        zones
            .iter()
            .position(|z| z.postcodes.iter().any(|r| r.contains(postcode)))
    }

    /// The price of a class (Korean cards), rounded as the courier rounds.
    pub fn class_price(&self, class: usize, charge: Charge) -> Option<Minor> {
        let Pricing::SizeWeight { classes } = &self.pricing else {
            return None;
        };
        let c = classes.get(class)?;
        let v = match charge {
            Charge::Delivery => c.price,
            Charge::Return => c.return_price,
            Charge::Redelivery => c.redelivery_price,
        };
        Some(self.rounding.apply(v))
    }

    /// The price of a chargeable weight to a zone (Chinese cards): the first weight, then
    /// every started step of additional weight; rounded as the courier rounds.
    pub fn weight_price(&self, zone: usize, grams: Grams, charge: Charge) -> Option<Minor> {
        let Pricing::FirstAdditional {
            first_g,
            step_g,
            zones,
        } = &self.pricing
        else {
            return None;
        };
        let z = zones.get(zone)?;
        let flat = match charge {
            Charge::Delivery => None,
            Charge::Return => z.return_price,
            Charge::Redelivery => z.redelivery_price,
        };
        if let Some(v) = flat {
            return Some(self.rounding.apply(v));
        }
        let extra = (grams - first_g).max(0);
        let steps = (extra + step_g - 1) / step_g;
        Some(self.rounding.apply(z.first_price + steps * z.step_price))
    }

    /// The postcode surcharge a destination carries (0 when none; the largest when several
    /// ranges overlap).
    pub fn surcharge_for(&self, postcode: &str) -> Minor {
        self.surcharges
            .iter()
            .filter(|s| s.postcodes.iter().any(|r| r.contains(postcode)))
            .map(|s| s.amount)
            .max()
            .unwrap_or(0)
    }

    pub fn is_size_weight(&self) -> bool {
        matches!(self.pricing, Pricing::SizeWeight { .. })
    }
}

/// Class and zone names are compared without case and spaces (without allocating: this runs
/// for every line of a bill).
fn same_name(a: &str, b: &str) -> bool {
    let mut x = a
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase);
    let mut y = b
        .chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase);
    loop {
        match (x.next(), y.next()) {
            (None, None) => return true,
            (a, b) if a != b => return false,
            _ => {}
        }
    }
}

/// Class and zone names without case and spaces.
fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// The minor-unit digits of a currency (ISO 4217). Unknown codes are refused by the loader.
pub fn currency_decimals(code: &str) -> Option<u32> {
    match code {
        "KRW" | "JPY" => Some(0),
        "CNY" | "USD" | "EUR" | "HKD" => Some(2),
        _ => None,
    }
}

// ----- the file format ---------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCard {
    courier: String,
    #[serde(default)]
    contract: String,
    currency: String,
    valid_from: String,
    valid_to: String,
    pricing: String,
    #[serde(default)]
    volumetric_divisor: Option<u32>,
    #[serde(default)]
    tolerance: RawTolerance,
    #[serde(default)]
    rounding: Option<RawRounding>,
    #[serde(default)]
    weight: Option<RawWeight>,
    #[serde(default, rename = "class")]
    classes: Vec<RawClass>,
    #[serde(default, rename = "zone")]
    zones: Vec<RawZone>,
    #[serde(default, rename = "surcharge")]
    surcharges: Vec<RawSurcharge>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTolerance {
    #[serde(default)]
    weight_g: Grams,
    #[serde(default)]
    percent: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRounding {
    unit: Minor,
    mode: RoundMode,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawWeight {
    first_g: Grams,
    step_g: Grams,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    code: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    max_sum_cm: Option<u32>,
    max_weight_g: Grams,
    price: Minor,
    #[serde(default)]
    return_price: Option<Minor>,
    #[serde(default)]
    redelivery_price: Option<Minor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawZone {
    code: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    postcodes: Vec<String>,
    first_price: Minor,
    step_price: Minor,
    #[serde(default)]
    return_price: Option<Minor>,
    #[serde(default)]
    redelivery_price: Option<Minor>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSurcharge {
    name: String,
    postcodes: Vec<String>,
    amount: Minor,
}

/// Finds the line of `key` inside the `index`-th `[[table]]` (or at the top level when
/// `table` is empty), so a value that parses but makes no sense is reported where it is
/// written. Falls back to the table's header line, then to 0.
fn line_of(text: &str, table: &str, index: usize, key: &str) -> usize {
    let header = format!("[[{table}]]");
    let mut in_table = table.is_empty();
    let mut seen = 0usize;
    let mut header_line = 0;
    for (i, raw) in text.lines().enumerate() {
        let l = raw.trim();
        if l.starts_with('[') {
            if table.is_empty() {
                in_table = false;
                continue;
            }
            let here = l.split('#').next().unwrap_or("").trim() == header;
            if here {
                seen += 1;
            }
            in_table = here && seen == index + 1;
            if in_table {
                header_line = i + 1;
            }
            continue;
        }
        if in_table && !key.is_empty() {
            let k = l.split('=').next().unwrap_or("").trim().trim_matches('"');
            if k == key {
                return i + 1;
            }
        }
    }
    header_line
}

fn valid_date(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    match (num(0..4), num(5..7), num(8..10)) {
        (Some(_), Some(m), Some(d)) => (1..=12).contains(&m) && (1..=31).contains(&d),
        _ => false,
    }
}

/// Reads one rate-card file. Every mistake found is returned (file, line, what).
pub fn parse(file: &str, text: &str) -> Result<RateCard, Vec<CardError>> {
    let err = |line: usize, message: String| CardError {
        file: file.to_string(),
        line,
        message,
    };
    let raw: RawCard = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
            .unwrap_or(0);
        vec![err(line, e.message().trim().to_string())]
    })?;
    let mut errors = Vec::new();
    let top = |key: &str| line_of(text, "", 0, key);
    let decimals = currency_decimals(&raw.currency);
    if decimals.is_none() {
        errors.push(err(
            top("currency"),
            format!(
                "unknown currency `{}` (expected KRW, CNY, JPY, USD, EUR or HKD)",
                raw.currency
            ),
        ));
    }
    for (key, v) in [("valid_from", &raw.valid_from), ("valid_to", &raw.valid_to)] {
        if !valid_date(v) {
            errors.push(err(top(key), format!("`{v}` is not a date (YYYY-MM-DD)")));
        }
    }
    if raw.valid_from > raw.valid_to {
        errors.push(err(
            top("valid_to"),
            format!(
                "valid_to {} is before valid_from {}",
                raw.valid_to, raw.valid_from
            ),
        ));
    }
    if raw.volumetric_divisor == Some(0) {
        errors.push(err(
            top("volumetric_divisor"),
            "volumetric_divisor must be above 0 (leave it out when not used)".into(),
        ));
    }
    if raw.tolerance.weight_g < 0 || !(0.0..=100.0).contains(&raw.tolerance.percent) {
        errors.push(err(
            line_of(text, "", 0, "weight_g").max(top("percent")),
            "tolerance must be 0 or more grams and 0 to 100 percent".into(),
        ));
    }
    let rounding = match &raw.rounding {
        Some(r) if r.unit < 1 => {
            errors.push(err(top("unit"), "rounding unit must be 1 or more".into()));
            Rounding {
                unit: 1,
                mode: RoundMode::HalfUp,
            }
        }
        Some(r) => Rounding {
            unit: r.unit,
            mode: r.mode,
        },
        None => Rounding {
            unit: 1,
            mode: RoundMode::HalfUp,
        },
    };
    let ranges = |table: &str, i: usize, list: &[String], errors: &mut Vec<CardError>| {
        let mut out = Vec::new();
        for p in list {
            match PostcodeRange::parse(p) {
                Some(r) => out.push(r),
                None => errors.push(err(
                    line_of(text, table, i, "postcodes"),
                    format!(
                        "`{p}` is not a postcode or a range of postcodes of the same length (e.g. 63000-63644)"
                    ),
                )),
            }
        }
        out
    };
    let price_ok = |v: Minor| v >= 0;
    let pricing = match raw.pricing.as_str() {
        "size_weight" => {
            if raw.classes.is_empty() {
                errors.push(err(
                    top("pricing"),
                    "pricing = \"size_weight\" needs at least one [[class]]".into(),
                ));
            }
            if !raw.zones.is_empty() || raw.weight.is_some() {
                errors.push(err(
                    line_of(text, "zone", 0, "").max(top("pricing")),
                    "[[zone]] and [weight] belong to pricing = \"first_additional\"".into(),
                ));
            }
            let mut classes = Vec::new();
            let mut names = BTreeSet::new();
            for (i, c) in raw.classes.iter().enumerate() {
                let at = |k: &str| line_of(text, "class", i, k);
                if c.code.trim().is_empty() || !names.insert(norm(&c.code)) {
                    errors.push(err(
                        at("code"),
                        format!("class code `{}` is empty or repeated", c.code),
                    ));
                }
                if let Some(prev) = raw.classes.get(i.wrapping_sub(1)).filter(|_| i > 0) {
                    if c.max_weight_g < prev.max_weight_g {
                        errors.push(err(
                            at("max_weight_g"),
                            format!(
                                "class `{}` allows less weight ({} g) than the class before it ({} g): list classes from smallest to largest",
                                c.code, c.max_weight_g, prev.max_weight_g
                            ),
                        ));
                    }
                    if let (Some(a), Some(b)) = (prev.max_sum_cm, c.max_sum_cm) {
                        if b < a {
                            errors.push(err(
                                at("max_sum_cm"),
                                format!(
                                    "class `{}` allows a smaller size ({b} cm) than the class before it ({a} cm)",
                                    c.code
                                ),
                            ));
                        }
                    }
                }
                if c.max_weight_g <= 0 {
                    errors.push(err(
                        at("max_weight_g"),
                        "max_weight_g must be above 0".into(),
                    ));
                }
                for (k, v) in [
                    ("price", Some(c.price)),
                    ("return_price", c.return_price),
                    ("redelivery_price", c.redelivery_price),
                ] {
                    if v.is_some_and(|v| !price_ok(v)) {
                        errors.push(err(at(k), format!("{k} must not be negative")));
                    }
                }
                classes.push(SizeClass {
                    code: c.code.trim().to_string(),
                    aliases: c.aliases.clone(),
                    max_sum_cm: c.max_sum_cm,
                    max_weight_g: c.max_weight_g,
                    price: c.price,
                    return_price: c.return_price.unwrap_or(c.price),
                    redelivery_price: c.redelivery_price.unwrap_or(c.price),
                });
            }
            Pricing::SizeWeight { classes }
        }
        "first_additional" => {
            let (first_g, step_g) = match &raw.weight {
                Some(w) => {
                    if w.first_g <= 0 || w.step_g <= 0 {
                        errors.push(err(
                            line_of(text, "", 0, "first_g"),
                            "[weight] first_g and step_g must be above 0".into(),
                        ));
                    }
                    (w.first_g, w.step_g.max(1))
                }
                None => {
                    errors.push(err(
                        top("pricing"),
                        "pricing = \"first_additional\" needs [weight] with first_g and step_g"
                            .into(),
                    ));
                    (1000, 1000)
                }
            };
            if raw.zones.is_empty() {
                errors.push(err(
                    top("pricing"),
                    "pricing = \"first_additional\" needs at least one [[zone]]".into(),
                ));
            }
            if !raw.classes.is_empty() {
                errors.push(err(
                    line_of(text, "class", 0, ""),
                    "[[class]] belongs to pricing = \"size_weight\"".into(),
                ));
            }
            let mut zones = Vec::new();
            let mut names = BTreeSet::new();
            for (i, z) in raw.zones.iter().enumerate() {
                let at = |k: &str| line_of(text, "zone", i, k);
                if z.code.trim().is_empty() || !names.insert(norm(&z.code)) {
                    errors.push(err(
                        at("code"),
                        format!("zone code `{}` is empty or repeated", z.code),
                    ));
                }
                for (k, v) in [
                    ("first_price", Some(z.first_price)),
                    ("step_price", Some(z.step_price)),
                    ("return_price", z.return_price),
                    ("redelivery_price", z.redelivery_price),
                ] {
                    if v.is_some_and(|v| !price_ok(v)) {
                        errors.push(err(at(k), format!("{k} must not be negative")));
                    }
                }
                let postcodes = ranges("zone", i, &z.postcodes, &mut errors);
                zones.push(Zone {
                    code: z.code.trim().to_string(),
                    aliases: z.aliases.clone(),
                    postcodes,
                    first_price: z.first_price,
                    step_price: z.step_price,
                    return_price: z.return_price,
                    redelivery_price: z.redelivery_price,
                });
            }
            Pricing::FirstAdditional {
                first_g,
                step_g,
                zones,
            }
        }
        other => {
            errors.push(err(
                top("pricing"),
                format!("pricing `{other}` is not size_weight or first_additional"),
            ));
            Pricing::SizeWeight { classes: vec![] }
        }
    };
    let mut surcharges = Vec::new();
    for (i, s) in raw.surcharges.iter().enumerate() {
        if s.amount < 0 {
            errors.push(err(
                line_of(text, "surcharge", i, "amount"),
                "amount must not be negative".into(),
            ));
        }
        if s.postcodes.is_empty() {
            errors.push(err(
                line_of(text, "surcharge", i, "postcodes"),
                format!("surcharge `{}` lists no postcodes", s.name),
            ));
        }
        let postcodes = ranges("surcharge", i, &s.postcodes, &mut errors);
        surcharges.push(Surcharge {
            name: s.name.clone(),
            postcodes,
            amount: s.amount,
        });
    }
    if raw.courier.trim().is_empty() {
        errors.push(err(top("courier"), "courier is empty".into()));
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(errors);
    }
    Ok(RateCard {
        file: file.to_string(),
        courier: raw.courier.trim().to_ascii_lowercase(),
        contract: raw.contract,
        currency: raw.currency,
        decimals: decimals.unwrap_or(0),
        valid_from: raw.valid_from,
        valid_to: raw.valid_to,
        volumetric_divisor: raw.volumetric_divisor,
        tolerance: WeightTolerance {
            grams: raw.tolerance.weight_g,
            percent: raw.tolerance.percent,
        },
        rounding,
        pricing,
        surcharges,
    })
}

/// The card of a courier that applies on a date: of the cards covering it, the one that
/// started last (a renewed contract replaces the old one from its first day).
pub fn card_for<'a>(cards: &'a [RateCard], courier: &str, date: &str) -> Option<&'a RateCard> {
    cards
        .iter()
        .filter(|c| c.courier == courier && c.covers(date))
        .max_by(|a, b| a.valid_from.cmp(&b.valid_from))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KR: &str = r#"
courier = "cj"
contract = "test"
currency = "KRW"
valid_from = "2026-01-01"
valid_to = "2026-12-31"
pricing = "size_weight"
volumetric_divisor = 6000

[tolerance]
weight_g = 100
percent = 5

[[class]]
code = "극소"
aliases = ["XS"]
max_sum_cm = 80
max_weight_g = 2000
price = 3100

[[class]]
code = "소"
max_sum_cm = 100
max_weight_g = 5000
price = 3600
return_price = 3000

[[class]]
code = "중"
max_sum_cm = 120
max_weight_g = 10000
price = 4400

[[surcharge]]
name = "제주"
postcodes = ["63000-63644"]
amount = 3000
"#;

    const CN: &str = r#"
courier = "sf"
currency = "CNY"
valid_from = "2026-01-01"
valid_to = "2026-12-31"
pricing = "first_additional"
volumetric_divisor = 6000

[rounding]
unit = 10
mode = "up"

[weight]
first_g = 1000
step_g = 500

[[zone]]
code = "A"
aliases = ["省内"]
postcodes = ["310000-319999"]
first_price = 1200
step_price = 205

[[zone]]
code = "B"
postcodes = ["100000-109999"]
first_price = 1800
step_price = 500
return_price = 1500
"#;

    #[test]
    fn korean_classes_take_the_higher_of_weight_and_size() {
        let c = parse("kr.toml", KR).unwrap();
        let p = |g, dims: Option<[u32; 3]>| Parcel {
            weight_g: g,
            dims_cm: dims,
            ..Default::default()
        };
        // (weight, dims, class)
        let cases = [
            (1500, None, Some(0)),
            (2000, None, Some(0)),
            (2001, None, Some(1)),
            (1500, Some([30, 30, 30]), Some(1)), // 90 cm by size
            (1500, Some([20, 20, 20]), Some(0)),
            // 40*40*30 = 48,000 cm³ → 8,000 g volumetric → 중, and 110 cm → 중.
            (1000, Some([40, 40, 30]), Some(2)),
            (10001, None, None),
        ];
        for (g, dims, want) in cases {
            assert_eq!(c.class_of(&p(g, dims), 0), want, "{g} g {dims:?}");
        }
        let floor = Parcel {
            weight_g: 100,
            size_class: "소".into(),
            ..Default::default()
        };
        assert_eq!(
            c.class_of(&floor, 0),
            Some(1),
            "a recorded class is a floor"
        );
        assert_eq!(c.class_index("xs"), Some(0));
        assert_eq!(c.class_price(1, Charge::Return), Some(3000));
        assert_eq!(c.class_price(0, Charge::Return), Some(3100));
        assert_eq!(c.surcharge_for("63100"), 3000);
        assert_eq!(c.surcharge_for("06234"), 0);
        assert_eq!(c.tolerance.of(1000), 100);
        assert_eq!(c.tolerance.of(4000), 200);
    }

    #[test]
    fn chinese_first_and_additional_weight_by_zone() {
        let c = parse("cn.toml", CN).unwrap();
        let a = c.zone_index("省内", "").unwrap();
        assert_eq!(c.zone_index("", "311200"), Some(a));
        assert_eq!(c.zone_index("", "999999"), None);
        // (grams, price): 1 kg first, then 0.5 kg steps at 2.05, rounded up to 0.10 yuan.
        for (g, want) in [
            (800, 1200),
            (1000, 1200),
            (1001, 1410),
            (1500, 1410),
            (2200, 1820),
        ] {
            assert_eq!(c.weight_price(a, g, Charge::Delivery), Some(want), "{g} g");
        }
        assert_eq!(c.weight_price(1, 5000, Charge::Return), Some(1500));
        assert_eq!(
            c.chargeable_g(&Parcel {
                weight_g: 500,
                dims_cm: Some([30, 20, 20]),
                ..Default::default()
            }),
            2000
        );
    }

    #[test]
    fn rounding_modes() {
        let r = |unit, mode| Rounding { unit, mode };
        assert_eq!(r(100, RoundMode::Up).apply(1201), 1300);
        assert_eq!(r(100, RoundMode::Down).apply(1299), 1200);
        assert_eq!(r(100, RoundMode::HalfUp).apply(1250), 1300);
        assert_eq!(r(100, RoundMode::HalfUp).apply(1249), 1200);
        assert_eq!(r(1, RoundMode::Up).apply(1249), 1249);
    }

    #[test]
    fn a_card_with_mistakes_is_refused_with_each_line() {
        let bad = KR
            .replace("max_weight_g = 5000", "max_weight_g = 1000")
            .replace("63000-63644", "6300-63644")
            .replace("currency = \"KRW\"", "currency = \"WON\"");
        let errs = parse("bad.toml", &bad).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        let line = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
        assert!(lines.contains(&line("currency")), "{errs:?}");
        assert!(lines.contains(&line("max_weight_g = 1000")), "{errs:?}");
        assert!(lines.contains(&line("6300-63644")), "{errs:?}");
        assert!(errs[0].to_string().starts_with("bad.toml:"), "{}", errs[0]);
        // A syntax error names its line too.
        let e = parse("x.toml", "courier = \"cj\"\nprice = \n").unwrap_err();
        assert_eq!(e[0].line, 2, "{e:?}");
        // An unknown key is refused, not ignored.
        let e = parse("y.toml", &KR.replace("price = 3100", "prise = 3100")).unwrap_err();
        assert!(e[0].message.contains("prise"), "{e:?}");
    }

    #[test]
    fn the_latest_card_covering_a_date_applies() {
        let a = parse("a.toml", KR).unwrap();
        let mut b = a.clone();
        b.valid_from = "2026-07-01".into();
        b.file = "b.toml".into();
        let cards = vec![a, b];
        assert_eq!(card_for(&cards, "cj", "2026-03-01").unwrap().file, "a.toml");
        assert_eq!(card_for(&cards, "cj", "2026-08-01").unwrap().file, "b.toml");
        assert!(card_for(&cards, "cj", "2027-01-01").is_none());
        assert!(card_for(&cards, "sf", "2026-03-01").is_none());
    }
}
