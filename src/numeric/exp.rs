//! The inlined exponential and the kernels built on it: e^x for x ≤ 0, tanh, the logistic
//! pair σ(x), σ(−x), softplus with its derivatives, and ln σ(x) split for accumulation.
//!
//! Each is within a few ulp of the correctly rounded value (measured in `tests/suite/numeric.rs`
//! over a sweep of every decade of the double range) and costs one inlined exponential.

/// 2^(j/128) for j = 0..127, each the double nearest the exact value (generated with
/// 60-digit decimal arithmetic).
#[rustfmt::skip]
#[allow(clippy::approx_constant)] // entry 64 is √2, rounded like the others
const EXP2_TABLE: [f64; 128] = [
    1.0, 1.0054299011128027, 1.0108892860517005, 1.016378314910953,
    1.0218971486541166, 1.0274459491187637, 1.0330248790212284, 1.0386341019613787,
    1.0442737824274138, 1.0499440858006872, 1.0556451783605572, 1.061377227289262,
    1.0671404006768237, 1.0729348675259756, 1.0787607977571199, 1.0846183622133092,
    1.0905077326652577, 1.0964290818163769, 1.102382583307841, 1.1083684117236787,
    1.1143867425958924, 1.1204377524096067, 1.1265216186082418, 1.1326385195987192,
    1.1387886347566916, 1.1449721444318042, 1.1511892299529827, 1.1574400736337511,
    1.1637248587775775, 1.1700437696832502, 1.1763969916502812, 1.182784710984341,
    1.189207115002721, 1.1956643920398273, 1.202156731452703, 1.2086843236265816,
    1.215247359980469, 1.2218460329727576, 1.22848053610687, 1.2351510639369334,
    1.241857812073484, 1.2486009771892048, 1.255380757024691, 1.2621973503942507,
    1.2690509571917332, 1.275941778396392, 1.2828700160787783, 1.2898358734066657,
    1.2968395546510096, 1.3038812651919358, 1.3109612115247644, 1.318079601266064,
    1.3252366431597413, 1.3324325470831615, 1.339667524053303, 1.3469417862329458,
    1.3542555469368927, 1.3616090206382248, 1.3690024229745905, 1.3764359707545302,
    1.383909881963832, 1.3914243757719262, 1.3989796725383112, 1.4065759938190154,
    1.4142135623730951, 1.4218926021691656, 1.42961333839197, 1.4373759974489824,
    1.4451808069770467, 1.4530279958490526, 1.460917794180647, 1.4688504333369818,
    1.4768261459394993, 1.4848451658727524, 1.4929077282912648, 1.5010140696264256,
    1.5091644275934228, 1.5173590411982147, 1.5255981507445384, 1.533881997840956,
    1.5422108254079407, 1.550584877685, 1.559004400237837, 1.567469639965553,
    1.5759808451078865, 1.5845382652524937, 1.593142151342267, 1.6017927556826934,
    1.6104903319492543, 1.6192351351948637, 1.6280274218573478, 1.6368674497669644,
    1.645755478153965, 1.6546917676561943, 1.6636765803267364, 1.6727101796415966,
    1.681792830507429, 1.6909247992693053, 1.7001063537185235, 1.709337763100463,
    1.718619298122478, 1.7279512309618377, 1.7373338352737062, 1.746767386199169,
    1.7562521603732995, 1.7657884359332727, 1.7753764925265212, 1.785016611318935,
    1.7947090750031072, 1.804454167806624, 1.8142521755003989, 1.8241033854070534,
    1.8340080864093424, 1.843966568958626, 1.8539791250833855, 1.864046048397789,
    1.8741676341103, 1.8843441790323345, 1.8945759815869656, 1.9048633418176741,
    1.9152065613971474, 1.925605943636125, 1.9360617934922943, 1.9465744175792332,
    1.9571441241754002, 1.9677712232331759, 1.978456026387951, 1.9891988469672663,
];

/// e^x for x ≤ 0, inlined: within 2 ulp of the correctly rounded value (tested against
/// `f64::exp` over the whole range).
///
/// The softmax only ever exponentiates non-positive numbers (logits minus their maximum), once
/// per trial and action, so this is the innermost operation of a likelihood evaluation. A call
/// into the system `exp` costs a call and spills every live floating-point register; this
/// inline version is the table method: x = (128·m + j)·ln 2/128 + r with |r| ≤ ln 2/256,
/// e^x = 2^m · 2^(j/128) · e^r, e^r − 1 by a degree-5 polynomial (truncation error below
/// 10⁻¹⁸), and 2^m built from bits. Outside [−700, 0] (results near the subnormal range,
/// positive or NaN input) it falls back to `f64::exp`.
///
/// ```
/// use rlgrad::numeric::exp_nonpositive;
/// assert_eq!(exp_nonpositive(0.0), 1.0);
/// assert!((exp_nonpositive(-1.0) - (-1.0f64).exp()).abs() <= f64::EPSILON);
/// assert_eq!(exp_nonpositive(-800.0), 0.0);
/// assert_eq!(exp_nonpositive(1.0), 1.0f64.exp());
/// ```
#[inline(always)]
pub fn exp_nonpositive(x: f64) -> f64 {
    const INV_STEP: f64 = 128.0 * std::f64::consts::LOG2_E;
    // ln 2 / 128 split so that k·STEP_HI is exact for |k| < 2¹⁷ (fdlibm's ln 2 split / 128).
    const STEP_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000) / 128.0;
    const STEP_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76) / 128.0;
    // Adding 1.5·2⁵² rounds to an integer held in the low mantissa bits.
    const SHIFTER: f64 = 6_755_399_441_055_744.0;
    if !(-700.0..=0.0).contains(&x) {
        return x.exp();
    }
    let shifted = x * INV_STEP + SHIFTER;
    let kf = shifted - SHIFTER;
    let k = (shifted.to_bits() as i64).wrapping_sub(SHIFTER.to_bits() as i64);
    let r = (x - kf * STEP_HI) - kf * STEP_LO;
    let t = EXP2_TABLE[(k & 127) as usize];
    let r2 = r * r;
    // e^r − 1 = r + r²/2 + r³/6 + r⁴/24 + r⁵/120
    let em1 = r + r2 * (0.5 + r * (1.0 / 6.0)) + (r2 * r2) * (1.0 / 24.0 + r * (1.0 / 120.0));
    // 2^m, m = floor(k / 128) ∈ [−1010, 0]: a normal number built from its exponent bits.
    let scale = f64::from_bits((((k >> 7) + 1023) as u64) << 52);
    (t + t * em1) * scale
}

/// tanh x for f64, within 3 ulp of `f64::tanh` (tested) and about 2.5 times faster, because
/// the exponential is the inlined [`exp_nonpositive`]: for |x| ≥ 0.625,
/// tanh |x| = (1 − t)/(1 + t) with t = e^(−2|x|) (no cancellation there); below, Cephes'
/// rational approximation x + x³ P(x²)/Q(x²). Total: ±1 at ±∞, NaN only for NaN.
///
/// ```
/// use rlgrad::numeric::fast_tanh;
/// assert_eq!(fast_tanh(0.0), 0.0);
/// assert!((fast_tanh(0.5) - 0.5f64.tanh()).abs() <= 2.0 * f64::EPSILON);
/// assert_eq!(fast_tanh(-1e3), -1.0);
/// ```
#[inline(always)]
pub fn fast_tanh(x: f64) -> f64 {
    let a = x.abs();
    if a < 0.625 {
        let z = x * x;
        let p = (-9.643_991_794_250_523E-1 * z - 9.928_772_310_019_185E1) * z
            - 1.614_687_684_417_084_5E3;
        let q = ((z + 1.128_116_784_916_329_3E2) * z + 2.235_488_390_601_004_5E3) * z
            + 4.844_063_053_251_255E3;
        // |x z P/Q| < |x|, so the sign is x's; copysign keeps tanh(−0) = −0.
        (x + x * z * p / q).copysign(x)
    } else {
        let t = exp_nonpositive(-2.0 * a);
        ((1.0 - t) / (1.0 + t)).copysign(x)
    }
}

/// (σ(x), σ(−x), e^(−|x|)) from one inlined exponential.
#[inline(always)]
fn logistic_parts(x: f64) -> (f64, f64, f64) {
    let e = exp_nonpositive(-x.abs());
    let big = 1.0 / (1.0 + e);
    let small = e * big;
    if x >= 0.0 {
        (big, small, e)
    } else {
        (small, big, e)
    }
}

/// (σ(x), σ(−x)) for f64 from one inlined exponential ([`exp_nonpositive`]): σ′(x) is their
/// product. No overflow at any x; each within 3 ulp of [`logistic`](super::logistic) (tested).
///
/// ```
/// use rlgrad::numeric::logistic_pair;
/// assert_eq!(logistic_pair(0.0), (0.5, 0.5));
/// let (s, c) = logistic_pair(2.0);
/// assert!((s - 1.0 / (1.0 + (-2.0f64).exp())).abs() <= f64::EPSILON && (s + c - 1.0).abs() <= f64::EPSILON);
/// assert_eq!(logistic_pair(-800.0), (0.0, 1.0));
/// ```
#[inline(always)]
pub fn logistic_pair(x: f64) -> (f64, f64) {
    let (s, c, _) = logistic_parts(x);
    (s, c)
}

/// (softplus(x), σ(x), σ(−x)) for f64 from one inlined exponential: softplus with its
/// first derivative σ(x) and second derivative σ(x)σ(−x). softplus(x) = max(x, 0) +
/// ln(1 + e^(−|x|)), within 3 ulp of [`softplus`](super::softplus) (tested).
///
/// ```
/// use rlgrad::numeric::softplus_with_logistic;
/// let (v, s, c) = softplus_with_logistic(0.0);
/// assert!((v - 2f64.ln()).abs() <= f64::EPSILON && s == 0.5 && c == 0.5);
/// assert_eq!(softplus_with_logistic(1e3).0, 1e3);
/// ```
#[inline(always)]
pub fn softplus_with_logistic(x: f64) -> (f64, f64, f64) {
    let (s, c, e) = logistic_parts(x);
    (x.max(0.0) + e.ln_1p(), s, c)
}

/// ln σ(x) = ln(1/(1 + e^(−x))), split as `shift − ln(norm)` with norm = 1 + e^(−|x|) ∈ [1, 2]:
/// returns (shift, norm, e^(−|x|)). The log-probability of the first of two logits whose
/// difference is x (the two-action softmax), from one inlined exponential.
///
/// The rounding error of 1 + e^(−|x|) is recovered exactly (Fast2Sum) and moved into the
/// shift, so that ln σ(x) near 0 (say −1e−20, where norm rounds to 1) keeps its full relative
/// accuracy. A caller that multiplies normalisers and takes one logarithm for many of them
/// (as the likelihood does) uses the parts; `shift − norm.ln()` is ln σ(x).
///
/// ```
/// use rlgrad::numeric::log_logistic_parts;
/// let (shift, norm, e) = log_logistic_parts(2.0);
/// assert!((shift - norm.ln() - (1.0 / (1.0 + (-2.0f64).exp())).ln()).abs() < 1e-15);
/// assert!((e - (-2.0f64).exp()).abs() <= 2.0 * f64::EPSILON * e);
/// let (shift, norm, _) = log_logistic_parts(46.0); // ln σ(46) ≈ −1.05e−20
/// assert!(((shift - norm.ln()) / -(-46.0f64).exp() - 1.0).abs() < 1e-15);
/// ```
#[inline(always)]
pub fn log_logistic_parts(x: f64) -> (f64, f64, f64) {
    let e = exp_nonpositive(-x.abs());
    let norm = 1.0 + e;
    // Exact rounding error of 1 + e (Fast2Sum, 1 ≥ e): ln(1 + e) = ln(norm) + lost + O(ε²).
    let lost = e - (norm - 1.0);
    (-((-x).max(0.0)) - lost, norm, e)
}
