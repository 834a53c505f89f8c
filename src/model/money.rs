//! Exact money: fixed-point decimal amounts, so sums never depend on the order rows arrive in.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, AddAssign, Neg, Sub, SubAssign};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Number of fractional decimal digits kept. 18 digits covers the finest rates real exports
/// carry (CUR writes up to 10–12) while leaving ±1.7e20 of range in an `i128`.
pub const SCALE: u32 = 18;
const ONE: i128 = 10i128.pow(SCALE);

/// Decimals kept in estimates (monthly figures scaled from billing, savings): a millionth of a
/// currency unit. Billed sums themselves keep every digit.
pub const ESTIMATE_DIGITS: u32 = 6;

/// An exact decimal amount of money (no currency attached; see [`crate::model::Currency`]).
///
/// Addition is integer addition, hence associative and commutative: the same rows summed in any
/// order give the same bits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Money(i128);

/// Why a decimal string could not be read as money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("empty number")]
    Empty,
    #[error("not a number: {0:?}")]
    Invalid(String),
    #[error("number out of range: {0:?}")]
    OutOfRange(String),
}

impl Money {
    pub const ZERO: Money = Money(0);

    /// Whole units (e.g. dollars).
    pub const fn from_units(units: i64) -> Money {
        Money(units as i128 * ONE)
    }

    /// The raw fixed-point value, in units of 10^-18.
    pub const fn raw(self) -> i128 {
        self.0
    }

    pub const fn from_raw(raw: i128) -> Money {
        Money(raw)
    }

    pub fn is_zero(self) -> bool {
        self.0 == 0
    }

    pub fn is_negative(self) -> bool {
        self.0 < 0
    }

    pub fn max(self, other: Money) -> Money {
        if self >= other { self } else { other }
    }

    /// Exact addition, or `None` outside the representable range (about ±1.7e20).
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }

    /// Multiplies by an integer quantity (hours, GiB, IOPS). Saturates instead of overflowing.
    pub fn times(self, n: i64) -> Money {
        Money(self.0.saturating_mul(n as i128))
    }

    /// Multiplies by the ratio `num / den`, rounding half to even at the last kept digit.
    /// Returns zero when `den` is zero.
    pub fn mul_ratio(self, num: i128, den: i128) -> Money {
        if den == 0 {
            return Money::ZERO;
        }
        let Some(product) = self.0.checked_mul(num) else {
            // Fall back to dividing first: loses digits below 10^-18 × den, never overflows.
            return Money((self.0 / den).saturating_mul(num));
        };
        Money(div_round_half_even(product, den))
    }

    /// `num / den` as a decimal fraction rounded half to even at 6 decimals (shares, coverage);
    /// `None` unless `den > 0`. Works on raw amounts or on plain counts alike.
    pub fn ratio_6dp(num: i128, den: i128) -> Option<Money> {
        if den <= 0 {
            return None;
        }
        let micros = match num.checked_mul(1_000_000) {
            Some(scaled) => Money::from_raw(scaled).mul_ratio(1, den).raw(),
            None => num / (den / 1_000_000).max(1),
        };
        Some(Money::from_raw(micros.saturating_mul(10i128.pow(12))))
    }

    /// `self / whole` as a fraction rounded to 6 decimals; `None` unless `whole > 0`.
    pub fn share_of(self, whole: Money) -> Option<Money> {
        Money::ratio_6dp(self.0, whole.0)
    }

    /// Converts a float to money, rounded half to even at 10^-6 ([`ESTIMATE_DIGITS`]). Used
    /// only where a value was computed in floating point by a rule expression; sums are still
    /// done in fixed point.
    pub fn from_f64_rounded(value: f64) -> Option<Money> {
        if !value.is_finite() || value.abs() > 1e20 {
            return None;
        }
        let micros = (value * 1e6).round_ties_even();
        Some(Money(micros as i128 * 10i128.pow(SCALE - ESTIMATE_DIGITS)))
    }

    /// An approximate float, for charts, ratios and rule expressions; never summed.
    pub fn to_f64(self) -> f64 {
        let int = self.0 / ONE;
        let frac = self.0 % ONE;
        int as f64 + frac as f64 / ONE as f64
    }

    /// Rounded half to even to `digits` decimals (for human-facing text only).
    pub fn round_dp(self, digits: u32) -> Money {
        let digits = digits.min(SCALE);
        let step = 10i128.pow(SCALE - digits);
        Money(div_round_half_even(self.0, step) * step)
    }

    /// Human text with exactly two decimals and thousands separators, e.g. `-1,234.50`.
    pub fn display_2dp(self) -> String {
        let rounded = self.round_dp(2).0;
        let negative = rounded < 0;
        let abs = rounded.unsigned_abs();
        let cents = abs / 10u128.pow(SCALE - 2);
        let int = (cents / 100).to_string();
        let mut grouped = String::with_capacity(int.len() + int.len() / 3);
        for (i, ch) in int.chars().enumerate() {
            if i > 0 && (int.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(ch);
        }
        format!("{}{}.{:02}", if negative { "-" } else { "" }, grouped, cents % 100)
    }

    /// Parses a plain or exponent-notation decimal (`12`, `-0.0042`, `1.5E-05`, `+3.`) exactly.
    /// Digits beyond 18 decimals are rounded half to even; that is the only rounding.
    pub fn parse(text: &str) -> Result<Money, MoneyError> {
        parse_bytes(text.trim().as_bytes()).map_err(|kind| match kind {
            ParseFail::Empty => MoneyError::Empty,
            ParseFail::Invalid => MoneyError::Invalid(text.to_string()),
            ParseFail::Range => MoneyError::OutOfRange(text.to_string()),
        })
    }

    /// Byte-level parse for the ingest hot path; same rules as [`Money::parse`] without trimming.
    pub fn parse_ascii(bytes: &[u8]) -> Result<Money, MoneyError> {
        parse_bytes(bytes).map_err(|kind| {
            let text = String::from_utf8_lossy(bytes).into_owned();
            match kind {
                ParseFail::Empty => MoneyError::Empty,
                ParseFail::Invalid => MoneyError::Invalid(text),
                ParseFail::Range => MoneyError::OutOfRange(text),
            }
        })
    }
}

enum ParseFail {
    Empty,
    Invalid,
    Range,
}

fn div_round_half_even(num: i128, den: i128) -> i128 {
    let q = num / den;
    let r = num % den;
    if r == 0 {
        return q;
    }
    let twice = r.unsigned_abs().saturating_mul(2);
    let den_abs = den.unsigned_abs();
    let away = (num < 0) != (den < 0);
    let step = if away { -1 } else { 1 };
    if twice > den_abs || (twice == den_abs && q % 2 != 0) { q + step } else { q }
}

fn parse_bytes(b: &[u8]) -> Result<Money, ParseFail> {
    if b.is_empty() {
        return Err(ParseFail::Empty);
    }
    match parse_plain(b) {
        Some(plain) => Ok(plain),
        None => parse_general(b),
    }
}

/// Every accepted form: signs, exponents, any number of digits (rounded past 18 decimals).
fn parse_general(b: &[u8]) -> Result<Money, ParseFail> {
    if b.is_empty() {
        return Err(ParseFail::Empty);
    }
    let mut i = 0;
    let negative = match b[0] {
        b'-' => {
            i = 1;
            true
        }
        b'+' => {
            i = 1;
            false
        }
        _ => false,
    };
    // Significant digits accumulate into `mantissa`; `exp10` is the power of ten to apply.
    let mut mantissa: i128 = 0;
    let mut exp10: i64 = 0;
    let mut digits = 0usize;
    let mut dropped_nonzero = false;
    let mut seen_dot = false;
    let mut any_digit = false;
    while i < b.len() {
        let c = b[i];
        match c {
            b'0'..=b'9' => {
                any_digit = true;
                if mantissa == 0 && c == b'0' {
                    if seen_dot {
                        exp10 -= 1;
                    }
                } else if digits < 36 {
                    mantissa = mantissa * 10 + (c - b'0') as i128;
                    digits += 1;
                    if seen_dot {
                        exp10 -= 1;
                    }
                } else {
                    // Beyond 36 significant digits: keep magnitude, remember inexactness.
                    if c != b'0' {
                        dropped_nonzero = true;
                    }
                    if !seen_dot {
                        exp10 += 1;
                    }
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' => break,
            _ => return Err(ParseFail::Invalid),
        }
        i += 1;
    }
    if !any_digit {
        return Err(ParseFail::Invalid);
    }
    if i < b.len() {
        // Exponent part.
        i += 1;
        let mut exp_neg = false;
        if i < b.len() && (b[i] == b'-' || b[i] == b'+') {
            exp_neg = b[i] == b'-';
            i += 1;
        }
        if i >= b.len() {
            return Err(ParseFail::Invalid);
        }
        let mut e: i64 = 0;
        while i < b.len() {
            let c = b[i];
            if !c.is_ascii_digit() {
                return Err(ParseFail::Invalid);
            }
            e = (e * 10 + (c - b'0') as i64).min(100_000);
            i += 1;
        }
        exp10 += if exp_neg { -e } else { e };
    }
    if mantissa == 0 {
        return Ok(Money(0));
    }
    let shift = exp10 + SCALE as i64;
    let value = if shift >= 0 {
        if shift > 38 {
            return Err(ParseFail::Range);
        }
        mantissa.checked_mul(10i128.pow(shift as u32)).ok_or(ParseFail::Range)?
    } else {
        let down = -shift;
        if down > 38 {
            0
        } else {
            let den = 10i128.pow(down as u32);
            let q = mantissa / den;
            let r = mantissa % den;
            let twice = r * 2;
            let round_up = twice > den || (twice == den && (dropped_nonzero || q % 2 != 0));
            if round_up { q + 1 } else { q }
        }
    };
    Ok(Money(if negative { -value } else { value }))
}

/// The form nearly every export writes, `[-+]digits[.digits]` with at most 19 integer and
/// 18 fractional digits (36 in all), read in two `u64`s: exact without rounding, so it gives what the
/// general parser gives. Anything else (exponents, longer numbers, junk) returns `None`.
const POW10: [i128; SCALE as usize + 1] = {
    let mut table = [1i128; SCALE as usize + 1];
    let mut i = 1;
    while i < table.len() {
        table[i] = table[i - 1] * 10;
        i += 1;
    }
    table
};

#[inline]
fn parse_plain(b: &[u8]) -> Option<Money> {
    let (negative, digits) = match b.first()? {
        b'-' => (true, &b[1..]),
        b'+' => (false, &b[1..]),
        _ => (false, b),
    };
    let mut i = 0;
    let mut int: u64 = 0;
    while let Some(d) = digits.get(i).map(|c| c.wrapping_sub(b'0')).filter(|d| *d <= 9) {
        if i == 19 {
            return None;
        }
        int = int * 10 + u64::from(d);
        i += 1;
    }
    let int_len = i;
    let mut frac: u64 = 0;
    let mut frac_len = 0;
    match digits.get(i) {
        None => {}
        Some(b'.') => {
            for &c in &digits[i + 1..] {
                let d = c.wrapping_sub(b'0');
                if d > 9 || frac_len == SCALE as usize {
                    return None;
                }
                frac = frac * 10 + u64::from(d);
                frac_len += 1;
            }
        }
        Some(_) => return None,
    }
    // The general parser keeps 36 significant digits; past that the two would differ.
    let total = int_len + frac_len;
    if total == 0 || total > 36 {
        return None;
    }
    let value = i128::from(int) * ONE + i128::from(frac) * POW10[SCALE as usize - frac_len];
    Some(Money(if negative { -value } else { value }))
}

impl fmt::Display for Money {
    /// Plain decimal with every significant digit and no trailing zeros: `12.5`, `-0.0042`, `0`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let abs = self.0.unsigned_abs();
        let int = abs / ONE as u128;
        let frac = abs % ONE as u128;
        if self.0 < 0 {
            f.write_str("-")?;
        }
        write!(f, "{int}")?;
        if frac != 0 {
            let digits = format!("{frac:018}");
            write!(f, ".{}", digits.trim_end_matches('0'))?;
        }
        Ok(())
    }
}

impl FromStr for Money {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Money::parse(s)
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        Money(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Money {
    fn add_assign(&mut self, rhs: Money) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        Money(self.0.saturating_sub(rhs.0))
    }
}

impl SubAssign for Money {
    fn sub_assign(&mut self, rhs: Money) {
        self.0 = self.0.saturating_sub(rhs.0);
    }
}

impl Neg for Money {
    type Output = Money;
    fn neg(self) -> Money {
        Money(self.0.saturating_neg())
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// Serialized as a decimal string so no JSON reader turns it into a float.
impl Serialize for Money {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Money {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Text(String),
            Int(i64),
            Float(f64),
        }
        match Repr::deserialize(d)? {
            Repr::Text(t) => Money::parse(&t).map_err(serde::de::Error::custom),
            Repr::Int(i) => Ok(Money::from_units(i)),
            // A JSON float is read through its shortest round-trip text, which is what a human wrote.
            Repr::Float(x) => Money::parse(&x.to_string()).map_err(serde::de::Error::custom),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    #[test]
    fn the_plain_fast_path_agrees_with_the_general_parser() {
        let cases = [
            "0",
            "-0",
            "+0",
            "1",
            "12.5",
            "-0.0042",
            "+3.",
            ".5",
            "-.5",
            "007.100",
            "9999999999999999999",
            "9999999999999999999.999999999999999999",
            "-9999999999999999999.999999999999999999",
            "99999999999999999999",
            "1.0000000000000000005",
            "0.123456789012345678",
            "0.1234567890123456789",
            "1.5E-05",
            "1e3",
            ".",
            "-",
            "+",
            "",
            "1.2.3",
            "1,5",
            "12a",
            " 1",
            "1 ",
            "--1",
            "0x10",
        ];
        for case in cases {
            let general = parse_general(case.as_bytes()).ok();
            assert_eq!(parse_bytes(case.as_bytes()).ok(), general, "{case:?}");
            if let Some(fast) = parse_plain(case.as_bytes()) {
                assert_eq!(Some(fast), general, "{case:?}");
            }
        }
        assert!(parse_plain(b"1.20084006").is_some(), "the common case takes the fast path");
    }

    #[test]
    fn parses_plain_signed_and_exponent_forms() {
        assert_eq!(m("12").to_string(), "12");
        assert_eq!(m("-0.0042").to_string(), "-0.0042");
        assert_eq!(m("1.5E-05").to_string(), "0.000015");
        assert_eq!(m("1.5e+2").to_string(), "150");
        assert_eq!(m("+3.").to_string(), "3");
        assert_eq!(m(".5").to_string(), "0.5");
        assert_eq!(m("0.000000000000000001").raw(), 1);
        assert_eq!(m("-0").to_string(), "0");
        assert_eq!(m("00012.3400").to_string(), "12.34");
    }

    #[test]
    fn rounds_beyond_eighteen_digits_half_even() {
        assert_eq!(m("0.0000000000000000005").raw(), 0);
        assert_eq!(m("0.0000000000000000015").raw(), 2);
        assert_eq!(m("0.00000000000000000051").raw(), 1);
        assert_eq!(m("1e-40").raw(), 0);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "1e", "--1", "1,000", "$5", "NaN", "inf", "1e5x", "."] {
            assert!(Money::parse(bad).is_err(), "{bad:?} should fail");
        }
        assert!(matches!(Money::parse("1e30"), Err(MoneyError::OutOfRange(_))));
    }

    #[test]
    fn sums_do_not_depend_on_order() {
        let values: Vec<Money> =
            ["0.1", "0.2", "-0.3", "1e-18", "12345.678901234567"].iter().map(|s| m(s)).collect();
        let forward: Money = values.iter().copied().sum();
        let backward: Money = values.iter().rev().copied().sum();
        assert_eq!(forward, backward);
        assert_eq!(forward.to_string(), "12345.678901234567000001");
    }

    #[test]
    fn ratio_and_display_helpers() {
        assert_eq!(m("0.096").times(730).to_string(), "70.08");
        assert_eq!(m("10").mul_ratio(1, 3).to_string(), "3.333333333333333333");
        assert_eq!(m("1234567.125").display_2dp(), "1,234,567.12");
        assert_eq!(m("-0.005").display_2dp(), "0.00");
        assert_eq!(m("-1000.5").display_2dp(), "-1,000.50");
        assert_eq!(Money::from_f64_rounded(0.096 * 730.0).unwrap().to_string(), "70.08");
    }

    #[test]
    fn serde_round_trip_as_string() {
        let v = m("-12.0042");
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, "\"-12.0042\"");
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), v);
        assert_eq!(serde_json::from_str::<Money>("0.1").unwrap(), m("0.1"));
    }
}
