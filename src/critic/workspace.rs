//! The buffers a critic evaluates into: one forward pass ([`Layer`]) and the reusable
//! [`CriticWorkspace`].

/// The buffers of one forward pass.
#[derive(Clone, Debug)]
pub(crate) struct Layer {
    /// φ₂(z), n.
    pub(crate) phi: Vec<f64>,
    /// φ₁(h), p.
    pub(crate) a: Vec<f64>,
    /// φ₁′(h), p.
    pub(crate) da: Vec<f64>,
    /// φ₁″(h), p.
    pub(crate) dda: Vec<f64>,
}

impl Layer {
    pub(crate) fn new(n: usize, p: usize) -> Self {
        Layer {
            phi: vec![0.0; n],
            a: vec![0.0; p],
            da: vec![0.0; p],
            dda: vec![0.0; p],
        }
    }
}

/// Scratch space for a [`ShallowCritic`](super::ShallowCritic)'s evaluations, TD errors and replay
/// updates; made by [`ShallowCritic::workspace`](super::ShallowCritic::workspace) and reusable
/// across calls (and across critics of the same shape). With it, no evaluation or update allocates.
///
/// ```
/// let critic = rlgrad::critic::ShallowCritic::new(2, 8, Default::default())?;
/// let mut ws = critic.workspace(); // allocate once …
/// # let omega = ndarray::Array1::<f64>::zeros(critic.dim());
/// for x in [0.0, 0.5, 1.0] {
///     let z = ndarray::arr1(&[x, 1.0]);
///     let _q = critic.value(omega.view(), z.view(), &mut ws)?; // … evaluate many times
/// }
/// # Ok::<(), rlgrad::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct CriticWorkspace {
    pub(crate) input_dim: usize,
    pub(crate) n: usize,
    pub(crate) p: usize,
    pub(crate) dim: usize,
    pub(crate) cur: Layer,
    pub(crate) next: Layer,
    pub(crate) omega: Vec<f64>,
    pub(crate) z: Vec<f64>,
    pub(crate) z_next: Vec<f64>,
    pub(crate) grad: Vec<f64>,
    pub(crate) step: Vec<f64>,
}

impl CriticWorkspace {
    /// Buffers for a critic with z ∈ ℝ^input_dim, n features, p units and dim weights.
    pub(crate) fn new(input_dim: usize, n: usize, p: usize, dim: usize) -> Self {
        CriticWorkspace {
            input_dim,
            n,
            p,
            dim,
            cur: Layer::new(n, p),
            next: Layer::new(n, p),
            omega: vec![0.0; dim],
            z: vec![0.0; input_dim],
            z_next: vec![0.0; input_dim],
            grad: vec![0.0; dim],
            step: vec![0.0; dim],
        }
    }

    /// The length of ω this workspace serves.
    pub fn dim(&self) -> usize {
        self.dim
    }
}
