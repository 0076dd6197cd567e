//! Who wins when the store's copy and the cloud's differ.
//!
//! - Games and bins: the cloud. A pull replaces the store's games and bins
//!   with the cloud's ([`apply_pull`]), and bins the store created on first
//!   setup are kept only where the cloud has no bin of that number
//!   ([`merge_store_bins`], which says which ones lost).
//! - Packs and day closes: the store. A pushed pack replaces the cloud's
//!   lifecycle for it ([`merge_pack`]) and a pushed close replaces the
//!   cloud's for that date ([`merge_close`]).
//! - The lottery's own settlement of a pack ([`LotterySettlement`]) is the
//!   cloud's: a store push never overwrites it, and it never overwrites the
//!   store's lifecycle.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::bin::BinNumber;
use super::close::PreparedClose;
use super::date::BusinessDate;
use super::money::Cents;
use super::pack::Pack;
use super::sync_pull::PullPage;

/// Lays a pull page of cloud-owned records (games, bins) over the store's
/// copy, keyed by `key`: each pulled record replaces the store's of the
/// same key, whatever it held, and a page that resets the pull clears the
/// store's copy first, so records the cloud no longer has go too.
pub fn apply_pull<K: Ord, T: Clone>(
    local: &mut BTreeMap<K, T>,
    page: &PullPage<T>,
    key: impl Fn(&T) -> K,
) {
    if page.reset {
        local.clear();
    }
    for change in &page.changes {
        local.insert(key(&change.record), change.record.clone());
    }
}

/// What became of the bins a store created locally and pushed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BinMerge {
    /// Numbers the cloud did not use: created in the cloud, in order.
    pub created: Vec<BinNumber>,
    /// Numbers the cloud already uses: the cloud's bin stands, the store's
    /// gives way and takes the cloud's on its next pull.
    pub cloud_kept: Vec<BinNumber>,
}

/// Merges bins pushed by the store into the numbers the cloud already
/// uses: the cloud wins every number it has. A number pushed twice is
/// created once.
pub fn merge_store_bins(cloud: &BTreeSet<BinNumber>, pushed: &[BinNumber]) -> BinMerge {
    let mut seen = BTreeSet::new();
    let mut merge = BinMerge::default();
    for number in pushed {
        if !seen.insert(*number) {
            continue;
        }
        if cloud.contains(number) {
            merge.cloud_kept.push(*number);
        } else {
            merge.created.push(*number);
        }
    }
    merge
}

/// The lottery's own settlement of a pack, as the lottery reports it to
/// the cloud: when and for how much. Cloud-owned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LotterySettlement {
    /// The date the lottery settled it.
    pub date: BusinessDate,
    /// The amount it settled for.
    pub amount: Cents,
}

/// The cloud's record of one of a store's packs: the store's pack, which
/// the store owns, beside the lottery's settlement, which the cloud owns.
/// Neither side's field is ever written from the other's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudPack {
    /// The pack and its lifecycle, as the store last pushed it.
    pub pack: Pack,
    /// The lottery's settlement, if it has reported one.
    pub settlement: Option<LotterySettlement>,
}

/// The cloud's pack after a store push of `pushed`: the store's lifecycle,
/// and whatever settlement the cloud had.
pub fn merge_pack(cloud: Option<&CloudPack>, pushed: Pack) -> CloudPack {
    CloudPack {
        pack: pushed,
        settlement: cloud.and_then(|held| held.settlement),
    }
}

/// The cloud's pack after the lottery reports its settlement: the
/// settlement recorded, the store's lifecycle untouched.
pub fn record_settlement(cloud: &CloudPack, settlement: LotterySettlement) -> CloudPack {
    CloudPack {
        pack: cloud.pack.clone(),
        settlement: Some(settlement),
    }
}

/// What a pushed day close did to the cloud's record of that date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CloseMerge {
    /// The cloud had no close for the date.
    Inserted,
    /// The cloud had a different close for it: the store's replaces it.
    Replaced,
    /// The cloud had this very close.
    Unchanged,
}

/// How a pushed close lands on the cloud's close for the same date (the
/// store wins), and so whether the cloud writes it.
///
/// Closes of different dates are different records: `cloud` must be the
/// cloud's close for `pushed.date()`, if any; one for another date counts
/// as none.
pub fn merge_close(cloud: Option<&PreparedClose>, pushed: &PreparedClose) -> CloseMerge {
    match cloud.filter(|held| held.date() == pushed.date()) {
        None => CloseMerge::Inserted,
        Some(held) if held == pushed => CloseMerge::Unchanged,
        Some(_) => CloseMerge::Replaced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lottery::game::{Game, GameCode, GameSpec, GameStatus, Numbering};
    use crate::lottery::pack::{PackKey, PackNumber, PackStatus};
    use crate::lottery::sync_pull::{Change, Cookie};
    use serde_json::json;

    fn bins(numbers: &[u32]) -> Vec<BinNumber> {
        numbers
            .iter()
            .map(|n| BinNumber::new(*n).unwrap())
            .collect()
    }

    fn game(code: u32, name: &str) -> Game {
        Game::new(GameSpec {
            code: GameCode::new(code).unwrap(),
            name: name.into(),
            price: Cents::new(500),
            pack_value: Cents::new(5000),
            tickets_per_pack: 10,
            numbering: Numbering::Ascending,
            status: GameStatus::Active,
        })
        .unwrap()
    }

    fn pack() -> Pack {
        let game = game(50, "Gold");
        let key = PackKey {
            game: game.code(),
            number: PackNumber::new(7).unwrap(),
        };
        Pack::receive(&game, key, []).unwrap()
    }

    // A close of `date` with one pack of ten tickets at $5, `sold` of them
    // sold that day.
    fn close(date: &str, sold: u64) -> PreparedClose {
        serde_json::from_value(json!({
            "date": date,
            "lines": [{
                "pack": {"game": "050", "number": 7}, "bin": 1,
                "terms": {"tickets_per_pack": 10, "price": 500, "numbering": "ascending"},
                "opening": {"next": 0}, "closing": {"next": sold}, "status": "ACTIVE",
                "tickets": sold, "amount": sold * 500
            }],
            "bins": [{"bin": 1, "tickets": sold, "amount": sold * 500}],
            "tickets": sold, "amount": sold * 500, "variances": []
        }))
        .unwrap()
    }

    fn settlement() -> LotterySettlement {
        LotterySettlement {
            date: BusinessDate::new(2025, 6, 3).unwrap(),
            amount: Cents::new(4500),
        }
    }

    fn page(reset: bool, games: &[Game]) -> PullPage<Game> {
        PullPage {
            reset,
            changes: games
                .iter()
                .map(|game| Change {
                    revision: 1,
                    record: game.clone(),
                })
                .collect(),
            cookie: Cookie::new(1),
            more: false,
        }
    }

    #[test]
    fn the_cloud_wins_games() {
        let mut local: BTreeMap<GameCode, Game> = [game(50, "Gold (old name)"), game(60, "Ruby")]
            .into_iter()
            .map(|game| (game.code(), game))
            .collect();
        let retired = game(50, "Gold").with_status(GameStatus::Inactive);
        apply_pull(
            &mut local,
            &page(false, &[retired.clone(), game(70, "Jade")]),
            Game::code,
        );
        assert_eq!(local.len(), 3);
        assert_eq!(local[&GameCode::new(50).unwrap()], retired);
        assert_eq!(local[&GameCode::new(60).unwrap()].name(), "Ruby");
        apply_pull(&mut local, &page(true, &[game(70, "Jade")]), Game::code);
        assert_eq!(
            local.keys().copied().collect::<Vec<_>>(),
            [GameCode::new(70).unwrap()]
        );
    }

    #[test]
    fn a_store_bin_whose_number_the_cloud_uses_gives_way() {
        let cloud: BTreeSet<BinNumber> = bins(&[1, 2, 5]).into_iter().collect();
        let merge = merge_store_bins(&cloud, &bins(&[4, 5, 1, 4, 9]));
        assert_eq!(merge.created, bins(&[4, 9]));
        assert_eq!(merge.cloud_kept, bins(&[5, 1]));
        assert_eq!(
            merge_store_bins(&BTreeSet::new(), &bins(&[3])).created,
            bins(&[3])
        );
    }

    #[test]
    fn a_pushed_pack_keeps_the_lotterys_settlement() {
        let received = pack();
        let active = received
            .activate(BinNumber::new(2).unwrap(), None, [], None)
            .unwrap()
            .activated;
        let cloud = record_settlement(&merge_pack(None, received.clone()), settlement());
        assert_eq!(cloud.settlement, Some(settlement()));
        // The lottery's settlement does not settle the store's pack.
        assert_eq!(cloud.pack.status(), PackStatus::Received);
        let pushed = merge_pack(Some(&cloud), active.clone());
        assert_eq!(pushed.pack, active);
        assert_eq!(pushed.settlement, Some(settlement()));
        assert_eq!(merge_pack(None, received).settlement, None);
    }

    #[test]
    fn the_store_wins_day_closes() {
        let pushed = close("2025-06-02", 4);
        assert_eq!(merge_close(None, &pushed), CloseMerge::Inserted);
        assert_eq!(
            merge_close(Some(&pushed.clone()), &pushed),
            CloseMerge::Unchanged
        );
        assert_eq!(
            merge_close(Some(&close("2025-06-02", 3)), &pushed),
            CloseMerge::Replaced
        );
        assert_eq!(
            merge_close(Some(&close("2025-06-01", 4)), &pushed),
            CloseMerge::Inserted
        );
    }
}
