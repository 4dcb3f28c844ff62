//! `SqliteKvStore`: placeholder until the SQLite backend lands.
