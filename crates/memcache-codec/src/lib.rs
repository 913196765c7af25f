//! placeholder while the codec is written
