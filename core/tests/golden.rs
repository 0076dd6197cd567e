//! Golden vectors: fixed logs with the outcomes, stocks and snapshot bytes
//! they must produce, fixed outputs of the rules generator, and the
//! commitment, HMAC stream and uniform integers of rules 2. The same
//! check runs on the host (`cargo test`) and on wasm32 under
//! wasm-bindgen-test, which proves that outcomes do not depend on the
//! platform. The vectors are embedded, so no filesystem is needed.
//!
//! `examples/golden.rs` printed the file; an existing expectation must
//! never change.

use serde::Deserialize;
use tombola_core::pool::{
    ClientSeed, Commitment, FairInput, Keyring, Outcome, PoolId, Replayed, Rules, ServerSeed,
    Snapshot, Stock, replay_tail, replay_tail_with,
};

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test;

const VECTORS: &str = include_str!("golden/vectors.json");

#[derive(Deserialize)]
struct Vectors {
    cases: Vec<Case>,
    generators: Vec<Generator>,
    fair: Vec<Fair>,
    fair_cases: Vec<FairCase>,
}

// A rules-2 log and the server seeds its replay holds.
#[derive(Deserialize)]
struct FairCase {
    #[serde(flatten)]
    case: Case,
    server_seeds: Vec<String>,
}

impl FairCase {
    fn keys(&self) -> Keyring {
        Keyring::of(
            self.server_seeds
                .iter()
                .map(|seed| ServerSeed::from_hex(seed).expect("a server seed")),
        )
    }
}

#[derive(Deserialize)]
struct Case {
    name: String,
    log: Vec<String>,
    outcomes: Vec<Outcome>,
    stocks: std::collections::BTreeMap<String, Option<u64>>,
    snapshot: String,
}

#[derive(Deserialize)]
struct Generator {
    rules: u32,
    seed: u64,
    below: Vec<u64>,
    values: Vec<u64>,
}

#[derive(Deserialize)]
struct Fair {
    server_seed: String,
    commitment: String,
    pool: String,
    client_seed: String,
    nonce: u64,
    blocks: Vec<String>,
    words: Vec<u64>,
    below: Vec<u64>,
    values: Vec<u64>,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn vectors() -> Vectors {
    serde_json::from_str(VECTORS).expect("the golden vectors parse")
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn golden_logs_replay_to_the_recorded_outcomes() {
    let vectors = vectors();
    assert_eq!(vectors.cases.len(), 5, "every case is checked");
    for case in vectors.cases {
        let replayed =
            replay_tail(None, &case.log).unwrap_or_else(|error| panic!("{}: {error}", case.name));
        check_case(&case, replayed);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn golden_rules_2_logs_replay_to_the_recorded_outcomes() {
    let cases = vectors().fair_cases;
    assert_eq!(cases.len(), 3, "every case is checked");
    for fair in cases {
        let case = &fair.case;
        let replayed = replay_tail_with(None, &case.log, fair.keys())
            .unwrap_or_else(|error| panic!("{}: {error}", case.name));
        check_case(case, replayed);
        // Resumed from the snapshot after the COMMIT (format 3), the rest
        // of the log gives the same outcomes.
        let commit = case
            .log
            .iter()
            .position(|line| line.starts_with("COMMIT/"))
            .expect("a COMMIT")
            + 1;
        let head = replay_tail_with(None, &case.log[..commit], fair.keys()).expect("replays");
        let bytes = head.snapshot().expect("the pool exists").encode();
        assert_eq!(bytes[4], 3, "{}: a rules-2 snapshot is format 3", case.name);
        let snapshot = Snapshot::decode(&bytes).expect("the snapshot decodes");
        let tail =
            replay_tail_with(Some(snapshot), &case.log[commit..], fair.keys()).expect("replays");
        let outcomes: Vec<Outcome> = tail.outcomes.into_iter().map(|(_, o)| o).collect();
        assert_eq!(outcomes, case.outcomes[commit..], "{}", case.name);
    }
}

// Checks a replayed case against its outcomes, stocks and snapshot.
fn check_case(case: &Case, replayed: Replayed) {
    let outcomes: Vec<Outcome> = replayed
        .outcomes
        .into_iter()
        .map(|(_, outcome)| outcome)
        .collect();
    assert_eq!(outcomes, case.outcomes, "{}", case.name);
    let state = replayed
        .state
        .unwrap_or_else(|| panic!("{}: no pool", case.name));
    let stocks: std::collections::BTreeMap<String, Option<u64>> = state
        .stocks()
        .map(|(item, stock)| {
            let units = match stock {
                Stock::Limited(units) => Some(units),
                Stock::Unlimited => None,
            };
            (item.to_string(), units)
        })
        .collect();
    assert_eq!(stocks, case.stocks, "{}", case.name);
    let snapshot = Snapshot {
        seq: case.log.len() as u64,
        state,
    };
    assert_eq!(hex(&snapshot.encode()), case.snapshot, "{}", case.name);
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn golden_snapshots_resume_to_the_same_outcomes() {
    for case in vectors().cases {
        // Cut after the CREATE, wherever it is, and replay the rest from the
        // snapshot.
        let create = case
            .log
            .iter()
            .position(|line| line.starts_with("CREATE/"))
            .expect("a CREATE")
            + 1;
        let head = replay_tail(None, &case.log[..create]).expect("the head replays");
        let bytes = head.snapshot().expect("the pool exists").encode();
        let snapshot = Snapshot::decode(&bytes).expect("the snapshot decodes");
        let tail = replay_tail(Some(snapshot), &case.log[create..]).expect("the tail replays");
        let outcomes: Vec<Outcome> = tail
            .outcomes
            .into_iter()
            .map(|(_, outcome)| outcome)
            .collect();
        assert_eq!(outcomes, case.outcomes[create..], "{}", case.name);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn golden_generator_outputs_are_reproduced() {
    let generators = vectors().generators;
    assert_eq!(generators.len(), 4);
    for generator in generators {
        let rules = Rules::from_version(generator.rules).expect("a released rules version");
        let mut rng = rules.generator(generator.seed).expect("seeded rules");
        let values: Vec<u64> = generator
            .below
            .iter()
            .map(|&bound| rng.below(bound))
            .collect();
        assert_eq!(values, generator.values, "seed {}", generator.seed);
    }
}

#[cfg_attr(not(target_arch = "wasm32"), test)]
#[cfg_attr(target_arch = "wasm32", wasm_bindgen_test)]
fn golden_fair_streams_are_reproduced() {
    let vectors = vectors().fair;
    assert_eq!(vectors.len(), 3);
    let mut rejected = 0;
    for vector in vectors {
        let input = FairInput {
            server_seed: ServerSeed::from_hex(&vector.server_seed).expect("a server seed"),
            pool: PoolId::new(&vector.pool).expect("a pool id"),
            client_seed: ClientSeed::new(&vector.client_seed).expect("a client seed"),
            nonce: vector.nonce,
        };
        let name = format!("nonce {}", vector.nonce);
        let commitment = Commitment::from_hex(&vector.commitment).expect("a commitment");
        assert_eq!(input.server_seed.commitment(), commitment, "{name}");

        let blocks: Vec<String> = (0..vector.blocks.len() as u64)
            .map(|round| hex(&input.block(round)))
            .collect();
        assert_eq!(blocks, vector.blocks, "{name}");
        // Words are the blocks' bytes, eight at a time, big-endian.
        let first: Vec<u64> = input
            .block(0)
            .chunks_exact(8)
            .map(|word| u64::from_be_bytes(word.try_into().expect("8 bytes")))
            .collect();
        assert_eq!(first, vector.words[..4], "{name}");
        let mut rng = input.generator();
        let words: Vec<u64> = vector.words.iter().map(|_| rng.next_u64()).collect();
        assert_eq!(words, vector.words, "{name}");

        let mut rng = input.generator();
        let values: Vec<u64> = vector.below.iter().map(|&bound| rng.below(bound)).collect();
        assert_eq!(values, vector.values, "{name}");

        // The documented rejection step, word by word: the same answers, and
        // the vectors do pass through the rejection branch.
        let mut words = input.generator();
        for (&bound, &value) in vector.below.iter().zip(&vector.values) {
            let limit = (1u128 << 64) - (1u128 << 64) % u128::from(bound);
            let word = loop {
                let word = words.next_u64();
                if u128::from(word) < limit {
                    break word;
                }
                rejected += 1;
            };
            assert_eq!(word % bound, value, "{name}, bound {bound}");
        }
    }
    assert_eq!(rejected, 14, "the vectors reject words");
}
