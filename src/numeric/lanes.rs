//! f64 lanes as a plain array, for kernels that evaluate several subjects at once: the
//! arithmetic, 0/1 masks, and a table-free exponential.
//!
//! [`Lanes<W>`](Lanes) is `[f64; W]` with element-wise operations written as loops over the
//! lanes. Inlined into a function compiled for a wider instruction set (the cohort kernel's
//! run-time selected copies, [`crate::cohort`]), each loop becomes one instruction: W = 8
//! fills an AVX-512 register, W = 4 an AVX2 one, W = 2 an SSE2 one. Nothing here is `unsafe`
//! and nothing names an instruction: the vectorisation is the compiler's, which is why the
//! cohort kernel's disassembly is checked in CI.
//!
//! Fused multiply-adds are chosen by the caller with the constant `FMA` ([`Lanes::mul_add`]):
//! true only in copies compiled with the `fma` feature, where `f64::mul_add` is one
//! instruction (elsewhere it is a call into libm, correct but slow).
//!
//! Choices between two values are masks or 0/1 weights ([`Lanes::ge`], [`Lanes::eq`],
//! [`Lanes::select`]), never a branch: a branch, or a select of a tuple, can stop the
//! vectoriser.

// Lane loops index two or three arrays with one index: the plain form the vectoriser sees.
#![allow(clippy::needless_range_loop)]

/// W f64 lanes: `[f64; W]` whose element-wise operations, inlined into a copy compiled for a
/// SIMD instruction set, become one instruction each (W = 8 fills an AVX-512 register, 4 an
/// AVX2 one, 2 an SSE2 one). Choices are masks or 0/1 weights, never branches; fused
/// multiply-adds are the caller's choice ([`Lanes::mul_add`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lanes<const W: usize>(pub [f64; W]);

/// The bits of 1.0, for 0/1 masks.
const ONE: u64 = 0x3ff0_0000_0000_0000;

/// 1.0 if `b`, else 0.0, as a mask of the bits of 1.0 (a compare and an `and`).
#[inline(always)]
fn one_if(b: bool) -> f64 {
    f64::from_bits(u64::from(b).wrapping_neg() & ONE)
}

impl<const W: usize> Lanes<W> {
    /// Every lane `x`.
    #[inline(always)]
    pub fn splat(x: f64) -> Self {
        Lanes([x; W])
    }

    /// The first W numbers of `x`.
    ///
    /// # Panics
    /// If `x` has fewer than W numbers.
    #[inline(always)]
    pub fn load(x: &[f64]) -> Self {
        let mut out = [0.0; W];
        out.copy_from_slice(&x[..W]);
        Lanes(out)
    }

    /// `f` lane by lane.
    #[inline(always)]
    pub fn map(self, f: impl Fn(f64) -> f64) -> Self {
        let mut out = [0.0; W];
        for l in 0..W {
            out[l] = f(self.0[l]);
        }
        Lanes(out)
    }

    /// `f` lane by lane on two operands.
    #[inline(always)]
    pub fn zip(self, other: Self, f: impl Fn(f64, f64) -> f64) -> Self {
        let mut out = [0.0; W];
        for l in 0..W {
            out[l] = f(self.0[l], other.0[l]);
        }
        Lanes(out)
    }

    /// self · b + c, fused (one rounding) when `FMA`, else a product and a sum.
    #[inline(always)]
    pub fn mul_add<const FMA: bool>(self, b: Self, c: Self) -> Self {
        let mut out = [0.0; W];
        for l in 0..W {
            out[l] = if FMA {
                self.0[l].mul_add(b.0[l], c.0[l])
            } else {
                self.0[l] * b.0[l] + c.0[l]
            };
        }
        Lanes(out)
    }

    /// 1.0 where self ≥ other, else 0.0.
    #[inline(always)]
    pub fn ge(self, other: Self) -> Self {
        self.zip(other, |a, b| one_if(a >= b))
    }

    /// 1.0 where self > other, else 0.0.
    #[inline(always)]
    pub fn gt(self, other: Self) -> Self {
        self.zip(other, |a, b| one_if(a > b))
    }

    /// 1.0 where self = other, else 0.0.
    #[inline(always)]
    pub fn eq(self, other: Self) -> Self {
        self.zip(other, |a, b| one_if(a == b))
    }

    /// `a` where the 0/1 mask `self` is 1, else `b`, by bits (a NaN or an infinity in the
    /// lane not chosen does not leak, as it would through 0/1 weights).
    #[inline(always)]
    pub fn select(self, a: Self, b: Self) -> Self {
        let mut out = [0.0; W];
        for l in 0..W {
            // 1.0 has exponent bits set; 0.0 has none: the mask is all ones or all zeros.
            let m = u64::from(self.0[l] != 0.0).wrapping_neg();
            out[l] = f64::from_bits((a.0[l].to_bits() & m) | (b.0[l].to_bits() & !m));
        }
        Lanes(out)
    }

    /// The lane-wise maximum (the second operand where one is NaN, as `maxpd` does; the
    /// kernels never pass NaN).
    #[inline(always)]
    pub fn max(self, other: Self) -> Self {
        self.zip(other, |a, b| if a > b { a } else { b })
    }

    /// The lane-wise minimum (as [`Lanes::max`]).
    #[inline(always)]
    pub fn min(self, other: Self) -> Self {
        self.zip(other, |a, b| if a < b { a } else { b })
    }

    /// |x| lane by lane.
    #[inline(always)]
    pub fn abs(self) -> Self {
        self.map(f64::abs)
    }
}

macro_rules! lane_op {
    ($trait:ident, $method:ident, $op:tt) => {
        impl<const W: usize> std::ops::$trait for Lanes<W> {
            type Output = Lanes<W>;
            #[inline(always)]
            fn $method(self, rhs: Lanes<W>) -> Lanes<W> {
                self.zip(rhs, |a, b| a $op b)
            }
        }
    };
}
lane_op!(Add, add, +);
lane_op!(Sub, sub, -);
lane_op!(Mul, mul, *);
lane_op!(Div, div, /);

impl<const W: usize> std::ops::Neg for Lanes<W> {
    type Output = Lanes<W>;
    #[inline(always)]
    fn neg(self) -> Lanes<W> {
        self.map(|x| -x)
    }
}

impl<const W: usize> std::ops::AddAssign for Lanes<W> {
    #[inline(always)]
    fn add_assign(&mut self, rhs: Lanes<W>) {
        *self = *self + rhs;
    }
}

impl<const W: usize> std::ops::MulAssign for Lanes<W> {
    #[inline(always)]
    fn mul_assign(&mut self, rhs: Lanes<W>) {
        *self = *self * rhs;
    }
}

/// e^x lane by lane for x ≤ 0, without a table: within 2 ulp of the correctly rounded value
/// down to the subnormal range, 0 below −746 (tested against `f64::exp` with and without
/// `FMA`). For x > 0 the result is not e^x; a NaN lane gives NaN.
///
/// The scalar [`exp_nonpositive`](super::exp_nonpositive) reduces by ln 2/128 and reads
/// 2^(j/128) from a table, which in lanes would be a gather; this one reduces by ln 2 alone,
/// x = k·ln 2 + r with |r| ≤ ln 2/2, and takes e^r from its Taylor polynomial of degree 13
/// (truncation below 5·10⁻¹⁸), evaluated by Estrin's scheme, so every step is plain
/// arithmetic on the lanes. 2^k is built from exponent bits in two factors,
/// 2^(k+512)·2^−512, so that results in the subnormal range are rounded once, correctly.
///
/// ```
/// use rlgrad::numeric::{Lanes, exp_nonpositive_lanes};
/// let x = Lanes([0.0, -1.0, -0.5, -700.0, -740.0, -800.0, -1e-300, -30.0]);
/// let e = exp_nonpositive_lanes::<false, 8>(x);
/// assert_eq!(e.0[0], 1.0);
/// for (got, x) in e.0.iter().zip(x.0) {
///     assert!((got - x.exp()).abs() <= 2.0 * f64::EPSILON * x.exp());
/// }
/// ```
#[inline(always)]
pub fn exp_nonpositive_lanes<const FMA: bool, const W: usize>(x: Lanes<W>) -> Lanes<W> {
    // ln 2 split so that k·LN2_HI is exact for |k| < 2²⁰ (fdlibm's split).
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // Adding 1.5·2⁵² rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    // 1/n! for n = 2 to 13: e^r − 1 = r + r²·P(r), P of degree 11.
    const C: [f64; 12] = [
        0.5,
        1.0 / 6.0,
        1.0 / 24.0,
        1.0 / 120.0,
        1.0 / 720.0,
        1.0 / 5_040.0,
        1.0 / 40_320.0,
        1.0 / 362_880.0,
        1.0 / 3_628_800.0,
        1.0 / 39_916_800.0,
        1.0 / 479_001_600.0,
        1.0 / 6_227_020_800.0,
    ];
    let mut out = [0.0; W];
    for l in 0..W {
        // Below −746 the result rounds to 0; clamping keeps k in range (a NaN stays NaN).
        let xl = if x.0[l] < -746.0 { -746.0 } else { x.0[l] };
        let shifted = fma::<FMA>(xl, std::f64::consts::LOG2_E, SHIFTER);
        let kf = shifted - SHIFTER;
        let r = fma::<FMA>(-kf, LN2_LO, fma::<FMA>(-kf, LN2_HI, xl));
        // P by Estrin's scheme: a depth of five operations instead of Horner's eleven, so
        // that the exponential of one trial does not hold up the next.
        let r2 = r * r;
        let r4 = r2 * r2;
        let r8 = r4 * r4;
        // (No `array::map` here: a closure the compiler leaves out of line loses the copy's
        // target features, and its fused multiply-add becomes a libm call.)
        let b0 = fma::<FMA>(C[1], r, C[0]);
        let b1 = fma::<FMA>(C[3], r, C[2]);
        let b2 = fma::<FMA>(C[5], r, C[4]);
        let b3 = fma::<FMA>(C[7], r, C[6]);
        let b4 = fma::<FMA>(C[9], r, C[8]);
        let b5 = fma::<FMA>(C[11], r, C[10]);
        let c0 = fma::<FMA>(b1, r2, b0);
        let c1 = fma::<FMA>(b3, r2, b2);
        let c2 = fma::<FMA>(b5, r2, b4);
        let p = fma::<FMA>(c2, r8, fma::<FMA>(c1, r4, c0));
        // e^r = 1 + r + r²·P
        let em1 = fma::<FMA>(r2, p, r);
        let k = shifted.to_bits().wrapping_sub(SHIFTER.to_bits());
        // k ∈ [−1077, 0]: 2^(k + 512) is normal; its exponent field is k + 512 + 1023.
        let scale = f64::from_bits(k.wrapping_add(1535) << 52);
        out[l] = ((1.0 + em1) * scale) * TWO_M512;
    }
    Lanes(out)
}

/// 2^−512.
const TWO_M512: f64 = f64::from_bits(511 << 52);

/// a · b + c, fused when `FMA`.
#[inline(always)]
fn fma<const FMA: bool>(a: f64, b: f64, c: f64) -> f64 {
    if FMA { a.mul_add(b, c) } else { a * b + c }
}
