//! docs_search latency: the search itself (query parsing, matching against
//! the vocabulary, scoring, snippets) on the bundled documentation and on a
//! generated 20 MB corpus of Markdown files. Results go to BENCHMARKS.md.
//!
//! Run: `cargo bench --bench docs_search` (medians are in
//! `target/criterion/<group>/<query>/new/estimates.json`).

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use termbridge_actors::docs::sources::load_bundled;
use termbridge_actors::docs::{Corpus, DocFormat, Document, Query, search_corpora};

/// Queries an agent would ask, including a typo and a one-word query.
const QUERIES: &[&str] = &[
    "open ssh session",
    "bearer token",
    "dns mx",
    "traceroute progress",
    "sesion timeout",
    "configuration",
];

/// A small deterministic generator (xorshift), so every run indexes the same text.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Roughly Zipf-distributed index below `n`: common words are common.
    fn zipf(&mut self, n: usize) -> usize {
        let u = (self.next() % 1_000_000) as f64 / 1_000_000.0;
        ((n as f64).powf(u) - 1.0) as usize % n
    }
}

/// About `target` bytes of Markdown in files of ~10 KB, sections every
/// ~25 lines; words drawn from the bundled docs' words and made-up ones.
fn generated_corpus(bundled: &Corpus, target: usize) -> Corpus {
    let mut words: Vec<String> = Vec::new();
    for doc in &bundled.docs {
        for w in doc
            .text
            .split(|c: char| !c.is_alphanumeric() && c != '_')
            .filter(|w| w.len() > 1)
        {
            words.push(w.to_lowercase());
        }
    }
    words.sort();
    words.dedup();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let syllables = [
        "ka", "lo", "mi", "ren", "tas", "vo", "qui", "zor", "ex", "pla", "dun", "sel",
    ];
    for _ in 0..20_000 {
        let n = 2 + rng.next() % 3;
        let w: String = (0..n)
            .map(|_| syllables[(rng.next() % syllables.len() as u64) as usize])
            .collect();
        words.push(w);
    }
    let mut docs = Vec::new();
    let mut total = 0;
    let mut file = 0;
    while total < target {
        let mut text = format!("# Runbook {file}\n\n");
        let mut line = 0;
        while text.len() < 10_000 {
            if line % 25 == 0 {
                let a = &words[rng.zipf(words.len())];
                let b = &words[rng.zipf(words.len())];
                text.push_str(&format!("\n## {a} {b}\n\n"));
            }
            let n = 6 + rng.next() % 10;
            let sentence: Vec<&str> = (0..n)
                .map(|_| words[rng.zipf(words.len())].as_str())
                .collect();
            text.push_str(&sentence.join(" "));
            text.push('\n');
            line += 1;
        }
        total += text.len();
        let rel = format!("team{}/runbook{file}.md", file % 40);
        docs.push(Document::new(
            "gen",
            &rel,
            rel.clone(),
            text,
            DocFormat::Markdown,
        ));
        file += 1;
    }
    Corpus::build("gen", docs)
}

fn bench(c: &mut Criterion) {
    let loaded = load_bundled();
    let started = Instant::now();
    let bundled = Arc::new(Corpus::build("bundled", loaded.docs));
    println!(
        "bundled corpus: {} documents, {} sections, {} bytes, {} terms, indexed in {:.1} ms",
        bundled.docs.len(),
        bundled.section_count(),
        bundled.bytes,
        bundled.vocabulary_size(),
        started.elapsed().as_secs_f64() * 1000.0
    );
    let mut group = c.benchmark_group("docs_search_bundled");
    for query in QUERIES {
        let parsed = Query::parse(query).unwrap();
        let corpora = [bundled.clone()];
        group.bench_function(*query, |b| {
            b.iter(|| black_box(search_corpora(&corpora, black_box(&parsed), 10)))
        });
    }
    group.finish();

    let started = Instant::now();
    let generated = Arc::new(generated_corpus(&bundled, 20 * 1024 * 1024));
    println!(
        "generated corpus: {} documents, {} sections, {} bytes, {} terms, generated and indexed in {:.2} s",
        generated.docs.len(),
        generated.section_count(),
        generated.bytes,
        generated.vocabulary_size(),
        started.elapsed().as_secs_f64()
    );
    let mut group = c.benchmark_group("docs_search_20mb");
    group.sample_size(20);
    for query in QUERIES {
        let parsed = Query::parse(query).unwrap();
        let corpora = [generated.clone()];
        group.bench_function(*query, |b| {
            b.iter(|| black_box(search_corpora(&corpora, black_box(&parsed), 10)))
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
