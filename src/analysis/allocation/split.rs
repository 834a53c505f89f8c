//! Exact splits of an amount: the largest-remainder method at Money's own precision (10^-18), so
//! the parts always sum to the whole and no rounding residue exists to lose or to report.
//!
//! Each part first gets `floor(amount × weight / total)` units; the few units left (fewer than
//! the number of parts) go one each to the parts with the largest remainders, ties to the
//! earlier part. Products of two amounts do not fit in 128 bits, so they are formed in 256.

use crate::model::Money;

const LOW: u128 = u64::MAX as u128;

/// `a × b` as (high, low) 128-bit halves.
fn mul_wide(a: u128, b: u128) -> (u128, u128) {
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let low = (p00 & LOW) | (mid << 64);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    (high, low)
}

/// `(high·2^128 + low) / c` and the remainder, by shift and subtract. Needs `high < c < 2^127`,
/// which holds when the dividend is `a × b` with `a < 2^127` and `b ≤ c`.
fn div_wide(high: u128, low: u128, c: u128) -> (u128, u128) {
    let mut rem = high;
    let mut quotient = 0u128;
    for bit in (0..128).rev() {
        rem = (rem << 1) | ((low >> bit) & 1);
        quotient <<= 1;
        if rem >= c {
            rem -= c;
            quotient |= 1;
        }
    }
    (quotient, rem)
}

/// Splits `amount` into one part per weight, proportionally, exactly: the parts sum to `amount`
/// to the last unit. Negative weights count as zero; `None` when no weight is positive.
pub fn largest_remainder(amount: Money, weights: &[i128]) -> Option<Vec<Money>> {
    let mut w: Vec<u128> = weights.iter().map(|&x| x.max(0) as u128).collect();
    // Keep the total below 2^127 (see `div_wide`); shifting all weights alike keeps their
    // proportions to far more digits than money has.
    let total = loop {
        match w.iter().try_fold(0u128, |sum, &x| sum.checked_add(x)) {
            Some(total) if total < 1 << 127 => break total,
            _ => w.iter_mut().for_each(|x| *x >>= 1),
        }
    };
    if total == 0 {
        return None;
    }
    let magnitude = amount.raw().unsigned_abs();
    let mut parts = Vec::with_capacity(w.len());
    let mut given = 0u128;
    for &weight in &w {
        let (high, low) = mul_wide(magnitude, weight);
        let (q, r) = div_wide(high, low, total);
        given += q;
        parts.push((q, r));
    }
    let mut left = magnitude - given;
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| parts[b].1.cmp(&parts[a].1).then(a.cmp(&b)));
    for &i in &order {
        if left == 0 {
            break;
        }
        // Only parts with a remainder can be short of their exact share.
        if parts[i].1 > 0 {
            parts[i].0 += 1;
            left -= 1;
        }
    }
    debug_assert_eq!(left, 0, "largest remainder left units over");
    let sign = if amount.is_negative() { -1 } else { 1 };
    Some(parts.into_iter().map(|(q, _)| Money::from_raw(sign * q as i128)).collect())
}

/// Splits `amount` evenly into `n` parts (the first parts get the extra units).
pub fn even(amount: Money, n: usize) -> Option<Vec<Money>> {
    largest_remainder(amount, &vec![1; n])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        s.parse().unwrap()
    }

    #[test]
    fn wide_multiplication_and_division_are_exact() {
        let a = u128::MAX >> 1;
        let (high, low) = mul_wide(a, a);
        // (2^127 - 1)^2 = 2^254 - 2^128 + 1
        assert_eq!(high, (1u128 << 126) - 1);
        assert_eq!(low, 1);
        assert_eq!(div_wide(high, low, a), (a, 0));
        let (q, r) = div_wide(0, 100, 7);
        assert_eq!((q, r), (14, 2));
    }

    #[test]
    fn thirds_keep_every_unit() {
        let parts = even(m("100"), 3).unwrap();
        assert_eq!(parts[0].to_string(), "33.333333333333333334");
        assert_eq!(parts[1].to_string(), "33.333333333333333333");
        assert_eq!(parts[2].to_string(), "33.333333333333333333");
        assert_eq!(parts.iter().copied().sum::<Money>(), m("100"));
    }

    #[test]
    fn proportional_parts_follow_the_weights_and_sum_exactly() {
        // 10 split 1 : 2 : 3 → 1.666…7, 3.333…3, 5
        let w = [m("1").raw(), m("2").raw(), m("3").raw()];
        let parts = largest_remainder(m("10"), &w).unwrap();
        assert_eq!(parts[0].to_string(), "1.666666666666666667");
        assert_eq!(parts[1].to_string(), "3.333333333333333333");
        assert_eq!(parts[2].to_string(), "5");
        // Large amounts (products past 2^128) and a negative amount.
        let big = [m("98765432.123456789012345678").raw(), m("12345678.9").raw()];
        let amount = m("-55555555.555555555555555555");
        let parts = largest_remainder(amount, &big).unwrap();
        assert_eq!(parts.iter().copied().sum::<Money>(), amount);
        assert!(parts.iter().all(|p| p.is_negative()));
        // Negative weights count as nothing; all nothing is no split.
        let parts = largest_remainder(m("7"), &[m("-5").raw(), m("2").raw()]).unwrap();
        assert_eq!(parts, [Money::ZERO, m("7")]);
        assert_eq!(largest_remainder(m("7"), &[0, -1]), None);
        assert_eq!(even(m("7"), 0), None);
    }
}
