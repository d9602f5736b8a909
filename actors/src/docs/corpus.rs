//! Documents and their sections: Markdown split by heading, plain text by
//! paragraph blocks, man pages (roff) rendered to Markdown first; document
//! ids, section ids (GitHub-style heading slugs) and resource URIs.

use std::collections::HashSet;

use schemars::JsonSchema;
use serde::Serialize;

/// How a document's text is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocFormat {
    /// Markdown: sections by heading.
    Markdown,
    /// Plain text: sections by paragraph blocks.
    Text,
    /// A man page, rendered from roff to Markdown text.
    Man,
}

impl DocFormat {
    /// The MIME type of the document's text.
    pub fn mime_type(self) -> &'static str {
        match self {
            DocFormat::Markdown | DocFormat::Man => "text/markdown",
            DocFormat::Text => "text/plain",
        }
    }
}

/// One section: a heading and the text up to the next heading (Markdown), or
/// a block of paragraphs (plain text).
#[derive(Debug, Clone)]
pub struct Section {
    /// Id within the document: the heading's slug (`mx-records`), made
    /// unique with `-1`, `-2`… as GitHub does; `lines-N-M` for text blocks.
    pub id: String,
    /// The heading text (or the block's first line).
    pub title: String,
    /// Heading level 1–6; 0 for text blocks and text before the first heading.
    pub level: u8,
    /// Titles from the document's title down to this section's.
    pub heading_path: Vec<String>,
    /// First line (1-based) of the section in the document.
    pub line_start: usize,
    /// Last line (1-based, inclusive) of the section's own text.
    pub line_end: usize,
    /// Byte range of the section's own text (heading included).
    pub start: usize,
    /// End of the section's own text (before the next heading).
    pub end: usize,
    /// End of the section including its subsections.
    pub subtree_end: usize,
    /// Last line including subsections.
    pub subtree_line_end: usize,
}

/// One document of a source.
#[derive(Debug, Clone)]
pub struct Document {
    /// Stable id without `/`: `tools.dns_lookup`, `runbooks:deploy.staging`, `man:ls.1`.
    pub doc_id: String,
    /// The source it came from (`bundled`, `man`, or a directory's name).
    pub source: String,
    /// Path relative to the source root (`tools/dns_lookup.md`).
    pub rel_path: String,
    /// Where it lives: `docs/…` for bundled pages, the file path otherwise.
    pub path: String,
    /// `docs://<source>/<rel_path>`, the MCP resource URI.
    pub uri: String,
    /// The first heading, or the file name.
    pub title: String,
    /// Markdown, text or man page.
    pub format: DocFormat,
    /// The text that was indexed.
    pub text: String,
    /// Sections in document order.
    pub sections: Vec<Section>,
    /// The file was cut at the size limit.
    pub truncated: bool,
}

impl Document {
    /// Builds a document and splits it into sections.
    pub fn new(
        source: &str,
        rel_path: &str,
        path: String,
        text: String,
        format: DocFormat,
    ) -> Self {
        let stem = file_stem(rel_path);
        let sections = match format {
            DocFormat::Markdown | DocFormat::Man => split_markdown(&text, &stem),
            DocFormat::Text => split_text(&text, &stem),
        };
        let title = match format {
            DocFormat::Markdown | DocFormat::Man => sections
                .iter()
                .find(|s| s.level == 1)
                .map(|s| s.title.clone())
                .unwrap_or_else(|| stem.clone()),
            DocFormat::Text => stem.clone(),
        };
        let mut doc = Document {
            doc_id: make_doc_id(source, rel_path),
            source: source.to_string(),
            rel_path: rel_path.to_string(),
            path,
            uri: make_uri(source, rel_path),
            title,
            format,
            text,
            sections,
            truncated: false,
        };
        // Heading paths start with the document title unless the first
        // heading is the title itself.
        let title = doc.title.clone();
        for section in &mut doc.sections {
            if section.heading_path.first() != Some(&title) {
                section.heading_path.insert(0, title.clone());
            }
        }
        doc
    }

    /// The section with id `id`.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The own text of a section.
    pub fn section_text(&self, section: &Section) -> &str {
        &self.text[section.start..section.end]
    }
}

/// The file name without directories and extension (`.gz` and one more).
pub fn file_stem(rel_path: &str) -> String {
    let name = rel_path.rsplit('/').next().unwrap_or(rel_path);
    let name = name.strip_suffix(".gz").unwrap_or(name);
    for ext in [".md", ".markdown", ".txt", ".text", ".rst", ".adoc"] {
        if let Some(stem) = name.strip_suffix(ext) {
            return stem.to_string();
        }
    }
    name.to_string()
}

/// Characters a document id may contain.
pub fn is_id_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | ':' | '+' | '@')
}

/// The document id for `rel_path` in `source`: the path without its
/// extension, `/` written as `.`, prefixed by `source:` unless bundled.
/// Other characters become `-`, so ids never contain `/`, `\`, `%` or `..`.
pub fn make_doc_id(source: &str, rel_path: &str) -> String {
    let without_ext = match rel_path.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{}", file_stem(rel_path)),
        None => file_stem(rel_path),
    };
    let mut id: String = without_ext
        .chars()
        .map(|c| match c {
            '/' => '.',
            c if is_id_char(c) => c,
            _ => '-',
        })
        .collect();
    while id.contains("..") {
        id = id.replace("..", ".");
    }
    let id = id.trim_matches('.').to_string();
    let id = if id.is_empty() { "doc".to_string() } else { id };
    if source == super::BUNDLED_SOURCE {
        id
    } else {
        format!("{source}:{id}")
    }
}

/// `docs://<source>/<rel_path>` with unsafe characters percent-encoded.
pub fn make_uri(source: &str, rel_path: &str) -> String {
    let mut uri = format!("docs://{source}/");
    for b in rel_path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@+".contains(&b) {
            uri.push(b as char);
        } else {
            uri.push_str(&format!("%{b:02X}"));
        }
    }
    uri
}

/// GitHub's heading anchor: lower case, punctuation dropped, spaces to `-`.
pub fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                Some(c)
            } else if c == ' ' {
                Some('-')
            } else {
                None
            }
        })
        .collect()
}

/// Removes inline Markdown from a heading: backticks, emphasis, links.
fn plain_heading(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '`' | '*' => {}
            '[' => {
                // [text](target) -> text
                let mut text = String::new();
                for d in chars.by_ref() {
                    if d == ']' {
                        break;
                    }
                    text.push(d);
                }
                if chars.peek() == Some(&'(') {
                    for d in chars.by_ref() {
                        if d == ')' {
                            break;
                        }
                    }
                }
                out.push_str(&text);
            }
            c => out.push(c),
        }
    }
    out.trim().trim_end_matches('#').trim().to_string()
}

/// The heading level and text of a Markdown ATX heading line.
fn heading_of(line: &str) -> Option<(u8, String)> {
    let trimmed = line.trim_start_matches(' ');
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    let hashes = trimmed.bytes().take_while(|b| *b == b'#').count();
    if hashes == 0 || hashes > 6 {
        return None;
    }
    let rest = &trimmed[hashes..];
    if !(rest.is_empty() || rest.starts_with(' ') || rest.starts_with('\t')) {
        return None;
    }
    let text = plain_heading(rest);
    if text.is_empty() {
        return None;
    }
    Some((hashes as u8, text))
}

/// Lines with their byte offsets; the offset past the last line is `text.len()`.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' && i + 1 < text.len() {
            starts.push(i + 1);
        }
    }
    starts
}

struct Ids(HashSet<String>);

impl Ids {
    fn unique(&mut self, base: String, fallback: usize) -> String {
        let base = if base.is_empty() {
            format!("section-{fallback}")
        } else {
            base
        };
        let mut id = base.clone();
        let mut n = 1;
        while self.0.contains(&id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.0.insert(id.clone());
        id
    }
}

/// Splits Markdown at ATX headings outside fenced code blocks.
pub fn split_markdown(text: &str, stem: &str) -> Vec<Section> {
    let starts = line_starts(text);
    let mut heads: Vec<(usize, u8, String)> = Vec::new(); // (line index, level, title)
    let mut fence: Option<(u8, usize)> = None;
    for (i, &start) in starts.iter().enumerate() {
        let end = starts.get(i + 1).copied().unwrap_or(text.len());
        let line = text[start..end].trim_end_matches(['\n', '\r']);
        let t = line.trim_start();
        let marker = t.bytes().next().filter(|b| *b == b'`' || *b == b'~');
        if let Some(m) = marker {
            let run = t.bytes().take_while(|b| *b == m).count();
            if run >= 3 {
                match fence {
                    None => fence = Some((m, run)),
                    Some((fm, frun)) if fm == m && run >= frun && t[run..].trim().is_empty() => {
                        fence = None
                    }
                    _ => {}
                }
                continue;
            }
        }
        if fence.is_none()
            && let Some((level, title)) = heading_of(line)
        {
            heads.push((i, level, title));
        }
    }
    let mut sections = Vec::new();
    let mut ids = Ids(HashSet::new());
    let line_count = starts.len();
    let byte_at = |line: usize| starts.get(line).copied().unwrap_or(text.len());
    // Text before the first heading.
    let first = heads.first().map(|h| h.0).unwrap_or(line_count);
    if first > 0 && !text[..byte_at(first)].trim().is_empty() {
        sections.push(Section {
            id: ids.unique("intro".into(), 0),
            title: stem.to_string(),
            level: 0,
            heading_path: vec![],
            line_start: 1,
            line_end: first,
            start: 0,
            end: byte_at(first),
            subtree_end: byte_at(first),
            subtree_line_end: first,
        });
    }
    let mut path: Vec<(u8, String)> = Vec::new();
    for (n, (line, level, title)) in heads.iter().enumerate() {
        let next = heads.get(n + 1).map(|h| h.0).unwrap_or(line_count);
        let subtree_next = heads[n + 1..]
            .iter()
            .find(|h| h.1 <= *level)
            .map(|h| h.0)
            .unwrap_or(line_count);
        while path.last().is_some_and(|(l, _)| l >= level) {
            path.pop();
        }
        path.push((*level, title.clone()));
        sections.push(Section {
            id: ids.unique(slug(title), sections.len()),
            title: title.clone(),
            level: *level,
            heading_path: path.iter().map(|(_, t)| t.clone()).collect(),
            line_start: line + 1,
            line_end: next,
            start: byte_at(*line),
            end: byte_at(next),
            subtree_end: byte_at(subtree_next),
            subtree_line_end: subtree_next,
        });
    }
    if sections.is_empty() {
        sections.push(Section {
            id: "intro".into(),
            title: stem.to_string(),
            level: 0,
            heading_path: vec![],
            line_start: 1,
            line_end: line_count,
            start: 0,
            end: text.len(),
            subtree_end: text.len(),
            subtree_line_end: line_count,
        });
    }
    sections
}

/// Most lines in one plain-text block.
const TEXT_BLOCK_LINES: usize = 40;

/// Splits plain text into blocks of whole paragraphs (blank-line
/// separated), each up to about [`TEXT_BLOCK_LINES`] lines.
pub fn split_text(text: &str, stem: &str) -> Vec<Section> {
    let starts = line_starts(text);
    let line_count = starts.len();
    let byte_at = |line: usize| starts.get(line).copied().unwrap_or(text.len());
    let line_text = |i: usize| text[byte_at(i)..byte_at(i + 1)].trim();
    // Paragraphs as (first line, end line exclusive).
    let mut paragraphs = Vec::new();
    let mut i = 0;
    while i < line_count {
        if line_text(i).is_empty() {
            i += 1;
            continue;
        }
        let begin = i;
        while i < line_count && !line_text(i).is_empty() && i - begin < TEXT_BLOCK_LINES {
            i += 1;
        }
        paragraphs.push((begin, i));
    }
    let mut sections = Vec::new();
    let mut block: Option<(usize, usize)> = None;
    let flush = |block: (usize, usize), sections: &mut Vec<Section>| {
        let (begin, end) = block;
        let first: String = line_text(begin).chars().take(80).collect();
        sections.push(Section {
            id: format!("lines-{}-{}", begin + 1, end),
            title: if first.is_empty() {
                stem.to_string()
            } else {
                first
            },
            level: 0,
            heading_path: vec![],
            line_start: begin + 1,
            line_end: end,
            start: byte_at(begin),
            end: byte_at(end),
            subtree_end: byte_at(end),
            subtree_line_end: end,
        });
    };
    for (begin, end) in paragraphs {
        block = match block {
            Some((b, e)) if end - b <= TEXT_BLOCK_LINES => Some((b, end.max(e))),
            Some(prev) => {
                flush(prev, &mut sections);
                Some((begin, end))
            }
            None => Some((begin, end)),
        };
    }
    if let Some(prev) = block {
        flush(prev, &mut sections);
    }
    if sections.is_empty() {
        sections.push(Section {
            id: format!("lines-1-{line_count}"),
            title: stem.to_string(),
            level: 0,
            heading_path: vec![],
            line_start: 1,
            line_end: line_count,
            start: 0,
            end: text.len(),
            subtree_end: text.len(),
            subtree_line_end: line_count,
        });
    }
    sections
}

/// Renders a man page's roff source as Markdown-ish text: `.TH` becomes the
/// `# name(section)` title, `.SH`/`.SS` (and mdoc `.Sh`/`.Ss`) headings,
/// font and character escapes are resolved, other requests dropped.
pub fn render_man(roff: &str, fallback_title: &str) -> String {
    let mut out = String::with_capacity(roff.len());
    let mut title: Option<String> = None;
    let mut body = String::new();
    for raw in roff.lines() {
        let line = raw.trim_end();
        if line.starts_with(".\\\"") || line.starts_with("'\\\"") || line == "." {
            continue;
        }
        let Some(request) = line.strip_prefix('.').or_else(|| line.strip_prefix('\'')) else {
            let text = unescape(line);
            if text.trim_start().starts_with('#') {
                body.push(' ');
            }
            body.push_str(&text);
            body.push('\n');
            continue;
        };
        let request = request.trim_start();
        let (name, args) = match request.split_once([' ', '\t']) {
            Some((n, a)) => (n, a.trim()),
            None => (request, ""),
        };
        let words = roff_args(args);
        match name {
            "TH" | "Dt" => {
                if let Some(n) = words.first() {
                    let sec = words.get(1).map(String::as_str).unwrap_or("");
                    title = Some(format!("{}({sec})", n.to_lowercase()));
                }
            }
            "SH" | "Sh" => body.push_str(&format!("\n## {}\n\n", unescape(&words.join(" ")))),
            "SS" | "Ss" => body.push_str(&format!("\n### {}\n\n", unescape(&words.join(" ")))),
            "PP" | "LP" | "P" | "sp" | "Pp" | "TP" | "IP" | "HP" | "br" => {
                if name == "IP" && !words.is_empty() {
                    body.push_str(&format!("\n{}\n", unescape(&words[0])));
                } else {
                    body.push('\n');
                }
            }
            "B" | "I" | "SM" | "SB" | "Nm" | "Nd" | "Ar" | "Cm" | "Pa" | "Em" | "Sy" | "Li"
            | "Dl" | "Ev" | "Va" | "Xr" => {
                let text = if name == "Nd" {
                    format!("- {}", words.join(" "))
                } else {
                    words.join(" ")
                };
                body.push_str(&unescape(&text));
                body.push('\n');
            }
            "BR" | "BI" | "IR" | "RB" | "RI" | "IB" => {
                body.push_str(&unescape(&words.concat()));
                body.push('\n');
            }
            "Fl" => {
                let flags: Vec<String> = words.iter().map(|w| format!("-{w}")).collect();
                body.push_str(&unescape(&flags.join(" ")));
                body.push('\n');
            }
            "It" => {
                body.push('\n');
                body.push_str(&unescape(&words.join(" ")));
                body.push('\n');
            }
            _ => {}
        }
    }
    let title = title.unwrap_or_else(|| fallback_title.to_string());
    out.push_str(&format!("# {title}\n"));
    // Collapse runs of blank lines.
    let mut blank = 0;
    for line in body.lines() {
        if line.trim().is_empty() {
            blank += 1;
            if blank > 1 {
                continue;
            }
        } else {
            blank = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Splits roff request arguments, honouring double quotes.
fn roff_args(args: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    let mut any = false;
    for c in args.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            ' ' | '\t' if !quoted => {
                if any || !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
                any = false;
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any || !current.is_empty() {
        words.push(current);
    }
    words
}

/// Resolves the common roff escapes: fonts, sizes, special characters.
pub fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c != '\\' || i + 1 >= chars.len() {
            out.push(c);
            i += 1;
            continue;
        }
        let e = chars[i + 1];
        i += 2;
        // Reads an escape argument: `(xx`, `[name]` or one character.
        let arg = |i: &mut usize| -> String {
            match chars.get(*i) {
                Some('(') => {
                    let s: String = chars.iter().skip(*i + 1).take(2).collect();
                    *i += 3;
                    s
                }
                Some('[') => {
                    let s: String = chars
                        .iter()
                        .skip(*i + 1)
                        .take_while(|c| **c != ']')
                        .collect();
                    *i += s.chars().count() + 2;
                    s
                }
                Some(c) => {
                    *i += 1;
                    c.to_string()
                }
                None => String::new(),
            }
        };
        match e {
            'f' | 'F' | '*' | 'n' | 'g' | 'k' | 'm' | 'M' | 'V' | 'Y' => {
                arg(&mut i);
            }
            's' => {
                if matches!(chars.get(i), Some('+') | Some('-')) {
                    i += 1;
                }
                arg(&mut i);
            }
            '(' | '[' => {
                i -= 1;
                let name = arg(&mut i);
                out.push_str(match name.as_str() {
                    "aq" => "'",
                    "dq" | "lq" | "rq" => "\"",
                    "oq" | "cq" => "'",
                    "em" => "—",
                    "en" => "–",
                    "hy" | "mi" => "-",
                    "bu" => "•",
                    "co" => "©",
                    "rg" => "®",
                    "tm" => "™",
                    "ga" => "`",
                    "ti" => "~",
                    "ha" => "^",
                    "rs" => "\\",
                    "lh" => "<",
                    "rh" => ">",
                    "<=" => "<=",
                    ">=" => ">=",
                    "mu" => "×",
                    "de" => "°",
                    _ => "",
                });
            }
            '-' => out.push('-'),
            'e' | '\\' => out.push('\\'),
            ' ' | '~' | '0' => out.push(' '),
            '&' | '|' | '^' | 'c' | '%' | ',' | '/' | ':' | '!' | '{' | '}' => {}
            '"' => break, // comment to end of line
            'h' | 'v' | 'w' | 'o' | 'l' | 'L' | 'x' | 'D' | 'b' | 'N' | 'Z' | 'A' | 'X' => {
                // Escapes with a quoted argument: skip it.
                if chars.get(i) == Some(&'\'') {
                    i += 1;
                    while i < chars.len() && chars[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_follow_github() {
        assert_eq!(
            slug("Which server is asked first"),
            "which-server-is-asked-first"
        );
        assert_eq!(slug("`ready` and `prompt_hint`"), "ready-and-prompt_hint");
        assert_eq!(
            slug("dns_lookup — ask a DNS server one question"),
            "dns_lookup--ask-a-dns-server-one-question"
        );
        assert_eq!(
            slug("How session_run decides a command finished"),
            "how-session_run-decides-a-command-finished"
        );
    }

    #[test]
    fn doc_ids_have_no_slashes_or_dot_dot() {
        assert_eq!(
            make_doc_id("bundled", "tools/dns_lookup.md"),
            "tools.dns_lookup"
        );
        assert_eq!(
            make_doc_id("bundled", "getting-started.md"),
            "getting-started"
        );
        assert_eq!(
            make_doc_id("runbooks", "deploy/staging notes.txt"),
            "runbooks:deploy.staging-notes"
        );
        assert_eq!(make_doc_id("man", "ls.1"), "man:ls.1");
        let weird = make_doc_id("x", "../a/..b/%2F\\c.md");
        assert!(!weird.contains('/') && !weird.contains("..") && !weird.contains('%'));
        assert!(weird.chars().all(is_id_char), "{weird}");
        assert_eq!(
            make_uri("runbooks", "deploy/staging notes.md"),
            "docs://runbooks/deploy/staging%20notes.md"
        );
    }

    #[test]
    fn markdown_splits_at_headings_outside_code_fences() {
        let text = "intro line\n# Title\nsome text\n## Part A\n```sh\n# not a heading\n```\nA text\n### Deep\nd\n## Part A\nagain\n";
        let doc = Document::new(
            "bundled",
            "x/y.md",
            "docs/x/y.md".into(),
            text.into(),
            DocFormat::Markdown,
        );
        let ids: Vec<_> = doc.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["intro", "title", "part-a", "deep", "part-a-1"]);
        assert_eq!(doc.title, "Title");
        let a = doc.section("part-a").unwrap();
        assert_eq!((a.line_start, a.line_end), (4, 8));
        assert!(doc.section_text(a).contains("# not a heading"));
        assert_eq!(a.heading_path, ["Title", "Part A"]);
        // Subtree of Part A ends before the second Part A.
        assert!(doc.text[a.start..a.subtree_end].contains("### Deep"));
        assert!(!doc.text[a.start..a.subtree_end].contains("again"));
        let deep = doc.section("deep").unwrap();
        assert_eq!(deep.heading_path, ["Title", "Part A", "Deep"]);
        assert_eq!(doc.section("intro").unwrap().heading_path, ["Title"]);
    }

    #[test]
    fn text_splits_into_paragraph_blocks() {
        let mut text = String::new();
        for p in 0..10 {
            for l in 0..8 {
                text.push_str(&format!("paragraph {p} line {l}\n"));
            }
            text.push('\n');
        }
        let doc = Document::new("notes", "n.txt", "/n.txt".into(), text, DocFormat::Text);
        assert!(doc.sections.len() >= 2);
        for s in &doc.sections {
            assert!(s.line_end - s.line_start < TEXT_BLOCK_LINES + 8, "{s:?}");
            assert!(doc.section_text(s).starts_with("paragraph"));
        }
        assert_eq!(doc.sections[0].id, "lines-1-35");
        assert_eq!(doc.sections[0].title, "paragraph 0 line 0");
    }

    #[test]
    fn man_pages_render_to_headings_and_plain_words() {
        let roff = ".\\\" comment\n.TH LS 1 \"2024\" \"GNU\"\n.SH NAME\nls \\- list directory contents\n.SH SYNOPSIS\n.B ls\n[\\fIOPTION\\fR]... [\\fIFILE\\fR]...\n.SS \"Sorting\"\n.TP\n\\fB\\-t\\fR\nsort by time, newest first\\(em see \\fB\\-\\-time\\fP\n.BR stat (2)\n";
        let text = render_man(roff, "ls.1");
        let doc = Document::new(
            "man",
            "man1/ls.1.gz",
            "/usr/share/man/man1/ls.1.gz".into(),
            text,
            DocFormat::Man,
        );
        assert_eq!(doc.title, "ls(1)");
        let ids: Vec<_> = doc.sections.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(ids, ["ls1", "name", "synopsis", "sorting"]);
        assert!(doc.text.contains("ls - list directory contents"));
        assert!(doc.text.contains("[OPTION]... [FILE]..."));
        assert!(
            doc.text
                .contains("-t\nsort by time, newest first— see --time\nstat(2)"),
            "{}",
            doc.text
        );
    }
}
