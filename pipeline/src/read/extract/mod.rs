//! Main-content extraction from HTML: the article, without the page's chrome.
//!
//! The page is scanned once ([`parse::scan`]) into text blocks, each knowing its block-level
//! element, how much of its text is link text and how much sits under boilerplate markup (`<nav>`,
//! `<header>`/`<footer>` outside an article, `<aside>`, `<form>`, and class/id/role words such as
//! `sidebar`, `cookie`, `comments`, `share`, `related`). Then:
//!
//! 1. **Classify** each block: *bad* when it is mostly boilerplate markup or mostly link text
//!    (link density above [`BAD_LINKS`]; [`PARA_BAD_LINKS`] inside `<p>`, whose links are part of
//!    sentences), *good* when it is long (at least [`GOOD_WEIGHT`] weighted characters) with little
//!    link text, *short* otherwise. Weighted characters count letters and digits; a CJK, kana,
//!    hangul or Thai character counts three, since those scripts pack a word into one or two
//!    characters. No word lists of any language are used.
//! 2. **Choose the container**: the deepest block-level element holding at least
//!    [`CONTAINER_SHARE`] of the page's good text (weighted by one minus link density); but an
//!    element marked as the content (`<article>`, `<main>`, `itemprop=articleBody`, `role=main`,
//!    class/id words `content`, `post`, `entry`, `story`, `text`...) that holds at least
//!    [`POSITIVE_SHARE`] of it wins, unless it encloses the first choice. Related teasers,
//!    unmarked sidebars and comment sections under unknown names outside it are dropped.
//! 3. **Keep**, inside the container, good blocks; list items, table cells and `<pre>` that are not
//!    bad; headings followed by good text; short paragraphs next to good ones (a one-line paragraph
//!    between two long ones, or a `<p>` of a few words beside one); a lone short line at the edge
//!    is not kept. A page without any good block keeps its short non-link, non-boilerplate text.
//! 4. **Listings**: when that keeps almost nothing (under [`LISTING_WEIGHT`]), the page gets a
//!    second look in which list items and table cells that are a linked title with some text beside
//!    it count as content (a blog index, a product list); the larger result wins. If not even one
//!    long block's worth was found, a last look ignores class/id words (a page-wide wrapper named with a boilerplate
//!    word must not hide the page) and wins when it finds at least [`RESCUE_WEIGHT`].
//!
//! Output policy: one block per line; `<br>` stays a line break; a list item is a line of its own
//! (no bullet); a table row is one line with its cells joined by ` | `; headings are plain lines;
//! `<pre>` keeps its line breaks. The `<title>` is returned apart (the WARC reader stores it as
//! `meta.title`).
//!
//! Limits: inputs above [`Limits::max_bytes`] are refused (`html_too_large`), pages with more than
//! [`parse::Limits::max_tags`] tags are given up (`too_many_tags`), and nesting deeper than
//! [`parse::Limits::max_depth`] is flattened (counted). All are counts of work, not wall-clock
//! time, so the output stays the same on any machine and thread count; the scan is linear in the
//! input.

mod names;
pub mod parse;

pub use parse::Limits as ScanLimits;
use parse::{Block, Kind, Scan, flag};

/// Weighted characters that make a block long enough to be content on its own.
pub const GOOD_WEIGHT: u32 = 70;
/// Link density above which a block is navigation, and up to which a long block is good.
pub const BAD_LINKS: f64 = 0.5;
pub const GOOD_LINKS: f64 = 0.25;
/// The same for `<p>`, `<blockquote>`, `<dd>` and `<figcaption>` text.
pub const PARA_BAD_LINKS: f64 = 0.9;
pub const PARA_GOOD_LINKS: f64 = 0.85;
/// A first extraction lighter than this (weighted characters) gets a second look as a listing.
pub const LISTING_WEIGHT: u32 = 200;
/// In a listing, a list item or table cell with at most this link density and at least
/// [`LISTING_ROW_WEIGHT`] weighted characters is content.
pub const LISTING_BAD_LINKS: f64 = 0.8;
pub const LISTING_ROW_WEIGHT: u32 = 20;
/// Weighted characters the last look (class words ignored) must find to replace a nearly empty
/// result: much more than a cookie notice or a comment.
pub const RESCUE_WEIGHT: u32 = 400;
/// Weighted characters of a short `<p>` kept next to a long one.
pub const SHORT_PARA_WEIGHT: u32 = 25;
/// Share of the page's good text the chosen container must hold.
pub const CONTAINER_SHARE: f64 = 0.7;
/// Share of the page's good text a node marked as content must hold to be chosen.
pub const POSITIVE_SHARE: f64 = 0.15;

/// What to take from a page.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExtractMode {
    /// The main content only (boilerplate removed).
    #[default]
    Main,
    /// Every piece of text on the page.
    All,
}

/// Bounds on one page.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest HTML (decoded, in bytes) extracted.
    pub max_bytes: usize,
    pub scan: ScanLimits,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 8 * 1024 * 1024,
            scan: ScanLimits::default(),
        }
    }
}

/// A page's main content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extracted {
    pub title: Option<String>,
    pub text: String,
    /// Start tags past the depth limit (their nesting was flattened).
    pub too_deep: u64,
}

/// Why a page gave no text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("HTML larger than the limit")]
    TooLarge,
    #[error("more tags than the limit")]
    TooManyTags,
    #[error("no main content found")]
    NoMainContent,
}

impl ExtractError {
    /// The counter key (`skipped:<reason>`).
    pub fn reason(self) -> &'static str {
        match self {
            ExtractError::TooLarge => "html_too_large",
            ExtractError::TooManyTags => "too_many_tags",
            ExtractError::NoMainContent => "no_main_content",
        }
    }
}

fn char_weight(c: char) -> u32 {
    let u = c as u32;
    if matches!(u,
        0x0E00..=0x0E7F          // Thai
        | 0x3040..=0x30FF        // kana
        | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF // CJK
        | 0xAC00..=0xD7AF)
    // hangul
    {
        3
    } else if c.is_alphanumeric() {
        1
    } else {
        0
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Bad,
    Short,
    Good,
}

struct Judged {
    class: Class,
    weight: u32,
    link_density: f64,
    /// More link text than a good block of its kind may have.
    linky: bool,
}

/// How hard to look.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Look {
    First,
    /// The second look at a page whose first extraction came out nearly empty: list items and
    /// table cells that are a linked title with some text beside it (a date, an author, a summary)
    /// are then the page's content, as on a blog index or a product list.
    Listing,
    /// The last look: class/id words are ignored (a wrapper named `sidebar-left-layout` around the
    /// whole page must not hide it); only boilerplate elements by name count.
    NoClassWords,
}

fn judge(b: &Block, look: Look) -> Judged {
    let listing = look == Look::Listing;
    let weight: u32 = b.text.chars().map(char_weight).sum();
    let chars = f64::from(b.chars.max(1));
    let link_density = f64::from(b.link_chars) / chars;
    let boiler = if look == Look::NoClassWords {
        b.flags & flag::TAG_BOILER != 0
    } else {
        f64::from(b.boiler_chars) / chars > 0.5 || b.flags & flag::BOILER != 0
    };
    // Links inside a paragraph's sentences are prose (an encyclopedia links most of its nouns);
    // links in other blocks are navigation far sooner.
    let row = matches!(b.kind, Kind::ListItem | Kind::Cell);
    let (bad_ld, good_ld, good_weight) = if b.kind == Kind::Para {
        (PARA_BAD_LINKS, PARA_GOOD_LINKS, GOOD_WEIGHT)
    } else if listing && row {
        (LISTING_BAD_LINKS, LISTING_BAD_LINKS, LISTING_ROW_WEIGHT)
    } else if b.kind == Kind::Heading {
        // A section heading may be mostly links (an encyclopedia's `[edit]` links); it is judged
        // by what follows it, and only an all-link one is bad.
        (PARA_BAD_LINKS, GOOD_LINKS, GOOD_WEIGHT)
    } else {
        (BAD_LINKS, GOOD_LINKS, GOOD_WEIGHT)
    };
    let class = if boiler || link_density > bad_ld || weight == 0 {
        Class::Bad
    } else if weight >= good_weight && link_density <= good_ld {
        Class::Good
    } else {
        Class::Short
    };
    Judged {
        class,
        weight,
        link_density,
        linky: link_density > good_ld,
    }
}

/// The main content of `html`.
pub fn extract(html: &str, limits: &Limits) -> Result<Extracted, ExtractError> {
    if html.len() > limits.max_bytes {
        return Err(ExtractError::TooLarge);
    }
    let scan = parse::scan(html, limits.scan).map_err(|_| ExtractError::TooManyTags)?;
    let mut keep = select(&scan, Look::First);
    let kept = |keep: &[bool]| -> u32 {
        scan.blocks
            .iter()
            .zip(keep)
            .filter(|(_, k)| **k)
            .map(|(b, _)| b.text.chars().map(char_weight).sum::<u32>())
            .sum()
    };
    if kept(&keep) < LISTING_WEIGHT {
        let listing = select(&scan, Look::Listing);
        if kept(&listing) > kept(&keep) {
            keep = listing;
        }
    }
    let so_far = kept(&keep);
    if so_far < GOOD_WEIGHT {
        let unmarked = select(&scan, Look::NoClassWords);
        if kept(&unmarked) >= RESCUE_WEIGHT {
            keep = unmarked;
        }
    }
    let text = render(&scan.blocks, &keep);
    if text.is_empty() {
        return Err(ExtractError::NoMainContent);
    }
    Ok(Extracted {
        title: scan.title,
        text,
        too_deep: scan.too_deep,
    })
}

/// How deep elements nest in `html` (a linear scan; depths past 100,000 read as 100,000).
pub fn nesting_depth(html: &str) -> usize {
    let limits = ScanLimits {
        max_depth: 100_000,
        max_tags: usize::MAX,
    };
    parse::scan(html, limits).map_or(0, |s| s.max_depth)
}

/// Is `a` an ancestor of `b` (or `b` itself)?
fn is_ancestor(scan: &Scan, a: usize, mut b: usize) -> bool {
    loop {
        if a == b {
            return true;
        }
        if b == 0 {
            return false;
        }
        b = scan.nodes[b].parent as usize;
    }
}

/// The deepest positive node holding nearly as much good text as the best positive node, when
/// that is at least [`POSITIVE_SHARE`] of the page's; `None` when positive nodes that do not nest
/// share the text (sections each marked `text`), or there are none.
fn positive_container(scan: &Scan, good: &[f64], total: f64) -> Option<usize> {
    let is_pos = |i: usize| {
        let f = scan.nodes[i].flags;
        f & flag::POSITIVE != 0 && f & flag::BOILER == 0
    };
    let best = (1..scan.nodes.len())
        .filter(|&i| is_pos(i))
        .map(|i| good[i])
        .fold(0.0, f64::max);
    if best < POSITIVE_SHARE * total || best <= 0.0 {
        return None;
    }
    let near: Vec<usize> = (1..scan.nodes.len())
        .filter(|&i| is_pos(i) && good[i] >= 0.9 * best)
        .collect();
    let deepest = *near.iter().max_by_key(|&&i| (scan.nodes[i].depth, i))?;
    // Every near-best node must nest with the chosen one.
    near.iter()
        .all(|&i| is_ancestor(scan, i, deepest))
        .then_some(deepest)
}

/// Which blocks are main content.
fn select(scan: &Scan, look: Look) -> Vec<bool> {
    let blocks = &scan.blocks;
    let judged: Vec<Judged> = blocks.iter().map(|b| judge(b, look)).collect();
    // Good text per node, summed up the tree (children always come after their parent).
    let mut good = vec![0f64; scan.nodes.len()];
    for (b, j) in blocks.iter().zip(&judged) {
        if j.class == Class::Good {
            good[b.node as usize] += f64::from(j.weight) * (1.0 - j.link_density);
        }
    }
    for i in (1..scan.nodes.len()).rev() {
        let p = scan.nodes[i].parent as usize;
        good[p] += good[i];
    }
    let total = good[0];
    let mut keep = vec![false; blocks.len()];
    if total <= 0.0 {
        // No long paragraph anywhere (a short notice, a poem, a page of short lines): keep the
        // text that is neither boilerplate nor links; length filters judge it later.
        for (k, j) in keep.iter_mut().zip(&judged) {
            *k = j.class == Class::Short && !j.linky;
        }
        return keep;
    }
    // The deepest node holding enough of the good text; the qualifying nodes form a chain.
    let mut container = 0usize;
    for (i, g) in good.iter().enumerate() {
        if *g >= CONTAINER_SHARE * total && scan.nodes[i].depth >= scan.nodes[container].depth {
            container = i;
        }
    }
    // A node marked as the content (`<article>`, `<main>`, `itemprop=articleBody`, class `post`,
    // `entry-content`, `story-text`...) wins when it holds a fair part of the good text, even
    // when long unmarked text elsewhere (comments under unknown names) outweighs it.
    if let Some(p) = positive_container(scan, &good, total) {
        if !is_ancestor(scan, p, container) {
            container = p;
        }
    }
    // Nodes come after their parents, so one pass marks the container's subtree.
    let mut node_inside = vec![false; scan.nodes.len()];
    for i in container..scan.nodes.len() {
        node_inside[i] = i == container || (i > 0 && node_inside[scan.nodes[i].parent as usize]);
    }
    let in_container: Vec<bool> = blocks
        .iter()
        .map(|b| node_inside[b.node as usize])
        .collect();
    // Nearest non-short class before and after each block, inside the container.
    let mut prev = vec![None; blocks.len()];
    let mut seen = None;
    for i in 0..blocks.len() {
        prev[i] = seen;
        if in_container[i] && judged[i].class != Class::Short {
            seen = Some(judged[i].class);
        }
    }
    let mut next = vec![None; blocks.len()];
    seen = None;
    for i in (0..blocks.len()).rev() {
        next[i] = seen;
        if in_container[i] && judged[i].class != Class::Short {
            seen = Some(judged[i].class);
        }
    }
    for i in 0..blocks.len() {
        if !in_container[i] {
            continue;
        }
        let j = &judged[i];
        keep[i] = match j.class {
            Class::Bad => false,
            Class::Good => true,
            Class::Short => match blocks[i].kind {
                Kind::ListItem | Kind::Cell | Kind::Pre => j.link_density <= BAD_LINKS,
                Kind::Heading => next[i] == Some(Class::Good),
                // Short text between long blocks is content; a short `<p>` of a few words is
                // also content next to one long block.
                Kind::Para => {
                    let (p, n) = (prev[i] == Some(Class::Good), next[i] == Some(Class::Good));
                    !j.linky && (p && n || (p || n) && j.weight >= SHORT_PARA_WEIGHT)
                }
                Kind::Other => {
                    !j.linky && prev[i] == Some(Class::Good) && next[i] == Some(Class::Good)
                }
            },
        };
    }
    keep
}

fn render(blocks: &[Block], keep: &[bool]) -> String {
    let mut out = String::new();
    let mut last: Option<usize> = None;
    for (i, b) in blocks.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        if !out.is_empty() {
            let joined = b.same_row && last == Some(i.wrapping_sub(1)) && b.kind == Kind::Cell;
            out.push_str(if joined { " | " } else { "\n" });
        }
        out.push_str(&b.text);
        last = Some(i);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
