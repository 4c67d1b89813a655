//! Text that compresses to about half, like prose: for tests that need an
//! encoder to stop mid-file when its client does not read.

/// Lines of pseudo-random hexadecimal words, `n` bytes.
pub fn noisy(n: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut v = Vec::with_capacity(n + 80);
    while v.len() < n {
        for _ in 0..8 {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            v.extend_from_slice(format!("{:08x} ", x >> 32).as_bytes());
        }
        v.push(b'\n');
    }
    v.truncate(n);
    v
}
