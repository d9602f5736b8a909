//! Where documents come from: the bundled `docs/` pages, directories of
//! Markdown and text files, man pages. Reading is defensive: binary files
//! are skipped, invalid UTF-8 is replaced, files over the size limit are cut,
//! and each of these leaves a log line and a note in the source's status.

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use schemars::JsonSchema;
use serde::Serialize;

use super::corpus::{DocFormat, Document, file_stem, render_man};
use super::{BUNDLED_DOCS, BUNDLED_SOURCE};

/// Most files read from one source.
pub const MAX_FILES_PER_SOURCE: usize = 50_000;
/// Most bytes of text kept from one source.
pub const MAX_SOURCE_BYTES: usize = 512 * 1024 * 1024;
/// Deepest directory level walked.
const MAX_DEPTH: usize = 16;

/// What happened to a file that was not indexed as it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum NoteKind {
    /// Not indexed (binary, unreadable, over a limit).
    Skipped,
    /// Only the first `max_file_bytes` were indexed.
    Truncated,
    /// Not valid UTF-8: invalid bytes were replaced with U+FFFD.
    InvalidUtf8,
}

/// A file that was skipped or changed while indexing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct FileNote {
    /// The file.
    pub path: String,
    /// What happened.
    pub kind: NoteKind,
    /// Why, in words.
    pub detail: String,
}

/// Limits applied while reading.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Bytes read from one file; the rest is cut.
    pub max_file_bytes: usize,
}

/// The documents of a source and the notes taken while reading them.
#[derive(Debug, Default)]
pub struct Loaded {
    /// The documents, in path order.
    pub docs: Vec<Document>,
    /// Skipped or changed files.
    pub notes: Vec<FileNote>,
}

impl Loaded {
    fn note(&mut self, path: &Path, kind: NoteKind, detail: String) {
        log::warn!("docs: {}: {detail}", path.display());
        self.notes.push(FileNote {
            path: path.display().to_string(),
            kind,
            detail,
        });
    }

    fn bytes(&self) -> usize {
        self.docs.iter().map(|d| d.text.len()).sum()
    }
}

/// The format a file name says.
fn format_of(name: &str) -> Option<DocFormat> {
    let lower = name.to_ascii_lowercase();
    if lower.ends_with(".md") || lower.ends_with(".markdown") {
        Some(DocFormat::Markdown)
    } else if [".txt", ".text", ".rst", ".adoc"]
        .iter()
        .any(|e| lower.ends_with(e))
    {
        Some(DocFormat::Text)
    } else {
        None
    }
}

/// Turns file bytes into text: `None` (with a note) for binary files;
/// invalid UTF-8 replaced (with a note); cut at `limit` bytes, at a line end
/// when one is near (with a note).
fn decode(
    loaded: &mut Loaded,
    path: &Path,
    mut bytes: Vec<u8>,
    over_limit: bool,
    limits: Limits,
) -> Option<String> {
    let probe = &bytes[..bytes.len().min(8192)];
    if probe.contains(&0) {
        loaded.note(
            path,
            NoteKind::Skipped,
            "skipped: looks binary (contains NUL bytes)".into(),
        );
        return None;
    }
    let mut truncated = false;
    if over_limit || bytes.len() > limits.max_file_bytes {
        bytes.truncate(limits.max_file_bytes);
        // Cut at the last line end in the final 4 KiB, else where the limit is.
        let tail_start = bytes.len().saturating_sub(4096);
        if let Some(nl) = bytes[tail_start..].iter().rposition(|b| *b == b'\n') {
            bytes.truncate(tail_start + nl + 1);
        }
        truncated = true;
    }
    let text = match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let bytes = e.into_bytes();
            // A cut inside a multi-byte character is not an encoding problem.
            let valid_up_to = match std::str::from_utf8(&bytes) {
                Ok(_) => bytes.len(),
                Err(e) => e.valid_up_to(),
            };
            if truncated
                && bytes.len() - valid_up_to < 4
                && std::str::from_utf8(&bytes[..valid_up_to]).is_ok()
            {
                String::from_utf8(bytes[..valid_up_to].to_vec()).unwrap_or_default()
            } else {
                loaded.note(
                    path,
                    NoteKind::InvalidUtf8,
                    "not valid UTF-8: indexed with invalid bytes replaced by U+FFFD".into(),
                );
                String::from_utf8_lossy(&bytes).into_owned()
            }
        }
    };
    if truncated {
        loaded.note(
            path,
            NoteKind::Truncated,
            format!(
                "larger than max_file_bytes ({} bytes): only the first {} bytes are indexed",
                limits.max_file_bytes,
                text.len()
            ),
        );
    }
    Some(text)
}

/// Reads at most `limit + 1` bytes of `reader`: the data and whether there was more.
fn read_limited(reader: impl Read, limit: usize) -> std::io::Result<(Vec<u8>, bool)> {
    let mut bytes = Vec::new();
    reader.take(limit as u64 + 1).read_to_end(&mut bytes)?;
    let over = bytes.len() > limit;
    Ok((bytes, over))
}

/// The bundled documentation, embedded at build time.
pub fn load_bundled() -> Loaded {
    let mut loaded = Loaded::default();
    let limits = Limits {
        max_file_bytes: usize::MAX / 2,
    };
    for (rel, bytes) in BUNDLED_DOCS {
        let Some(format) = format_of(rel) else {
            continue;
        };
        let path = PathBuf::from("docs").join(rel);
        if let Some(text) = decode(&mut loaded, &path, bytes.to_vec(), false, limits) {
            loaded.docs.push(Document::new(
                BUNDLED_SOURCE,
                rel,
                format!("docs/{rel}"),
                text,
                format,
            ));
        }
    }
    loaded
}

/// Every Markdown and text file under `root` (hidden entries and
/// directory symlinks are not followed), in path order.
pub fn load_directory(source: &str, root: &Path, limits: Limits) -> Result<Loaded, String> {
    let meta =
        fs::metadata(root).map_err(|e| format!("cannot read directory {}: {e}", root.display()))?;
    if !meta.is_dir() {
        return Err(format!("{} is not a directory", root.display()));
    }
    let mut files = Vec::new();
    let mut loaded = Loaded::default();
    walk(root, root, 0, &mut files, &mut loaded);
    files.sort();
    for rel in files {
        if loaded.docs.len() >= MAX_FILES_PER_SOURCE {
            loaded.note(
                root,
                NoteKind::Skipped,
                format!("more than {MAX_FILES_PER_SOURCE} files: the rest are not indexed"),
            );
            break;
        }
        if loaded.bytes() >= MAX_SOURCE_BYTES {
            loaded.note(
                root,
                NoteKind::Skipped,
                format!("more than {MAX_SOURCE_BYTES} bytes of text: the rest is not indexed"),
            );
            break;
        }
        let path = root.join(&rel);
        let format = format_of(&rel).unwrap_or(DocFormat::Text);
        let read = fs::File::open(&path).and_then(|f| read_limited(f, limits.max_file_bytes));
        let (bytes, over) = match read {
            Ok(r) => r,
            Err(e) => {
                loaded.note(
                    &path,
                    NoteKind::Skipped,
                    format!("skipped: cannot read: {e}"),
                );
                continue;
            }
        };
        if let Some(text) = decode(&mut loaded, &path, bytes, over, limits) {
            loaded.docs.push(Document::new(
                source,
                &rel,
                path.display().to_string(),
                text,
                format,
            ));
        }
    }
    Ok(loaded)
}

fn walk(root: &Path, dir: &Path, depth: usize, files: &mut Vec<String>, loaded: &mut Loaded) {
    if depth > MAX_DEPTH {
        loaded.note(
            dir,
            NoteKind::Skipped,
            format!("skipped: deeper than {MAX_DEPTH} levels"),
        );
        return;
    }
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            loaded.note(dir, NoteKind::Skipped, format!("skipped: cannot list: {e}"));
            return;
        }
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        let path = entry.path();
        if kind.is_dir() {
            walk(root, &path, depth + 1, files, loaded);
            continue;
        }
        if format_of(&name).is_none() {
            continue;
        }
        // Regular files, and symlinks to regular files; never FIFOs or devices.
        let is_file =
            kind.is_file() || (kind.is_symlink() && fs::metadata(&path).is_ok_and(|m| m.is_file()));
        if !is_file {
            continue;
        }
        if let Ok(rel) = path.strip_prefix(root) {
            files.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

/// The man page directories: `man -w` (the manpath), else `$MANPATH`, else
/// the usual places.
pub fn man_dirs() -> Vec<PathBuf> {
    let from_man = Command::new("man")
        .arg("-w")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let path = from_man
        .filter(|p| !p.is_empty())
        .or_else(|| std::env::var("MANPATH").ok())
        .unwrap_or_else(|| "/usr/local/share/man:/usr/share/man".to_string());
    let mut dirs: Vec<PathBuf> = Vec::new();
    for p in path.split(':').filter(|p| !p.is_empty()) {
        let p = PathBuf::from(p);
        let canonical = p.canonicalize().unwrap_or(p);
        if canonical.is_dir() && !dirs.contains(&canonical) {
            dirs.push(canonical);
        }
    }
    dirs
}

/// Man pages of `sections` under `dirs` (`man1/ls.1.gz`…), rendered from
/// roff; a page found in several directories is taken from the first.
/// Pages that only point to another (`.so`) are left out.
pub fn load_man(dirs: &[PathBuf], sections: &[String], limits: Limits) -> Loaded {
    let mut loaded = Loaded::default();
    let mut seen = std::collections::HashSet::new();
    let mut pages: Vec<(String, PathBuf)> = Vec::new();
    for dir in dirs {
        for section in sections {
            let sub = dir.join(format!("man{section}"));
            let Ok(entries) = fs::read_dir(&sub) else {
                continue;
            };
            let mut names: Vec<_> = entries
                .flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            for name in names {
                let rel = name.strip_suffix(".gz").unwrap_or(&name).to_string();
                if name.ends_with(".bz2")
                    || name.ends_with(".xz")
                    || name.ends_with(".zst")
                    || name.starts_with('.')
                {
                    log::debug!(
                        "docs: {}: compression not supported, skipped",
                        sub.join(&name).display()
                    );
                    continue;
                }
                if seen.insert(rel.clone()) {
                    pages.push((rel, sub.join(&name)));
                }
            }
        }
    }
    for (rel, path) in pages {
        if loaded.docs.len() >= MAX_FILES_PER_SOURCE || loaded.bytes() >= MAX_SOURCE_BYTES {
            loaded.note(
                &path,
                NoteKind::Skipped,
                "man pages over the source limits: the rest are not indexed".into(),
            );
            break;
        }
        let file = match fs::File::open(&path) {
            Ok(f) => f,
            Err(e) => {
                log::debug!("docs: {}: cannot read: {e}", path.display());
                continue;
            }
        };
        let gz = path.extension().is_some_and(|e| e == "gz");
        let read = if gz {
            read_limited(flate2::read::GzDecoder::new(file), limits.max_file_bytes)
        } else {
            read_limited(file, limits.max_file_bytes)
        };
        let (bytes, over) = match read {
            Ok(r) => r,
            Err(e) => {
                loaded.note(
                    &path,
                    NoteKind::Skipped,
                    format!("skipped: cannot read: {e}"),
                );
                continue;
            }
        };
        let Some(roff) = decode(&mut loaded, &path, bytes, over, limits) else {
            continue;
        };
        let first = roff
            .lines()
            .find(|l| !l.starts_with(".\\\"") && !l.trim().is_empty());
        if first.is_some_and(|l| l.starts_with(".so ")) {
            continue;
        }
        let text = render_man(&roff, &file_stem(&rel));
        let mut doc = Document::new(
            super::MAN_SOURCE,
            &rel,
            path.display().to_string(),
            text,
            DocFormat::Man,
        );
        doc.truncated = over;
        loaded.docs.push(doc);
    }
    loaded
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    const LIMITS: Limits = Limits {
        max_file_bytes: 1024,
    };

    #[test]
    fn directories_are_read_with_notes_for_odd_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        fs::create_dir_all(root.join("sub/.hidden")).unwrap();
        fs::write(root.join("a.md"), "# A\nalpha\n").unwrap();
        fs::write(root.join("sub/b.txt"), "beta\n").unwrap();
        fs::write(root.join("sub/.hidden/c.md"), "# hidden\n").unwrap();
        fs::write(root.join("image.png"), [0u8, 1, 2]).unwrap();
        fs::write(root.join("bin.txt"), b"abc\0def").unwrap();
        fs::write(root.join("latin1.txt"), b"caf\xe9 au lait\n").unwrap();
        let big: String = (0..200).map(|i| format!("line {i}\n")).collect();
        fs::write(root.join("big.md"), &big).unwrap();
        let loaded = load_directory("notes", root, LIMITS).unwrap();
        let ids: Vec<_> = loaded.docs.iter().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(ids, ["notes:a", "notes:big", "notes:latin1", "notes:sub.b"]);
        let kinds: Vec<_> = loaded
            .notes
            .iter()
            .map(|n| (n.path.rsplit('/').next().unwrap().to_string(), n.kind))
            .collect();
        assert!(
            kinds.contains(&("bin.txt".into(), NoteKind::Skipped)),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("latin1.txt".into(), NoteKind::InvalidUtf8)),
            "{kinds:?}"
        );
        assert!(
            kinds.contains(&("big.md".into(), NoteKind::Truncated)),
            "{kinds:?}"
        );
        let big_doc = &loaded.docs[1];
        assert!(big_doc.text.len() <= 1024 && big_doc.text.ends_with('\n'));
        assert!(loaded.docs[2].text.starts_with("caf\u{FFFD} au lait"));
        assert!(load_directory("x", &root.join("missing"), LIMITS).is_err());
    }

    #[test]
    fn man_pages_are_read_from_gzip_and_so_links_left_out() {
        let dir = tempfile::tempdir().unwrap();
        let man1 = dir.path().join("man1");
        fs::create_dir_all(&man1).unwrap();
        let gz = fs::File::create(man1.join("frob.1.gz")).unwrap();
        let mut enc = flate2::write::GzEncoder::new(gz, flate2::Compression::default());
        enc.write_all(b".TH FROB 1\n.SH NAME\nfrob \\- frobnicate widgets\n.SH OPTIONS\n.TP\n\\fB\\-x\\fR\nextra frobbing\n").unwrap();
        enc.finish().unwrap();
        fs::write(man1.join("frobalias.1"), ".so man1/frob.1\n").unwrap();
        fs::write(
            man1.join("plain.1"),
            ".TH PLAIN 1\n.SH NAME\nplain \\- not compressed\n",
        )
        .unwrap();
        let loaded = load_man(&[dir.path().to_path_buf()], &["1".to_string()], LIMITS);
        let ids: Vec<_> = loaded.docs.iter().map(|d| d.doc_id.as_str()).collect();
        assert_eq!(ids, ["man:frob.1", "man:plain.1"]);
        let frob = &loaded.docs[0];
        assert_eq!(frob.title, "frob(1)");
        assert_eq!(frob.uri, "docs://man/frob.1");
        assert!(frob.text.contains("frob - frobnicate widgets"));
        assert!(frob.section("options").is_some());
    }

    #[test]
    fn bundled_docs_are_embedded() {
        let loaded = load_bundled();
        assert!(loaded.notes.is_empty(), "{:?}", loaded.notes);
        let dns = loaded
            .docs
            .iter()
            .find(|d| d.doc_id == "tools.dns_lookup")
            .expect("dns_lookup page");
        assert_eq!(dns.path, "docs/tools/dns_lookup.md");
        assert_eq!(dns.uri, "docs://bundled/tools/dns_lookup.md");
    }
}
