#!/usr/bin/env python3
"""Generates HTML pages whose main content is known, for the extraction benchmark.

Real sentences of each language (read at bench time from ../shared/data/lid/<lang>.txt, never
stored in the repository) are rendered into five families of page templates with the usual chrome:
navigation bars, headers, breadcrumbs, cookie banners, sidebars with link lists and widgets, share
buttons, related-article teasers, comment sections and footers. Class and id names vary, and some
templates use names no extractor's vocabulary knows (`top-strip`, `reader-reactions`) or no names at
all (a table layout), so that the pages do not simply reward one list of class names.

The main content (gold) is the article body: paragraphs, subheadings, list items, table cells and
quotes. The headline, byline, captions and everything around the article are not main content
(both extractors return the title apart, as metadata).

A sixth family (`--template 5`, a Drupal-like page with unmarked teasers and comments under a
non-English class name) was written after tria's thresholds were set, as a held-out check.

Usage: gen_pages.py LID_DIR OUT_DIR [--per-lang N] [--seed S] [--template K]
Writes OUT_DIR/pages/<lang>-<n>.html and OUT_DIR/gold/<lang>-<n>.txt.
"""

import argparse
import html
import os
import random

LANGS = ("bg ca cs cy da de el en es et eu fi fr ga gl hr hu it lt lv mt nl nn no oc pl pt ro "
         "ru sh sk sl sr sv uk").split()


def esc(s):
    return html.escape(s, quote=False)


class Text:
    def __init__(self, lines, rng):
        self.lines = lines
        self.rng = rng

    def sentence(self, lo=40, hi=260):
        for _ in range(50):
            s = self.rng.choice(self.lines)
            if lo <= len(s) <= hi:
                return s
        return self.rng.choice(self.lines)

    def words(self, n):
        out = []
        while len(out) < n:
            out.extend(w.strip('.,;:!?¿¡"«»()') for w in self.sentence(10, 400).split())
            out = [w for w in out if w]
        return " ".join(out[:n])

    def phrase(self, lo, hi):
        w = self.words(self.rng.randint(lo, hi))
        return w[:1].upper() + w[1:]

    def para(self, lo=1, hi=4):
        return " ".join(self.sentence() for _ in range(self.rng.randint(lo, hi)))


def inline(t, rng, para):
    """Marks up a paragraph: sometimes a link or emphasis around a few words (gold keeps the words)."""
    words = para.split(" ")
    if len(words) > 8 and rng.random() < 0.5:
        i = rng.randint(0, len(words) - 4)
        tag = rng.choice(["a", "strong", "em", "a"])
        attr = ' href="/wiki/%d"' % rng.randint(1, 9999) if tag == "a" else ""
        inner = " ".join(esc(w) for w in words[i:i + 3])
        return (" ".join(esc(w) for w in words[:i]) + (" " if i else "") + "<%s%s>%s</%s> " % (tag, attr, inner, tag)
                + " ".join(esc(w) for w in words[i + 3:]))
    return esc(para)


def article_body(t, rng, gold, rich=True):
    """The article body as HTML; appends each gold block to `gold`."""
    parts = []
    n = rng.randint(3, 9)
    for k in range(n):
        if rich and k > 1 and rng.random() < 0.25:
            h = t.phrase(3, 7)
            parts.append("<h2>%s</h2>" % esc(h))
            gold.append(h)
        p = t.para()
        parts.append("<p>%s</p>" % inline(t, rng, p))
        gold.append(p)
        if rich and rng.random() < 0.12:
            items = [t.sentence(20, 120) for _ in range(rng.randint(3, 6))]
            tag = rng.choice(["ul", "ol"])
            parts.append("<%s>%s</%s>" % (tag, "".join("<li>%s</li>" % esc(i) for i in items), tag))
            gold.extend(items)
        if rich and rng.random() < 0.08:
            rows = [[t.phrase(1, 2) for _ in range(3)]] + [
                [t.phrase(1, 3), str(rng.randint(1, 5000)), "%d,%d %%" % (rng.randint(0, 99), rng.randint(0, 9))]
                for _ in range(rng.randint(2, 5))]
            body = "".join("<tr>%s</tr>" % "".join("<td>%s</td>" % esc(c) for c in r) for r in rows)
            parts.append('<table class="data">%s</table>' % body)
            gold.extend(" | ".join(r) for r in rows)
        if rich and rng.random() < 0.06:
            q = t.sentence()
            parts.append("<blockquote><p>%s</p></blockquote>" % esc(q))
            gold.append(q)
    return "\n".join(parts)


def nav_links(t, rng, n=None):
    n = n or rng.randint(5, 9)
    return ["<a href=\"/%s\">%s</a>" % (rng.randint(1, 999), esc(t.phrase(1, 2))) for _ in range(n)]


def link_list(t, rng, n, lo=3, hi=9):
    return "<ul>%s</ul>" % "".join(
        "<li><a href=\"/p/%d\">%s</a></li>" % (rng.randint(1, 99999), esc(t.phrase(lo, hi))) for _ in range(n))


def cookie_banner(t, rng):
    kind = rng.randint(0, 4)
    s = esc(t.sentence(60, 200))
    ok = esc(t.phrase(1, 1))
    if kind == 0:
        return '<div id="cookie-notice" role="dialog"><p>%s</p><button>%s</button></div>' % (s, ok)
    if kind == 1:
        return '<div class="cc-window cc-banner"><span class="cc-message">%s</span><a class="cc-btn">%s</a></div>' % (s, ok)
    if kind == 2:
        return '<div id="CybotCookiebotDialog"><div><h2>%s</h2><div>%s</div></div><a href="#">%s</a></div>' % (
            esc(t.phrase(2, 3)), s, ok)
    if kind == 3:
        return '<div class="gdpr-consent-bar"><p>%s <a href="/privacy">%s</a></p></div>' % (s, esc(t.phrase(1, 2)))
    return '<div id="eu-law-bar"><p>%s</p><a href="#" class="btn">%s</a></div>' % (s, ok)


def comments(t, rng, style):
    items = []
    for _ in range(rng.randint(2, 5)):
        who, when = esc(t.phrase(1, 2)), "%02d.%02d.2024" % (rng.randint(1, 28), rng.randint(1, 12))
        body = esc(t.para(1, 3))
        if style == 0:
            items.append('<li class="comment"><div class="comment-author">%s</div><time>%s</time><p>%s</p></li>' % (who, when, body))
        else:
            items.append('<div class="reaction"><b>%s</b> <span>%s</span><p>%s</p></div>' % (who, when, body))
    head = "<h3>%s</h3>" % esc(t.phrase(1, 2))
    if style == 0:
        wrap = rng.choice(['<section id="comments" class="comments-area">%s<ol class="commentlist">%s</ol></section>',
                           '<div id="disqus_thread">%s<ul>%s</ul></div>'])
    else:
        wrap = '<div class="reader-reactions">%s%s</div>'
    return wrap % (head, "".join(items))


def footer_html(t, rng, tag="footer"):
    links = " · ".join(nav_links(t, rng, rng.randint(3, 6)))
    return '<%s class="site-footer"><p>© %d %s. %s</p><p>%s</p></%s>' % (
        tag, rng.randint(2005, 2025), esc(t.phrase(1, 2)), esc(t.phrase(2, 5)), links, tag)


def related(t, rng, cls):
    items = "".join('<div class="teaser"><h4><a href="/n/%d">%s</a></h4><p>%s</p></div>' % (
        rng.randint(1, 99999), esc(t.phrase(4, 9)), esc(t.sentence(60, 160))) for _ in range(3))
    return '<div class="%s"><h3>%s</h3>%s</div>' % (cls, esc(t.phrase(1, 3)), items)


def byline(t, rng):
    return "%s · %02d/%02d/2024" % (t.phrase(2, 2), rng.randint(1, 28), rng.randint(1, 12))


def page(t, rng, lang, template):
    gold = []
    headline = t.phrase(5, 12)
    site = t.phrase(1, 2)
    head = ('<!DOCTYPE html><html lang="%s"><head><meta charset="utf-8"><title>%s | %s</title>'
            '<meta name="viewport" content="width=device-width"><link rel="stylesheet" href="/s.css">'
            '<style>body{font-family:sans-serif}.x>p{margin:0}</style>'
            '<script>window.dataLayer=window.dataLayer||[];function g(){dataLayer.push(arguments)}</script>'
            '<script type="application/ld+json">{"@type":"NewsArticle","headline":"%s"}</script></head>') % (
        lang, esc(headline), esc(site), esc(headline).replace('"', ""))
    share = '<div class="share-buttons">%s</div>' % " ".join(
        '<a href="https://x/%s">%s</a>' % (s, s) for s in ("Facebook", "X", "WhatsApp", "Email"))
    if template == 0:  # HTML5 semantic
        body = article_body(t, rng, gold)
        html_ = head + ('<body><header><a class="logo" href="/">%s</a><nav><ul>%s</ul></nav></header>%s'
                        '<main><article><header><h1>%s</h1><p class="byline">%s</p></header>%s%s</article>%s</main>'
                        '<aside><h3>%s</h3>%s<div class="about"><p>%s</p></div></aside>%s<script>g("x")</script></body></html>') % (
            esc(site), "".join("<li>%s</li>" % a for a in nav_links(t, rng)), cookie_banner(t, rng),
            esc(headline), esc(byline(t, rng)), body, share, comments(t, rng, 0),
            esc(t.phrase(1, 3)), link_list(t, rng, rng.randint(4, 8)), esc(t.sentence(80, 200)), footer_html(t, rng))
    elif template == 1:  # Bootstrap div soup
        body = article_body(t, rng, gold)
        html_ = head + ('<body><div class="navbar navbar-expand-lg"><div class="container">%s</div></div>'
                        '<div class="container"><ol class="breadcrumb"><li><a href="/">%s</a></li><li><a href="/s">%s</a></li></ol>'
                        '<div class="row"><div class="col-md-8"><h1 class="title">%s</h1><div class="meta">%s</div>'
                        '<div class="post-content">%s</div>%s%s</div>'
                        '<div class="col-md-4"><div class="widget"><h4>%s</h4>%s</div><div class="widget"><h4>%s</h4><p>%s</p></div></div></div></div>'
                        '%s%s</body></html>') % (
            " ".join(nav_links(t, rng)), esc(t.phrase(1, 1)), esc(t.phrase(1, 2)), esc(headline),
            esc(byline(t, rng)), body, share, comments(t, rng, rng.randint(0, 1)),
            esc(t.phrase(1, 3)), link_list(t, rng, rng.randint(4, 8)), esc(t.phrase(1, 2)), esc(t.sentence(80, 220)),
            footer_html(t, rng, "div"), cookie_banner(t, rng))
    elif template == 2:  # WordPress
        body = article_body(t, rng, gold)
        html_ = head + ('<body class="single"><div id="page" class="site"><a class="skip-link" href="#content">%s</a>'
                        '<header id="masthead" class="site-header"><p class="site-title"><a href="/">%s</a></p>'
                        '<nav id="site-navigation" class="main-navigation"><ul id="primary-menu">%s</ul></nav></header>'
                        '<div id="content" class="site-content"><div id="primary" class="content-area"><main id="main" class="site-main">'
                        '<article class="post type-post"><header class="entry-header"><h1 class="entry-title">%s</h1>'
                        '<div class="entry-meta"><span class="posted-on">%s</span></div></header>'
                        '<div class="entry-content">%s</div><footer class="entry-footer"><span class="tags-links">%s</span></footer></article>'
                        '%s%s</main></div><div id="secondary" class="widget-area"><section class="widget"><h2 class="widget-title">%s</h2>%s</section>'
                        '<section class="widget"><h2 class="widget-title">%s</h2>%s</section></div></div>%s</div>%s</body></html>') % (
            esc(t.phrase(1, 2)), esc(site), "".join("<li>%s</li>" % a for a in nav_links(t, rng)), esc(headline),
            esc(byline(t, rng)), body, " ".join(nav_links(t, rng, 3)),
            related(t, rng, "related-posts"), comments(t, rng, 0),
            esc(t.phrase(1, 2)), link_list(t, rng, 5), esc(t.phrase(1, 2)), link_list(t, rng, 6, 1, 2),
            footer_html(t, rng), cookie_banner(t, rng))
    elif template == 3:  # Old table layout, no class names, <br><br> paragraphs
        paras = [t.para(2, 4) for _ in range(rng.randint(3, 7))]
        gold.extend(paras)
        html_ = head + ('<body bgcolor="#ffffff"><table width="100%%"><tr><td colspan="2"><font size="5"><b>%s</b></font><br>%s</td></tr>'
                        '<tr><td width="20%%" valign="top">%s</td><td valign="top"><font face="Arial"><b>%s</b><br><br>%s</font></td></tr>'
                        '<tr><td colspan="2"><small>%s</small></td></tr></table></body></html>') % (
            esc(site), " | ".join(nav_links(t, rng)), "<br>".join(nav_links(t, rng, rng.randint(6, 12))),
            esc(headline), "<br><br>\n".join(esc(p) for p in paras),
            "© %d %s · %s" % (rng.randint(1998, 2010), esc(site), " · ".join(nav_links(t, rng, 3))))
    elif template == 5:  # Held out: written after tria was tuned, scored without retuning
        body = article_body(t, rng, gold)
        html_ = head + ('<body class="path-node page-node-type-article"><div id="page-wrapper"><div class="region region-top">%s</div>'
                        '<div class="layout-main-wrapper"><div class="region region-first"><ul class="links">%s</ul><p>%s</p></div>'
                        '<div class="layout-content"><h1 class="page-title">%s</h1><div class="submitted">%s</div>'
                        '<div class="field field--type-text-with-summary"><div class="field-item even">%s</div></div>'
                        '<div class="view view-content"><div class="views-row"><p>%s</p></div><div class="views-row"><p>%s</p></div></div>'
                        '<div class="kommentare"><h2>%s</h2><div class="k-item"><p>%s</p></div><div class="k-item"><p>%s</p></div></div></div></div>'
                        '<div class="region region-bottom"><p>%s</p><p>%s</p></div></div>%s</body></html>') % (
            " | ".join(nav_links(t, rng)), "".join("<li>%s</li>" % a for a in nav_links(t, rng, 6)),
            esc(t.sentence(80, 200)), esc(headline), esc(byline(t, rng)), body,
            esc(t.sentence(80, 200)), esc(t.sentence(80, 200)), esc(t.phrase(1, 2)), esc(t.para(1, 3)),
            esc(t.para(1, 3)), esc(t.phrase(3, 8)), " · ".join(nav_links(t, rng, 4)), cookie_banner(t, rng))
    else:  # News portal with names outside the usual vocabularies
        body = article_body(t, rng, gold)
        html_ = head + ('<body><div class="top-strip">%s</div><div class="brand-row"><a href="/">%s</a> <span>%s</span></div>'
                        '%s<div class="layout"><div class="story-wrapper"><h1>%s</h1><div class="story-byline">%s</div>'
                        '<div class="story-text">%s</div>%s</div>%s<div class="rail"><div class="rail-box"><h3>%s</h3>%s</div></div></div>'
                        '%s<div class="bottom"><p>%s</p>%s</div></body></html>') % (
            " ".join(nav_links(t, rng)), esc(site), esc(t.phrase(3, 6)), cookie_banner(t, rng), esc(headline),
            esc(byline(t, rng)), body, share, related(t, rng, "more-stories"), esc(t.phrase(1, 3)),
            link_list(t, rng, rng.randint(4, 8)), comments(t, rng, 1), esc(t.phrase(2, 5)),
            " ".join(nav_links(t, rng, 4)))
    return html_, "\n".join(gold) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lid_dir")
    ap.add_argument("out_dir")
    ap.add_argument("--per-lang", type=int, default=10)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--template", type=int, help="only this template family (5: the held-out one)")
    a = ap.parse_args()
    os.makedirs(os.path.join(a.out_dir, "pages"), exist_ok=True)
    os.makedirs(os.path.join(a.out_dir, "gold"), exist_ok=True)
    for li, lang in enumerate(LANGS):
        with open(os.path.join(a.lid_dir, lang + ".txt"), encoding="utf-8") as f:
            lines = [l.strip() for l in f if l.strip()]
        rng = random.Random(a.seed * 1000 + li)
        t = Text(lines[:20000], rng)
        for n in range(a.per_lang):
            html_, gold = page(t, rng, lang, n % 5 if a.template is None else a.template)
            name = "%s-%02d" % (lang, n)
            with open(os.path.join(a.out_dir, "pages", name + ".html"), "w", encoding="utf-8") as f:
                f.write(html_)
            with open(os.path.join(a.out_dir, "gold", name + ".txt"), "w", encoding="utf-8") as f:
                f.write(gold)


if __name__ == "__main__":
    main()
