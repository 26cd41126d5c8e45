//! Development driver for `tria_filters::lang` until the `tria lid` CLI wires it in.
use std::io::{BufRead, Write};
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = tria_filters::lang::fasttext::FastText::load(std::path::Path::new(&args[2]))
        .expect("model");
    let k: usize = args.get(3).map(|s| s.parse().expect("k")).unwrap_or(1);
    let mut scratch = Default::default();
    let stdin = std::io::stdin();
    let mut out = std::io::BufWriter::new(std::io::stdout());
    for line in stdin.lock().lines() {
        let line = line.expect("utf8");
        let p = model.predict(&line, k, 0.0, &mut scratch);
        let parts: Vec<String> = p
            .iter()
            .map(|(pr, i)| format!("{}\t{:.6}", model.label(*i), pr))
            .collect();
        writeln!(out, "{}", parts.join("\t")).expect("write");
    }
}
