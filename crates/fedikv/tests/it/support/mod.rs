//! What the backend modules share: the bad-row checks of rule V5
//! ([`bad_rows`]), the Fedify interop driver and scenarios ([`interop`]),
//! the chunked writes of huge values on Redis and Redis Cluster
//! ([`huge_writes`]), and throwaway server processes for the fault and TLS tests
//! ([`servers`]).

#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "redis"
))]
pub mod bad_rows;
#[cfg(feature = "redis")]
pub mod huge_writes;
#[cfg(any(
    feature = "sqlite",
    feature = "postgres",
    feature = "mysql",
    feature = "redis"
))]
pub mod interop;
#[cfg(any(feature = "postgres", feature = "mysql", feature = "redis"))]
pub mod servers;
