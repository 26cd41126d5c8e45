//! Proposes per-language settings from the language-ID reference text (`../shared/data/lid/<code>.txt`,
//! one sentence per line, random order) by assembling it into pseudo-documents and running
//! [`calibrate`](tria_filters::quality::calibrate::calibrate).
//!
//! ```text
//! cargo run --release -p tria-filters --example calibrate_lid -- ../shared/data/lid OUT_DIR 0.01 [codes...]
//! ```
//!
//! A pseudo-document is 6 lines of 4 consecutive sentences each (a line per paragraph, as in WET text).
//! Writes `OUT_DIR/<code>.toml` (proposed language file) and `OUT_DIR/<code>.md` (the report).
use tria_filters::quality::LANGUAGES;
use tria_filters::quality::calibrate::calibrate;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        return Err("usage: calibrate_lid DATA_DIR OUT_DIR QUANTILE [codes...]".into());
    }
    let (data, out) = (&args[1], &args[2]);
    let q: f64 = args[3].parse()?;
    let codes: Vec<&str> = if args.len() > 4 {
        args[4..].iter().map(String::as_str).collect()
    } else {
        LANGUAGES.to_vec()
    };
    std::fs::create_dir_all(out)?;
    for code in codes {
        let path = format!("{data}/{code}.txt");
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        let lines: Vec<&str> = text.lines().collect();
        let docs: Vec<String> = lines
            .chunks(24)
            .filter(|c| c.len() == 24)
            .map(|c| {
                c.chunks(4)
                    .map(|p| p.join(" "))
                    .collect::<Vec<_>>()
                    .join("\n")
            })
            .collect();
        let cal = calibrate(docs.iter().map(String::as_str), code, q)?;
        std::fs::write(format!("{out}/{code}.toml"), &cal.toml)?;
        std::fs::write(format!("{out}/{code}.md"), &cal.report)?;
        eprintln!("{code}: {} documents", cal.docs);
    }
    Ok(())
}
