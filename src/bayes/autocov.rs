//! Autocovariances of several centred chains, averaged over the chains, for the ESS:
//! the first lags by direct sums, and all lags at once by FFT when a chain mixes so slowly
//! that Geyer's sequence reaches far (then the direct sums would cost O(n) per lag).
//!
//! Both give the biased autocovariance γₜ = (1/n) Σᵢ cᵢ cᵢ₊ₜ of each chain, averaged over the
//! chains (as ArviZ's FFT does); they differ only by rounding (about 1e-16 of γ₀).

use std::f64::consts::PI;

/// The mean over chains of their lag-t autocovariances, computed on demand.
pub(super) struct Autocov<'a> {
    /// `rows` centred chains of `len` draws, row-major.
    centred: &'a [f64],
    rows: usize,
    len: usize,
    /// Every lag, once a lag at or beyond `fft_from` was asked for.
    all: Option<Vec<f64>>,
    /// The first lag that switches to the FFT: about where the direct sums' cost, rows · len
    /// per lag, passes that of the FFTs, (rows/2 + 1) transforms of O(m log m).
    fft_from: usize,
}

impl<'a> Autocov<'a> {
    /// For `rows` centred chains of `len` ≥ 2 draws (row-major).
    pub(super) fn new(centred: &'a [f64], rows: usize, len: usize) -> Self {
        let m = (2 * len).next_power_of_two();
        let log_m = m.trailing_zeros() as usize;
        let fft_cost = 2 * (rows / 2 + 1) * m * log_m;
        Autocov {
            centred,
            rows,
            len,
            all: None,
            fft_from: (fft_cost / (rows * len)).max(16),
        }
    }

    /// γₜ averaged over the chains, for t < len.
    pub(super) fn at(&mut self, t: usize) -> f64 {
        if self.all.is_none() && t >= self.fft_from {
            self.all = Some(by_fft(self.centred, self.rows, self.len));
        }
        match &self.all {
            Some(all) => all[t],
            None => direct(self.centred, self.rows, self.len, t),
        }
    }
}

/// γₜ by direct sums.
fn direct(centred: &[f64], rows: usize, len: usize, t: usize) -> f64 {
    centred
        .chunks_exact(len)
        .map(|c| crate::numeric::dot(&c[..len - t], &c[t..]) / len as f64)
        .sum::<f64>()
        / rows as f64
}

/// Every γₜ, t < len, by FFT: the chains zero-padded to m ≥ 2·len (so that circular lags are
/// linear ones), two real chains per complex transform (z = a + ib gives
/// |A(k)|² + |B(k)|² = (|Z(k)|² + |Z(m − k)|²)/2), their power spectra summed, and one inverse
/// transform of the sum.
fn by_fft(centred: &[f64], rows: usize, len: usize) -> Vec<f64> {
    let plan = Plan::new((2 * len).next_power_of_two());
    let m = plan.m;
    let mut power = vec![0.0; m];
    let (mut re, mut im) = (vec![0.0; m], vec![0.0; m]);
    let chains: Vec<&[f64]> = centred.chunks_exact(len).collect();
    for pair in chains.chunks(2) {
        re.fill(0.0);
        im.fill(0.0);
        re[..len].copy_from_slice(pair[0]);
        if let Some(b) = pair.get(1) {
            im[..len].copy_from_slice(b);
        }
        plan.transform(&mut re, &mut im, false);
        for k in 0..m {
            let j = (m - k) % m;
            power[k] += 0.5 * (re[k] * re[k] + im[k] * im[k] + re[j] * re[j] + im[j] * im[j]);
        }
    }
    im.fill(0.0);
    plan.transform(&mut power, &mut im, true);
    let scale = 1.0 / (m as f64 * len as f64 * rows as f64);
    power.truncate(len);
    power.iter_mut().for_each(|v| *v *= scale);
    power
}

/// A radix-2 FFT of length m (a power of two, at least 2): the twiddles of every stage,
/// stored contiguously stage after stage (sizes 2, 4, …, m: half a stage's size each).
struct Plan {
    m: usize,
    cos: Vec<f64>,
    sin: Vec<f64>,
}

impl Plan {
    fn new(m: usize) -> Self {
        // e^(−2πik/m) for k < m/2, from a quarter of the angles: e^(−2πi(k + m/4)/m) =
        // −i e^(−2πik/m).
        let quarter = (m / 4).max(1);
        let mut base = vec![(1.0, 0.0); m / 2];
        for k in 0..quarter.min(m / 2) {
            let (s, c) = (-2.0 * PI * k as f64 / m as f64).sin_cos();
            base[k] = (c, s);
            if k + quarter < m / 2 {
                base[k + quarter] = (s, -c);
            }
        }
        let (mut cos, mut sin) = (Vec::with_capacity(m), Vec::with_capacity(m));
        let mut size = 2;
        while size <= m {
            let step = m / size;
            for j in 0..size / 2 {
                let (c, s) = base[j * step];
                cos.push(c);
                sin.push(s);
            }
            size *= 2;
        }
        Plan { m, cos, sin }
    }

    /// In place, unnormalised; `inverse` conjugates the twiddles.
    fn transform(&self, re: &mut [f64], im: &mut [f64], inverse: bool) {
        let m = self.m;
        let bits = m.trailing_zeros();
        for i in 0..m {
            let j = i.reverse_bits() >> (usize::BITS - bits);
            if i < j {
                re.swap(i, j);
                im.swap(i, j);
            }
        }
        let sign = if inverse { -1.0 } else { 1.0 };
        let (mut size, mut offset) = (2, 0);
        while size <= m {
            let half = size / 2;
            let (wc, ws) = (
                &self.cos[offset..offset + half],
                &self.sin[offset..offset + half],
            );
            for (block_re, block_im) in re.chunks_exact_mut(size).zip(im.chunks_exact_mut(size)) {
                let (ar, br) = block_re.split_at_mut(half);
                let (ai, bi) = block_im.split_at_mut(half);
                for j in 0..half {
                    let (wr, wi) = (wc[j], sign * ws[j]);
                    let tr = br[j] * wr - bi[j] * wi;
                    let ti = br[j] * wi + bi[j] * wr;
                    br[j] = ar[j] - tr;
                    bi[j] = ai[j] - ti;
                    ar[j] += tr;
                    ai[j] += ti;
                }
            }
            offset += half;
            size *= 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_matches_direct_sums() {
        for (rows, len) in [(1, 2), (3, 7), (8, 250), (2, 513)] {
            // A deterministic rough sequence, centred per row.
            let mut x: Vec<f64> = (0..rows * len)
                .map(|i| ((i * 7919 % 1009) as f64 / 1009.0 - 0.5) + (i as f64 * 0.01).sin())
                .collect();
            for row in x.chunks_exact_mut(len) {
                let mean = row.iter().sum::<f64>() / len as f64;
                row.iter_mut().for_each(|v| *v -= mean);
            }
            let all = by_fft(&x, rows, len);
            let gamma0 = direct(&x, rows, len, 0);
            for (t, &g) in all.iter().enumerate() {
                let d = direct(&x, rows, len, t);
                assert!(
                    (g - d).abs() <= 1e-13 * gamma0,
                    "rows {rows}, len {len}, lag {t}: {g} vs {d}"
                );
            }
        }
    }

    #[test]
    fn switches_to_the_fft_past_its_lag() {
        let x: Vec<f64> = (0..8 * 500).map(|i| ((i % 17) as f64) - 8.0).collect();
        let mut a = Autocov::new(&x, 8, 500);
        assert!(a.fft_from >= 16 && a.fft_from < 500);
        let early = a.at(3);
        assert!(a.all.is_none());
        let late = a.at(a.fft_from);
        assert!(a.all.is_some());
        assert!((early - direct(&x, 8, 500, 3)).abs() < 1e-12);
        assert!((late - direct(&x, 8, 500, a.fft_from)).abs() < 1e-12);
    }
}
