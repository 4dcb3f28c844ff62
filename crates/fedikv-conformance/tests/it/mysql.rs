//! The conformance suite against `fedikv::MysqlKvStore` on the MariaDB/MySQL
//! server named by `FEDIKV_TEST_MYSQL_URL` (e.g.
//! `mysql://root@127.0.0.1:3306/test`).

use fedikv::MysqlKvStore;

sql_server_suite!(MysqlKvStore, "FEDIKV_TEST_MYSQL_URL");
