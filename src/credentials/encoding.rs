//! The transport layer of a QR credential: prefix, base45 (RFC 9285) and zlib, with a cap on the
//! decompressed size so that a small QR cannot expand into an unbounded allocation.

use std::io::{Read, Write};

/// Decompressed CWTs larger than this are refused; a QR holds at most ~4 kB, and the largest
/// legitimate identity credential with a photo reference is well under 16 kB.
pub const MAX_DECOMPRESSED: usize = 64 * 1024;

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodingError {
    #[error("not valid base45")]
    Base45,
    #[error("not a valid zlib stream")]
    Zlib,
    #[error("decompressed size exceeds {0} bytes")]
    TooLarge(usize),
}

pub fn base45_encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len() * 3 / 2 + 2);
    for chunk in data.chunks(2) {
        if let [a, b] = chunk {
            let mut n = (*a as u32) * 256 + *b as u32;
            for _ in 0..3 {
                out.push(ALPHABET[(n % 45) as usize] as char);
                n /= 45;
            }
        } else {
            let mut n = chunk[0] as u32;
            for _ in 0..2 {
                out.push(ALPHABET[(n % 45) as usize] as char);
                n /= 45;
            }
        }
    }
    out
}

pub fn base45_decode(text: &str) -> Result<Vec<u8>, EncodingError> {
    let digits: Vec<u32> = text
        .bytes()
        .map(|c| ALPHABET.iter().position(|&a| a == c).map(|p| p as u32).ok_or(EncodingError::Base45))
        .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(digits.len() * 2 / 3);
    for chunk in digits.chunks(3) {
        match chunk {
            [c, d, e] => {
                let n = c + d * 45 + e * 45 * 45;
                if n > 0xffff {
                    return Err(EncodingError::Base45);
                }
                out.push((n >> 8) as u8);
                out.push((n & 0xff) as u8);
            }
            [c, d] => {
                let n = c + d * 45;
                if n > 0xff {
                    return Err(EncodingError::Base45);
                }
                out.push(n as u8);
            }
            _ => return Err(EncodingError::Base45),
        }
    }
    Ok(out)
}

pub fn compress(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    // Writing into a Vec cannot fail.
    let _ = enc.write_all(data);
    enc.finish().unwrap_or_default()
}

/// Inflates a zlib stream, refusing output beyond `cap` bytes.
pub fn decompress(data: &[u8], cap: usize) -> Result<Vec<u8>, EncodingError> {
    let mut out = Vec::new();
    let mut dec = flate2::read::ZlibDecoder::new(data).take(cap as u64 + 1);
    dec.read_to_end(&mut out).map_err(|_| EncodingError::Zlib)?;
    if out.len() > cap {
        return Err(EncodingError::TooLarge(cap));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc9285_examples() {
        assert_eq!(base45_encode(b"AB"), "BB8");
        assert_eq!(base45_encode(b"Hello!!"), "%69 VD92EX0");
        assert_eq!(base45_encode(b"base-45"), "UJCLQE7W581");
        assert_eq!(base45_decode("QED8WEX0").unwrap(), b"ietf!");
        assert_eq!(base45_decode("GGW"), Err(EncodingError::Base45));
        assert_eq!(base45_decode("abc"), Err(EncodingError::Base45));
    }

    #[test]
    fn zlib_cap() {
        let big = vec![0u8; 100_000];
        let z = compress(&big);
        assert!(z.len() < 1000);
        assert_eq!(decompress(&z, 1000), Err(EncodingError::TooLarge(1000)));
        assert_eq!(decompress(&z, 100_000).unwrap().len(), 100_000);
        assert_eq!(decompress(b"not zlib", 1000), Err(EncodingError::Zlib));
    }
}
