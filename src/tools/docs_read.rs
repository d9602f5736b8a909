//! `docs_read`: one document, or one section with its subsections, from the
//! documentation `docs_search` searches; bounded, with a cursor.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use termbridge_actors::docs::{self, DocText, ReadDoc};

use super::{Annotations, HttpMethod, Scope, Tool, ToolContext, ToolFuture};

/// The `docs_read` tool.
pub struct DocsRead;

/// `docs_read` arguments.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DocsReadInput {
    /// The document's id from `docs_search` (`tools.dns_lookup`, `terminal`,
    /// `runbooks:deploy`, `man:ls.1`). Ids never contain `/`, so they fit in
    /// a URL path as they are.
    pub doc_id: String,
    /// A section id from `docs_search` (`mx-records`) or from this tool's
    /// `sections` list: reads that section with its subsections.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub section: Option<String>,
    /// Where to start, in bytes: `0`, or the `next_offset` of the previous answer.
    #[serde(default)]
    pub offset: usize,
    /// Most bytes of text to return, 256 to 262144.
    #[serde(default = "default_max_bytes")]
    #[schemars(range(min = 256, max = 262144))]
    pub max_bytes: usize,
}

fn default_max_bytes() -> usize {
    docs::DEFAULT_READ_BYTES
}

impl Tool for DocsRead {
    const NAME: &'static str = "docs_read";
    const TITLE: &'static str = "Read documentation";
    const DESCRIPTION: &'static str = "Reads one document found by docs_search, or one section \
        of it (with its subsections) when `section` is given. Returns the Markdown/text, its \
        title, heading path, file and line range; whole-document reads from offset 0 also list \
        the document's sections. Long texts come in pieces of at most `max_bytes` (default \
        16384), cut at a line end: pass `next_offset` as `offset` to read on.";
    const METHOD: HttpMethod = HttpMethod::Get;
    const PATH: &'static str = "/api/v1/docs/{doc_id}";
    const SCOPE: Scope = Scope::Read;
    const ANNOTATIONS: Annotations = Annotations::READ_LOCAL;
    type Input = DocsReadInput;
    type Output = DocText;

    fn call(ctx: ToolContext, input: DocsReadInput) -> ToolFuture<DocText> {
        Box::pin(async move {
            let text = ctx
                .subsystems
                .docs
                .ask(ReadDoc {
                    doc_id: input.doc_id,
                    section: input.section,
                    offset: input.offset,
                    max_bytes: input.max_bytes,
                })
                .await?;
            Ok(text)
        })
    }
}
