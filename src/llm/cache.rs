//! The outermost layer: answers cached per member, content-addressed, persistent across
//! runs in the state database. A hit takes no permit and sends nothing; only answers the
//! driver's validator accepted are ever stored.

use super::prompt::{FileRequest, MemberRequest, PROMPT_VERSION};
use super::stats::LlmStats;
use crate::store::{CacheLookup, StateStore};
use sha2::{Digest, Sha256};
use std::fmt;
use std::sync::Arc;

/// SHA-256 over everything an answer depends on: the language, the member's identity (file,
/// module, name), the member's source, the conventions, the driver's instructions, the
/// model, the temperature and the prompt version. Context that only helps the model (the
/// signatures around it, a style example) is left out, so editing a neighbour does not
/// invalidate a member's answer. The API key is not an input, so it cannot leak through it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheKey(String);

impl CacheKey {
    pub fn new(file: &FileRequest, member: &MemberRequest, model: &str, temperature: f64) -> Self {
        let mut hasher = Sha256::new();
        let mut field = |name: &str, value: &str| {
            // Length-prefixed, so no two different inputs can run together into one text.
            hasher.update(format!("{name}:{}:", value.len()).as_bytes());
            hasher.update(value.as_bytes());
        };
        field("prompt_version", &PROMPT_VERSION.to_string());
        field("language", &file.language);
        field("path", &file.path);
        field("module", file.module.as_deref().unwrap_or(""));
        field("member", &member.id);
        field("test_name", &member.test_name);
        field("source", &member.source);
        field("skeleton", member.skeleton.as_deref().unwrap_or(""));
        field("conventions", &file.conventions);
        field("instructions", &file.instructions);
        field("model", model);
        field("temperature", &format!("{temperature:?}"));
        CacheKey(crate::store::hex(&hasher.finalize()))
    }

    /// The key as 64 lowercase hex digits; also the durable queue's job key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CacheKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The cache as the client sees it. Without a store (`--no-cache`, or no project folder)
/// every lookup misses and nothing is kept. A store error never fails a run: it is logged
/// and the lookup counts as a miss.
#[derive(Debug)]
pub struct ResultCache {
    store: Option<Arc<dyn StateStore>>,
    stats: Arc<LlmStats>,
}

impl ResultCache {
    pub fn new(store: Option<Arc<dyn StateStore>>, stats: Arc<LlmStats>) -> Self {
        ResultCache { store, stats }
    }

    /// The cached answer for `key`; see [`get_many`](Self::get_many).
    pub fn get(&self, key: &CacheKey) -> Option<String> {
        self.get_many(std::slice::from_ref(key)).pop().flatten()
    }

    /// Keeps a validated answer.
    pub fn put(&self, key: &CacheKey, answer: &str) {
        self.put_many(&[(key, answer)]);
    }

    /// The cached answers for `keys`, in order, counting hits and misses. A corrupted entry
    /// is dropped by the store and counts as a miss, so it is fetched again.
    pub fn get_many(&self, keys: &[CacheKey]) -> Vec<Option<String>> {
        let lookups = match &self.store {
            None => Vec::new(),
            Some(store) => {
                let keys: Vec<&str> = keys.iter().map(CacheKey::as_str).collect();
                store.cache_get_many(&keys).unwrap_or_else(|error| {
                    tracing::warn!("cache lookup failed, asking the model instead: {error}");
                    Vec::new()
                })
            }
        };
        let mut lookups = lookups.into_iter();
        keys.iter()
            .map(|_| {
                let answer = match lookups.next() {
                    Some(CacheLookup::Hit(answer)) => Some(answer.value),
                    _ => None,
                };
                if answer.is_some() {
                    self.stats.cache_hit();
                } else {
                    self.stats.cache_miss();
                }
                answer
            })
            .collect()
    }

    /// Keeps validated answers, all in one commit.
    pub fn put_many(&self, answers: &[(&CacheKey, &str)]) {
        if answers.is_empty() {
            return;
        }
        let entries: Vec<(&str, &str)> = answers
            .iter()
            .map(|(key, answer)| (key.as_str(), *answer))
            .collect();
        if let Some(store) = &self.store
            && let Err(error) = store.cache_put_many(&entries)
        {
            tracing::warn!("cannot cache an answer: {error}");
        }
    }

    /// Answers in the persistent cache.
    pub fn entries(&self) -> u64 {
        self.store
            .as_ref()
            .and_then(|store| store.cache_entries().ok())
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    fn file() -> FileRequest {
        FileRequest {
            language: "go".to_owned(),
            instructions: "use testing".to_owned(),
            conventions: "table tests".to_owned(),
            path: "a/a.go".to_owned(),
            module: Some("a".to_owned()),
            dependencies: vec!["func Helper()".to_owned()],
            style_example: Some("func TestX(t *testing.T) {}".to_owned()),
            test_head: "func {name}(t *testing.T)".to_owned(),
        }
    }

    fn member() -> MemberRequest {
        MemberRequest {
            skeleton: None,
            id: "Add".to_owned(),
            test_name: "TestAdd".to_owned(),
            source: "func Add(a, b int) int { return a + b }".to_owned(),
        }
    }

    fn key(file: &FileRequest, member: &MemberRequest) -> CacheKey {
        CacheKey::new(file, member, "model-a", 0.0)
    }

    #[test]
    fn the_same_inputs_give_the_same_key() {
        assert_eq!(key(&file(), &member()), key(&file(), &member()));
        assert_eq!(key(&file(), &member()).as_str().len(), 64);
    }

    #[test]
    fn changing_any_key_field_changes_the_key() {
        let base = key(&file(), &member());
        let file_changes: [fn(&mut FileRequest); 5] = [
            |f| f.language = "rust".to_owned(),
            |f| f.conventions.push('!'),
            |f| f.instructions.push('!'),
            |f| f.path = "b/a.go".to_owned(),
            |f| f.module = None,
        ];
        for change in file_changes {
            let mut f = file();
            change(&mut f);
            assert_ne!(key(&f, &member()), base);
        }
        let member_changes: [fn(&mut MemberRequest); 3] = [
            |m| m.id = "Sub".to_owned(),
            |m| m.source.push(' '),
            |m| m.test_name = "TestAddMore".to_owned(),
        ];
        for change in member_changes {
            let mut m = member();
            change(&mut m);
            assert_ne!(key(&file(), &m), base);
        }
        assert_ne!(CacheKey::new(&file(), &member(), "model-b", 0.0), base);
        assert_ne!(CacheKey::new(&file(), &member(), "model-a", 0.2), base);
    }

    #[test]
    fn context_that_only_helps_the_model_is_not_part_of_the_key() {
        let base = key(&file(), &member());
        let mut f = file();
        f.dependencies.push("func Other()".to_owned());
        f.style_example = None;
        assert_eq!(key(&f, &member()), base);
    }

    #[test]
    fn fields_cannot_run_into_each_other() {
        let mut a = member();
        a.id = "ab".to_owned();
        a.test_name = "c".to_owned();
        let mut b = member();
        b.id = "a".to_owned();
        b.test_name = "bc".to_owned();
        assert_ne!(key(&file(), &a), key(&file(), &b));
    }

    #[test]
    fn without_a_store_everything_misses_and_is_counted() {
        let stats = Arc::new(LlmStats::default());
        let cache = ResultCache::new(None, stats.clone());
        let key = key(&file(), &member());
        cache.put(&key, "code");
        assert_eq!(cache.get(&key), None);
        assert_eq!(cache.entries(), 0);
        assert_eq!(stats.snapshot().cache_misses, 1);
    }

    #[test]
    fn hits_and_misses_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::open(dir.path()).unwrap());
        let stats = Arc::new(LlmStats::default());
        let cache = ResultCache::new(Some(store), stats.clone());
        let key = key(&file(), &member());
        assert_eq!(cache.get(&key), None);
        cache.put(&key, "code");
        assert_eq!(cache.get(&key).as_deref(), Some("code"));
        let snapshot = stats.snapshot();
        assert_eq!((snapshot.cache_hits, snapshot.cache_misses), (1, 1));
        assert_eq!(cache.entries(), 1);
    }
}
