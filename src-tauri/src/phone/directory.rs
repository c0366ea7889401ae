//! The executors' numbers, held in memory, so that an incoming call is named («звонит
//! исполнитель …») before it first rings on the screen, without asking the database.

use std::collections::HashMap;
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use dialog_core::phone::normalize_phone;
use dialog_core::Store;
use dialog_phone::phone::CallContext;
use uuid::Uuid;

/// How often the numbers are read again (an admin may have added an executor meanwhile).
pub(crate) const REFRESH: Duration = Duration::from_secs(120);
/// A caller not found is looked up again, but not more often than this.
pub(crate) const AGAIN_AFTER: Duration = Duration::from_secs(10);

/// Executors by phone number (E.164).
#[derive(Default)]
pub(crate) struct Directory {
    numbers: RwLock<HashMap<String, (Uuid, String)>>,
    read_at: Mutex<Option<Instant>>,
}

impl Directory {
    /// Who is calling from this number, if it is an executor's.
    pub(crate) fn identify(&self, number: &str) -> CallContext {
        let Some(phone) = normalize_phone(number) else {
            return CallContext::default();
        };
        let numbers = self.numbers.read().unwrap_or_else(|p| p.into_inner());
        match numbers.get(&phone) {
            Some((id, name)) => CallContext {
                appeal_id: None,
                executor_id: Some(*id),
                executor_name: Some(name.clone()),
            },
            None => CallContext::default(),
        }
    }

    /// Reads the numbers again. A number shared by a working executor and one who left
    /// names the working one.
    pub(crate) async fn refresh(&self, store: &Store) -> dialog_core::Result<usize> {
        let mut executors = store.executors().await?;
        executors.sort_by_key(|e| e.active);
        let mut numbers = HashMap::new();
        for e in executors {
            for phone in &e.phones {
                numbers.insert(phone.clone(), (e.id, e.full_name.clone()));
            }
        }
        let n = numbers.len();
        *self.numbers.write().unwrap_or_else(|p| p.into_inner()) = numbers;
        *self.read_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
        Ok(n)
    }

    /// Reads the numbers again unless they were read within [`AGAIN_AFTER`].
    pub(crate) async fn refresh_unless_fresh(&self, store: &Store) {
        let fresh = self
            .read_at
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .is_some_and(|at| at.elapsed() < AGAIN_AFTER);
        if !fresh {
            if let Err(e) = self.refresh(store).await {
                tracing::debug!(error = %e, "executors' numbers not read again");
            }
        }
    }

    /// Forgets every number (logout).
    pub(crate) fn clear(&self) {
        self.numbers.write().unwrap_or_else(|p| p.into_inner()).clear();
    }
}
