//! The Lua that reads a stored format of the core's: the draw scripts'
//! `snap_seq` reads a snapshot's sequence number from the bytes
//! `tombola_core::pool::Snapshot::encode` writes, in either format version.

use tombola_core::pool::{Entry, OperationId, PoolState, Snapshot, apply, chunk_entry};
use tombola_tests::redis_server::RedisServer;

const PRELUDE: &str = include_str!("../../../functions/draw/src/scripts/prelude.lua");

fn pool(with_operation: bool) -> PoolState {
    let mut state = None;
    apply(
        &mut state,
        &Entry::decode("CREATE/1 p 1 stock 32 P a:1:5 b:2:*").unwrap(),
    );
    let mut state = state.unwrap();
    if with_operation {
        let op = OperationId::new("op").unwrap();
        state.apply(&chunk_entry(&op, 0, 2, 9, 1, 2).unwrap());
    }
    state
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snap_seq_reads_what_the_core_encodes() {
    let redis = RedisServer::start().unwrap();
    let client = redis::Client::open(redis.url(0)).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let script = format!("{PRELUDE}\nreturn snap_seq(ARGV[1])");
    // Lua numbers are doubles: sequence numbers are exact up to 2^53.
    let seqs = [0, 1, 127, 128, 16_383, 16_384, 1 << 32, (1 << 53) - 1];
    for with_operation in [false, true] {
        let state = pool(with_operation);
        for seq in seqs {
            let bytes = Snapshot {
                seq,
                state: state.clone(),
            }
            .encode();
            assert_eq!(bytes[4], if with_operation { 2 } else { 1 });
            let read: Option<u64> = redis::cmd("EVAL")
                .arg(&script)
                .arg(0)
                .arg(&bytes)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(read, Some(seq), "version {} seq {seq}", bytes[4]);
        }
    }
    for garbage in [&b""[..], b"TMBS", b"NOPE\x01\x00\x00\x00\x00\x05"] {
        let read: Option<u64> = redis::cmd("EVAL")
            .arg(&script)
            .arg(0)
            .arg(garbage)
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(read, None, "{garbage:?}");
    }
}
