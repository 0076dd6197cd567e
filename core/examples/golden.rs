//! Prints the golden vectors that `tests/golden.rs` checks on the host and
//! on wasm32: logs of entries, the outcome of every entry, the final stocks
//! and snapshot, the first outputs of the rules generator, and the
//! commitment, HMAC blocks, words and uniform integers of rules 2.
//!
//! ```text
//! cargo run -p tombola-core --example golden > core/tests/golden/vectors.json
//! ```
//!
//! Released vectors are a promise: outcomes recorded under a rules version
//! never change. Regenerate only to add cases (or a rules version), and
//! check in review that every existing expectation is unchanged.

use serde_json::{Value, json};
use tombola_core::pool::{
    ClientSeed, FairInput, Keyring, PoolId, Replayed, Rules, ServerSeed, replay_tail,
    replay_tail_with,
};

fn cases() -> Vec<(&'static str, Vec<String>)> {
    let wide_items: Vec<String> = (0..40u64)
        .map(|i| {
            format!(
                "w{i}:{}:{}",
                (i + 1) << 34,
                if i % 7 == 0 {
                    "*".to_owned()
                } else {
                    (i % 5).to_string()
                }
            )
        })
        .collect();
    vec![
        (
            "stock mode: partial, all-or-nothing, return, restock, close",
            vec![
                "CREATE/1 drum 1 stock 32 Drum gold:1:3 silver:2:5 none:10:*".into(),
                "DRAW/1 r-1 5 0000000000000001 partial".into(),
                "DRAW/1 r-2 10 00000000deadbeef partial".into(),
                "DRAW/1 op-1#0 3 ffffffffffffffff all".into(),
                "RETURN/1 op-1 gold:1 none:2".into(),
                "RESTOCK/1 silver 4".into(),
                "DRAW/1 r-3 50 0123456789abcdef partial".into(),
                "CLOSE/1".into(),
                "DRAW/1 r-4 2 0000000000000002 partial".into(),
                "RETURN/1 op-2 silver:1".into(),
            ],
        ),
        (
            "weight mode: all-or-nothing refused, then drained, then restocked",
            vec![
                "CREATE/1 w 1 weight 8 Weights a:1:2 b:3:1 c:6:4".into(),
                "DRAW/1 r-1 20 0000000000000007 all".into(),
                "DRAW/1 r-2 20 0000000000000007 partial".into(),
                "RESTOCK/1 b 2".into(),
                "DRAW/1 r-3 1 00000000000000ff partial".into(),
                "RESTOCK/1 ghost 1".into(),
            ],
        ),
        (
            "seed lines and out-of-place entries",
            vec![
                "DRAW r-0 gold".into(),
                "CREATE/1 legacy 1 stock 32 Legacy gold:1:1 none:1:*".into(),
                "DRAW r-1 gold".into(),
                "DRAW r-2 gold".into(),
                "DRAW r-3 FAILED".into(),
                "DRAW r-4 ghost".into(),
                "DRAW/1 r-5 4 0000000000000abc partial".into(),
                "CREATE/1 legacy 1 stock 32 Legacy gold:1:1".into(),
                "CLOSE/1".into(),
                "CLOSE/1".into(),
            ],
        ),
        (
            "forty items with weights past 2^32, three sampler levels deep",
            vec![
                format!("CREATE/1 wide 1 weight 32 Wide {}", wide_items.join(" ")),
                "DRAW/1 r-1 1000 5eed5eed5eed5eed partial".into(),
                "RESTOCK/1 w3 9".into(),
                "DRAW/1 r-2 25 8000000000000000 partial".into(),
            ],
        ),
        (
            "a total of 3 * 2^62",
            vec![
                "CREATE/1 huge 1 weight 32 Huge a:4611686018427387904:* b:4611686018427387904:* c:4611686018427387904:*".into(),
                "DRAW/1 r-1 30 0000000000000000 partial".into(),
            ],
        ),
    ]
}

// Rules 2 logs, with the server seeds a replay holds (the last one is in
// force, the others are revealed by the logs' ROTATEs or never used).
fn fair_cases() -> Vec<(&'static str, Vec<ServerSeed>, Vec<String>)> {
    let [one, two, three, wrong] =
        [0x11, 0x22, 0x33, 0x99].map(|b| ServerSeed::from_bytes([b; 32]));
    let c = |seed: &ServerSeed| seed.commitment().to_string();
    vec![
        (
            "rules 2, stock mode: nonces in order, reused, skipped; rotation due; a bad reveal",
            vec![one.clone(), two.clone()],
            vec![
                "CREATE/1 fair 2 stock 32 Fair gold:1:3 silver:2:5 none:10:*".into(),
                format!("COMMIT/1 {} 3", c(&one)),
                "DRAW/2 r-1 5 lucky-7 0 partial".into(),
                "DRAW/2 r-2 5 lucky-7 0 partial".into(),
                "DRAW/2 r-3 3 player.seed 1 all".into(),
                "DRAW/2 r-4 1 x 3 partial".into(),
                "DRAW/2 r-5 2 x 2 partial".into(),
                "DRAW/2 r-6 1 x 3 partial".into(),
                format!("ROTATE/1 {} {}", wrong.reveal(), c(&two)),
                format!("ROTATE/1 {} {}", one.reveal(), c(&two)),
                "DRAW/2 r-7 4 lucky-7 0 partial".into(),
                "DRAW/1 r-8 1 0000000000000001 partial".into(),
                format!("COMMIT/1 {} 0", c(&three)),
                "CLOSE/1".into(),
                "DRAW/2 r-9 1 lucky-7 1 partial".into(),
            ],
        ),
        (
            "rules 2, weight mode: a draw before the commitment, all-or-nothing, a rotation",
            vec![three.clone(), one.clone()],
            vec![
                "CREATE/1 fairw 2 weight 32 FairW a:1:2 b:3:1 c:6:4".into(),
                "DRAW/2 r-0 1 early 0 partial".into(),
                format!("COMMIT/1 {} 0", c(&three)),
                "DRAW/2 r-1 20 w 0 all".into(),
                "DRAW/2 r-2 20 w 1 partial".into(),
                format!("ROTATE/1 {} {}", three.reveal(), c(&one)),
                "DRAW/2 r-3 1 w 0 partial".into(),
            ],
        ),
        (
            "rules 2, chunks: nonces shared with draws, a reused one, a rollback, a CHUNK/1, a rotation",
            vec![two.clone(), one.clone()],
            vec![
                "CREATE/1 fairc 2 stock 32 FairC gold:1:2 silver:2:4 none:5:*".into(),
                format!("COMMIT/1 {} 0", c(&two)),
                "DRAW/2 r-1 2 lucky-7 0 partial".into(),
                "CHUNK/2 op-1 0 3 lucky-7 1 1000 3601000".into(),
                "CHUNK/2 op-1 1 3 lucky-7 1 1001 3601001".into(),
                "CHUNK/2 op-1 1 3 other 2 1001 3601001".into(),
                "RETURN/2 op-1 2000 3602000".into(),
                "CHUNK/2 op-1 2 3 lucky-7 3 2001 3602001".into(),
                "DRAW/2 r-2 2 lucky-7 4 partial".into(),
                "CHUNK/1 op-2 0 1 0000000000000001 3000 3603000".into(),
                format!("ROTATE/1 {} {}", two.reveal(), c(&one)),
                "CHUNK/2 op-3 0 2 w 0 4000 3604000".into(),
            ],
        ),
    ]
}

fn case_json(name: &str, log: &[String], replayed: &Replayed) -> Value {
    let outcomes: Vec<Value> = replayed
        .outcomes
        .iter()
        .map(|(_, outcome)| json!(outcome))
        .collect();
    let state = replayed.state.as_ref().expect("golden logs create a pool");
    let stocks: serde_json::Map<String, Value> = state
        .stocks()
        .map(|(item, stock)| (item.to_string(), json!(stock)))
        .collect();
    let snapshot: String = replayed
        .snapshot()
        .expect("the pool exists")
        .encode()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    json!({ "name": name, "log": log, "outcomes": outcomes, "stocks": stocks, "snapshot": snapshot })
}

// Rules 2: bounds that reject (2^63 + 1 about half the words, 3 * 2^62 a
// quarter, 10 and u64::MAX almost never) and one that never does (2^32).
const FAIR_BOUNDS: [u64; 12] = [
    6,
    10,
    1 << 63 | 1,
    1 << 63 | 1,
    1 << 63 | 1,
    3 << 62,
    3 << 62,
    1 << 32,
    u64::MAX,
    1,
    1 << 63 | 1,
    1_000_000,
];

fn fair() -> Vec<Value> {
    let inputs = [
        ([0u8; 32], "summer", "lucky-7", 0u64),
        (std::array::from_fn(|i| i as u8), "summer", "lucky-7", 1),
        ([0xff; 32], "drum", "A.b_c-9", u64::MAX),
    ];
    inputs
        .into_iter()
        .map(|(seed, pool, client_seed, nonce)| {
            let input = FairInput {
                server_seed: ServerSeed::from_bytes(seed),
                pool: PoolId::new(pool).expect("a valid pool id"),
                client_seed: ClientSeed::new(client_seed).expect("a valid client seed"),
                nonce,
            };
            let blocks: Vec<String> =
                (0..3).map(|round| input.block(round).iter().map(|byte| format!("{byte:02x}")).collect()).collect();
            let mut words = input.generator();
            let words: Vec<u64> = (0..12).map(|_| words.next_u64()).collect();
            let mut rng = input.generator();
            let values: Vec<u64> = FAIR_BOUNDS.iter().map(|&bound| rng.below(bound)).collect();
            json!({
                "server_seed": input.server_seed.reveal(), "commitment": input.server_seed.commitment().to_string(),
                "pool": pool, "client_seed": client_seed, "nonce": nonce,
                "blocks": blocks, "words": words, "below": FAIR_BOUNDS, "values": values,
            })
        })
        .collect()
}

fn main() {
    let cases: Vec<Value> = cases()
        .into_iter()
        .map(|(name, log)| {
            case_json(
                name,
                &log,
                &replay_tail(None, &log).expect("golden logs replay"),
            )
        })
        .collect();
    let fair_cases: Vec<Value> = fair_cases()
        .into_iter()
        .map(|(name, seeds, log)| {
            let revealed: Vec<String> = seeds.iter().map(ServerSeed::reveal).collect();
            let replayed =
                replay_tail_with(None, &log, Keyring::of(seeds)).expect("golden logs replay");
            let mut case = case_json(name, &log, &replayed);
            case["server_seeds"] = json!(revealed);
            case
        })
        .collect();
    let generators: Vec<Value> = [0u64, 1, 42, u64::MAX]
        .into_iter()
        .map(|seed| {
            let mut rng = Rules::V1.generator(seed).expect("rules 1 is seeded");
            let below: Vec<u64> =
                [1u64, 3, 10, 1 << 63 | 1, u64::MAX].into_iter().map(|bound| rng.below(bound)).collect();
            json!({ "rules": 1, "seed": seed, "below": [1u64, 3, 10, 1u64 << 63 | 1, u64::MAX], "values": below })
        })
        .collect();
    let vectors = json!({ "cases": cases, "generators": generators, "fair": fair(), "fair_cases": fair_cases });
    println!(
        "{}",
        serde_json::to_string_pretty(&vectors).expect("vectors serialize")
    );
}
