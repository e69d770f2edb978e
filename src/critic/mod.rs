//! A two-layer neural-network critic for policy evaluation: TD errors with their exact
//! gradient (the data vector d), the linearised TD error, and the normalised
//! experience-replay update with its contraction matrix.
//!
//! ```text
//! z = (x, u) ─► φ₂(z) ∈ ℝⁿ ─► h = W₂ᵀ φ₂(z) ∈ ℝᵖ ─► Q̂(z; ω) = w₁ᵀ φ₁(h)      ω = (w₁, vec W₂)
//!
//! e(z, z₊)  = Q̂(z) − r(z) − γ Q̂(z₊)                   (Q̂(z) − r(z) if the episode ends)
//! d         = ∇ω e = ∇Q̂(z) − γ ∇Q̂(z₊)                 (semi-gradient: d = ∇Q̂(z))
//! e(ω)      = e(ω*) + d(ω*)ᵀ(ω − ω*) + O(‖ω − ω*‖²)   (linearisation)
//! ω        ← ω − η Σⱼ dⱼ eⱼ / (dⱼᵀdⱼ + 1)²            (normalised replay update, ≤ M transitions)
//! C         = I − η Σⱼ dⱼdⱼᵀ / (dⱼᵀdⱼ + 1)²           (contracts if exciting and 0 < η < 8/M)
//! ```
//!
//! C is the Gauss–Newton part of the update's Jacobian ∂ω₊/∂ω: exact for a linear critic
//! (the output layer alone, [`Trainable::OutputLayer`]) or where every eⱼ = 0, and it has
//! the eigenvalue 1 whenever more weights are trained than distinct transitions are stored
//! (see [`NormalizedUpdate::spectral_radius`]).
//!
//! | piece | what |
//! |---|---|
//! | [`ShallowCritic`] | Q̂ and ∇ω Q̂ into caller buffers; [`Activation`]s with φ₁′, φ₁″; feature maps [`RawWithBias`] (default) and [`FnFeatures`] (yours), behind [`FeatureMap`] |
//! | [`CriticWorkspace`] | made once; no evaluation, TD error, data vector or update allocates after that ([`TdLoss`], called through `&self` as a `Term`, makes one per call) |
//! | [`MAX_FLOATS`](crate::check::MAX_FLOATS) | the size limit (2²⁸ floats per buffer) that the constructors enforce, the crate's one cap |
//! | [`ShallowCritic::td_error`], [`ShallowCritic::data_vector`] | e and d for one [`Transition`] (full or semi, [`TdGradient`]) |
//! | [`TdLoss`] | ½ Σⱼ eⱼ² over a batch as a [`Term`](crate::Term), exact gradient and Hessian (a cost: negative weight in an [`Objective`](crate::Objective)) |
//! | [`Linearization`] | pivot e(ω*), d(ω*), the first-order model and its remainder |
//! | [`ReplayBuffer`] | the last M transitions, oldest out, stored flat |
//! | [`NormalizedUpdate`] | the update, its contraction matrix and spectral radius; full/semi gradient; all weights or the output layer only ([`Trainable`]) |
//!
//! The source's index names are inconsistent; the shapes here are those of the spec:
//! W₂ ∈ ℝ^(n×p) and vec stacks columns, so ω\[p + j·n + i\] = W₂\[i,j\].
//!
//! Policy evaluation on a three-state chain, end to end:
//!
//! ```
//! use ndarray::{arr1, Array1};
//! use rand::SeedableRng;
//! use rlgrad::critic::{Activation, NormalizedUpdate, ReplayBuffer, ShallowCritic, Transition};
//!
//! // z = (x, u) with x ∈ {0, 1, 2}; the policy always moves right; reward 1 on leaving 2.
//! let critic = ShallowCritic::new(2, 8, Activation::Tanh)?;
//! let mut buffer = ReplayBuffer::new(3, 2)?;
//! let z = |x: f64| arr1(&[x, 1.0]);
//! buffer.push(Transition::new(z(0.0).view(), 0.0, z(1.0).view()))?;
//! buffer.push(Transition::new(z(1.0).view(), 0.0, z(2.0).view()))?;
//! buffer.push(Transition::terminal(z(2.0).view(), 1.0))?;
//!
//! let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
//! let mut omega = critic.random_weights(&mut rng);
//! let update = NormalizedUpdate::new(0.5 * buffer.step_size_bound(), 0.9)?;
//! let mut ws = critic.workspace();
//! let first = update.apply(&critic, &buffer, omega.view_mut(), &mut ws)?;
//! let mut last = first;
//! for _ in 0..2000 {
//!     last = update.apply(&critic, &buffer, omega.view_mut(), &mut ws)?;
//! }
//! assert!(last < 1e-3 * first, "½Σe² went from {first} to {last}");
//! let q0 = critic.value(omega.view(), z(0.0).view(), &mut ws)?;
//! assert!((q0 - 0.81).abs() < 0.05); // Q(0, right) = γ² · 1
//! # Ok::<(), rlgrad::Error>(())
//! ```

mod activation;
mod features;
mod linearization;
mod loss;
mod network;
mod replay;
mod td;
mod update;
mod workspace;

pub use self::activation::Activation;
pub use self::features::{FeatureMap, FnFeatures, RawWithBias};
pub use self::linearization::Linearization;
pub use self::loss::TdLoss;
pub use self::network::ShallowCritic;
pub use self::replay::ReplayBuffer;
pub use self::td::{TdGradient, Transition};
pub use self::update::{NormalizedUpdate, Trainable};
pub use self::workspace::CriticWorkspace;
