//! Adler-32 (RFC 1950 section 8.2), for checking zlib trailers.
//!
//! flate2 does not expose its Adler-32, and the zlib trailer is checked here
//! (rather than by the engine) so that a wrong checksum is its own error.

/// The largest n such that 255 n (n+1) / 2 + (n+1)(BASE-1) fits in 32 bits
/// (zlib's NMAX): sums can run this long between reductions.
const NMAX: usize = 5552;
const BASE: u32 = 65521;

/// A running Adler-32.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adler32 {
    a: u32,
    b: u32,
}

impl Default for Adler32 {
    fn default() -> Self {
        Adler32 { a: 1, b: 0 }
    }
}

impl Adler32 {
    pub(crate) fn update(&mut self, data: &[u8]) {
        let (mut a, mut b) = (self.a, self.b);
        for block in data.chunks(NMAX) {
            let mut quads = block.chunks_exact(4);
            for q in &mut quads {
                a += u32::from(q[0]);
                b += a;
                a += u32::from(q[1]);
                b += a;
                a += u32::from(q[2]);
                b += a;
                a += u32::from(q[3]);
                b += a;
            }
            for &x in quads.remainder() {
                a += u32::from(x);
                b += a;
            }
            a %= BASE;
            b %= BASE;
        }
        self.a = a;
        self.b = b;
    }

    pub(crate) fn sum(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        let mut a = Adler32::default();
        assert_eq!(a.sum(), 1);
        a.update(b"Wikipedia");
        assert_eq!(a.sum(), 0x11E6_0398);
        let mut big = Adler32::default();
        let data = vec![0xffu8; 100_000];
        big.update(&data[..7]);
        big.update(&data[7..]);
        let mut naive = (1u64, 0u64);
        for &x in &data {
            naive.0 = (naive.0 + u64::from(x)) % 65521;
            naive.1 = (naive.1 + naive.0) % 65521;
        }
        assert_eq!(big.sum(), ((naive.1 << 16) | naive.0) as u32);
    }
}
