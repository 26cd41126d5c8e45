//! Element names and the class/id/role vocabulary that marks boilerplate or main content.
//!
//! The vocabulary is made of markup words (what templates and CMSs name their parts: `nav`,
//! `sidebar`, `cookie`, `comments`...), not words of any natural language, so it works the same on
//! a Greek, Basque or Bulgarian page.

use super::parse::{Kind, flag};

/// The elements the scanner treats specially; everything else is `Other` (inline, transparent).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tag {
    // Raw text.
    Script,
    Style,
    Title,
    Textarea,
    Noscript,
    Template,
    Xmp,
    Iframe,
    Noembed,
    Noframes,
    // Dropped subtrees.
    Svg,
    Math,
    Select,
    Button,
    Object,
    Canvas,
    Audio,
    Video,
    Head,
    // Boilerplate by tag.
    Nav,
    Header,
    Footer,
    Aside,
    Form,
    Menu,
    Dialog,
    // Positive.
    Article,
    Main,
    // Blocks.
    P,
    Div,
    Section,
    H,
    Li,
    Ul,
    Ol,
    Dl,
    Dt,
    Dd,
    Table,
    Tr,
    Td,
    Th,
    Caption,
    Blockquote,
    Pre,
    Figure,
    Figcaption,
    Address,
    Details,
    Summary,
    Center,
    Fieldset,
    Body,
    Html,
    Option,
    OtherBlock,
    // Void.
    Br,
    Hr,
    Void,
    // Inline.
    A,
    Other,
}

impl Tag {
    /// The lowercase end tag that closes a raw-text element.
    pub fn raw_text_end(self) -> Option<&'static [u8]> {
        Some(match self {
            Tag::Script => b"</script",
            Tag::Style => b"</style",
            Tag::Title => b"</title",
            Tag::Textarea => b"</textarea",
            Tag::Noscript => b"</noscript",
            Tag::Template => b"</template",
            Tag::Xmp => b"</xmp",
            Tag::Iframe => b"</iframe",
            Tag::Noembed => b"</noembed",
            Tag::Noframes => b"</noframes",
            _ => return None,
        })
    }

    pub fn is_void(self) -> bool {
        matches!(self, Tag::Br | Tag::Hr | Tag::Void)
    }

    /// Elements whose `/>` we ignore (HTML does: `<div/>` opens a div).
    pub fn is_known_container(self) -> bool {
        !matches!(self, Tag::Other | Tag::Svg | Tag::Math) && !self.is_void()
    }

    pub fn is_list(self) -> bool {
        matches!(self, Tag::Ul | Tag::Ol | Tag::Menu)
    }

    /// Starts and ends a text block.
    pub fn is_block(self) -> bool {
        !matches!(self, Tag::A | Tag::Other | Tag::Br | Tag::Void)
    }

    /// Block-level starts that close an open `<p>`.
    pub fn closes_p(self) -> bool {
        self.is_block()
            && !matches!(
                self,
                Tag::Br
                    | Tag::Svg
                    | Tag::Math
                    | Tag::Select
                    | Tag::Button
                    | Tag::Object
                    | Tag::Canvas
                    | Tag::Audio
                    | Tag::Video
                    | Tag::Option
            )
    }

    pub fn block_kind(self) -> Option<Kind> {
        Some(match self {
            Tag::H => Kind::Heading,
            Tag::P | Tag::Blockquote | Tag::Dd | Tag::Figcaption => Kind::Para,
            Tag::Li | Tag::Dt => Kind::ListItem,
            Tag::Td | Tag::Th | Tag::Caption => Kind::Cell,
            Tag::Pre => Kind::Pre,
            Tag::Div | Tag::Section | Tag::Article | Tag::Main | Tag::Body => Kind::Other,
            _ => return None,
        })
    }

    /// Flags an element sets by its name alone.
    pub fn flags(self, parent: u16) -> u16 {
        match self {
            Tag::Svg
            | Tag::Math
            | Tag::Select
            | Tag::Button
            | Tag::Object
            | Tag::Canvas
            | Tag::Audio
            | Tag::Video
            | Tag::Head => flag::IGNORE,
            Tag::Nav | Tag::Aside | Tag::Form | Tag::Menu | Tag::Dialog => flag::BOILER,
            // An article's own header and footer hold its title and notes, not page chrome.
            Tag::Header | Tag::Footer if parent & flag::IN_ARTICLE == 0 => flag::BOILER,
            Tag::Article | Tag::Main => flag::POSITIVE | flag::IN_ARTICLE,
            Tag::A => flag::LINK,
            Tag::Li | Tag::Dt | Tag::Dd => flag::LIST,
            Tag::Td | Tag::Th => flag::TABLE,
            Tag::Pre => flag::PRE,
            _ => 0,
        }
    }
}

fn fnv(name: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name {
        h ^= u64::from(b.to_ascii_lowercase());
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The tag for a name (any case) and a hash of the lowercase name.
pub fn classify(name: &[u8]) -> (Tag, u64) {
    let hash = fnv(name);
    if name.len() > 10 {
        return (Tag::Other, hash);
    }
    let mut buf = [0u8; 10];
    for (d, s) in buf.iter_mut().zip(name) {
        *d = s.to_ascii_lowercase();
    }
    let tag = match &buf[..name.len()] {
        b"script" => Tag::Script,
        b"style" => Tag::Style,
        b"title" => Tag::Title,
        b"textarea" => Tag::Textarea,
        b"noscript" => Tag::Noscript,
        b"template" => Tag::Template,
        b"xmp" => Tag::Xmp,
        b"iframe" => Tag::Iframe,
        b"noembed" => Tag::Noembed,
        b"noframes" => Tag::Noframes,
        b"svg" => Tag::Svg,
        b"math" => Tag::Math,
        b"select" | b"datalist" => Tag::Select,
        b"button" => Tag::Button,
        b"object" => Tag::Object,
        b"canvas" => Tag::Canvas,
        b"audio" => Tag::Audio,
        b"video" => Tag::Video,
        b"head" => Tag::Head,
        b"nav" => Tag::Nav,
        b"header" => Tag::Header,
        b"footer" => Tag::Footer,
        b"aside" => Tag::Aside,
        b"form" => Tag::Form,
        b"menu" => Tag::Menu,
        b"dialog" => Tag::Dialog,
        b"article" => Tag::Article,
        b"main" => Tag::Main,
        b"p" => Tag::P,
        b"div" => Tag::Div,
        b"section" => Tag::Section,
        b"h1" | b"h2" | b"h3" | b"h4" | b"h5" | b"h6" | b"hgroup" => Tag::H,
        b"li" => Tag::Li,
        b"ul" => Tag::Ul,
        b"ol" => Tag::Ol,
        b"dl" => Tag::Dl,
        b"dt" => Tag::Dt,
        b"dd" => Tag::Dd,
        b"table" => Tag::Table,
        b"tr" => Tag::Tr,
        b"td" => Tag::Td,
        b"th" => Tag::Th,
        b"caption" => Tag::Caption,
        b"blockquote" => Tag::Blockquote,
        b"pre" | b"listing" | b"plaintext" => Tag::Pre,
        b"figure" => Tag::Figure,
        b"figcaption" => Tag::Figcaption,
        b"address" => Tag::Address,
        b"details" => Tag::Details,
        b"summary" => Tag::Summary,
        b"center" => Tag::Center,
        b"fieldset" => Tag::Fieldset,
        b"body" => Tag::Body,
        b"html" => Tag::Html,
        b"option" | b"optgroup" => Tag::Option,
        b"thead" | b"tbody" | b"tfoot" | b"legend" | b"frameset" | b"frame" | b"dir"
        | b"colgroup" => Tag::OtherBlock,
        b"br" => Tag::Br,
        b"hr" => Tag::Hr,
        b"area" | b"base" | b"col" | b"embed" | b"img" | b"input" | b"link" | b"meta"
        | b"param" | b"source" | b"track" | b"wbr" | b"keygen" => Tag::Void,
        b"a" => Tag::A,
        _ => Tag::Other,
    };
    (tag, hash)
}

/// Class/id words that mark boilerplate. Matched against each word of a class or id split on
/// `-`, `_`, spaces and case changes.
const BOILER_WORDS: &[&str] = &[
    "nav",
    "navbar",
    "navigation",
    "menu",
    "menubar",
    "submenu",
    "breadcrumb",
    "breadcrumbs",
    "crumbs",
    "footer",
    "header",
    "masthead",
    "topbar",
    "sidebar",
    "aside",
    "widget",
    "widgets",
    "cookie",
    "cookies",
    "consent",
    "gdpr",
    "banner",
    "comment",
    "comments",
    "commentlist",
    "disqus",
    "reply",
    "respond",
    "share",
    "sharing",
    "sharer",
    "social",
    "related",
    "recommended",
    "popular",
    "trending",
    "tagcloud",
    "tags",
    "pagination",
    "pager",
    "subscribe",
    "newsletter",
    "signup",
    "login",
    "modal",
    "popup",
    "overlay",
    "promo",
    "advert",
    "advertisement",
    "ads",
    "ad",
    "sponsor",
    "sponsored",
    "skip",
    "toolbar",
    "copyright",
    "legal",
    "byline",
    "dateline",
    "author",
    "meta",
    "postmeta",
    "hidden",
    "sr",
    "print",
    "rss",
    "toc",
];

/// Substrings that mark boilerplate even inside compounds (`commentlist`, `cookiebar`).
const BOILER_PARTS: &[&str] = &[
    "cookie",
    "comment",
    "sidebar",
    "navbar",
    "breadcrumb",
    "footer",
    "disqus",
    "newsletter",
    "consent",
    "gdpr",
    "advert",
    "sponsor",
    "social",
    "sharing",
];

/// Class/id words that mark the main content.
const POSITIVE_WORDS: &[&str] = &[
    "article",
    "content",
    "post",
    "entry",
    "story",
    "main",
    "body",
    "text",
    "articlebody",
    "blog",
    "news",
];

fn words(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|b| !b.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn word_in(w: &[u8], list: &[&str]) -> bool {
    list.iter().any(|x| x.as_bytes().eq_ignore_ascii_case(w))
}

/// Words that make a class a page state or a layout wrapper (`has-sidebar`, `comments-open`,
/// `content-sidebar-wrap`), not the part it names.
const STATE_WORDS: &[&str] = &[
    "has", "no", "with", "open", "closed", "enabled", "disabled", "active", "show", "count",
];
const LAYOUT_WORDS: &[&str] = &["wrap", "wrapper", "layout", "container", "inner", "outer"];

fn boiler_value(v: &[u8]) -> bool {
    if v.len() > 512 {
        return false;
    }
    let lower: Vec<u8> = v.iter().map(u8::to_ascii_lowercase).collect();
    let boiler = words(&lower).any(|w| word_in(w, BOILER_WORDS))
        || BOILER_PARTS
            .iter()
            .any(|p| memchr::memmem::find(&lower, p.as_bytes()).is_some());
    if !boiler {
        return false;
    }
    let state = words(&lower).any(|w| word_in(w, STATE_WORDS));
    let wrapper = words(&lower).any(|w| word_in(w, LAYOUT_WORDS)) && positive_value(&lower);
    !state && !wrapper
}

fn positive_value(v: &[u8]) -> bool {
    v.len() <= 512 && words(v).any(|w| word_in(w, POSITIVE_WORDS))
}

/// Flags from an element's attributes (`class`, `id`, `role`, `itemprop`, `hidden`, `style`).
pub fn attr_flags(attrs: &[u8]) -> u16 {
    let mut flags = 0;
    let mut boiler = false;
    let mut positive = false;
    for_each_attr(attrs, |name, value| {
        let eq = |s: &str| name.eq_ignore_ascii_case(s.as_bytes());
        if eq("class") || eq("id") {
            boiler |= boiler_value(value);
            positive |= positive_value(value);
        } else if eq("role") {
            let v = value.to_ascii_lowercase();
            match v.as_slice() {
                b"navigation" | b"banner" | b"contentinfo" | b"complementary" | b"menu"
                | b"menubar" | b"search" | b"dialog" | b"alertdialog" | b"toolbar" => boiler = true,
                b"main" | b"article" => positive = true,
                _ => {}
            }
        } else if eq("itemprop") {
            let v = value.to_ascii_lowercase();
            if v == b"articlebody" || v == b"text" || v == b"reviewbody" {
                positive = true;
            }
        } else if eq("hidden") {
            flags |= flag::IGNORE;
        } else if eq("aria-hidden") {
            if value.eq_ignore_ascii_case(b"true") {
                flags |= flag::IGNORE;
            }
        } else if eq("style") {
            let v: Vec<u8> = value
                .iter()
                .filter(|b| !b.is_ascii_whitespace())
                .map(u8::to_ascii_lowercase)
                .collect();
            if memchr::memmem::find(&v, b"display:none").is_some()
                || memchr::memmem::find(&v, b"visibility:hidden").is_some()
            {
                flags |= flag::IGNORE;
            }
        }
    });
    // A class naming both (`entry-header`, `post-meta`, `comment-content`) is boilerplate.
    if boiler {
        flags |= flag::BOILER;
    } else if positive {
        flags |= flag::POSITIVE;
    }
    flags
}

/// Calls `f(name, value)` for each attribute in a start tag's attribute bytes.
fn for_each_attr(attrs: &[u8], mut f: impl FnMut(&[u8], &[u8])) {
    let n = attrs.len();
    let mut i = 0;
    while i < n {
        while i < n && (attrs[i].is_ascii_whitespace() || attrs[i] == b'/') {
            i += 1;
        }
        let ns = i;
        while i < n && !attrs[i].is_ascii_whitespace() && attrs[i] != b'=' && attrs[i] != b'/' {
            i += 1;
        }
        let name = &attrs[ns..i];
        while i < n && attrs[i].is_ascii_whitespace() {
            i += 1;
        }
        let mut value: &[u8] = b"";
        if i < n && attrs[i] == b'=' {
            i += 1;
            while i < n && attrs[i].is_ascii_whitespace() {
                i += 1;
            }
            if i < n && (attrs[i] == b'"' || attrs[i] == b'\'') {
                let q = attrs[i];
                let vs = i + 1;
                let ve = memchr::memchr(q, &attrs[vs..]).map_or(n, |e| vs + e);
                value = &attrs[vs..ve];
                i = (ve + 1).min(n);
            } else {
                let vs = i;
                while i < n && !attrs[i].is_ascii_whitespace() {
                    i += 1;
                }
                value = &attrs[vs..i];
            }
        }
        if name.is_empty() {
            i += 1;
            continue;
        }
        f(name, value);
    }
}

/// Windows-1252 meanings of numeric references 0x80..0x9F, as HTML5 maps them.
pub fn c1(v: u32) -> char {
    const TABLE: [u16; 32] = [
        0x20AC, 0x81, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x8D, 0x017D, 0x8F, 0x90, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022, 0x2013,
        0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D, 0x017E, 0x0178,
    ];
    TABLE
        .get((v - 0x80) as usize)
        .and_then(|&c| char::from_u32(u32::from(c)))
        .unwrap_or('\u{fffd}')
}
