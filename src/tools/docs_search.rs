//! `docs_search`: fuzzy search over termbridge's bundled documentation, the
//! configured directories and (optionally) man pages; answers sections with
//! snippets.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::ActorError;
use termbridge_actors::docs::{self, Reindex, Search, SearchAnswer};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// How long `refresh` waits for re-indexing before searching what is ready.
const REFRESH_WAIT: Duration = Duration::from_secs(30);

/// The `docs_search` tool.
pub struct DocsSearch;

/// `docs_search` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocsSearchInput {
    /// A few words (at most 256 characters, 16 words), e.g. `open ssh
    /// session` or `dns mx`. Each word is matched on its own, also by prefix
    /// and with small typos; common words (how, to, the…) are ignored.
    pub query: String,
    /// Most results, 1 to 50.
    #[serde(default = "default_limit")]
    #[schemars(range(min = 1, max = 50))]
    pub limit: usize,
    /// Only this source: `bundled` (termbridge's own documentation), `man`
    /// (man pages, when enabled), or a configured directory's name. The
    /// answer's `sources` lists them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Re-read the configured directories (and man pages) first, waiting up
    /// to 30 s; changed files are normally picked up without it.
    #[serde(default)]
    pub refresh: bool,
}

fn default_limit() -> usize {
    docs::DEFAULT_LIMIT
}

impl Tool for DocsSearch {
    const NAME: &'static str = "docs_search";
    const TITLE: &'static str = "Search documentation";
    const DESCRIPTION: &'static str = "Searches termbridge's own documentation (every tool, \
        terminal sessions, MCP client setup, configuration, security, troubleshooting), \
        plus any configured directories of Markdown/text notes and, when enabled, man pages. \
        Fuzzy per-word matching with heading boosts; returns the best sections first, each with \
        doc_id and section (pass them to docs_read), heading path, file and line range, score and \
        a snippet of the best-matching lines with matches marked **like this**. `indexing: true` \
        means some source is still being indexed and results may be incomplete.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/docs/search";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = DocsSearchInput;
    type Output = SearchAnswer;

    fn call(ctx: ToolContext, input: DocsSearchInput) -> ToolFuture<SearchAnswer> {
        Box::pin(async move {
            if input.refresh {
                let reindex = Reindex {
                    source: input.source.clone(),
                };
                match ctx.subsystems.docs.ask_within(reindex, REFRESH_WAIT).await {
                    // Still indexing after the wait: search what is ready
                    // (the answer says `indexing: true`).
                    Ok(()) | Err(ActorError::Timeout(_)) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let answer = ctx
                .subsystems
                .docs
                .ask(Search {
                    query: input.query,
                    limit: input.limit,
                    source: input.source,
                })
                .await?;
            Ok(answer)
        })
    }
}
