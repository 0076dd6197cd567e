//! The store's lottery page as a clerk uses it: signing in, the counter,
//! receiving by scanner and by hand, activate, settle and return, the day
//! close across a reload, games, the sync panel (alone, and with a real
//! cloud going down and coming back), the keyboard and a phone.

use std::time::{Duration, Instant};

use anyhow::{Result, bail};
use serde_json::json;
use tombola_tests::lottery;
use tombola_tests::store::{STORE_TOKEN, StoreApp, StoreClient, TempDir};

use crate::chrome::Browser;

/// A scanner types the digits, then Enter.
const ENTER: &str = "\u{e007}";

async fn store_with_a_game(dir: &TempDir) -> Result<StoreApp> {
    let app = StoreApp::start(dir.path()).await?;
    app.call(
        "PUT",
        "/games/050",
        Some(
            json!({"name": "Cash Blast", "price": 500, "pack_value": 15000,
                    "tickets_per_pack": 30, "numbering": "ascending"}),
        ),
    )
    .await?
    .assert_status(201);
    Ok(app)
}

async fn sign_in(browser: &Browser, app: &StoreApp) -> Result<()> {
    browser
        .sign_in(
            &format!("http://{}/", app.addr),
            "That store token is wrong.",
            STORE_TOKEN,
        )
        .await?;
    Ok(())
}

/// Puts `pack` out into the empty bin `bin`, confirming, and waits for
/// the counter to show it there.
async fn activate(browser: &Browser, pack: &str, bin: u32) -> Result<()> {
    browser.choose("#activate-pack", pack).await?;
    browser
        .choose("#activate-bin", &format!("{bin} (empty)"))
        .await?;
    browser.click("#activate button[type=submit]").await?;
    browser
        .confirm(&format!("Pack {pack} goes out into bin {bin}."))
        .await?;
    browser
        .wait_text(&format!("#bins tr[data-bin='{bin}']"), pack)
        .await?;
    Ok(())
}

#[tokio::test]
async fn a_clerks_day_from_empty_store_to_committed_close() -> Result<()> {
    let dir = TempDir::new("browser-day")?;
    let app = store_with_a_game(&dir).await?;
    let browser = Browser::start().await?;
    sign_in(&browser, &app).await?;

    // Empty states: no bins, no day, nothing received.
    browser.wait_text("#no-bins", "No bins yet").await?;
    browser.wait_text("#no-day", "No day is open").await?;
    assert!(browser.shown("#no-received").await?);
    browser.screenshot("store-empty", "body").await?;
    browser.type_into("#bin-count", "4").await?;
    browser.click("#create-bins button").await?;
    browser.wait_text("#bins tbody", "4 Empty").await?;

    // A scan too short is refused next to the field, in a clerk's words.
    browser
        .type_into("#barcode", &format!("05000{ENTER}"))
        .await?;
    browser
        .wait_text(
            "#barcode-error",
            "That barcode could not be read (the pack number is not complete)",
        )
        .await?;
    assert!(!browser.shown("#parsed").await?);

    // A good scan shows what it read before anything is saved.
    browser
        .type_into("#barcode", &format!("050001234000{ENTER}"))
        .await?;
    browser
        .wait_text("#parsed-text", "Game 050 Cash Blast, pack 050-001234.")
        .await?;
    assert_eq!(browser.text("#barcode-error").await?, "");
    assert!(browser.shown("#no-received").await?);
    // The next key a scanner sends (Enter) would save: Save has the focus.
    assert_eq!(browser.focused().await?, "save-pack");
    browser.click("#save-pack").await?;
    browser
        .wait_text("#notice", "Pack 050-001234 received.")
        .await?;
    assert_eq!(browser.focused().await?, "barcode");
    browser
        .wait_text("#received", "050-001234 Cash Blast")
        .await?;

    // The same pack again: the store has it.
    browser
        .type_into("#barcode", &format!("050001234000{ENTER}"))
        .await?;
    browser
        .wait_text(
            "#parsed-text",
            "The store already has this pack (received).",
        )
        .await?;
    browser.click("#save-pack").await?;
    browser
        .wait_text("#barcode-error", "This pack is already in the store.")
        .await?;
    browser.click("#discard-pack").await?;
    assert_eq!(browser.text("#barcode-error").await?, "");
    assert!(!browser.shown("#parsed").await?);

    // Typed by hand.
    for number in ["1235", "1236", "1237", "1238"] {
        browser.type_into("#manual-game", "050").await?;
        browser.type_into("#manual-number", number).await?;
        browser.click("#manual button[type=submit]").await?;
        browser
            .wait_text("#received", &format!("050-00{number}"))
            .await?;
    }

    // Packs go out only while a day is open.
    browser.click("#open-day button").await?;
    browser.wait_text("#open-text", "is open").await?;
    activate(&browser, "050-001234", 1).await?;
    browser
        .wait_text(
            "#bins tr[data-bin='1']",
            "1 050 Cash Blast 050-001234 $5.00 0",
        )
        .await?;
    activate(&browser, "050-001235", 2).await?;
    activate(&browser, "050-001236", 3).await?;
    activate(&browser, "050-001238", 4).await?;
    browser.screenshot("store-counter", "#counter").await?;

    // Going back on a confirmation changes nothing.
    browser.click("#bins tr[data-bin='2'] button").await?;
    browser
        .wait_text(
            "#confirm-text",
            "Pack 050-001235 in bin 2 is sold out and leaves the bin",
        )
        .await?;
    browser.click("#confirm-cancel").await?;
    browser.wait_hidden("#confirm").await?;
    browser
        .wait_text("#bins tr[data-bin='2']", "050-001235")
        .await?;

    // Settle bin 2; return bin 3's pack with its next ticket; return a
    // received pack.
    browser.click("#bins tr[data-bin='2'] button").await?;
    browser
        .confirm("Pack 050-001235 in bin 2 is sold out")
        .await?;
    browser
        .wait_text("#bins tr[data-bin='2']", "2 Empty")
        .await?;
    browser
        .click("#bins tr[data-bin='3'] button:nth-of-type(2)")
        .await?;
    browser
        .wait_text(
            "#confirm-text",
            "Pack 050-001236 goes back to the distributor. Bin 3 becomes empty.",
        )
        .await?;
    browser.type_into("#return-next", "5").await?;
    browser.click("#confirm-ok").await?;
    browser
        .wait_text("#bins tr[data-bin='3']", "3 Empty")
        .await?;
    browser.click("#received button").await?;
    browser
        .confirm("Pack 050-001237 goes back to the distributor.")
        .await?;
    browser
        .wait_text("#notice", "Pack 050-001237 is returned.")
        .await?;
    assert!(browser.shown("#no-received").await?);

    // The close: a scanned next ticket ends with Enter, which moves to the
    // next bin, and prepares after the last.
    browser.type_into("#next-1", &format!("8{ENTER}")).await?;
    assert_eq!(browser.focused().await?, "next-4");
    assert!(browser.shown("#counts").await?);
    browser.type_into("#next-4", &format!("3{ENTER}")).await?;
    browser.wait_text("#prepared-text", "prepared").await?;
    let bin1 = browser.text("#prepared tr[data-bin='1']").await?;
    assert_eq!(bin1, "Bin 1 8 $40.00");
    let total = format!(
        "{} {}",
        browser.text("#total-tickets").await?,
        browser.text("#total-amount").await?
    );
    // Bin 1 sold 8, bin 2's settled pack 30, bin 3's returned pack 5,
    // bin 4 3.
    assert_eq!(
        browser.text("#prepared tr[data-bin='4']").await?,
        "Bin 4 3 $15.00"
    );
    assert_eq!(total, "46 $230.00");
    browser.screenshot("store-close", "#day").await?;

    // A prepared close is still there after a reload.
    browser.client.refresh().await?;
    browser.wait_text("#prepared-text", "prepared").await?;
    assert_eq!(browser.text("#total-amount").await?, "$230.00");
    browser.click("#commit-close").await?;
    browser.confirm("becomes final: $230.00 in sales.").await?;
    browser.wait_text("#notice", "is closed.").await?;
    browser.wait_text("#no-day", "No day is open").await?;

    let days = app.call("GET", "/days", None).await?.json();
    assert_eq!(days["days"][0]["status"], "CLOSED", "{days}");
    browser.close().await?;
    Ok(())
}

#[tokio::test]
async fn games_sync_status_keyboard_and_phone() -> Result<()> {
    let dir = TempDir::new("browser-games")?;
    let app = store_with_a_game(&dir).await?;
    let browser = Browser::start().await?;
    sign_in(&browser, &app).await?;

    browser
        .wait_text("#game-list", "050 Cash Blast $5.00 30 active")
        .await?;
    assert!(!browser.shown("#no-games").await?);
    browser.click("#refresh-games").await?;
    // A store app without the sync routes says so; one with them and no
    // cloud configured says the sync is off. Neither is an error.
    let sync = browser.wait_text("#sync-state", "Sync ").await?;
    assert!(
        sync == "Sync not available" || sync == "Sync off",
        "the sync badge shows {sync:?}"
    );
    browser.screenshot("store-games", "#games").await?;

    // Off the network the badge says so at once; back on, the page syncs
    // again by itself.
    browser.set_offline(true).await?;
    browser.wait_text("#sync-state", "Offline").await?;
    browser.set_offline(false).await?;
    let again = browser.wait_text("#sync-state", "Sync ").await?;
    assert_eq!(again, sync, "after coming back online");

    // Every control is reached by Tab, and the focused one is outlined.
    browser
        .assert_reached_by_tab(&[
            "bin-count",
            "barcode",
            "manual-game",
            "manual-number",
            "day-date",
            "refresh-games",
        ])
        .await?;

    browser.assert_fits_a_phone().await?;
    browser.screenshot("store-phone", "body").await?;
    browser.close().await?;
    Ok(())
}

/// Receives pack `number` of `game` with the form for a pack typed by
/// hand, and waits for the page to say so.
async fn receive_by_hand(browser: &Browser, game: &str, number: u32) -> Result<()> {
    browser.type_into("#manual-game", game).await?;
    browser
        .type_into("#manual-number", &number.to_string())
        .await?;
    browser.click("#manual button[type=submit]").await?;
    browser
        .wait_text("#received", &format!("{game}-{number:06}"))
        .await?;
    Ok(())
}

/// Presses "Sync now" until the sync detail contains `expected`: the
/// store's queue waits out its backoff (a few seconds here) after the
/// cloud failed.
async fn sync_until(browser: &Browser, expected: &str) -> Result<String> {
    let started = Instant::now();
    loop {
        browser.click("#sync-now").await?;
        tokio::time::sleep(Duration::from_millis(500)).await;
        let detail = browser.text("#sync-detail").await?;
        if detail.contains(expected) {
            return Ok(detail);
        }
        if started.elapsed() > Duration::from_secs(30) {
            bail!("the sync detail shows {detail:?}, not {expected:?}");
        }
    }
}

#[tokio::test]
async fn the_sync_panel_with_the_cloud_going_down_and_coming_back() -> Result<()> {
    const STORE: &str = "corner-7";
    let (cloud_dir, store_dir) = (
        TempDir::new("browser-sync-cloud")?,
        TempDir::new("browser-sync-store")?,
    );
    let (mut cloud, key) = lottery::registered_cloud(&cloud_dir, STORE).await?;
    let url = format!("http://{}", cloud.addr);
    let app = StoreApp::start_with(
        store_dir.path(),
        &[
            ("cloud_url", &url),
            ("store_id", STORE),
            ("cloud_api_key", &key),
        ],
    )
    .await?;
    let browser = Browser::start().await?;
    sign_in(&browser, &app).await?;

    // The page syncs as it opens: the cloud's game and bins come down.
    browser.wait_text("#sync-state", "Synced").await?;
    browser
        .wait_text(
            "#sync-detail",
            "last synced just now; 0 pending, 0 dead-lettered",
        )
        .await?;
    browser.wait_text("#game-list", "050 Cash Blast").await?;
    browser.wait_text("#bins tbody", "2 Empty").await?;

    // The cloud's database stops: the cloud answers that it cannot work,
    // the counter goes on, and what it did waits at the store.
    cloud.redis.stop();
    receive_by_hand(&browser, "050", 1).await?;
    browser
        .wait_text("#sync-state", "Cloud unreachable")
        .await?;
    browser.wait_text("#sync-detail", "1 pending").await?;
    receive_by_hand(&browser, "050", 2).await?;
    browser.wait_text("#sync-detail", "2 pending").await?;
    browser.click("#sync-now").await?;
    browser
        .wait_text("#sync-state", "Cloud unreachable")
        .await?;
    let down = browser
        .wait_text(
            "#sync-detail",
            "the store keeps working and sends them when the cloud is back",
        )
        .await?;
    assert!(down.contains("2 pending, 0 dead-lettered"), "{down}");
    browser.screenshot("store-cloud-down", "#sync").await?;

    // Back, the page's sync sends everything.
    cloud.redis.start_again()?;
    sync_until(&browser, "0 pending").await?;
    browser.wait_text("#sync-state", "Synced").await?;
    let packs = lottery::admin(cloud.addr, "GET", &format!("/stores/{STORE}/packs"), None).await?;
    assert_eq!(packs["packs"].as_array().map(Vec::len), Some(2), "{packs}");

    // A pack of a game the cloud never defined, put at the store by hand:
    // the cloud refuses it for good, and the page says why.
    app.call(
        "PUT",
        "/games/099",
        Some(json!({"name": "Local", "price": 100, "pack_value": 1000,
                    "tickets_per_pack": 10, "numbering": "ascending"})),
    )
    .await?
    .assert_status(201);
    receive_by_hand(&browser, "099", 1).await?;
    sync_until(&browser, "1 dead-lettered").await?;
    browser
        .wait_text(
            "#dead-letters",
            "Not accepted by the cloud: receivePack (game 099 is unknown to the cloud)",
        )
        .await?;
    browser.wait_text("#sync-state", "Synced").await?;
    browser.screenshot("store-dead-letter", "#sync").await?;
    browser.close().await?;
    Ok(())
}
