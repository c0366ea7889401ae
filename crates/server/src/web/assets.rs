//! The UI's files, read into memory at start. A request names one of them exactly or gets
//! 404: a path is never joined onto a folder, so no `..`, encoded or not, can reach a file
//! outside the UI.

use std::collections::HashMap;
use std::path::Path;

use anyhow::Context;
use bytes::Bytes;

/// One file of the UI.
#[derive(Debug, Clone)]
pub struct Asset {
    /// Its content.
    pub bytes: Bytes,
    /// Its type.
    pub mime: &'static str,
    /// Whether its name changes with its content (Vite's `assets/name-HASH.js`), so browsers
    /// may keep it for good.
    pub immutable: bool,
}

/// The UI's files by the path a browser asks for (`/`, `/assets/index-HASH.js`).
#[derive(Debug, Default)]
pub struct Assets(HashMap<String, Asset>);

impl Assets {
    /// Reads the built UI (`ui/dist`).
    pub fn load(dir: &Path) -> anyhow::Result<Assets> {
        let mut files = HashMap::new();
        walk(dir, dir, &mut files)
            .with_context(|| format!("[web] не удалось прочитать интерфейс из {}", dir.display()))?;
        let index = files.get("/index.html").cloned().with_context(|| {
            format!(
                "[web] в {} нет index.html: укажите в ui_dir собранный интерфейс (cd ui && npm ci && npm run build → ui/dist)",
                dir.display()
            )
        })?;
        files.insert("/".to_owned(), index);
        Ok(Assets(files))
    }

    /// The file at `path` (the request's path, as sent).
    pub fn get(&self, path: &str) -> Option<&Asset> {
        self.0.get(path)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut HashMap<String, Asset>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        let kind = entry.file_type()?;
        if kind.is_dir() {
            walk(root, &path, out)?;
            continue;
        }
        if !kind.is_file() {
            continue;
        }
        let Some(rel) = path.strip_prefix(root).ok().and_then(|p| p.to_str()) else {
            continue;
        };
        // Only plain names a browser sends as they are.
        if !rel
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '.' | '-' | '_'))
            || rel.split('/').any(|part| part.is_empty() || part.starts_with('.'))
        {
            continue;
        }
        let name = format!("/{rel}");
        out.insert(
            name.clone(),
            Asset {
                bytes: Bytes::from(std::fs::read(&path)?),
                mime: mime_of(&name),
                immutable: name.starts_with("/assets/"),
            },
        );
    }
    Ok(())
}

fn mime_of(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, e)| e) {
        Some("html") => "text/html; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("json") => "application/json",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("woff2") => "font/woff2",
        Some("woff") => "font/woff",
        Some("ttf") => "font/ttf",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_uis_own_files_are_served() -> anyhow::Result<()> {
        let dir = std::env::temp_dir().join(format!("dialog-web-assets-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("ui/assets"))?;
        std::fs::write(dir.join("secret.txt"), "не для браузера")?;
        std::fs::write(dir.join("ui/index.html"), "<!doctype html>")?;
        std::fs::write(dir.join("ui/assets/index-abc.js"), "export {}")?;
        std::fs::write(dir.join("ui/.env"), "SECRET=1")?;
        let ui = Assets::load(&dir.join("ui"))?;
        assert_eq!(ui.get("/").map(|a| a.mime), Some("text/html; charset=utf-8"));
        let js = ui.get("/assets/index-abc.js").expect("js");
        assert!(js.immutable && js.mime.starts_with("text/javascript"));
        for bad in [
            "/../secret.txt",
            "/assets/../../secret.txt",
            "/%2e%2e/secret.txt",
            "/assets/..%2f..%2fsecret.txt",
            "//secret.txt",
            "/.env",
            "/assets/index-abc.js/",
            "/ASSETS/index-abc.js",
        ] {
            assert!(ui.get(bad).is_none(), "{bad}");
        }
        assert!(
            Assets::load(&dir.join("ui/assets")).is_err(),
            "a folder without index.html is refused"
        );
        std::fs::remove_dir_all(&dir)?;
        Ok(())
    }
}
