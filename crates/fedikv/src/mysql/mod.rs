//! STUB: replaced by the mysql backend. Compiles so that --all-features builds work meanwhile.
#![allow(missing_docs, unused_variables)]
use async_trait::async_trait;
use serde_json::Value;
use crate::{KvKey, KvResult, KvStore, KvStream, SetOptions};

#[derive(Debug)]
pub struct MysqlKvStore;

impl MysqlKvStore {
    pub async fn open_url(url: &str) -> KvResult<Self> {
        todo!("mysql backend")
    }
}

#[async_trait]
impl KvStore for MysqlKvStore {
    async fn get(&self, key: &KvKey) -> KvResult<Option<Value>> { todo!() }
    async fn set(&self, key: &KvKey, value: &Value, options: SetOptions) -> KvResult<()> { todo!() }
    async fn delete(&self, key: &KvKey) -> KvResult<()> { todo!() }
    async fn cas(&self, key: &KvKey, expected: Option<&Value>, new: Option<&Value>, options: SetOptions) -> KvResult<bool> { todo!() }
    fn list(&self, prefix: Option<&KvKey>) -> KvStream { todo!() }
    async fn sweep(&self) -> KvResult<u64> { todo!() }
    fn backend(&self) -> &'static str { "mysql" }
}
