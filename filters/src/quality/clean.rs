//! Text clean-up and simple limits: Unicode NFC with control-character removal, PII redaction (e-mail and
//! IPv4 addresses, in place, counted), length limits, and a URL / domain blocklist read from a file.

use std::collections::HashSet;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use regex::Regex;
use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

use super::{Bound, QualityError, Stats, Threshold};

/// Settings of the normalisation step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// Compose to Unicode NFC (the form the language-ID and tokenizer data use).
    pub nfc: bool,
    /// Remove C0/C1 control characters other than tab and newline, the BOM and U+FFFE/U+FFFF;
    /// turn `\r\n` and lone `\r` into `\n`.
    pub remove_control: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        // No paper value to follow: both on, since every later rule assumes NFC text with `\n` lines.
        NormalizeConfig {
            nfc: true,
            remove_control: true,
        }
    }
}

fn is_removed_control(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t' && c != '\r')
        || matches!(c, '\u{FEFF}' | '\u{FFFE}' | '\u{FFFF}')
}

/// Normalises `text` in place; returns the number of characters removed or changed by control clean-up
/// and whether NFC changed anything.
pub(crate) fn normalize(cfg: &NormalizeConfig, text: &mut String, stats: &mut Stats) {
    let mut removed = 0usize;
    if cfg.remove_control && text.chars().any(|c| c == '\r' || is_removed_control(c)) {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\r' {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
                removed += 1;
            } else if is_removed_control(c) {
                removed += 1;
            } else {
                out.push(c);
            }
        }
        *text = out;
    }
    let mut nfc_changed = false;
    if cfg.nfc && !text.is_ascii() && is_nfc_quick(text.chars()) != IsNormalized::Yes {
        let composed: String = text.nfc().collect();
        if composed != *text {
            nfc_changed = true;
            *text = composed;
        }
    }
    stats.push(("normalize.control_chars", removed as f64));
    stats.push(("normalize.nfc_changed", f64::from(u8::from(nfc_changed))));
}

/// Settings of PII redaction. Matches are replaced in the text and counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PiiConfig {
    /// Redact e-mail addresses.
    pub emails: bool,
    /// Redact public IPv4 addresses (private, loopback, link-local, documentation and reserved ranges stay).
    pub ips: bool,
    /// Replacement for an e-mail address. FineWeb (datatrove `PIIFormatter`): `email@example.com`.
    pub email_replacement: String,
    /// Replacement for an IP address. An address that is never global (RFC 5737 documentation range).
    pub ip_replacement: String,
}

impl Default for PiiConfig {
    fn default() -> Self {
        // As FineWeb's PII step (arXiv:2406.17557, section 3.3): e-mails and public IP addresses.
        PiiConfig {
            emails: true,
            ips: true,
            email_replacement: "email@example.com".into(),
            ip_replacement: "192.0.2.0".into(),
        }
    }
}

fn email_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}")
            .expect("the e-mail pattern is a valid regex")
    })
}

fn ipv4_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])")
            .expect("the IPv4 pattern is a valid regex")
    })
}

/// Whether an address is publicly routable (what `ipaddress.is_global` says for IPv4).
fn is_global(ip: Ipv4Addr) -> bool {
    let o = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || o[0] == 0
        || o[0] >= 224
        || (o[0] == 100 && (64..128).contains(&o[1]))
        || (o[0] == 198 && (18..20).contains(&o[1]))
        || (o[0] == 192 && o[1] == 0 && o[2] == 0))
}

/// Redacts PII in place.
pub(crate) fn redact(cfg: &PiiConfig, text: &mut String, stats: &mut Stats) {
    let mut emails = 0usize;
    if cfg.emails && text.contains('@') {
        let re = email_re();
        if re.is_match(text) {
            let mut out = String::with_capacity(text.len());
            let mut last = 0;
            for m in re.find_iter(text) {
                out.push_str(&text[last..m.start()]);
                out.push_str(&cfg.email_replacement);
                last = m.end();
                emails += 1;
            }
            out.push_str(&text[last..]);
            *text = out;
        }
    }
    let mut ips = 0usize;
    if cfg.ips {
        let re = ipv4_re();
        let bytes = text.as_bytes();
        let mut out: Option<String> = None;
        let mut last = 0;
        for m in re.find_iter(text) {
            // Part of a longer dotted number (a version string, an OID) is not an address.
            let before = m.start().checked_sub(1).map(|i| bytes[i]);
            let after = bytes.get(m.end()).copied();
            let after2 = bytes.get(m.end() + 1).copied();
            if before.is_some_and(|b| b.is_ascii_digit() || b == b'.')
                || after.is_some_and(|b| b.is_ascii_digit())
                || after == Some(b'.') && after2.is_some_and(|b| b.is_ascii_digit())
            {
                continue;
            }
            let Ok(ip) = m.as_str().parse::<Ipv4Addr>() else {
                continue;
            };
            if !is_global(ip) {
                continue;
            }
            let o = out.get_or_insert_with(|| String::with_capacity(text.len()));
            o.push_str(&text[last..m.start()]);
            o.push_str(&cfg.ip_replacement);
            last = m.end();
            ips += 1;
        }
        if let Some(mut o) = out {
            o.push_str(&text[last..]);
            *text = o;
        }
    }
    stats.push(("pii.emails", emails as f64));
    stats.push(("pii.ips", ips as f64));
}

/// Length limits, in characters and in whitespace-separated words.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LengthConfig {
    /// Fewer characters: dropped. No published value: 0 (off).
    pub min_chars: u64,
    /// More characters: dropped. No published value: off (absent).
    pub max_chars: Option<u64>,
    /// Fewer words: dropped. Gopher Table A1: 50.
    pub min_words: u64,
    /// More words: dropped. Gopher Table A1: 100,000.
    pub max_words: u64,
}

impl Default for LengthConfig {
    fn default() -> Self {
        // Word range of Gopher (arXiv:2112.11446, Table A1); character limits have no published value.
        LengthConfig {
            min_chars: 0,
            max_chars: None,
            min_words: 50,
            max_words: 100_000,
        }
    }
}

impl LengthConfig {
    pub(crate) fn thresholds(&self) -> Vec<Threshold> {
        let t = |stat, bound, value: f64, reason| Threshold {
            stat,
            bound,
            value,
            reason,
        };
        let mut v = vec![t(
            "length.chars",
            Bound::Min,
            self.min_chars as f64,
            "too_short_chars",
        )];
        if let Some(m) = self.max_chars {
            v.push(t("length.chars", Bound::Max, m as f64, "too_long_chars"));
        }
        v.push(t(
            "length.words",
            Bound::Min,
            self.min_words as f64,
            "too_few_words",
        ));
        v.push(t(
            "length.words",
            Bound::Max,
            self.max_words as f64,
            "too_many_words",
        ));
        v
    }
}

pub(crate) fn measure_length(text: &str, stats: &mut Stats) {
    stats.push(("length.chars", super::text::char_len(text) as f64));
    stats.push(("length.words", text.split_whitespace().count() as f64));
}

/// A URL / domain blocklist. One entry per line; `#` starts a comment. An entry with a `/` is a URL
/// (matched without its scheme, `www.` and trailing `/`); any other entry is a domain, which also blocks
/// its subdomains.
#[derive(Debug, Clone, Default)]
pub struct UrlBlocklist {
    domains: HashSet<String>,
    urls: HashSet<String>,
}

impl UrlBlocklist {
    /// Reads a blocklist file.
    pub fn from_file(path: &Path) -> Result<Self, QualityError> {
        let text = std::fs::read_to_string(path).map_err(|source| QualityError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, path)
    }

    /// Parses blocklist text; `path` only names the source in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, QualityError> {
        let mut list = UrlBlocklist::default();
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            if line.contains(char::is_whitespace) {
                return Err(QualityError::Blocklist {
                    path: PathBuf::from(path),
                    line: i + 1,
                    reason: format!("entry {line:?} contains whitespace"),
                });
            }
            if line.contains('/') {
                list.urls.insert(url_key(line));
            } else {
                list.domains.insert(
                    line.trim_start_matches("*.")
                        .trim_matches('.')
                        .to_ascii_lowercase(),
                );
            }
        }
        Ok(list)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.domains.len() + self.urls.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether `url` is blocked: its host or a parent domain is listed, or the URL itself is.
    pub fn is_blocked(&self, url: &str) -> bool {
        let host = host_of(url);
        let mut h = host.as_str();
        loop {
            if self.domains.contains(h) {
                return true;
            }
            match h.find('.') {
                Some(i) => h = &h[i + 1..],
                None => break,
            }
        }
        !self.urls.is_empty() && self.urls.contains(&url_key(url))
    }
}

fn strip_scheme(url: &str) -> &str {
    match url.find("://") {
        Some(i)
            if url[..i]
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'-' || b == b'.') =>
        {
            &url[i + 3..]
        }
        _ => url,
    }
}

/// Lowercased host of a URL, without user info, port or a trailing dot.
pub(crate) fn host_of(url: &str) -> String {
    let rest = strip_scheme(url.trim());
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or("");
    let host = if host.starts_with('[') {
        host
    } else {
        host.split(':').next().unwrap_or("")
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

fn url_key(url: &str) -> String {
    let rest = strip_scheme(url.trim());
    let (auth, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let auth = auth.to_ascii_lowercase();
    let auth = auth.strip_prefix("www.").unwrap_or(&auth);
    format!("{auth}{}", path.trim_end_matches('/'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_composes_and_strips_controls() {
        let mut s = "Cafe\u{301}\r\nadéu\u{0007}\u{FEFF} bé\rfi".to_string();
        let mut st = Stats::new();
        normalize(&NormalizeConfig::default(), &mut s, &mut st);
        assert_eq!(s, "Café\nadéu bé\nfi");
        assert_eq!(
            st,
            vec![
                ("normalize.control_chars", 4.0),
                ("normalize.nfc_changed", 1.0)
            ]
        );
    }

    #[test]
    fn pii_redacts_emails_and_public_ips_only() {
        let mut s = "Escriu a joan.puig@exemple.cat o a info@udc.gal; servidor 8.8.8.8, local 192.168.1.1, versió 1.2.3.4.5"
            .to_string();
        let mut st = Stats::new();
        redact(&PiiConfig::default(), &mut s, &mut st);
        assert_eq!(
            s,
            "Escriu a email@example.com o a email@example.com; servidor 192.0.2.0, local 192.168.1.1, versió 1.2.3.4.5"
        );
        assert_eq!(st, vec![("pii.emails", 2.0), ("pii.ips", 1.0)]);
    }

    #[test]
    fn blocklist_matches_domains_subdomains_and_urls() {
        let l = UrlBlocklist::parse(
            "# adult\nbad.example\n*.casino.test\nhttps://ok.cat/spam/page/\n",
            Path::new("b.txt"),
        )
        .expect("valid list");
        assert_eq!(l.len(), 3);
        assert!(l.is_blocked("http://bad.example/x"));
        assert!(l.is_blocked("https://user@www.Bad.Example:8080/y?z"));
        assert!(l.is_blocked("https://a.casino.test"));
        assert!(!l.is_blocked("https://notbad.example/"));
        assert!(l.is_blocked("http://www.ok.cat/spam/page"));
        assert!(!l.is_blocked("http://ok.cat/spam/other"));
        let err =
            UrlBlocklist::parse("a.b\nbad entry\n", Path::new("list.txt")).expect_err("whitespace");
        assert!(
            err.to_string().contains("list.txt") && err.to_string().contains("line 2"),
            "{err}"
        );
    }
}
