//! The conformance suite against `fedikv::PostgresKvStore` on the server
//! named by `FEDIKV_TEST_POSTGRES_URL` (e.g.
//! `postgres://postgres@127.0.0.1:5432/test`).

use fedikv::PostgresKvStore;

sql_server_suite!(PostgresKvStore, "FEDIKV_TEST_POSTGRES_URL");
