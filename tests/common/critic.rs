//! Critic fixtures: the activations, transitions that own their inputs, and replay buffers
//! of them.

use ndarray::Array1;
use proptest::prelude::*;
use proptest::sample::select;
use rlgrad::critic::{Activation, ReplayBuffer, Transition};

/// Every activation the critic offers.
pub const ACTIVATIONS: [Activation; 4] = [
    Activation::Tanh,
    Activation::Logistic,
    Activation::Softplus,
    Activation::Identity,
];

/// Any activation.
pub fn activation() -> impl Strategy<Value = Activation> {
    select(ACTIVATIONS.to_vec())
}

/// A transition that owns its z and z₊ (a [`Transition`] borrows them).
#[derive(Clone, Debug)]
pub struct OwnedTransition {
    pub z: Array1<f64>,
    pub reward: f64,
    pub next: Option<Array1<f64>>,
}

impl OwnedTransition {
    pub fn view(&self) -> Transition<'_> {
        Transition {
            z: self.z.view(),
            reward: self.reward,
            next: self.next.as_ref().map(|v| v.view()),
        }
    }
}

/// A random transition over z ∈ [−2, 2]ᵈ with a reward in [−2, 2], terminal one time in five.
pub fn transition(d: usize) -> impl Strategy<Value = OwnedTransition> {
    (
        proptest::collection::vec(-2.0..2.0f64, d),
        -2.0..2.0f64,
        proptest::collection::vec(-2.0..2.0f64, d),
        prop_oneof![4 => Just(false), 1 => Just(true)],
    )
        .prop_map(|(z, reward, zn, terminal)| OwnedTransition {
            z: Array1::from(z),
            reward,
            next: (!terminal).then(|| Array1::from(zn)),
        })
}

/// A buffer holding exactly `transitions` (its capacity), over z ∈ ℝᵈ.
pub fn buffer_of(transitions: &[OwnedTransition], d: usize) -> ReplayBuffer {
    let mut b = ReplayBuffer::new(transitions.len(), d).unwrap();
    for t in transitions {
        b.push(t.view()).unwrap();
    }
    b
}
