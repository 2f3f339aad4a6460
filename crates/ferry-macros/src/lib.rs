//! `embed_migrations!("migrations")`: embeds a migrations folder in the binary.
//!
//! Expands to a `&'static [(&'static str, &'static str)]` of file names and
//! contents (every `.sql` file of the folder, by name), which
//! `ferry::MigrationSet::from_embedded` validates exactly like a folder.
//! The path is relative to the crate's `Cargo.toml`. Cargo rebuilds when an
//! embedded file changes; to pick up *new* files, add a `build.rs` with
//! `println!("cargo:rerun-if-changed=migrations");`.
#![deny(missing_docs)]

use std::path::PathBuf;

use proc_macro::TokenStream;
use quote::quote;

/// Embeds the `.sql` files of a folder (relative to `Cargo.toml`).
#[proc_macro]
pub fn embed_migrations(input: TokenStream) -> TokenStream {
    match expand(input.into()) {
        Ok(ts) => ts.into(),
        Err(msg) => quote!(compile_error!(#msg)).into(),
    }
}

fn expand(input: proc_macro2::TokenStream) -> Result<proc_macro2::TokenStream, String> {
    let tokens: Vec<_> = input.into_iter().collect();
    let [proc_macro2::TokenTree::Literal(lit)] = tokens.as_slice() else {
        return Err("embed_migrations! takes one string literal: the migrations folder".into());
    };
    let text = lit.to_string();
    let Some(rel) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return Err("embed_migrations! takes a plain string literal, for example \"migrations\"".into());
    };
    let root = std::env::var("CARGO_MANIFEST_DIR").map_err(|_| "CARGO_MANIFEST_DIR is not set")?;
    let dir = PathBuf::from(root).join(rel);
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?.path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if path.is_file() && name.ends_with(".sql") {
            files.push((name, path.to_string_lossy().into_owned()));
        }
    }
    files.sort();
    let items = files.iter().map(|(name, path)| quote!((#name, include_str!(#path))));
    Ok(quote!(&[#(#items),*]))
}
