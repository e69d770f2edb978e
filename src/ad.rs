//! Forward-mode automatic differentiation: a model written once over a [`Scalar`] gives its
//! value (`f64`), its exact gradient ([`Grad`]) and its exact Hessian ([`Hess`]).
//!
//! The [task models](crate::task) are written this way: their trial recursions (several value
//! tables, maxima over next-stage values, Kalman gains) would make hand-written second-order
//! sensitivities long and fragile, and the same code serves simulation (`f64`). Each scalar
//! carries its value and the derivatives with respect to N seeded variables; every elementary
//! operation computes its value with exactly the floating-point operations of `f64`, so the
//! value is the same bits at every order (the [`Term`](crate::Term) contract).
//!
//! ```
//! use rlgrad::ad::{Grad, Hess, Scalar};
//! fn f<T: Scalar>(x: T, y: T) -> T {
//!     (x * y).exp() + x.ln()
//! }
//! let (x, y) = (Hess::<2>::variable(0.5, 0), Hess::<2>::variable(2.0, 1));
//! let v = f(x, y);
//! assert_eq!(v.v, f(0.5, 2.0)); // the same bits as the f64 version
//! let e = 1f64.exp();
//! assert!((v.g[0] - (2.0 * e + 2.0)).abs() < 1e-14); // ∂f/∂x = y e^{xy} + 1/x
//! assert!((v.h[0][1] - (e + 0.5 * 2.0 * e)).abs() < 1e-14); // e^{xy}(1 + xy)
//! let g = f(Grad::<2>::variable(0.5, 0), Grad::<2>::variable(2.0, 1));
//! assert_eq!(g.g, v.g);
//! ```

use std::fmt::Debug;
use std::ops::{Add, AddAssign, Div, Mul, Neg, Sub, SubAssign};

use crate::numeric::{exp_nonpositive, log_logistic_parts, logistic_pair};

/// A number that may carry derivatives with respect to N variables (see the module docs).
///
/// Implemented by `f64` (no derivatives), [`Grad`] (first) and [`Hess`] (first and second).
/// Arithmetic with `f64` constants is on the right: `x * 2.0`, `x + 1.0`.
pub trait Scalar:
    Copy
    + Send
    + Sync
    + Debug
    + Add<Output = Self>
    + Sub<Output = Self>
    + Mul<Output = Self>
    + Div<Output = Self>
    + Neg<Output = Self>
    + Add<f64, Output = Self>
    + Sub<f64, Output = Self>
    + Mul<f64, Output = Self>
    + Div<f64, Output = Self>
    + AddAssign
    + SubAssign
{
    /// The highest derivative order carried: 0, 1 or 2.
    const ORDER: usize;

    /// A constant (zero derivatives).
    fn constant(x: f64) -> Self;

    /// The variable number `k` at value `x` (unit derivative in direction k; `f64` ignores k).
    ///
    /// # Panics
    /// If `k` is not below N (a contract of the caller that seeds the variables).
    fn variable(x: f64, k: usize) -> Self;

    /// The value.
    fn value(self) -> f64;

    /// f(self) for a scalar function f, given f, f′ and f″ at the value (the chain rule; `f2`
    /// is used only by [`Hess`]).
    fn chain(self, f0: f64, f1: f64, f2: f64) -> Self;

    /// e^x.
    #[inline(always)]
    fn exp(self) -> Self {
        let e = self.value().exp();
        self.chain(e, e, e)
    }

    /// ln x.
    #[inline(always)]
    fn ln(self) -> Self {
        let v = self.value();
        let r = 1.0 / v;
        self.chain(v.ln(), r, -r * r)
    }

    /// √x.
    #[inline(always)]
    fn sqrt(self) -> Self {
        let s = self.value().sqrt();
        self.chain(s, 0.5 / s, -0.25 / (s * s * s))
    }

    /// x².
    #[inline(always)]
    fn square(self) -> Self {
        self * self
    }

    /// The logistic σ(x) = 1/(1 + e^(−x)), without overflow.
    #[inline(always)]
    fn logistic(self) -> Self {
        let (s, c) = logistic_pair(self.value());
        self.chain(s, s * c, s * c * (c - s))
    }

    /// ln σ(x) = −ln(1 + e^(−x)), accurate at every x (see [`LogLik::add_ln_sigmoid`] for the
    /// form that defers the logarithm).
    #[inline(always)]
    fn ln_sigmoid(self) -> Self {
        let (shift, norm, _) = log_logistic_parts(self.value());
        let (s, c) = logistic_pair(self.value());
        self.chain(shift - norm.ln(), c, -s * c)
    }
}

/// The larger of two scalars by value, with the derivatives of the one returned; on a tie,
/// `a` (so the derivative at a tie is that of the first argument: a one-sided derivative of the
/// maximum, which is not differentiable there).
///
/// ```
/// use rlgrad::ad::{Grad, Scalar, max};
/// let (a, b) = (Grad::<2>::variable(1.0, 0), Grad::<2>::variable(1.0, 1));
/// assert_eq!(max(a, b).g, [1.0, 0.0]);
/// ```
#[inline(always)]
pub fn max<T: Scalar>(a: T, b: T) -> T {
    if b.value() > a.value() { b } else { a }
}

/// A log-likelihood accumulated over trials, with the logarithms of the choice normalisers
/// deferred: ln σ(x) is split as shift − ln(norm) with norm ∈ [1, 2] (one inlined
/// exponential, no logarithm), the normalisers are multiplied, and one logarithm is taken
/// every few hundred trials (as [`Likelihood`](crate::Likelihood) does). The derivatives are
/// those of the full ln σ(x).
///
/// ```
/// use rlgrad::ad::{LogLik, Scalar};
/// let mut ll = LogLik::<f64>::new();
/// ll.add_ln_sigmoid(0.0);
/// ll.add_ln_sigmoid(2.0);
/// let exact = 0.5f64.ln() + (1.0 / (1.0 + (-2.0f64).exp())).ln();
/// assert!((ll.total() - exact).abs() < 1e-15);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LogLik<T> {
    sum: T,
    prod: f64,
    logs: f64,
}

impl<T: Scalar> Default for LogLik<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Scalar> LogLik<T> {
    /// 2⁶⁰⁰: the product of normalisers is folded into a logarithm above it.
    const BIG: f64 = 4.149515568880993e180;

    /// An empty sum.
    pub fn new() -> Self {
        LogLik {
            sum: T::constant(0.0),
            prod: 1.0,
            logs: 0.0,
        }
    }

    /// Adds ln σ(x): the log-probability of the first of two options whose logit difference
    /// is x.
    #[inline(always)]
    pub fn add_ln_sigmoid(&mut self, x: T) {
        let v = x.value();
        let (shift, norm, e) = log_logistic_parts(v);
        // σ(−x) and σ(x) from the same exponential: 1/norm is the larger of the two.
        let big = 1.0 / norm;
        let small = e * big;
        let (s, c) = if v >= 0.0 { (big, small) } else { (small, big) };
        self.sum += x.chain(shift, c, -s * c);
        self.add_norm(norm);
    }

    /// Adds ln p(a) = z_a − ln Σⱼ e^(zⱼ) for logits `z` (any number of options).
    ///
    /// # Panics
    /// If `a` is not an index of `z` (a contract of the caller).
    #[inline(always)]
    pub fn add_ln_softmax(&mut self, z: &[T], a: usize) {
        let m = z.iter().fold(f64::NEG_INFINITY, |m, x| m.max(x.value()));
        let mut norm = 0.0;
        for x in z {
            norm += exp_nonpositive(x.value() - m);
        }
        // z_a − m − ln(norm), with norm ≥ 1 deferred; the derivatives are those of
        // z_a − lse(z): ∂ = e_a − p, ∂² = −(diag p − p pᵀ), through the lse kernel below.
        self.sum += z[a] - lse_shifted(z, m, norm);
        self.add_norm(norm);
    }

    /// Adds a log-probability computed elsewhere (its value and derivatives as they are).
    #[inline(always)]
    pub fn add(&mut self, l: T) {
        self.sum += l;
    }

    #[inline(always)]
    fn add_norm(&mut self, norm: f64) {
        self.prod *= norm;
        if self.prod > Self::BIG {
            self.logs += self.prod.ln();
            self.prod = 1.0;
        }
    }

    /// The total: Σ shift − ln Π norm.
    pub fn total(self) -> T {
        self.sum - (self.logs + self.prod.ln())
    }
}

impl LogLik<f64> {
    /// Adds ln σ(x), as [`LogLik::add_ln_sigmoid`] does (the same bits), and returns its
    /// derivative σ(−x) from the same exponential: for a hand-written gradient.
    ///
    /// ```
    /// use rlgrad::ad::LogLik;
    /// let mut ll = LogLik::<f64>::new();
    /// let slope = ll.add_ln_sigmoid_with_slope(1.0);
    /// assert!((slope - 1.0 / (1.0 + 1f64.exp())).abs() < 1e-16);
    /// ```
    #[inline(always)]
    pub fn add_ln_sigmoid_with_slope(&mut self, x: f64) -> f64 {
        let (shift, norm, e) = log_logistic_parts(x);
        let big = 1.0 / norm;
        self.sum += shift;
        self.add_norm(norm);
        if x >= 0.0 { e * big } else { big }
    }
}

/// ln Σⱼ e^(zⱼ) − ln(norm), whose value is m: the log-sum-exp without its deferred
/// logarithm, with the derivatives of the full log-sum-exp (pⱼ = e^(zⱼ − m)/norm):
/// ∇ = Σ pⱼ∇zⱼ and ∇² = Σ pⱼ∇²zⱼ + Σ pⱼ∇zⱼ∇zⱼᵀ − (Σ pⱼ∇zⱼ)(Σ pⱼ∇zⱼ)ᵀ.
///
/// With the centred dⱼ = zⱼ − value(zⱼ) (value 0, the derivatives of zⱼ), m + Σ pⱼdⱼ has the
/// first-order part, and ½Σ pⱼdⱼ² − ½(Σ pⱼdⱼ)² (value and gradient 0) adds exactly the
/// second-order terms; every value added is an exact 0, so the value is m at every order.
#[inline(always)]
fn lse_shifted<T: Scalar>(z: &[T], m: f64, norm: f64) -> T {
    if T::ORDER == 0 {
        // No derivatives: the value is m (the terms below would add exact zeros).
        return T::constant(m);
    }
    let inv = 1.0 / norm;
    let mut lin = T::constant(m);
    let mut sq = T::constant(0.0);
    let mut mean = T::constant(0.0);
    for x in z {
        let w = exp_nonpositive(x.value() - m) * inv;
        let d = *x - x.value();
        lin += d * w;
        if T::ORDER >= 2 {
            sq += d * d * (0.5 * w);
            mean += d * w;
        }
    }
    if T::ORDER >= 2 {
        lin + sq - mean * mean * 0.5
    } else {
        lin
    }
}

impl Scalar for f64 {
    const ORDER: usize = 0;
    #[inline(always)]
    fn constant(x: f64) -> Self {
        x
    }
    #[inline(always)]
    fn variable(x: f64, _k: usize) -> Self {
        x
    }
    #[inline(always)]
    fn value(self) -> f64 {
        self
    }
    #[inline(always)]
    fn chain(self, f0: f64, _f1: f64, _f2: f64) -> Self {
        f0
    }
}

/// A value with its gradient with respect to N variables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Grad<const N: usize> {
    /// The value.
    pub v: f64,
    /// ∂/∂xₖ.
    pub g: [f64; N],
}

/// A value with its gradient and Hessian with respect to N variables.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Hess<const N: usize> {
    /// The value.
    pub v: f64,
    /// ∂/∂xₖ.
    pub g: [f64; N],
    /// ∂²/∂xₖ∂xₗ (symmetric, both halves stored).
    pub h: [[f64; N]; N],
}

impl<const N: usize> Scalar for Grad<N> {
    const ORDER: usize = 1;
    #[inline(always)]
    fn constant(x: f64) -> Self {
        Grad { v: x, g: [0.0; N] }
    }
    #[inline(always)]
    fn variable(x: f64, k: usize) -> Self {
        let mut g = [0.0; N];
        g[k] = 1.0;
        Grad { v: x, g }
    }
    #[inline(always)]
    fn value(self) -> f64 {
        self.v
    }
    #[inline(always)]
    fn chain(self, f0: f64, f1: f64, _f2: f64) -> Self {
        Grad {
            v: f0,
            g: self.g.map(|x| f1 * x),
        }
    }
}

impl<const N: usize> Scalar for Hess<N> {
    const ORDER: usize = 2;
    #[inline(always)]
    fn constant(x: f64) -> Self {
        Hess {
            v: x,
            g: [0.0; N],
            h: [[0.0; N]; N],
        }
    }
    #[inline(always)]
    fn variable(x: f64, k: usize) -> Self {
        let mut s = Self::constant(x);
        s.g[k] = 1.0;
        s
    }
    #[inline(always)]
    fn value(self) -> f64 {
        self.v
    }
    #[inline(always)]
    fn chain(self, f0: f64, f1: f64, f2: f64) -> Self {
        let h = std::array::from_fn(|i| {
            std::array::from_fn(|j| f1 * self.h[i][j] + f2 * self.g[i] * self.g[j])
        });
        Hess {
            v: f0,
            g: self.g.map(|x| f1 * x),
            h,
        }
    }
}

/// Element-wise a ∘ b over arrays.
#[inline(always)]
fn zip<const N: usize>(a: [f64; N], b: [f64; N], f: impl Fn(f64, f64) -> f64) -> [f64; N] {
    std::array::from_fn(|i| f(a[i], b[i]))
}

#[inline(always)]
fn zip2<const N: usize>(
    a: [[f64; N]; N],
    b: [[f64; N]; N],
    f: impl Fn(f64, f64) -> f64,
) -> [[f64; N]; N] {
    std::array::from_fn(|i| zip(a[i], b[i], &f))
}

macro_rules! linear_ops {
    ($t:ident, $($h:ident)?) => {
        impl<const N: usize> Add for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn add(self, o: Self) -> Self {
                $t { v: self.v + o.v, g: zip(self.g, o.g, |a, b| a + b),
                     $($h: zip2(self.$h, o.$h, |a, b| a + b))? }
            }
        }
        impl<const N: usize> Sub for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn sub(self, o: Self) -> Self {
                $t { v: self.v - o.v, g: zip(self.g, o.g, |a, b| a - b),
                     $($h: zip2(self.$h, o.$h, |a, b| a - b))? }
            }
        }
        impl<const N: usize> Neg for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn neg(self) -> Self {
                $t { v: -self.v, g: self.g.map(|a| -a), $($h: self.$h.map(|r| r.map(|a| -a)))? }
            }
        }
        impl<const N: usize> Add<f64> for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn add(mut self, c: f64) -> Self {
                self.v += c;
                self
            }
        }
        impl<const N: usize> Sub<f64> for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn sub(mut self, c: f64) -> Self {
                self.v -= c;
                self
            }
        }
        impl<const N: usize> Mul<f64> for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn mul(self, c: f64) -> Self {
                $t { v: self.v * c, g: self.g.map(|a| a * c),
                     $($h: self.$h.map(|r| r.map(|a| a * c)))? }
            }
        }
        impl<const N: usize> Div<f64> for $t<N> {
            type Output = Self;
            #[inline(always)]
            fn div(self, c: f64) -> Self {
                let r = 1.0 / c;
                $t { v: self.v / c, g: self.g.map(|a| a * r),
                     $($h: self.$h.map(|row| row.map(|a| a * r)))? }
            }
        }
        impl<const N: usize> AddAssign for $t<N> {
            #[inline(always)]
            fn add_assign(&mut self, o: Self) {
                *self = *self + o;
            }
        }
        impl<const N: usize> SubAssign for $t<N> {
            #[inline(always)]
            fn sub_assign(&mut self, o: Self) {
                *self = *self - o;
            }
        }
    };
}

linear_ops!(Grad,);
linear_ops!(Hess, h);

// The product rule adds: not a typo for `*`.
#[allow(clippy::suspicious_arithmetic_impl)]
impl<const N: usize> Mul for Grad<N> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        Grad {
            v: self.v * o.v,
            g: zip(self.g, o.g, |a, b| o.v * a + self.v * b),
        }
    }
}

#[allow(clippy::suspicious_arithmetic_impl)]
impl<const N: usize> Div for Grad<N> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // q = a/b: ∇q = (∇a − q ∇b)/b.
        let q = self.v / o.v;
        let r = 1.0 / o.v;
        Grad {
            v: q,
            g: zip(self.g, o.g, |a, b| (a - q * b) * r),
        }
    }
}

#[allow(clippy::suspicious_arithmetic_impl)]
impl<const N: usize> Mul for Hess<N> {
    type Output = Self;
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        let h = std::array::from_fn(|i| {
            std::array::from_fn(|j| {
                o.v * self.h[i][j] + self.v * o.h[i][j] + self.g[i] * o.g[j] + o.g[i] * self.g[j]
            })
        });
        Hess {
            v: self.v * o.v,
            g: zip(self.g, o.g, |a, b| o.v * a + self.v * b),
            h,
        }
    }
}

#[allow(clippy::suspicious_arithmetic_impl)]
impl<const N: usize> Div for Hess<N> {
    type Output = Self;
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        // a = q b: ∇²a = b ∇²q + ∇q∇bᵀ + ∇b∇qᵀ + q ∇²b, solved for ∇²q.
        let q = self.v / o.v;
        let r = 1.0 / o.v;
        let g = zip(self.g, o.g, |a, b| (a - q * b) * r);
        let mut h = [[0.0; N]; N];
        for i in 0..N {
            for j in 0..N {
                h[i][j] = (self.h[i][j] - g[i] * o.g[j] - o.g[i] * g[j] - q * o.h[i][j]) * r;
            }
        }
        Hess { v: q, g, h }
    }
}
