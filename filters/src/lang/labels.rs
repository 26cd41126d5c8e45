//! tria's 36 language labels and the mapping from model labels (`__label__ca`, `cat_Latn`,
//! `srp_Cyrl`, `nob`, ...) onto them.

use serde::{Deserialize, Serialize};

macro_rules! langs {
    ($($v:ident = $s:literal, $doc:literal;)*) => {
        /// A language label of tria: the 35 Salamandra languages and `other`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum Lang {
            $(#[doc = $doc] $v,)*
        }

        impl Lang {
            /// Every label, in alphabetical order of code with `other` last.
            pub const ALL: [Lang; 36] = [$(Lang::$v,)*];

            /// The label's code as written in outputs and file names.
            pub fn code(self) -> &'static str {
                match self {
                    $(Lang::$v => $s,)*
                }
            }
        }
    };
}

langs! {
    Bg = "bg", "Bulgarian";
    Ca = "ca", "Catalan";
    Cs = "cs", "Czech";
    Cy = "cy", "Welsh";
    Da = "da", "Danish";
    De = "de", "German";
    El = "el", "Greek";
    En = "en", "English";
    Es = "es", "Spanish";
    Et = "et", "Estonian";
    Eu = "eu", "Basque";
    Fi = "fi", "Finnish";
    Fr = "fr", "French";
    Ga = "ga", "Irish";
    Gl = "gl", "Galician";
    Hr = "hr", "Croatian";
    Hu = "hu", "Hungarian";
    It = "it", "Italian";
    Lt = "lt", "Lithuanian";
    Lv = "lv", "Latvian";
    Mt = "mt", "Maltese";
    Nl = "nl", "Dutch";
    Nn = "nn", "Norwegian Nynorsk";
    No = "no", "Norwegian Bokmål";
    Oc = "oc", "Occitan";
    Pl = "pl", "Polish";
    Pt = "pt", "Portuguese";
    Ro = "ro", "Romanian";
    Ru = "ru", "Russian";
    Sh = "sh", "Serbo-Croatian in Latin script: Bosnian, Latin Serbian, undetermined";
    Sk = "sk", "Slovak";
    Sl = "sl", "Slovene";
    Sr = "sr", "Serbian in Cyrillic script";
    Sv = "sv", "Swedish";
    Uk = "uk", "Ukrainian";
    Other = "other", "Any other language, or no linguistic content";
}

impl Lang {
    /// Parse a tria code (`"ca"`, `"other"`); `None` for anything else.
    pub fn from_code(code: &str) -> Option<Lang> {
        Lang::ALL.iter().copied().find(|l| l.code() == code)
    }

    /// Index of the label in [`Lang::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// Map a model's label onto tria's labels. Accepts an optional `__label__` prefix, ISO 639-1
    /// and 639-3 codes (including macro-language members such as `ekk`, `lvs`, `nob`), and an
    /// optional script suffix (`_Latn`, `-Cyrl`). Serbo-Croatian goes by script: Cyrillic → `sr`,
    /// Latin → `sh` (`hrv` stays `hr`); `sr`/`srp` without a script is `sr`. Anything unknown is
    /// [`Lang::Other`].
    pub fn from_model_label(label: &str) -> Lang {
        let l = label.strip_prefix("__label__").unwrap_or(label);
        let (code, script) = match l.find(['_', '-']) {
            Some(i) => (&l[..i], Some(&l[i + 1..])),
            None => (l, None),
        };
        let code = code.to_ascii_lowercase();
        let script = script.map(|s| s.to_ascii_lowercase());
        let cyrl = script.as_deref() == Some("cyrl");
        let latn = script.as_deref() == Some("latn");
        let lang = match code.as_str() {
            "bg" | "bul" => Lang::Bg,
            "ca" | "cat" => Lang::Ca,
            "cs" | "ces" | "cze" => Lang::Cs,
            "cy" | "cym" | "wel" => Lang::Cy,
            "da" | "dan" => Lang::Da,
            "de" | "deu" | "ger" => Lang::De,
            "el" | "ell" | "gre" => Lang::El,
            "en" | "eng" => Lang::En,
            "es" | "spa" => Lang::Es,
            "et" | "est" | "ekk" => Lang::Et,
            "eu" | "eus" | "baq" => Lang::Eu,
            "fi" | "fin" => Lang::Fi,
            "fr" | "fra" | "fre" => Lang::Fr,
            "ga" | "gle" => Lang::Ga,
            "gl" | "glg" => Lang::Gl,
            "hr" | "hrv" => Lang::Hr,
            "hu" | "hun" => Lang::Hu,
            "it" | "ita" => Lang::It,
            "lt" | "lit" => Lang::Lt,
            "lv" | "lav" | "lvs" => Lang::Lv,
            "mt" | "mlt" => Lang::Mt,
            "nl" | "nld" | "dut" => Lang::Nl,
            "nn" | "nno" => Lang::Nn,
            "no" | "nb" | "nob" | "nor" => Lang::No,
            "oc" | "oci" => Lang::Oc,
            "pl" | "pol" => Lang::Pl,
            "pt" | "por" => Lang::Pt,
            "ro" | "ron" | "rum" | "mol" => Lang::Ro,
            "ru" | "rus" => Lang::Ru,
            "sk" | "slk" | "slo" => Lang::Sk,
            "sl" | "slv" => Lang::Sl,
            "sv" | "swe" => Lang::Sv,
            "uk" | "ukr" => Lang::Uk,
            "sh" | "hbs" | "bs" | "bos" | "cnr" => {
                if cyrl {
                    Lang::Sr
                } else {
                    Lang::Sh
                }
            }
            "sr" | "srp" => {
                if latn {
                    Lang::Sh
                } else {
                    Lang::Sr
                }
            }
            _ => Lang::Other,
        };
        // A target language written in a script it does not use (e.g. `rus_Latn`) is not that
        // language as tria counts it.
        let wrong_script = match lang {
            Lang::Bg | Lang::Ru | Lang::Uk | Lang::Sr => latn,
            Lang::El => latn || cyrl,
            Lang::Other | Lang::Sh => false,
            _ => {
                cyrl || script
                    .as_deref()
                    .is_some_and(|s| s.len() == 4 && s != "latn")
            }
        };
        if wrong_script { Lang::Other } else { lang }
    }
}

impl std::fmt::Display for Lang {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for Lang {
    type Err = String;
    fn from_str(s: &str) -> Result<Lang, String> {
        Lang::from_code(s).ok_or_else(|| format!("unknown language label `{s}`"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip_and_are_sorted() {
        for (i, l) in Lang::ALL.iter().enumerate() {
            assert_eq!(Lang::from_code(l.code()), Some(*l));
            assert_eq!(l.index(), i);
        }
        let codes: Vec<&str> = Lang::ALL[..35].iter().map(|l| l.code()).collect();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(codes, sorted);
        assert_eq!(Lang::from_code("xx"), None);
    }

    #[test]
    fn model_labels_map_to_tria_labels() {
        let cases = [
            ("__label__ca", Lang::Ca),
            ("__label__cat_Latn", Lang::Ca),
            ("cat_Latn", Lang::Ca),
            ("__label__srp_Cyrl", Lang::Sr),
            ("__label__srp_Latn", Lang::Sh),
            ("__label__sr", Lang::Sr),
            ("__label__sh", Lang::Sh),
            ("__label__hbs_Latn", Lang::Sh),
            ("__label__bos_Latn", Lang::Sh),
            ("__label__bs", Lang::Sh),
            ("__label__hrv_Latn", Lang::Hr),
            ("__label__nob_Latn", Lang::No),
            ("__label__nb", Lang::No),
            ("__label__nno_Latn", Lang::Nn),
            ("__label__ekk_Latn", Lang::Et),
            ("__label__lvs_Latn", Lang::Lv),
            ("__label__oci_Latn", Lang::Oc),
            ("__label__rus_Latn", Lang::Other),
            ("__label__eng_Cyrl", Lang::Other),
            ("__label__por_Hira", Lang::Other),
            ("__label__ast", Lang::Other),
            ("__label__zh", Lang::Other),
            ("__label__ell_Grek", Lang::El),
            ("__label__ukr_Cyrl", Lang::Uk),
        ];
        for (label, want) in cases {
            assert_eq!(Lang::from_model_label(label), want, "{label}");
        }
    }
}
