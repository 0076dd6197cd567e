//! What each refusal of the core is told, as `application/problem+json`
//! through [`ApiError`]. Every 4xx names the request field at fault.

use tombola_core::lottery::{
    BarcodeError, BinError, CloseError, Count, DateError, DayError, GameError, LayoutError,
    PackError,
};
use tombola_edge::error::ApiError;

use crate::db::bad_row;

fn with_field(mut error: ApiError, field: &str) -> ApiError {
    error.field = Some(field.into());
    error
}

fn conflict(code: &'static str, field: &str, detail: String) -> ApiError {
    with_field(ApiError::conflict(code, detail), field)
}

/// 404 for a thing the store does not have, naming the field that named it.
pub fn not_found(code: &'static str, title: &'static str, field: &str, detail: String) -> ApiError {
    with_field(ApiError::not_found(code, title, detail), field)
}

/// A game, or its terms, refused.
pub fn game(error: GameError) -> ApiError {
    let field = match error {
        GameError::Code(_) => "code",
        GameError::NameEmpty | GameError::NameTooLong | GameError::NameControl { .. } => "name",
        GameError::Price { .. } => "price",
        GameError::TicketsPerPack { .. } => "tickets_per_pack",
        GameError::PackValue { .. } => "pack_value",
    };
    ApiError::bad_request(field, error.to_string())
}

/// A barcode that does not read through the store's layout: 400 on
/// `field`, with the barcode's part at fault and the position.
pub fn barcode(field: &str, error: BarcodeError) -> ApiError {
    let detail = format!("{field}: {error}");
    match error {
        BarcodeError::Empty => ApiError::bad_request(field, detail),
        BarcodeError::InvalidChar {
            field: part, at, ..
        }
        | BarcodeError::TooShort {
            field: part, at, ..
        } => ApiError::bad_request(field, detail)
            .with("part", part)
            .with("position", at),
        BarcodeError::TooLong { at, .. } => ApiError::bad_request(field, detail)
            .with("part", "validation")
            .with("position", at),
        BarcodeError::DoesNotFit { field: part, .. } => {
            ApiError::bad_request(field, detail).with("part", part)
        }
    }
}

/// The `barcode_layout` setting does not name or describe a layout.
pub fn layout(error: LayoutError) -> ApiError {
    tracing::error!(%error, "barcode_layout is not a layout");
    ApiError::not_configured(format!(
        "the barcode_layout variable is not a layout: {error}"
    ))
}

/// A bin number or a request for bins refused.
pub fn bin(field: &str, error: BinError) -> ApiError {
    let field = match error {
        BinError::OutOfRange { .. } => field,
        BinError::NoBins | BinError::TooMany { .. } => "count",
    };
    ApiError::bad_request(field, error.to_string())
}

/// A business date that does not read.
pub fn date(field: &str, error: DateError) -> ApiError {
    ApiError::bad_request(field, format!("{field}: {error}"))
}

/// A pack operation refused. `reading_field` is where the request put the
/// serial a [`PackError::Serial`] is about.
pub fn pack(error: PackError, reading_field: &str) -> ApiError {
    let detail = error.to_string();
    match error {
        PackError::NumberTooLarge { .. } => ApiError::bad_request("number", detail),
        PackError::GameMismatch { .. } => ApiError::bad_request("game", detail),
        PackError::Duplicate { pack } => {
            conflict("pack-exists", "number", detail).with("pack", pack)
        }
        PackError::GameInactive { .. } => conflict("game-inactive", "game", detail),
        PackError::Transition { from, to, .. } => conflict("pack-transition", "status", detail)
            .with("from", from)
            .with("to", to),
        PackError::BinOccupied { occupant, .. } => {
            conflict("bin-occupied", "bin", detail).with("occupant", occupant)
        }
        PackError::OccupantChanged { found, .. } => {
            conflict("occupant-changed", "displace.pack", detail).with("occupant", found)
        }
        PackError::Serial { .. }
        | PackError::ReadingRequired { .. }
        | PackError::ReadingNotActivated { .. } => ApiError::bad_request(reading_field, detail),
    }
}

/// A day operation refused. `counts` are the closing counts given, so a
/// count at fault is named by its index.
pub fn day(error: DayError, counts: &[Count]) -> ApiError {
    let detail = error.to_string();
    let count_field = |pack| {
        counts
            .iter()
            .position(|count| count.pack == pack)
            .map_or("counts".to_owned(), |index| format!("counts[{index}]"))
    };
    match error {
        DayError::NotClosed { date, status } => conflict("day-not-closed", "date", detail)
            .with("open_day", date)
            .with("day_status", status),
        DayError::DateNotAfter { latest, .. } => {
            conflict("date-not-after", "date", detail).with("latest", latest)
        }
        DayError::Transition { from, to, .. } => conflict("day-transition", "status", detail)
            .with("from", from)
            .with("to", to),
        DayError::NoOpenDay => conflict("no-open-day", "day", detail),
        DayError::NotOpen { status, .. } => {
            conflict("day-not-open", "day", detail).with("day_status", status)
        }
        DayError::Close(CloseError::MissingCount { pack, .. }) => {
            ApiError::bad_request("counts", detail).with("pack", pack)
        }
        DayError::Close(CloseError::UnexpectedCount { pack })
        | DayError::Close(CloseError::DuplicateCount { pack })
        | DayError::Close(CloseError::Serial { pack, .. }) => {
            ApiError::bad_request(&count_field(pack), detail).with("pack", pack)
        }
        DayError::Close(CloseError::Inconsistent { .. }) | DayError::CloseDate { .. } => {
            ApiError::unrecoverable("days", &detail)
        }
        DayError::NotActive { .. }
        | DayError::AlreadyOpened { .. }
        | DayError::Close(CloseError::MissingPack { .. })
        | DayError::Close(CloseError::NotInDay { .. })
        | DayError::Close(CloseError::NotOnCounter { .. }) => bad_row("day and packs", detail),
    }
}

#[cfg(test)]
mod tests {
    use tombola_core::lottery::{
        BarcodeField, BinNumber, GameCode, PackKey, PackNumber, PackStatus,
    };

    use super::*;

    fn key() -> PackKey {
        PackKey {
            game: GameCode::new(50).unwrap(),
            number: PackNumber::new(7).unwrap(),
        }
    }

    #[test]
    fn barcodes_name_the_part_and_position() {
        let error = barcode(
            "barcode",
            BarcodeError::InvalidChar {
                field: BarcodeField::Pack,
                at: 6,
                found: 'X',
            },
        );
        assert_eq!(
            (error.status, error.field.as_deref()),
            (400, Some("barcode"))
        );
        assert_eq!(error.extra["part"], "pack");
        assert_eq!(error.extra["position"], 6);
    }

    #[test]
    fn conflicts_with_the_store_are_409s_naming_the_field() {
        let occupied = pack(
            PackError::BinOccupied {
                bin: BinNumber::new(3).unwrap(),
                occupant: key(),
            },
            "reading",
        );
        assert_eq!(
            (occupied.status, occupied.code, occupied.field.as_deref()),
            (409, "bin-occupied", Some("bin"))
        );
        let transition = pack(
            PackError::Transition {
                pack: key(),
                from: PackStatus::Settled,
                to: PackStatus::Returned,
            },
            "reading",
        );
        assert_eq!(
            (transition.status, transition.field.as_deref()),
            (409, Some("status"))
        );
        let duplicate = pack(PackError::Duplicate { pack: key() }, "reading");
        assert_eq!((duplicate.status, duplicate.code), (409, "pack-exists"));
    }

    #[test]
    fn a_count_at_fault_is_named_by_its_index() {
        let other = PackKey {
            number: PackNumber::new(8).unwrap(),
            ..key()
        };
        let counts = [
            Count {
                pack: other,
                reading: tombola_core::lottery::Reading::SoldOut,
            },
            Count {
                pack: key(),
                reading: tombola_core::lottery::Reading::SoldOut,
            },
        ];
        let error = day(
            DayError::Close(CloseError::DuplicateCount { pack: key() }),
            &counts,
        );
        assert_eq!(
            (error.status, error.field.as_deref()),
            (400, Some("counts[1]"))
        );
        assert_eq!(day(DayError::NoOpenDay, &[]).status, 409);
    }

    #[test]
    fn game_errors_name_their_field() {
        assert_eq!(game(GameError::NameEmpty).field.as_deref(), Some("name"));
        assert_eq!(
            game(GameError::TicketsPerPack { found: 0 })
                .field
                .as_deref(),
            Some("tickets_per_pack")
        );
    }
}
