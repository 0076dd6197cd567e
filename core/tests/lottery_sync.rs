//! Invariants of the push rules over random pushes: a push replayed
//! changes nothing the second time, duplicate deliveries in any order end
//! at the same `last_mutation_id`, and a gap is never applied.
//!
//! proptest is a host-only dev-dependency.
#![cfg(not(target_arch = "wasm32"))]

use proptest::prelude::*;
use serde_json::json;
use tombola_core::lottery::{
    MutationId, MutationStatus, Push, PushPlan, PushedMutation, Verdict, plan_push,
};

fn push(ids: &[MutationId]) -> Push {
    Push {
        client_id: "store-1".parse().unwrap(),
        mutations: ids
            .iter()
            .map(|id| PushedMutation {
                id: *id,
                name: "settlePack".into(),
                args: json!({}),
            })
            .collect(),
    }
}

// Rejects every id divisible by three, applies the rest.
fn verdict(_: usize, pushed: &PushedMutation) -> Verdict {
    if pushed.id.is_multiple_of(3) {
        Verdict::Reject("divisible by three".into())
    } else {
        Verdict::Apply
    }
}

fn plan(ids: &[MutationId], last: MutationId) -> PushPlan {
    plan_push(&push(ids), last, verdict)
}

proptest! {
    #[test]
    fn replaying_a_push_changes_nothing(
        ids in prop::collection::vec(1u64..30, 0..40),
        last in 0u64..20,
    ) {
        let first = plan(&ids, last);
        let second = plan(&ids, first.reply.last_mutation_id);
        prop_assert!(second.steps.is_empty());
        prop_assert_eq!(second.reply.last_mutation_id, first.reply.last_mutation_id);
        for (line, again) in first.reply.mutations.iter().zip(&second.reply.mutations) {
            match &line.status {
                MutationStatus::Refused { .. } => {
                    prop_assert_eq!(&again.status, &line.status);
                }
                _ => prop_assert_eq!(&again.status, &MutationStatus::Duplicate),
            }
        }
    }

    #[test]
    fn duplicate_deliveries_in_any_order_end_at_the_same_id(
        count in 1u64..25,
        copies in prop::collection::vec(0usize..3, 25),
        seed in any::<u64>(),
    ) {
        // Every id 1..=count, each delivered once plus up to two more
        // times, in batches cut from a shuffled sequence that still sends
        // each id first in order, as a retrying store may.
        let mut deliveries: Vec<MutationId> = (1..=count).collect();
        let mut state = seed;
        for id in 1..=count {
            for _ in 0..copies[(id - 1) as usize] {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let after = 1 + deliveries.iter().position(|d| *d == id).unwrap();
                let at = after + (state >> 33) as usize % (deliveries.len() - after + 1);
                deliveries.insert(at, id);
            }
        }
        let mut last = 0;
        for batch in deliveries.chunks(1 + (seed % 5) as usize) {
            last = plan(batch, last).reply.last_mutation_id;
        }
        prop_assert_eq!(last, count);
        prop_assert_eq!(plan(&(1..=count).collect::<Vec<_>>(), 0).reply.last_mutation_id, count);
    }

    #[test]
    fn a_gap_is_never_applied(
        ids in prop::collection::vec(1u64..30, 0..40),
        last in 0u64..20,
    ) {
        let plan = plan(&ids, last);
        let mut expected = last;
        let mut asked = 0;
        for step in &plan.steps {
            prop_assert_eq!(step.id, expected + 1);
            prop_assert!(step.index >= asked);
            asked = step.index + 1;
            expected = step.id;
        }
        prop_assert_eq!(plan.reply.last_mutation_id, expected);
        let first_gap = plan.reply.mutations.iter().position(|line| {
            matches!(line.status, MutationStatus::Refused { .. })
        });
        if let Some(gap) = first_gap {
            prop_assert!(plan.steps.iter().all(|step| step.index < gap));
            let refused = MutationStatus::Refused { expected: expected + 1 };
            prop_assert!(plan.reply.mutations[gap..].iter().all(|line| line.status == refused));
        }
    }
}

#[test]
fn a_whole_push_delivered_twice_applies_once() {
    let first = plan(&[1, 2, 3, 4], 0);
    assert_eq!(first.steps.len(), 4);
    assert_eq!(
        first.reply.mutations[2].status,
        MutationStatus::Rejected {
            reason: "divisible by three".into()
        }
    );
    let again = plan(&[1, 2, 3, 4], first.reply.last_mutation_id);
    assert!(again.steps.is_empty());
    assert_eq!(again.reply.last_mutation_id, 4);
}
