use super::*;

fn main_text(html: &str) -> String {
    extract(html, &Limits::default())
        .expect("the page has main content")
        .text
}

const CA_1: &str = "La Generalitat ha presentat aquest dimarts el nou pla de biblioteques, que preveu obrir vint equipaments nous abans del 2030 a les comarques amb menys serveis.";
const CA_2: &str = "Segons el departament de Cultura, la inversió arribarà als cent milions d'euros i es farà en tres fases, començant per les poblacions de més de cinc mil habitants.";
const CA_3: &str = "Els bibliotecaris han rebut la notícia amb satisfacció, tot i que reclamen més personal per poder mantenir els horaris d'obertura durant tot l'any.";

fn page(body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=utf-8><title>Pla de biblioteques | Diari</title>\
         <style>p {{ color: red }}</style><script>var x = '<p>not text</p>';</script></head><body>{body}</body></html>"
    )
}

fn chrome(article: &str) -> String {
    page(&format!(
        r#"<header class="site-header"><a href="/">Diari</a><nav><ul><li><a href="/a">Política</a></li><li><a href="/b">Economia</a></li><li><a href="/c">Cultura</a></li></ul></nav></header>
        <div id="cookie-banner"><p>Aquest lloc web utilitza galetes pròpies i de tercers per millorar l'experiència de navegació i oferir continguts d'interès.</p><button>Accepta</button></div>
        <div class="container"><div class="col-md-8">{article}</div>
        <aside class="sidebar"><h3>Més llegides</h3><ul><li><a href="/1">Una notícia molt llegida sobre el temps que farà aquest cap de setmana a tot el país</a></li><li><a href="/2">Una altra notícia</a></li></ul></aside></div>
        <section id="comments"><h3>Comentaris</h3><div class="comment"><p>Un comentari llarg d'un lector que no està d'acord amb res del que diu l'article i ho explica amb molt de detall.</p></div></section>
        <footer><p>© 2024 Diari. Tots els drets reservats. Avís legal. Política de privadesa. Contacte.</p></footer>"#
    ))
}

#[test]
fn keeps_the_article_and_drops_the_chrome() {
    let html = chrome(&format!(
        "<article><h1>Vint biblioteques noves</h1><p>{CA_1}</p><p>{CA_2}</p><p>{CA_3}</p></article>"
    ));
    let out = extract(&html, &Limits::default()).unwrap();
    assert_eq!(out.title.as_deref(), Some("Pla de biblioteques | Diari"));
    assert_eq!(
        out.text,
        format!("Vint biblioteques noves\n{CA_1}\n{CA_2}\n{CA_3}\n")
    );
    // And the `all` text has it all: the extractor did remove something.
    let all = crate::read::html::html_to_text(&html).unwrap();
    for gone in [
        "galetes",
        "comentari",
        "Política",
        "drets reservats",
        "Més llegides",
    ] {
        assert!(all.contains(gone), "{gone}");
        assert!(!out.text.contains(gone), "{gone} in {:?}", out.text);
    }
}

#[test]
fn paragraphs_and_line_breaks_are_kept() {
    let html = page(&format!(
        "<div><p>{CA_1}</p><p>{CA_2}<br>{CA_3}</p><p>Curt.</p><p>{CA_1}</p></div>"
    ));
    assert_eq!(
        main_text(&html),
        format!("{CA_1}\n{CA_2}\n{CA_3}\nCurt.\n{CA_1}\n")
    );
}

#[test]
fn lists_and_tables_inside_the_article_are_kept() {
    let html = chrome(&format!(
        "<div class=\"post-body\"><p>{CA_1}</p><ul><li>Primera fase: 2025</li><li>Segona fase: 2027</li></ul>\
         <table><tr><th>Comarca</th><th>Biblioteques</th></tr><tr><td>Osona</td><td>3</td></tr></table><p>{CA_2}</p></div>"
    ));
    assert_eq!(
        main_text(&html),
        format!(
            "{CA_1}\nPrimera fase: 2025\nSegona fase: 2027\nComarca | Biblioteques\nOsona | 3\n{CA_2}\n"
        )
    );
}

#[test]
fn non_latin_scripts() {
    let el = "Η κυβέρνηση ανακοίνωσε σήμερα νέο πρόγραμμα για τις δημόσιες βιβλιοθήκες, το οποίο προβλέπει είκοσι νέα κτίρια μέχρι το 2030.";
    let bg = "Правителството обяви днес нова програма за обществените библиотеки, която предвижда двадесет нови сгради до 2030 година.";
    let ja = "政府は本日、公共図書館の新しい計画を発表した。二〇三〇年までに二十の新しい建物を建てる予定だ。";
    let html = format!(
        "<html><head><title>Βιβλιοθήκες</title></head><body><nav><a href=/>Αρχική</a> <a href=/x>Ειδήσεις</a></nav>\
         <main><p>{el}</p><p>{bg}</p><p>{ja}</p></main><footer>Πνευματικά δικαιώματα</footer></body></html>"
    );
    let out = extract(&html, &Limits::default()).unwrap();
    assert_eq!(out.text, format!("{el}\n{bg}\n{ja}\n"));
    assert_eq!(out.title.as_deref(), Some("Βιβλιοθήκες"));
}

#[test]
fn entities_and_implied_ends() {
    let html = page(
        "<div><p>Caf&eacute; &amp; m&#233;s &#x20AC; &nbsp;x &lt;b&gt; &copy &unknown; &#150; prou text per ser un paràgraf llarg de debò, amb més paraules encara\
         <p>Segon paràgraf sense tancar, també prou llarg per comptar com a contingut principal.</div>",
    );
    let t = main_text(&html);
    assert!(
        t.starts_with("Café & més € x <b> © &unknown; – prou text"),
        "{t:?}"
    );
    assert_eq!(t.lines().count(), 2, "{t:?}");
}

#[test]
fn hidden_and_link_lists_are_dropped() {
    let links: String = (0..12)
        .map(|i| format!("<a href=\"/t/{i}\">etiqueta número {i}</a> "))
        .collect();
    let html = page(&format!(
        "<div><p>{CA_1}</p><div>{links}</div><p style=\"display: none\">{CA_3}</p><p hidden>amagat</p><p>{CA_2}</p></div>"
    ));
    assert_eq!(main_text(&html), format!("{CA_1}\n{CA_2}\n"));
}

#[test]
fn a_page_of_boilerplate_has_no_main_content() {
    let html = page(
        "<nav><a href=/a>Inici</a> <a href=/b>Contacte</a></nav><footer>© 2024</footer><div class=\"cookie-notice\">Galetes</div>",
    );
    assert_eq!(
        extract(&html, &Limits::default()),
        Err(ExtractError::NoMainContent)
    );
}

#[test]
fn pre_keeps_its_lines() {
    let html = page(&format!(
        "<article><p>{CA_1}</p><pre>fn main() {{\n    println!(\"hola\");\n}}</pre><p>{CA_2}</p></article>"
    ));
    assert!(
        main_text(&html).contains("fn main() {\n    println!(\"hola\");\n}"),
        "{:?}",
        main_text(&html)
    );
}

/// Pages built to make a parser hang, recurse or blow up: each must come back quickly with text
/// or a counted reason. The scan is linear; this asserts the outcomes, not a time.
#[test]
fn pathological_pages_finish() {
    let limits = Limits::default();
    // 100,000 nested elements, never closed, with text at the bottom.
    let deep = format!("{}<p>{CA_1}</p>", "<div>".repeat(100_000));
    let out = extract(&deep, &limits).unwrap();
    assert!(out.text.contains("biblioteques"));
    assert!(out.too_deep > 90_000);
    // The same, closed.
    let closed = format!(
        "{}{CA_1}{}",
        "<div><span>".repeat(50_000),
        "</span></div>".repeat(50_000)
    );
    assert!(
        extract(&closed, &limits)
            .unwrap()
            .text
            .contains("biblioteques")
    );
    // A 4 MB attribute value, and an unterminated one.
    let huge_attr = format!("<div class=\"{}\"><p>{CA_1}</p></div>", "x".repeat(4 << 20));
    assert!(
        extract(&huge_attr, &limits)
            .unwrap()
            .text
            .contains("biblioteques")
    );
    let open_attr = format!("<p>{CA_1}</p><div class=\"{}", "y ".repeat(1 << 20));
    assert!(
        extract(&open_attr, &limits)
            .unwrap()
            .text
            .contains("biblioteques")
    );
    // Unclosed tags of every sort, and unclosed comments and scripts.
    let unclosed = format!(
        "<p>{CA_1}{}",
        "<li><td><tr><a><b><table><ul>".repeat(20_000)
    );
    assert!(extract(&unclosed, &limits).is_ok());
    assert_eq!(
        extract(
            &format!("<p>{CA_1}</p><!-- {}", "x".repeat(100_000)),
            &limits
        )
        .unwrap()
        .text,
        format!("{CA_1}\n")
    );
    assert!(extract("<script>".repeat(100_000).as_str(), &limits).is_err());
    // Binary junk, as a lossy decode would hand it over.
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let junk: Vec<u8> = (0..2_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    let junk = String::from_utf8_lossy(&junk);
    let _ = extract(&junk, &limits);
    // `<` and `&` storms.
    let _ = extract(&"<<</<!&#&&#x;<a <".repeat(200_000), &limits);
    // Too many tags and too large are counted reasons.
    assert_eq!(
        extract(&"<b>".repeat(1_100_000), &limits),
        Err(ExtractError::TooManyTags)
    );
    let small = Limits {
        max_bytes: 1000,
        ..Limits::default()
    };
    assert_eq!(
        extract(&"a".repeat(1001), &small),
        Err(ExtractError::TooLarge)
    );
}

#[test]
fn a_listing_page_keeps_its_rows() {
    // A blog index: no paragraph, rows of a linked title with a date and an author beside it.
    let rows: String = (1..=8)
        .map(|i| {
            format!(
                "<li>2024-0{i}-1{i} · Ane Etxeberria · <a href=\"/p/{i}\">Bilboko liburutegi berria zabaldu dute {i}</a></li>"
            )
        })
        .collect();
    let html = page(&format!(
        "<nav><ul><li><a href=/>Hasiera</a></li><li><a href=/b>Bloga</a></li></ul></nav><div class=\"posts\"><ul>{rows}</ul></div>\
         <div class=\"pages\"><a href=/2>2</a> <a href=/3>3</a></div>"
    ));
    let t = main_text(&html);
    assert_eq!(t.lines().count(), 8, "{t:?}");
    assert!(
        t.starts_with("2024-01-11 · Ane Etxeberria · Bilboko"),
        "{t:?}"
    );
    assert!(!t.contains("Hasiera"));
}

#[test]
fn a_wrapper_named_like_boilerplate_does_not_hide_the_page() {
    // The whole page sits in an element whose class has a boilerplate word; the last look finds it.
    let html = page(&format!(
        "<div id=\"sidebar-left-layout\"><nav><a href=/>Inici</a></nav><div><p>{CA_1}</p><p>{CA_2}</p><p>{CA_3}</p><p>{CA_1}</p></div></div>"
    ));
    assert_eq!(
        main_text(&html),
        format!("{CA_1}\n{CA_2}\n{CA_3}\n{CA_1}\n")
    );
    // But a lone cookie notice is not rescued.
    let html = page(&format!(
        "<div class=\"cookie-bar\"><p>{CA_1}</p></div><nav><a href=/>Inici</a></nav>"
    ));
    assert_eq!(
        extract(&html, &Limits::default()),
        Err(ExtractError::NoMainContent)
    );
}
