//! The server's one engine, and the blocking threads that call it: each request runs on one, at
//! most `workers` at a time.

use std::sync::Arc;

use vtx::{Engine, EngineConfig};

use crate::error::{ApiError, ServeError};

pub(crate) struct Workers {
    engine: Arc<Engine>,
    permits: tokio::sync::Semaphore,
}

impl Workers {
    pub(crate) fn open(config: &EngineConfig, workers: usize) -> Result<Self, ServeError> {
        // Each worker may be embedding a query at the same moment.
        let config = EngineConfig {
            text_sessions: workers.max(1),
            ..config.clone()
        };
        let engine = Engine::open_existing(config).map_err(ServeError::Engine)?;
        Ok(Self {
            engine: Arc::new(engine),
            permits: tokio::sync::Semaphore::new(workers.max(1)),
        })
    }

    /// Run `job` on the engine, off the async threads, as one of the `workers`. A panic in `job`
    /// is a 500; the engine stays in service (what a panic can leave behind, a model or a cache,
    /// holds no invariant).
    pub(crate) async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Engine) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| ApiError::internal("the server is shutting down"))?;
        self.run_beside(job).await
    }

    /// [`run`](Self::run) without taking a worker: for long work that keeps its own count (one
    /// clustering at a time), so that it never leaves searches one worker short.
    pub(crate) async fn run_beside<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Engine) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&engine)))
                .unwrap_or_else(|_| Err(ApiError::internal("the request failed unexpectedly")))
        })
        .await
        .map_err(|e| ApiError::internal(&format!("worker: {e}")))?
    }
}
