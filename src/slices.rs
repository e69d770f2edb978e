//! From ndarray views at the public boundary to the plain slices the kernels take: in place
//! when a view is contiguous (the common case, no copy), copied once when it is strided.

use std::borrow::Cow;

use ndarray::{ArrayBase, Data, Dimension};

/// The view's elements as one slice in logical order: borrowed when contiguous, else copied.
#[inline]
pub(crate) fn contiguous<S, D>(a: &ArrayBase<S, D>) -> Cow<'_, [f64]>
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    match a.as_slice() {
        Some(s) => Cow::Borrowed(s),
        None => Cow::Owned(a.iter().copied().collect()),
    }
}

/// The view's slice when it is contiguous, else a copy into the front of `buf` (which has
/// room for it): no allocation either way.
#[inline]
pub(crate) fn slice_or_copy<'a, S, D>(a: &'a ArrayBase<S, D>, buf: &'a mut [f64]) -> &'a [f64]
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    match a.as_slice() {
        Some(s) => s,
        None => {
            copy_into(buf, a);
            &buf[..a.len()]
        }
    }
}

/// Copies the view's elements, in logical order, into the front of `buf` (which has room).
#[inline]
pub(crate) fn copy_into<S, D>(buf: &mut [f64], a: &ArrayBase<S, D>)
where
    S: Data<Elem = f64>,
    D: Dimension,
{
    match a.as_slice() {
        Some(s) => buf[..s.len()].copy_from_slice(s),
        None => buf.iter_mut().zip(a.iter()).for_each(|(b, x)| *b = *x),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{arr1, arr2, s};

    #[test]
    fn strided_views_are_copied_in_order() {
        let a = arr1(&[1.0, 2.0, 3.0, 4.0]);
        let strided = a.slice(s![..;2]);
        assert!(matches!(contiguous(&a.view()), Cow::Borrowed(_)));
        assert_eq!(contiguous(&strided).as_ref(), [1.0, 3.0]);
        let mut buf = [0.0; 4];
        assert_eq!(slice_or_copy(&strided, &mut buf), [1.0, 3.0]);
        let m = arr2(&[[1.0, 2.0], [3.0, 4.0]]);
        assert_eq!(contiguous(&m.t()).as_ref(), [1.0, 3.0, 2.0, 4.0]);
    }
}
