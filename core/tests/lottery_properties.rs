//! Invariants of the lottery rules over random packs, days and barcodes:
//! a pack's days add up to its value whatever the split, variances account
//! for every backwards count, barcodes round-trip through any layout, and
//! the retry schedule stays within its bounds.
//!
//! proptest is a host-only dev-dependency.
#![cfg(not(target_arch = "wasm32"))]

use std::time::Duration;

use proptest::prelude::*;
use tombola_core::lottery::{
    Barcode, BarcodeLayout, BinNumber, BusinessDate, Cents, Count, Day, Game, GameCode, GameSpec,
    GameStatus, LayoutRecord, MAX_DELAY, Numbering, Pack, PackKey, PackNumber, PackTerms,
    ReadingRole, SalesError, Serial, Span, VarianceKind, base_delay, retry_delay, sold_between,
};

fn numbering() -> impl Strategy<Value = Numbering> {
    prop_oneof![Just(Numbering::Ascending), Just(Numbering::Descending)]
}

fn terms() -> impl Strategy<Value = PackTerms> {
    (1u32..=300, 1u64..=10_000, numbering()).prop_map(|(tickets, price, numbering)| {
        PackTerms::new(tickets, Cents::new(price), numbering).unwrap()
    })
}

fn game(terms: PackTerms) -> Game {
    Game::new(GameSpec {
        code: GameCode::new(123).unwrap(),
        name: "Property".into(),
        price: terms.price(),
        pack_value: terms.value(),
        tickets_per_pack: terms.tickets(),
        numbering: terms.numbering(),
        status: GameStatus::Active,
    })
    .unwrap()
}

// The `index`th day from 2025-01-01, for up to 336 days.
fn date(index: usize) -> BusinessDate {
    BusinessDate::new(2025, 1 + (index / 28) as u8, 1 + (index % 28) as u8).unwrap()
}

/// Drives one pack through its whole life: activated on the first day,
/// counted at `sold[i]` tickets gone at the end of day `i`, settled on the
/// day after the last count. Returns every committed day.
fn live(terms: PackTerms, sold: &[u32]) -> Vec<Day> {
    let game = game(terms);
    let key = PackKey {
        game: game.code(),
        number: PackNumber::new(42).unwrap(),
    };
    let pack = Pack::receive(&game, key, [])
        .unwrap()
        .activate(BinNumber::new(1).unwrap(), None, [], None)
        .unwrap()
        .activated;
    let mut days: Vec<Day> = Vec::new();
    let mut day = Day::open(date(0), &days)
        .unwrap()
        .with_activation(&pack)
        .unwrap();
    for (index, &sold) in sold.iter().enumerate() {
        let count = Count {
            pack: key,
            reading: terms.reading_after(sold).unwrap(),
        };
        days.push(day.prepare([&pack], &[count]).unwrap().commit().unwrap());
        day = Day::open(date(index + 1), &days).unwrap();
    }
    let settled = pack.settle().unwrap();
    days.push(day.prepare([&settled], &[]).unwrap().commit().unwrap());
    days
}

fn layout() -> impl Strategy<Value = BarcodeLayout> {
    let order = Just([0usize, 1, 2]).prop_shuffle();
    (3u8..=4, 1u8..=9, 1u8..=4, order, 0u8..=10).prop_map(
        |(game, pack, ticket, order, validation)| {
            let widths = [game, pack, ticket];
            let mut offsets = [0u8; 3];
            let mut at = 0;
            for field in order {
                offsets[field] = at;
                at += widths[field];
            }
            let span = |field: usize| Span {
                offset: offsets[field],
                width: widths[field],
            };
            BarcodeLayout::new(LayoutRecord {
                name: "random".into(),
                game: span(0),
                pack: span(1),
                ticket: span(2),
                length: at + validation,
            })
            .unwrap()
        },
    )
}

fn fitting(layout: &BarcodeLayout) -> impl Strategy<Value = Barcode> + use<> {
    let limit = |field| {
        let width = layout.span(field).unwrap().width;
        10u32.pow(u32::from(width)) - 1
    };
    use tombola_core::lottery::BarcodeField::{Game, Pack, Ticket};
    (0..=limit(Game), 0..=limit(Pack), 0..=limit(Ticket)).prop_map(|(game, pack, ticket)| Barcode {
        game: GameCode::new(game).unwrap(),
        pack: PackNumber::new(pack).unwrap(),
        ticket: Serial::new(ticket),
    })
}

proptest! {
    #[test]
    fn a_packs_days_add_up_to_its_value_whatever_the_split(
        (terms, mut sold) in terms().prop_flat_map(|terms| {
            (Just(terms), prop::collection::vec(0..=terms.tickets(), 0..20))
        }),
    ) {
        sold.sort_unstable();
        let days = live(terms, &sold);
        let closes: Vec<_> = days.iter().map(|day| day.prepared().unwrap()).collect();
        let amount: u64 = closes.iter().map(|close| close.amount().get()).sum();
        let tickets: u64 = closes.iter().map(|close| close.tickets()).sum();
        prop_assert_eq!(Cents::new(amount), terms.value());
        prop_assert_eq!(tickets, u64::from(terms.tickets()));
        prop_assert!(closes.iter().all(|close| close.variances().is_empty()));
        prop_assert_eq!(days.len(), sold.len() + 1);
    }

    #[test]
    fn variances_account_for_every_backwards_count(
        (terms, sold) in terms().prop_flat_map(|terms| {
            (Just(terms), prop::collection::vec(0..=terms.tickets(), 0..20))
        }),
    ) {
        let days = live(terms, &sold);
        let mut net = 0i64;
        for day in &days {
            let close = day.prepared().unwrap();
            net += close.tickets() as i64;
            for variance in close.variances() {
                prop_assert_eq!(variance.kind, VarianceKind::Backwards);
                prop_assert!(variance.tickets < 0);
                net += variance.tickets;
            }
        }
        prop_assert_eq!(net, i64::from(terms.tickets()));
        let backwards = sold
            .windows(2)
            .filter(|pair| pair[1] < pair[0])
            .count();
        let variances: usize = days
            .iter()
            .map(|day| day.prepared().unwrap().variances().len())
            .sum();
        prop_assert_eq!(variances, backwards);
    }

    #[test]
    fn sales_are_the_distance_between_readings(
        (terms, a, b) in terms().prop_flat_map(|terms| {
            (Just(terms), 0..=terms.tickets(), 0..=terms.tickets())
        }),
    ) {
        let (from, to) = (terms.reading_after(a).unwrap(), terms.reading_after(b).unwrap());
        match sold_between(&terms, from, to) {
            Ok(sale) => {
                prop_assert!(a <= b);
                prop_assert_eq!(sale.tickets(), b - a);
                prop_assert_eq!(sale.amount().get(), u64::from(b - a) * terms.price().get());
            }
            Err(error) => {
                prop_assert!(b < a);
                prop_assert_eq!(error, SalesError::Backwards { opening: from, closing: to });
            }
        }
        prop_assert_eq!(terms.sold_at(to, ReadingRole::Closing), Ok(b));
    }

    #[test]
    fn barcodes_round_trip_through_any_layout(
        (layout, barcode, validation) in layout().prop_flat_map(|layout| {
            let extra = layout.length() - layout.fields_length();
            let barcode = fitting(&layout);
            (Just(layout), barcode, prop::collection::vec(0u8..=9, extra))
        }),
    ) {
        let short = layout.format(&barcode).unwrap();
        prop_assert_eq!(layout.parse(&short), Ok(barcode));
        let digits: String = validation.iter().map(|digit| char::from(b'0' + digit)).collect();
        let full = format!("{short} {digits}");
        prop_assert_eq!(layout.parse(&full), Ok(barcode));
        prop_assert_eq!(full.bytes().filter(u8::is_ascii_digit).count(), layout.length());
    }

    #[test]
    fn reading_any_text_never_panics_and_what_reads_formats_back(text in "\\PC{0,40}") {
        for layout in BarcodeLayout::defaults() {
            if let Ok(barcode) = layout.parse(&text) {
                let formatted = layout.format(&barcode).unwrap();
                prop_assert_eq!(layout.parse(&formatted), Ok(barcode));
            }
        }
    }

    #[test]
    fn retry_delays_stay_within_the_schedule(
        failures in 0u32..64,
        random in any::<u64>(),
        retry_after in prop::option::of(0u64..100_000),
    ) {
        let base = base_delay(failures);
        prop_assert!(base <= MAX_DELAY);
        let plain = retry_delay(failures, random, None);
        prop_assert!(plain <= base && plain >= base / 2, "{plain:?} for base {base:?}");
        if let Some(seconds) = retry_after {
            let floor = Duration::from_secs(seconds);
            let delay = retry_delay(failures, random, Some(floor));
            prop_assert_eq!(delay, plain.max(floor));
        }
    }
}
