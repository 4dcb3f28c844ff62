//! What fedikv's fuzz targets (`fuzz_targets/`) share: how fuzzer bytes
//! become JavaScript strings and keys ([`input`]), and the reference
//! implementations the targets hold fedikv's codecs to, written from the
//! specifications ([`reference`]).

pub mod input;
pub mod reference;
