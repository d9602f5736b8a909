//! The search index of one source and the search itself.
//!
//! Every section is tokenized once (words of letters, digits and `_`; a word
//! with `_` also counts as its parts) into an inverted index: term ->
//! sections with the term's count in the text and whether it is in the
//! section's own heading or in its heading path (document title included).
//!
//! A query is split into words (common English stop words dropped); each
//! word is matched on its own against the vocabulary: the word itself, terms
//! it is a prefix of (`trace` -> `traceroute`), a near plural, substrings,
//! and typos through fuzzy-matcher's `SkimMatcherV2` (same first letter,
//! at most three letters longer, normalised score at least
//! [`FUZZY_MIN`]). Each way of matching has a quality below 1, so exact
//! words win. A section's score per word is BM25 over the matched terms
//! (weighted by quality) plus a boost when they are in its heading (x3) or
//! heading path (x1), times the word's rarity (idf); a section must match
//! most of the words, the whole query as a phrase earns a bonus, and a
//! minimum score keeps noise out.

use std::cmp::Ordering;
use std::collections::HashMap;

use fuzzy_matcher::FuzzyMatcher;
use fuzzy_matcher::skim::SkimMatcherV2;

use super::corpus::Document;
use crate::error::{ActorError, ActorResult};

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 256;
/// Most words in a query.
pub const MAX_QUERY_WORDS: usize = 16;
/// Lowest normalised fuzzy score that counts as a match.
pub const FUZZY_MIN: f64 = 0.7;
/// Lowest total score a result may have.
pub const MIN_SCORE: f32 = 0.2;
/// Longest token indexed (longer ones are hashes, base64, noise).
const MAX_TOKEN_CHARS: usize = 48;

const IN_HEADING: u8 = 1;
const IN_PATH: u8 = 2;
const HEADING_WEIGHT: f32 = 3.0;
const PATH_WEIGHT: f32 = 1.0;
const K1: f32 = 1.2;
const B: f32 = 0.75;
const PHRASE_BONUS: f32 = 1.5;

/// Words too common to search for.
const STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "by", "can", "do", "does", "for", "from", "how",
    "i", "in", "is", "it", "its", "me", "my", "of", "on", "or", "the", "this", "to", "what",
    "when", "where", "which", "with", "you", "your",
];

struct Term {
    text: Box<str>,
    /// Length in characters.
    len: u32,
    mask: u64,
    postings: Vec<Posting>,
}

#[derive(Clone, Copy)]
struct Posting {
    section: u32,
    tf: u16,
    fields: u8,
}

#[derive(Clone, Copy)]
struct SectionRef {
    doc: u32,
    section: u32,
    len: u32,
}

/// The documents of one source and their index.
pub struct Corpus {
    /// The source's name.
    pub source: String,
    /// Its documents, in path order.
    pub docs: Vec<Document>,
    sections: Vec<SectionRef>,
    vocab: HashMap<Box<str>, u32>,
    terms: Vec<Term>,
    /// Each section's tokens, lower case, joined by single spaces (for the
    /// phrase bonus).
    normalized: Vec<Box<str>>,
    avg_len: f32,
    /// Bytes of text indexed.
    pub bytes: usize,
}

/// Characters of a token.
fn is_token_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Calls `f(start, end, lowercased token)` for every token of `text`.
fn for_each_token(text: &str, mut f: impl FnMut(usize, usize, &str)) {
    let mut start = None;
    let mut lower = String::new();
    let mut emit = |s: usize, e: usize, lower: &mut String| {
        if !lower.is_empty() && lower.chars().count() <= MAX_TOKEN_CHARS {
            f(s, e, lower);
        }
        lower.clear();
    };
    for (i, c) in text.char_indices() {
        if is_token_char(c) {
            if start.is_none() {
                start = Some(i);
            }
            lower.extend(c.to_lowercase());
        } else if let Some(s) = start.take() {
            emit(s, i, &mut lower);
        }
    }
    if let Some(s) = start {
        emit(s, text.len(), &mut lower);
    }
}

/// Calls `f` with a token and, when it contains `_`, each of its parts.
fn with_parts(token: &str, mut f: impl FnMut(&str)) {
    f(token);
    if token.contains('_') {
        for part in token.split('_').filter(|p| !p.is_empty()) {
            f(part);
        }
    }
}

/// Which characters a string has: a-z, 0-9, `_`, anything else.
fn char_mask(text: &str) -> u64 {
    let mut mask = 0u64;
    for c in text.chars() {
        mask |= match c {
            'a'..='z' => 1 << (c as u32 - 'a' as u32),
            '0'..='9' => 1 << (26 + c as u32 - '0' as u32),
            '_' => 1 << 36,
            _ => 1 << 37,
        };
    }
    mask
}

impl Corpus {
    /// Indexes `docs` as the source `source`.
    pub fn build(source: &str, docs: Vec<Document>) -> Corpus {
        let mut corpus = Corpus {
            source: source.to_string(),
            docs: Vec::new(),
            sections: Vec::new(),
            vocab: HashMap::new(),
            terms: Vec::new(),
            normalized: Vec::new(),
            avg_len: 1.0,
            bytes: 0,
        };
        let mut normalized = String::new();
        let mut counts: HashMap<u32, (u32, u8)> = HashMap::new();
        let mut total_len: u64 = 0;
        for (d, doc) in docs.iter().enumerate() {
            corpus.bytes += doc.text.len();
            for (s, section) in doc.sections.iter().enumerate() {
                counts.clear();
                let id = corpus.sections.len() as u32;
                let mut len = 0u32;
                normalized.clear();
                for_each_token(doc.section_text(section), |_, _, token| {
                    normalized.push_str(token);
                    normalized.push(' ');
                    with_parts(token, |t| {
                        let term = corpus.term_id(t);
                        counts.entry(term).or_insert((0, 0)).0 += 1;
                    });
                    len += 1;
                });
                let own = &section.title;
                for_each_token(own, |_, _, token| {
                    with_parts(token, |t| {
                        let term = corpus.term_id(t);
                        counts.entry(term).or_insert((0, 0)).1 |= IN_HEADING;
                    });
                });
                let ancestors = section.heading_path.len().saturating_sub(1);
                for title in &section.heading_path[..ancestors] {
                    for_each_token(title, |_, _, token| {
                        with_parts(token, |t| {
                            let term = corpus.term_id(t);
                            counts.entry(term).or_insert((0, 0)).1 |= IN_PATH;
                        });
                    });
                }
                for (&term, &(tf, fields)) in &counts {
                    corpus.terms[term as usize].postings.push(Posting {
                        section: id,
                        tf: tf.min(u16::MAX as u32) as u16,
                        fields,
                    });
                }
                total_len += len as u64;
                corpus.normalized.push(normalized.as_str().into());
                corpus.sections.push(SectionRef {
                    doc: d as u32,
                    section: s as u32,
                    len: len.max(1),
                });
            }
        }
        corpus.avg_len = if corpus.sections.is_empty() {
            1.0
        } else {
            (total_len as f32 / corpus.sections.len() as f32).max(1.0)
        };
        corpus.docs = docs;
        for term in &mut corpus.terms {
            term.postings.sort_by_key(|p| p.section);
            term.postings.shrink_to_fit();
        }
        corpus
    }

    fn term_id(&mut self, token: &str) -> u32 {
        if let Some(&id) = self.vocab.get(token) {
            return id;
        }
        let id = self.terms.len() as u32;
        self.terms.push(Term {
            text: token.into(),
            len: token.chars().count() as u32,
            mask: char_mask(token),
            postings: Vec::new(),
        });
        self.vocab.insert(token.into(), id);
        id
    }

    /// Number of sections indexed.
    pub fn section_count(&self) -> usize {
        self.sections.len()
    }

    /// Number of distinct terms.
    pub fn vocabulary_size(&self) -> usize {
        self.terms.len()
    }

    /// Terms matching `word`, each with a match quality in (0, 1].
    fn candidates(&self, word: &str, matcher: &SkimMatcherV2) -> Vec<(u32, f32)> {
        let mut out = Vec::new();
        let wlen = word.chars().count();
        if let Some(&id) = self.vocab.get(word) {
            out.push((id, 1.0));
        }
        let wmask = char_mask(word);
        let first = word.chars().next();
        let self_score = if wlen >= 4 {
            matcher.fuzzy_match(word, word).unwrap_or(1).max(1) as f64
        } else {
            1.0
        };
        for (id, term) in self.terms.iter().enumerate() {
            let t: &str = &term.text;
            if t == word || term.mask & wmask != wmask {
                continue;
            }
            let tlen = term.len as usize;
            let quality = if wlen >= 3 && t.starts_with(word) {
                0.75 + 0.2 * wlen as f32 / tlen as f32
            } else if wlen >= 4 && tlen >= 3 && wlen <= tlen + 2 && word.starts_with(t) {
                0.7
            } else if wlen >= 4 && tlen <= 3 * wlen && t.contains(word) {
                0.6
            } else if wlen >= 4 && tlen <= wlen + 3 && t.chars().next() == first {
                match matcher.fuzzy_match(t, word) {
                    Some(score) if score as f64 / self_score >= FUZZY_MIN => {
                        (0.5 * score as f64 / self_score).min(0.55) as f32
                    }
                    _ => continue,
                }
            } else {
                continue;
            };
            out.push((id as u32, quality));
        }
        out
    }

    /// Searches this corpus. Returns matches best first, at most `limit`.
    pub fn search(&self, query: &Query, limit: usize) -> (Vec<Hit>, usize) {
        let matcher = SkimMatcherV2::default();
        let n = self.sections.len();
        if n == 0 || query.words.is_empty() {
            return (Vec::new(), 0);
        }
        let mut score = vec![0f32; n];
        let mut matched = vec![0u32; n];
        let mut touched: Vec<u32> = Vec::new();
        let mut head = vec![0f32; n];
        let mut tf = vec![0f32; n];
        let mut word_touched: Vec<u32> = Vec::new();
        let mut word_terms: Vec<HashMap<u32, f32>> = Vec::new();
        let mut word_idf: Vec<f32> = Vec::new();
        for (wi, word) in query.words.iter().enumerate() {
            let candidates = self.candidates(word, &matcher);
            word_touched.clear();
            for &(term, quality) in &candidates {
                for p in &self.terms[term as usize].postings {
                    let s = p.section as usize;
                    if head[s] == 0.0 && tf[s] == 0.0 {
                        word_touched.push(p.section);
                    }
                    let field = if p.fields & IN_HEADING != 0 {
                        HEADING_WEIGHT
                    } else if p.fields & IN_PATH != 0 {
                        PATH_WEIGHT
                    } else {
                        0.0
                    };
                    head[s] = head[s].max(quality * field);
                    tf[s] += quality * p.tf as f32;
                }
            }
            let df = word_touched.len() as f32;
            let idf = (1.0 + (n as f32 - df + 0.5) / (df + 0.5)).ln();
            for &s in &word_touched {
                let s = s as usize;
                let len = self.sections[s].len as f32;
                let t = tf[s];
                let body = t * (K1 + 1.0) / (t + K1 * (1.0 - B + B * len / self.avg_len));
                if matched[s] == 0 {
                    touched.push(s as u32);
                }
                matched[s] |= 1 << wi;
                score[s] += idf * (head[s] + body);
                head[s] = 0.0;
                tf[s] = 0.0;
            }
            word_terms.push(candidates.into_iter().collect());
            word_idf.push(idf);
        }
        let words = query.words.len();
        let need = if words <= 2 { words } else { words - words / 3 };
        let mut ranked: Vec<(u32, f32, u32)> = Vec::new();
        for &s in &touched {
            let count = matched[s as usize].count_ones();
            if (count as usize) < need {
                continue;
            }
            let mut total = score[s as usize];
            if words >= 2 && count as usize == words && self.has_phrase(s, &query.phrase) {
                total *= PHRASE_BONUS;
            }
            ranked.push((count, total, s));
        }
        ranked.sort_by(|a, b| {
            b.0.cmp(&a.0)
                .then(b.1.partial_cmp(&a.1).unwrap_or(Ordering::Equal))
                .then(a.2.cmp(&b.2))
        });
        ranked.retain(|entry| entry.1 >= MIN_SCORE);
        let total = ranked.len();
        let hits = ranked
            .into_iter()
            .take(limit)
            .map(|(count, score, s)| {
                let r = self.sections[s as usize];
                let (line, snippet) =
                    self.snippet(r.doc as usize, r.section as usize, &word_terms, &word_idf);
                Hit {
                    doc: r.doc as usize,
                    section: r.section as usize,
                    score: score * count as f32 / words as f32,
                    words_matched: count as usize,
                    line,
                    snippet,
                }
            })
            .collect();
        (hits, total)
    }

    fn has_phrase(&self, s: u32, phrase: &str) -> bool {
        self.normalized[s as usize].contains(phrase)
    }

    /// The best-matching lines of a section, matches marked with `**`, and
    /// the line number of the best one.
    fn snippet(
        &self,
        doc: usize,
        section: usize,
        word_terms: &[HashMap<u32, f32>],
        word_idf: &[f32],
    ) -> (usize, String) {
        let doc = &self.docs[doc];
        let section = &doc.sections[section];
        let text = doc.section_text(section);
        let mut lines: Vec<ScoredLine> = Vec::new();
        let mut in_fence = false;
        for (i, line) in text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
                in_fence = !in_fence;
            }
            let mut best = vec![0f32; word_terms.len()];
            let mut spans = Vec::new();
            for_each_token(line, |start, end, token| {
                let mut hit = false;
                with_parts(token, |t| {
                    if let Some(&id) = self.vocab.get(t) {
                        for (w, terms) in word_terms.iter().enumerate() {
                            if let Some(&q) = terms.get(&id) {
                                best[w] = best[w].max(q * word_idf[w]);
                                hit = true;
                            }
                        }
                    }
                });
                if hit {
                    spans.push((start, end));
                }
            });
            let score: f32 = best.iter().sum();
            if score > 0.0 {
                lines.push((section.line_start + i, score, spans, line));
            }
        }
        if lines.is_empty() {
            let first = text.lines().next().unwrap_or("");
            return (section.line_start, clip(first, &[]));
        }
        let best_line = lines
            .iter()
            .max_by(|a, b| {
                a.1.partial_cmp(&b.1)
                    .unwrap_or(Ordering::Equal)
                    .then(b.0.cmp(&a.0))
            })
            .map(|l| l.0)
            .unwrap_or(section.line_start);
        let mut top: Vec<_> = lines.iter().collect();
        top.sort_by(|a, b| {
            b.1.partial_cmp(&a.1)
                .unwrap_or(Ordering::Equal)
                .then(a.0.cmp(&b.0))
        });
        top.truncate(3);
        top.sort_by_key(|l| l.0);
        let snippet = top
            .iter()
            .map(|(_, _, spans, line)| clip(line, spans))
            .collect::<Vec<_>>()
            .join("\n");
        (best_line, snippet)
    }
}

/// A line of a section: number, score, matched byte spans, text.
type ScoredLine<'a> = (usize, f32, Vec<(usize, usize)>, &'a str);

/// Longest snippet line, in characters.
const SNIPPET_LINE_CHARS: usize = 200;

/// A line with its matches wrapped in `**`, cut to a window around the
/// first match when long.
fn clip(line: &str, spans: &[(usize, usize)]) -> String {
    let line = line.trim_end();
    let chars = line.chars().count();
    let (from, to) = if chars <= SNIPPET_LINE_CHARS {
        (0, line.len())
    } else {
        let first = spans.first().map(|s| s.0).unwrap_or(0);
        let mut from = line[..first]
            .char_indices()
            .rev()
            .nth(60)
            .map(|(i, _)| i)
            .unwrap_or(0);
        while !line.is_char_boundary(from) {
            from -= 1;
        }
        let to = line[from..]
            .char_indices()
            .nth(SNIPPET_LINE_CHARS)
            .map(|(i, _)| from + i)
            .unwrap_or(line.len());
        (from, to)
    };
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut at = from;
    for &(s, e) in spans {
        if s < at || e > to {
            continue;
        }
        out.push_str(&line[at..s]);
        out.push_str("**");
        out.push_str(&line[s..e]);
        out.push_str("**");
        at = e;
    }
    out.push_str(&line[at..to]);
    if to < line.len() {
        out.push('…');
    }
    out
}

/// A checked query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// The words searched for, lower case, stop words dropped.
    pub words: Vec<String>,
    /// The words joined by single spaces, for the phrase bonus.
    pub phrase: String,
}

impl Query {
    /// Checks and splits a query.
    pub fn parse(text: &str) -> ActorResult<Query> {
        let text = text.trim();
        if text.is_empty() {
            return Err(ActorError::InvalidInput(
                "query: must not be empty; give a few words, e.g. \"open ssh session\"".into(),
            ));
        }
        let chars = text.chars().count();
        if chars > MAX_QUERY_CHARS {
            return Err(ActorError::InvalidInput(format!(
                "query: at most {MAX_QUERY_CHARS} characters, got {chars}; use a few key words"
            )));
        }
        let mut all = Vec::new();
        for_each_token(text, |_, _, token| all.push(token.to_string()));
        if all.is_empty() {
            return Err(ActorError::InvalidInput(
                "query: has no words (letters or digits) to search for".into(),
            ));
        }
        if all.len() > MAX_QUERY_WORDS {
            return Err(ActorError::InvalidInput(format!(
                "query: at most {MAX_QUERY_WORDS} words, got {}; use a few key words",
                all.len()
            )));
        }
        let phrase = all.join(" ");
        let mut words: Vec<String> = all
            .iter()
            .filter(|w| !STOP_WORDS.contains(&w.as_str()))
            .cloned()
            .collect();
        if words.is_empty() {
            words = all;
        }
        let mut seen = std::collections::HashSet::new();
        words.retain(|w| seen.insert(w.clone()));
        Ok(Query { words, phrase })
    }
}

/// One match inside a corpus.
#[derive(Debug, Clone)]
pub struct Hit {
    /// Index of the document in the corpus.
    pub doc: usize,
    /// Index of the section in the document.
    pub section: usize,
    /// The score (higher is better).
    pub score: f32,
    /// How many query words the section matched.
    pub words_matched: usize,
    /// Line number of the best-matching line.
    pub line: usize,
    /// The best-matching lines, matches marked with `**`.
    pub snippet: String,
}

#[cfg(test)]
mod tests {
    use super::super::corpus::DocFormat;
    use super::*;

    fn corpus() -> Corpus {
        let docs = vec![
            Document::new(
                "t",
                "net.md",
                "net.md".into(),
                "# Network\n\n## Traceroute\n\nThe traceroute tool sends probes and reports progress per hop.\n\n## Ping\n\nping sends echo requests.\n".into(),
                DocFormat::Markdown,
            ),
            Document::new(
                "t",
                "dns.md",
                "dns.md".into(),
                "# DNS\n\n## MX records\n\nAsk for MX to see mail exchangers.\n\n## Other\n\nMaximum mixing of words, no match here.\n".into(),
                DocFormat::Markdown,
            ),
        ];
        Corpus::build("t", docs)
    }

    fn first(c: &Corpus, q: &str) -> String {
        let (hits, _) = c.search(&Query::parse(q).unwrap(), 5);
        let h = hits.first().unwrap_or_else(|| panic!("no hit for {q}"));
        c.docs[h.doc].sections[h.section].id.clone()
    }

    #[test]
    fn words_match_exactly_by_prefix_and_with_typos() {
        let c = corpus();
        assert_eq!(first(&c, "traceroute progress"), "traceroute");
        assert_eq!(first(&c, "trace"), "traceroute");
        assert_eq!(first(&c, "tracerute"), "traceroute");
        assert_eq!(first(&c, "dns mx"), "mx-records");
        assert_eq!(first(&c, "how to ping"), "ping");
    }

    #[test]
    fn noise_is_not_returned() {
        let c = corpus();
        let (hits, total) = c.search(&Query::parse("zebra giraffe").unwrap(), 5);
        assert!(hits.is_empty() && total == 0);
        // Short words match only whole words or prefixes: "mx" is not in "maximum mixing".
        let (hits, _) = c.search(&Query::parse("mx").unwrap(), 5);
        assert_eq!(hits.len(), 1);
    }

    #[test]
    fn snippets_mark_matches_and_give_the_line() {
        let c = corpus();
        let (hits, _) = c.search(&Query::parse("traceroute progress").unwrap(), 1);
        let hit = &hits[0];
        assert_eq!(hit.line, 5);
        assert!(
            hit.snippet
                .contains("The **traceroute** tool sends probes and reports **progress** per hop."),
            "{}",
            hit.snippet
        );
    }

    #[test]
    fn queries_are_checked() {
        for (q, msg) in [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("!!! ???", "has no words"),
        ] {
            assert!(
                Query::parse(q).unwrap_err().to_string().contains(msg),
                "{q}"
            );
        }
        let long = "a".repeat(MAX_QUERY_CHARS + 1);
        assert!(
            Query::parse(&long)
                .unwrap_err()
                .to_string()
                .contains("at most 256 characters")
        );
        let many = "w ".repeat(MAX_QUERY_WORDS + 1);
        assert!(
            Query::parse(&many)
                .unwrap_err()
                .to_string()
                .contains("at most 16 words")
        );
        let q = Query::parse("How to open an SSH session").unwrap();
        assert_eq!(q.words, ["open", "ssh", "session"]);
        assert_eq!(q.phrase, "how to open an ssh session");
    }

    #[test]
    fn clipping_keeps_char_boundaries() {
        let line = format!("{}match{}", "é".repeat(150), "ü".repeat(150));
        let start = line.find("match").unwrap();
        let out = clip(&line, &[(start, start + 5)]);
        assert!(out.contains("**match**") && out.starts_with('…') && out.ends_with('…'));
    }
}
