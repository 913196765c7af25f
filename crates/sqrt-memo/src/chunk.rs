//! Results larger than one memcached item: stored as chunks plus a manifest.
//!
//! The writer picks a random 64-bit generation, writes the encoded root value
//! in pieces under `<key>:<generation>:<i>`, and only then the manifest under
//! the main key. A reader follows the manifest to the chunks of that
//! generation only, so two concurrent writers can never be mixed; a missing
//! chunk or a length or CRC-32C mismatch makes the whole value a miss.

use crate::config::MemoConfig;
use crate::error::StoreError;
use crate::key::MemoKey;
use crate::rejection::Rejection;
use crate::store::{MemoStore, SetStatus};
use crate::trace_context::TraceContext;
use crate::value::{encode_manifest, Manifest};

/// Where a value went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Written {
    /// The main key's store status.
    pub status: SetStatus,
    /// 0 when stored as one item.
    pub chunks: u32,
}

/// Stores an encoded root value under `key`, chunked when it exceeds
/// `config.max_item_size`; the main key is written last, with `compare_cas`.
pub(crate) async fn write_value<S: MemoStore>(
    store: &S,
    key: &MemoKey,
    encoded_root: &[u8],
    digits: u32,
    source: TraceContext,
    config: &MemoConfig,
    compare_cas: Option<u64>,
) -> Result<Written, StoreError> {
    let piece = config.max_item_size.max(1);
    if encoded_root.len() <= piece {
        let status = store
            .meta_set(key.as_str(), encoded_root, config.ttl, compare_cas)
            .await?;
        return Ok(Written { status, chunks: 0 });
    }
    let generation = rand::random::<u64>();
    let mut count = 0u32;
    for (index, chunk) in encoded_root.chunks(piece).enumerate() {
        let index = u32::try_from(index)
            .map_err(|_| StoreError::new("meta set", "value needs more than u32::MAX chunks"))?;
        let status = store
            .meta_set(&key.chunk_key(generation, index), chunk, config.ttl, None)
            .await?;
        if status != SetStatus::Stored {
            return Err(StoreError::new(
                "meta set",
                format!("chunk {index} not stored: {status:?}"),
            ));
        }
        count = index + 1;
    }
    let manifest = Manifest {
        source,
        digits,
        generation,
        chunk_count: count,
        total_len: encoded_root.len() as u64,
        total_crc: crc32c::crc32c(encoded_root),
    };
    let status = store
        .meta_set(
            key.as_str(),
            &encode_manifest(&manifest, key, config.secret.as_ref()),
            config.ttl,
            compare_cas,
        )
        .await?;
    Ok(Written {
        status,
        chunks: count,
    })
}

/// Reads and checks the chunks a manifest names; the inner result is the
/// assembled encoded root value or why it cannot be trusted.
pub(crate) async fn read_chunks<S: MemoStore>(
    store: &S,
    key: &MemoKey,
    manifest: &Manifest,
) -> Result<Result<Vec<u8>, Rejection>, StoreError> {
    let Ok(total) = usize::try_from(manifest.total_len) else {
        return Ok(Err(Rejection::ChunksMismatch("length overflows")));
    };
    // The manifest is checksummed but still not trusted with an allocation.
    let mut assembled = Vec::with_capacity(total.min(64 * 1024 * 1024));
    for index in 0..manifest.chunk_count {
        let item = store
            .meta_get(&key.chunk_key(manifest.generation, index), None)
            .await?;
        let Some(chunk) = item.value.filter(|v| !v.is_empty()) else {
            return Ok(Err(Rejection::MissingChunk(index)));
        };
        if assembled.len() + chunk.len() > total {
            return Ok(Err(Rejection::ChunksMismatch("longer than announced")));
        }
        assembled.extend_from_slice(&chunk);
    }
    if assembled.len() != total {
        return Ok(Err(Rejection::ChunksMismatch("shorter than announced")));
    }
    if crc32c::crc32c(&assembled) != manifest.total_crc {
        return Ok(Err(Rejection::ChunksMismatch("checksum")));
    }
    Ok(Ok(assembled))
}

/// Deletes the chunks of one generation (best effort: missing ones are fine).
pub(crate) async fn delete_chunks<S: MemoStore>(
    store: &S,
    key: &MemoKey,
    manifest: &Manifest,
) -> Result<(), StoreError> {
    for index in 0..manifest.chunk_count {
        store
            .meta_delete(&key.chunk_key(manifest.generation, index), None)
            .await?;
    }
    Ok(())
}
