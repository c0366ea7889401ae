//! Finished calls on their way from the phone to the database. A call that has ended is first
//! kept on disk, in a folder of the person's own, and only then stored: neither a database that
//! is down for an hour nor a crash of the app loses a call or its recording, and each is stored
//! once (the database ignores an id it already has).
//!
//! A call may be linked to an appeal at any moment: while it lasts (the phone carries the link
//! to its record), after it has ended and before it is stored (the link goes into the kept
//! call), while it is being stored, or after. One lock orders a link against the storing, so no
//! link is lost between them.

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use uuid::Uuid;

use crate::files::NewCall;
use crate::{Result, Store};

/// The calls of one person that have ended and are not yet stored.
pub struct CallBook {
    dir: PathBuf,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Stored by this book.
    stored: HashSet<Uuid>,
    /// Being stored now: links that arrive meanwhile wait here.
    storing: HashSet<Uuid>,
    /// Links to calls the book does not hold yet, or holds in flight.
    late: HashMap<Uuid, Uuid>,
}

/// What [`CallBook::drain`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Drained {
    /// The calls stored now.
    pub stored: Vec<Uuid>,
    /// Still kept: the database could not be reached. Try again later.
    pub waiting: usize,
    /// Refused by the database (say, a recording over the day's quota): moved aside, with the
    /// reason beside them, for the support engineer.
    pub refused: Vec<(Uuid, String)>,
}

/// Where a link went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Linked {
    /// Into the database.
    Stored,
    /// Into the kept call (or to wait for it): it is stored with the call.
    WithTheCall,
}

fn json_name(id: Uuid) -> String {
    format!("{id}.json")
}

fn audio_name(id: Uuid) -> String {
    format!("{id}.audio")
}

/// Writes a file whole or not at all: a crash leaves the old one or the new one.
fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("part");
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent() {
        std::fs::File::open(dir)?.sync_all()?;
    }
    Ok(())
}

impl CallBook {
    /// Opens (or makes) the folder of one person's calls not yet stored; only its owner can
    /// read it, since it holds recordings.
    pub fn open(dir: impl Into<PathBuf>) -> std::io::Result<Self> {
        let dir = dir.into();
        std::fs::create_dir_all(&dir)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700))?;
        }
        Ok(Self {
            dir,
            state: Mutex::default(),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Keeps a call that has ended: on disk before this returns. A link that came for it
    /// before it got here goes in with it.
    pub fn keep(&self, call: &NewCall) -> std::io::Result<()> {
        let mut state = self.lock();
        let mut call = call.clone();
        if let Some(appeal) = state.late.get(&call.id) {
            call.appeal_id = Some(*appeal);
        }
        // The recording first, the description last: a description always has its audio.
        if let Some(audio) = &call.recording {
            write_atomic(&self.dir.join(audio_name(call.id)), audio)?;
        }
        let json = serde_json::to_vec(&call).map_err(std::io::Error::other)?;
        write_atomic(&self.dir.join(json_name(call.id)), &json)?;
        state.late.remove(&call.id);
        Ok(())
    }

    /// The calls kept and not yet stored, oldest first.
    pub fn kept(&self) -> Vec<Uuid> {
        let mut ids: Vec<Uuid> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                e.file_name()
                    .to_str()?
                    .strip_suffix(".json")
                    .and_then(|s| s.parse().ok())
            })
            .collect();
        ids.sort();
        ids
    }

    fn read(&self, id: Uuid) -> std::io::Result<NewCall> {
        let mut call: NewCall =
            serde_json::from_slice(&std::fs::read(self.dir.join(json_name(id)))?).map_err(std::io::Error::other)?;
        call.recording = match std::fs::read(self.dir.join(audio_name(id))) {
            Ok(a) => Some(a),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        Ok(call)
    }

    fn forget(&self, id: Uuid) {
        let _ = std::fs::remove_file(self.dir.join(json_name(id)));
        let _ = std::fs::remove_file(self.dir.join(audio_name(id)));
    }

    fn set_aside(&self, id: Uuid, why: &str) {
        let aside = self.dir.join("refused");
        let _ = std::fs::create_dir_all(&aside);
        for name in [json_name(id), audio_name(id)] {
            let _ = std::fs::rename(self.dir.join(&name), aside.join(&name));
        }
        let _ = std::fs::write(aside.join(format!("{id}.txt")), why);
    }

    /// Stores every kept call, oldest first. Stops at the first sign that the database cannot
    /// be reached (the rest wait for the next drain); a call the database refuses is set aside.
    pub async fn drain(&self, store: &Store) -> Drained {
        let mut done = Drained::default();
        let kept = self.kept();
        for (i, id) in kept.iter().copied().enumerate() {
            {
                let mut state = self.lock();
                if state.storing.contains(&id) {
                    continue;
                }
                state.storing.insert(id);
            }
            let call = match self.read(id) {
                Ok(c) => c,
                Err(e) => {
                    self.lock().storing.remove(&id);
                    tracing::error!(call = %id, error = %e, "a kept call cannot be read");
                    self.set_aside(id, &format!("не читается: {e}"));
                    done.refused.push((id, e.to_string()));
                    continue;
                }
            };
            match store.record_call(&call).await {
                Ok(_) => {
                    let late = {
                        let mut state = self.lock();
                        state.storing.remove(&id);
                        state.stored.insert(id);
                        self.forget(id);
                        state.late.remove(&id)
                    };
                    if let Some(appeal) = late.filter(|a| call.appeal_id != Some(*a)) {
                        if let Err(e) = store.link_call(id, appeal).await {
                            tracing::error!(call = %id, error = %e, "a call stored but not linked to its appeal");
                        }
                    }
                    done.stored.push(id);
                }
                Err(e) if e.is_unavailable() || e.is_transient() => {
                    self.lock().storing.remove(&id);
                    tracing::warn!(call = %id, error = %e, "the call waits for the database");
                    done.waiting = kept.len() - i;
                    return done;
                }
                Err(e) => {
                    let mut state = self.lock();
                    state.storing.remove(&id);
                    tracing::error!(call = %id, error = %e, "the database refused a call");
                    self.set_aside(id, &e.to_string());
                    done.refused.push((id, e.to_string()));
                }
            }
        }
        done
    }

    /// Links a call that has ended to an appeal: in the database when it is stored, with the
    /// call when it is still kept, or as soon as it is stored.
    pub async fn link_ended(&self, store: &Store, call: Uuid, appeal: Uuid) -> Result<Linked> {
        if let Some(linked) = self.link_held(call, appeal) {
            return Ok(linked);
        }
        // Not this book's call, or not here yet (its record is on its way from the phone).
        match store.link_call(call, appeal).await {
            Ok(()) => Ok(Linked::Stored),
            Err(crate::Error::Rule {
                rule: crate::error::Rule::NotYourCall,
                ..
            }) => {
                let stored_meanwhile = {
                    let mut state = self.lock();
                    let stored = state.stored.contains(&call);
                    if !stored {
                        state.late.insert(call, appeal);
                    }
                    stored
                };
                if stored_meanwhile {
                    store.link_call(call, appeal).await?;
                    return Ok(Linked::Stored);
                }
                Ok(Linked::WithTheCall)
            }
            Err(e) => Err(e),
        }
    }

    /// A link to a call this book holds or is storing: `None` when it has stored it (link in
    /// the database) or never had it.
    fn link_held(&self, call: Uuid, appeal: Uuid) -> Option<Linked> {
        let mut state = self.lock();
        if state.stored.contains(&call) {
            return None;
        }
        if state.storing.contains(&call) {
            state.late.insert(call, appeal);
            return Some(Linked::WithTheCall);
        }
        let kept = self.dir.join(json_name(call));
        if !kept.exists() {
            return None;
        }
        let mut c = self.read(call).ok()?;
        c.appeal_id = Some(appeal);
        let json = serde_json::to_vec(&c).ok()?;
        match write_atomic(&kept, &json) {
            Ok(()) => Some(Linked::WithTheCall),
            Err(e) => {
                // The drain takes it from here.
                tracing::warn!(call = %call, error = %e, "the link waits in memory");
                state.late.insert(call, appeal);
                Some(Linked::WithTheCall)
            }
        }
    }
}
