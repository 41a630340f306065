//! The demo warehouse: a catalog with Korean and Chinese item names and about fifty orders of
//! today, including red-flag notes, held orders and a bundle (two orders to one recipient), so
//! every part of the bench can be tried with no files and no hardware.

use crate::domain::{CatalogItem, Flag, OrderLineRecord, OrderRecord};

/// EAN-13 with its check digit from 12 digits.
pub fn ean13(twelve: &str) -> String {
    let sum: u32 = twelve
        .chars()
        .filter_map(|c| c.to_digit(10))
        .enumerate()
        .map(|(i, d)| if i % 2 == 0 { d } else { d * 3 })
        .sum();
    format!("{twelve}{}", (10 - sum % 10) % 10)
}

/// sku, name, option, grams, location, cost, category, EAN-13 without its check digit.
type DemoItem = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    &'static str,
    i64,
    &'static str,
    &'static str,
);

const ITEMS: &[DemoItem] = &[
    (
        "TS-WH-L",
        "반팔 티셔츠",
        "화이트 / L",
        180,
        "A-01-01",
        4500,
        "",
        "880100000001",
    ),
    (
        "TS-WH-M",
        "반팔 티셔츠",
        "화이트 / M",
        170,
        "A-01-02",
        4500,
        "",
        "880100000002",
    ),
    (
        "TS-BK-L",
        "반팔 티셔츠",
        "블랙 / L",
        180,
        "A-01-03",
        4500,
        "",
        "880100000003",
    ),
    (
        "HD-GR-XL",
        "기모 후드티",
        "그레이 / XL",
        620,
        "A-02-01",
        12800,
        "",
        "880100000004",
    ),
    (
        "JN-30",
        "슬림 청바지",
        "허리 30",
        540,
        "A-03-01",
        15000,
        "",
        "880100000005",
    ),
    (
        "JN-32",
        "슬림 청바지",
        "허리 32",
        560,
        "A-03-02",
        15000,
        "",
        "880100000006",
    ),
    (
        "SK-3P",
        "양말 3켤레 세트",
        "혼합",
        95,
        "B-01-01",
        2100,
        "",
        "880100000007",
    ),
    (
        "CAP-NV",
        "볼캡",
        "네이비",
        110,
        "B-02-01",
        3900,
        "",
        "880100000008",
    ),
    (
        "MUG-01",
        "머그컵 (도자기)",
        "350ml",
        380,
        "C-01-01",
        3200,
        "fragile",
        "880100000009",
    ),
    (
        "TMB-01",
        "보온 텀블러",
        "500ml",
        290,
        "C-01-02",
        6900,
        "",
        "880100000010",
    ),
    (
        "CRM-50",
        "수분 크림",
        "50ml",
        120,
        "C-02-01",
        5400,
        "",
        "880100000011",
    ),
    (
        "MSK-10",
        "시트 마스크 10매",
        "",
        260,
        "C-02-02",
        4000,
        "",
        "880100000012",
    ),
    (
        "CN-TEA-250",
        "西湖龙井茶",
        "250克",
        300,
        "D-01-01",
        6800,
        "",
        "690100000001",
    ),
    (
        "CN-SILK-SC",
        "真丝围巾",
        "藏青色",
        85,
        "D-01-02",
        9900,
        "",
        "690100000002",
    ),
    (
        "CN-CUP-01",
        "景德镇陶瓷茶杯",
        "一对",
        420,
        "D-02-01",
        7500,
        "fragile",
        "690100000003",
    ),
    (
        "CN-CHOP-5",
        "红木筷子 5双",
        "",
        150,
        "D-02-02",
        3100,
        "",
        "690100000004",
    ),
    (
        "CN-DRESS-M",
        "连衣裙",
        "碎花 / M",
        260,
        "D-03-01",
        11200,
        "",
        "690100000005",
    ),
    (
        "CN-SHOE-38",
        "帆布鞋",
        "白色 / 38",
        720,
        "D-03-02",
        8800,
        "",
        "690100000006",
    ),
    (
        "PHN-CASE",
        "휴대폰 케이스",
        "투명",
        45,
        "E-01-01",
        1500,
        "",
        "880100000013",
    ),
    (
        "CBL-USBC",
        "USB-C 케이블 1m",
        "",
        60,
        "E-01-02",
        1900,
        "",
        "880100000014",
    ),
];

pub fn catalog() -> Vec<CatalogItem> {
    ITEMS
        .iter()
        .map(|(sku, name, option, g, loc, cost, cat, ean)| CatalogItem {
            sku: sku.to_string(),
            name: name.to_string(),
            barcodes: vec![ean13(ean), format!("SKU-{sku}")],
            unit_weight_g: *g,
            location: loc.to_string(),
            cost: *cost,
            category: cat.to_string(),
            option: option.to_string(),
        })
        .collect()
}

const KR_NAMES: &[&str] = &[
    "김민지",
    "이서준",
    "박지우",
    "최하은",
    "정도윤",
    "강서연",
    "조예준",
    "윤지호",
    "장수아",
    "임하준",
];
const KR_ADDR: &[(&str, &str)] = &[
    ("서울특별시 강남구 테헤란로 123, 4층", "06234"),
    ("부산광역시 해운대구 해운대로 570", "48094"),
    ("경기도 성남시 분당구 판교역로 166", "13529"),
    ("제주특별자치도 제주시 중앙로 217", "63166"),
    ("인천광역시 연수구 송도과학로 32", "21984"),
];
const CN_NAMES: &[&str] = &["王芳", "李娜", "张伟", "刘洋", "陈静"];
const CN_ADDR: &[(&str, &str)] = &[
    ("浙江省杭州市西湖区文三路 478 号", "310012"),
    ("上海市浦东新区世纪大道 100 号", "200120"),
    ("广东省深圳市南山区科技园南区", "518057"),
];

/// About fifty orders paid today between 08:00 and 18:00 local time (`date` is the local
/// date, `offset` the zone's offset such as `+09:00`).
pub fn orders(date: &str, offset: &str) -> Vec<OrderRecord> {
    let kr: Vec<&str> = ITEMS
        .iter()
        .filter(|i| !i.0.starts_with("CN-"))
        .map(|i| i.0)
        .collect();
    let cn: Vec<&str> = ITEMS
        .iter()
        .filter(|i| i.0.starts_with("CN-"))
        .map(|i| i.0)
        .collect();
    let mut out = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = |n: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    };
    for i in 0..50 {
        let chinese = i % 5 == 4;
        let (channel, prefix) = if chinese {
            ("taobao", "TB")
        } else if i % 3 == 0 {
            ("coupang", "CP")
        } else {
            ("smartstore", "SS")
        };
        let minutes = 8 * 60 + i * 12;
        let paid_at = format!("{date}T{:02}:{:02}:00{offset}", minutes / 60, minutes % 60);
        let (name, (address, postcode), phone) = if chinese {
            (
                CN_NAMES[rnd(CN_NAMES.len())],
                CN_ADDR[rnd(CN_ADDR.len())],
                format!("138{:08}", 10_000_000 + i * 7919),
            )
        } else {
            (
                KR_NAMES[rnd(KR_NAMES.len())],
                KR_ADDR[rnd(KR_ADDR.len())],
                format!("010-{:04}-{:04}", 1000 + i * 37, 2000 + i * 53),
            )
        };
        let pool = if chinese { &cn } else { &kr };
        let n_lines = 1 + rnd(3);
        let mut lines: Vec<OrderLineRecord> = Vec::new();
        for _ in 0..n_lines {
            let sku = pool[rnd(pool.len())].to_string();
            let qty = 1 + rnd(2) as i64;
            match lines.iter_mut().find(|l| l.sku == sku) {
                Some(l) => l.qty += qty,
                None => lines.push(OrderLineRecord { sku, qty }),
            }
        }
        let (flag, note) = match i {
            2 | 17 | 33 => (
                Flag::Red,
                if chinese {
                    "请用礼品袋包装,不要放发票"
                } else {
                    "선물 포장해 주세요. 가격표 제거!"
                },
            ),
            9 => (Flag::Red, "사이즈 L 재확인 후 발송 (고객 요청)"),
            14 | 41 => (
                Flag::Yellow,
                if chinese {
                    "缺货,暂缓发货"
                } else {
                    "품절 - 발송 보류"
                },
            ),
            22 => (Flag::Blue, "교환 재발송: 블랙 L → 화이트 L"),
            _ => (Flag::None, ""),
        };
        out.push(OrderRecord {
            order_no: format!("{prefix}-{}{:04}", date.replace('-', ""), 1001 + i),
            channel: channel.into(),
            paid_at: utc(&paid_at),
            recipient_name: name.into(),
            recipient_phone: phone,
            address: address.into(),
            postcode: postcode.into(),
            note: note.into(),
            flag,
            courier: String::new(),
            waybill: String::new(),
            lines,
        });
    }
    // A bundle: the last order goes to the same person and address as the one before it.
    let n = out.len();
    let (name, phone, address, postcode) = {
        let a = &out[n - 2];
        (
            a.recipient_name.clone(),
            a.recipient_phone.clone(),
            a.address.clone(),
            a.postcode.clone(),
        )
    };
    let b = &mut out[n - 1];
    b.recipient_name = name;
    b.recipient_phone = phone;
    b.address = address;
    b.postcode = postcode;
    b.note = "합포장 가능 (같은 고객 두 번째 주문)".into();
    b.flag = Flag::Red;
    out
}

fn utc(local: &str) -> String {
    local
        .parse::<jiff::Timestamp>()
        .map(|t| t.to_string())
        .unwrap_or_else(|_| local.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_data_is_consistent() {
        assert_eq!(ean13("880123456789"), "8801234567893");
        let cat = catalog();
        let orders = orders("2026-11-23", "+09:00");
        assert_eq!(orders.len(), 50);
        for o in &orders {
            assert!(o.paid_at.ends_with('Z'), "{}", o.paid_at);
            for l in &o.lines {
                assert!(cat.iter().any(|c| c.sku == l.sku), "{}", l.sku);
            }
        }
        assert!(orders.iter().any(|o| o.flag == Flag::Yellow));
        assert!(orders.iter().any(|o| o.flag == Flag::Red));
    }
}
