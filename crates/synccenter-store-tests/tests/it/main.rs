//! The conformance suite against `MemoryStore`, the reference semantics: if a case fails here, the case is
//! wrong, not the backend.

use synccenter_core::MemoryStore;
use synccenter_store_tests::StoreFixture;

/// A `MemoryStore` fixture; "reopening" hands the same store back, since nothing outlives it.
struct MemoryFixture;

impl StoreFixture for MemoryFixture {
    type Store = MemoryStore;

    async fn fresh() -> Self {
        MemoryFixture
    }

    async fn open(&self) -> MemoryStore {
        MemoryStore::new()
    }

    async fn reopen(&self, old: MemoryStore) -> MemoryStore {
        old
    }
}

synccenter_store_tests::store_conformance!(MemoryFixture);
