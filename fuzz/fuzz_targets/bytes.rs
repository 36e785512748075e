//! The input reader the fuzz targets share: a byte at a time, zeros once it runs out,
//! so every input decodes to something.
#![allow(dead_code)] // each target uses its own subset

/// Reads the input a byte at a time; zeros once it runs out.
pub struct Bytes<'a>(pub &'a [u8]);

impl Bytes<'_> {
    pub fn byte(&mut self) -> u8 {
        let (first, rest) = self.0.split_first().map_or((0, &[][..]), |(f, r)| (*f, r));
        self.0 = rest;
        first
    }
    pub fn i32(&mut self) -> i32 {
        i32::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }
    pub fn i64(&mut self) -> i64 {
        i64::from_le_bytes(std::array::from_fn(|_| self.byte()))
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
