//! Development driver for `tria_filters::lang` until the `tria lid` CLI wires it in.
//!
//! `lid raw MODEL K < lines`: reference-style fastText predictions (`label\tprob` pairs).
//! `lid train DATA_DIR OUT [CONFIG.json]`: train a model, print the report as JSON.
//! `lid eval MODEL DIR [PERMILLE] [JSON]`, `lid predict MODEL [K]`: MODEL is a `--model` value or
//! `stack:FIRST.ftz[,GROUP.ftz[+GROUP.clm]...]`, a first stage with second-stage group models (and
//! their character language models) assembled from files like the built-in backend (class-prior
//! correction with floor `LID_FLOOR`, default 30000, 0 = none), to try models before they are
//! built in.
//! `lid train-clm DATA_DIR OUT CONFIG.json`: train only a group's character language model.
use std::io::{BufRead, Write};
use std::path::Path;

use tria_filters::lang::{Backend, Group, LangId, charlm::CharLm, fasttext::FastText, train};

/// `stack:MAIN.ftz[,GROUP.ftz...]`: a normalising first-stage model with second-stage group models
/// (how the built-in model is assembled, from files); anything else is a `--model` value.
fn open_model(spec: &str) -> LangId {
    let Some(list) = spec.strip_prefix("stack:") else {
        return LangId::new(&Backend::parse(spec)).expect("model");
    };
    let mut parts = list.split(',');
    let main = parts.next().expect("main model");
    let mut id = LangId::from_fasttext(
        FastText::load(Path::new(main)).expect("model"),
        true,
        spec.into(),
    );
    let floor: usize = std::env::var("LID_FLOOR").map_or(30_000, |v| v.parse().expect("LID_FLOOR"));
    id = id.balanced(floor);
    for g in parts {
        // `group.ftz+group.clm`: a group model with its character language model.
        let (ft, clm) = match g.split_once('+') {
            Some((a, b)) => (a, Some(b)),
            None => (g, None),
        };
        let m = FastText::load(Path::new(ft)).expect("group model");
        let mut group = Group::new(ft, m).expect("group").balanced(floor);
        if let Some(c) = clm {
            let lm = CharLm::load(Path::new(c)).expect("character language model");
            group = group.with_char_lm(lm).expect("group labels");
        }
        id = id.with_group(group);
    }
    id
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("raw") => {
            let model = FastText::load(Path::new(&args[2])).expect("model");
            let k: usize = args.get(3).map(|s| s.parse().expect("k")).unwrap_or(1);
            let mut scratch = Default::default();
            let mut out = std::io::BufWriter::new(std::io::stdout());
            for line in std::io::stdin().lock().lines() {
                let line = line.expect("utf8");
                let p = model.predict(&line, k, 0.0, &mut scratch);
                let parts: Vec<String> = p
                    .iter()
                    .map(|(pr, i)| format!("{}\t{:.6}", model.label(*i), pr))
                    .collect();
                writeln!(out, "{}", parts.join("\t")).expect("write");
            }
        }
        Some("train-clm") => {
            // lid train-clm DIR OUT CONFIG.json: the character language model of a group config
            let text = std::fs::read_to_string(&args[4]).expect("config");
            let cfg: train::TrainConfig = serde_json::from_str(&text).expect("config");
            let corpus = train::read_corpus(Path::new(&args[2])).expect("data");
            let lm = CharLm::train(&corpus, &cfg).expect("train");
            std::fs::write(&args[3], lm.to_bytes()).expect("write");
        }
        Some("train") => {
            let cfg: train::TrainConfig = match args.get(4) {
                Some(p) => serde_json::from_str(&std::fs::read_to_string(p).expect("config"))
                    .expect("json"),
                None => Default::default(),
            };
            let (model, report) = train::train_dir(Path::new(&args[2]), &cfg).expect("train");
            model.save(Path::new(&args[3])).expect("save");
            println!("{}", serde_json::to_string_pretty(&report).expect("json"));
        }
        Some("eval") => {
            // lid eval MODEL DIR [valid_permille] [JSON]; MODEL `norm:PATH` forces normalisation
            let id = match args[2].strip_prefix("norm:") {
                Some(p) => LangId::from_fasttext(
                    FastText::load(Path::new(p)).expect("model"),
                    true,
                    p.into(),
                ),
                None => open_model(&args[2]),
            };
            let split = args.get(4).map(|s| s.parse().expect("permille"));
            let r = tria_filters::lang::eval_dir(&id, Path::new(&args[3]), split).expect("eval");
            print!("{}", r.to_text());
            if let Some(j) = args.get(5) {
                std::fs::write(j, serde_json::to_string_pretty(&r).expect("json")).expect("write");
            }
        }
        Some("predict") => {
            // lid predict MODEL K < lines
            let id = open_model(&args[2]);
            let k = args.get(3).map(|s| s.parse().expect("k")).unwrap_or(1);
            tria_filters::lang::predict_lines(
                &id,
                std::io::stdin().lock(),
                std::io::stdout().lock(),
                k,
                "<stdin>",
            )
            .expect("predict");
        }
        Some("norm") => {
            for line in std::io::stdin().lock().lines() {
                println!("{}", tria_filters::lang::normalize(&line.expect("utf8")));
            }
        }
        Some("thresholds") => {
            // lid thresholds DIR PERMILLE: per-language minimum scores for the builtin model
            let id = LangId::builtin().expect("builtin");
            let pm: u32 = args[3].parse().expect("permille");
            let mut corpus =
                train::read_corpus_where(Path::new(&args[2]), |l| train::is_validation_line(l, pm))
                    .expect("data");
            train::distinct_lines(&mut corpus);
            for (l, t) in tria_filters::lang::stage::derive_min_scores(&id, &corpus) {
                println!(
                    "    (Lang::{}, {t:.2}),",
                    l.code()[..1].to_uppercase() + &l.code()[1..]
                );
            }
        }
        _ => eprintln!("usage: lid raw MODEL K | lid train DIR OUT [CONFIG.json]"),
    }
}
