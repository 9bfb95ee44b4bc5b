//! Rumour watch: folding text into words, and matching a message against
//! the transformation team's watch list.
//!
//! Folding reuses the search index's building blocks (tantivy's Unicode
//! word tokenizer, lowercasing and ASCII folding, `search/index.rs`) but
//! not its English stemmer: a phrase matches the words the team typed, in
//! any language, whatever their case or accents (`Licenciements` matches
//! `licenciéments`), never a part of a word (`layoff` does not match
//! `layoffs`). Words are runs of Unicode letters and digits, so scripts
//! written without spaces (Chinese, Japanese, Thai) match only whole runs.
//! Accents are folded where a Latin ASCII folding exists; other scripts
//! are lowercased only.
//!
//! Matching costs one hash lookup per word of the message whatever the
//! length of the list (phrases are indexed by their first word), plus a
//! comparison of the following words for each phrase starting there. It
//! runs at apply (`committer/watch.rs`); see docs/architecture.md,
//! "Rumour watch", for why there and its measured cost.

use std::collections::HashMap;
use tantivy::tokenizer::{AsciiFoldingFilter, LowerCaser, SimpleTokenizer, TextAnalyzer};

/// The folder: Unicode words, lowercased, ASCII-folded.
pub struct Folder(TextAnalyzer);

impl Default for Folder {
    fn default() -> Folder {
        Folder(
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .filter(AsciiFoldingFilter)
                .build(),
        )
    }
}

impl Folder {
    /// The folded words of `text`, in order.
    pub fn words(&mut self, text: &str) -> Vec<String> {
        let mut stream = self.0.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// A phrase's key: its folded words joined by one space; `None` when
    /// it has no word at all (only punctuation or spaces).
    pub fn key(&mut self, phrase: &str) -> Option<String> {
        let words = self.words(phrase);
        (!words.is_empty()).then(|| words.join(" "))
    }
}

/// The watch list, ready to match.
#[derive(Default)]
pub struct Matcher {
    folder: Folder,
    /// Each phrase's folded words.
    phrases: Vec<Vec<String>>,
    /// First word → the phrases starting with it.
    by_first: HashMap<String, Vec<usize>>,
}

impl Matcher {
    /// A matcher for phrases given by their keys (folded words joined by
    /// one space, as [`Folder::key`] makes them).
    pub fn new<'a>(keys: impl IntoIterator<Item = &'a str>) -> Matcher {
        let mut m = Matcher::default();
        for key in keys {
            let words: Vec<String> = key.split(' ').map(str::to_owned).collect();
            if let Some(first) = words.first() {
                m.by_first
                    .entry(first.clone())
                    .or_default()
                    .push(m.phrases.len());
            }
            m.phrases.push(words);
        }
        m
    }

    pub fn is_empty(&self) -> bool {
        self.phrases.is_empty()
    }

    /// The indices (in the order given to [`Matcher::new`]) of the phrases
    /// that occur in `text`, ascending, each once.
    pub fn matches(&mut self, text: &str) -> Vec<usize> {
        if self.phrases.is_empty() {
            return Vec::new();
        }
        let words = self.folder.words(text);
        let mut hits = Vec::new();
        for (i, word) in words.iter().enumerate() {
            let Some(candidates) = self.by_first.get(word) else {
                continue;
            };
            for &p in candidates {
                let phrase = &self.phrases[p];
                if words.get(i..i + phrase.len()) == Some(phrase.as_slice()) {
                    hits.push(p);
                }
            }
        }
        hits.sort_unstable();
        hits.dedup();
        hits
    }
}

/// The first `max` characters of `text`, with an ellipsis if cut.
pub fn snippet(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}…", &text[..cut]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher(phrases: &[&str]) -> Matcher {
        let mut f = Folder::default();
        let keys: Vec<String> = phrases.iter().filter_map(|p| f.key(p)).collect();
        Matcher::new(keys.iter().map(String::as_str))
    }

    #[test]
    fn case_accents_and_word_boundaries() {
        let mut m = matcher(&[
            "layoffs",
            "office closing",
            "Licenciements",
            "réorganisation",
        ]);
        assert_eq!(m.matches("Are there LAYOFFS coming?"), vec![0]);
        assert_eq!(m.matches("the layoff list"), Vec::<usize>::new());
        assert_eq!(m.matches("playoffs tonight"), Vec::<usize>::new());
        assert_eq!(m.matches("Is the Office   Closing, really?"), vec![1]);
        assert_eq!(m.matches("office is closing"), Vec::<usize>::new());
        assert_eq!(m.matches("des licenciéments?"), vec![2]);
        assert_eq!(m.matches("la REORGANISATION et les layoffs"), vec![0, 3]);
        assert_eq!(m.matches("layoffs layoffs"), vec![0]);
    }

    #[test]
    fn other_scripts_are_lowercased() {
        let mut m = matcher(&["Сокращения", "αναδιάρθρωση"]);
        assert_eq!(m.matches("будут сокращения?"), vec![0]);
        assert_eq!(m.matches("ΑΝΑΔΙΆΡΘΡΩΣΗ!"), vec![1]);
    }

    #[test]
    fn a_phrase_without_words_has_no_key() {
        let mut f = Folder::default();
        assert_eq!(f.key(" ?! "), None);
        assert_eq!(f.key("  Office  CLOSING "), Some("office closing".into()));
    }

    /// The matcher's cost per message with a full list (200 phrases of
    /// one to three words): a figure, not a check. Run with
    /// `cargo test -p townhall-server --lib watch::tests::cost -- --ignored --nocapture`
    /// (add `--release` for the figure of a release build).
    #[test]
    #[ignore]
    fn cost_per_message_with_a_full_list() {
        let words = [
            "layoffs",
            "office",
            "closing",
            "outsourcing",
            "merger",
            "budget",
            "cuts",
            "réorganisation",
            "déménagement",
            "plan",
            "social",
            "restructuring",
            "site",
            "transfer",
            "hiring",
            "freeze",
        ];
        // The 16 words themselves, then two- and three-word phrases.
        let phrases: Vec<String> = (0..200)
            .map(|i| match i % 3 {
                _ if i < words.len() => words[i].to_string(),
                0 => format!("{}{i}", words[i % words.len()]),
                1 => format!(
                    "{} {}{i}",
                    words[i % words.len()],
                    words[(i + 3) % words.len()]
                ),
                _ => format!(
                    "{} {} {}",
                    words[i % words.len()],
                    words[(i + 5) % words.len()],
                    i
                ),
            })
            .collect();
        let mut m = matcher(&phrases.iter().map(String::as_str).collect::<Vec<_>>());
        let plain = "Hi all, quick update on the quarterly planning: the slides for                      Thursday's review are in the shared folder, please add comments by noon.";
        let hit = "Is it true that the office closing in Lyon is part of the layoffs plan?";
        for (label, text) in [("no match", plain), ("with words of phrases", hit)] {
            let n = 20_000;
            let started = std::time::Instant::now();
            let mut found = 0;
            for _ in 0..n {
                found += m.matches(text).len();
            }
            let per = started.elapsed() / n;
            println!(
                "{label}: {per:?} per message ({} words, {found} hits)",
                text.split(' ').count()
            );
        }
        let empty_started = std::time::Instant::now();
        let mut empty = Matcher::default();
        for _ in 0..20_000 {
            assert!(empty.matches(plain).is_empty());
        }
        println!(
            "empty list: {:?} per message",
            empty_started.elapsed() / 20_000
        );
    }

    #[test]
    fn snippets_cut_on_characters() {
        assert_eq!(snippet("héllo", 10), "héllo");
        assert_eq!(snippet("héllo", 2), "hé…");
    }
}
