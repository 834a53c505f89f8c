//! Kubernetes resource quantities (`100m`, `704595n`, `1Gi`, `3110Mi`, `1e3`, `0.5`) parsed
//! exactly into integers: CPU in millicores, memory in bytes.
//!
//! The grammar is Kubernetes' own (`<sign><digits>[.<digits>]<suffix>`, the suffix a binary
//! SI unit `Ki`…`Ei`, a decimal SI unit `n u m k M G T P E`, or an exponent `e<n>`/`E<n>`).
//! Fractions of the target unit round up, as `Quantity.MilliValue()` and `Value()` do, so
//! `704595n` of CPU is 1 millicore, never 0.

/// Why a quantity string is not usable.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid quantity: {reason}")]
pub struct QuantityError {
    pub value: String,
    pub reason: &'static str,
}

/// CPU in millicores: `"2"` → 2000, `"250m"` → 250, `"110691045n"` → 111.
pub fn millicores(value: &str) -> Result<u64, QuantityError> {
    parse_scaled(value, 1000)
}

/// Memory (or any count) in whole units: `"1Gi"` → 1073741824, `"129Mi"`, `"1e3"` → 1000.
pub fn bytes(value: &str) -> Result<u64, QuantityError> {
    parse_scaled(value, 1)
}

fn error(value: &str, reason: &'static str) -> QuantityError {
    QuantityError { value: value.to_string(), reason }
}

/// `value × scale`, rounded up to an integer.
fn parse_scaled(value: &str, scale: u128) -> Result<u64, QuantityError> {
    let s = value.trim();
    if s.is_empty() {
        return Err(error(value, "empty"));
    }
    let (negative, s) = match s.as_bytes()[0] {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let number_end = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (number, suffix) = s.split_at(number_end);
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    if whole.is_empty() && fraction.is_empty() {
        return Err(error(value, "no digits"));
    }
    if fraction.contains('.') {
        return Err(error(value, "more than one decimal point"));
    }
    let (decimal_exponent, binary_exponent): (i64, u32) = match suffix {
        "" => (0, 0),
        "n" => (-9, 0),
        "u" => (-6, 0),
        "m" => (-3, 0),
        "k" => (3, 0),
        "M" => (6, 0),
        "G" => (9, 0),
        "T" => (12, 0),
        "P" => (15, 0),
        "E" => (18, 0),
        "Ki" => (0, 10),
        "Mi" => (0, 20),
        "Gi" => (0, 30),
        "Ti" => (0, 40),
        "Pi" => (0, 50),
        "Ei" => (0, 60),
        other => {
            let exponent = other
                .strip_prefix(['e', 'E'])
                .filter(|e| !e.is_empty())
                .ok_or_else(|| error(value, "unknown suffix"))?;
            let digits = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err(error(value, "unknown suffix"));
            }
            let e: i64 = exponent.parse().map_err(|_| error(value, "exponent out of range"))?;
            (e, 0)
        }
    };
    // All digits as one integer; leading zeros do not count towards the size.
    let digits = format!("{whole}{fraction}");
    let digits = digits.trim_start_matches('0');
    if digits.is_empty() {
        return Ok(0);
    }
    if negative {
        return Err(error(value, "negative"));
    }
    let mantissa: u128 = digits.parse().map_err(|_| error(value, "too many digits"))?;
    let exponent = decimal_exponent - fraction.len() as i64;
    let too_large = || error(value, "too large");
    let mut numerator = mantissa
        .checked_mul(scale)
        .and_then(|n| n.checked_mul(1u128 << binary_exponent))
        .ok_or_else(too_large)?;
    let mut denominator: u128 = 1;
    if exponent >= 0 {
        let factor = u32::try_from(exponent)
            .ok()
            .and_then(|e| 10u128.checked_pow(e))
            .ok_or_else(too_large)?;
        numerator = numerator.checked_mul(factor).ok_or_else(too_large)?;
    } else {
        match u32::try_from(-exponent).ok().and_then(|e| 10u128.checked_pow(e)) {
            Some(d) => denominator = d,
            // Smaller than any unit we keep, but not zero: one unit, rounding up.
            None => return Ok(1),
        }
    }
    u64::try_from(numerator.div_ceil(denominator)).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MI: u64 = 1 << 20;
    const GI: u64 = 1 << 30;

    #[test]
    fn cpu_in_every_notation() {
        assert_eq!(millicores("2").unwrap(), 2000);
        assert_eq!(millicores("100m").unwrap(), 100);
        assert_eq!(millicores("0.5").unwrap(), 500);
        assert_eq!(millicores(".5").unwrap(), 500);
        assert_eq!(millicores("1.5").unwrap(), 1500);
        // Nanocores from metrics-server round up to the next millicore.
        assert_eq!(millicores("110691045n").unwrap(), 111);
        assert_eq!(millicores("704595n").unwrap(), 1);
        assert_eq!(millicores("1000000n").unwrap(), 1);
        assert_eq!(millicores("2500u").unwrap(), 3);
        assert_eq!(millicores("0").unwrap(), 0);
        assert_eq!(millicores("0m").unwrap(), 0);
        assert_eq!(millicores("1e3").unwrap(), 1_000_000);
        assert_eq!(millicores("1e-3").unwrap(), 1);
        assert_eq!(millicores("+4").unwrap(), 4000);
        assert_eq!(millicores("1k").unwrap(), 1_000_000);
    }

    #[test]
    fn memory_in_every_notation() {
        assert_eq!(bytes("1Gi").unwrap(), GI);
        assert_eq!(bytes("3110Mi").unwrap(), 3110 * MI);
        assert_eq!(bytes("29222Mi").unwrap(), 29222 * MI);
        assert_eq!(bytes("32933444Ki").unwrap(), 32_933_444 * 1024);
        assert_eq!(bytes("1.5Gi").unwrap(), GI + GI / 2);
        assert_eq!(bytes("0.5Ki").unwrap(), 512);
        assert_eq!(bytes("1e3").unwrap(), 1000);
        assert_eq!(bytes("1E3").unwrap(), 1000);
        assert_eq!(bytes("2e+2").unwrap(), 200);
        assert_eq!(bytes("128M").unwrap(), 128_000_000);
        assert_eq!(bytes("1G").unwrap(), 1_000_000_000);
        assert_eq!(bytes("16213770240").unwrap(), 16_213_770_240);
        assert_eq!(bytes("1Ei").unwrap(), 1 << 60);
        // A fraction of a byte rounds up, as Kubernetes' Value() does.
        assert_eq!(bytes("0.5").unwrap(), 1);
        assert_eq!(bytes("100m").unwrap(), 1);
        assert_eq!(bytes("1e-50").unwrap(), 1);
        assert_eq!(bytes("007").unwrap(), 7);
    }

    #[test]
    fn rejects_what_kubernetes_rejects_and_what_cannot_fit() {
        for bad in
            ["", " ", "m", "1.2.3", "1x", "1KB", "1ki", "e3", "1e", "1e+", "Gi", "-1", "1 Gi"]
        {
            assert!(bytes(bad).is_err(), "{bad:?} should be rejected");
        }
        let e = bytes("16Ei").unwrap_err();
        assert_eq!(e.to_string(), "\"16Ei\" is not a valid quantity: too large");
        assert!(millicores("1e30").is_err());
        assert!(bytes("1e99").is_err());
        assert!(bytes("99999999999999999999999999999999999999999").is_err());
        // Minus zero is zero.
        assert_eq!(bytes("-0").unwrap(), 0);
    }
}
