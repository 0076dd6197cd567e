//! The business day and its close, driven as a store uses them: open,
//! activate, sell, prepare, cancel or commit, open the next day.

use serde_json::json;
use tombola_core::lottery::{
    BinNumber, BusinessDate, Cents, CloseError, Count, Day, DayError, DayStatus, Displace,
    DisplaceAction, Game, GameCode, GameSpec, GameStatus, Numbering, Opening, Pack, PackKey,
    PackNumber, PackStatus, PreparedClose, Reading, ReadingRole, SalesError, Serial, Variance,
    VarianceKind,
};

fn game(code: u32, numbering: Numbering) -> Game {
    Game::new(GameSpec {
        code: GameCode::new(code).unwrap(),
        name: format!("Game {code}"),
        price: Cents::new(500),
        pack_value: Cents::new(15_000),
        tickets_per_pack: 30,
        numbering,
        status: GameStatus::Active,
    })
    .unwrap()
}

fn key(game: u32, number: u32) -> PackKey {
    PackKey {
        game: GameCode::new(game).unwrap(),
        number: PackNumber::new(number).unwrap(),
    }
}

fn bin(number: u32) -> BinNumber {
    BinNumber::new(number).unwrap()
}

fn date(text: &str) -> BusinessDate {
    text.parse().unwrap()
}

fn next(serial: u32) -> Reading {
    Reading::Next(Serial::new(serial))
}

fn count(pack: &Pack, reading: Reading) -> Count {
    Count {
        pack: pack.key(),
        reading,
    }
}

/// A store with an open day and two active packs: an ascending one in bin
/// 1 and a descending one in bin 2, both at their first ticket.
struct Store {
    day: Day,
    up: Pack,
    down: Pack,
}

fn store() -> Store {
    let day = Day::open(date("2025-06-02"), []).unwrap();
    let up = Pack::receive(&game(50, Numbering::Ascending), key(50, 1), [])
        .unwrap()
        .activate(bin(1), None, [], None)
        .unwrap()
        .activated;
    let down = Pack::receive(&game(60, Numbering::Descending), key(60, 1), [])
        .unwrap()
        .activate(bin(2), None, [&up], None)
        .unwrap()
        .activated;
    let day = day.with_activation(&up).unwrap();
    let day = day.with_activation(&down).unwrap();
    Store { day, up, down }
}

#[test]
fn activations_record_the_opening_serials() {
    let store = store();
    assert_eq!(
        store.day.openings(),
        [
            Opening {
                pack: key(50, 1),
                bin: bin(1),
                reading: next(0)
            },
            Opening {
                pack: key(60, 1),
                bin: bin(2),
                reading: next(29)
            },
        ]
    );
}

#[test]
fn a_close_counts_sales_per_pack_and_bin_with_totals() {
    let Store { day, up, down } = store();
    let counts = [count(&up, next(12)), count(&down, next(19))];
    let pending = day.prepare([&up, &down], &counts).unwrap();
    assert_eq!(pending.status(), DayStatus::PendingClose);
    let close = pending.prepared().unwrap();
    let sold: Vec<(u16, u32, u64)> = close
        .lines()
        .iter()
        .map(|line| (line.bin.get(), line.tickets, line.amount.get()))
        .collect();
    assert_eq!(sold, [(1, 12, 6_000), (2, 10, 5_000)]);
    let bins: Vec<(u16, u64, u64)> = close
        .bins()
        .iter()
        .map(|total| (total.bin.get(), total.tickets, total.amount.get()))
        .collect();
    assert_eq!(bins, [(1, 12, 6_000), (2, 10, 5_000)]);
    assert_eq!((close.tickets(), close.amount()), (22, Cents::new(11_000)));
    assert_eq!(close.variances(), []);
    assert_eq!(close.date(), date("2025-06-02"));
}

#[test]
fn committing_carries_the_closing_serials_into_the_next_day() {
    let Store { day, up, down } = store();
    let counts = [count(&up, next(12)), count(&down, next(19))];
    let closed = day
        .prepare([&up, &down], &counts)
        .unwrap()
        .commit()
        .unwrap();
    assert_eq!(closed.status(), DayStatus::Closed);
    let tuesday = Day::open(date("2025-06-03"), [&closed]).unwrap();
    assert_eq!(
        tuesday.openings(),
        [
            Opening {
                pack: key(50, 1),
                bin: bin(1),
                reading: next(12)
            },
            Opening {
                pack: key(60, 1),
                bin: bin(2),
                reading: next(19)
            },
        ]
    );
    // Tuesday sells from where Monday stopped.
    let counts = [count(&up, next(20)), count(&down, next(19))];
    let close = tuesday.prepare([&up, &down], &counts).unwrap();
    assert_eq!(close.prepared().unwrap().tickets(), 8);
}

#[test]
fn the_next_day_opens_from_the_latest_close_whatever_the_order_given() {
    let Store { day, up, down } = store();
    let monday = day
        .prepare([&up, &down], &[count(&up, next(5)), count(&down, next(29))])
        .unwrap()
        .commit()
        .unwrap();
    let tuesday = Day::open(date("2025-06-03"), [&monday])
        .unwrap()
        .prepare([&up, &down], &[count(&up, next(9)), count(&down, next(29))])
        .unwrap()
        .commit()
        .unwrap();
    let wednesday = Day::open(date("2025-06-04"), [&tuesday, &monday]).unwrap();
    assert_eq!(wednesday.openings()[0].reading, next(9));
}

#[test]
fn cancelling_reopens_the_day_and_a_new_count_replaces_the_old() {
    let Store { day, up, down } = store();
    let first = day
        .prepare(
            [&up, &down],
            &[count(&up, next(12)), count(&down, next(19))],
        )
        .unwrap();
    let reopened = first.cancel().unwrap();
    assert_eq!(reopened, day);
    let second = reopened
        .prepare(
            [&up, &down],
            &[count(&up, next(14)), count(&down, next(19))],
        )
        .unwrap();
    assert_eq!(second.prepared().unwrap().tickets(), 24);
}

#[test]
fn a_prepared_close_survives_a_restart() {
    let Store { day, up, down } = store();
    let pending = day
        .prepare(
            [&up, &down],
            &[count(&up, next(12)), count(&down, next(19))],
        )
        .unwrap();
    let stored = serde_json::to_string(&pending).unwrap();
    let restored: Day = serde_json::from_str(&stored).unwrap();
    assert_eq!(restored, pending);
    assert_eq!(restored.commit().unwrap(), pending.commit().unwrap());
    let json: serde_json::Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(json["status"], "PENDING_CLOSE");
    assert_eq!(json["close"]["amount"], 11_000);
}

#[test]
fn one_open_day_per_store() {
    let Store { day, up, down } = store();
    assert_eq!(
        Day::open(date("2025-06-03"), [&day]),
        Err(DayError::NotClosed {
            date: date("2025-06-02"),
            status: DayStatus::Open
        })
    );
    let pending = day
        .prepare([&up, &down], &[count(&up, next(1)), count(&down, next(29))])
        .unwrap();
    let error = Day::open(date("2025-06-03"), [&pending]).unwrap_err();
    assert_eq!(
        error,
        DayError::NotClosed {
            date: date("2025-06-02"),
            status: DayStatus::PendingClose
        }
    );
    assert_eq!(
        error.to_string(),
        "day: 2025-06-02 is PENDING_CLOSE; close it before opening another"
    );
}

#[test]
fn a_new_day_comes_after_every_other() {
    let closed = Day::open(date("2025-06-02"), [])
        .unwrap()
        .prepare([], &[])
        .unwrap()
        .commit()
        .unwrap();
    for text in ["2025-06-02", "2025-06-01"] {
        assert_eq!(
            Day::open(date(text), [&closed]),
            Err(DayError::DateNotAfter {
                date: date(text),
                latest: date("2025-06-02")
            })
        );
    }
    assert!(Day::open(date("2025-06-03"), [&closed]).is_ok());
}

#[test]
fn day_transitions_out_of_order_are_refused() {
    let Store { day, up, down } = store();
    let transition = |from, to| DayError::Transition {
        date: date("2025-06-02"),
        from,
        to,
    };
    assert_eq!(
        day.cancel(),
        Err(transition(DayStatus::Open, DayStatus::Open))
    );
    assert_eq!(
        day.commit(),
        Err(transition(DayStatus::Open, DayStatus::Closed))
    );
    let pending = day
        .prepare([&up, &down], &[count(&up, next(1)), count(&down, next(29))])
        .unwrap();
    assert_eq!(
        pending.prepare([&up, &down], &[]),
        Err(transition(DayStatus::PendingClose, DayStatus::PendingClose))
    );
    let closed = pending.commit().unwrap();
    assert_eq!(
        closed.commit(),
        Err(transition(DayStatus::Closed, DayStatus::Closed))
    );
    assert_eq!(
        closed.cancel(),
        Err(transition(DayStatus::Closed, DayStatus::Open))
    );
    assert_eq!(
        closed.prepare([], &[]),
        Err(transition(DayStatus::Closed, DayStatus::PendingClose))
    );
}

#[test]
fn packs_change_only_while_the_day_is_open() {
    let Store { day, up, down } = store();
    assert_eq!(day.check_open(), Ok(()));
    let pending = day
        .prepare([&up, &down], &[count(&up, next(1)), count(&down, next(29))])
        .unwrap();
    let refused = DayError::NotOpen {
        date: date("2025-06-02"),
        status: DayStatus::PendingClose,
    };
    assert_eq!(pending.check_open(), Err(refused.clone()));
    let late = Pack::receive(&game(50, Numbering::Ascending), key(50, 2), [])
        .unwrap()
        .activate(bin(3), None, [], None)
        .unwrap()
        .activated;
    assert_eq!(pending.with_activation(&late), Err(refused));
    let closed = pending.commit().unwrap();
    assert_eq!(
        closed.check_open(),
        Err(DayError::NotOpen {
            date: date("2025-06-02"),
            status: DayStatus::Closed
        })
    );
}

#[test]
fn an_activation_is_recorded_once_and_only_for_an_active_pack() {
    let Store { day, up, .. } = store();
    assert_eq!(
        day.with_activation(&up),
        Err(DayError::AlreadyOpened { pack: key(50, 1) })
    );
    let stock = Pack::receive(&game(50, Numbering::Ascending), key(50, 2), []).unwrap();
    assert_eq!(
        day.with_activation(&stock),
        Err(DayError::NotActive {
            pack: key(50, 2),
            status: PackStatus::Received
        })
    );
}

#[test]
fn every_active_pack_needs_a_count() {
    let Store { day, up, down } = store();
    assert_eq!(
        day.prepare([&up, &down], &[count(&up, next(3))]),
        Err(DayError::Close(CloseError::MissingCount {
            pack: key(60, 1),
            bin: bin(2)
        }))
    );
}

#[test]
fn counts_must_match_the_packs_of_the_day() {
    let Store { day, up, down } = store();
    let stranger = Count {
        pack: key(70, 1),
        reading: next(0),
    };
    assert_eq!(
        day.prepare(
            [&up, &down],
            &[count(&up, next(3)), count(&down, next(3)), stranger]
        ),
        Err(DayError::Close(CloseError::UnexpectedCount {
            pack: key(70, 1)
        }))
    );
    assert_eq!(
        day.prepare(
            [&up, &down],
            &[
                count(&up, next(3)),
                count(&down, next(3)),
                count(&up, next(4))
            ]
        ),
        Err(DayError::Close(CloseError::DuplicateCount {
            pack: key(50, 1)
        }))
    );
}

#[test]
fn a_count_outside_the_pack_is_an_error() {
    let Store { day, up, down } = store();
    let error = day
        .prepare([&up, &down], &[count(&up, next(30)), count(&down, next(3))])
        .unwrap_err();
    assert_eq!(
        error,
        DayError::Close(CloseError::Serial {
            pack: key(50, 1),
            source: SalesError::OutsidePack {
                role: ReadingRole::Closing,
                serial: Serial::new(30),
                tickets: 30
            }
        })
    );
    assert_eq!(
        error.to_string(),
        "counts: pack 050-1: closing serial: ticket 30 is not in a pack of 30 tickets (0 to 29)"
    );
}

#[test]
fn the_packs_given_must_match_the_openings() {
    let Store { day, up, down } = store();
    let counts = [count(&up, next(3)), count(&down, next(3))];
    assert_eq!(
        day.prepare([&up], &counts[..1]),
        Err(DayError::Close(CloseError::MissingPack {
            pack: key(60, 1)
        }))
    );
    let unrecorded = Pack::receive(&game(50, Numbering::Ascending), key(50, 2), [])
        .unwrap()
        .activate(bin(3), None, [], None)
        .unwrap()
        .activated;
    assert_eq!(
        day.prepare([&up, &down, &unrecorded], &counts),
        Err(DayError::Close(CloseError::NotInDay { pack: key(50, 2) }))
    );
    // Packs in stock, or closed out on an earlier day, are ignored.
    let stock = Pack::receive(&game(50, Numbering::Ascending), key(50, 3), []).unwrap();
    assert!(day.prepare([&up, &down, &stock], &counts).is_ok());
}

#[test]
fn a_stored_opening_for_a_pack_back_in_stock_is_refused() {
    let Store { day, up, .. } = store();
    let mut json = serde_json::to_value(&day).unwrap();
    json["openings"][1]["pack"] = json!({"game": "050", "number": 9});
    let day: Day = serde_json::from_value(json).unwrap();
    let stock = Pack::receive(&game(50, Numbering::Ascending), key(50, 9), []).unwrap();
    assert_eq!(
        day.prepare([&up, &stock], &[count(&up, next(1))]),
        Err(DayError::Close(CloseError::NotOnCounter {
            pack: key(50, 9),
            status: PackStatus::Received
        }))
    );
}

#[test]
fn a_pack_settled_during_the_day_counts_through_its_last_ticket() {
    let Store { day, up, down } = store();
    let settled = up.settle().unwrap();
    let close = day
        .prepare([&settled, &down], &[count(&down, next(29))])
        .unwrap();
    let close = close.prepared().unwrap();
    assert_eq!(close.lines()[0].tickets, 30);
    assert_eq!(close.lines()[0].closing, Reading::SoldOut);
    assert_eq!(close.lines()[0].status, PackStatus::Settled);
    assert_eq!(close.amount(), Cents::new(15_000));
    // A settled pack is not carried into the next day.
    assert_eq!(close.carried().len(), 1);
    // Counting it sold out agrees with what is known.
    let agreed = day
        .prepare(
            [&settled, &down],
            &[count(&settled, Reading::SoldOut), count(&down, next(29))],
        )
        .unwrap();
    assert_eq!(agreed.prepared().unwrap().variances(), []);
}

#[test]
fn a_settled_pack_counted_with_tickets_left_is_a_variance() {
    let Store { day, up, down } = store();
    let settled = up.settle().unwrap();
    let pending = day
        .prepare(
            [&settled, &down],
            &[count(&settled, next(27)), count(&down, next(29))],
        )
        .unwrap();
    let close = pending.prepared().unwrap();
    assert_eq!(
        close.variances(),
        [Variance {
            pack: key(50, 1),
            bin: bin(1),
            kind: VarianceKind::TicketsLeftAfterSettle,
            known: Reading::SoldOut,
            counted: next(27),
            tickets: -3,
            amount: -1_500
        }]
    );
    // The sale is not adjusted: a settled pack is sold out.
    assert_eq!(close.lines()[0].tickets, 30);
}

#[test]
fn a_backwards_count_is_a_variance_and_the_pack_carries_the_count() {
    let Store { day, up, down } = store();
    let monday = day
        .prepare(
            [&up, &down],
            &[count(&up, next(12)), count(&down, next(19))],
        )
        .unwrap()
        .commit()
        .unwrap();
    let tuesday = Day::open(date("2025-06-03"), [&monday]).unwrap();
    // Fewer tickets gone than last night, on both packs.
    let pending = tuesday
        .prepare(
            [&up, &down],
            &[count(&up, next(10)), count(&down, next(21))],
        )
        .unwrap();
    let close = pending.prepared().unwrap();
    assert_eq!(close.tickets(), 0);
    assert_eq!(
        close.variances(),
        [
            Variance {
                pack: key(50, 1),
                bin: bin(1),
                kind: VarianceKind::Backwards,
                known: next(12),
                counted: next(10),
                tickets: -2,
                amount: -1_000
            },
            Variance {
                pack: key(60, 1),
                bin: bin(2),
                kind: VarianceKind::Backwards,
                known: next(19),
                counted: next(21),
                tickets: -2,
                amount: -1_000
            },
        ]
    );
    let wednesday = Day::open(date("2025-06-04"), [&monday, &pending.commit().unwrap()]).unwrap();
    assert_eq!(wednesday.openings()[0].reading, next(10));
    assert_eq!(wednesday.openings()[1].reading, next(21));
}

#[test]
fn a_returned_pack_sells_up_to_its_return_reading() {
    let Store { day, up, down } = store();
    let returned = down.return_to_distributor(Some(next(24))).unwrap();
    let pending = day
        .prepare([&up, &returned], &[count(&up, next(0))])
        .unwrap();
    let close = pending.prepared().unwrap();
    assert_eq!(close.lines()[1].tickets, 5);
    assert_eq!(close.lines()[1].status, PackStatus::Returned);
    assert_eq!(close.variances(), []);
    assert_eq!(close.carried().len(), 1);

    let differs = day
        .prepare(
            [&up, &returned],
            &[count(&up, next(0)), count(&returned, next(22))],
        )
        .unwrap();
    let close = differs.prepared().unwrap();
    assert_eq!(close.lines()[1].tickets, 5);
    assert_eq!(
        close.variances(),
        [Variance {
            pack: key(60, 1),
            bin: bin(2),
            kind: VarianceKind::DiffersFromReturn,
            known: next(24),
            counted: next(22),
            tickets: 2,
            amount: 1_000
        }]
    );
}

#[test]
fn a_return_reading_before_the_day_opened_is_a_variance() {
    let Store { day, up, down } = store();
    let monday = day
        .prepare(
            [&up, &down],
            &[count(&up, next(12)), count(&down, next(29))],
        )
        .unwrap()
        .commit()
        .unwrap();
    let tuesday = Day::open(date("2025-06-03"), [&monday]).unwrap();
    let returned = up.return_to_distributor(Some(next(8))).unwrap();
    let pending = tuesday
        .prepare([&returned, &down], &[count(&down, next(29))])
        .unwrap();
    let close = pending.prepared().unwrap();
    assert_eq!(close.lines()[0].tickets, 0);
    assert_eq!(
        close.variances(),
        [Variance {
            pack: key(50, 1),
            bin: bin(1),
            kind: VarianceKind::Backwards,
            known: next(12),
            counted: next(8),
            tickets: -4,
            amount: -2_000
        }]
    );
}

#[test]
fn a_pack_displaced_from_its_bin_closes_and_the_newcomer_opens() {
    let Store { day, up, down } = store();
    let newcomer = Pack::receive(&game(50, Numbering::Ascending), key(50, 2), []).unwrap();
    let choice = Displace {
        pack: up.key(),
        action: DisplaceAction::Settle,
    };
    let activation = newcomer
        .activate(bin(1), None, [&up, &down], Some(choice))
        .unwrap();
    let day = day.with_activation(&activation.activated).unwrap();
    let settled = activation.displaced.unwrap();
    let packs = [&settled, &down, &activation.activated];
    let pending = day
        .prepare(
            packs,
            &[
                count(&down, next(29)),
                count(&activation.activated, next(4)),
            ],
        )
        .unwrap();
    let close = pending.prepared().unwrap();
    assert_eq!(close.bins()[0].tickets, 34);
    assert_eq!(close.bins()[0].amount, Cents::new(17_000));
    assert_eq!(close.lines().len(), 3);
    assert_eq!(
        close.carried(),
        [
            Opening {
                pack: key(50, 2),
                bin: bin(1),
                reading: next(4)
            },
            Opening {
                pack: key(60, 1),
                bin: bin(2),
                reading: next(29)
            },
        ]
    );
}

fn pending_json() -> serde_json::Value {
    let Store { day, up, down } = store();
    let settled = up.settle().unwrap();
    let pending = day
        .prepare(
            [&settled, &down],
            &[count(&settled, next(27)), count(&down, next(19))],
        )
        .unwrap();
    serde_json::to_value(pending).unwrap()
}

fn refused(json: serde_json::Value) -> String {
    serde_json::from_value::<Day>(json).unwrap_err().to_string()
}

#[test]
fn a_stored_close_whose_figures_do_not_follow_is_refused() {
    assert!(serde_json::from_value::<Day>(pending_json()).is_ok());

    let mut json = pending_json();
    json["close"]["lines"][1]["tickets"] = 11.into();
    assert_eq!(
        refused(json),
        "tickets: does not follow from the serials of pack 060-1"
    );

    let mut json = pending_json();
    json["close"]["lines"][1]["amount"] = 5_001.into();
    assert_eq!(
        refused(json),
        "amount: does not follow from the serials of pack 060-1"
    );

    let mut json = pending_json();
    json["close"]["lines"][1]["closing"] = json!({"next": 30});
    assert_eq!(
        refused(json),
        "lines: does not follow from the serials of pack 060-1"
    );

    let mut json = pending_json();
    json["close"]["bins"][0]["tickets"] = 29.into();
    assert_eq!(refused(json), "bins: does not follow from the serials");

    let mut json = pending_json();
    json["close"]["amount"] = 1.into();
    assert_eq!(refused(json), "totals: does not follow from the serials");

    let mut json = pending_json();
    json["close"]["variances"][0]["amount"] = 0.into();
    assert_eq!(
        refused(json),
        "variances: does not follow from the serials of pack 050-1"
    );

    let mut json = pending_json();
    json["close"]["variances"][0]["pack"]["number"] = 7.into();
    assert_eq!(
        refused(json),
        "variances: does not follow from the serials of pack 050-7"
    );
}

#[test]
fn a_stored_close_keeps_one_ordered_line_per_pack() {
    let mut json = pending_json();
    let first = json["close"]["lines"][0].clone();
    json["close"]["lines"][1] = first;
    assert_eq!(
        refused(json),
        "lines: does not follow from the serials of pack 050-1"
    );

    let mut json = pending_json();
    let lines = json["close"]["lines"].as_array_mut().unwrap();
    lines.swap(0, 1);
    assert_eq!(refused(json), "lines: does not follow from the serials");
}

#[test]
fn a_stored_day_is_checked_against_its_close() {
    let mut json = pending_json();
    json["date"] = "2025-06-03".into();
    assert_eq!(
        refused(json),
        "close: is for 2025-06-02, not for the day 2025-06-03"
    );

    let mut json = pending_json();
    let first = json["openings"][0].clone();
    json["openings"][1] = first;
    assert_eq!(
        refused(json),
        "pack: 050-1 already has an opening serial this day"
    );
}

#[test]
fn an_empty_close_reads_back() {
    let close: PreparedClose = serde_json::from_value(json!({
        "date": "2025-06-02", "lines": [], "bins": [], "tickets": 0, "amount": 0,
        "variances": []
    }))
    .unwrap();
    assert_eq!(close.amount(), Cents::ZERO);
    assert_eq!(close.carried(), []);
}

#[test]
fn packs_change_only_within_an_open_day() {
    use tombola_core::lottery::open_day;
    assert_eq!(open_day(None).unwrap_err(), DayError::NoOpenDay);
    let store = store();
    assert_eq!(open_day(Some(&store.day)).unwrap(), &store.day);
    let counts = [count(&store.up, next(3)), count(&store.down, next(20))];
    let pending = store
        .day
        .prepare([&store.up, &store.down], &counts)
        .unwrap();
    assert_eq!(
        open_day(Some(&pending)).unwrap_err(),
        DayError::NotOpen {
            date: date("2025-06-02"),
            status: DayStatus::PendingClose
        }
    );
    let closed = pending.commit().unwrap();
    assert_eq!(open_day(Some(&closed)).unwrap_err(), DayError::NoOpenDay);
}
