//! A gzip decoder that knows where each member starts.
//!
//! CommonCrawl writes one gzip member per WARC record, and its index addresses a record by the
//! compressed offset of its member. `flate2::MultiGzDecoder` hides member boundaries, so this
//! decoder drives raw inflate itself, parses each member header, checks each trailer's CRC-32 and
//! length, and records `(uncompressed offset, compressed offset)` for every member start. A stream
//! that ends inside a member is reported as a truncation naming the member's compressed offset,
//! instead of silently yielding a short record.
//!
//! Speed: when a whole member is in the input buffer (every CommonCrawl WET record is), it is
//! inflated in one call by libdeflate ([`whole`]), about 1.6x faster than streaming inflate; any
//! member that is not whole in the buffer, does not fit the output buffer, or fails there (corrupt,
//! truncated) is inflated by the streaming path instead, which reports the precise error.

use std::collections::VecDeque;
use std::io::{self, BufRead, Read};

use flate2::{Decompress, FlushDecompress, Status};

const IN_BUF: usize = 2 * 1024 * 1024;
/// Below this many buffered input bytes the buffer is refilled before a one-shot attempt, so that
/// members up to this compressed size are always whole in it.
const WHOLE_MIN_INPUT: usize = 256 * 1024;
const OUT_BUF: usize = 1024 * 1024;
/// How many member boundaries we remember: the reader asks only about recent positions.
const KEEP_BOUNDARIES: usize = 64;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    /// Before a member header (or at the clean end of the stream).
    Header,
    /// Inside a member's deflate data.
    Body,
    Done,
}

pub struct GzMembers<R> {
    inner: R,
    inbuf: Box<[u8]>,
    in_pos: usize,
    in_len: usize,
    /// Compressed bytes consumed before `inbuf[0]`.
    in_base: u64,
    inner_eof: bool,
    outbuf: Box<[u8]>,
    out_pos: usize,
    out_len: usize,
    /// Uncompressed bytes handed out before `outbuf[0]`.
    out_base: u64,
    state: State,
    inflate: Decompress,
    /// One-shot inflater; `None` if libdeflate could not allocate one (then everything streams).
    whole: Option<whole::WholeInflater>,
    /// CRC-32 and length (mod 2^32) of the current member's output so far.
    crc: u32,
    amount: u32,
    member_start: u64,
    boundaries: VecDeque<(u64, u64)>,
    members: u64,
}

impl<R: Read> GzMembers<R> {
    pub fn new(inner: R) -> Self {
        GzMembers {
            inner,
            inbuf: vec![0; IN_BUF].into_boxed_slice(),
            in_pos: 0,
            in_len: 0,
            in_base: 0,
            inner_eof: false,
            outbuf: vec![0; OUT_BUF].into_boxed_slice(),
            out_pos: 0,
            out_len: 0,
            out_base: 0,
            state: State::Header,
            inflate: Decompress::new(false),
            whole: whole::WholeInflater::new(),
            crc: 0,
            amount: 0,
            member_start: 0,
            boundaries: VecDeque::new(),
            members: 0,
        }
    }

    /// The compressed offset of the member that starts exactly at uncompressed offset `pos`, if any.
    pub fn member_at(&self, pos: u64) -> Option<u64> {
        // Boundaries are in increasing uncompressed order (an empty member shares its start with
        // the next one: the last of them is the member whose bytes start there). The reader asks
        // about the newest members: look at those first, from the newest, before searching.
        for &(u, c) in self.boundaries.iter().rev().take(4) {
            if u == pos {
                return Some(c);
            }
            if u < pos {
                return None;
            }
        }
        let i = self.boundaries.partition_point(|(u, _)| *u <= pos);
        i.checked_sub(1)
            .map(|i| self.boundaries[i])
            .filter(|(u, _)| *u == pos)
            .map(|(_, c)| c)
    }

    /// The first member start strictly between uncompressed offsets `lo` and `hi`, if any.
    pub fn member_between(&self, lo: u64, hi: u64) -> Option<u64> {
        // The first start after `lo` is among the newest members in the reader's questions: walk
        // back from the newest while starts are after `lo`, and search only past four.
        let mut first_after = None;
        for (k, &(u, _)) in self.boundaries.iter().rev().enumerate() {
            if u <= lo {
                return first_after.filter(|u| *u < hi);
            }
            if k == 4 {
                break;
            }
            first_after = Some(u);
        }
        first_after?; // no boundaries at all
        let i = self.boundaries.partition_point(|(u, _)| *u <= lo);
        self.boundaries.get(i).map(|(u, _)| *u).filter(|u| *u < hi)
    }

    /// Number of members started so far.
    pub fn members(&self) -> u64 {
        self.members
    }

    fn compressed_pos(&self) -> u64 {
        self.in_base + self.in_pos as u64
    }

    /// Makes at least `n` unread input bytes available unless the input ends first; returns how many
    /// are available.
    fn fill_input(&mut self, n: usize) -> io::Result<usize> {
        while self.in_len - self.in_pos < n && !self.inner_eof {
            if self.in_pos > 0 {
                self.inbuf.copy_within(self.in_pos..self.in_len, 0);
                self.in_base += self.in_pos as u64;
                self.in_len -= self.in_pos;
                self.in_pos = 0;
            }
            let got = match self.inner.read(&mut self.inbuf[self.in_len..]) {
                Ok(g) => g,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if got == 0 {
                self.inner_eof = true;
            }
            self.in_len += got;
        }
        Ok(self.in_len - self.in_pos)
    }

    fn bad(&self, at: u64, what: &str) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{what} at compressed offset {at}"),
        )
    }

    /// Parses a member header; returns false at a clean end of input.
    fn read_header(&mut self) -> io::Result<bool> {
        if self.fill_input(10)? == 0 {
            return Ok(false);
        }
        let start = self.compressed_pos();
        let avail = self.in_len - self.in_pos;
        let h = &self.inbuf[self.in_pos..self.in_len];
        if avail < 2 || h[0] != 0x1f || h[1] != 0x8b {
            return Err(self.bad(start, "not a gzip member (bad magic bytes)"));
        }
        if avail < 10 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("truncated gzip header at compressed offset {start}"),
            ));
        }
        if h[2] != 8 {
            return Err(self.bad(start, "unsupported gzip compression method"));
        }
        let flags = h[3];
        self.in_pos += 10;
        if flags & 0x04 != 0 {
            // FEXTRA: two-byte little-endian length, then that many bytes.
            if self.fill_input(2)? < 2 {
                return Err(self.truncated(start));
            }
            let len = u16::from_le_bytes([self.inbuf[self.in_pos], self.inbuf[self.in_pos + 1]]);
            self.in_pos += 2;
            self.skip_input(len as usize, start)?;
        }
        for flag in [0x08u8, 0x10] {
            // FNAME, FCOMMENT: zero-terminated strings.
            if flags & flag != 0 {
                loop {
                    if self.fill_input(1)? == 0 {
                        return Err(self.truncated(start));
                    }
                    let b = self.inbuf[self.in_pos];
                    self.in_pos += 1;
                    if b == 0 {
                        break;
                    }
                }
            }
        }
        if flags & 0x02 != 0 {
            self.skip_input(2, start)?; // FHCRC
        }
        self.member_start = start;
        self.members += 1;
        if self.boundaries.len() == KEEP_BOUNDARIES {
            self.boundaries.pop_front();
        }
        self.boundaries
            .push_back((self.out_base + self.out_len as u64, start));
        Ok(true)
    }

    fn skip_input(&mut self, mut n: usize, start: u64) -> io::Result<()> {
        while n > 0 {
            let avail = self.fill_input(1)?;
            if avail == 0 {
                return Err(self.truncated(start));
            }
            let k = avail.min(n);
            self.in_pos += k;
            n -= k;
        }
        Ok(())
    }

    fn truncated(&self, start: u64) -> io::Error {
        io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("truncated gzip member starting at compressed offset {start}"),
        )
    }

    fn read_trailer(&mut self) -> io::Result<()> {
        if self.fill_input(8)? < 8 {
            return Err(self.truncated(self.member_start));
        }
        let t = &self.inbuf[self.in_pos..self.in_pos + 8];
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        self.in_pos += 8;
        if crc != self.crc || isize != self.amount {
            return Err(self.bad(self.member_start, "gzip CRC or length mismatch in member"));
        }
        Ok(())
    }

    /// Inflates the member whose header was just read in one call, when it is whole in the input
    /// buffer and fits the output buffer, and checks its trailer. Returns false (having consumed
    /// nothing) when it cannot, and the caller streams the member instead.
    fn inflate_whole_member(&mut self) -> io::Result<bool> {
        if self.whole.is_none() {
            return Ok(false);
        }
        if self.in_len - self.in_pos < WHOLE_MIN_INPUT {
            self.fill_input(WHOLE_MIN_INPUT)?;
        }
        let Some(inflater) = self.whole.as_mut() else {
            return Ok(false);
        };
        let input = &self.inbuf[self.in_pos..self.in_len];
        let Some((used, made)) = inflater.inflate(input, &mut self.outbuf[self.out_len..]) else {
            return Ok(false);
        };
        let Some(t) = input.get(used..used + 8) else {
            return Ok(false);
        };
        let crc = u32::from_le_bytes([t[0], t[1], t[2], t[3]]);
        let isize = u32::from_le_bytes([t[4], t[5], t[6], t[7]]);
        if crc != whole::crc32(0, &self.outbuf[self.out_len..self.out_len + made])
            || isize != made as u32
        {
            // Let the streaming path find and report the fault.
            return Ok(false);
        }
        self.in_pos += used + 8;
        self.out_len += made;
        Ok(true)
    }

    /// Produces the next chunk of output into `outbuf`; leaves `out_len == 0` at the end.
    fn produce(&mut self) -> io::Result<()> {
        self.out_base += self.out_len as u64;
        self.out_pos = 0;
        self.out_len = 0;
        loop {
            match self.state {
                State::Done => return Ok(()),
                State::Header => {
                    if self.read_header()? {
                        if self.inflate_whole_member()? {
                            // Still at a member boundary: the chunk is the whole member.
                            if self.out_len > 0 {
                                return Ok(());
                            }
                            continue;
                        }
                        self.inflate.reset(false);
                        self.crc = 0;
                        self.amount = 0;
                        self.state = State::Body;
                    } else {
                        self.state = State::Done;
                        return Ok(());
                    }
                }
                State::Body => {
                    if self.in_pos == self.in_len && self.fill_input(1)? == 0 {
                        return Err(self.truncated(self.member_start));
                    }
                    let before_in = self.inflate.total_in();
                    let before_out = self.inflate.total_out();
                    let status = self
                        .inflate
                        .decompress(
                            &self.inbuf[self.in_pos..self.in_len],
                            &mut self.outbuf[self.out_len..],
                            FlushDecompress::None,
                        )
                        .map_err(|e| {
                            self.bad(self.member_start, &format!("corrupt deflate data ({e})"))
                        })?;
                    let used = (self.inflate.total_in() - before_in) as usize;
                    let made = (self.inflate.total_out() - before_out) as usize;
                    self.in_pos += used;
                    self.crc =
                        whole::crc32(self.crc, &self.outbuf[self.out_len..self.out_len + made]);
                    self.amount = self.amount.wrapping_add(made as u32);
                    self.out_len += made;
                    match status {
                        Status::StreamEnd => {
                            self.read_trailer()?;
                            self.state = State::Header;
                            // A member boundary ends the chunk so the next member's start offset is
                            // known exactly when its first byte is handed out.
                            if self.out_len > 0 {
                                return Ok(());
                            }
                        }
                        Status::Ok | Status::BufError => {
                            if self.out_len == self.outbuf.len() {
                                return Ok(());
                            }
                            if used == 0 && made == 0 {
                                // Inflate wants more input than we have: fetch more.
                                let have = self.in_len - self.in_pos;
                                if self.fill_input(have + 1)? == have {
                                    return Err(self.truncated(self.member_start));
                                }
                            } else if self.out_len > 0 && used == 0 {
                                return Ok(());
                            }
                        }
                    }
                }
            }
        }
    }
}

impl<R: Read> Read for GzMembers<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let avail = self.fill_buf()?;
        let n = avail.len().min(buf.len());
        buf[..n].copy_from_slice(&avail[..n]);
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for GzMembers<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.out_pos == self.out_len {
            self.produce()?;
        }
        Ok(&self.outbuf[self.out_pos..self.out_len])
    }

    fn consume(&mut self, amt: usize) {
        self.out_pos = (self.out_pos + amt).min(self.out_len);
    }
}

/// libdeflate's one-shot raw-deflate decompressor, behind a safe interface.
mod whole {
    #![allow(unsafe_code)]

    use std::ptr::NonNull;

    use libdeflate_sys::{
        libdeflate_alloc_decompressor, libdeflate_crc32, libdeflate_decompressor,
        libdeflate_deflate_decompress_ex, libdeflate_free_decompressor,
        libdeflate_result_LIBDEFLATE_SUCCESS,
    };

    pub struct WholeInflater {
        ptr: NonNull<libdeflate_decompressor>,
    }

    // SAFETY: a libdeflate decompressor is plain heap state with no tie to the thread that made
    // it; `inflate` takes `&mut self`, so it is never used from two threads at once.
    unsafe impl Send for WholeInflater {}

    impl WholeInflater {
        /// `None` when libdeflate cannot allocate (out of memory).
        pub fn new() -> Option<Self> {
            // SAFETY: no preconditions; the result is checked for null.
            NonNull::new(unsafe { libdeflate_alloc_decompressor() })
                .map(|ptr| WholeInflater { ptr })
        }

        /// Inflates one complete raw deflate stream starting at `input[0]` into `out`. Returns
        /// `(compressed bytes used, bytes written)`, or `None` when the stream is corrupt, is not
        /// complete within `input`, or does not fit in `out`.
        pub fn inflate(&mut self, input: &[u8], out: &mut [u8]) -> Option<(usize, usize)> {
            let mut used = 0usize;
            let mut made = 0usize;
            // SAFETY: `ptr` is a live decompressor owned by `self` (exclusive through `&mut`);
            // the input and output pointers come from slices valid for the lengths passed, which
            // libdeflate never exceeds; the two result pointers are valid locals.
            let result = unsafe {
                libdeflate_deflate_decompress_ex(
                    self.ptr.as_ptr(),
                    input.as_ptr().cast(),
                    input.len(),
                    out.as_mut_ptr().cast(),
                    out.len(),
                    &mut used,
                    &mut made,
                )
            };
            (result == libdeflate_result_LIBDEFLATE_SUCCESS
                && used <= input.len()
                && made <= out.len())
            .then_some((used, made))
        }
    }

    /// Extends the gzip CRC-32 `crc` (0 to start) over `data`.
    pub fn crc32(crc: u32, data: &[u8]) -> u32 {
        // SAFETY: the pointer and length come from one slice; libdeflate only reads it.
        unsafe { libdeflate_crc32(crc, data.as_ptr().cast(), data.len()) }
    }

    impl Drop for WholeInflater {
        fn drop(&mut self) {
            // SAFETY: `ptr` came from `libdeflate_alloc_decompressor` and is freed once, here.
            unsafe { libdeflate_free_decompressor(self.ptr.as_ptr()) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn member(data: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    /// All the output, and `(uncompressed, compressed)` offsets of the member starts seen.
    fn drain(d: &mut GzMembers<&[u8]>) -> (Vec<u8>, Vec<(u64, u64)>) {
        let mut out = Vec::new();
        let mut starts = Vec::new();
        loop {
            let pos = out.len() as u64;
            let chunk = d.fill_buf().unwrap().to_vec();
            if chunk.is_empty() {
                break;
            }
            if let Some(c) = d.member_at(pos) {
                starts.push((pos, c));
            }
            out.extend_from_slice(&chunk);
            d.consume(chunk.len());
        }
        (out, starts)
    }

    #[test]
    fn reads_members_and_their_offsets() {
        let a = member(b"first record\n");
        let b = member(&vec![b'x'; 700_000]);
        let c = member(b"third");
        let mut all = a.clone();
        all.extend_from_slice(&b);
        all.extend_from_slice(&c);
        let mut d = GzMembers::new(&all[..]);
        let (out, starts) = drain(&mut d);
        assert_eq!(out.len(), 13 + 700_000 + 5);
        assert_eq!(&out[..13], b"first record\n");
        assert_eq!(
            starts,
            vec![
                (0, 0),
                (13, a.len() as u64),
                (700_013, (a.len() + b.len()) as u64)
            ]
        );
        assert_eq!(d.members(), 3);
    }

    /// Members the one-shot path cannot take (compressed bigger than the input buffer, output
    /// bigger than the output buffer) stream instead, between members it takes; the bytes and the
    /// member offsets are the same either way.
    #[test]
    fn big_members_stream_between_whole_ones() {
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..IN_BUF + 300_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let parts: Vec<Vec<u8>> = vec![
            b"small one\n".to_vec(),
            noise,                   // compressed size > IN_BUF: never whole in the buffer
            vec![b'z'; OUT_BUF * 3], // output > OUT_BUF
            b"small two\n".to_vec(),
        ];
        let members: Vec<Vec<u8>> = parts.iter().map(|p| member(p)).collect();
        assert!(members[1].len() > IN_BUF);
        let all: Vec<u8> = members.concat();
        let mut d = GzMembers::new(&all[..]);
        let (out, starts) = drain(&mut d);
        assert!(out == parts.concat(), "decompressed bytes differ");
        let mut want = Vec::new();
        let (mut u, mut c) = (0u64, 0u64);
        for (p, m) in parts.iter().zip(&members) {
            want.push((u, c));
            u += p.len() as u64;
            c += m.len() as u64;
        }
        assert_eq!(starts, want);
        assert_eq!(d.members(), 4);
    }

    #[test]
    fn truncation_is_an_error_naming_the_member() {
        let a = member(b"complete member\n");
        let b = member(
            &(0..200_000u32)
                .map(|i| (i * 7 % 251) as u8)
                .collect::<Vec<_>>(),
        );
        let mut all = a.clone();
        all.extend_from_slice(&b[..b.len() / 2]);
        let mut d = GzMembers::new(&all[..]);
        let mut sink = Vec::new();
        let err = d.read_to_end(&mut sink).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            err.to_string().contains(&format!("offset {}", a.len())),
            "{err}"
        );
    }

    #[test]
    fn bad_crc_and_garbage_are_errors() {
        let mut a = member(b"hello world\n");
        let n = a.len();
        a[n - 8] ^= 0xff;
        let err = GzMembers::new(&a[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("CRC"), "{err}");

        let mut b = member(b"hello\n");
        b.extend_from_slice(b"trailing junk");
        let err = GzMembers::new(&b[..])
            .read_to_end(&mut Vec::new())
            .unwrap_err();
        assert!(err.to_string().contains("not a gzip member"), "{err}");
    }

    /// The boundary lookups (which look at the newest members first) agree with a plain scan of
    /// every member start, for positions near and far from the newest member and with empty
    /// members sharing a start.
    #[test]
    fn boundary_lookups_agree_with_a_scan() {
        let parts: Vec<&[u8]> = vec![
            b"aaaa",
            b"",
            b"bbbbbb",
            b"c",
            b"",
            b"",
            b"dddddddd",
            b"ee",
            b"fff",
            b"",
            b"gggg",
        ];
        let all: Vec<u8> = parts.iter().flat_map(|p| member(p)).collect();
        let mut d = GzMembers::new(&all[..]);
        let mut out = Vec::new();
        loop {
            let chunk = d.fill_buf().unwrap().to_vec();
            if chunk.is_empty() {
                break;
            }
            out.extend_from_slice(&chunk);
            d.consume(chunk.len());
        }
        assert_eq!(out, parts.concat());
        // Every member start, in order: (uncompressed, compressed).
        let mut starts = Vec::new();
        let (mut u, mut c) = (0u64, 0u64);
        for p in &parts {
            starts.push((u, c));
            u += p.len() as u64;
            c += member(p).len() as u64;
        }
        let end = u;
        for pos in 0..=end + 1 {
            // The last member starting at `pos` is the one whose bytes start there.
            let want = starts
                .iter()
                .rev()
                .find(|(s, _)| *s == pos)
                .map(|(_, c)| *c);
            assert_eq!(d.member_at(pos), want, "member_at({pos})");
            for hi in pos..=end + 2 {
                let want = starts
                    .iter()
                    .map(|(s, _)| *s)
                    .find(|s| *s > pos)
                    .filter(|s| *s < hi);
                assert_eq!(
                    d.member_between(pos, hi),
                    want,
                    "member_between({pos}, {hi})"
                );
            }
        }
    }

    #[test]
    fn empty_input_is_an_empty_stream() {
        let mut out = Vec::new();
        GzMembers::new(&b""[..]).read_to_end(&mut out).unwrap();
        assert!(out.is_empty());
    }
}
