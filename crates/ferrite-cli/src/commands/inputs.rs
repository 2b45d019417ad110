//! Turning the paths given on the command line into image files: files as given (whatever
//! their name), folders searched recursively for image extensions, and glob patterns expanded.

use std::path::{Path, PathBuf};

use ferrite_data::has_image_extension;

/// One input to process: a file, or a path that could not be used and why.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// An image file to read.
    File(PathBuf),
    /// A path that yields nothing to read, and why.
    Invalid(PathBuf, String),
}

fn folder_images(dir: &Path) -> Vec<Input> {
    let mut files = Vec::new();
    let mut problems = Vec::new();
    for entry in walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
    {
        match entry {
            Ok(e) if e.file_type().is_file() && has_image_extension(e.path()) => {
                files.push(Input::File(e.into_path()))
            }
            Ok(_) => {}
            Err(e) => problems.push(Input::Invalid(
                e.path().unwrap_or(dir).to_path_buf(),
                format!("cannot read: {e}"),
            )),
        }
    }
    if files.is_empty() && problems.is_empty() {
        problems.push(Input::Invalid(
            dir.to_path_buf(),
            "no images in this folder".into(),
        ));
    }
    files.extend(problems);
    files
}

fn looks_like_glob(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands command-line paths into inputs, in order.
pub fn expand(paths: &[PathBuf]) -> Vec<Input> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            out.extend(folder_images(path));
        } else if path.is_file() {
            out.push(Input::File(path.clone()));
        } else if let Some(pattern) = path.to_str().filter(|s| looks_like_glob(s)) {
            match glob::glob(pattern) {
                Ok(matches) => {
                    let found: Vec<PathBuf> = matches.filter_map(Result::ok).collect();
                    if found.is_empty() {
                        out.push(Input::Invalid(path.clone(), "no file matches".into()));
                    }
                    out.extend(expand(&found));
                }
                Err(e) => out.push(Input::Invalid(path.clone(), format!("bad pattern: {e}"))),
            }
        } else {
            out.push(Input::Invalid(
                path.clone(),
                "no such file or folder".into(),
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_globs_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        for name in ["a.jpg", "b.PNG", "notes.txt"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::write(sub.join("c.webp"), b"x").unwrap();
        let empty = dir.path().join("empty");
        std::fs::create_dir(&empty).unwrap();

        let got = expand(&[dir.path().to_path_buf()]);
        let files: Vec<_> = got
            .iter()
            .filter_map(|i| match i {
                Input::File(p) => Some(p.file_name().unwrap().to_str().unwrap().to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(files, ["a.jpg", "b.PNG", "c.webp"]);

        let pattern = dir.path().join("*.jpg");
        assert_eq!(expand(&[pattern]), [Input::File(dir.path().join("a.jpg"))]);
        assert!(
            matches!(&expand(&[empty])[0], Input::Invalid(_, why) if why.contains("no images"))
        );
        let missing = dir.path().join("nope.jpg");
        assert!(
            matches!(&expand(&[missing])[0], Input::Invalid(_, why) if why.contains("no such"))
        );
    }
}
