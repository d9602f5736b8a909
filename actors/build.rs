//! Embeds the user documentation (`docs/` at the workspace root) into the
//! crate: generates `$OUT_DIR/bundled_docs.rs` with one `include_bytes!` per
//! Markdown or text file, so `docs_search` works from any directory.
//!
//! `rerun-if-changed` on the directory makes cargo rescan it on every build,
//! so added, changed and removed pages are picked up.

use std::fs;
use std::path::{Path, PathBuf};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.flatten().collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect(&path, root, out);
        } else if name.ends_with(".md") || name.ends_with(".txt") {
            let rel = path
                .strip_prefix(root)
                .expect("under docs/")
                .to_string_lossy()
                .replace('\\', "/");
            out.push((rel, path.canonicalize().expect("docs file path")));
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let docs = manifest.join("..").join("docs");
    println!("cargo:rerun-if-changed={}", docs.display());
    println!("cargo:rerun-if-changed=build.rs");
    let mut files = Vec::new();
    collect(&docs, &docs, &mut files);
    let mut code = String::from(
        "/// The bundled documentation: (path under `docs/`, file bytes), sorted by path.\n\
         pub static BUNDLED_DOCS: &[(&str, &[u8])] = &[\n",
    );
    for (rel, path) in files {
        code.push_str(&format!(
            "    ({rel:?}, include_bytes!({:?})),\n",
            path.display().to_string()
        ));
    }
    code.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").unwrap()).join("bundled_docs.rs");
    fs::write(out, code).expect("write bundled_docs.rs");
}
