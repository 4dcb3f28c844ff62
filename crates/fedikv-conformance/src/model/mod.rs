//! Model-based randomized testing: random sequences of `get`, `set` (with
//! and without TTL), `delete`, `cas` and `list` over a few keys made of
//! tricky components, run on a store and checked step by step against a
//! reference model ([`reference`]), generated and shrunk by proptest
//! ([`universe`]), run and reported with a replayable seed ([`runner`]).
//! The conformance test is
//! [`model_sequences_match_the_reference`](crate::tests::model_sequences_match_the_reference).

mod check;
mod reference;
pub(crate) mod runner;
mod universe;
