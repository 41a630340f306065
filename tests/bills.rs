//! The monthly courier bill, end to end through the real binary: a synthetic month (thousands
//! of shipments of a Korean and a Chinese courier written into the archive), the rate cards
//! in the data folder, and bills in the couriers' own layouts — Korean (title rows, dates in
//! merged cells, day subtotals, a separate surcharge column, a total row) and Chinese (freight
//! and insurance rows, amounts in yuan) — each as CSV and as XLSX, generated here with every
//! finding category planted at known lines. Each is reconciled (CLI and API) and must give
//! exactly the planted findings. A malformed bill is refused with every bad row and leaves
//! nothing behind; an accepted month is locked and its charges count in the next month.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::TestServer;
use rusqlite::params;
use serde_json::{json, Value};

const KR_CARD: &str = r#"
courier = "cj"
contract = "test contract"
currency = "KRW"
valid_from = "2026-01-01"
valid_to = "2026-12-31"
pricing = "size_weight"
[tolerance]
weight_g = 100
[[class]]
code = "극소"
max_weight_g = 2000
price = 3100
[[class]]
code = "소"
max_weight_g = 5000
price = 3600
[[class]]
code = "중"
max_weight_g = 10000
price = 4400
[[class]]
code = "대"
max_weight_g = 20000
price = 6000
[[surcharge]]
name = "제주"
postcodes = ["63000-63644"]
amount = 3000
"#;

const CN_CARD: &str = r#"
courier = "sf"
currency = "CNY"
valid_from = "2026-01-01"
valid_to = "2026-12-31"
pricing = "first_additional"
[tolerance]
weight_g = 50
[rounding]
unit = 10
mode = "up"
[weight]
first_g = 1000
step_g = 500
[[zone]]
code = "A"
postcodes = ["310000-329999"]
first_price = 1200
step_price = 205
[[zone]]
code = "B"
postcodes = ["100000-109999"]
first_price = 1800
step_price = 500
"#;

/// Shipments per courier in the month.
const N: usize = 2500;

fn weight(i: usize) -> i64 {
    300 + ((i as i64 * 7919) % 9000)
}

fn kr_waybill(i: usize) -> String {
    format!("{:012}", 610_000_000_000u64 + i as u64)
}

fn cn_waybill(i: usize) -> String {
    format!("SF{:013}", 1_000_000_000_000u64 + i as u64)
}

fn kr_class(g: i64) -> (&'static str, i64) {
    match g {
        ..=2000 => ("극소", 3100),
        2001..=5000 => ("소", 3600),
        5001..=10000 => ("중", 4400),
        _ => ("대", 6000),
    }
}

fn cn_price(zone: &str, g: i64) -> i64 {
    let (first, step) = if zone == "A" {
        (1200, 205)
    } else {
        (1800, 500)
    };
    let steps = ((g - 1000).max(0) + 499) / 500;
    let p = first + steps * step;
    (p + 9) / 10 * 10
}

fn kr_jeju(i: usize) -> bool {
    i % 50 == 7
}

fn cn_zone(i: usize) -> &'static str {
    if i.is_multiple_of(3) {
        "B"
    } else {
        "A"
    }
}

/// Which parcels play which part.
const VOID: usize = 101;
const LOST: usize = 202;
const DAMAGED: usize = 303;
const EARLIER: usize = 404; // billed in the accepted February bill too
const NOT_BILLED: [usize; 3] = [11, 1500, 2499];
const OVER: usize = 505; // billed above its class / weight
const RATE: usize = 606; // billed at the wrong price
const DUP: usize = 707; // billed twice in the bill

/// Writes the month's shipments straight into the archive (the server is stopped).
fn seed_archive(data: &Path) {
    let c = rusqlite::Connection::open(data.join("packbench.sqlite3")).unwrap();
    c.busy_timeout(std::time::Duration::from_secs(5)).unwrap();
    c.execute_batch("BEGIN").unwrap();
    c.execute(
        "INSERT INTO packs (station, operator, status, opened_at, closed_at) VALUES ('import', 'test', 'imported', '2026-03-01T00:00:00Z', '2026-03-01T00:00:00Z')",
        [],
    )
    .unwrap();
    let pack = c.last_insert_rowid();
    let mut ins = c
        .prepare(
            "INSERT INTO shipments (waybill, courier, pack_id, station, packer, packed_at, expected_g, tolerance_g,
                                    measured_g, status, postcode, imported)
             VALUES (?1, ?2, ?3, 'import', '', ?4, ?5, 20, ?5, ?6, ?7, 1)",
        )
        .unwrap();
    for i in 0..N {
        let day = if i == EARLIER {
            "2026-02-20".to_string()
        } else {
            format!("2026-03-{:02}", 1 + i % 28)
        };
        let status = match i {
            VOID => "void",
            LOST => "lost",
            _ => "shipped",
        };
        let kr_post = if kr_jeju(i) { "63100" } else { "06234" };
        ins.execute(params![
            kr_waybill(i),
            "cj",
            pack,
            format!("{day}T02:00:00Z"),
            weight(i),
            status,
            kr_post
        ])
        .unwrap();
        let cn_post = if cn_zone(i) == "A" {
            "310012"
        } else {
            "100020"
        };
        ins.execute(params![
            cn_waybill(i),
            "sf",
            pack,
            format!("{day}T02:00:00Z"),
            weight(i),
            status,
            cn_post
        ])
        .unwrap();
    }
    drop(ins);
    c.execute_batch("COMMIT").unwrap();
}

/// One charge row of a generated bill, before layout.
#[derive(Clone)]
struct Charge {
    day: String,
    waybill: String,
    kind: &'static str,
    class: String,
    weight_g: i64,
    zone: String,
    amount: i64,
    surcharge: i64,
}

/// The planted findings: (category, waybill, line); line 0 = not on the bill.
type Planted = BTreeSet<(String, String, usize)>;

/// A generated bill: rows (None = a subtotal row) and where each planted finding sits.
struct Generated {
    rows: Vec<Option<Charge>>,
    stated_total: i64,
}

fn kr_month() -> Generated {
    let mut rows: Vec<Option<Charge>> = Vec::new();
    let mut sum = 0;
    for day in 1..=28 {
        let d = format!("2026-03-{day:02}");
        for i in (0..N).filter(|i| 1 + i % 28 == day && *i != EARLIER) {
            if NOT_BILLED.contains(&i) {
                continue;
            }
            let g = weight(i);
            let (mut class, mut amount) = kr_class(g);
            let mut w = g;
            if i == OVER {
                // A 1.x kg parcel billed as 중.
                class = "중";
                amount = 4400;
                w = 6000;
            }
            if i == RATE {
                amount += 500;
            }
            let surcharge = if kr_jeju(i) { 3000 } else { 0 };
            let c = Charge {
                day: d.clone(),
                waybill: kr_waybill(i),
                kind: "일반",
                class: class.into(),
                weight_g: w,
                zone: String::new(),
                amount,
                surcharge,
            };
            sum += amount + surcharge;
            rows.push(Some(c.clone()));
            if i == DUP {
                sum += amount + surcharge;
                rows.push(Some(c));
            }
        }
        if day == 15 {
            // A waybill we never shipped, and the parcel billed in February again.
            for (wb, g) in [
                ("699999999999".to_string(), 1000),
                (kr_waybill(EARLIER), weight(EARLIER)),
            ] {
                let (class, amount) = kr_class(g);
                sum += amount;
                rows.push(Some(Charge {
                    day: d.clone(),
                    waybill: wb,
                    kind: "일반",
                    class: class.into(),
                    weight_g: g,
                    zone: String::new(),
                    amount,
                    surcharge: 0,
                }));
            }
        }
        rows.push(None);
    }
    Generated {
        rows,
        stated_total: sum + 1000,
    }
}

fn cn_month() -> Generated {
    let mut rows: Vec<Option<Charge>> = Vec::new();
    let mut sum = 0;
    for day in 1..=28 {
        let d = format!("2026-03-{day:02}");
        for i in (0..N).filter(|i| 1 + i % 28 == day && *i != EARLIER) {
            if NOT_BILLED.contains(&i) {
                continue;
            }
            let g = weight(i);
            let z = cn_zone(i);
            let (mut w, mut amount) = (g, cn_price(z, g));
            if i == OVER {
                w = g + 800;
                amount = cn_price(z, w);
            }
            if i == RATE {
                amount += 100;
            }
            let c = Charge {
                day: d.clone(),
                waybill: cn_waybill(i),
                kind: "运费",
                class: String::new(),
                weight_g: w,
                zone: z.into(),
                amount,
                surcharge: 0,
            };
            sum += amount;
            rows.push(Some(c.clone()));
            if i == DUP {
                sum += amount;
                rows.push(Some(c));
            }
            if i == 808 {
                // Insurance nobody ordered: its own row, same waybill.
                sum += 300;
                rows.push(Some(Charge {
                    kind: "保价费",
                    amount: 300,
                    ..rows.last().unwrap().clone().unwrap()
                }));
            }
        }
        if day == 15 {
            for (wb, g) in [
                ("SF9999999999999".to_string(), 1000),
                (cn_waybill(EARLIER), weight(EARLIER)),
            ] {
                let z = cn_zone(EARLIER);
                let amount = cn_price(z, g);
                sum += amount;
                rows.push(Some(Charge {
                    day: d.clone(),
                    waybill: wb,
                    kind: "运费",
                    class: String::new(),
                    weight_g: g,
                    zone: z.into(),
                    amount,
                    surcharge: 0,
                }));
            }
        }
        rows.push(None);
    }
    Generated {
        rows,
        stated_total: sum + 1000,
    }
}

/// The cells of a layout: title rows, the header, the charge rows (first row of a day
/// carries its date, the others leave it blank as merged cells do), subtotals and the total.
/// Returns the table and the planted findings with their line numbers.
fn kr_table(
    g: &Generated,
    n: &dyn Fn(i64) -> String,
) -> (Vec<Vec<String>>, Planted, Vec<(usize, usize)>) {
    let mut t: Vec<Vec<String>> = vec![
        vec!["CJ대한통운 월 정산 내역서".into()],
        vec![
            "정산 기간: 2026-03-01 ~ 2026-03-31".into(),
            String::new(),
            "거래처: 테스트 물류센터".into(),
        ],
        [
            "집하일자",
            "운송장번호",
            "구분",
            "규격",
            "중량(kg)",
            "기본운임",
            "도서산간할증",
            "비고",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut planted = Planted::new();
    let mut merges = Vec::new();
    let mut last_day = String::new();
    let mut day_start = 0usize;
    let mut day_sum = 0i64;
    let mut seen = BTreeSet::new();
    for r in &g.rows {
        let line = t.len() + 1;
        match r {
            None => {
                if day_start > 0 && line - 1 > day_start {
                    merges.push((day_start, line - 1));
                }
                t.push(vec![
                    String::new(),
                    "소계".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    n(day_sum),
                    String::new(),
                    String::new(),
                ]);
                day_sum = 0;
                last_day.clear();
                day_start = 0;
            }
            Some(c) => {
                let date = if c.day != last_day {
                    c.day.clone()
                } else {
                    String::new()
                };
                if c.day != last_day {
                    day_start = line;
                    last_day = c.day.clone();
                }
                day_sum += c.amount + c.surcharge;
                t.push(vec![
                    date,
                    c.waybill.clone(),
                    c.kind.into(),
                    c.class.clone(),
                    format!("{}.{:03}", c.weight_g / 1000, c.weight_g % 1000),
                    n(c.amount),
                    if c.surcharge > 0 {
                        n(c.surcharge)
                    } else {
                        String::new()
                    },
                    String::new(),
                ]);
                plant(&mut planted, &mut seen, &c.waybill, line, kr_waybill, |i| i);
            }
        }
    }
    let total_line = t.len() + 1;
    t.push(vec![
        "합계".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        n(g.stated_total),
        String::new(),
        String::new(),
    ]);
    planted.insert(("total_mismatch".into(), "TOTAL".into(), total_line));
    for i in NOT_BILLED {
        planted.insert(("not_billed".into(), kr_waybill(i), 0));
    }
    (t, planted, merges)
}

/// Records the finding a charge row plants.
fn plant(
    planted: &mut Planted,
    seen: &mut BTreeSet<String>,
    waybill: &str,
    line: usize,
    name: fn(usize) -> String,
    _: fn(usize) -> usize,
) {
    let first = seen.insert(waybill.to_string());
    let cat = if waybill == name(VOID) {
        Some("void_charged")
    } else if !first || waybill == name(EARLIER) {
        Some("duplicate_charge")
    } else if waybill == name(LOST) || waybill == name(DAMAGED) {
        Some("claim_deduction")
    } else if waybill == name(OVER) {
        Some("weight_overcharge")
    } else if waybill == name(RATE) {
        Some("rate_mismatch")
    } else if waybill.starts_with("69999") || waybill.starts_with("SF9999") {
        Some("unknown_waybill")
    } else {
        None
    };
    if let Some(c) = cat {
        planted.insert((c.into(), waybill.into(), line));
    }
}

fn cn_table(g: &Generated) -> (Vec<Vec<String>>, Planted, Vec<(usize, usize)>) {
    let yuan = |v: i64| format!("{}.{:02}", v / 100, v % 100);
    let mut t: Vec<Vec<String>> = vec![
        vec!["顺丰速运 月结账单".into()],
        vec!["月结卡号: 0210000000".into(), "账期: 2026年03月".into()],
        [
            "日期",
            "运单号码",
            "类型",
            "区域",
            "计费重量",
            "应收费用",
            "备注",
        ]
        .map(String::from)
        .to_vec(),
    ];
    let mut planted = Planted::new();
    let mut merges = Vec::new();
    let mut seen = BTreeSet::new();
    let mut last_day = String::new();
    let mut day_start = 0usize;
    let mut day_sum = 0i64;
    for r in &g.rows {
        let line = t.len() + 1;
        match r {
            None => {
                if day_start > 0 && line - 1 > day_start {
                    merges.push((day_start, line - 1));
                }
                t.push(vec![
                    String::new(),
                    "小计".into(),
                    String::new(),
                    String::new(),
                    String::new(),
                    yuan(day_sum),
                    String::new(),
                ]);
                day_sum = 0;
                last_day.clear();
                day_start = 0;
            }
            Some(c) => {
                let date = if c.day != last_day {
                    c.day.clone()
                } else {
                    String::new()
                };
                if c.day != last_day {
                    day_start = line;
                    last_day = c.day.clone();
                }
                day_sum += c.amount;
                t.push(vec![
                    date,
                    c.waybill.clone(),
                    c.kind.into(),
                    c.zone.clone(),
                    format!("{}.{:03}", c.weight_g / 1000, c.weight_g % 1000),
                    yuan(c.amount),
                    String::new(),
                ]);
                if c.kind == "保价费" {
                    planted.insert(("rate_mismatch".into(), c.waybill.clone(), line));
                } else {
                    plant(&mut planted, &mut seen, &c.waybill, line, cn_waybill, |i| i);
                }
            }
        }
    }
    let total_line = t.len() + 1;
    t.push(vec![
        "合计".into(),
        String::new(),
        String::new(),
        String::new(),
        String::new(),
        yuan(g.stated_total),
        String::new(),
    ]);
    planted.insert(("total_mismatch".into(), "TOTAL".into(), total_line));
    for i in NOT_BILLED {
        planted.insert(("not_billed".into(), cn_waybill(i), 0));
    }
    (t, planted, merges)
}

fn write_csv(path: &Path, t: &[Vec<String>]) {
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap();
    for r in t {
        w.write_record(r).unwrap();
    }
    w.flush().unwrap();
}

/// Writes the table as a workbook with the day's dates as merged cells (the value in the
/// first row only, as Excel keeps them) and the title merged across the sheet.
fn write_xlsx(path: &Path, t: &[Vec<String>], merges: &[(usize, usize)]) {
    use rust_xlsxwriter::{Format, Workbook};
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    let f = Format::new();
    for (r, row) in t.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            if v.is_empty() {
                continue;
            }
            // Amounts and weights as numbers, the rest as text.
            let numeric = c >= 4 && v.parse::<f64>().is_ok() && !v.contains(',');
            if numeric {
                ws.write_number(r as u32, c as u16, v.parse::<f64>().unwrap())
                    .unwrap();
            } else {
                ws.write_string(r as u32, c as u16, v).unwrap();
            }
        }
    }
    ws.merge_range(0, 0, 0, 5, &t[0][0], &f).unwrap();
    for (first, last) in merges {
        let v = t[first - 1][0].clone();
        ws.merge_range((first - 1) as u32, 0, (last - 1) as u32, 0, &v, &f)
            .unwrap();
    }
    wb.save(path).unwrap();
}

fn findings(report: &Value) -> Planted {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["category"].as_str().unwrap().to_string(),
                f["waybill"].as_str().unwrap().to_string(),
                f["bill_line"].as_u64().unwrap_or(0) as usize,
            )
        })
        .collect()
}

fn assert_same(got: &Planted, want: &Planted, what: &str) {
    let missing: Vec<_> = want.difference(got).collect();
    let extra: Vec<_> = got.difference(want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "{what}: missing {missing:?}, extra {extra:?}"
    );
}

fn upload(s: &TestServer, query: &str, badge: &str, body: &[u8]) -> (u16, Value) {
    match ureq::post(&s.url(&format!("/api/v1/bills?{query}")))
        .set("x-badge", badge)
        .send_bytes(body)
    {
        Ok(r) => (r.status(), r.into_json().unwrap_or(Value::Null)),
        Err(ureq::Error::Status(code, r)) => (code, r.into_json().unwrap_or(Value::Null)),
        Err(e) => panic!("{e}"),
    }
}

fn setup() -> TestServer {
    let mut s = TestServer::start();
    s.kill9();
    seed_archive(s.data());
    let cards = s.data().join("rate-cards");
    std::fs::create_dir_all(&cards).unwrap();
    std::fs::write(cards.join("cj-2026.toml"), KR_CARD).unwrap();
    std::fs::write(cards.join("sf-2026.toml"), CN_CARD).unwrap();
    s.restart();
    s
}

#[test]
fn a_synthetic_month_in_every_layout_gives_exactly_the_planted_findings() {
    let s = setup();
    let dir = s.data().join("bills");
    std::fs::create_dir_all(&dir).unwrap();

    // February: one bill with the parcel billed again in March, accepted (manager only).
    let feb = format!(
        "waybill,ship_date,billed_weight_g,size_class,zone,amount,kind\n{},2026-02-20,{},{},,{},delivery\n",
        kr_waybill(EARLIER),
        weight(EARLIER),
        kr_class(weight(EARLIER)).0,
        kr_class(weight(EARLIER)).1
    );
    let (st, v) = upload(
        &s,
        "courier=cj&month=2026-02&filename=feb.csv",
        "B-MGR-01",
        feb.as_bytes(),
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["report"]["findings"].as_array().unwrap().len(), 0, "{v}");
    let feb_id = v["bill_id"].as_i64().unwrap();
    let (st, v) = s.post(
        &format!("/api/v1/bills/{feb_id}/accept"),
        json!({ "badge": "B-PACK-01" }),
    );
    assert_eq!(
        (st, v["code"].as_str()),
        (403, Some("manager_required")),
        "{v}"
    );
    let (st, v) = s.post(
        &format!("/api/v1/bills/{feb_id}/accept"),
        json!({ "badge": "B-MGR-01" }),
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = upload(
        &s,
        "courier=cj&month=2026-02&filename=feb.csv",
        "B-MGR-01",
        feb.as_bytes(),
    );
    assert_eq!((st, v["code"].as_str()), (409, Some("month_locked")), "{v}");
    // The SF February bill too.
    let feb_cn = format!(
        "waybill,ship_date,billed_weight_g,size_class,zone,amount,kind\n{},2026-02-20,{},,{},{},delivery\n",
        cn_waybill(EARLIER),
        weight(EARLIER),
        cn_zone(EARLIER),
        cn_price(cn_zone(EARLIER), weight(EARLIER))
    );
    let (st, v) = upload(
        &s,
        "courier=sf&month=2026-02&filename=feb-sf.csv",
        "B-MGR-01",
        feb_cn.as_bytes(),
    );
    assert_eq!(st, 200, "{v}");
    let id = v["bill_id"].as_i64().unwrap();
    assert_eq!(
        s.post(
            &format!("/api/v1/bills/{id}/accept"),
            json!({ "badge": "B-MGR-01" })
        )
        .0,
        200
    );

    // Open claims on the damaged parcels (a claim amount to deduct).
    for wb in [kr_waybill(DAMAGED), cn_waybill(DAMAGED)] {
        let (st, v) = s.post(
            "/api/v1/claims",
            json!({ "waybill": wb, "kind": "damaged", "claimed": 20000, "badge": "B-PACK-01" }),
        );
        assert_eq!(st, 200, "{v}");
    }

    let kr = kr_month();
    let won = |v: i64| {
        let s = v.abs().to_string();
        let mut out = String::new();
        for (i, ch) in s.chars().enumerate() {
            if i > 0 && (s.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(ch);
        }
        if v < 0 {
            format!("-{out}")
        } else {
            out
        }
    };
    let (t_csv, planted_kr, _) = kr_table(&kr, &won);
    let plain = |v: i64| v.to_string();
    let (t_xlsx, planted_kr_x, merges) = kr_table(&kr, &plain);
    assert_eq!(planted_kr, planted_kr_x);
    assert!(planted_kr.len() >= 12, "{planted_kr:?}");
    let kr_csv = dir.join("cj-2026-03.csv");
    let kr_xlsx = dir.join("cj-2026-03.xlsx");
    write_csv(&kr_csv, &t_csv);
    write_xlsx(&kr_xlsx, &t_xlsx, &merges);

    let cn = cn_month();
    let (t_cn, planted_cn, merges_cn) = cn_table(&cn);
    let cn_csv = dir.join("sf-2026-03.csv");
    let cn_xlsx = dir.join("sf-2026-03.xlsx");
    write_csv(&cn_csv, &t_cn);
    write_xlsx(&cn_xlsx, &t_cn, &merges_cn);

    let categories: BTreeSet<&str> = planted_kr
        .iter()
        .chain(&planted_cn)
        .map(|p| p.0.as_str())
        .collect();
    for c in [
        "unknown_waybill",
        "duplicate_charge",
        "weight_overcharge",
        "rate_mismatch",
        "void_charged",
        "claim_deduction",
        "not_billed",
        "total_mismatch",
    ] {
        assert!(categories.contains(c), "the generator plants {c}");
    }

    // Korean CSV through the CLI (layout recognised from the headers).
    let out = s.cli(&[
        "reconcile",
        kr_csv.to_str().unwrap(),
        "--courier",
        "cj",
        "--month",
        "2026-03",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_same(&findings(&report), &planted_kr, "cj CSV (CLI)");
    assert_eq!(report["courier"], "cj");
    assert_eq!(report["month"], "2026-03");
    assert_eq!(report["stated_total"].as_i64().unwrap(), kr.stated_total);
    assert_eq!(
        report["sum_of_lines"].as_i64().unwrap(),
        kr.stated_total - 1000
    );
    let keys: BTreeSet<&str> = report
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        keys,
        [
            "bill_lines",
            "courier",
            "disputed_total",
            "expected_total",
            "findings",
            "month",
            "stated_total",
            "sum_of_lines"
        ]
        .into_iter()
        .collect()
    );
    let f0 = report["findings"][0].as_object().unwrap();
    let fkeys: BTreeSet<&str> = f0.keys().map(String::as_str).collect();
    assert_eq!(
        fkeys,
        [
            "bill_line",
            "billed",
            "category",
            "dispute",
            "expected",
            "waybill"
        ]
        .into_iter()
        .collect()
    );
    // The damaged parcel's claim amount is what is disputed on its line.
    let dmg = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["waybill"] == kr_waybill(DAMAGED).as_str())
        .unwrap();
    assert_eq!(dmg["dispute"], 20000, "{dmg}");
    let over = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["category"] == "weight_overcharge")
        .unwrap();
    assert_eq!(
        (over["billed"].as_i64(), over["expected"].as_i64()),
        (Some(4400), Some(kr_class(weight(OVER)).1)),
        "{over}"
    );
    let disputed: i64 = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["dispute"].as_i64().unwrap())
        .sum();
    assert_eq!(report["disputed_total"].as_i64().unwrap(), disputed);

    // Korean XLSX (merged date cells) through the API.
    let (st, v) = upload(
        &s,
        "courier=cj&month=2026-03&filename=cj-2026-03.xlsx",
        "B-MGR-01",
        &std::fs::read(&kr_xlsx).unwrap(),
    );
    assert_eq!(st, 200, "{v}");
    assert_same(&findings(&v["report"]), &planted_kr, "cj XLSX (API)");
    let kr_bill = v["bill_id"].as_i64().unwrap();

    // Chinese CSV and XLSX.
    let out = s.cli(&[
        "reconcile",
        cn_csv.to_str().unwrap(),
        "--courier",
        "sf",
        "--month",
        "2026-03",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_same(&findings(&report), &planted_cn, "sf CSV (CLI)");
    let (st, v) = upload(
        &s,
        "courier=sf&month=2026-03&filename=sf-2026-03.xlsx",
        "B-MGR-01",
        &std::fs::read(&cn_xlsx).unwrap(),
    );
    assert_eq!(st, 200, "{v}");
    assert_same(&findings(&v["report"]), &planted_cn, "sf XLSX (API)");

    // The dispute list: XLSX, CSV and the printed PDF.
    let get = |p: &str| {
        let r = ureq::get(&s.url(p)).call().unwrap();
        let mut b = Vec::new();
        std::io::Read::read_to_end(&mut r.into_reader(), &mut b).unwrap();
        b
    };
    let xlsx = get(&format!(
        "/api/v1/bills/{kr_bill}/disputes?format=xlsx&lang=ko"
    ));
    assert!(xlsx.starts_with(b"PK"));
    let csv = String::from_utf8(get(&format!(
        "/api/v1/bills/{kr_bill}/disputes?format=csv&lang=en"
    )))
    .unwrap();
    assert!(
        csv.contains(&kr_waybill(OVER)) && csv.contains("TOTAL"),
        "{csv}"
    );
    assert!(
        !csv.contains(&kr_waybill(NOT_BILLED[0])),
        "informational findings are not disputed"
    );
    let pdf = get(&format!("/api/v1/bills/{kr_bill}/disputes.pdf?lang=ko"));
    assert!(pdf.starts_with(b"%PDF"));
    std::fs::write(common::artefacts().join("dispute-list.pdf"), &pdf).unwrap();
    // The page shows the report.
    let html = ureq::get(&s.url(&format!("/manager/bills?bill={kr_bill}&lang=ko")))
        .call()
        .unwrap()
        .into_string()
        .unwrap();
    assert!(html.contains("중량·규격 과다 청구") && html.contains(&kr_waybill(OVER)));

    // Accepting March deducts the claim: it does not feed April.
    assert_eq!(
        s.post(
            &format!("/api/v1/bills/{kr_bill}/accept"),
            json!({ "badge": "B-MGR-01" })
        )
        .0,
        200
    );
    let (_, v) = s.get(&format!(
        "/api/v1/claims/list?waybill={}",
        kr_waybill(DAMAGED)
    ));
    assert!(
        v["claims"][0]["deducted_bill"].as_i64() == Some(kr_bill),
        "{v}"
    );
}

#[test]
fn a_malformed_bill_is_refused_with_every_bad_row_and_nothing_kept() {
    let s = setup();
    let bad = "waybill,ship_date,billed_weight_g,size_class,zone,amount,kind\n\
               610000000001,2026-03-02,1500,극소,,3100,delivery\n\
               610000000002,2026-03-32,1500,극소,,3100,delivery\n\
               610000000003,2026-03-02,heavy,극소,,3100,delivery\n\
               610000000004,2026-03-02,1500,극소,,31.5,delivery\n\
               ,2026-03-02,1500,극소,,3100,delivery\n\
               610000000006,2026-03-02,1500,극소,,3100,pickup\n\
               610000000007,2026-03-02,1500,극소,,3100,delivery\n";
    let path = s.data().join("bad.csv");
    std::fs::write(&path, bad).unwrap();
    let out = s.cli(&[
        "reconcile",
        path.to_str().unwrap(),
        "--courier",
        "cj",
        "--month",
        "2026-03",
    ]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for line in [3, 4, 5, 6, 7] {
        assert!(
            err.contains(&format!("bad.csv:{line}:")),
            "line {line} not listed:\n{err}"
        );
    }
    assert!(
        !err.contains("bad.csv:2:") && !err.contains("bad.csv:8:"),
        "{err}"
    );
    let (st, v) = upload(
        &s,
        "courier=cj&month=2026-03&filename=bad.csv",
        "B-MGR-01",
        bad.as_bytes(),
    );
    assert_eq!((st, v["code"].as_str()), (400, Some("bill_refused")), "{v}");
    let rows: Vec<u64> = v["detail"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["row"].as_u64().unwrap())
        .collect();
    assert_eq!(rows, vec![3, 4, 5, 6, 7]);
    let (_, v) = s.get("/api/v1/bills");
    assert_eq!(
        v["bills"].as_array().unwrap().len(),
        0,
        "nothing half-imported: {v}"
    );
    // Only a manager uploads bills.
    let (st, _) = upload(
        &s,
        "courier=cj&month=2026-03&filename=b.csv",
        "B-PACK-01",
        bad.as_bytes(),
    );
    assert_eq!(st, 403);
    // A rate card with a mistake is refused with its file and line.
    std::fs::write(
        s.data().join("rate-cards/cj-2026.toml"),
        KR_CARD.replace("max_weight_g = 5000", "max_weight_g = 50"),
    )
    .unwrap();
    let (st, v) = s.get("/api/v1/rate-cards");
    assert_eq!(
        (st, v["code"].as_str()),
        (400, Some("rate_card_invalid")),
        "{v}"
    );
    let p = &v["detail"]["problems"][0];
    let want_line = KR_CARD
        .lines()
        .position(|l| l.contains("max_weight_g = 5000"))
        .unwrap()
        + 1;
    assert!(p["file"].as_str().unwrap().ends_with("cj-2026.toml"), "{p}");
    assert_eq!(p["line"].as_u64().unwrap() as usize, want_line, "{p}");
}
