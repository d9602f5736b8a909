//! DocsActor: documentation search. It keeps one index per source — the
//! bundled `docs/` pages (embedded at build time), each configured
//! directory of Markdown/text files, and optionally the system's man pages —
//! and answers [`Search`], [`ReadDoc`], [`ListDocuments`], [`ReadResource`]
//! and [`Reindex`].
//!
//! The bundled pages are indexed when the actor is created; the other
//! sources are indexed on background threads, and searches answer meanwhile
//! with what is ready and `indexing: true`. Directories are watched (the
//! `notify` crate): a change re-indexes that source after a short quiet
//! period, and the new index replaces the old one in one step. Searches run
//! on an immutable snapshot of the indexes, on a blocking thread when the
//! corpus is large, so the actor's mailbox (and the arbiter it shares with
//! other subsystems) never waits for a long search.

pub mod corpus;
pub mod search;
pub mod sources;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use actix::{Actor, AsyncContext, Context, Handler, Message, ResponseActFuture, Supervised};
use schemars::JsonSchema;
use serde::Serialize;
use tokio::sync::oneshot;

pub use corpus::{DocFormat, Document, Section};
pub use search::{Corpus, Hit, Query};
pub use sources::{FileNote, Limits, NoteKind};

use crate::error::{ActorError, ActorResult};
use crate::supervisor::{Health, guarded, guarded_future};

include!(concat!(env!("OUT_DIR"), "/bundled_docs.rs"));

/// The source name of the bundled documentation.
pub const BUNDLED_SOURCE: &str = "bundled";
/// The source name of the man pages.
pub const MAN_SOURCE: &str = "man";
/// Default and largest `limit` of a search.
pub const DEFAULT_LIMIT: usize = 10;
/// The largest `limit` of a search.
pub const MAX_LIMIT: usize = 50;
/// Default and largest `max_bytes` of a read.
pub const DEFAULT_READ_BYTES: usize = 16 * 1024;
/// The largest `max_bytes` of a read.
pub const MAX_READ_BYTES: usize = 256 * 1024;
/// The smallest `max_bytes` of a read.
pub const MIN_READ_BYTES: usize = 256;
/// The default size limit of one file.
pub const DEFAULT_MAX_FILE_BYTES: usize = 4 * 1024 * 1024;
/// Quiet time after a file change before re-indexing.
const DEBOUNCE: Duration = Duration::from_millis(200);
/// Corpora larger than this are searched on a blocking thread.
const INLINE_SEARCH_BYTES: usize = 2 * 1024 * 1024;
/// Most notes per source shown in an answer.
const NOTES_SHOWN: usize = 10;

/// Settings of the docs subsystem.
#[derive(Debug, Clone)]
pub struct DocsConfig {
    /// Extra directories of Markdown and text files; each is a source named
    /// after the directory (made unique).
    pub directories: Vec<PathBuf>,
    /// Index the system's man pages.
    pub man_pages: bool,
    /// Which man sections (`1`, `8`…).
    pub man_sections: Vec<String>,
    /// Where man pages are; `None`: the manpath (`man -w`).
    pub man_dirs: Option<Vec<PathBuf>>,
    /// Bytes indexed per file; the rest is cut (with a log line).
    pub max_file_bytes: usize,
    /// Watch directories and re-index on change.
    pub watch: bool,
    /// Test-only: indexing of extra sources waits until this gate opens.
    #[cfg(feature = "fault-injection")]
    pub gate: Option<IndexGate>,
}

impl Default for DocsConfig {
    fn default() -> Self {
        DocsConfig {
            directories: Vec::new(),
            man_pages: false,
            man_sections: vec!["1".into(), "8".into()],
            man_dirs: None,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
            watch: true,
            #[cfg(feature = "fault-injection")]
            gate: None,
        }
    }
}

/// Test-only: holds background indexing until opened.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Default)]
pub struct IndexGate(Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>);

#[cfg(feature = "fault-injection")]
impl IndexGate {
    /// Lets waiting and future indexing run.
    pub fn open(&self) {
        let (lock, cvar) = &*self.0;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        cvar.notify_all();
    }

    fn wait(&self) {
        let (lock, cvar) = &*self.0;
        let mut open = lock.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = cvar.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }
}

/// What kind of source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// termbridge's own documentation, built in.
    Bundled,
    /// A configured directory.
    Directory,
    /// The system's man pages.
    Man,
}

#[derive(Debug, Clone)]
struct SourceSpec {
    name: String,
    kind: SourceKind,
    path: Option<PathBuf>,
}

/// The sources a configuration gives, with unique names.
fn source_specs(config: &DocsConfig) -> Vec<SourceSpec> {
    let mut specs = vec![SourceSpec {
        name: BUNDLED_SOURCE.into(),
        kind: SourceKind::Bundled,
        path: None,
    }];
    for dir in &config.directories {
        let base: String = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "dir".into())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect();
        let base = if base.is_empty() {
            "dir".to_string()
        } else {
            base
        };
        let mut name = base.clone();
        let mut n = 2;
        while name == BUNDLED_SOURCE || name == MAN_SOURCE || specs.iter().any(|s| s.name == name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        specs.push(SourceSpec {
            name,
            kind: SourceKind::Directory,
            path: Some(dir.clone()),
        });
    }
    if config.man_pages {
        specs.push(SourceSpec {
            name: MAN_SOURCE.into(),
            kind: SourceKind::Man,
            path: None,
        });
    }
    specs
}

/// One source's state as answers report it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SourceStatus {
    /// The name `source` filters by: `bundled`, `man`, or a directory's name.
    pub name: String,
    /// Bundled, directory or man pages.
    pub kind: SourceKind,
    /// The directory, for directory sources.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Documents indexed.
    pub documents: usize,
    /// Sections indexed.
    pub sections: usize,
    /// Bytes of text indexed.
    pub bytes: usize,
    /// An index of this source is being built; results may be incomplete.
    pub indexing: bool,
    /// Files skipped, cut or with replaced bytes (the first few).
    pub notes: Vec<FileNote>,
    /// How many such files there are in all.
    pub notes_total: usize,
    /// Why the source could not be read, if it could not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

struct Slot {
    spec: SourceSpec,
    corpus: Arc<Corpus>,
    notes: Vec<FileNote>,
    error: Option<String>,
    indexing: bool,
    /// Changes came in while indexing: index again when done.
    dirty: bool,
    timer_pending: bool,
    generation: u64,
    waiters: Vec<oneshot::Sender<()>>,
    waiters_next: Vec<oneshot::Sender<()>>,
}

impl Slot {
    fn status(&self) -> SourceStatus {
        SourceStatus {
            name: self.spec.name.clone(),
            kind: self.spec.kind,
            path: self.spec.path.as_ref().map(|p| p.display().to_string()),
            documents: self.corpus.docs.len(),
            sections: self.corpus.section_count(),
            bytes: self.corpus.bytes,
            indexing: self.indexing,
            notes: self.notes.iter().take(NOTES_SHOWN).cloned().collect(),
            notes_total: self.notes.len(),
            error: self.error.clone(),
        }
    }
}

/// Search the documentation.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<SearchAnswer>")]
pub struct Search {
    /// A few words.
    pub query: String,
    /// Most results (1 to [`MAX_LIMIT`]).
    pub limit: usize,
    /// Only this source.
    pub source: Option<String>,
}

/// One search result: a section.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchResult {
    /// The document's id, for `docs_read`.
    pub doc_id: String,
    /// The section's id within the document, for `docs_read`'s `section`.
    pub section: String,
    /// The section's heading.
    pub title: String,
    /// The document's title.
    pub doc_title: String,
    /// Headings from the document title down to this section.
    pub heading_path: Vec<String>,
    /// The source: `bundled`, `man`, or a configured directory's name.
    pub source: String,
    /// The file: `docs/…` for bundled pages, the path on disk otherwise.
    pub path: String,
    /// The MCP resource URI of the document.
    pub uri: String,
    /// First line of the section (1-based).
    pub line_start: usize,
    /// Last line of the section.
    pub line_end: usize,
    /// The best-matching line.
    pub line: usize,
    /// Relevance; higher is better, comparable within one answer.
    pub score: f64,
    /// The best-matching lines (up to three), matched words marked `**like this**`.
    pub snippet: String,
}

/// What a search answers.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchAnswer {
    /// The query as given.
    pub query: String,
    /// The words searched for (lower case, common words dropped).
    pub words: Vec<String>,
    /// Matching sections, best first.
    pub results: Vec<SearchResult>,
    /// How many sections matched in all (results shows at most `limit`).
    pub total: usize,
    /// Some source is still being indexed: results may be incomplete; ask again later.
    pub indexing: bool,
    /// The sources searched, with their state.
    pub sources: Vec<SourceStatus>,
}

/// Read a document or one of its sections.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<DocText>")]
pub struct ReadDoc {
    /// The document id.
    pub doc_id: String,
    /// A section id; the section is read with its subsections.
    pub section: Option<String>,
    /// Byte offset to start at (from a previous `next_offset`).
    pub offset: usize,
    /// Most bytes of text to return.
    pub max_bytes: usize,
}

/// A section in a document's table of contents.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SectionEntry {
    /// Section id, for `section`.
    pub id: String,
    /// Heading.
    pub title: String,
    /// Heading level (0 for text blocks).
    pub level: u8,
    /// First line.
    pub line: usize,
}

/// Text of a document or section.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct DocText {
    /// The document id.
    pub doc_id: String,
    /// The section read, if one was asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// The section's heading, else the document's title.
    pub title: String,
    /// The document's title.
    pub doc_title: String,
    /// Headings down to the section (just the title for a whole document).
    pub heading_path: Vec<String>,
    /// The source.
    pub source: String,
    /// The file.
    pub path: String,
    /// The MCP resource URI.
    pub uri: String,
    /// Markdown, text or man page.
    pub format: DocFormat,
    /// First line of what was asked for (document or section).
    pub line_start: usize,
    /// Last line of it.
    pub line_end: usize,
    /// The text, from `offset`, at most `max_bytes`, cut at a line end when possible.
    pub text: String,
    /// Where `text` starts, in bytes from the start of the document or section.
    pub offset: usize,
    /// Where to continue (pass as `offset`); absent when `text` reaches the end.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_offset: Option<usize>,
    /// Bytes of the whole document or section.
    pub total_bytes: usize,
    /// The file was larger than `max_file_bytes` and is cut in the index.
    pub file_truncated: bool,
    /// The document's sections (whole-document reads from offset 0 only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sections: Vec<SectionEntry>,
}

/// List documents as MCP resources, page by page.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<DocList>")]
pub struct ListDocuments {
    /// Index of the first document.
    pub cursor: usize,
    /// Most documents.
    pub limit: usize,
}

/// One document in a listing.
#[derive(Debug, Clone, Serialize)]
pub struct DocSummary {
    /// Resource URI.
    pub uri: String,
    /// Document id.
    pub doc_id: String,
    /// Title.
    pub title: String,
    /// Source.
    pub source: String,
    /// MIME type of the text.
    pub mime_type: String,
    /// Bytes.
    pub size: usize,
}

/// A page of documents.
#[derive(Debug, Clone)]
pub struct DocList {
    /// The documents.
    pub documents: Vec<DocSummary>,
    /// Cursor of the next page, if any.
    pub next: Option<usize>,
}

/// Read a document by resource URI (`docs://source/path`, optionally `#section`).
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<ResourceText>")]
pub struct ReadResource {
    /// The URI.
    pub uri: String,
}

/// A document's whole text (or one section's, with subsections).
#[derive(Debug, Clone)]
pub struct ResourceText {
    /// The URI asked for.
    pub uri: String,
    /// MIME type.
    pub mime_type: String,
    /// The text.
    pub text: String,
}

/// Re-read the configured directories and man pages now; answers when done.
#[derive(Debug, Clone, Message)]
#[rtype(result = "ActorResult<()>")]
pub struct Reindex {
    /// Only this source.
    pub source: Option<String>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct Indexed {
    slot: usize,
    generation: u64,
    result: Result<(Corpus, Vec<FileNote>), String>,
}

#[derive(Message)]
#[rtype(result = "()")]
struct FilesChanged {
    slot: usize,
}

/// The docs subsystem actor.
pub struct DocsActor {
    health: Arc<Health>,
    config: DocsConfig,
    slots: Vec<Slot>,
    snapshot: Arc<Vec<Arc<Corpus>>>,
    watchers: Vec<notify::RecommendedWatcher>,
    started_once: bool,
}

impl DocsActor {
    /// A new actor; the bundled documentation is indexed here, the other
    /// sources once the actor runs.
    pub fn new(health: Arc<Health>, config: DocsConfig) -> Self {
        let specs = source_specs(&config);
        let slots: Vec<Slot> = specs
            .into_iter()
            .map(|spec| {
                let (corpus, notes) = if spec.kind == SourceKind::Bundled {
                    let loaded = sources::load_bundled();
                    (Corpus::build(BUNDLED_SOURCE, loaded.docs), loaded.notes)
                } else {
                    (Corpus::build(&spec.name, Vec::new()), Vec::new())
                };
                Slot {
                    indexing: spec.kind != SourceKind::Bundled,
                    spec,
                    corpus: Arc::new(corpus),
                    notes,
                    error: None,
                    dirty: false,
                    timer_pending: false,
                    generation: 0,
                    waiters: Vec::new(),
                    waiters_next: Vec::new(),
                }
            })
            .collect();
        let mut actor = DocsActor {
            health,
            config,
            slots,
            snapshot: Arc::new(Vec::new()),
            watchers: Vec::new(),
            started_once: false,
        };
        actor.refresh_snapshot();
        actor
    }

    fn refresh_snapshot(&mut self) {
        self.snapshot = Arc::new(self.slots.iter().map(|s| s.corpus.clone()).collect());
    }

    fn slot_index(&self, source: &str) -> ActorResult<usize> {
        self.slots
            .iter()
            .position(|s| s.spec.name == source)
            .ok_or_else(|| {
                let names: Vec<_> = self.slots.iter().map(|s| s.spec.name.as_str()).collect();
                ActorError::InvalidInput(format!(
                    "source: no source named {source:?}; sources: {}",
                    names.join(", ")
                ))
            })
    }

    /// Starts (or queues) a background re-index of slot `i`.
    fn start_indexing(&mut self, i: usize, ctx: &mut Context<Self>) {
        let slot = &mut self.slots[i];
        if slot.spec.kind == SourceKind::Bundled {
            for w in slot.waiters_next.drain(..) {
                let _ = w.send(());
            }
            return;
        }
        if slot.indexing {
            slot.dirty = true;
            return;
        }
        slot.indexing = true;
        slot.generation += 1;
        slot.waiters.append(&mut slot.waiters_next);
        let generation = slot.generation;
        let spec = slot.spec.clone();
        let config = self.config.clone();
        let addr = ctx.address();
        let spawned = std::thread::Builder::new()
            .name(format!("docs-index-{}", spec.name))
            .spawn(move || {
                #[cfg(feature = "fault-injection")]
                if let Some(gate) = &config.gate {
                    gate.wait();
                }
                let result = std::panic::catch_unwind(|| load_source(&spec, &config))
                    .unwrap_or_else(|_| Err("indexing failed inside termbridge".to_string()));
                addr.do_send(Indexed {
                    slot: i,
                    generation,
                    result,
                });
            });
        if let Err(e) = spawned {
            log::error!("docs: cannot start an indexing thread: {e}");
            let slot = &mut self.slots[i];
            slot.indexing = false;
            slot.error = Some(format!("cannot start an indexing thread: {e}"));
        }
    }

    fn watch(&mut self, i: usize, ctx: &mut Context<Self>) {
        use notify::Watcher;
        let Some(path) = self.slots[i].spec.path.clone() else {
            return;
        };
        let addr = ctx.address();
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event
                && !matches!(event.kind, notify::EventKind::Access(_))
            {
                addr.do_send(FilesChanged { slot: i });
            }
        });
        match watcher {
            Ok(mut watcher) => match watcher.watch(&path, notify::RecursiveMode::Recursive) {
                Ok(()) => self.watchers.push(watcher),
                Err(e) => log::warn!(
                    "docs: cannot watch {} for changes ({e}); re-index with refresh",
                    path.display()
                ),
            },
            Err(e) => log::warn!("docs: cannot watch for file changes: {e}"),
        }
    }

    fn statuses(&self, only: Option<usize>) -> Vec<SourceStatus> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(i, _)| only.is_none_or(|o| o == *i))
            .map(|(_, s)| s.status())
            .collect()
    }

    fn find_doc(&self, doc_id: &str) -> Option<(&Arc<Corpus>, usize)> {
        self.slots.iter().find_map(|slot| {
            slot.corpus
                .docs
                .iter()
                .position(|d| d.doc_id == doc_id)
                .map(|i| (&slot.corpus, i))
        })
    }
}

/// Reads and indexes one source (on a background thread).
fn load_source(spec: &SourceSpec, config: &DocsConfig) -> Result<(Corpus, Vec<FileNote>), String> {
    let limits = Limits {
        max_file_bytes: config.max_file_bytes,
    };
    let loaded = match spec.kind {
        SourceKind::Bundled => sources::load_bundled(),
        SourceKind::Directory => {
            let path = spec.path.as_ref().ok_or("no path")?;
            sources::load_directory(&spec.name, path, limits)?
        }
        SourceKind::Man => {
            let dirs = config.man_dirs.clone().unwrap_or_else(sources::man_dirs);
            sources::load_man(&dirs, &config.man_sections, limits)
        }
    };
    Ok((Corpus::build(&spec.name, loaded.docs), loaded.notes))
}

impl Actor for DocsActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.health.mark_running();
        if self.started_once {
            return;
        }
        self.started_once = true;
        for i in 0..self.slots.len() {
            if self.slots[i].spec.kind == SourceKind::Bundled {
                continue;
            }
            self.slots[i].indexing = false;
            self.start_indexing(i, ctx);
            if self.config.watch && self.slots[i].spec.kind == SourceKind::Directory {
                self.watch(i, ctx);
            }
        }
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> actix::Running {
        self.health.mark_down();
        actix::Running::Stop
    }
}

impl Supervised for DocsActor {
    fn restarting(&mut self, _ctx: &mut Self::Context) {
        self.health.count_restart();
    }
}

impl Handler<Indexed> for DocsActor {
    type Result = ();

    fn handle(&mut self, msg: Indexed, ctx: &mut Self::Context) {
        let Some(slot) = self.slots.get_mut(msg.slot) else {
            return;
        };
        if msg.generation != slot.generation {
            return;
        }
        match msg.result {
            Ok((corpus, notes)) => {
                log::info!(
                    "docs: indexed source {:?}: {} documents, {} sections, {} bytes",
                    slot.spec.name,
                    corpus.docs.len(),
                    corpus.section_count(),
                    corpus.bytes
                );
                slot.corpus = Arc::new(corpus);
                slot.notes = notes;
                slot.error = None;
            }
            Err(e) => {
                log::warn!("docs: source {:?} not indexed: {e}", slot.spec.name);
                slot.corpus = Arc::new(Corpus::build(&slot.spec.name, Vec::new()));
                slot.notes = Vec::new();
                slot.error = Some(e);
            }
        }
        slot.indexing = false;
        for w in slot.waiters.drain(..) {
            let _ = w.send(());
        }
        let again = std::mem::take(&mut slot.dirty);
        self.refresh_snapshot();
        if again {
            self.start_indexing(msg.slot, ctx);
        }
    }
}

impl Handler<FilesChanged> for DocsActor {
    type Result = ();

    fn handle(&mut self, msg: FilesChanged, ctx: &mut Self::Context) {
        let Some(slot) = self.slots.get_mut(msg.slot) else {
            return;
        };
        if slot.timer_pending {
            return;
        }
        slot.timer_pending = true;
        ctx.run_later(DEBOUNCE, move |actor, ctx| {
            actor.slots[msg.slot].timer_pending = false;
            actor.start_indexing(msg.slot, ctx);
        });
    }
}

impl Handler<Reindex> for DocsActor {
    type Result = ResponseActFuture<Self, ActorResult<()>>;

    fn handle(&mut self, msg: Reindex, ctx: &mut Self::Context) -> Self::Result {
        let targets: ActorResult<Vec<usize>> = match &msg.source {
            Some(name) => self.slot_index(name).map(|i| vec![i]),
            None => Ok((0..self.slots.len()).collect()),
        };
        let mut receivers = Vec::new();
        if let Ok(targets) = &targets {
            for &i in targets {
                if self.slots[i].spec.kind == SourceKind::Bundled {
                    continue;
                }
                let (tx, rx) = oneshot::channel();
                self.slots[i].waiters_next.push(tx);
                receivers.push(rx);
                if self.slots[i].indexing {
                    self.slots[i].dirty = true;
                } else {
                    self.start_indexing(i, ctx);
                }
            }
        }
        guarded_future(self, "re-indexing documentation", async move {
            targets?;
            for rx in receivers {
                let _ = rx.await;
            }
            Ok(())
        })
    }
}

/// Rounds a score for display.
fn round3(x: f32) -> f64 {
    (x as f64 * 1000.0).round() / 1000.0
}

/// Searches `corpora` and merges the results.
pub fn search_corpora(
    corpora: &[Arc<Corpus>],
    query: &Query,
    limit: usize,
) -> (Vec<SearchResult>, usize) {
    let mut all: Vec<(f32, usize, usize, &Arc<Corpus>, Hit)> = Vec::new();
    let mut total = 0;
    for corpus in corpora {
        let (hits, n) = corpus.search(query, limit);
        total += n;
        all.extend(
            hits.into_iter()
                .map(|h| (h.score, h.words_matched, h.doc, corpus, h)),
        );
    }
    all.sort_by(|a, b| {
        b.1.cmp(&a.1)
            .then(b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal))
    });
    let results = all
        .into_iter()
        .take(limit)
        .map(|(_, _, _, corpus, hit)| {
            let doc = &corpus.docs[hit.doc];
            let section = &doc.sections[hit.section];
            SearchResult {
                doc_id: doc.doc_id.clone(),
                section: section.id.clone(),
                title: section.title.clone(),
                doc_title: doc.title.clone(),
                heading_path: section.heading_path.clone(),
                source: doc.source.clone(),
                path: doc.path.clone(),
                uri: doc.uri.clone(),
                line_start: section.line_start,
                line_end: section.line_end,
                line: hit.line,
                score: round3(hit.score),
                snippet: hit.snippet,
            }
        })
        .collect();
    (results, total)
}

impl Handler<Search> for DocsActor {
    type Result = ResponseActFuture<Self, ActorResult<SearchAnswer>>;

    fn handle(&mut self, msg: Search, ctx: &mut Self::Context) -> Self::Result {
        let prepared = guarded(ctx, "preparing a docs search", || {
            if msg.limit == 0 || msg.limit > MAX_LIMIT {
                return Err(ActorError::InvalidInput(format!(
                    "limit: must be between 1 and {MAX_LIMIT}, got {}",
                    msg.limit
                )));
            }
            let only = match &msg.source {
                Some(name) => Some(self.slot_index(name)?),
                None => None,
            };
            let query = Query::parse(&msg.query)?;
            Ok((only, query))
        });
        let (only, query) = match prepared {
            Ok(p) => p,
            Err(e) => return Box::pin(actix::fut::ready(Err(e))),
        };
        let corpora: Vec<Arc<Corpus>> = self
            .snapshot
            .iter()
            .enumerate()
            .filter(|(i, _)| only.is_none_or(|o| o == *i))
            .map(|(_, c)| c.clone())
            .collect();
        let sources = self.statuses(only);
        let indexing = sources.iter().any(|s| s.indexing);
        let limit = msg.limit;
        let words = query.words.clone();
        let answer = move |(results, total): (Vec<SearchResult>, usize)| SearchAnswer {
            query: msg.query,
            words,
            results,
            total,
            indexing,
            sources,
        };
        let bytes: usize = corpora.iter().map(|c| c.bytes).sum();
        if bytes <= INLINE_SEARCH_BYTES {
            let found = guarded(ctx, "a docs search", || {
                Ok(search_corpora(&corpora, &query, limit))
            });
            return Box::pin(actix::fut::ready(found.map(answer)));
        }
        guarded_future(self, "a docs search", async move {
            let found =
                tokio::task::spawn_blocking(move || search_corpora(&corpora, &query, limit))
                    .await
                    .map_err(|e| match e.try_into_panic() {
                        Ok(panic) => std::panic::resume_unwind(panic),
                        Err(e) => ActorError::Internal(format!("docs search did not finish: {e}")),
                    })?;
            Ok(answer(found))
        })
    }
}

/// Checks a document id: letters, digits and `. _ - : + @`, no `..`.
pub fn check_doc_id(doc_id: &str) -> ActorResult<()> {
    let ok = !doc_id.is_empty()
        && doc_id.len() <= 512
        && doc_id.chars().all(corpus::is_id_char)
        && !doc_id.contains("..");
    if ok {
        Ok(())
    } else {
        let shown: String = doc_id.chars().take(80).collect();
        Err(ActorError::InvalidInput(format!(
            "doc_id: {shown:?} is not a document id: ids are letters, digits and . _ - : + @ \
             (never / or ..), e.g. tools.dns_lookup; docs_search gives them"
        )))
    }
}

/// Cuts `text[offset..]` to at most `max` bytes, at a line end when one is
/// in the second half of the window; returns the piece and the next offset.
fn page(text: &str, offset: usize, max: usize) -> ActorResult<(&str, Option<usize>)> {
    if offset > text.len() {
        return Err(ActorError::InvalidInput(format!(
            "offset: {offset} is past the end ({} bytes)",
            text.len()
        )));
    }
    if !text.is_char_boundary(offset) {
        return Err(ActorError::InvalidInput(format!(
            "offset: {offset} is inside a character; use a next_offset from a previous answer"
        )));
    }
    let rest = &text[offset..];
    if rest.len() <= max {
        return Ok((rest, None));
    }
    let mut end = max;
    while !rest.is_char_boundary(end) {
        end -= 1;
    }
    if let Some(nl) = rest[..end].rfind('\n')
        && nl + 1 >= end / 2
    {
        end = nl + 1;
    }
    Ok((&rest[..end], Some(offset + end)))
}

impl Handler<ReadDoc> for DocsActor {
    type Result = ActorResult<DocText>;

    fn handle(&mut self, msg: ReadDoc, ctx: &mut Self::Context) -> Self::Result {
        guarded(ctx, "reading a document", || {
            check_doc_id(&msg.doc_id)?;
            if !(MIN_READ_BYTES..=MAX_READ_BYTES).contains(&msg.max_bytes) {
                return Err(ActorError::InvalidInput(format!(
                    "max_bytes: must be between {MIN_READ_BYTES} and {MAX_READ_BYTES}, got {}",
                    msg.max_bytes
                )));
            }
            let Some((corpus, d)) = self.find_doc(&msg.doc_id) else {
                let indexing = self.slots.iter().any(|s| s.indexing);
                return Err(ActorError::NotFound(format!(
                    "no document {:?}{}; docs_search finds documents and gives their doc_id",
                    msg.doc_id,
                    if indexing {
                        " (some sources are still being indexed)"
                    } else {
                        ""
                    }
                )));
            };
            let doc = &corpus.docs[d];
            let (range, line_start, line_end, title, heading_path) = match &msg.section {
                Some(id) => {
                    let Some(section) = doc.section(id) else {
                        let ids: Vec<_> = doc
                            .sections
                            .iter()
                            .take(40)
                            .map(|s| s.id.as_str())
                            .collect();
                        let shown: String = id.chars().take(80).collect();
                        return Err(ActorError::NotFound(format!(
                            "document {:?} has no section {shown:?}; its sections: {}{}",
                            doc.doc_id,
                            ids.join(", "),
                            if doc.sections.len() > 40 { ", …" } else { "" }
                        )));
                    };
                    (
                        section.start..section.subtree_end,
                        section.line_start,
                        section.subtree_line_end,
                        section.title.clone(),
                        section.heading_path.clone(),
                    )
                }
                None => (
                    0..doc.text.len(),
                    1,
                    doc.text.lines().count().max(1),
                    doc.title.clone(),
                    vec![doc.title.clone()],
                ),
            };
            let whole = &doc.text[range];
            let (text, next_offset) = page(whole, msg.offset, msg.max_bytes)?;
            let sections = if msg.section.is_none() && msg.offset == 0 {
                doc.sections
                    .iter()
                    .map(|s| SectionEntry {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        level: s.level,
                        line: s.line_start,
                    })
                    .collect()
            } else {
                Vec::new()
            };
            Ok(DocText {
                doc_id: doc.doc_id.clone(),
                section: msg.section.clone(),
                title,
                doc_title: doc.title.clone(),
                heading_path,
                source: doc.source.clone(),
                path: doc.path.clone(),
                uri: doc.uri.clone(),
                format: doc.format,
                line_start,
                line_end,
                text: text.to_string(),
                offset: msg.offset,
                next_offset,
                total_bytes: whole.len(),
                file_truncated: doc.truncated,
                sections,
            })
        })
    }
}

impl Handler<ListDocuments> for DocsActor {
    type Result = ActorResult<DocList>;

    fn handle(&mut self, msg: ListDocuments, ctx: &mut Self::Context) -> Self::Result {
        guarded(ctx, "listing documents", || {
            let all = self.slots.iter().flat_map(|s| s.corpus.docs.iter());
            let mut documents = Vec::new();
            let mut more = false;
            for doc in all.skip(msg.cursor) {
                if documents.len() == msg.limit {
                    more = true;
                    break;
                }
                documents.push(DocSummary {
                    uri: doc.uri.clone(),
                    doc_id: doc.doc_id.clone(),
                    title: doc.title.clone(),
                    source: doc.source.clone(),
                    mime_type: doc.format.mime_type().to_string(),
                    size: doc.text.len(),
                });
            }
            let next = more.then_some(msg.cursor + documents.len());
            Ok(DocList { documents, next })
        })
    }
}

impl Handler<ReadResource> for DocsActor {
    type Result = ActorResult<ResourceText>;

    fn handle(&mut self, msg: ReadResource, ctx: &mut Self::Context) -> Self::Result {
        guarded(ctx, "reading a resource", || {
            let (base, fragment) = match msg.uri.split_once('#') {
                Some((b, f)) => (b, Some(f)),
                None => (msg.uri.as_str(), None),
            };
            let not_found = || {
                let shown: String = msg.uri.chars().take(200).collect();
                ActorError::NotFound(format!(
                    "no document at {shown:?}; resources/list gives the URIs (docs://<source>/<path>)"
                ))
            };
            let doc = self
                .slots
                .iter()
                .flat_map(|s| s.corpus.docs.iter())
                .find(|d| d.uri == base)
                .ok_or_else(not_found)?;
            let text = match fragment {
                None => doc.text.clone(),
                Some(id) => {
                    let section = doc.section(id).ok_or_else(not_found)?;
                    doc.text[section.start..section.subtree_end].to_string()
                }
            };
            Ok(ResourceText {
                uri: msg.uri.clone(),
                mime_type: doc.format.mime_type().to_string(),
                text,
            })
        })
    }
}

crate::fault_injection!(DocsActor, "the docs subsystem");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_cut_at_line_ends_and_char_boundaries() {
        let text = "line one\nline two\nline three\n";
        let (piece, next) = page(text, 0, 12).unwrap();
        assert_eq!((piece, next), ("line one\n", Some(9)));
        let (piece, next) = page(text, 9, 100).unwrap();
        assert_eq!((piece, next), ("line two\nline three\n", None));
        let wide = "ééééé";
        let (piece, next) = page(wide, 0, 3).unwrap();
        assert_eq!((piece, next), ("é", Some(2)));
        assert!(
            page(wide, 1, 3)
                .unwrap_err()
                .to_string()
                .contains("inside a character")
        );
        assert!(
            page(text, 999, 3)
                .unwrap_err()
                .to_string()
                .contains("past the end")
        );
    }

    #[test]
    fn doc_ids_are_checked() {
        for ok in [
            "tools.dns_lookup",
            "runbooks:deploy.staging",
            "man:ls.1",
            "a+b@c-d_e",
        ] {
            assert!(check_doc_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "../etc/passwd",
            "a/b",
            "..",
            "a..b",
            "a\\b",
            "%2e%2e",
            "a b",
            "x\0",
        ] {
            assert!(check_doc_id(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn source_names_are_unique() {
        let config = DocsConfig {
            directories: vec![
                "/a/notes".into(),
                "/b/notes".into(),
                "/c/man".into(),
                "/d/my docs".into(),
            ],
            man_pages: true,
            ..DocsConfig::default()
        };
        let names: Vec<_> = source_specs(&config).into_iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["bundled", "notes", "notes-2", "man-2", "my-docs", "man"]
        );
    }
}
