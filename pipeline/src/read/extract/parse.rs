//! A single-pass, bounded HTML scanner that turns a page into a flat list of text blocks.
//!
//! It is not a full HTML5 tree builder: it keeps a stack of open elements (capped in depth),
//! closes the implied ends browsers close (`<p>`, `<li>`, `<td>`, `<tr>`, `<dt>`, `<dd>`,
//! `<option>`), skips raw-text elements (`<script>`, `<style>`, ...) and records, for every run of
//! text between block-level boundaries, what the extractor needs to judge it: its text, how much of
//! it sits inside links or boilerplate-named elements, the block-level element that holds it and
//! the chain of such elements up to the root. Work is linear in the input: every byte is looked at
//! a bounded number of times and the stack never grows past [`Limits::max_depth`].

use super::names::{self, Tag};

/// Bounds on the work one page may cost.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Elements nested deeper than this are treated as transparent (their text is kept).
    pub max_depth: usize,
    /// Tags (start and end) processed before the page is given up as `too_many_tags`.
    pub max_tags: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_tags: 1_000_000,
        }
    }
}

/// Bit flags carried by elements and inherited by what they contain.
pub mod flag {
    /// Text is dropped (scripts' siblings: `<svg>`, `<select>`, hidden elements, ...).
    pub const IGNORE: u16 = 1;
    /// A boilerplate element by tag or by class/id/role (nav, footer, cookie banner, comments).
    pub const BOILER: u16 = 2;
    /// Inside a link.
    pub const LINK: u16 = 4;
    /// A positive container (article, main, `itemprop=articleBody`, class `content`/`post`...).
    pub const POSITIVE: u16 = 8;
    /// Inside a list item.
    pub const LIST: u16 = 16;
    /// Inside a table cell.
    pub const TABLE: u16 = 32;
    /// Preformatted: whitespace kept.
    pub const PRE: u16 = 64;
    /// Inside `<article>` or `<main>` (their `<header>`/`<footer>` are not page chrome).
    pub const IN_ARTICLE: u16 = 128;
    /// Boilerplate by element name (`<nav>`, `<aside>`...), as opposed to by class/id/role words.
    pub const TAG_BOILER: u16 = 256;
}

/// What kind of block a run of text is, from the block-level element around it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Heading,
    Para,
    ListItem,
    Cell,
    Pre,
    Other,
}

/// One run of text between block boundaries.
#[derive(Clone, Debug)]
pub struct Block {
    pub text: String,
    /// Characters of text (whitespace excluded).
    pub chars: u32,
    pub link_chars: u32,
    pub boiler_chars: u32,
    /// The innermost block-level element holding the text (index into [`Scan::nodes`]).
    pub node: u32,
    pub kind: Kind,
    /// Flags of that element (inherited ones included).
    pub flags: u16,
    /// A table cell that follows another cell of the same row.
    pub same_row: bool,
}

/// A block-level element: its parent and flags.
#[derive(Clone, Copy, Debug)]
pub struct Node {
    pub parent: u32,
    pub flags: u16,
    pub depth: u16,
}

/// The outcome of a scan.
#[derive(Debug, Default)]
pub struct Scan {
    pub title: Option<String>,
    pub blocks: Vec<Block>,
    /// Node 0 is the document itself.
    pub nodes: Vec<Node>,
    /// Start tags not pushed because the stack was full.
    pub too_deep: u64,
    pub tags: u64,
    /// Deepest stack reached.
    pub max_depth: usize,
}

#[derive(Debug, PartialEq, Eq)]
pub enum ScanError {
    TooManyTags,
}

#[derive(Clone, Copy)]
struct Open {
    tag: Tag,
    /// Hash of the lowercase name, for end tags of unknown elements.
    hash: u64,
    node: u32,
    flags: u16,
}

struct Builder<'a> {
    limits: Limits,
    scan: Scan,
    stack: Vec<Open>,
    text: String,
    chars: u32,
    link_chars: u32,
    boiler_chars: u32,
    space: bool,
    row_cells: u32,
    next_same_row: bool,
    src: &'a str,
}

/// Scans `html` into blocks.
pub fn scan(html: &str, limits: Limits) -> Result<Scan, ScanError> {
    let mut b = Builder {
        limits,
        scan: Scan::default(),
        stack: Vec::with_capacity(64),
        text: String::new(),
        chars: 0,
        link_chars: 0,
        boiler_chars: 0,
        space: false,
        row_cells: 0,
        next_same_row: false,
        src: html,
    };
    b.scan.nodes.push(Node {
        parent: 0,
        flags: 0,
        depth: 0,
    });
    b.run()?;
    b.flush();
    Ok(b.scan)
}

fn find_ci(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    // `needle` is lowercase ASCII starting with `<`.
    let mut i = from;
    while let Some(p) = memchr::memchr(b'<', &hay[i..]) {
        let at = i + p;
        if hay.len() - at >= needle.len()
            && hay[at..at + needle.len()]
                .iter()
                .zip(needle)
                .all(|(a, b)| a.to_ascii_lowercase() == *b)
        {
            return Some(at);
        }
        i = at + 1;
    }
    None
}

impl Builder<'_> {
    fn top_flags(&self) -> u16 {
        self.stack.last().map_or(0, |o| o.flags)
    }

    fn top_node(&self) -> u32 {
        self.stack.last().map_or(0, |o| o.node)
    }

    fn run(&mut self) -> Result<(), ScanError> {
        let src = self.src;
        let bytes = src.as_bytes();
        let n = bytes.len();
        let mut i = 0;
        while i < n {
            let Some(p) = memchr::memchr(b'<', &bytes[i..]) else {
                self.push_text(&src[i..]);
                break;
            };
            let lt = i + p;
            if lt > i {
                self.push_text(&src[i..lt]);
            }
            let next = bytes.get(lt + 1).copied().unwrap_or(0);
            if next == b'!' {
                i = if bytes[lt..].starts_with(b"<!--") {
                    memchr::memmem::find(&bytes[lt + 4..], b"-->").map_or(n, |e| lt + 4 + e + 3)
                } else if bytes[lt..].starts_with(b"<![CDATA[") {
                    memchr::memmem::find(&bytes[lt + 9..], b"]]>").map_or(n, |e| lt + 9 + e + 3)
                } else {
                    memchr::memchr(b'>', &bytes[lt..]).map_or(n, |e| lt + e + 1)
                };
                continue;
            }
            if next == b'?' {
                i = memchr::memchr(b'>', &bytes[lt..]).map_or(n, |e| lt + e + 1);
                continue;
            }
            let end_tag = next == b'/';
            let name_start = if end_tag { lt + 2 } else { lt + 1 };
            if !bytes.get(name_start).is_some_and(u8::is_ascii_alphabetic) {
                self.push_text("<");
                i = lt + 1;
                continue;
            }
            let mut name_end = name_start;
            while name_end < n
                && !matches!(
                    bytes[name_end],
                    b' ' | b'\t' | b'\n' | b'\r' | b'\x0c' | b'/' | b'>'
                )
            {
                name_end += 1;
            }
            let (attrs_end, tag_end) = tag_close(bytes, name_end);
            self.scan.tags += 1;
            if self.scan.tags as usize > self.limits.max_tags {
                return Err(ScanError::TooManyTags);
            }
            let name = &bytes[name_start..name_end];
            let (tag, hash) = names::classify(name);
            if end_tag {
                self.end_tag(tag, hash);
                i = tag_end;
                continue;
            }
            let attrs = &bytes[name_end..attrs_end];
            i = tag_end;
            // Raw text: skip to the matching end tag.
            if let Some(close) = tag.raw_text_end() {
                let body_end = find_ci(bytes, i, close).unwrap_or(n);
                if tag == Tag::Title && self.scan.title.is_none() {
                    let t = collapse(&decode_entities(&src[i..body_end]));
                    if !t.is_empty() {
                        self.scan.title = Some(t);
                    }
                }
                i = memchr::memchr(b'>', &bytes[body_end..]).map_or(n, |e| body_end + e + 1);
                continue;
            }
            let self_closing = attrs_end > name_end && bytes[attrs_end - 1] == b'/';
            self.start_tag(tag, hash, attrs, self_closing);
        }
        Ok(())
    }

    fn push_text(&mut self, raw: &str) {
        let flags = self.top_flags();
        if flags & flag::IGNORE != 0 {
            return;
        }
        let decoded;
        let s = if raw.contains('&') {
            decoded = decode_entities(raw);
            decoded.as_str()
        } else {
            raw
        };
        let pre = flags & flag::PRE != 0;
        let mut added = 0u32;
        for c in s.chars() {
            if c.is_whitespace() && !(pre && c == '\n') {
                if !pre {
                    self.space = true;
                    continue;
                }
                self.text.push(' ');
                continue;
            }
            if c == '\n' {
                self.text.push('\n');
                self.space = false;
                continue;
            }
            if self.space {
                if !self.text.is_empty() && !self.text.ends_with('\n') {
                    self.text.push(' ');
                }
                self.space = false;
            }
            if c.is_control() {
                continue;
            }
            self.text.push(c);
            added += 1;
        }
        self.chars += added;
        if flags & flag::LINK != 0 {
            self.link_chars += added;
        }
        if flags & flag::BOILER != 0 {
            self.boiler_chars += added;
        }
    }

    /// Ends the current block, if it holds any text.
    fn flush(&mut self) {
        let same_row = std::mem::take(&mut self.next_same_row);
        self.space = false;
        if self.chars == 0 {
            self.text.clear();
            self.link_chars = 0;
            self.boiler_chars = 0;
            return;
        }
        let text = std::mem::take(&mut self.text);
        let text = text.trim_end_matches([' ', '\n']).to_string();
        let flags = self.top_flags();
        let node = self.top_node();
        let kind = self
            .stack
            .iter()
            .rev()
            .find_map(|o| o.tag.block_kind())
            .unwrap_or(Kind::Other);
        self.scan.blocks.push(Block {
            text,
            chars: self.chars,
            link_chars: self.link_chars,
            boiler_chars: self.boiler_chars,
            node,
            kind,
            flags,
            same_row,
        });
        self.chars = 0;
        self.link_chars = 0;
        self.boiler_chars = 0;
    }

    fn line_break(&mut self) {
        if self.chars == 0 {
            return;
        }
        if self.text.ends_with('\n') {
            // Two breaks in a row end a paragraph.
            self.flush();
        } else {
            self.text.push('\n');
            self.space = false;
        }
    }

    fn pop_to(&mut self, idx: usize) {
        while self.stack.len() > idx {
            if self.stack.last().is_some_and(|o| o.tag.is_block()) {
                self.flush();
            }
            self.stack.pop();
        }
    }

    /// Index of the nearest open element matching, not looking past a `barrier`.
    fn find_open(&self, f: impl Fn(Tag) -> bool, barrier: impl Fn(Tag) -> bool) -> Option<usize> {
        for (i, o) in self.stack.iter().enumerate().rev() {
            if f(o.tag) {
                return Some(i);
            }
            if barrier(o.tag) {
                return None;
            }
        }
        None
    }

    fn start_tag(&mut self, tag: Tag, hash: u64, attrs: &[u8], self_closing: bool) {
        // Implied end tags.
        match tag {
            Tag::Li => {
                if let Some(i) = self.find_open(|t| t == Tag::Li, |t| t.is_list()) {
                    self.pop_to(i);
                }
            }
            Tag::Dt | Tag::Dd => {
                if let Some(i) =
                    self.find_open(|t| matches!(t, Tag::Dt | Tag::Dd), |t| t == Tag::Dl)
                {
                    self.pop_to(i);
                }
            }
            Tag::Td | Tag::Th => {
                if let Some(i) = self.find_open(
                    |t| matches!(t, Tag::Td | Tag::Th),
                    |t| matches!(t, Tag::Tr | Tag::Table),
                ) {
                    self.pop_to(i);
                }
            }
            Tag::Tr => {
                if let Some(i) = self.find_open(|t| t == Tag::Tr, |t| t == Tag::Table) {
                    self.pop_to(i);
                }
            }
            Tag::Option => {
                if let Some(i) = self.find_open(|t| t == Tag::Option, |t| t == Tag::Select) {
                    self.pop_to(i);
                }
            }
            _ => {}
        }
        if tag.closes_p() && self.stack.last().is_some_and(|o| o.tag == Tag::P) {
            self.pop_to(self.stack.len() - 1);
        }
        if tag == Tag::Br {
            self.line_break();
            return;
        }
        if tag.is_block() {
            self.flush();
        }
        if matches!(tag, Tag::Td | Tag::Th) {
            self.next_same_row = self.row_cells > 0;
            self.row_cells += 1;
        } else if tag == Tag::Tr {
            self.row_cells = 0;
        }
        if tag.is_void() || self_closing && !tag.is_known_container() {
            if tag == Tag::Hr {
                self.flush();
            }
            return;
        }
        if self.stack.len() >= self.limits.max_depth {
            self.scan.too_deep += 1;
            return;
        }
        let parent_flags = self.top_flags();
        let mut flags = parent_flags & !flag::POSITIVE;
        let by_tag = tag.flags(parent_flags);
        flags |= by_tag;
        if by_tag & flag::BOILER != 0 {
            flags |= flag::TAG_BOILER;
        }
        // `<body>` and `<html>` classes describe the page (`has-sidebar`, `single-post`).
        if !matches!(tag, Tag::Body | Tag::Html) {
            flags |= names::attr_flags(attrs);
        }
        let node = if tag.is_block() {
            let parent = self.top_node();
            let depth = self.scan.nodes[parent as usize].depth.saturating_add(1);
            self.scan.nodes.push(Node {
                parent,
                flags,
                depth,
            });
            (self.scan.nodes.len() - 1) as u32
        } else {
            self.top_node()
        };
        self.stack.push(Open {
            tag,
            hash,
            node,
            flags,
        });
        self.scan.max_depth = self.scan.max_depth.max(self.stack.len());
    }

    fn end_tag(&mut self, tag: Tag, hash: u64) {
        match tag {
            Tag::Br => {
                self.line_break();
                return;
            }
            Tag::P if self.find_open(|t| t == Tag::P, |_| false).is_none() => {
                self.flush();
                return;
            }
            Tag::Body | Tag::Html => return,
            _ => {}
        }
        if let Some(i) = self
            .stack
            .iter()
            .rposition(|o| o.tag == tag && o.hash == hash)
        {
            self.pop_to(i);
            if tag.is_block() {
                self.flush();
            }
        } else if tag.is_block() {
            self.flush();
        }
    }
}

/// End of a tag's attributes and the position after its `>`, honouring quoted values.
fn tag_close(bytes: &[u8], from: usize) -> (usize, usize) {
    let n = bytes.len();
    let mut i = from;
    while i < n {
        match bytes[i] {
            b'>' => return (i, i + 1),
            q @ (b'"' | b'\'') if i > 0 && matches!(bytes[i - 1], b'=' | b' ' | b'\t' | b'\n') => {
                match memchr::memchr(q, &bytes[i + 1..]) {
                    Some(e) => i += e + 2,
                    None => return (n, n),
                }
            }
            _ => i += 1,
        }
    }
    (n, n)
}

/// Whitespace runs to one space, trimmed.
pub fn collapse(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    out
}

/// Decodes character references: named (HTML5 table), decimal and hexadecimal.
pub fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let after = &rest[amp + 1..];
        if let Some((c, used)) = entity(after) {
            out.push_str(&c);
            rest = &after[used..];
        } else {
            out.push('&');
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

fn entity(s: &str) -> Option<(String, usize)> {
    let b = s.as_bytes();
    if b.first() == Some(&b'#') {
        let (hex, start) = match b.get(1) {
            Some(b'x' | b'X') => (true, 2),
            _ => (false, 1),
        };
        let mut end = start;
        while end < b.len()
            && end - start < 8
            && (b[end].is_ascii_hexdigit() && hex || b[end].is_ascii_digit())
        {
            end += 1;
        }
        if end == start {
            return None;
        }
        let v = u32::from_str_radix(&s[start..end], if hex { 16 } else { 10 }).ok()?;
        let c = match v {
            0 => '\u{fffd}',
            0x80..=0x9f => names::c1(v),
            _ => char::from_u32(v).unwrap_or('\u{fffd}'),
        };
        let used = if b.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        };
        return Some((c.to_string(), used));
    }
    let mut end = 0;
    while end < b.len() && end < 40 && b[end].is_ascii_alphanumeric() {
        end += 1;
    }
    if end == 0 {
        return None;
    }
    if b.get(end) == Some(&b';') {
        if let Some(&(a, c)) = markup5ever::data::NAMED_ENTITIES.get(&s[..=end]) {
            let mut out = String::new();
            out.extend(char::from_u32(a));
            if c != 0 {
                out.extend(char::from_u32(c));
            }
            return Some((out, end + 1));
        }
    }
    // Legacy references without `;` (`&nbsp`, `&amp`): the longest known prefix.
    for len in (2..=end.min(6)).rev() {
        if let Some(&(a, 0)) = markup5ever::data::NAMED_ENTITIES.get(&s[..len]) {
            return Some((char::from_u32(a)?.to_string(), len));
        }
    }
    None
}
