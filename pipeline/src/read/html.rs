//! WARC `response` blocks: HTTP headers, charset detection and decoding, HTML to text.
//!
//! The charset comes from the HTTP `Content-Type`, else from a `<meta>` tag in the first 1,024
//! bytes, else from `chardetng`'s guess; `encoding_rs` decodes. HTML becomes text with
//! [`super::extract`] (main content, the default) or with `html2text` (every block on its own
//! line, no decorations: `extract = "all"`).

use std::io::Read;

use encoding_rs::Encoding;

use super::Counters;
use super::extract::{self, ExtractMode};

/// A page's text and what we learnt on the way.
pub struct Page {
    pub text: String,
    pub charset: Option<&'static str>,
    pub title: Option<String>,
}

/// The HTTP header block of a response: status code and headers.
pub struct HttpHead<'a> {
    pub status: u16,
    pub headers: Vec<(&'a str, &'a str)>,
    /// Offset of the payload in the block.
    pub body_start: usize,
}

impl<'a> HttpHead<'a> {
    pub fn header(&self, name: &str) -> Option<&'a str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| *v)
    }
}

/// Parses the HTTP status line and headers; accepts CRLF or LF-only lines.
pub fn parse_http(block: &[u8]) -> Option<HttpHead<'_>> {
    let crlf = memchr::memmem::find(block, b"\r\n\r\n").map(|i| (i, i + 4));
    let lf = memchr::memmem::find(block, b"\n\n").map(|i| (i, i + 2));
    let (end, body_start) = match (crlf, lf) {
        (Some(a), Some(b)) => {
            if a.0 <= b.0 {
                a
            } else {
                b
            }
        }
        (Some(a), None) => a,
        (None, Some(b)) => b,
        (None, None) => (block.len(), block.len()),
    };
    let head = std::str::from_utf8(&block[..end]).ok()?;
    let mut lines = head.lines();
    let status_line = lines.next()?;
    if !status_line.starts_with("HTTP/") {
        return None;
    }
    let status = status_line.split_whitespace().nth(1)?.parse().ok()?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect();
    Some(HttpHead {
        status,
        headers,
        body_start,
    })
}

/// The charset named in a `Content-Type` value.
fn charset_param(content_type: &str) -> Option<&str> {
    content_type.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']))
    })
}

/// The charset named by `<meta charset>` or `<meta http-equiv content>` near the start of the page.
fn meta_charset(head: &[u8]) -> Option<&'static Encoding> {
    let lower: Vec<u8> = head.iter().map(|b| b.to_ascii_lowercase()).collect();
    let i = memchr::memmem::find(&lower, b"charset=")?;
    let rest = &head[i + 8..];
    let rest = rest
        .strip_prefix(b"\"")
        .or_else(|| rest.strip_prefix(b"'"))
        .unwrap_or(rest);
    let end = rest
        .iter()
        .position(|b| matches!(b, b'"' | b'\'' | b';' | b'>' | b' ' | b'/'))
        .unwrap_or(rest.len());
    Encoding::for_label(&rest[..end])
}

/// Text of an HTML `response` block, or the reason it was skipped.
pub fn response_text(
    block: &[u8],
    max_bytes: usize,
    mode: ExtractMode,
    counters: &mut Counters,
) -> Result<Page, &'static str> {
    let (html, used) = response_html(block, max_bytes, counters)?;
    let (text, title) = match mode {
        ExtractMode::Main => {
            let limits = extract::Limits {
                max_bytes: max_bytes.saturating_mul(4),
                ..extract::Limits::default()
            };
            let page = extract::extract(&html, &limits).map_err(|e| e.reason())?;
            if page.too_deep > 0 {
                counters.add("repaired:html_too_deep", 1);
            }
            (page.text, page.title)
        }
        ExtractMode::All => {
            // html2text's time grows with the square of the nesting (minutes for 100,000 levels):
            // refuse such pages rather than hang on them.
            if extract::nesting_depth(&html) > ALL_MAX_DEPTH {
                return Err("html_too_deep");
            }
            let text = html_to_text(&html).map_err(|_| "html_to_text")?;
            (text, extract_title(&html))
        }
    };
    Ok(Page {
        text,
        charset: Some(used.name()),
        title,
    })
}

/// The decoded HTML of a `response` block and the encoding used, or the reason it was skipped.
pub fn response_html(
    block: &[u8],
    max_bytes: usize,
    counters: &mut Counters,
) -> Result<(String, &'static Encoding), &'static str> {
    let http = parse_http(block).ok_or("bad_http_header")?;
    if !(200..300).contains(&http.status) {
        return Err("http_status");
    }
    let content_type = http.header("Content-Type").unwrap_or("");
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "text/html" && mime != "application/xhtml+xml" {
        return Err("not_html");
    }
    let mut payload = &block[http.body_start..];
    let inflated;
    // Some crawlers (ClueWeb among them) keep `Content-Encoding: gzip` but store the payload plain:
    // only inflate what really is gzip.
    if payload.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        let mut d = flate2::read::MultiGzDecoder::new(payload).take(max_bytes as u64 + 1);
        if d.read_to_end(&mut out).is_err() {
            return Err("bad_content_encoding");
        }
        inflated = out;
        payload = &inflated;
    }
    if payload.len() > max_bytes {
        return Err("html_too_large");
    }
    let head = &payload[..payload.len().min(1024)];
    let (encoding, how) = match charset_param(content_type)
        .and_then(|c| Encoding::for_label(c.as_bytes()))
    {
        Some(e) => (e, "http"),
        None => match meta_charset(head) {
            Some(e) => (e, "meta"),
            None => {
                let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
                det.feed(payload, true);
                (det.guess(None, chardetng::Utf8Detection::Allow), "guessed")
            }
        },
    };
    if how == "guessed" {
        counters.add("charset_guessed", 1);
    }
    let (html, used, had_errors) = encoding.decode(payload);
    if had_errors {
        counters.add("repaired:invalid_encoding", 1);
    }
    Ok((html.into_owned(), used))
}

/// Deepest nesting `extract = "all"` hands to html2text.
const ALL_MAX_DEPTH: usize = 1000;

fn extract_title(html: &str) -> Option<String> {
    let lower = html.get(..html.len().min(64 * 1024))?.to_ascii_lowercase();
    let open = lower.find("<title")?;
    let start = open + lower[open..].find('>')? + 1;
    let end = start + lower[start..].find("</title")?;
    let t = html[start..end]
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    (!t.is_empty()).then_some(t)
}

/// HTML to plain text: one line per block, no decorations, no wrapping.
pub fn html_to_text(html: &str) -> Result<String, html2text::Error> {
    let text = html2text::config::with_decorator(html2text::render::TrivialDecorator::new())
        .raw_mode(true)
        .no_link_wrapping()
        .allow_width_overflow()
        .string_from_read(html.as_bytes(), 100_000)?;
    // Trailing spaces from the renderer's padding and runs of blank lines carry no text.
    let mut out = String::with_capacity(text.len());
    let mut blank = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank > 0 { "\n\n" } else { "\n" });
        }
        blank = 0;
        out.push_str(line);
    }
    if !out.is_empty() {
        out.push('\n');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(ct: &str, body: &[u8]) -> Vec<u8> {
        let mut v = format!("HTTP/1.1 200 OK\r\nContent-Type: {ct}\r\n\r\n").into_bytes();
        v.extend_from_slice(body);
        v
    }

    #[test]
    fn decodes_the_declared_charset() {
        // "Açò és català" in ISO-8859-1.
        let body = b"<html><head><title>Prova</title></head><body><p>A\xe7\xf2 \xe9s catal\xe0</p></body></html>";
        let mut c = Counters::default();
        let page = response_text(
            &response("text/html; charset=ISO-8859-1", body),
            1 << 20,
            ExtractMode::All,
            &mut c,
        )
        .unwrap();
        assert_eq!(page.text.trim(), "Açò és català");
        assert_eq!(page.charset, Some("windows-1252"));
        assert_eq!(page.title.as_deref(), Some("Prova"));
    }

    #[test]
    fn meta_charset_and_lf_only_headers() {
        let body = "<html><head><meta charset=\"windows-1251\"></head><body>"
            .as_bytes()
            .iter()
            .copied()
            .chain([0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2]) // "Привет"
            .chain(b"</body></html>".iter().copied())
            .collect::<Vec<u8>>();
        let mut block = b"HTTP/1.0 200 OK\nContent-Type: text/html\n\n".to_vec();
        block.extend_from_slice(&body);
        let page =
            response_text(&block, 1 << 20, ExtractMode::All, &mut Counters::default()).unwrap();
        assert_eq!(page.text.trim(), "Привет");
    }

    #[test]
    fn skips_non_html_and_errors() {
        let mut c = Counters::default();
        assert_eq!(
            response_text(
                &response("image/png", b"x"),
                1 << 20,
                ExtractMode::Main,
                &mut c
            )
            .err(),
            Some("not_html")
        );
        let not_found = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\n\r\n<p>x</p>";
        assert_eq!(
            response_text(not_found, 1 << 20, ExtractMode::Main, &mut c).err(),
            Some("http_status")
        );
        assert_eq!(
            response_text(b"garbage", 1 << 20, ExtractMode::Main, &mut c).err(),
            Some("bad_http_header")
        );
    }

    #[test]
    fn main_mode_extracts_and_counts() {
        let para = "Aquest és un paràgraf prou llarg per ser el contingut principal d'una pàgina web de prova.";
        let body = format!(
            "<html><head><title>Prova</title></head><body><nav><a href=/>Inici</a></nav><p>{para}</p><footer>Peu</footer></body></html>"
        );
        let block = response("text/html; charset=utf-8", body.as_bytes());
        let mut c = Counters::default();
        let main = response_text(&block, 1 << 20, ExtractMode::Main, &mut c).unwrap();
        assert_eq!(main.text, format!("{para}\n"));
        assert_eq!(main.title.as_deref(), Some("Prova"));
        let all = response_text(&block, 1 << 20, ExtractMode::All, &mut c).unwrap();
        assert!(all.text.contains("Inici") && all.text.contains("Peu"));
        let empty = response("text/html", b"<nav><a href=/>Inici</a></nav>");
        assert_eq!(
            response_text(&empty, 1 << 20, ExtractMode::Main, &mut c).err(),
            Some("no_main_content")
        );
        // Deep nesting: `main` flattens it (and counts), `all` refuses it rather than recurse.
        let deep = format!("{}<p>{para}</p>", "<div>".repeat(50_000));
        let block = response("text/html", deep.as_bytes());
        let page = response_text(&block, 1 << 20, ExtractMode::Main, &mut c).unwrap();
        assert_eq!(page.text, format!("{para}\n"));
        assert_eq!(c.get("repaired:html_too_deep"), 1);
        assert_eq!(
            response_text(&block, 1 << 20, ExtractMode::All, &mut c).err(),
            Some("html_too_deep")
        );
    }

    #[test]
    fn paragraphs_become_lines() {
        let t =
            html_to_text("<h1>Títol</h1><p>Primer paràgraf.</p><ul><li>u</li><li>dos</li></ul>")
                .unwrap();
        assert!(t.contains("Títol\n"), "{t:?}");
        assert!(t.contains("Primer paràgraf."), "{t:?}");
        assert!(!t.contains("<p>"));
    }
}
