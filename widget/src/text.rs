//! Building text without `core::fmt`: `format!`, `to_string()` on numbers and `{:02}` link the
//! formatting machinery (and a copy of its call set-up at every use) into the wasm. These few
//! helpers cover what the chat app writes: concatenations and non-negative integers.

/// Appends `n` in decimal.
pub fn push_u64(out: &mut String, mut n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf[i..].iter().for_each(|&d| out.push(char::from(d)));
}

/// `n` in decimal.
pub fn number(n: u64) -> String {
    let mut out = String::new();
    push_u64(&mut out, n);
    out
}

/// Appends `n` in decimal with at least two digits (`07`).
pub fn push_two_digits(out: &mut String, n: u64) {
    if n < 10 {
        out.push('0');
    }
    push_u64(out, n);
}

/// Appends the lowest `digits` hex digits of `n`, zero-padded (`{:08x}`).
pub fn push_hex(out: &mut String, n: u64, digits: u32) {
    for i in (0..digits).rev() {
        out.push(char::from(b"0123456789abcdef"[(n >> (i * 4) & 0xf) as usize]));
    }
}

/// The parts, one after the other (a plain loop: `[&str]::concat` is a kilobyte of wasm).
pub fn cat(parts: &[&str]) -> String {
    let mut out = String::new();
    for part in parts {
        out.push_str(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_format_writes_them() {
        for n in [0, 7, 10, 99, 1000, 4_294_967_295, u64::MAX] {
            assert_eq!(number(n), format!("{n}"));
            let mut two = String::new();
            push_two_digits(&mut two, n);
            assert_eq!(two, format!("{n:02}"));
            let mut hex = String::new();
            push_hex(&mut hex, n & 0xffff_ffff, 8);
            assert_eq!(hex, format!("{:08x}", n & 0xffff_ffff));
        }
        assert_eq!(cat(&["a", "", "bc"]), "abc");
    }
}
