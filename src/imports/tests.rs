//! Tests of the importers: each fixture in `tests/fixtures/imports/` reads to the expected
//! records, bad files report all their problems, XLSX files written here read back the same
//! as CSV, and garbage never panics.

use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};

use super::*;
use crate::domain::{Flag, OrderLineRecord};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!(
        "{}/tests/fixtures/imports/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

const CATALOG_SKUS: [&str; 4] = ["TSHIRT-RED-M", "MUG-01", "SERUM-30", "SOCKS-3P"];

fn known(sku: &str) -> bool {
    CATALOG_SKUS.contains(&sku)
}

fn item(
    sku: &str,
    name: &str,
    barcodes: &[&str],
    weight: i64,
    location: &str,
    cost: i64,
) -> CatalogItem {
    CatalogItem {
        sku: sku.into(),
        name: name.into(),
        barcodes: barcodes.iter().map(|b| b.to_string()).collect(),
        unit_weight_g: weight,
        location: location.into(),
        cost,
        category: String::new(),
        option: String::new(),
    }
}

fn expected_catalog() -> Vec<CatalogItem> {
    vec![
        CatalogItem {
            option: "red/M".into(),
            ..item(
                "TSHIRT-RED-M",
                "Cotton T-shirt",
                &["8801234567893", "TS-RED-M"],
                180,
                "A-01-02",
                5500,
            )
        },
        CatalogItem {
            category: "fragile".into(),
            ..item(
                "MUG-01",
                "Ceramic mug, 350 ml",
                &["8801234567800"],
                420,
                "B-03-01",
                3200,
            )
        },
        CatalogItem {
            category: "liquid".into(),
            option: "30ml".into(),
            ..item(
                "SERUM-30",
                "수분 세럼 30ml",
                &["6901234567892", "SR30"],
                95,
                "C-02-05",
                8000,
            )
        },
        item("SOCKS-3P", "棉袜 三双装", &[], 60, "", 1200),
    ]
}

/// An order with the given number, channel, paid time and lines; other fields blank.
fn order(no: &str, channel: &str, paid_at: &str, lines: &[(&str, i64)]) -> OrderRecord {
    OrderRecord {
        order_no: no.into(),
        channel: channel.into(),
        paid_at: paid_at.into(),
        recipient_name: String::new(),
        recipient_phone: String::new(),
        address: String::new(),
        postcode: String::new(),
        note: String::new(),
        flag: Flag::None,
        courier: String::new(),
        waybill: String::new(),
        lines: lines
            .iter()
            .map(|&(sku, qty)| OrderLineRecord {
                sku: sku.into(),
                qty,
            })
            .collect(),
    }
}

fn to(
    name: &str,
    phone: &str,
    address: &str,
    postcode: &str,
) -> impl Fn(OrderRecord) -> OrderRecord {
    let (name, phone, address, postcode) = (
        name.to_string(),
        phone.to_string(),
        address.to_string(),
        postcode.to_string(),
    );
    move |o| OrderRecord {
        recipient_name: name.clone(),
        recipient_phone: phone.clone(),
        address: address.clone(),
        postcode: postcode.clone(),
        ..o
    }
}

fn expected_generic() -> Vec<OrderRecord> {
    let kim = to(
        "김민지",
        "010-1234-5678",
        "서울특별시 강남구 테헤란로 1",
        "06234",
    );
    let lee = to(
        "Lee Jun",
        "010-9999-0000",
        "부산광역시 해운대구 센텀로 5, 101동 202호",
        "48058",
    );
    let wang = to(
        "王芳",
        "13900139000",
        "上海市 浦东新区 世纪大道 1号",
        "200120",
    );
    vec![
        OrderRecord {
            note: "빨간색 M 맞는지 확인".into(),
            flag: Flag::Red,
            ..kim(order(
                "G-1001",
                "smartstore",
                "2026-11-23T05:00:00Z",
                &[("TSHIRT-RED-M", 3), ("MUG-01", 1)],
            ))
        },
        OrderRecord {
            flag: Flag::Yellow,
            courier: "cj".into(),
            waybill: "600012345671".into(),
            ..lee(order(
                "G-1002",
                "coupang",
                "2026-11-23T00:30:00Z",
                &[("SERUM-30", 1)],
            ))
        },
        OrderRecord {
            courier: "sf".into(),
            waybill: "SF1234567890123".into(),
            ..wang(order(
                "G-1003",
                "generic",
                "2026-11-22T23:15:30Z",
                &[("SOCKS-3P", 3)],
            ))
        },
    ]
}

fn expected_smartstore() -> Vec<OrderRecord> {
    let hong = to(
        "홍길동",
        "010-1111-2222",
        "서울특별시 마포구 월드컵로 10 (성산동)",
        "03900",
    );
    let lee = to(
        "이영희",
        "02-555-6666",
        "경기도 성남시 분당구 판교역로 235",
        "13494",
    );
    vec![
        OrderRecord {
            note: "부재시 경비실에 맡겨주세요".into(),
            ..hong(order(
                "2026112398765401",
                "smartstore",
                "2026-11-23T05:05:11Z",
                &[("TSHIRT-RED-M", 2), ("MUG-01", 1)],
            ))
        },
        lee(order(
            "2026112398765402",
            "smartstore",
            "2026-11-23T07:30:00Z",
            &[("SERUM-30", 1)],
        )),
    ]
}

fn expected_taobao() -> Vec<OrderRecord> {
    let zhang = to(
        "张伟",
        "13800138000",
        "浙江省 杭州市 西湖区 文三路 100号",
        "310000",
    );
    let li = to(
        "李娜",
        "021-55556666",
        "上海市 浦东新区 世纪大道 1号",
        "200120",
    );
    vec![
        OrderRecord {
            note: "请发顺丰".into(),
            ..zhang(order(
                "3012345678901234",
                "taobao",
                "2026-11-23T02:01:05Z",
                &[("TSHIRT-RED-M", 2), ("MUG-01", 1)],
            ))
        },
        OrderRecord {
            note: "尽快发货 / 易碎 轻放".into(),
            courier: "sf".into(),
            waybill: "SF1234567890123".into(),
            ..li(order(
                "3012345678905678",
                "taobao",
                "2026-11-23T03:20:00Z",
                &[("SERUM-30", 1)],
            ))
        },
    ]
}

#[test]
fn catalog_fixture_reads_to_expected_items() {
    let items = read_catalog("catalog.csv", &fixture("catalog.csv")).unwrap();
    assert_eq!(items, expected_catalog());
}

#[test]
fn order_fixtures_read_to_expected_records() {
    type Expect = fn() -> Vec<OrderRecord>;
    let cases: &[(&str, Option<Channel>, Expect)] = &[
        (
            "orders_generic.csv",
            Some(Channel::Generic),
            expected_generic,
        ),
        ("orders_generic.csv", None, expected_generic),
        (
            "smartstore_orders.csv",
            Some(Channel::Smartstore),
            expected_smartstore,
        ),
        ("smartstore_orders.csv", None, expected_smartstore),
        ("taobao_orders.csv", Some(Channel::Taobao), expected_taobao),
        ("taobao_orders.csv", None, expected_taobao),
        (
            "taobao_orders_gbk.csv",
            Some(Channel::Taobao),
            expected_taobao,
        ),
        ("taobao_orders_gbk.csv", None, expected_taobao),
    ];
    for &(name, channel, expected) in cases {
        let got = read_orders(name, &fixture(name), channel, "Asia/Seoul", &known);
        match got {
            Ok(orders) => assert_eq!(orders, expected(), "{name} as {channel:?}"),
            Err(e) => panic!("{name} as {channel:?}:\n{e}"),
        }
    }
}

#[test]
fn generic_local_times_use_the_callers_zone() {
    let orders = read_orders(
        "orders_generic.csv",
        &fixture("orders_generic.csv"),
        None,
        "Asia/Shanghai",
        &known,
    )
    .unwrap();
    // 14:00 in Shanghai is 06:00 UTC; the time with an explicit +09:00 does not move.
    assert_eq!(orders[0].paid_at, "2026-11-23T06:00:00Z");
    assert_eq!(orders[1].paid_at, "2026-11-23T00:30:00Z");
}

#[test]
fn marketplace_zones_do_not_follow_the_callers_zone() {
    let name = "smartstore_orders.csv";
    let orders = read_orders(name, &fixture(name), None, "Europe/London", &known).unwrap();
    assert_eq!(orders, expected_smartstore());
}

#[test]
fn detects_channels_from_headers() {
    let cases: &[(&str, &[u8], Option<Channel>)] = &[
        (
            "orders_generic.csv",
            &fixture("orders_generic.csv"),
            Some(Channel::Generic),
        ),
        (
            "smartstore_orders.csv",
            &fixture("smartstore_orders.csv"),
            Some(Channel::Smartstore),
        ),
        (
            "taobao_orders.csv",
            &fixture("taobao_orders.csv"),
            Some(Channel::Taobao),
        ),
        (
            "taobao_orders_gbk.csv",
            &fixture("taobao_orders_gbk.csv"),
            Some(Channel::Taobao),
        ),
        ("catalog.csv", &fixture("catalog.csv"), None),
        ("empty.csv", b"", None),
        ("random.csv", b"a,b,c\n1,2,3\n", None),
    ];
    for (name, bytes, want) in cases {
        assert_eq!(detect_channel(name, bytes), *want, "{name}");
    }
}

#[test]
fn channel_names_parse() {
    let cases = [
        ("generic", Some(Channel::Generic)),
        ("Smartstore", Some(Channel::Smartstore)),
        ("naver", Some(Channel::Smartstore)),
        ("taobao", Some(Channel::Taobao)),
        (" TMALL ", Some(Channel::Taobao)),
        ("coupang", None),
        ("", None),
    ];
    for (s, want) in cases {
        assert_eq!(Channel::parse(s), want, "{s:?}");
        if let Some(c) = want {
            assert_eq!(Channel::parse(c.as_str()), Some(c));
        }
    }
}

/// Compares problems by (row, column, a fragment of the message).
fn assert_problems(err: &ImportError, want: &[(usize, &str, &str)]) {
    let got: Vec<(usize, &str, &str)> = err
        .problems
        .iter()
        .map(|p| (p.row, p.column.as_str(), p.message.as_str()))
        .collect();
    assert_eq!(got.len(), want.len(), "problems:\n{err}");
    for (g, w) in got.iter().zip(want) {
        assert!(
            g.0 == w.0 && g.1 == w.1 && g.2.contains(w.2),
            "got {g:?}, want {w:?}; all problems:\n{err}"
        );
    }
}

#[test]
fn bad_catalog_reports_every_problem() {
    let err = read_catalog("bad_catalog.csv", &fixture("bad_catalog.csv")).unwrap_err();
    assert_problems(
        &err,
        &[
            (3, "sku", "SKU is empty"),
            (4, "sku", "SKU `A-1` is already on line 2"),
            (5, "unit_weight_g", "unit weight `-5`"),
            (6, "unit_weight_g", "unit weight `1.5`"),
            (6, "cost", "cost `abc`"),
            (
                7,
                "barcodes",
                "barcode `222` is already used by SKU `A-1` on line 2",
            ),
            (7, "barcodes", "empty barcode"),
        ],
    );
    assert!(err.problems.iter().all(|p| p.file == "bad_catalog.csv"));
}

#[test]
fn bad_orders_report_every_problem() {
    let err = read_orders(
        "bad_orders.csv",
        &fixture("bad_orders.csv"),
        None,
        "Asia/Seoul",
        &known,
    )
    .unwrap_err();
    assert_problems(
        &err,
        &[
            (1, "note", "required column is missing"),
            (3, "qty", "quantity `0`"),
            (
                3,
                "paid_at",
                "differs from `2026-11-23T05:00:00Z` on line 2 of the same order `B-1`",
            ),
            (4, "sku", "unknown SKU `NOPE-9`: import the catalog first"),
            (4, "paid_at", "cannot read `yesterday` as a time"),
            (4, "flag", "unknown flag `green`"),
            (5, "order_no", "order number is empty"),
            (6, "qty", "quantity `x`"),
            (
                6,
                "recipient_name",
                "recipient name is empty for order `B-3`",
            ),
        ],
    );
}

#[test]
fn bad_taobao_reports_every_problem() {
    let err = read_orders(
        "bad_taobao.csv",
        &fixture("bad_taobao.csv"),
        None,
        "Asia/Seoul",
        &known,
    )
    .unwrap_err();
    assert_problems(
        &err,
        &[
            (2, "订单状态", "unknown order status `卖家部分发货`"),
            (3, "订单付款时间", "cannot read `2026/11/23` as a time"),
            (3, "物流公司", "unknown courier `天天快递`"),
            (
                4,
                "联系手机",
                "recipient phone is empty for order `3000000000000003`",
            ),
            (
                4,
                "物流公司",
                "order `3000000000000003` has a waybill but no courier",
            ),
        ],
    );
}

#[test]
fn problems_display_one_per_line() {
    let err = ImportError::new(vec![
        ImportProblem {
            file: "a.csv".into(),
            row: 3,
            column: "qty".into(),
            message: "bad".into(),
        },
        ImportProblem {
            file: "a.csv".into(),
            row: 4,
            column: String::new(),
            message: "worse".into(),
        },
        ImportProblem {
            file: "a.csv".into(),
            row: 0,
            column: String::new(),
            message: "whole".into(),
        },
    ]);
    assert_eq!(
        err.to_string(),
        "a.csv: whole\na.csv:3: column `qty`: bad\na.csv:4: worse"
    );
}

#[test]
fn whole_file_problems() {
    let cases: &[(&str, &[u8], Option<Channel>, &str)] = &[
        (
            "empty.csv",
            b"",
            Some(Channel::Generic),
            "the file is empty",
        ),
        (
            "x.csv",
            b"order_no\n\xB6\xA9\n",
            Some(Channel::Generic),
            "not UTF-8 text",
        ),
        (
            "x.csv",
            b"a,b\n1,2\n",
            None,
            "cannot tell the file's format",
        ),
        (
            "x.xlsx",
            b"not a zip",
            Some(Channel::Generic),
            "cannot read the file as an XLSX",
        ),
        (
            "x.csv",
            &fixture("orders_generic.csv"),
            Some(Channel::Generic),
            "unknown time zone",
        ),
    ];
    for (name, bytes, channel, want) in cases {
        let tz = if want.contains("time zone") {
            "Mars/Olympus"
        } else {
            "Asia/Seoul"
        };
        let err = read_orders(name, bytes, *channel, tz, &known).unwrap_err();
        assert_eq!(err.problems.len(), 1, "{name}: {err}");
        assert_eq!(err.problems[0].row, 0);
        assert!(err.problems[0].message.contains(want), "{name}: {err}");
    }
}

/// A minimal OLE compound file header followed by the directory name an encrypted XLSX
/// carries: enough for the check, which must not try to decrypt.
fn fake_encrypted_xlsx() -> Vec<u8> {
    let mut bytes = vec![0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1];
    bytes.resize(512, 0);
    bytes.extend("EncryptedPackage".encode_utf16().flat_map(u16::to_le_bytes));
    bytes.resize(1024, 0);
    bytes
}

#[test]
fn password_protected_workbooks_are_refused_clearly() {
    let bytes = fake_encrypted_xlsx();
    let err = read_orders("발주발송관리.xlsx", &bytes, None, "Asia/Seoul", &known).unwrap_err();
    assert_eq!(err.problems.len(), 1);
    assert!(
        err.problems[0].message.contains("password-protected"),
        "{err}"
    );
    let err = read_catalog("catalog.xlsx", &bytes).unwrap_err();
    assert!(
        err.problems[0].message.contains("save without a password"),
        "{err}"
    );
}

/// Writes rows of text into the first sheet of a new workbook, `first_row` rows down.
fn xlsx(rows: &[Vec<String>], first_row: u32) -> Workbook {
    let mut book = Workbook::new();
    let sheet = book.add_worksheet();
    for (r, row) in rows.iter().enumerate() {
        for (c, cell) in row.iter().enumerate() {
            if !cell.is_empty() {
                sheet
                    .write_string(first_row + r as u32, c as u16, cell)
                    .unwrap();
            }
        }
    }
    book
}

/// The rows of a CSV fixture as cells (the fixtures have no quoted line breaks).
fn csv_rows(name: &str) -> Vec<Vec<String>> {
    let bytes = fixture(name);
    let text = String::from_utf8(bytes).unwrap();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    reader
        .records()
        .map(|r| r.unwrap().iter().map(str::to_string).collect())
        .collect()
}

#[test]
fn xlsx_catalog_round_trip() {
    let mut book = xlsx(&csv_rows("catalog.csv"), 0);
    // Numbers written as numbers must read back as the same integers.
    let sheet = book.worksheet_from_index(0).unwrap();
    sheet.write_number(1, 3, 180.0).unwrap();
    sheet.write_number(1, 5, 5500.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let items = read_catalog("catalog.xlsx", &bytes).unwrap();
    assert_eq!(items, expected_catalog());
    // The ZIP signature is enough, whatever the name.
    assert_eq!(
        read_catalog("upload.bin", &bytes).unwrap(),
        expected_catalog()
    );
}

#[test]
fn xlsx_generic_orders_round_trip() {
    let mut book = xlsx(&csv_rows("orders_generic.csv"), 0);
    let sheet = book.worksheet_from_index(0).unwrap();
    // A real date cell and a numeric quantity, as a user's spreadsheet would have them.
    let when = ExcelDateTime::parse_from_str("2026-11-23 14:00:00").unwrap();
    let format = Format::new().set_num_format("yyyy-mm-dd hh:mm");
    sheet
        .write_datetime_with_format(1, 2, &when, &format)
        .unwrap();
    sheet.write_number(1, 8, 2.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    let orders = read_orders("orders.xlsx", &bytes, None, "Asia/Seoul", &known).unwrap();
    assert_eq!(orders, expected_generic());
}

#[test]
fn xlsx_smartstore_with_title_row_round_trip() {
    // The CSV fixture already starts with a title row; put the sheet one row lower still, so
    // the header is on sheet row 3 and the data starts on row 4.
    let mut rows = csv_rows("smartstore_orders.csv");
    rows[0].truncate(1);
    let mut book = xlsx(&rows, 1);
    let sheet = book.worksheet_from_index(0).unwrap();
    let when = ExcelDateTime::parse_from_str("2026-11-23 14:05:11").unwrap();
    let format = Format::new().set_num_format("yyyy.mm.dd hh:mm:ss");
    sheet
        .write_datetime_with_format(3, 7, &when, &format)
        .unwrap();
    sheet.write_number(3, 10, 2.0).unwrap();
    // A 16-digit order number stored as a number must keep every digit.
    sheet.write_number(3, 1, 2026112398765401.0).unwrap();
    let bytes = book.save_to_buffer().unwrap();
    assert_eq!(
        detect_channel("orders.xlsx", &bytes),
        Some(Channel::Smartstore)
    );
    let orders = read_orders("orders.xlsx", &bytes, None, "Asia/Seoul", &known).unwrap();
    assert_eq!(orders, expected_smartstore());

    // Problems name sheet rows as Excel shows them: MUG-01 is on the second data row.
    let err = read_orders("orders.xlsx", &bytes, None, "Asia/Seoul", &|s| {
        s != "MUG-01"
    })
    .unwrap_err();
    assert_problems(&err, &[(5, "판매자 상품코드", "unknown SKU `MUG-01`")]);
}

#[test]
fn rereading_gives_identical_records() {
    let cases = [
        ("orders_generic.csv", None),
        ("smartstore_orders.csv", Some(Channel::Smartstore)),
        ("taobao_orders_gbk.csv", None),
    ];
    for (name, channel) in cases {
        let bytes = fixture(name);
        let first = read_orders(name, &bytes, channel, "Asia/Seoul", &known).unwrap();
        let second = read_orders(name, &bytes, channel, "Asia/Seoul", &known).unwrap();
        assert_eq!(first, second, "{name}");
    }
    let bytes = fixture("catalog.csv");
    assert_eq!(
        read_catalog("c.csv", &bytes).unwrap(),
        read_catalog("c.csv", &bytes).unwrap()
    );
}

#[test]
fn courier_names_map_to_codes() {
    let cases = [
        ("CJ대한통운", Some("cj")),
        ("대한통운", Some("cj")),
        ("한진택배", Some("hanjin")),
        ("롯데택배", Some("lotte")),
        ("우체국택배", Some("epost")),
        ("로젠택배", Some("logen")),
        ("顺丰速运", Some("sf")),
        ("申通快递", Some("sto")),
        ("中通快递", Some("zto")),
        ("圆通速递", Some("yto")),
        ("韵达快递", Some("yunda")),
        ("EMS", Some("ems")),
        ("中国邮政", Some("ems")),
        ("邮政快递包裹", Some("ems")),
        ("SF", Some("sf")),
        ("lotte", Some("lotte")),
        ("Boston Express", None),
        ("天天快递", None),
        ("", None),
    ];
    for (name, want) in cases {
        assert_eq!(mapping::courier_code(name), want, "{name}");
    }
}

#[test]
fn embedded_mappings_are_consistent() {
    let m = mappings();
    for mapping in [&m.generic, &m.smartstore, &m.taobao] {
        let zone = if mapping.time_zone.is_empty() {
            "Asia/Seoul"
        } else {
            &mapping.time_zone
        };
        assert!(TimeZone::get(zone).is_ok(), "{}: {zone}", mapping.name);
        assert!(!mapping.detect.is_empty(), "{}", mapping.name);
        for field in mapping.fields.all() {
            if field.required != mapping::Required::No {
                assert!(!field.titles.is_empty(), "{}", mapping.name);
            }
        }
        let known_titles: Vec<String> = mapping
            .fields
            .all()
            .iter()
            .flat_map(|f| f.titles.iter().map(|t| table::normalize_title(t)))
            .collect();
        for d in &mapping.detect {
            assert!(
                known_titles.contains(&table::normalize_title(d)),
                "{}: {d}",
                mapping.name
            );
        }
        let overlap: Vec<&String> = mapping
            .statuses
            .import
            .iter()
            .filter(|s| mapping.statuses.skip.contains(s))
            .collect();
        assert!(overlap.is_empty(), "{}: {overlap:?}", mapping.name);
    }
    for courier in &m.couriers {
        assert!(!courier.names.is_empty(), "{}", courier.code);
    }
}

#[test]
fn csv_variants_read_alike() {
    // The generic orders fixture as UTF-8 with BOM, with CRLF line ends, and as tab-separated
    // UTF-16 (Excel's "Unicode text") must all give the same records.
    let plain = String::from_utf8(fixture("orders_generic.csv")).unwrap();
    let mut with_bom = vec![0xEF, 0xBB, 0xBF];
    with_bom.extend(plain.as_bytes());
    let crlf = plain.replace('\n', "\r\n").into_bytes();
    let tabbed: String = csv_rows("orders_generic.csv")
        .iter()
        .map(|r| r.join("\t") + "\n")
        .collect();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(tabbed.encode_utf16().flat_map(u16::to_le_bytes));
    for (what, bytes) in [("bom", with_bom), ("crlf", crlf), ("utf16", utf16)] {
        let orders = read_orders("o.csv", &bytes, None, "Asia/Seoul", &known)
            .unwrap_or_else(|e| panic!("{what}:\n{e}"));
        assert_eq!(orders, expected_generic(), "{what}");
    }
}

#[test]
fn skipped_statuses_do_not_need_known_skus() {
    // The closed Taobao order carries a SKU that is not in the catalog: it is skipped, not
    // reported.
    let name = "taobao_orders.csv";
    let orders = read_orders(name, &fixture(name), None, "Asia/Seoul", &known).unwrap();
    assert!(orders.iter().all(|o| o.order_no != "3012345678909999"));
}

/// A tiny xorshift generator, so the garbage test needs no crate and is repeatable.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn garbage_never_panics() {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let real_xlsx = xlsx(&csv_rows("orders_generic.csv"), 0)
        .save_to_buffer()
        .unwrap();
    let seeds: [&[u8]; 6] = [
        b"",
        b"PK\x03\x04",
        &[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
        b"\xEF\xBB\xBForder_no,sku,qty\n",
        "상품주문번호,주문번호\n".as_bytes(),
        &real_xlsx,
    ];
    for i in 0..600 {
        let seed = seeds[i % seeds.len()];
        let len = (rng.next() % 300) as usize;
        let mut bytes = seed.to_vec();
        if seed.len() > 300 {
            // Corrupt a real workbook in a few places instead of appending noise.
            for _ in 0..=(rng.next() % 4) {
                let at = (rng.next() as usize) % bytes.len();
                bytes[at] = rng.next() as u8;
            }
        } else {
            bytes.extend((0..len).map(|_| {
                // Mostly CSV-ish bytes, so parsing gets past the first line.
                match rng.next() % 8 {
                    0 => b',',
                    1 => b'\n',
                    2 => b'"',
                    _ => rng.next() as u8,
                }
            }));
        }
        let name = ["x.csv", "x.xlsx", "x.xls", "x"][i % 4];
        let _ = read_catalog(name, &bytes);
        let _ = detect_channel(name, &bytes);
        for channel in [
            None,
            Some(Channel::Generic),
            Some(Channel::Smartstore),
            Some(Channel::Taobao),
        ] {
            let _ = read_orders(name, &bytes, channel, "Asia/Seoul", &known);
        }
    }
}
