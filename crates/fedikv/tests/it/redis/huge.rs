//! Values above `CHUNKED_ABOVE` on one server: written in chunks through a
//! temporary key (see `support::huge_writes`).

use super::TestPrefix;
use crate::support::huge_writes::{self, Raw, temporary_pattern};

/// The server through a blocking connection of the test's own.
struct Server(redis::Client);

impl Server {
    fn of(t: &TestPrefix) -> Self {
        Self(t.client().clone())
    }

    fn conn(&self) -> redis::Connection {
        self.0.get_connection().expect("raw connection")
    }
}

impl Raw for Server {
    fn temporary_keys(&self, prefix: &str) -> Vec<Vec<u8>> {
        let mut conn = self.conn();
        let mut keys = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, batch): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(temporary_pattern(prefix))
                .arg("COUNT")
                .arg(1000)
                .query(&mut conn)
                .expect("SCAN");
            keys.extend(batch);
            if next == 0 {
                return keys;
            }
            cursor = next;
        }
    }

    fn pttl(&self, key: &[u8]) -> i64 {
        redis::cmd("PTTL")
            .arg(key)
            .query(&mut self.conn())
            .expect("PTTL")
    }

    fn delete(&self, key: &[u8]) {
        let _: u64 = redis::cmd("DEL")
            .arg(key)
            .query(&mut self.conn())
            .expect("DEL");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn huge_values_round_trip() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    huge_writes::round_trips(&t.store, &Server::of(&t)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn readers_never_see_part_of_a_huge_value() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    huge_writes::readers_see_whole_values(&t.store, &Server::of(&t)).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abandoned_huge_write_leaves_an_unlisted_expiring_key() {
    let Some(t) = TestPrefix::fresh().await else {
        return;
    };
    huge_writes::abandoned_write_expires(&t.store, &Server::of(&t)).await;
}
